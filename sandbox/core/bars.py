"""Price history (daily bars and intraday bars) that agrees with the simulated market.

The market keeps no history of its own, so bars are made up, deterministically (seeded by
the sandbox seed, the symbol and the date), around the numbers the market does hold:

* the live session day (:func:`trading_calendar.current_session_day`) has the market's own
  day open, high, low, last and volume: its bar's close is the current last;
* the trading day before it closes at the market's previous close (and had its previous
  day volume);
* earlier days walk backwards from there, one seeded return a day, so a day's bar never
  depends on the range asked for;
* a day's intraday bars are a seeded bridge from that day's open to its close that stays
  within, and touches, its high and low, with the day's volume spread over them (the live
  day's bars run up to the minute that contains now).  5- and 15-minute bars are merged
  from the 1-minute bars, weekly and monthly bars from the daily ones, so every interval
  tells the same story.

Only the regular session (09:30 to the close) has bars; the simulated market ticks
around the clock, and whatever it does outside the session is booked to the live day.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sandbox.core import trading_calendar as cal
from sandbox.core.market.walk import Market

#: How far back daily history goes (bars before are absent).
MAX_YEARS = 20
#: Typical daily log-return deviation of the made-up past, by kind of symbol.
_DAILY_SD = {"option": 0.08, "other": 0.015}


@dataclass(frozen=True)
class DayFigures:
    """The live day as the market reports it: the one source every bar agrees with."""

    open: float
    high: float
    low: float
    last: float
    prev_close: float
    volume: int
    prev_volume: int


@dataclass(frozen=True)
class Bar:
    """One bar; `start` is New York wall time (midnight for daily and longer bars)."""

    start: dt.datetime
    open: float
    high: float
    low: float
    close: float
    volume: int


def day_figures(market: Market, symbol: str) -> DayFigures:
    """The market's figures of `symbol` (a registered market symbol)."""
    summary, trade = market.summary(symbol), market.trade(symbol)
    return DayFigures(
        open=summary["dayOpenPrice"],
        high=summary["dayHighPrice"],
        low=summary["dayLowPrice"],
        last=trade["price"],
        prev_close=market.prev_close(symbol),
        volume=int(trade["dayVolume"]),
        prev_volume=int(summary["prevDayVolume"]),
    )


def _cents(price: float) -> float:
    return max(0.01, round(price, 2))


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0), tzinfo=cal.NEW_YORK)


