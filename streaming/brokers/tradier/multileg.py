"""Tradier's multileg order form (`class=multileg`) from the contract's order. Pure.

Tradier takes 2-4 option legs of one underlying as indexed fields (`option_symbol[i]`,
`side[i]`, `quantity[i]`) and says a limit's direction in its `type`: `debit` (the trader
pays the net price), `credit` (receives it), `even` (zero), or `market`. The contract's
multi-leg limit carries only the positive net price; its effect follows from the legs
(Debit when the buys cost more), decided here from what the legs are worth at expiry
wherever that settles it (verticals, condors, butterflies, straddles, calendars), else
passed by the caller.
"""

from __future__ import annotations

from decimal import Decimal

from streaming.brokers.orders.entry import ACTIONS, OrderLeg, OrderRefused, OrderRequest
from streaming.instruments.symbols import OPTION_STREAMER_RE, streamer_to_occ_symbol

__all__ = ["multileg_form", "net_effect"]

#: the contract's action → Tradier's option side ("Buy to Open" → "buy_to_open")
SIDES = {action: action.lower().replace(" ", "_") for action in ACTIONS}
DURATIONS = {"Day": "day", "GTC": "gtc"}


def _option(leg: OrderLeg) -> tuple[str, str, str, Decimal]:
    """(underlying, expiration YYMMDD, right, strike) of an option leg, or refused."""
    match = OPTION_STREAMER_RE.match(leg.symbol)
    if match is None:
        raise OrderRefused(
            "unsupported",
            f"Tradier's multileg orders take option legs only, not {leg.symbol}.",
        )
    root, date, right, strike = match.groups()
    return root, date, right, Decimal(strike)


def _value_at(price: Decimal, legs: list[tuple[int, str, Decimal, Decimal]]) -> Decimal:
    """The legs' worth at expiry with the underlying at `price` (long positive)."""
    total = Decimal(0)
    for sign, right, strike, quantity in legs:
        gain = price - strike if right == "C" else strike - price
        intrinsic = max(gain, Decimal(0))
        total += sign * quantity * intrinsic
    return total


def net_effect(order: OrderRequest) -> str | None:
    """ "Debit" or "Credit" where the legs alone settle it, else None.

    One expiration: a combination worth never less than nothing at expiry (and something
    somewhere) costs money to open, so it is a debit; never more than nothing, a credit
    (checked at every strike and beyond the outermost, where the worth is linear). Two
    expirations of one strike and right (a calendar): owning the later one is a debit."""
    options = [(_option(leg), leg) for leg in order.legs]
    expirations = {date for (_, date, _, _), _ in options}
    signed = [
        (1 if leg.buys else -1, right, strike, leg.size) for (_, _, right, strike), leg in options
    ]
    if len(expirations) == 1:
        strikes = sorted({strike for _, _, strike, _ in signed})
        points = [Decimal(0), *strikes, strikes[-1] * 2 + 1]
        worth = [_value_at(point, signed) for point in points]
        # beyond the last strike the worth is linear: its slope says where it heads
        slope = _value_at(points[-1] + 1, signed) - worth[-1]
        if all(w >= 0 for w in worth) and slope >= 0 and any(w > 0 for w in worth):
            return "Debit"
        if all(w <= 0 for w in worth) and slope <= 0 and any(w < 0 for w in worth):
            return "Credit"
        return None
    if len(options) == 2 and len({(right, strike) for _, right, strike, _ in signed}) == 1:
        (first, first_leg), (second, second_leg) = options
        if first_leg.quantity == second_leg.quantity and first_leg.buys != second_leg.buys:
            later_leg = first_leg if first[1] > second[1] else second_leg
            return "Debit" if later_leg.buys else "Credit"
    return None


def _checked(order: OrderRequest) -> str:
    """The one underlying of 2-4 option legs, or refused in words."""
    if not 2 <= len(order.legs) <= 4:
        raise OrderRefused(
            "unsupported",
            f"A Tradier multileg order has 2 to 4 legs, not {len(order.legs)}.",
        )
    underlyings = {_option(leg)[0] for leg in order.legs}
    if len(underlyings) != 1:
        raise OrderRefused(
            "unsupported",
            "A Tradier multileg order's legs share one underlying, not "
            + ", ".join(sorted(underlyings))
            + ".",
        )
    if order.time_in_force not in DURATIONS:
        raise OrderRefused(
            "unsupported", f"Tradier takes Day or GTC orders, not {order.time_in_force}."
        )
    return underlyings.pop()


def _type_and_price(order: OrderRequest, price_effect: str | None) -> dict[str, str]:
    if order.order_type == "Market":
        return {"type": "market"}
    if order.order_type != "Limit" or order.price is None:
        raise OrderRefused("unsupported", "A Tradier multileg order is Market or Limit.")
    if order.price == 0:
        return {"type": "even"}
    effect = price_effect or net_effect(order)
    if effect not in ("Debit", "Credit"):
        raise OrderRefused(
            "unsupported",
            "Whether this combination is a debit or a credit depends on its prices: "
            "Tradier needs to be told, and this order does not say.",
        )
    return {"type": effect.lower(), "price": f"{order.price:f}"}


def multileg_form(
    order: OrderRequest, *, preview: bool, price_effect: str | None = None
) -> dict[str, str]:
    """The form for `POST /v1/accounts/{n}/orders` placing (or, with `preview`, dry-running)
    `order` as one Tradier multileg order; `price_effect` ("Debit"/"Credit") where the
    caller knows it, else decided from the legs (`net_effect`). OrderRefused for an order
    Tradier's multileg does not take."""
    underlying = _checked(order)
    form = {"class": "multileg", "symbol": underlying}
    form.update(_type_and_price(order, price_effect))
    form["duration"] = DURATIONS[order.time_in_force]
    for index, leg in enumerate(order.legs):
        symbol = streamer_to_occ_symbol(leg.symbol)
        if symbol is None or leg.action not in SIDES:
            raise OrderRefused(
                "unsupported", f"Leg {index + 1} is not an option order Tradier takes."
            )
        form[f"option_symbol[{index}]"] = symbol
        form[f"side[{index}]"] = SIDES[leg.action]
        form[f"quantity[{index}]"] = str(leg.quantity)
    if order.client_order_id:
        form["tag"] = order.client_order_id
    if preview:
        form["preview"] = "true"
    return form
