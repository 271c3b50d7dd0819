"""Matching: how a working order fills against the current quotes.

A Market order fills at once (at the ask for buys, the bid for sells); a Limit order once
marketable, a big one in 2-3 partial fills on consecutive steps. A stop waits until the
market (the mark) reaches its trigger — at or above it for a buy, at or below for a sell —
then works as a Market (Stop) or Limit (Stop Limit) order. A Trailing Stop's stop follows
its high-water mark (the highest mark since it was placed for a sell, the lowest for a
buy) at its trail, and once the mark reaches that stop it works as a Market order. Each
fill moves cash (to the cent) and the positions and books one ledger entry per leg.

Quantities may be fractional (a façade's fractional orders, and coins), to
`QUANTITY_STEP`. A notional (dollar) Market order is sized when it fills: the notional over
the price it fills at, rounded down to `QUANTITY_STEP` (a Sell to Close never more than is
held). A future's fill moves no notional, only what it realizes (`futures_margin.py`).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from decimal import ROUND_DOWN, Decimal

from sandbox.core import ledger
from sandbox.core.account_state import ZERO, Account, Fill, Leg, Order, Position, cents
from sandbox.core.futures_margin import marked_to_market
from sandbox.core.marks import Marks
from sandbox.core.records import CRYPTOCURRENCY, EQUITY, EQUITY_OPTION, FUTURE, FUTURE_OPTION

__all__ = [
    "QUANTITY_STEP",
    "apply_leg_fill",
    "fill_next_chunk",
    "follow",
    "notional_quantity",
    "plan_chunks",
    "size_notional",
    "trailing_stop",
    "triggered",
]

#: a marketable Limit order at least this big (in order units) fills in 2-3 partial fills
_PARTIAL_FROM = {
    EQUITY: Decimal(100),
    EQUITY_OPTION: Decimal(3),
    FUTURE: Decimal(3),
    FUTURE_OPTION: Decimal(3),
    CRYPTOCURRENCY: Decimal(100),
}
#: The smallest part of a unit a fractional quantity can have (9 decimals, as Alpaca's).
QUANTITY_STEP = Decimal("0.000000001")


def plan_chunks(order: Order, rng: random.Random) -> list[Decimal]:
    """Fill sizes: one fill, or 2-3 partial fills (whole units, but for the last one's
    fraction) for a big enough Limit order."""
    threshold = min(_PARTIAL_FROM[leg.instrument.instrument_type] for leg in order.legs)
    units = int(order.size)
    if (
        order.order_type in ("Market", "Stop", "Trailing Stop")
        or order.size < threshold
        or units < 2
    ):
        return [order.size]
    parts = min(rng.choice((2, 3)), units)
    cuts = sorted(rng.sample(range(1, units), parts - 1))
    bounds = [Decimal(0), *(Decimal(c) for c in cuts), order.size]
    return [bounds[i + 1] - bounds[i] for i in range(parts)]


def notional_quantity(notional: Decimal, price: Decimal) -> Decimal:
    """What `notional` dollars buy (or sell) at `price`: rounded down to QUANTITY_STEP, so
    the order never costs more than its notional; 0 when there is no price."""
    if price <= 0:
        return ZERO
    return (notional / price).quantize(QUANTITY_STEP, rounding=ROUND_DOWN)


def size_notional(order: Order, acct: Account, marks: Marks) -> bool:
    """Size a notional order's one leg at the price it fills at now (a Sell to Close at most
    what is held); False, leaving it unfilled, when that is nothing."""
    leg = order.legs[0]
    assert order.notional is not None
    qty = notional_quantity(order.notional, marks.leg_price(leg))
    if leg.action == "Sell to Close":
        pos = acct.positions.get(leg.instrument.symbol)
        qty = min(qty, max(pos.quantity, ZERO) if pos else ZERO)
    if qty <= 0:
        return False
    leg.quantity = order.size = qty
    leg.ratio = Decimal(1)
    order.chunks = [qty]
    return True


def _next_chunk(order: Order) -> Decimal:
    """Size of the next fill: the next planned chunk, capped by what remains."""
    filled = order.filled_units
    cumulative = ZERO
    for chunk in order.chunks:
        cumulative += chunk
        if cumulative > filled:
            return cumulative - filled
    return order.size - filled


def fill_next_chunk(
    order: Order,
    acct: Account,
    marks: Marks,
    now: float,
    *,
    fill_ids: Iterator[int],
    transaction_ids: Iterator[int],
) -> list[Position] | None:
    """Fill the next planned chunk if the order is marketable now; the positions it touched
    (in leg order, closed ones included), or None when it is not marketable."""
    if not triggered(order, marks, now):
        return None
    if order.limit is not None and marks.market_net(order) < order.limit:
        return None
    sized = order.notional is None or order.filled_units or size_notional(order, acct, marks)
    if not sized:
        return None
    units = _next_chunk(order)
    touched: list[Position] = []
    realized: list[Decimal] = []
    for leg in order.legs:
        qty = leg.ratio * units
        fill_price = marks.leg_price(leg)
        leg.fills.append(Fill(f"F{next(fill_ids):08d}", qty, fill_price, now))
        held = acct.positions.get(leg.instrument.symbol)
        before = held.realized_today if held is not None else ZERO
        touched.append(apply_leg_fill(acct, leg, qty, fill_price, now=now))
        realized.append(touched[-1].realized_today - before)
    acct.cash -= ledger.fees(order.legs, units)
    for leg, gain in zip(order.legs, realized, strict=True):
        acct.transactions.append(
            ledger.trade(acct, order, leg, leg.fills[-1], next(transaction_ids), realized=gain)
        )
    order.filled_units += units
    order.updated_at = now
    return touched


def trailing_stop(
    sign: int, hwm: Decimal, trail_price: Decimal | None, trail_percent: Decimal | None
) -> Decimal:
    """A trailing stop's stop at high-water mark `hwm`, to the cent: hwm - trail for a sell
    (`sign` < 0), hwm + trail for a buy; a percent trail is hwm x (1 -/+ percent/100)."""
    if trail_price is not None:
        return cents(hwm + sign * trail_price)
    assert trail_percent is not None
    return cents(hwm * (1 + sign * trail_percent / 100))


def follow(order: Order, marks: Marks) -> None:
    """Move an untriggered trailing stop's high-water mark to the mark if the mark is better
    (higher for a sell, lower for a buy) and its stop with it; anything else is untouched."""
    if order.hwm is None or order.triggered_at is not None:
        return
    leg = order.legs[0]
    mark = marks.mark(leg.instrument.streamer_symbol)
    if mark <= 0:  # no price: nothing to follow
        return
    if (mark < order.hwm) if leg.sign > 0 else (mark > order.hwm):
        order.hwm = mark
        order.stop = trailing_stop(leg.sign, mark, order.trail_price, order.trail_percent)


def triggered(order: Order, marks: Marks, now: float) -> bool:
    """Whether the order works now: any order but an untriggered stop, which triggers (and
    records when) once the mark reaches its trigger in the direction that protects. A
    trailing stop's high-water mark and stop follow the mark first."""
    if order.stop is None or order.triggered_at is not None:
        return True
    follow(order, marks)
    leg = order.legs[0]
    mark = marks.mark(leg.instrument.streamer_symbol)
    if (mark >= order.stop) if leg.sign > 0 else (mark <= order.stop):
        order.triggered_at = order.updated_at = now
        return True
    return False


