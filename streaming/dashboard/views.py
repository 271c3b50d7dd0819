"""Thin page views. The dashboard is rendered from the user's stream manager's last
values, then kept live by the websocket; `/api/snapshot` is the polling fallback."""

from __future__ import annotations

import logging
import re
from typing import Any

from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_POST

from accounts.selectors import broker_link_exists
from streaming import validation
from streaming.chains.service import chain_links
from streaming.contract import now_ms
from streaming.dashboard.owner import poll_symbols_announce, stream_hold, watchlist_changed
from streaming.dashboard.page_context import live_page_context, snapshot_for
from streaming.dashboard.totals import totals_panel
from streaming.dashboard.watchlist import WatchlistError, watchlist_apply
from streaming.news.panel import news_panel, panel_symbols
from streaming.order_list import orders_panel
from streaming.request_body import BodyError, json_body
from streaming.risk.labels import risk_cells
from streaming.stream.subscriptions import POLL_TAB_PREFIX, POLL_TAB_TTL

#: How long a login keeps the trader's stream up for the page it redirects to (seconds).
LOGIN_HOLD = 10.0
#: A polling page's own id (`/api/snapshot?tab=`): random per page, never a channel name.
POLL_TAB_ID = re.compile(r"[A-Za-z0-9_-]{8,64}")
POLL_TAB_ERROR = "tab must be 8 to 64 letters, digits, '-' or '_' (one id per page)"


_login_form = auth_views.LoginView.as_view()


async def login(request: HttpRequest) -> HttpResponse:
    """Django's login form. A trader who just logged in has their stream started at once:
    its broker sessions connect while the browser follows the redirect and the dashboard
    is asked for (the page waits for the stream's first snapshot)."""
    response = await sync_to_async(_login_form)(request)
    user = getattr(request, "user", None)
    logged_in = request.method == "POST" and response.status_code == 302
    if (
        logged_in
        and user
        and user.is_authenticated
        and await database_sync_to_async(broker_link_exists)(user_id=user.pk)
    ):
        await stream_hold(user.pk, grace=LOGIN_HOLD)
    return response


def with_risk(snapshot: dict[str, Any], key: str) -> list[dict[str, Any]]:
    """The snapshot's accounts with each position's risk cells (streaming/risk/labels.py)
    under `key`, computed now from the snapshot's own quotes, greeks and metrics."""
    cells = risk_cells(snapshot, now_ms())
    return [
        {
            **a,
            "positions": [
                {**p, key: cells[f"{a.get('number')}|{p.get('symbol')}"]}
                for p in a.get("positions") or []
            ],
        }
        for a in snapshot.get("accounts") or []
    ]


def with_beta_delta(snapshot: dict[str, Any]) -> dict[str, Any]:
    """The snapshot with each position's `beta_delta` (SPY shares; None when an input lacks)."""
    accounts = with_risk(snapshot, "risk")
    for a in accounts:
        a["positions"] = [
            {**{k: v for k, v in p.items() if k != "risk"}, "beta_delta": p["risk"]["beta_delta"]}
            for p in a["positions"]
        ]
    return {**snapshot, "accounts": accounts}


@login_required
async def dashboard(request: HttpRequest) -> HttpResponse:
    """The live dashboard, server-rendered with the last known values."""
    user = await request.auser()
    context = await live_page_context(user.id)
    context.update(totals=totals_panel(context["snapshot"]), watchlist_url="/watchlist")
    context["chain_links"] = chain_links(context["snapshot"], context["watchlist"])
    context["orders_panel"] = orders_panel(context["snapshot"])
    context["accounts"] = with_risk(context["snapshot"], "risk")  # β-Δ and IV rank cells
    symbols = panel_symbols(context["snapshot"], context["watchlist"])
    context["news"] = await database_sync_to_async(news_panel)(user_id=user.id, symbols=symbols)
    return await sync_to_async(render)(request, "streaming/dashboard.html", context)


async def api_snapshot(request: HttpRequest) -> JsonResponse:
    """The `snapshot` frame as JSON: the polling fallback when a socket cannot stay open.
    `?tab=<id>&symbols=…` also holds the page's extra symbols subscribed while it polls."""
    user = await request.auser()
    if not user.is_authenticated:
        return JsonResponse({"error": "not_authenticated"}, status=403)
    tab = request.GET.get("tab")
    if tab is not None and not POLL_TAB_ID.fullmatch(tab):
        return JsonResponse({"error": POLL_TAB_ERROR}, status=400)
    extra = sorted(validation.symbols_param(request.GET.get("symbols")) or ())
    # a polling page holds the stream between its polls, as a socket would
    hold = max(settings.STREAM_IDLE_GRACE, POLL_TAB_TTL) if tab is not None else None
    snapshot, _ = await snapshot_for(user.id, extra=extra, hold=hold)
    if tab is not None:  # a polling tab's subscription, renewed by every poll
        tab_name = f"{POLL_TAB_PREFIX}{tab}"
        await poll_symbols_announce(user.id, tab_name, extra, ttl=POLL_TAB_TTL)
    return JsonResponse(with_beta_delta(dict(snapshot)))


@require_POST
async def watchlist(request: HttpRequest) -> JsonResponse:
    """Change the user's watchlist: `{"add": [...]}`, `{"remove": [...]}` or
    `{"symbols": [...]}` (replace) → `{"symbols": [...], "version": N}`; then every tab
    of the user gets the new list (`watchlist.changed` to the user's stream owner).

    CSRF-protected (the middleware); anonymous → 403 JSON. Any bad body (over
    `MAX_WATCHLIST_BODY_BYTES`, not JSON, nested too deep, wrong shape, an invalid
    symbol) → 400 with `{"error": <message>}`.
    """
    user = await request.auser()
    if not user.is_authenticated:
        return JsonResponse({"error": "not_authenticated"}, status=403)
    try:
        data = json_body(request)
    except BodyError as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    if not isinstance(data, dict):
        return JsonResponse({"error": "the body must be a JSON object"}, status=400)
    if len(data) != 1 or next(iter(data)) not in {"add", "remove", "symbols"}:
        return JsonResponse(
            {"error": "give exactly one of 'add', 'remove' or 'symbols' (a list of symbols)"},
            status=400,
        )
    try:
        symbols, version = await database_sync_to_async(watchlist_apply)(user_id=user.id, **data)
    except WatchlistError as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    try:
        await watchlist_changed(user.id, symbols, version)
    except Exception:
        # Saved all the same: the tabs get the list with their next snapshot.
        logging.getLogger(__name__).exception("watchlist.changed not sent for user %s", user.id)
    return JsonResponse({"symbols": symbols, "version": version})
