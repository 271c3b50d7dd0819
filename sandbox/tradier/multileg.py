"""Tradier's multileg option orders (`class=multileg`): the indexed form as one core
order of 2-4 option legs, its `type` (market, debit, credit, even) as the core's
market or limit with a price effect, and its preview.

The core brokerage already works multi-leg orders (tastytrade places them): this module
only spells Tradier's form and answers; there is no second order lifecycle.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from sandbox.core.records import (
    LegRequest,
    OrderRecord,
    OrderRejected,
    OrderRequest,
    PlacedOrder,
    parse_decimal,
)
from sandbox.core.simulation import Simulation
from sandbox.core.symbols import parse_occ_symbol
from sandbox.tradier.wire import SIDE_ACTION, preview_answer, time_in_force

__all__ = ["multileg_preview_item", "multileg_request", "multileg_type"]

_INDEXED = re.compile(r"^(option_symbol|side|quantity)\[([0-9]+)\]$", re.ASCII)
OPTION_SIDES = ("buy_to_open", "buy_to_close", "sell_to_open", "sell_to_close")
#: Tradier's multileg `type` → (the core's order type, the price effect of its limit)
MULTILEG_TYPES: dict[str, tuple[str, str | None]] = {
    "market": ("Market", None),
    "debit": ("Limit", "Debit"),
    "credit": ("Limit", "Credit"),
    "even": ("Limit", "Credit"),  # a net price of zero: filled at no cost or better
}


def _indexed_legs(form: dict[str, str]) -> list[dict[str, str]]:
    """The `option_symbol[i]`/`side[i]`/`quantity[i]` fields grouped per leg, in order."""
    found: dict[int, dict[str, str]] = {}
    for key, value in form.items():
        match = _INDEXED.match(key)
        if match:
            found.setdefault(int(match.group(2)), {})[match.group(1)] = value.strip()
    count = len(found)
    if not 2 <= count <= 4:
        raise OrderRejected("invalid_legs", f"A multileg order needs 2 to 4 legs, not {count}.")
    if sorted(found) != list(range(count)):
        raise OrderRejected(
            "invalid_legs", f"Legs must be numbered 0 to {count - 1} (option_symbol[0], ...)."
        )
    return [found[index] for index in range(count)]


def _leg(index: int, fields: dict[str, str], underlying: str) -> LegRequest:
    raw = fields.get("option_symbol", "")
    option = parse_occ_symbol(raw.upper())
    if option is None:
        raise OrderRejected(
            "invalid_symbol",
            f"option_symbol[{index}] {raw!r} is not an OCC option symbol: "
            "a multileg order takes option legs only.",
        )
    if option.underlying != underlying:
        raise OrderRejected(
            "invalid_legs",
            f"option_symbol[{index}] {raw.upper()} is not an option on {underlying}: "
            "all legs must share one underlying.",
        )
    side = fields.get("side", "")
    if side not in OPTION_SIDES:
        raise OrderRejected(
            "invalid_side", f"Unsupported side[{index}] {side!r}: one of {', '.join(OPTION_SIDES)}."
        )
    quantity = parse_decimal(fields.get("quantity", ""))
    if quantity is None:
        raise OrderRejected(
            "invalid_quantity", f"Bad quantity[{index}] {fields.get('quantity', '')!r}."
        )
    return LegRequest(
        symbol=option.occ_symbol,
        action=SIDE_ACTION[side],
        quantity=quantity,
        instrument_type="Equity Option",
    )


def multileg_request(form: dict[str, str]) -> OrderRequest:
    """Tradier's multileg form as the brokerage's order request, or OrderRejected."""
    underlying = form.get("symbol", "").strip().upper()
    if not underlying:
        raise OrderRejected("invalid_symbol", "Missing symbol: the options' underlying.")
    kind = form.get("type", "").strip()
    if kind not in MULTILEG_TYPES:
        raise OrderRejected(
            "invalid_type",
            f"Unsupported order type {kind!r}: a multileg order is one of "
            "market, debit, credit, even.",
        )
    legs = tuple(
        _leg(index, fields, underlying) for index, fields in enumerate(_indexed_legs(form))
    )
    order_type, effect = MULTILEG_TYPES[kind]
    price: Decimal | None = None
    if kind in ("debit", "credit"):
        raw = form.get("price", "").strip()
        price = parse_decimal(raw)
        if price is None or not price.is_finite() or price <= 0:
            raise OrderRejected(
                "invalid_price", f"A {kind} order needs a net price above zero, not {raw!r}."
            )
    elif kind == "even":
        price = Decimal(0)
    # market: Tradier's own example sends a price with it; it is not used
    return OrderRequest(
        order_type=order_type,
        legs=legs,
        time_in_force=time_in_force(form.get("duration", "").strip() or None),
        price=price,
        price_effect=effect,
        client_order_id=form.get("tag") or None,
    )


def multileg_type(order: OrderRecord) -> str:
    """A multi-leg order's `type` in Tradier's words, from its signed net limit."""
    if order.price is None or order.order_type == "Market":
        return "market"
    if order.price == 0:
        return "even"
    return "debit" if order.price < 0 else "credit"


def _net_at_quotes(sandbox: Simulation, placed: PlacedOrder) -> Decimal:
    """What one unit of the order nets now at the far side of each leg's quote (debit
    positive): what a market order would pay."""
    net = Decimal(0)
    order = placed.order
    for leg in order.legs:
        option = parse_occ_symbol(leg.symbol)
        name = option.streamer_symbol if option else leg.symbol
        quote = sandbox.market.quote(name)
        buys = leg.action.startswith("Buy")
        price = Decimal(str(quote["askPrice" if buys else "bidPrice"]))
        ratio = leg.quantity / order.size
        net += price * ratio if buys else -price * ratio
    return net


def multileg_preview_item(
    sandbox: Simulation, form: dict[str, str], placed: PlacedOrder
) -> dict[str, Any]:
    """The preview answer of a multileg order: `order_cost` is the net price (the limit,
    or the quotes' far sides for market) x the order's units x 100, unsigned, as a
    single leg's is; `type` says whether it is a debit or a credit."""
    order = placed.order
    net = abs(_net_at_quotes(sandbox, placed) if order.price is None else order.price)
    order_cost = round(float(net * order.size * 100), 4)
    described = {
        "symbol": order.underlying_symbol,
        "quantity": float(sum(leg.quantity for leg in order.legs)),
        "type": form.get("type", "").strip(),
        "duration": form.get("duration", "").strip(),
        "class": "multileg",
    }
    item = preview_answer(placed.preview, order_cost, described)
    if order.price is not None and order.price != 0:
        item["price"] = float(abs(order.price))
    return item
