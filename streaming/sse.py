"""`/api/events`: the same stream over Server-Sent Events, for networks that block
WebSockets (some proxies and corporate gateways do).

Same frames, same order, same guarantees as `/ws/stream/` (streaming/tabs.py does the
work): each frame is one `data:` line; account frames carry `id: <seq>`, so the
browser's automatic reconnect sends `Last-Event-ID` and resumes exactly after the last
account frame it applied. It is one-way: symbols come from `?symbols=` (default: the
watchlist), and a tab that wants others reconnects. A contract close code arrives as
`event: close` with `{"code": …}` before the response ends. Headers follow
shared/reference/tradier-alpaca-sse.md §4: no caching, `X-Accel-Buffering: no`, a
`retry:` hint, and a comment heartbeat every 15 s so proxies keep the stream open.
"""

from __future__ import annotations

import asyncio
from asyncio import FIRST_COMPLETED
from collections.abc import AsyncIterator
from typing import Any

import orjson
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.http import HttpRequest, HttpResponseBase, JsonResponse, StreamingHttpResponse

from . import validation
from .tabs import TabStream, load_watchlist, parse_since

#: Comment line interval (the SSE spec's authoring notes suggest about 15 s).
HEARTBEAT_SECONDS = 15.0
#: How long the browser waits before reconnecting a dropped stream (ms).
RETRY_MS = 3000


class EventStreamTab(TabStream):
    """One SSE response: frames are collected by `emit` and written by the generator."""

    def __init__(self, layer: Any, channel_name: str) -> None:
        self.layer = layer
        self.channel_name = channel_name
        self.ended: int | None = None
        self._out: list[bytes] = []
        self._ready = asyncio.Event()  # something to write (frames come from the agent)

    async def emit(self, text: str, seq: int | None = None) -> None:
        head = f"id: {seq}\n" if seq is not None else ""
        self._out.append(f"{head}data: {text}\n\n".encode())
        self._ready.set()

    async def end(self, code: int) -> None:
        if self.ended is None:
            self.ended = code
            self._out.append(b"event: close\ndata: " + orjson.dumps({"code": code}) + b"\n\n")
        self._ready.set()

    def drain(self) -> bytes:
        self._ready.clear()
        out, self._out = b"".join(self._out), []
        return out

    async def frames(self, user: Any, since: int | None, symbols: set[str]) -> AsyncIterator[bytes]:
        """The response body: frames as they come, a heartbeat when quiet. Replies to
        this tab (the owner's snapshot) arrive on its own channel."""
        await self.prepare()
        replies: asyncio.Future[Any] | None = None
        try:
            yield f"retry: {RETRY_MS}\n\n".encode()
            await self.begin(user, since, symbols)
            replies = asyncio.ensure_future(self.layer.receive(self.channel_name))
            while True:
                chunk = self.drain()
                if chunk:
                    yield chunk
                if self.ended is not None:
                    return
                ready = asyncio.ensure_future(self._ready.wait())
                done, _ = await asyncio.wait(
                    {replies, ready}, timeout=HEARTBEAT_SECONDS, return_when=FIRST_COMPLETED
                )
                ready.cancel()
                if replies in done:
                    message = replies.result()
                    replies = asyncio.ensure_future(self.layer.receive(self.channel_name))
                    handler = getattr(self, message["type"].replace(".", "_"), None)
                    if handler is not None:
                        await handler(message)
                elif not done and not self._out:
                    yield b": heartbeat\n\n"
        finally:
            if replies is not None:
                replies.cancel()
            await self.finish()


def _symbols_from(raw: str | None) -> set[str] | None:
    """`?symbols=` as contract symbols (invalid ones skipped), or None when absent."""
    if raw is None:
        return None
    symbols = set()
    for part in raw.split(",")[: validation.MAX_SYMBOLS_PER_SOCKET]:
        symbol = validation.normalize_symbol(part)
        if symbol is not None:
            symbols.add(symbol)
    return symbols


async def event_stream(request: HttpRequest) -> HttpResponseBase:
    """The stream as `text/event-stream`; 403 for anyone not logged in."""
    user = await request.auser()
    if not user.is_authenticated:
        return JsonResponse({"error": "not_authenticated"}, status=403)
    symbols = _symbols_from(request.GET.get("symbols"))
    if symbols is None:
        symbols = set(await database_sync_to_async(load_watchlist)(user.id))
    since = parse_since(request.headers.get("Last-Event-ID") or request.GET.get("since"))
    layer = get_channel_layer()
    tab = EventStreamTab(layer, await layer.new_channel("sse"))
    response = StreamingHttpResponse(
        tab.frames(user, since, symbols), content_type="text/event-stream; charset=utf-8"
    )
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return response
