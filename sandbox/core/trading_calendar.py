"""The US equity market's calendar and clock in New York time: which days trade, when the
sessions run, and what state the market is in now.

The simulated market itself ticks around the clock; this module is what the brokers'
clock and calendar endpoints and the history bars agree on about *days*.  Holidays follow
the NYSE rules (weekend holidays observed on the nearest weekday, except that a Saturday
New Year's Day is not observed on the Friday before); early closes at 13:00 on the day
before Independence Day, the day after Thanksgiving and Christmas Eve.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from zoneinfo import ZoneInfo

NEW_YORK = ZoneInfo("America/New_York")

PREMARKET_START = dt.time(7, 0)
PREMARKET_END = dt.time(9, 24)
OPEN = dt.time(9, 30)
CLOSE = dt.time(16, 0)
EARLY_CLOSE = dt.time(13, 0)
POSTMARKET_END = dt.time(20, 0)
EARLY_POSTMARKET_END = dt.time(17, 0)


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> dt.date:
    """The n-th (1-based; -1 = last) `weekday` (0 = Monday) of a month."""
    if n > 0:
        first = dt.date(year, month, 1)
        return first + dt.timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))
    last = dt.date(year + month // 12, month % 12 + 1, 1) - dt.timedelta(days=1)
    return last - dt.timedelta(days=(last.weekday() - weekday) % 7)


def _easter(year: int) -> dt.date:
    """Gregorian Easter Sunday (the anonymous Gregorian algorithm)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = b // 4, b % 4
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = c // 4, c % 4
    l_ = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * l_) // 451
    month = (h + l_ - 7 * m + 114) // 31
    day = (h + l_ - 7 * m + 114) % 31 + 1
    return dt.date(year, month, day)


def _observed(day: dt.date) -> dt.date:
    if day.weekday() == 5:
        return day - dt.timedelta(days=1)
    if day.weekday() == 6:
        return day + dt.timedelta(days=1)
    return day


@functools.lru_cache(maxsize=64)
def holidays(year: int) -> dict[dt.date, str]:
    """The full-day NYSE holidays of `year`, with their names (cached: do not mutate)."""
    days = {
        _nth_weekday(year, 1, 0, 3): "Martin Luther King, Jr. Day",
        _nth_weekday(year, 2, 0, 3): "Washington's Birthday",
        _easter(year) - dt.timedelta(days=2): "Good Friday",
        _nth_weekday(year, 5, 0, -1): "Memorial Day",
        _observed(dt.date(year, 7, 4)): "Independence Day",
        _nth_weekday(year, 9, 0, 1): "Labor Day",
        _nth_weekday(year, 11, 3, 4): "Thanksgiving Day",
        _observed(dt.date(year, 12, 25)): "Christmas Day",
    }
    new_year = dt.date(year, 1, 1)
    if new_year.weekday() != 5:  # a Saturday New Year's Day is not observed
        days[_observed(new_year)] = "New Year's Day"
    if year >= 2022:
        days[_observed(dt.date(year, 6, 19))] = "Juneteenth National Independence Day"
    return days


def early_closes(year: int) -> set[dt.date]:
    """Days the regular session ends at 13:00 (when they are trading days)."""
    days = {
        dt.date(year, 7, 3),
        _nth_weekday(year, 11, 3, 4) + dt.timedelta(days=1),
        dt.date(year, 12, 24),
    }
    return {d for d in days if is_trading_day(d)}


def is_trading_day(day: dt.date) -> bool:
    return day.weekday() < 5 and day not in holidays(day.year)


@dataclass(frozen=True)
class Session:
    """One trading day's premarket, regular and postmarket hours (New York wall time)."""

    date: dt.date
    premarket: tuple[dt.time, dt.time]
    open: tuple[dt.time, dt.time]
    postmarket: tuple[dt.time, dt.time]

    def at(self, time: dt.time) -> dt.datetime:
        return dt.datetime.combine(self.date, time, tzinfo=NEW_YORK)


