"""Account history the brokerage keeps besides its live state: net-liq points over time.

A fresh sandbox account has no past, but charting tools ask for a year of net liquidating
value. So each account gets a deterministic daily back-history (seeded by the sandbox seed
and the account number) that ends at the net-liq it opened with; from then on the brokerage
records real points as time passes, and the last point of any answer is the current value.
"""

from __future__ import annotations

import random
from bisect import bisect_left
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal

from sandbox.core.records import NetLiqPoint

DAY = 86400.0
BACK_DAYS = 400  # more than a year, so `1y` is full
MIN_SPACING = 60.0  # recorded points closer than this replace the previous one
_CENT = Decimal("0.01")

#: `time-back` windows tastytrade accepts, in seconds (`all` has no bound).
TIME_BACK = {"1d": DAY, "1m": 31 * DAY, "3m": 92 * DAY, "6m": 183 * DAY, "1y": 366 * DAY}


def _cents(value: float | Decimal) -> Decimal:
    return Decimal(repr(float(value))).quantize(_CENT, rounding=ROUND_HALF_UP)


def flat_point(at: float, value: Decimal) -> NetLiqPoint:
    """A point of one observed value (open = high = low = close)."""
    return NetLiqPoint(at, value, value, value, value, value, value, value, value)


def back_history(seed_key: str, end_value: Decimal, end_at: float) -> list[NetLiqPoint]:
    """Daily bars (21:00 UTC closes) for BACK_DAYS before `end_at`, a random walk that ends
    at `end_value`; the same key gives the same history."""
    rng = random.Random(seed_key)
    closes = [float(end_value)]
    for _ in range(BACK_DAYS):
        closes.append(closes[-1] / (1 + rng.gauss(0.0003, 0.009)))
    closes.reverse()  # oldest first; the last one is end_value
    end_day = datetime.fromtimestamp(end_at, UTC).replace(hour=21, minute=0, second=0)
    last_close = end_day.timestamp()
    if last_close >= end_at:
        last_close -= DAY
    points = []
    for i in range(1, len(closes) - 1):
        at = last_close - (len(closes) - 2 - i) * DAY
        open_, close = closes[i - 1], closes[i]
        wiggle = abs(rng.gauss(0, 0.003))
        high, low = max(open_, close) * (1 + wiggle), min(open_, close) * (1 - wiggle)
        o, h, lo, c = _cents(open_), _cents(high), _cents(low), _cents(close)
        points.append(NetLiqPoint(at, o, h, lo, c, o, h, lo, c))
    return points


class NetLiqHistory:
    """One account's net-liq points, oldest first: the seeded back-history (built on first
    use, so opening thousands of accounts stays cheap) then the recorded points."""

    def __init__(self, seed_key: str = "", opened_value: Decimal | None = None, at: float = 0.0):
        self._seed = (seed_key, opened_value, at)
        self._back: list[NetLiqPoint] | None = None if opened_value is not None else []
        self.recorded: list[NetLiqPoint] = []

    @property
    def points(self) -> list[NetLiqPoint]:
        if self._back is None:
            seed_key, value, at = self._seed
            self._back = back_history(seed_key, value or Decimal(0), at)
        return [*self._back, *self.recorded]

    def record(self, at: float, value: Decimal) -> None:
        """Add an observed point; one closer than MIN_SPACING to the last recorded point
        replaces it, so a busy account keeps about one point a minute."""
        if self.recorded and at < self.recorded[-1].at:
            return
        if self.recorded and at - self.recorded[-1].at < MIN_SPACING:
            self.recorded[-1] = flat_point(at, value)
            return
        self.recorded.append(flat_point(at, value))

    def since(self, start: float | None) -> list[NetLiqPoint]:
        """Points at or after `start` (all for None)."""
        points = self.points
        if start is None:
            return points
        return points[bisect_left([p.at for p in points], start) :]
