"""An order against the live quote: the net bid/ask of its legs, the far side a market
order is estimated at, its notional and the quote band. Pure: the owner (owner.py) reads
the quotes from the stream's state and asks these (the price guard: price_guard.py)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from streaming.brokers.orders.entry import OrderRequest
from streaming.trading.shapes import NetQuote
from streaming.trading.ticks import tick_for
from streaming.trading.words import price_text


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    try:
        number = Decimal(str(value))
    except ArithmeticError:
        return None
    return number if number.is_finite() and number > 0 else None


def _ratio_unit(order: OrderRequest) -> Decimal:
    """The quantity a (net) price is per: one leg's own (a dollar amount's: 1), several
    legs' common divisor (an option spread's legs are whole contracts)."""
    if len(order.legs) == 1:
        return order.legs[0].quantity or Decimal(1)
    return Decimal(math.gcd(*(int(leg.size) for leg in order.legs)))


def net_quote(order: OrderRequest, quotes: Mapping[str, Mapping[str, Any]]) -> NetQuote | None:
    """The order's quote per unit, `{bid, ask, t}` (a multi-leg's net: buys add, sells
    subtract, legs weighted by their ratio), or None when a leg has no two-sided quote."""
    unit = _ratio_unit(order)
    bid = ask = Decimal(0)
    newest = 0
    for leg in order.legs:
        quote = quotes.get(leg.symbol) or {}
        leg_bid, leg_ask = _number(quote.get("bid")), _number(quote.get("ask"))
        if leg_bid is None or leg_ask is None:
            return None
        ratio = (leg.quantity or unit) // unit
        if leg.buys:
            bid, ask = bid + leg_bid * ratio, ask + leg_ask * ratio
        else:
            bid, ask = bid - leg_ask * ratio, ask - leg_bid * ratio
        newest = max(newest, int(quote.get("t") or 0))
    return {"bid": float(bid), "ask": float(ask), "t": newest or None}


def mid(quote: Mapping[str, object]) -> Decimal:
    return (Decimal(str(quote["bid"])) + Decimal(str(quote["ask"]))) / 2


def far_side(order: OrderRequest, quote: Mapping[str, object] | None) -> Decimal | None:
    """What a market order pays (the ask of what it buys) or gets (the bid of what it
    sells), per unit, as a positive number; None without a quote. `quote` is the net
    quote (net_quote: what is sold counts negative, its bid as minus its ask), so its
    `ask` is the far side either way: a buy's ask, minus a sell's bid, a spread's worst
    net debit or smallest net credit."""
    if quote is None:
        return None
    return abs(Decimal(str(quote["ask"])))


def notional(order: OrderRequest, quotes: Mapping[str, Mapping[str, object]]) -> Decimal | None:
    """Quantity x multiplier x (the limit price, else a stop's trigger, else the far side
    of the live quote); a multi-leg adds its legs' (each at its far side; at the net price
    without quotes); a dollar amount is its own."""
    if order.notional is not None:
        return order.notional
    if len(order.legs) == 1:
        leg = order.legs[0]
        price = order.price if order.price is not None else order.stop_price
        if price is None:
            price = far_side(order, net_quote(order, quotes))
        if price is None:
            return None
        return price * leg.size * leg.multiplier
    total = Decimal(0)
    for leg in order.legs:
        quote = quotes.get(leg.symbol) or {}
        price = _number(quote.get("ask" if leg.buys else "bid"))
        if price is None:
            if order.price is None:
                return None
            return order.price * _ratio_unit(order) * leg.multiplier
        total += price * leg.size * leg.multiplier
    return total


def stop_at_once(order: OrderRequest, quotes: Mapping[str, Mapping[str, object]]) -> str | None:
    """A sentence when a Stop or Stop Limit would trigger as soon as it is placed: a sell
    stop at or above the bid, a buy stop at or below the ask of its leg's live quote
    (None: it would not, or no quote tells)."""
    if order.stop_price is None or len(order.legs) != 1:
        return None
    leg, stop = order.legs[0], order.stop_price
    quote = quotes.get(leg.symbol) or {}
    if leg.buys:
        ask = _number(quote.get("ask"))
        if ask is None or stop > ask:
            return None
        return (
            f"This buy stop at {price_text(stop)} is at or below the ask {price_text(ask)}: "
            "it would trigger at once."
        )
    bid = _number(quote.get("bid"))
    if bid is None or stop < bid:
        return None
    return (
        f"This sell stop at {price_text(stop)} is at or above the bid {price_text(bid)}: "
        "it would trigger at once."
    )


def quote_moved(
    order: OrderRequest,
    then: Mapping[str, object] | None,
    now: Mapping[str, object] | None,
    band: float,
) -> bool:
    """Whether the mid moved more than `band` of the preview's mid (at least one tick)
    since the preview. No quote at the preview: nothing to hold it to."""
    if then is None:
        return False
    if now is None:
        return True
    before = mid(then)
    allowed = max(abs(before) * Decimal(str(band)), tick_for(order.legs, abs(before) or Decimal(1)))
    return abs(mid(now) - before) > allowed