def session(day: dt.date) -> Session | None:
    """The day's sessions, or None on weekends and holidays."""
    if not is_trading_day(day):
        return None
    early = day in early_closes(day.year)
    close = EARLY_CLOSE if early else CLOSE
    post_end = EARLY_POSTMARKET_END if early else POSTMARKET_END
    return Session(day, (PREMARKET_START, PREMARKET_END), (OPEN, close), (close, post_end))


def trading_days(start: dt.date, end: dt.date) -> list[dt.date]:
    """Every trading day in [start, end]."""
    out = []
    day = start
    while day <= end:
        if is_trading_day(day):
            out.append(day)
        day += dt.timedelta(days=1)
    return out


def previous_trading_day(day: dt.date) -> dt.date:
    day -= dt.timedelta(days=1)
    while not is_trading_day(day):
        day -= dt.timedelta(days=1)
    return day


def next_trading_day(day: dt.date) -> dt.date:
    day += dt.timedelta(days=1)
    while not is_trading_day(day):
        day += dt.timedelta(days=1)
    return day


def market_date(now: float | dt.datetime) -> dt.date:
    """The market's current date: the calendar date in New York at `now` (epoch seconds
    or an aware datetime). Every façade's "today" is this one date.

    It decides which expirations are still listed, an option's days to expiration and
    whether it has expired. Listed options are dated by New York days: they trade until
    the close of their expiration date in New York, and the next New York day they are
    gone. The UTC date turns at 19:00/20:00 New York time, hours before that day ends (a
    contract expiring today would read as expired the evening before, and the listing
    would jump a week early); the machine's local date depends on where the sandbox runs.
    `current_session_day` is not it either: it is the day the running figures (open,
    high, low, last) are booked to, which stays on Friday over the weekend and on the
    previous trading day until 09:30, so days to expiration would count from a stale day.
    Weekends and holidays are market dates too (nothing trades, nothing expires on them).
    """
    if isinstance(now, dt.datetime):
        return now.astimezone(NEW_YORK).date()
    return dt.datetime.fromtimestamp(now, NEW_YORK).date()


def current_session_day(now: dt.datetime) -> dt.date:
    """The latest trading day whose regular session has opened by `now`: the day the
    simulated market's running figures (open, high, low, last) are booked to."""
    local = now.astimezone(NEW_YORK)
    today = local.date()
    if is_trading_day(today) and local.time() >= OPEN:
        return today
    return previous_trading_day(today)


@dataclass(frozen=True)
class ClockState:
    date: dt.date
    state: str  # premarket | open | postmarket | closed
    description: str
    next_change: dt.time
    next_state: str


def clock(now: dt.datetime) -> ClockState:
    """The market's state at `now`, with the time and state of its next change.

    Premarket runs until the open (the calendar's premarket block ends at 09:24, the
    order-entry cut-off; the state stays premarket until 09:30)."""
    local = now.astimezone(NEW_YORK)
    today, time = local.date(), local.time()
    hours = session(today)
    if hours is not None:
        (pre_start, pre_end), (open_, close), (_, post_end) = (
            hours.premarket,
            hours.open,
            hours.postmarket,
        )
        if pre_start <= time < open_:
            text = f"Market is in premarket hours from {pre_start:%H:%M} to {pre_end:%H:%M}"
            return ClockState(today, "premarket", text, open_, "open")
        if open_ <= time < close:
            text = f"Market is open from {open_:%H:%M} to {close:%H:%M}"
            return ClockState(today, "open", text, close, "postmarket")
        if close <= time < post_end:
            text = f"Market is in postmarket hours from {close:%H:%M} to {post_end:%H:%M}"
            return ClockState(today, "postmarket", text, post_end, "closed")
        if time < pre_start:
            return ClockState(today, "closed", "Market is closed", pre_start, "premarket")
    following = session(next_trading_day(today))
    assert following is not None
    return ClockState(today, "closed", "Market is closed", following.premarket[0], "premarket")
