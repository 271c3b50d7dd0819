"""The Trading API's market reference endpoints: clock, calendar and assets.

The schedule is the US equity exchanges' regular session, 09:30-16:00 New York time on
weekdays (the simulated market's trading days are the weekdays too); exchange holidays
and early closes are not simulated. The simulation itself keeps ticking and filling
outside those hours: the clock tells a client the exchange schedule, it does not pause
the sandbox. Assets are the equities the simulated market quotes (any valid ticker is
created on first use, as the market does for quotes).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..core.symbols import classify
from .broker_api import alpaca_error, asset_uuid, ok
from .trading_api import trading_of

__all__ = ["clock", "routes", "session_days"]

NEW_YORK = ZoneInfo("America/New_York")
OPEN, CLOSE = time(9, 30), time(16, 0)
#: How far `/v2/calendar` reaches without `start`/`end` (Alpaca lists years of days).
_CALENDAR_SPAN = timedelta(days=366)


def _is_trading_day(day: date) -> bool:
    return day.weekday() < 5


def session_days(start: date, end: date) -> list[date]:
    """The trading days from start to end, both included."""
    days, day = [], start
    while day <= end:
        if _is_trading_day(day):
            days.append(day)
        day += timedelta(days=1)
    return days


def clock(now: datetime | None = None) -> dict[str, Any]:
    """Alpaca's clock: whether the regular session is open now, and its next open/close."""
    now = (now or datetime.now(UTC)).astimezone(NEW_YORK)
    today = now.date()
    opens = datetime.combine(today, OPEN, NEW_YORK)
    closes = datetime.combine(today, CLOSE, NEW_YORK)
    is_open = _is_trading_day(today) and opens <= now < closes
    day = today if _is_trading_day(today) and now < opens else today + timedelta(days=1)
    while not _is_trading_day(day):
        day += timedelta(days=1)
    next_open = datetime.combine(day, OPEN, NEW_YORK)
    close_day = today if _is_trading_day(today) and now < closes else day
    next_close = datetime.combine(close_day, CLOSE, NEW_YORK)
    return {
        "timestamp": now.isoformat(timespec="microseconds"),
        "is_open": is_open,
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
        "settlement_date": _settlement(day).isoformat(),
    }


def _settlement(day: date) -> date:
    """T+1, the next trading day."""
    day += timedelta(days=1)
    while not _is_trading_day(day):
        day += timedelta(days=1)
    return day


def asset(symbol: str, name: str) -> dict[str, Any]:
    return {
        "id": asset_uuid(symbol),
        "class": "us_equity",
        "exchange": "NASDAQ",
        "symbol": symbol,
        "name": name,
        "status": "active",
        "tradable": True,
        "marginable": True,
        "maintenance_margin_requirement": 30,
        "shortable": True,
        "easy_to_borrow": True,
        "fractionable": False,
        "attributes": [],
    }


async def get_clock(request: Request) -> Response:
    customer = trading_of(request).authenticate(request)
    if isinstance(customer, Response):
        return customer
    return ok(clock())


async def get_calendar(request: Request) -> Response:
    customer = trading_of(request).authenticate(request)
    if isinstance(customer, Response):
        return customer
    q = request.query_params
    today = datetime.now(NEW_YORK).date()
    try:
        start = date.fromisoformat(q["start"][:10]) if q.get("start") else today - _CALENDAR_SPAN
        end = date.fromisoformat(q["end"][:10]) if q.get("end") else today + _CALENDAR_SPAN
    except ValueError:
        return alpaca_error(422, 42210000, "start and end must be dates (YYYY-MM-DD)")
    if end < start:
        return alpaca_error(422, 42210000, "end must not be before start")
    return ok([calendar_day(d) for d in session_days(start, end)])


def _equity_asset(request: Request, symbol: str) -> dict[str, Any] | None:
    market = trading_of(request).sandbox.market
    if classify(symbol) != "equity" or not market.ensure(symbol):
        return None
    return asset(symbol, market.profile(symbol)["description"])


async def list_assets(request: Request) -> Response:
    """Active US equities the simulated market knows; other classes list empty."""
    trading = trading_of(request)
    customer = trading.authenticate(request)
    if isinstance(customer, Response):
        return customer
    q = request.query_params
    if q.get("status", "active") not in ("active", "inactive"):
        return alpaca_error(422, 42210000, "invalid status")
    if q.get("status", "active") == "inactive" or q.get("asset_class", "us_equity") != "us_equity":
        return ok([])
    symbols = sorted(s for s in trading.sandbox.market.symbols if classify(s) == "equity")
    assets = [a for s in symbols if (a := _equity_asset(request, s)) is not None]
    if q.get("exchange"):
        assets = [a for a in assets if a["exchange"] == q["exchange"]]
    return ok(assets)


async def get_asset(request: Request) -> Response:
    trading = trading_of(request)
    customer = trading.authenticate(request)
    if isinstance(customer, Response):
        return customer
    key = request.path_params["symbol"]
    symbol = key.upper()
    for known in trading.sandbox.market.symbols:
        if asset_uuid(known) == key:
            symbol = known
    found = _equity_asset(request, symbol)
    if found is None:
        return alpaca_error(404, 40410000, "asset not found")
    return ok(found)


routes = [
    Route("/alpaca/v2/clock", get_clock, methods=["GET"]),
    Route("/alpaca/v2/calendar", get_calendar, methods=["GET"]),
    Route("/alpaca/v2/assets", list_assets, methods=["GET"]),
    Route("/alpaca/v2/assets/{symbol}", get_asset, methods=["GET"]),
]
