"""Tradier's multileg option orders (`class=multileg`) and combo orders (`class=combo`:
shares of the underlying with one or two options on it): the indexed form as one core
order of 2-4 legs, its `type` (market, debit, credit, even) as the core's market or limit
with a price effect, and its preview.

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

__all__ = ["combo_request", "multileg_preview_item", "multileg_request", "multileg_type"]

_INDEXED = re.compile(r"^(option_symbol|side|quantity)\[([0-9]+)\]$", re.ASCII)
OPTION_SIDES = ("buy_to_open", "buy_to_close", "sell_to_open", "sell_to_close")
#: A combo's equity leg (its first, without `option_symbol`) takes an equity order's sides.
EQUITY_SIDES = ("buy", "buy_to_cover", "sell", "sell_short")
#: Tradier's multileg `type` → (the core's order type, the price effect of its limit)
MULTILEG_TYPES: dict[str, tuple[str, str | None]] = {
    "market": ("Market", None),
    "debit": ("Limit", "Debit"),
    "credit": ("Limit", "Credit"),
    "even": ("Limit", "Credit"),  # a net price of zero: filled at no cost or better
}


def _indexed_legs(form: dict[str, str], fewest: int = 2, most: int = 4) -> list[dict[str, str]]:
    """The `option_symbol[i]`/`side[i]`/`quantity[i]` fields grouped per leg, in order."""
    found: dict[int, dict[str, str]] = {}
    for key, value in form.items():
        match = _INDEXED.match(key)
        if match:
            found.setdefault(int(match.group(2)), {})[match.group(1)] = value.strip()
    count = len(found)
    if not fewest <= count <= most:
        what = "multileg" if most == 4 else "combo"
        raise OrderRejected(
            "invalid_legs", f"A {what} order needs {fewest} to {most} legs, not {count}."
        )
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


def _equity_leg(fields: dict[str, str], underlying: str) -> LegRequest:
    """A combo's first leg: shares of the underlying (no `option_symbol[0]`)."""
    side = fields.get("side", "")
    if side not in EQUITY_SIDES:
        raise OrderRejected(
            "invalid_side",
            f"Unsupported side[0] {side!r}: a combo's shares are one of {', '.join(EQUITY_SIDES)}.",
        )
    quantity = parse_decimal(fields.get("quantity", ""))
    if quantity is None or quantity <= 0 or quantity != quantity.to_integral_value():
        raise OrderRejected("invalid_quantity", f"Bad quantity[0] {fields.get('quantity', '')!r}.")
    return LegRequest(
        symbol=underlying, action=SIDE_ACTION[side], quantity=quantity, instrument_type="Equity"
    )


def multileg_request(form: dict[str, str]) -> OrderRequest:
    """Tradier's multileg form as the brokerage's order request, or OrderRejected."""
    underlying, kind = _underlying_and_type(form, "multileg")
    legs = tuple(
        _leg(index, fields, underlying) for index, fields in enumerate(_indexed_legs(form))
    )
    return _net_order(form, kind, legs)


def combo_request(form: dict[str, str]) -> OrderRequest:
    """Tradier's combo form (place-combo-order): leg 0 the shares (`side[0]` buy, sell,
    …, no `option_symbol[0]`), legs 1-2 options on the same underlying."""
    underlying, kind = _underlying_and_type(form, "combo")
    fields = _indexed_legs(form, 2, 3)
    if fields[0].get("option_symbol"):
        raise OrderRejected(
            "invalid_legs", "A combo order's first leg is the shares: no option_symbol[0]."
        )
    legs = (
        _equity_leg(fields[0], underlying),
        *(_leg(index, leg, underlying) for index, leg in enumerate(fields) if index > 0),
    )
    return _net_order(form, kind, legs)


def _underlying_and_type(form: dict[str, str], what: str) -> tuple[str, str]:
    underlying = form.get("symbol", "").strip().upper()
    if not underlying:
        raise OrderRejected("invalid_symbol", "Missing symbol: the options' underlying.")
    kind = form.get("type", "").strip()
    if kind not in MULTILEG_TYPES:
        raise OrderRejected(
            "invalid_type",
            f"Unsupported order type {kind!r}: a {what} order is one of "
            "market, debit, credit, even.",
        )
    return underlying, kind


def _net_order(form: dict[str, str], kind: str, legs: tuple[LegRequest, ...]) -> OrderRequest:
    """The legs at the form's net `type` and `price`."""
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
