"""Alpaca's market clock and calendar (`GET /v1/clock`, `GET /v1/calendar`).

The trading days are the simulated market's: every weekday (the core market rolls its
previous close over weekends only, `core.market._prev_trading_day`), so the calendar never
disagrees with the previous-close prices the façade reports. Exchange holidays and early
closes are deliberately absent for that reason. The regular session is 09:30-16:00
America/New_York, the extended one 04:00-20:00, as Alpaca's calendar spells them.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .broker_api import alpaca_error, facade_of, ok

NEW_YORK = ZoneInfo("America/New_York")
OPEN, CLOSE = time(9, 30), time(16, 0)
EXTENDED_CLOSE = time(20, 0)
#: The calendar's range, as Alpaca serves it ("from 1970 to 2029").
FIRST_DAY, LAST_DAY = date(1970, 1, 1), date(2029, 12, 31)


def is_trading_day(day: date) -> bool:
    return day.weekday() < 5


def next_trading_day(day: date) -> date:
    day += timedelta(days=1)
    while not is_trading_day(day):
        day += timedelta(days=1)
    return day


def previous_trading_day(day: date) -> date:
    day -= timedelta(days=1)
    while not is_trading_day(day):
        day -= timedelta(days=1)
    return day


def at(day: date, moment: time) -> datetime:
    return datetime.combine(day, moment, NEW_YORK)


def now_et() -> datetime:
    return datetime.now(NEW_YORK)


def last_session_close(now: datetime | None = None) -> datetime:
    """The end (20:00 ET) of the latest session that has ended: an account's `previous_close`."""
    now = now or now_et()
    day = now.date()
    if not (is_trading_day(day) and now >= at(day, EXTENDED_CLOSE)):
        day = previous_trading_day(day)
    return at(day, EXTENDED_CLOSE)


def clock(now: datetime | None = None) -> dict[str, object]:
    """Whether the regular session is open now, and the next open and close."""
    now = now or now_et()
    today = now.date()
    open_today = is_trading_day(today) and at(today, OPEN) <= now < at(today, CLOSE)
    if is_trading_day(today) and now < at(today, OPEN):
        next_open = at(today, OPEN)
    else:
        next_open = at(next_trading_day(today), OPEN)
    if is_trading_day(today) and now < at(today, CLOSE):
        next_close = at(today, CLOSE)
    else:
        next_close = at(next_trading_day(today), CLOSE)
    return {
        "timestamp": now.isoformat(timespec="microseconds"),
        "is_open": open_today,
        "next_open": next_open.isoformat(),
        "next_close": next_close.isoformat(),
    }


def calendar_day(day: date) -> dict[str, str]:
    return {
        "date": day.isoformat(),
        "open": OPEN.strftime("%H:%M"),
        "close": CLOSE.strftime("%H:%M"),
        "session_open": "0400",
        "session_close": "2000",
        "settlement_date": next_trading_day(day).isoformat(),
    }


async def get_clock(request: Request) -> Response:
    customer = facade_of(request).authenticate(request)
    if isinstance(customer, Response):
        return customer
    return ok(clock())


async def get_calendar(request: Request) -> Response:
    """`start`/`end` (inclusive dates); without them the whole served range."""
    customer = facade_of(request).authenticate(request)
    if isinstance(customer, Response):
        return customer
    try:
        start = _day(request.query_params.get("start")) or FIRST_DAY
        end = _day(request.query_params.get("end")) or LAST_DAY
    except ValueError:
        return alpaca_error(400, 40010000, "start and end must be dates (YYYY-MM-DD)")
    start, end = max(start, FIRST_DAY), min(end, LAST_DAY)
    days = []
    day = start
    while day <= end:
        if is_trading_day(day):
            days.append(calendar_day(day))
        day += timedelta(days=1)
    return ok(days)


def _day(text: str | None) -> date | None:
    """A date, or the date part of an RFC 3339 timestamp (the SDK sends dates)."""
    if not text:
        return None
    return date.fromisoformat(text[:10])


routes = [
    Route("/alpaca/v1/clock", get_clock, methods=["GET"]),
    Route("/alpaca/v1/calendar", get_calendar, methods=["GET"]),
]
