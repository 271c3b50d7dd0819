"""tastytrade's market-time endpoints: the current session per instrument collection and the
holiday / half-day calendars, all from `core/trading_calendar.py`, the calendar the
Tradier clock and calendar use (NYSE holidays, 13:00 early closes).

Equity sessions run pre-market (07:00 New York) to the extended close (20:00, 17:00 on
early-close days); futures collections (CME, CFE) run from 18:00 the evening before a
trading day to 17:00 on it (13:00 on early-close days) and share the NYSE holidays.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.core import trading_calendar as cal
from sandbox.core.simulation import Simulation
from sandbox.tastytrade.query import bad_request
from sandbox.tastytrade.rest import authed, data_response, not_found

EQUITY = "Equity"
FUTURES = ("CME", "CFE")
FUTURES_OPEN = dt.time(18, 0)
FUTURES_CLOSE = dt.time(17, 0)
HOLIDAY_YEARS_BACK = 10
HOLIDAY_YEARS_AHEAD = 3
#: The calendar's states under tastytrade's names.
STATES = {"premarket": "Pre-market", "open": "Open", "postmarket": "Extended", "closed": "Closed"}


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="milliseconds")


def _times(collection: str, day: dt.date) -> dict[str, dt.datetime | None]:
    """start/open/close/extended close of a trading day's session for a collection."""
    hours = cal.session(day)
    assert hours is not None
    if collection == EQUITY:
        return {
            "start-at": hours.at(hours.premarket[0]),
            "open-at": hours.at(hours.open[0]),
            "close-at": hours.at(hours.open[1]),
            "close-at-ext": hours.at(hours.postmarket[1]),
        }
    early = day in cal.early_closes(day.year)
    evening = dt.datetime.combine(day - dt.timedelta(days=1), FUTURES_OPEN, tzinfo=cal.NEW_YORK)
    return {
        "start-at": evening,
        "open-at": evening,
        "close-at": hours.at(cal.EARLY_CLOSE if early else FUTURES_CLOSE),
        "close-at-ext": None,
    }


def _snapshot(collection: str, day: dt.date) -> dict[str, Any]:
    times = _times(collection, day)
    return {
        "instrument-collection": collection,
        "session-date": day.isoformat(),
        **{k: None if v is None else _iso(v) for k, v in times.items()},
    }


def _end(times: dict[str, dt.datetime | None]) -> dt.datetime:
    end = times["close-at-ext"] or times["close-at"]
    assert end is not None
    return end


def market_session(collection: str, now: dt.datetime) -> dict[str, Any]:
    """A MarketSession object for `collection` at `now`: the session running now (its times
    are null when none is), the previous and the next one, and the state."""
    today = now.astimezone(cal.NEW_YORK).date()
    candidates = [cal.previous_trading_day(today)]
    candidates += [today] if cal.is_trading_day(today) else []
    candidates += [cal.next_trading_day(today)]
    current = None
    for day in candidates:
        times = _times(collection, day)
        start = times["start-at"]
        assert start is not None
        if start <= now < _end(times):
            current = day
    if current is not None:
        previous, following = cal.previous_trading_day(current), cal.next_trading_day(current)
    else:
        ended = [d for d in candidates if _end(_times(collection, d)) <= now]
        previous = ended[-1]
        following = next(d for d in candidates if d > previous)
    if collection == EQUITY:
        state = STATES[cal.clock(now).state]
    else:
        state = "Open" if current is not None else "Closed"
    times = (
        _times(collection, current)
        if current is not None
        else dict.fromkeys(_times(collection, following))
    )
    return {
        "instrument-collection": collection,
        **{k: None if v is None else _iso(v) for k, v in times.items()},
        "state": state,
        "previous-session": _snapshot(collection, previous),
        "next-session": _snapshot(collection, following),
    }


async def current_sessions(request: Request, sandbox: Simulation, credential: str) -> Response:
    """GET /market-time/sessions/current?instrument-collections[]=Equity&..."""
    wanted = request.query_params.getlist("instrument-collections[]") or [EQUITY]
    unknown = [c for c in wanted if c not in (EQUITY, *FUTURES)]
    if unknown:
        return bad_request(
            "Invalid parameter", **{"instrument-collections[]": f"unknown {unknown[0]!r}"}
        )
    now = dt.datetime.fromtimestamp(sandbox.now(), dt.UTC)
    return data_response(request, {"items": [market_session(c, now) for c in wanted]})


def market_calendar(today: dt.date) -> dict[str, Any]:
    """A MarketCalendar: every holiday and half day from ten years back to three ahead."""
    years = range(today.year - HOLIDAY_YEARS_BACK, today.year + HOLIDAY_YEARS_AHEAD + 1)
    return {
        "market-holidays": sorted(d.isoformat() for y in years for d in cal.holidays(y)),
        "market-half-days": sorted(d.isoformat() for y in years for d in cal.early_closes(y)),
    }


async def equity_holidays(request: Request, sandbox: Simulation, credential: str) -> Response:
    return data_response(request, market_calendar(sandbox.market_date()))


async def futures_holidays(request: Request, sandbox: Simulation, credential: str) -> Response:
    """GET /market-time/futures/holidays/{exchange}: the SDK's exchanges (CME, CFE, Equity)."""
    if request.path_params["exchange"] not in (EQUITY, *FUTURES):
        return not_found("Exchange")
    return data_response(request, market_calendar(sandbox.market_date()))


routes = [
    Route("/market-time/sessions/current", authed(current_sessions)),
    Route("/market-time/equities/holidays", authed(equity_holidays)),
    Route("/market-time/futures/holidays/{exchange}", authed(futures_holidays)),
]
