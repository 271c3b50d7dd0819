"""GET /accounts/{n}/balance-snapshots: an account's balance at the beginning (BOD) or end
(EOD) of each day, paged as the SDK's `_paginate` reads it.

One truth: today's EOD snapshot *is* the live balance, and a past day's net liquidating
value is that day's last close in the brokerage's net-liq history (BOD = the previous
day's EOD). The core keeps no past composition of a balance, so a past snapshot holds
today's proportions, scaled to that day's net-liq, with cash making the sum exact
(cash + long - short = net-liq, as in a live balance; a future's open profit or loss,
which the scaled values do not hold, is in that cash).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.core.records import BalanceFigures, NetLiqPoint
from sandbox.core.simulation import Simulation
from sandbox.tastytrade import record_wire
from sandbox.tastytrade.history import BadQuery, guarded, paged_response, query_date

RECENT_DAYS = 5  # without a range, the few latest snapshots (UNCONFIRMED how many)
_CENT = Decimal("0.01")
_SCALED = (
    "long_equity_value",
    "short_equity_value",
    "long_derivative_value",
    "short_derivative_value",
    "long_margineable_value",
    "short_margineable_value",
    "equity_buying_power",
    "derivative_buying_power",
    "day_trading_buying_power",
    "available_trading_funds",
    "cash_available_to_withdraw",
    "maintenance_requirement",
    "maintenance_call_value",
    "maintenance_excess",
    "reg_t_margin_requirement",
    "used_derivative_buying_power",
    "day_trade_excess",
    "long_futures_value",
    "short_futures_value",
    "futures_margin_requirement",
)


def _books(sandbox: Simulation, number: str) -> tuple[BalanceFigures, list[NetLiqPoint]]:
    """The one adapter to the brokerage: the live balance and the whole net-liq history."""
    live = sandbox.brokerage.balance(number)
    return live, sandbox.brokerage.net_liq_history(number, time_back="all")


def _midnight(day: dt.date) -> float:
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp()


def end_of_day_values(points: list[NetLiqPoint]) -> dict[dt.date, Decimal]:
    """Each (UTC) day's last net-liq close."""
    closes: dict[dt.date, Decimal] = {}
    for point in points:
        closes[dt.datetime.fromtimestamp(point.at, dt.UTC).date()] = point.close
    return closes


def scaled(live: BalanceFigures, net_liq: Decimal, at: float) -> BalanceFigures:
    """The live balance's composition at another net-liq (see the module docstring)."""
    ratio = net_liq / live.net_liquidating_value if live.net_liquidating_value else Decimal(0)
    values = {
        name: (getattr(live, name) * ratio).quantize(_CENT, rounding=ROUND_HALF_UP)
        for name in _SCALED
    }
    positions = (
        values["long_equity_value"]
        - values["short_equity_value"]
        + values["long_derivative_value"]
        - values["short_derivative_value"]
    )
    return dataclasses.replace(
        live,
        **values,
        cash_balance=net_liq - positions,
        net_liquidating_value=net_liq,
        margin_equity=net_liq,
        as_of=at,
    )


def snapshot(figures: BalanceFigures, day: dt.date, time_of_day: str) -> dict[str, Any]:
    """A balance rendered as an AccountBalanceSnapshot of `day`."""
    data = record_wire.render_balance(figures)
    data["snapshot-date"] = day.isoformat()
    data["time-of-day"] = time_of_day
    return data


def snapshots(
    live: BalanceFigures,
    points: list[NetLiqPoint],
    days: list[dt.date],
    time_of_day: str,
    today: dt.date,
) -> list[dict[str, Any]]:
    """The snapshots of `days` that the books can answer (none before the history starts)."""
    closes = end_of_day_values(points)
    out = []
    for day in days:
        if day == today and time_of_day == "EOD":
            out.append(snapshot(live, day, time_of_day))
            continue
        source = day if time_of_day == "EOD" else day - dt.timedelta(days=1)
        if source in closes and day <= today:
            at = _midnight(source + dt.timedelta(days=1)) - 1
            out.append(snapshot(scaled(live, closes[source], at), day, time_of_day))
    return out


def _days(request: Request, today: dt.date) -> list[dt.date]:
    one = query_date(request, "snapshot-date")
    if one is not None:
        return [one]
    end = query_date(request, "end-date") or today
    start = query_date(request, "start-date")
    if start is None:
        start = end - dt.timedelta(days=RECENT_DAYS - 1)
    if start > end:
        raise BadQuery("start-date must not be after end-date")
    return [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]


def balance_snapshots(request: Request, sandbox: Simulation, number: str) -> Response:
    time_of_day = request.query_params.get("time-of-day") or "EOD"
    if time_of_day not in ("BOD", "EOD"):
        raise BadQuery("time-of-day must be BOD or EOD")
    currency = (request.query_params.get("currency") or "USD").upper()
    live, points = _books(sandbox, number)
    today = dt.datetime.fromtimestamp(live.as_of, dt.UTC).date()
    days = _days(request, today)
    items = [] if currency != "USD" else snapshots(live, points, days, time_of_day, today)
    return paged_response(request, items, 250)


routes = [Route("/accounts/{number}/balance-snapshots", guarded(balance_snapshots))]
