"""The market overview's page (`/market`) and its per-user list (`POST /market/symbols`).

Thin: the page is the dashboard's stream (same snapshot, same transport, same frames)
with the overview's tiles server-rendered from the last known quotes; the browser then
subscribes the overview's symbols as its own (static/js/stream/overview.js).
"""

from __future__ import annotations

from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_POST

from accounts.signed_in import signed_in
from streaming.api import errors
from streaming.cluster.agents import agents_of
from streaming.overview.live_page import live_page_context
from streaming.overview.service import OverviewError, overview_set
from streaming.request_body import BodyError, json_body


@login_required
async def market(request: HttpRequest) -> HttpResponse:
    """The market overview, server-rendered with the last known quotes, then live."""
    user = signed_in(await request.auser())
    context = await live_page_context(agents_of(request), user.id)
    return await sync_to_async(render)(request, "streaming/market.html", context)


@require_POST
async def market_symbols(request: HttpRequest) -> JsonResponse:
    """Replace the user's overview list: `{"symbols": [...]}` → `{"symbols": [...]}`.

    CSRF-protected; anonymous → 403. A bad body (too large, not JSON, not an object
    with a list of strings, an invalid symbol, more than `MAX_OVERVIEW_SYMBOLS`) → 400
    with `{"error": <message>}`, and nothing is stored. The tab re-subscribes itself.
    """
    user = await request.auser()
    if not user.is_authenticated:
        return errors.not_authenticated()
    try:
        data = json_body(request)
    except BodyError as exc:
        return errors.sentence_error(400, str(exc))
    if not isinstance(data, dict) or set(data) != {"symbols"}:
        return errors.sentence_error(400, 'the body must be a JSON object {"symbols": [...]}')
    try:
        symbols = await database_sync_to_async(overview_set)(
            user_id=user.id, symbols=data["symbols"]
        )
    except OverviewError as exc:
        return errors.sentence_error(400, str(exc))
    return JsonResponse({"symbols": symbols})
