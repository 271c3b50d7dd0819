"""An order as the contract says it back (normalized; prices as decimal strings): what a
preview keeps, shows and later places (docs/streaming-contract.md, "The order")."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from streaming.brokers.orders.entry import OrderRequest
from streaming.trading.input import TicketLinked, TicketOrder


def trail_json(order: OrderRequest) -> dict[str, str] | None:
    """A trailing stop's trail as the contract spells it (None for any other order)."""
    if order.trail_amount is not None:
        return {"amount": str(order.trail_amount)}
    if order.trail_percent is not None:
        return {"percent": str(order.trail_percent)}
    return None


def quantity_json(quantity: Decimal | None) -> int | str | None:
    """A quantity as the contract says it back: a number when whole, else its exact
    decimal string (a JSON number would not keep 9 decimals of a large quantity)."""
    if quantity is None:
        return None
    return int(quantity) if quantity == quantity.to_integral_value() else str(quantity)


def member_json(order: OrderRequest) -> dict[str, Any]:
    """An order's terms as the contract spells them (normalized; prices strings; a
    dollar amount's `notional` only where there is one)."""
    said: dict[str, Any] = {
        "legs": [
            {
                "symbol": leg.instrument.kept_symbol,
                "action": leg.action,
                "quantity": quantity_json(leg.quantity),
            }
            for leg in order.legs
        ],
        "order_type": order.order_type,
        "price": None if order.price is None else str(order.price),
        "stop_price": None if order.stop_price is None else str(order.stop_price),
        "trail": trail_json(order),
        "time_in_force": order.time_in_force,
    }
    if order.notional is not None:
        said["notional"] = str(order.notional)
    return said


def order_json(ticket: TicketOrder | TicketLinked) -> dict[str, Any]:
    """The order (or linked order) as the preview keeps and shows it."""
    if isinstance(ticket, TicketLinked):
        group = ticket.group
        return {
            "link": ticket.link,
            "account": group.account,
            "complex": group.complex,
            "trigger": None if group.trigger is None else member_json(group.trigger),
            "orders": [member_json(order) for order in group.orders],
        }
    order = ticket.order
    return {
        "link": ticket.link,
        "account": order.account,
        **member_json(order),
        "replaces": ticket.replaces,
    }
