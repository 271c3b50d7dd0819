"""The expected move: one standard deviation of the price to a horizon, price * IV *
sqrt(days / 365) (docs/streaming-contract.md, "The odds", "The expected move").

Pure maths below every feature, so the risk feature (its odds, the positions' expected
move) and the chains feature (the chain page's line at first paint) compute it alike; the
line's words are static/js/stream/expected-move.js `expectedMoveView`'s, which redraws it
with the live price and IV (tests/streaming/test_expected_move.py runs both).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import TypedDict

from streaming.instruments.symbols import EXPIRY_TIME, NEW_YORK

DAYS_PER_YEAR = 365.0
SECONDS_PER_DAY = 86_400.0


class IvRow(TypedDict):
    """One strike of a chain and its call's and put's IV (a fraction; None: not known)."""

    strike: float
    callIv: float | None
    putIv: float | None


def expected_move(price: float, iv: float, days: float) -> float:
    """price * IV * √(days / 365): one sd of the price in `days` calendar days (0 once the
    horizon has passed)."""
    return price * iv * math.sqrt(max(days, 0.0) / DAYS_PER_YEAR)


def close_of(day: dt.date) -> dt.datetime:
    """16:00 New York on `day` (UTC-aware): when an equity option of that day expires."""
    return dt.datetime.combine(day, EXPIRY_TIME, tzinfo=NEW_YORK).astimezone(dt.UTC)


def days_until(day: dt.date, now: dt.datetime) -> float:
    """Fractional calendar days from `now` (aware) to `day`'s close; ≤ 0 once it passed."""
    return (close_of(day) - now).total_seconds() / SECONDS_PER_DAY


def _known(v: object) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) and v > 0


def atm_iv(rows: Sequence[IvRow], price: float) -> float | None:
    """The mid of the call's and put's IV at the strike nearest `price` (ties: the lower, as
    the chain's `atm_strike`), else the one known; None when neither is."""
    if not rows:
        return None
    row = min(rows, key=lambda r: (abs(r["strike"] - price), r["strike"]))
    ivs = [v for v in (row["callIv"], row["putIv"]) if v is not None and _known(v)]
    return math.fsum(ivs) / len(ivs) if ivs else None


def _fixed(v: float, digits: int, separators: bool = True) -> str:
    """`v` to `digits` decimals, a tie rounded up as the browser's Intl and toFixed do (on
    the float's exact value; Python's format rounds a tie to even)."""
    q = Decimal(v).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)
    return f"{q:,.{digits}f}" if separators else f"{q:.{digits}f}"


def expected_move_text(
    *,
    name: str,
    expiration: dt.date,
    price: float | None,
    rows: Sequence[IvRow],
    now: dt.datetime,
) -> str:
    """The chain page's line: `Expected move ±8.80 (±1.5%) by 2026-12-18: 581.32 - 598.92`
    (an en dash between the low and the high), or why there is none in words (no price,
    no IV at the money, the close passed)."""
    if price is None or not _known(price):
        return f"Expected move: no price for {name} yet."
    days = days_until(expiration, now)
    if days <= 0:
        return "Expected move: this expiration's close has passed."
    iv = atm_iv(rows, price)
    if iv is None:
        return "Expected move: the IV at the money has not streamed yet."
    move = expected_move(price, iv, days)
    pct = _fixed(move / price * 100, 1, separators=False)
    return (
        f"Expected move ±{_fixed(move, 2)} (±{pct}%) by {expiration.isoformat()}: "
        f"{_fixed(price - move, 2)} \u2013 {_fixed(price + move, 2)}"
    )