class History:
    """Bars of one symbol as of `now`, consistent with `figures` (see the module doc)."""

    def __init__(
        self, seed: int, symbol: str, figures: DayFigures, now: dt.datetime, option: bool
    ) -> None:
        self.seed = seed
        self.symbol = symbol
        self.figures = figures
        self.now = now.astimezone(cal.NEW_YORK)
        self.live_day = cal.current_session_day(self.now)
        self.sd = _DAILY_SD["option" if option else "other"]

    def _rng(self, day: dt.date, purpose: str) -> random.Random:
        return random.Random(f"{self.seed}:{self.symbol}:{day.isoformat()}:{purpose}")

    # -- daily and longer -------------------------------------------------------------------
    def daily(self, start: dt.date, end: dt.date) -> list[Bar]:
        """Daily bars of the trading days in [start, end] (none after the live day)."""
        f, live = self.figures, self.live_day
        floor = live - dt.timedelta(days=365 * MAX_YEARS)
        start = max(start, floor)
        if start > min(end, live):
            return []
        days = cal.trading_days(start, live)
        if not days or days[-1] != live:
            days.append(live)
        closes = [0.0] * len(days)
        closes[-1] = f.last
        if len(days) > 1:
            closes[-2] = f.prev_close
        for i in range(len(days) - 2, 0, -1):  # close of day i-1 from day i's return
            closes[i - 1] = _cents(closes[i] / math.exp(self._daily_return(days[i])))
        first_prev = _cents(closes[0] / math.exp(self._daily_return(days[0])))
        bars = []
        for i, day in enumerate(days):
            if day < start or day > end:
                continue
            if day == live:
                bars.append(Bar(_midnight(day), f.open, f.high, f.low, f.last, f.volume))
                continue
            prior = closes[i - 1] if i else first_prev
            rng = self._rng(day, "daily-shape")
            open_ = _cents(prior * math.exp(0.25 * self.sd * rng.gauss(0.0, 1.0)))
            close = closes[i]
            high = _cents(max(open_, close) * math.exp(abs(rng.gauss(0.0, 0.5 * self.sd))))
            low = _cents(min(open_, close) * math.exp(-abs(rng.gauss(0.0, 0.5 * self.sd))))
            if i == len(days) - 2:
                volume = f.prev_volume
            else:
                volume = int(max(f.prev_volume, 1) * math.exp(0.25 * rng.gauss(0.0, 1.0)))
            bars.append(Bar(_midnight(day), open_, high, min(low, open_, close), close, volume))
        return bars

    def _daily_return(self, day: dt.date) -> float:
        """The log return of `day` (close of the day before to close of `day`)."""
        return self._rng(day, "daily-return").gauss(0.0, self.sd)

    def weekly(self, start: dt.date, end: dt.date) -> list[Bar]:
        """Daily bars merged by ISO week, dated by the week's first trading day."""
        return _merge(self.daily(start, end), lambda d: d.isocalendar()[:2])

    def monthly(self, start: dt.date, end: dt.date) -> list[Bar]:
        """Daily bars merged by calendar month, dated by the month's first trading day."""
        return _merge(self.daily(start, end), lambda d: (d.year, d.month))

    # -- intraday ---------------------------------------------------------------------------
    def intraday(self, minutes: int, start: dt.datetime, end: dt.datetime) -> list[Bar]:
        """`minutes`-wide bars of the regular sessions between `start` and `end` (New York
        wall times); bars are kept when they start within [start, end]."""
        start, end = start.astimezone(cal.NEW_YORK), end.astimezone(cal.NEW_YORK)
        first_day, last_day = start.date(), min(end.date(), self.live_day)
        if first_day > last_day:
            return []
        dailies = {b.start.date(): b for b in self.daily(first_day, last_day)}
        out: list[Bar] = []
        for day, bar in sorted(dailies.items()):
            ones = self._minute_bars(day, bar)
            merged = _merge_minutes(ones, minutes, cal.session(day))
            out.extend(b for b in merged if start <= b.start <= end)
        return out

    def _minute_bars(self, day: dt.date, bar: Bar) -> list[Bar]:
        hours = cal.session(day)
        assert hours is not None
        open_at, close_at = hours.at(hours.open[0]), hours.at(hours.open[1])
        full = int((close_at - open_at).total_seconds() // 60)
        count = full
        if day == self.live_day and self.now < close_at:
            count = max(1, min(full, int((self.now - open_at).total_seconds() // 60) + 1))
        rng = self._rng(day, "intraday")
        o, h, low, c = bar.open, bar.high, bar.low, bar.close
        step = max(0.01, (h - low)) / (2.0 * math.sqrt(full))
        walk = [0.0]
        for _ in range(count):
            walk.append(walk[-1] + rng.gauss(0.0, step))
        path = [
            min(h, max(low, o + (c - o) * k / count + walk[k] - walk[count] * k / count))
            for k in range(count + 1)
        ]
        path = [_cents(p) for p in path]
        path[0], path[-1] = o, c
        weights = [
            (1.0 + 1.5 * (2.0 * k / full - 1.0) ** 2) * (0.5 + rng.random()) for k in range(count)
        ]
        total = sum(weights)
        volumes = [int(bar.volume * w / total) for w in weights]
        volumes[-1] += bar.volume - sum(volumes)
        bars = []
        for k in range(count):
            a, b = path[k], path[k + 1]
            wick = abs(rng.gauss(0.0, step * 0.3))
            bars.append(
                Bar(
                    start=open_at + dt.timedelta(minutes=k),
                    open=a,
                    high=min(h, _cents(max(a, b) + wick)),
                    low=max(low, _cents(min(a, b) - wick)),
                    close=b,
                    volume=volumes[k],
                )
            )
        return _touch_extremes(bars, h, low)


def _touch_extremes(bars: list[Bar], high: float, low: float) -> list[Bar]:
    top = max(range(len(bars)), key=lambda i: bars[i].high)
    bottom = min(range(len(bars)), key=lambda i: bars[i].low)
    out = list(bars)
    b = out[top]
    out[top] = Bar(b.start, b.open, high, b.low, b.close, b.volume)
    b = out[bottom]
    out[bottom] = Bar(b.start, b.open, b.high, low, b.close, b.volume)
    return out


def _merge(bars: Iterable[Bar], key: Callable[[dt.date], object]) -> list[Bar]:
    groups: dict[object, list[Bar]] = {}
    for bar in bars:
        groups.setdefault(key(bar.start.date()), []).append(bar)
    return [_combine(group, group[0].start) for group in groups.values()]


def _merge_minutes(bars: list[Bar], minutes: int, hours: cal.Session | None) -> list[Bar]:
    if minutes <= 1 or not bars or hours is None:
        return bars
    open_at = hours.at(hours.open[0])
    groups: dict[int, list[Bar]] = {}
    for bar in bars:
        slot = int((bar.start - open_at).total_seconds() // 60) // minutes
        groups.setdefault(slot, []).append(bar)
    return [
        _combine(group, open_at + dt.timedelta(minutes=slot * minutes))
        for slot, group in groups.items()
    ]


def _combine(group: list[Bar], start: dt.datetime) -> Bar:
    return Bar(
        start,
        group[0].open,
        max(b.high for b in group),
        min(b.low for b in group),
        group[-1].close,
        sum(b.volume for b in group),
    )
