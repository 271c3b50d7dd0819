"""`POST /watchlist`: a change to the user's watchlist, saved, then told to every tab."""

from __future__ import annotations

import logging

from channels.db import database_sync_to_async
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_POST

from streaming.api import errors
from streaming.request_body import BodyError, json_body
from streaming.watchlist.owner import watchlist_changed
from streaming.watchlist.service import WatchlistError, watchlist_apply


@require_POST
async def watchlist(request: HttpRequest) -> JsonResponse:
    """Change the user's watchlist: `{"add": [...]}`, `{"remove": [...]}` or
    `{"symbols": [...]}` (replace) → `{"symbols": [...], "version": N}`; then every tab
    of the user gets the new list (`watchlist.changed` to the user's stream owner).

    CSRF-protected (the middleware); anonymous → 403 JSON. Any bad body (over
    `MAX_WATCHLIST_BODY_BYTES`, not JSON, nested too deep, wrong shape, an invalid
    symbol) → 400 with `{"error": <message>, "message": <it, as a sentence>}`.
    """
    user = await request.auser()
    if not user.is_authenticated:
        return errors.not_authenticated()
    try:
        data = json_body(request)
    except BodyError as exc:
        return errors.sentence_error(400, str(exc))
    if not isinstance(data, dict):
        return errors.sentence_error(400, "the body must be a JSON object")
    if len(data) != 1 or next(iter(data)) not in {"add", "remove", "symbols"}:
        return errors.sentence_error(
            400, "give exactly one of 'add', 'remove' or 'symbols' (a list of symbols)"
        )
    try:
        symbols, version = await database_sync_to_async(watchlist_apply)(user_id=user.id, **data)
    except WatchlistError as exc:
        return errors.sentence_error(400, str(exc))
    try:
        await watchlist_changed(user.id, symbols, version)
    except Exception:
        # Saved all the same: the tabs get the list with their next snapshot.
        logging.getLogger(__name__).exception("watchlist.changed not sent for user %s", user.id)
    return JsonResponse({"symbols": symbols, "version": version})
