"""`/api/events`: the same stream over Server-Sent Events, for networks that block
WebSockets (some proxies and corporate gateways do).

Same frames, same order, same guarantees as `/ws/stream/` (its `TabSession`,
tabs/session.py, does the work): each frame is one `data:` line; account frames and
snapshots carry their position as `id: <epoch>:<seq>`, so the browser's automatic reconnect sends
`Last-Event-ID` and resumes exactly after the last account frame it applied. It is
one-way: symbols come from `?symbols=` (default: the watchlist), and a tab that wants
others reconnects. A contract close code arrives as
`event: close` with `{"code": …}` before the response ends. Headers as the brokers' own
SSE streams send them: no caching, `X-Accel-Buffering: no`, a `retry:` hint, and a
comment heartbeat every 15 s so proxies keep the stream open.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import orjson
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.core.handlers.asgi import ASGIRequest
from django.http import HttpResponseBase, StreamingHttpResponse
from redis.exceptions import RedisError

from streaming import validation
from streaming.api import errors
from streaming.cluster.fanout import dispatch
from streaming.contract.close_codes import (
    CLOSE_SERVICE_RESTART,
    CLOSE_TOO_SLOW,
    CLOSE_TRY_AGAIN_LATER,
)
from streaming.stream.position import Position
from streaming.tabs.carrier import TabParts
from streaming.tabs.origin import sse_request_allowed
from streaming.tabs.session import TabSession, load_watchlist, parse_since
from streaming.tabs.socket import TransportProbe, probe_of

#: Comment line interval (the SSE spec's authoring notes suggest about 15 s).
HEARTBEAT_SECONDS = 15.0
#: How long the browser waits before reconnecting a dropped stream (ms).
RETRY_MS = 3000
#: A stream ended for being slow is cut if its client has not read the close by then.
SLOW_CLOSE_GRACE = 5.0


class EventStreamTab:
    """One SSE response, the carrier of one `TabSession`: frames are collected by
    `emit` and written by the generator."""

    carrier_name = "sse"  # the metrics' label

    def __init__(
        self,
        layer: Any,
        channel_name: str,
        probe: TransportProbe,
        session_key: str | None,
        token_id: int | None = None,
        *,
        parts: TabParts,
    ) -> None:
        self.layer = layer
        self.agents = parts.agents
        self.channel_name = channel_name
        self.probe = probe
        self.session = TabSession(self, channel_name, session_key, token_id=token_id, parts=parts)
        self.ended: int | None = None
        self._out: list[bytes] = []
        self._ready = asyncio.Event()  # something to write (frames come from the agent)

    async def emit(self, text: str, seq: int | None = None, epoch: str | None = None) -> None:
        head = f"id: {epoch}:{seq}\n" if seq is not None and epoch else ""
        self._out.append(f"{head}data: {text}\n\n".encode())
        self._ready.set()

    def backlog(self) -> int:
        # what the transport holds, plus what the generator has not written yet
        return self.probe.backlog() + sum(len(chunk) for chunk in self._out)

    def written(self) -> int | None:
        # the chunks not yet written count from where the transport is (their chunked
        # encoding's few bytes each are not: a frame counts as taken at most that early)
        written = self.probe.written()
        return None if written is None else written + sum(len(chunk) for chunk in self._out)

    def taken(self) -> int | None:
        return self.probe.taken()

    async def end(self, code: int) -> None:
        if self.ended is None:
            self.ended = code
            self._out.append(b"event: close\ndata: " + orjson.dumps({"code": code}) + b"\n\n")
            if code == CLOSE_TOO_SLOW:
                # the close event waits behind the backlog: cut the response instead of
                # keeping that memory for a client that does not read
                asyncio.get_running_loop().call_later(SLOW_CLOSE_GRACE, self.probe.abort)
        self._ready.set()

    def drain(self) -> bytes:
        self._ready.clear()
        out, self._out = b"".join(self._out), []
        return out

    async def frames(
        self, user: Any, since: Position | None, symbols: set[str]
    ) -> AsyncIterator[bytes]:
        """The response body: frames as they come, a heartbeat when quiet. Replies to
        this tab (the owner's snapshot) arrive on its own channel, read by one task."""
        replies: asyncio.Task[None] | None = None
        try:
            yield f"retry: {RETRY_MS}\n\n".encode()
            try:
                await self.session.begin(user, since, symbols)
            except (RedisError, OSError) as exc:
                self.agents.redis.failed(exc)
                await self.end(CLOSE_TRY_AGAIN_LATER)
            replies = asyncio.create_task(self._replies())
            while True:
                chunk = self.drain()
                if chunk:
                    yield chunk
                if self.ended is not None:
                    return
                if replies.done():  # the reply reader failed: end, the client reconnects
                    await self.end(CLOSE_SERVICE_RESTART)
                    continue
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(HEARTBEAT_SECONDS):
                        await self._ready.wait()
                if not self._ready.is_set():
                    yield b": heartbeat\n\n"
        finally:
            if replies is not None:
                replies.cancel()
                await asyncio.gather(replies, return_exceptions=True)
            await self.session.finish()

    async def _replies(self) -> None:
        """Messages to this tab's own channel (the owner's snapshot, symbol limits)."""
        while True:
            try:
                message = await self.layer.receive(self.channel_name)
            except (RedisError, OSError) as exc:
                self.agents.redis.failed(exc)
                await asyncio.sleep(0.5)
                continue
            await dispatch(self.session, message)


async def event_stream(request: ASGIRequest) -> HttpResponseBase:
    """The stream as `text/event-stream`; 403 for anyone not logged in, and for a page of
    another site (the WebSocket's origin check). An API token's request (streaming/tabs/bearer.py
    authenticated it) needs no Origin and uses no session."""
    token = getattr(request, "api_token", None)
    if token is None and not sse_request_allowed(request):
        return errors.error_response(
            403, "origin_not_allowed", "A request from another site's page is refused."
        )
    user = await request.auser()
    if not user.is_authenticated:
        return errors.not_authenticated()
    symbols = validation.symbols_param(request.GET.get("symbols"))
    if symbols is None:
        symbols = set(await database_sync_to_async(load_watchlist)(user.id))
    since = parse_since(request.headers.get("Last-Event-ID") or request.GET.get("since"))
    layer = get_channel_layer()
    # The default prefix, like every private channel here (a test guards it):
    # channels-redis serves a process's private channels through one receive lock, and
    # a receiver on a channel of another prefix holds that lock while it waits on its
    # own key (every other socket of the process froze behind one SSE tab).
    channel = await layer.new_channel()
    # what the tab shares with the process's other tabs: its node's (streaming/node.py)
    parts: TabParts = request.node  # type: ignore[attr-defined]
    probe = probe_of(request.scope)
    if token is not None:
        tab = EventStreamTab(layer, channel, probe, None, token_id=token.pk, parts=parts)
    else:
        tab = EventStreamTab(layer, channel, probe, request.session.session_key, parts=parts)
    response = StreamingHttpResponse(
        tab.frames(user, since, symbols), content_type="text/event-stream; charset=utf-8"
    )
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return response
