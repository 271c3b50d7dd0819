"""Alpaca's clock and calendar, rendered from the core's trading calendar
(`core/trading_calendar.py`: NYSE holidays and early closes), the one truth about trading
days that Tradier's clock and the history bars use too.

Pure functions of the date: no request, no state, so both APIs and the trading-account
renderer (`previous_close`, `balance_asof`) share them.
"""

from __future__ import annotations

from datetime import date, datetime

from sandbox.alpaca.wire import bad
from sandbox.core import trading_calendar as cal

#: The calendar's range without `start`/`end`, as Alpaca serves it ("from 1970 to 2029").
FIRST_DAY, LAST_DAY = date(1970, 1, 1), date(2029, 12, 31)


def now_et() -> datetime:
    return datetime.now(cal.NEW_YORK)


def _regular(day: date) -> tuple[datetime, datetime] | None:
    hours = cal.session(day)
    if hours is None:
        return None
    return hours.at(hours.open[0]), hours.at(hours.open[1])


def clock(now: datetime | None = None) -> dict[str, object]:
    """Whether the regular session is open now, and the next open and close."""
    now = (now or now_et()).astimezone(cal.NEW_YORK)
    today = now.date()
    hours = _regular(today)
    is_open = hours is not None and hours[0] <= now < hours[1]
    following = _regular(cal.next_trading_day(today))
    assert following is not None
    next_open = hours[0] if hours is not None and now < hours[0] else following[0]
    next_close = hours[1] if hours is not None and now < hours[1] else following[1]
    return {
        "timestamp": now.isoformat(timespec="microseconds"),
        "is_open": is_open,
        "next_open": next_open.isoformat(),
        "next_close": next_close.isoformat(),
    }


def last_session_close(now: datetime | None = None) -> datetime:
    """The end of the latest trading day's extended session that has ended: an account's
    `previous_close`."""
    now = (now or now_et()).astimezone(cal.NEW_YORK)
    day = now.date()
    hours = cal.session(day)
    if hours is None or now < hours.at(hours.postmarket[1]):
        day = cal.previous_trading_day(day)
        hours = cal.session(day)
    assert hours is not None
    return hours.at(hours.postmarket[1])


def calendar_day(day: date) -> dict[str, str]:
    hours = cal.session(day)
    assert hours is not None
    return {
        "date": day.isoformat(),
        "open": hours.open[0].strftime("%H:%M"),
        "close": hours.open[1].strftime("%H:%M"),
        "session_open": "0400",
        "session_close": hours.postmarket[1].strftime("%H%M"),
        "settlement_date": cal.next_trading_day(day).isoformat(),
    }


def calendar(start_text: str | None, end_text: str | None) -> list[dict[str, str]]:
    """The trading days from `start` to `end` (inclusive dates; the SDK may send
    timestamps, whose date part counts); without them the whole served range."""
    try:
        start = date.fromisoformat(start_text[:10]) if start_text else FIRST_DAY
        end = date.fromisoformat(end_text[:10]) if end_text else LAST_DAY
    except ValueError:
        raise bad("start and end must be dates (YYYY-MM-DD)") from None
    if end < start:
        raise bad("end must not be before start")
    start, end = max(start, FIRST_DAY), min(end, LAST_DAY)
    return [calendar_day(d) for d in cal.trading_days(start, end)]
