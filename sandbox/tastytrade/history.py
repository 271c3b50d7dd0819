"""tastytrade's account history endpoints: transactions (with the SDK's paging), one
transaction, total fees of a day, net-liq history and the margin report.

Everything is read from the brokerage's books (`Brokerage.transactions`, `net_liq_history`,
`margin_requirements`) and rendered by `record_wire.py`; bad query parameters answer 400 in
tastytrade's error shape, never a 500.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.core.records import OrderRejected, TransactionRecord
from sandbox.core.simulation import Simulation
from sandbox.http import json_response
from sandbox.tastytrade import record_wire, wire
from sandbox.tastytrade.rest import (
    account_route,
    authed,
    data_response,
    error_response,
    not_found,
    owned_account,
)

MAX_PER_PAGE = 2000


class BadQuery(Exception):
    """A query parameter the API would refuse (400)."""


def query_date(request: Request, name: str) -> dt.date | None:
    raw = request.query_params.get(name)
    if not raw:
        return None
    try:
        return dt.date.fromisoformat(raw[:10])
    except ValueError:
        raise BadQuery(f"{name} must be a date (YYYY-MM-DD), not {raw!r}") from None


def query_time(request: Request, name: str) -> float | None:
    """An ISO date-time parameter (the SDK sends `str(datetime)`), as epoch seconds (UTC if
    naive)."""
    raw = request.query_params.get(name)
    if not raw:
        return None
    try:
        moment = dt.datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise BadQuery(f"{name} must be a date-time, not {raw!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.timestamp()


def query_int(request: Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadQuery(f"{name} must be an integer, not {raw!r}") from None
    if not low <= value <= high:
        raise BadQuery(f"{name} must be between {low} and {high}")
    return value


def day_bounds(
    request: Request, start_name: str, end_name: str
) -> tuple[float | None, float | None]:
    """`start-date`/`end-date` (whole UTC days, both inclusive) and `start-at`/`end-at`
    as one [start, end) window of epoch seconds."""
    start_day, end_day = query_date(request, start_name), query_date(request, end_name)
    start = None if start_day is None else _midnight(start_day)
    end = None if end_day is None else _midnight(end_day + dt.timedelta(days=1))
    start_at, end_at = query_time(request, "start-at"), query_time(request, "end-at")
    if start_at is not None:
        start = start_at if start is None else max(start, start_at)
    if end_at is not None:
        end = end_at if end is None else min(end, end_at)
    return start, end


def _midnight(day: dt.date) -> float:
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp()


def paged_response(
    request: Request, items: list[dict[str, Any]], default_per_page: int
) -> Response:
    """One page of `items` with tastytrade's top-level `pagination` (the SDK's `_paginate`
    follows `page-offset` up to `total-pages`)."""
    per_page = query_int(request, "per-page", default_per_page, 1, MAX_PER_PAGE)
    offset = query_int(request, "page-offset", 0, 0, 1_000_000)
    page, pagination = record_wire.paged(items, per_page=per_page, page_offset=offset)
    return json_response(
        {"data": {"items": page}, "context": request.url.path, "pagination": pagination}
    )


def guarded(handler: Any) -> Any:
    """Owned account, BadQuery → 400, OrderRejected → its status, all in tastytrade's shape."""

    async def endpoint(request: Request, sandbox: Simulation, credential: str) -> Response:
        number = request.path_params["number"]
        if not owned_account(sandbox, credential, number):
            return not_found("Account")
        try:
            return handler(request, sandbox, number)
        except BadQuery as exc:
            return error_response(400, "invalid_parameter", str(exc))
        except OrderRejected as exc:
            return error_response(exc.status, exc.code, exc.message)

    endpoint.__name__ = handler.__name__
    return authed(endpoint)


def _matches(
    t: TransactionRecord, request: Request, window: tuple[float | None, float | None]
) -> bool:
    q = request.query_params
    types = set(q.getlist("types[]")) | ({q["type"]} if q.get("type") else set())
    sub_types = set(q.getlist("sub-type[]"))
    start, end = window
    return (
        (not types or t.transaction_type in types)
        and (not sub_types or t.transaction_sub_type in sub_types)
        and (not q.get("symbol") or t.symbol == q["symbol"])
        and (not q.get("underlying-symbol") or t.underlying_symbol == q["underlying-symbol"])
        and (not q.get("instrument-type") or t.instrument_type == q["instrument-type"])
        and (not q.get("action") or t.action == q["action"])
        and (start is None or t.executed_at >= start)
        and (end is None or t.executed_at < end)
    )


def transactions(request: Request, sandbox: Simulation, number: str) -> Response:
    """GET /accounts/{n}/transactions: filters, `sort` (Desc by default) and paging."""
    sort = request.query_params.get("sort", "Desc")
    if sort not in ("Asc", "Desc"):
        raise BadQuery("sort must be Asc or Desc")
    window = day_bounds(request, "start-date", "end-date")
    found = [t for t in sandbox.brokerage.transactions(number) if _matches(t, request, window)]
    found.sort(key=lambda t: (t.executed_at, t.id), reverse=sort == "Desc")
    return paged_response(request, [record_wire.render_transaction(t) for t in found], 250)


def one_transaction(request: Request, sandbox: Simulation, number: str) -> Any:
    record = sandbox.brokerage.transaction(number, int(request.path_params["transaction_id"]))
    return None if record is None else record_wire.render_transaction(record)


def total_fees(request: Request, sandbox: Simulation, number: str) -> Response:
    """GET /accounts/{n}/transactions/total-fees?date=: commissions and fees of one day."""
    day = query_date(request, "date") or dt.datetime.now(dt.UTC).date()
    start, end = _midnight(day), _midnight(day + dt.timedelta(days=1))
    fees = sum(
        (
            t.commission + t.clearing_fees + t.regulatory_fees
            for t in sandbox.brokerage.transactions(number)
            if start <= t.executed_at < end
        ),
        Decimal(0),
    )
    return data_response(
        request,
        {"total-fees": wire.money(fees), "total-fees-effect": wire.effect(-fees)},
    )


def net_liq_history(request: Request, sandbox: Simulation, number: str) -> Response:
    """GET /accounts/{n}/net-liq/history?time-back= | start-time=."""
    start = query_time(request, "start-time")
    time_back = request.query_params.get("time-back")
    if start is None and not time_back:
        raise BadQuery("time-back or start-time is required")
    points = sandbox.brokerage.net_liq_history(number, time_back=time_back, start=start)
    return data_response(request, {"items": [record_wire.render_net_liq_point(p) for p in points]})


def margin_requirements(request: Request, sandbox: Simulation, number: str) -> Response:
    """GET /margin/accounts/{n}/requirements."""
    report = sandbox.brokerage.margin_requirements(number)
    account = sandbox.brokerage.account(number)
    level = account.options_level if account is not None else "Limited"
    now = dt.datetime.now(dt.UTC).timestamp()
    return data_response(
        request, record_wire.render_margin_report(report, option_level=level, now=now)
    )


routes = [
    Route("/accounts/{number}/transactions", guarded(transactions)),
    Route("/accounts/{number}/transactions/total-fees", guarded(total_fees)),
    Route("/accounts/{number}/transactions/{transaction_id:int}", account_route(one_transaction)),
    Route("/accounts/{number}/net-liq/history", guarded(net_liq_history)),
    Route("/margin/accounts/{number}/requirements", guarded(margin_requirements)),
]
