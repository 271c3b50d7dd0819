"""Broker API account activities: `FILL` only, from the fills the façade already reports.

Every `fill`/`partial_fill` trade event the façade keeps for a key (see `broker_api`,
`alpaca_event_retention`) is also a FILL activity; so activities go back as far as the
retained events do. Non-trade activities (cash, dividends, fees) need the core's
transactions ledger and are not served yet: asking for them gives `[]`. Multi-leg orders
report one event per order, not per leg, so their fills are not listed either.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .broker_api import AlpacaSandbox, _Customer, alpaca_error, dec, facade_of, ok, parse_time, s

_MAX_PAGE = 100
_TYPES = {"FILL"}


def fills(customer: _Customer, account_ids: set[str]) -> list[dict[str, Any]]:
    """FILL activities of the key's retained fill events (the one place that reads them)."""
    items = []
    for stored in customer.events:
        body = stored.body
        order = body["order"]
        if body["event"] not in ("fill", "partial_fill") or body["account_id"] not in account_ids:
            continue
        if not order["symbol"]:  # multi-leg: one event per order, not per leg
            continue
        when = parse_time(body["timestamp"]) or stored.at
        stamp = datetime.fromtimestamp(when, UTC)
        cum = dec(order["filled_qty"])
        items.append(
            {
                "id": f"{stamp.strftime('%Y%m%d%H%M%S%f')[:17]}::{body['execution_id']}",
                "account_id": body["account_id"],
                "activity_type": "FILL",
                "transaction_time": body["timestamp"],
                "type": body["event"],
                "price": body["price"],
                "qty": body["qty"],
                "side": order["side"],
                "symbol": order["symbol"],
                "leaves_qty": s(dec(order["qty"] or cum) - cum),
                "order_id": order["id"],
                "cum_qty": s(cum),
                "order_status": order["status"],
                "_at": when,
            }
        )
    return items


def select(items: list[dict[str, Any]], q: Any) -> list[dict[str, Any]]:
    """`date` (that UTC day), `after`/`until` (exclusive), `direction` (desc),
    `page_size` (100, at most 100), `page_token` (the id of the last item seen)."""
    direction = q.get("direction", "desc")
    if direction not in ("asc", "desc"):
        raise ValueError("direction must be asc or desc")
    try:
        size = int(q.get("page_size", _MAX_PAGE))
    except ValueError:
        raise ValueError("page_size must be an integer") from None
    if not 0 < size <= _MAX_PAGE:
        raise ValueError(f"page_size must be between 1 and {_MAX_PAGE}")
    if q.get("date") and (q.get("after") or q.get("until")):
        raise ValueError("date cannot be combined with after or until")
    bounds = {}
    for name in ("date", "after", "until"):
        if q.get(name):
            bounds[name] = (
                parse_time(q[name]) if "T" in q[name] else parse_time(f"{q[name]}T00:00:00Z")
            )
            if bounds[name] is None:
                raise ValueError(f"{name} must be a date or an RFC 3339 timestamp")
    chosen = []
    for item in items:
        at = item["_at"]
        if "date" in bounds and not bounds["date"] <= at < bounds["date"] + 86400:
            continue
        if ("after" in bounds and not at > bounds["after"]) or (
            "until" in bounds and not at < bounds["until"]
        ):
            continue
        chosen.append(item)
    chosen.sort(key=lambda item: item["id"], reverse=direction == "desc")
    token = q.get("page_token")
    if token:
        chosen = [
            i for i in chosen if (i["id"] < token if direction == "desc" else i["id"] > token)
        ]
    return [{k: v for k, v in item.items() if k != "_at"} for item in chosen[:size]]


async def list_activities(request: Request) -> Response:
    """`GET /v1/accounts/activities[/{activity_type}]`, optionally for one `account_id`."""
    facade: AlpacaSandbox = facade_of(request)
    customer = facade.authenticate(request)
    if isinstance(customer, Response):
        return customer
    q = request.query_params
    mine = {facade.account_summary(n)["id"] for n in customer.accounts}
    if q.get("account_id"):
        if q["account_id"] not in mine:
            return alpaca_error(404, 40410000, "account not found")
        mine = {q["account_id"]}
    wanted = {t for t in q.get("activity_types", "").split(",") if t}
    if "activity_type" in request.path_params:
        wanted = {request.path_params["activity_type"]}
    try:
        items = select(fills(customer, mine), q)
    except ValueError as exc:
        return alpaca_error(422, 40010000, str(exc))
    return ok(items if not wanted or wanted & _TYPES else [])


routes = [
    Route("/alpaca/v1/accounts/activities", list_activities, methods=["GET"]),
    Route("/alpaca/v1/accounts/activities/{activity_type}", list_activities, methods=["GET"]),
]
