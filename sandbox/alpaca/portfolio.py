"""Alpaca's portfolio history (`…/account/portfolio/history`) from the core brokerage's
net-liq history, resampled to Alpaca's windows: one value per window (the net-liq at the
window's end), over the trading days of the period (core calendar).

The core keeps daily back-history bars and then the points it records; between points the
value holds. A window that has not ended yet shows the current value, so the last point
of any history reaching today is the account's `equity`. P/L is against `base_value`, the
net-liq at the end of the trading day before the first one (UNCONFIRMED: Alpaca's own
baseline rules, `pnl_reset`, cash-flow adjustments are not modelled; there are no cash
flows after the opening deposit).
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from bisect import bisect_right
from decimal import Decimal
from typing import Any

from sandbox.alpaca.wire import bad
from sandbox.core import trading_calendar as cal
from sandbox.core.records import NetLiqPoint
from sandbox.core.simulation import Simulation

TIMEFRAMES = {"1Min": 60, "5Min": 300, "15Min": 900, "1H": 3600, "1D": 86400}
_PERIOD_RE = re.compile(r"^(\d+)([DWMA])$")
_EXTENDED = (dt.time(4, 0), dt.time(20, 0))
INTRADAY_MAX_DAYS = 30  # intraday resolutions for periods under a month only


def _period(raw: str) -> tuple[int, str]:
    match = _PERIOD_RE.match(raw)
    if match is None or int(match.group(1)) < 1:
        raise bad("period must be a number and a unit: D, W, M or A (e.g. 1M)")
    return int(match.group(1)), match.group(2)


def _days_in(count: int, unit: str) -> int:
    return count * {"D": 1, "W": 7, "M": 30, "A": 365}[unit]


def _months_back(day: dt.date, months: int) -> dt.date:
    month = day.month - 1 - months
    year, month = day.year + month // 12, month % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _trading_days(end: dt.date, count: int, unit: str) -> list[dt.date]:
    """The period's trading days ending at `end`: the last `count` trading days (D), or
    those after `end` minus the weeks, months or years."""
    if unit == "D":
        days = [end] if cal.is_trading_day(end) else []
        while len(days) < count:
            days.insert(0, cal.previous_trading_day(days[0] if days else end))
        return days
    if unit == "W":
        start = end - dt.timedelta(weeks=count)
    elif unit == "M":
        start = _months_back(end, count)
    else:
        start = _months_back(end, 12 * count)
    return cal.trading_days(start + dt.timedelta(days=1), end)


def _market_date(now: dt.datetime, extended: bool) -> dt.date:
    """Today's market date: rolls at the open (at 4:00 with extended hours)."""
    local = now.astimezone(cal.NEW_YORK)
    roll = _EXTENDED[0] if extended else cal.OPEN
    if cal.is_trading_day(local.date()) and local.time() >= roll:
        return local.date()
    return cal.previous_trading_day(local.date())


def _windows(day: dt.date, step: int, extended: bool) -> list[tuple[float, float]]:
    """(start, end) epoch seconds of each window of one trading day's session."""
    hours = cal.session(day)
    assert hours is not None
    first, last = (_EXTENDED[0], hours.postmarket[1]) if extended else hours.open
    start, close = hours.at(first).timestamp(), hours.at(last).timestamp()
    out = []
    while start < close:
        out.append((start, min(start + step, close)))
        start += step
    return out


def _value_at(points: list[NetLiqPoint], stamps: list[float], at: float) -> Decimal:
    index = bisect_right(stamps, at) - 1
    return points[max(index, 0)].close


def _flag(raw: str | None) -> bool:
    if raw is None or raw == "":
        return False
    if raw.lower() not in ("true", "false"):
        raise bad("extended_hours must be true or false")
    return raw.lower() == "true"


def history(sandbox: Simulation, number: str, params: Any) -> dict[str, Any]:
    """`period` (1M), `timeframe` (1Min/5Min/15Min/1H/1D; by default 1Min under 7 days,
    15Min under 30, else 1D), `date_end` (the current market date), `extended_hours`."""
    count, unit = _period(params.get("period") or "1M")
    span = _days_in(count, unit)
    timeframe = params.get("timeframe") or (
        "1Min" if span < 7 else "15Min" if span < INTRADAY_MAX_DAYS else "1D"
    )
    if timeframe not in TIMEFRAMES:
        raise bad(f"timeframe must be one of {', '.join(TIMEFRAMES)}")
    if timeframe != "1D" and span > INTRADAY_MAX_DAYS:
        raise bad("intraday timeframes need a period of at most 30 days")
    extended = _flag(params.get("extended_hours"))
    now = dt.datetime.fromtimestamp(sandbox.now(), dt.UTC)
    today = _market_date(now, extended)
    end = today
    if params.get("date_end"):
        try:
            end = min(dt.date.fromisoformat(params["date_end"]), today)
        except ValueError:
            raise bad("date_end must be a date (YYYY-MM-DD)") from None
    days = _trading_days(end, count, unit)
    points = sandbox.brokerage.net_liq_history(number, time_back="all")
    stamps = [p.at for p in points]
    windows: list[tuple[float, float]] = []
    for day in days:
        if timeframe == "1D":
            midnight = dt.datetime.combine(day, dt.time(), cal.NEW_YORK).timestamp()
            windows.append((midnight, midnight + 86400))
        else:
            windows.extend(_windows(day, TIMEFRAMES[timeframe], extended))
    windows = [w for w in windows if w[0] <= now.timestamp()]
    equity = [_value_at(points, stamps, close) for _, close in windows]
    if equity and end == today:
        equity[-1] = points[-1].close  # the window in progress: the value now
    first = days[0] if days else end
    base_day = cal.previous_trading_day(first)
    base_end = dt.datetime.combine(base_day, dt.time(), cal.NEW_YORK).timestamp() + 86400
    base = _value_at(points, stamps, base_end)
    profit = [e - base for e in equity]
    return {
        "timestamp": [int(start) for start, _ in windows],
        "equity": [float(e) for e in equity],
        "profit_loss": [float(p) for p in profit],
        "profit_loss_pct": [round(float(p / base), 6) if base else None for p in profit],
        "base_value": float(base),
        "base_value_asof": base_day.isoformat(),
        "timeframe": timeframe,
        "cashflow": {},
    }
