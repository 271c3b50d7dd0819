"""Thin page views. The dashboard is rendered from the user's stream manager's last
values, then kept live by the websocket; `/api/snapshot` is the polling fallback."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_POST

from .models import Watchlist
from .registry import registry
from .services import WatchlistError, watchlist_set

#: How long a page waits for the broker's first snapshot before rendering what it has.
PAGE_SNAPSHOT_WAIT = 3.0


async def _snapshot_for(user_id: int) -> tuple[dict[str, Any], list[str]]:
    """The user's current state, starting their manager if needed (a short hold keeps
    it alive until the page's socket connects)."""
    watchlist = await database_sync_to_async(Watchlist.symbols_for)(user_id)
    holder = f"page-{uuid.uuid4().hex}"
    await registry.attach(user_id, holder)
    try:
        snapshot = await registry.snapshot(user_id, watchlist, within=PAGE_SNAPSHOT_WAIT)
    finally:
        registry.detach(user_id, holder)
    return snapshot or empty_snapshot(watchlist), watchlist


def empty_snapshot(watchlist: list[str]) -> dict[str, Any]:
    """What a page shows when the stream has not answered yet (the socket fills it in)."""
    return {
        "type": "snapshot",
        "seq": 0,
        "simulated": settings.BROKER_ENV == "sandbox",
        "accounts": [],
        "quotes": {},
        "greeks": {},
        "orders": [],
        "links": [],
        "subscriptions": watchlist,
        "t": int(time.time() * 1000),
    }


@login_required
async def dashboard(request: HttpRequest) -> HttpResponse:
    """The live dashboard, server-rendered with the last known values."""
    user = await request.auser()
    snapshot, watchlist = await _snapshot_for(user.id)
    context = {
        "snapshot": snapshot,
        "watchlist": watchlist,
        "simulated": snapshot["simulated"],
        "ws_path": "/ws/stream/",
        "snapshot_url": "/api/snapshot",
        "events_url": "/api/events",
        "watchlist_url": "/watchlist",
    }
    return await sync_to_async(render)(request, "streaming/dashboard.html", context)


async def api_snapshot(request: HttpRequest) -> JsonResponse:
    """The `snapshot` frame as JSON: the polling fallback when a socket cannot stay open."""
    user = await request.auser()
    if not user.is_authenticated:
        return JsonResponse({"error": "not_authenticated"}, status=403)
    snapshot, _ = await _snapshot_for(user.id)
    return JsonResponse(snapshot)


@login_required
@require_POST
def watchlist(request: HttpRequest) -> JsonResponse:
    """Replace the user's watchlist: `{"symbols": [...]}` → the stored, normalized list."""
    try:
        body = json.loads(request.body or b"{}")
        symbols = watchlist_set(user_id=request.user.id, symbols=body.get("symbols"))
    except (ValueError, AttributeError) as exc:
        message = str(exc) if isinstance(exc, WatchlistError) else "body must be JSON"
        return JsonResponse({"error": message}, status=400)
    return JsonResponse({"symbols": symbols})


def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness probe for a proxy or an operator: the process answers HTTP."""
    return JsonResponse({"status": "ok"})
