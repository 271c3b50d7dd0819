"""`GET /api/orders` (pages of a user's orders) and `GET /api/exports/<kind>.csv`.

Thin: the query is checked (order_list.py, exports.py), the user's snapshot read (as the
polling fallback reads it), the pages built by orders/pages.py and the file by orders/exports.py
(docs/streaming-contract.md, "Orders" and "CSV exports"). Session or API token (read
only; streaming/tabs/bearer.py); anonymous → 403 JSON; another user's or an unknown account →
404 with a sentence; bad input → 400 with a sentence.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from channels.db import database_sync_to_async
from django.http import HttpRequest, HttpResponse, JsonResponse

from accounts.display_preferences import display_preferences_get
from streaming.api import errors
from streaming.cluster.agents import agents_of
from streaming.order_list import (
    MAX_LIMIT,
    OrderQuery,
    QueryError,
    parse_account,
    parse_cursor,
    parse_query,
)
from streaming.orders import exports
from streaming.orders.pages import (
    IncompleteLink,
    UnknownAccount,
    check_account,
    orders_page,
    user_links,
)
from streaming.portfolio.page import snapshot_for

#: Pages one export reads at most (each up to MAX_LIMIT orders).
EXPORT_MAX_PAGES = exports.EXPORT_MAX_ORDERS // MAX_LIMIT + 5


def _error(status: int, code: str, message: str) -> JsonResponse:
    return errors.sentence_error(status, message, code=code)


async def _user(request: HttpRequest) -> Any:
    user = await request.auser()
    return user if user.is_authenticated else None


async def api_orders(request: HttpRequest) -> JsonResponse:
    """`?account=&status=&before=&limit=` → `{orders, next, incomplete, simulated}`."""
    user = await _user(request)
    if user is None:
        return errors.not_authenticated()
    if request.method != "GET":
        return _error(405, "method_not_allowed", "only GET reads orders")
    try:
        query = parse_query(request.GET.dict())
    except QueryError as exc:
        return _error(400, "bad_query", str(exc))
    snapshot, _ = await snapshot_for(agents_of(request), user.id)
    links = await user_links(user.id, snapshot)
    try:
        check_account(links, query.account)
    except UnknownAccount as exc:
        return _error(404, "not_found", str(exc))
    page = await orders_page(snapshot, links, query)
    return JsonResponse(
        {
            "orders": page.orders,
            "next": page.next,
            "incomplete": page.incomplete,
            "simulated": bool(snapshot.get("simulated")),
        }
    )


async def export_csv(request: HttpRequest, kind: str) -> HttpResponse:
    """The user's positions, orders or fills as a CSV file (`?account=&tz=`)."""
    user = await _user(request)
    if user is None:
        return errors.not_authenticated()
    if request.method != "GET":
        return _error(405, "method_not_allowed", "only GET exports")
    if kind not in exports.KINDS:
        return _error(
            404, "not_found", f"No export {kind!r}: there are positions, orders and fills."
        )
    params = request.GET.dict()
    unknown = sorted(set(params) - {"account", "tz"})
    try:
        if unknown:
            raise QueryError(f"unknown parameter {unknown[0]!r}: use account, tz")
        account = parse_account(params.get("account"))
        # no ?tz=: the trader's own zone (display preferences: New York's unless chosen)
        asked = params.get("tz")
        if asked is None:
            prefs = await database_sync_to_async(display_preferences_get)(user_id=user.id)
            asked = prefs["time_zone"]
        zone, zone_name = exports.parse_zone(asked)
    except QueryError as exc:
        return _error(400, "bad_query", str(exc))
    snapshot, _ = await snapshot_for(agents_of(request), user.id)
    links = await user_links(user.id, snapshot)
    try:
        check_account(links, account)
    except UnknownAccount as exc:
        return _error(404, "not_found", str(exc))
    if kind == "positions":
        if snapshot.get("epoch") is None:
            return _error(
                503,
                "not_ready",
                "Your accounts' data has not arrived yet; try the export again in a few seconds.",
            )
        header, rows = exports.positions_rows(snapshot, account, zone, zone_name)
    else:
        orders, incomplete = await _all_orders(snapshot, links, account)
        if incomplete:
            reasons = "; ".join(item["error"] for item in incomplete)
            return _error(
                502,
                "broker_error",
                f"The export would be incomplete: {reasons}. Try again in a moment.",
            )
        build = exports.orders_rows if kind == "orders" else exports.fills_rows
        header, rows = build(snapshot, orders, zone, zone_name)
    day = dt.datetime.now(zone).date()
    response = HttpResponse(exports.csv_text(header, rows), content_type="text/csv; charset=utf-8")
    name = exports.filename(kind, account, day)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "no-store"
    return response


async def _all_orders(
    snapshot: Mapping[str, object], links: Any, account: str | None
) -> tuple[list[dict[str, Any]], list[IncompleteLink]]:
    """The newest EXPORT_MAX_ORDERS orders, page by page (the stream's, then the brokers')."""
    found: list[dict[str, Any]] = []
    incomplete: list[IncompleteLink] = []
    query = OrderQuery(account=account, limit=MAX_LIMIT)
    for _ in range(EXPORT_MAX_PAGES):
        page = await orders_page(snapshot, links, query)
        found.extend(page.orders)
        incomplete.extend(page.incomplete)
        if incomplete or page.next is None or len(found) >= exports.EXPORT_MAX_ORDERS:
            break
        query = OrderQuery(account=account, before=parse_cursor(page.next), limit=MAX_LIMIT)
    return found[: exports.EXPORT_MAX_ORDERS], incomplete
