"""`GET /api/news/stream`: who asks (session + Origin, or an API token), the parameters
(params.py) and the per-user limits (quota.py) are checked, then the response is a
`NewsStream` (stream.py) — or at once a JSON error (docs/streaming-contract.md, "News")."""

from __future__ import annotations

import asyncio
import uuid

from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.core.handlers.asgi import ASGIRequest
from django.http import HttpRequest, HttpResponseBase, JsonResponse, StreamingHttpResponse

from streaming import metrics, validation
from streaming.api import errors
from streaming.brokers.values import now_ms
from streaming.cluster.agents import agents_of
from streaming.contract.news import NewsConnectedEvent
from streaming.news import quota, store
from streaming.news.hub import news_hub_of
from streaming.news.sse.params import MAX_BACKLOG, BadRequest, parse_params
from streaming.news.sse.stream import NewsStream
from streaming.tabs.origin import sse_request_allowed
from streaming.tabs.session import load_watchlist
from streaming.tabs.socket import probe_of


def _error(status: int, code: str, message: str, retry_after: int | None = None) -> JsonResponse:
    headers: dict[str, str] = {}
    extra: dict[str, int] = {}
    if retry_after is not None:
        headers["Retry-After"] = str(retry_after)
        extra["retry_after"] = retry_after
    if status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="streamdesk"'
    return errors.error_response(status, code, message, headers=headers, **extra)


async def news_stream(request: HttpRequest) -> HttpResponseBase:
    """The stream, or at once a JSON error: 403 another site's cookie request, 401
    nobody, 400 bad parameters, 429 over a per-user limit (docs: "News")."""
    token = getattr(request, "api_token", None)
    if token is None and not sse_request_allowed(request):
        return _error(403, "origin_not_allowed", "a request from another site is refused")
    user = await request.auser()
    if not user.is_authenticated:
        return _error(401, "not_authenticated", "log in, or send 'Authorization: Bearer <token>'")
    try:
        params = parse_params(request.GET, request.headers.get("Last-Event-ID") or None)
    except BadRequest as exc:
        return _error(400, exc.code, exc.message)
    symbols = params.symbols
    if symbols is None:
        symbols = sorted(await database_sync_to_async(load_watchlist)(user.id))
        if not symbols:
            return _error(400, "bad_symbols", "give 'symbols' (your watchlist is empty)")
    head = await database_sync_to_async(store.news_head_get)()
    if params.after is not None and params.after > head:
        return _error(400, "cursor_ahead", f"cursor {params.after} is ahead of the newest ({head})")
    slot = uuid.uuid4().hex
    if not await asyncio.to_thread(quota.acquire, user.id, slot):
        metrics.NEWS_STREAMS_REFUSED.labels("too_many_streams").inc()
        cap = settings.NEWS_STREAMS_PER_USER
        message = f"you have {cap} news streams open (the most per user): close one"
        return _error(429, "too_many_streams", message, quota.SLOT_RETRY_AFTER)
    verdict = await asyncio.to_thread(quota.open_hit, user.id)  # only opens that get a slot
    if not verdict.allowed:
        await asyncio.to_thread(quota.release, user.id, slot)
        metrics.NEWS_STREAMS_REFUSED.labels("rate_limited").inc()
        limit = settings.NEWS_STREAM_CONNECTS_PER_MINUTE
        return _error(
            429, "rate_limited", f"at most {limit} news streams per minute", verdict.retry_after
        )
    maximum = settings.NEWS_STREAM_MAX_SECONDS
    cursor = params.after if params.after is not None else head
    connected: NewsConnectedEvent = {
        "user": user.get_username(),
        "symbols": symbols,
        "rejected": params.rejected,
        "head": head,
        "cursor": cursor,
        "resumed": params.after is not None,
        "backlog": 0 if params.after is not None else params.backlog,
        "duration_s": params.duration,
        "heartbeat_s": settings.NEWS_STREAM_HEARTBEAT,
        "progress_s": settings.NEWS_STREAM_PROGRESS,
        "limits": {
            "max_symbols": validation.MAX_SYMBOLS_PER_LIST,
            "streams_per_user": settings.NEWS_STREAMS_PER_USER,
            "connects_per_minute": settings.NEWS_STREAM_CONNECTS_PER_MINUTE,
            "max_duration_s": maximum,
            "max_backlog": MAX_BACKLOG,
        },
        "server_time": now_ms(),
    }
    # the default prefix, like every private channel here (see streaming/tabs/sse.py)
    channel = await get_channel_layer().new_channel()
    stream = NewsStream(
        user_id=user.id,
        channel_name=channel,
        slot=slot,
        symbols=symbols,
        session_key=None if token is not None else request.session.session_key,
        token_id=token.pk if token is not None else None,
        probe=probe_of(request.scope if isinstance(request, ASGIRequest) else {}),
        agents=agents_of(request),
        hub=news_hub_of(request),
    )
    body = stream.body(connected, cursor, connected["backlog"], params.duration or maximum)
    response = StreamingHttpResponse(body, content_type="text/event-stream; charset=utf-8")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return response