def apply_leg_fill(
    acct: Account, leg: Leg, qty: Decimal, fill_price: Decimal, *, now: float
) -> Position:
    """Move cash and the position for one leg fill; return the (possibly closed) position.
    A future moves no notional: only the profit or loss its closing part realizes."""
    instrument = leg.instrument
    delta = leg.sign * qty
    settles = marked_to_market(instrument)
    if not settles:
        acct.cash -= cents(delta * fill_price * instrument.multiplier)
    pos = acct.positions.get(instrument.symbol)
    if pos is None:
        pos = Position(
            instrument=instrument,
            quantity=delta,
            average_open_price=fill_price,
            created_at=now,
            updated_at=now,
        )
        acct.positions[instrument.symbol] = pos
        return pos
    pos.updated_at = now
    if pos.quantity == 0 or (pos.quantity > 0) == (delta > 0):
        total = abs(pos.quantity) + abs(delta)
        pos.average_open_price = (
            abs(pos.quantity) * pos.average_open_price + abs(delta) * fill_price
        ) / total
        pos.quantity += delta
        return pos
    closing = min(abs(delta), abs(pos.quantity))
    direction = 1 if pos.quantity > 0 else -1
    gain = cents(
        (fill_price - pos.average_open_price) * closing * instrument.multiplier * direction
    )
    pos.realized_today += gain
    if settles:
        acct.cash += gain
    pos.quantity += delta
    if pos.quantity != 0 and (pos.quantity > 0) != (direction > 0):
        pos.average_open_price = fill_price  # flipped: the remainder opened at this fill
        pos.created_at = now
    return pos
