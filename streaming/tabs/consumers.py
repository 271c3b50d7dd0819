"""`/ws/stream/`: one browser tab's live stream over a WebSocket.

Socket concerns only: accept (or close anonymous sockets with 4401), `?since=`, close
codes and the send backlog; the client's messages are size- and rate-limited and parsed
by validation.py (a bad message gets an `error` frame, never the end of the stream).
Everything the contract promises the tab is its `TabSession` (tabs/session.py).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any
from urllib.parse import parse_qs

from autobahn.exception import Disconnected
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from redis.exceptions import RedisError

from streaming import validation
from streaming.cluster.agents import Agents
from streaming.cluster.fanout import dispatch
from streaming.contract.close_codes import (
    CLOSE_TOO_SLOW,
    CLOSE_TRY_AGAIN_LATER,
    CLOSE_UNAUTHENTICATED,
)
from streaming.tabs import frames
from streaming.tabs.session import TabSession, load_watchlist, parse_since
from streaming.tabs.socket import REFUSED_KEY, probe_of

#: A socket closed for being slow is cut if its client has not taken the close by then.
SLOW_CLOSE_GRACE = 5.0


class StreamConsumer(AsyncWebsocketConsumer):
    """A logged-in user's socket; anonymous sockets are closed with 4401."""

    tab: TabSession | None = None
    carrier_name = "ws"  # the metrics' label

    @property
    def agents(self) -> Agents:
        """The process's agents (its node's, on the scope: streaming/node.py)."""
        agents: Agents = self.scope["node"].agents
        return agents

    @property
    def channel_receive(self) -> Any:
        return self._channel_receive

    @channel_receive.setter
    def channel_receive(self, receive: Any) -> None:
        """channels reads this socket's own channel (replies from the owner) with
        `receive`; a Redis outage must not kill the socket (1011) through it: frames
        reach the socket another way, so wait Redis out."""

        async def resilient() -> Any:
            while True:
                try:
                    return await receive()
                except (RedisError, OSError) as exc:
                    self.agents.redis.failed(exc)
                    await asyncio.sleep(0.5)

        self._channel_receive = resilient

    async def dispatch(self, message: dict[str, Any]) -> None:
        """Socket events are ours; layer messages (the owner's replies) are the tab's.
        Skips channels' per-message `aclose_old_connections()` thread hop (it halved the
        fan-out's throughput where measured): handlers here do no ORM
        work; the one DB read (at connect) goes through `database_sync_to_async`."""
        kind = message["type"]
        if kind.startswith("websocket."):
            await getattr(self, kind.replace(".", "_"))(message)
        elif self.tab is not None:
            await dispatch(self.tab, message)

    # -- the tab's carrier ---------------------------------------------------------------------
    async def emit(self, text: str, seq: int | None = None, epoch: str | None = None) -> None:
        if not probe_of(self.scope).send_text(text):  # daphne: straight to the socket
            await self.send(text_data=text)

    def backlog(self) -> int:
        return probe_of(self.scope).backlog()

    def written(self) -> int | None:
        return probe_of(self.scope).written()

    def taken(self) -> int | None:
        return probe_of(self.scope).taken()

    async def end(self, code: int) -> None:
        with contextlib.suppress(Disconnected):  # the client was already gone
            await self.close(code=code)
        if code == CLOSE_TOO_SLOW:
            # the close frame waits behind the backlog; a client that never reads it
            # must not keep that memory
            probe = probe_of(self.scope)
            asyncio.get_running_loop().call_later(SLOW_CLOSE_GRACE, probe.abort)

    # -- lifecycle ------------------------------------------------------------------------
    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.accept()
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        self.limiter = validation.RateLimiter()
        session = self.scope.get("session")
        token = self.scope.get("api_token")  # streaming/tabs/bearer.py: a bearer socket
        tab = TabSession(
            self,
            self.channel_name,
            getattr(session, "session_key", None),
            token_id=token.pk if token is not None else None,
            parts=self.scope["node"],
        )
        await self.accept()
        symbols = set(await database_sync_to_async(load_watchlist)(user.id))
        query = parse_qs(self.scope.get("query_string", b"").decode("latin-1"))
        self.tab = tab
        try:
            await tab.begin(user, parse_since((query.get("since") or [None])[0]), symbols)
        except (RedisError, OSError) as exc:
            # Redis is away and this process cannot reach the stream: the client backs off
            self.agents.redis.failed(exc)
            await self.end(CLOSE_TRY_AGAIN_LATER)

    async def disconnect(self, code: int) -> None:
        if self.tab is not None:
            await self.tab.finish()

    # -- client messages -----------------------------------------------------------------------
    async def websocket_receive(self, message: dict[str, Any]) -> None:
        """A message the protocol refused while reading it (tabs/socket.py) -> an error."""
        refused = message.get(REFUSED_KEY)
        if refused is None:
            await super().websocket_receive(message)
        elif self.tab is not None and refused == "too_large":
            limit = validation.MAX_MESSAGE_BYTES
            await self._error("too_large", f"Messages are limited to {limit} bytes")
        elif self.tab is not None:
            await self._error("bad_utf8", "Text messages must be valid UTF-8")

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.tab is None:
            return
        if not self.limiter.allow():
            await self._error("rate_limited", "Too many messages; slow down")
            return
        try:
            message = validation.parse_client_message(text_data)
        except validation.MessageError as exc:
            await self._error(exc.code, exc.message, exc.ref)
            return
        if message.type == "ping":
            await self.tab.send_frame(frames.pong(message.ping_id))
            return
        if message.type == "pace":
            self.tab.set_pace(message.max_frequency)
            return
        await self.tab.change_symbols(message.type == "subscribe", message.symbols)

    async def _error(self, code: str, message: str, ref: str | None = None) -> None:
        assert self.tab is not None
        await self.tab.send_frame(frames.error(code, message, ref))

    async def send(
        self, text_data: str | None = None, bytes_data: bytes | None = None, close: bool = False
    ) -> None:
        """A frame racing the client's close is dropped quietly: the disconnect handler
        runs next (daphne/autobahn raise `Disconnected` for it, which is not an error)."""
        with contextlib.suppress(Disconnected):
            await super().send(text_data=text_data, bytes_data=bytes_data, close=close)
