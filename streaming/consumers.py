"""`/ws/stream/`: one browser tab's live stream over a WebSocket.

Thin by design: the contract's server side is `streaming.tabs.TabStream`; this adds
the socket (accept, `?since=`, close codes) and the client messages (subscribe,
unsubscribe, ping), which are validated in `validation.py` and answered with `error`
frames; a bad message never ends the stream.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from . import validation
from .registry import registry
from .tabs import CLOSE_UNAUTHENTICATED, TabStream, load_watchlist, parse_since


class StreamConsumer(TabStream, AsyncWebsocketConsumer):
    """A logged-in user's socket; anonymous sockets are closed with 4401."""

    async def dispatch(self, message: dict[str, Any]) -> None:
        """Skip channels' per-message `aclose_old_connections()` thread hop (it halves
        throughput, see shared/reference/fanout-measurements.md). Handlers here do no ORM
        work; the one DB read (at connect) goes through `database_sync_to_async`."""
        handler = getattr(self, message["type"].replace(".", "_"), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    # -- transport ------------------------------------------------------------------------
    async def emit(self, text: str, seq: int | None = None) -> None:
        await self.send(text_data=text)

    async def end(self, code: int) -> None:
        try:
            await self.close(code=code)
        except Exception as exc:  # the client was already gone
            if type(exc).__name__ != "Disconnected":
                raise

    # -- lifecycle ------------------------------------------------------------------------
    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.accept()
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        self.limiter = validation.RateLimiter()
        await self.prepare()
        await self.accept()
        symbols = set(await database_sync_to_async(load_watchlist)(user.id))
        query = parse_qs(self.scope.get("query_string", b"").decode())
        await self.begin(user, parse_since((query.get("since") or [None])[0]), symbols)

    async def disconnect(self, code: int) -> None:
        if self.user_id is None:
            return
        await self.finish()

    # -- client messages -----------------------------------------------------------------------
    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.user_id is None:
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
            await self.send_json(
                {"type": "pong", "id": message.ping_id, "t": int(time.time() * 1000)}
            )
            return
        rejected = []
        if message.type == "subscribe":
            for raw in message.symbols:
                symbol = validation.normalize_symbol(raw)
                if symbol is None:
                    rejected.append({"symbol": raw[:40], "reason": "invalid_symbol"})
                elif (
                    symbol not in self.symbols
                    and len(self.symbols) >= validation.MAX_SYMBOLS_PER_SOCKET
                ):
                    rejected.append({"symbol": symbol, "reason": "limit_reached"})
                else:
                    self.symbols.add(symbol)
        else:
            for raw in message.symbols:
                symbol = validation.normalize_symbol(raw)
                if symbol is not None:
                    self.symbols.discard(symbol)
        await self.announce_symbols()
        await self.send_json(
            {"type": "subscribed", "symbols": sorted(self.symbols), "rejected": rejected}
        )
        manager = registry.get(self.user_id)
        if message.type == "subscribe" and manager is not None:
            # values already known for the new symbols, without waiting for a tick
            snapshot = manager.snapshot(self.symbols)
            known = {s: q for s, q in snapshot["quotes"].items() if s in self.symbols}
            greeks = {s: g for s, g in snapshot["greeks"].items() if s in self.symbols}
            if known or greeks:
                await self.send_json(
                    {"type": "quotes", "quotes": known, "greeks": greeks, "t": snapshot["t"]}
                )

    async def _error(self, code: str, message: str, ref: str | None = None) -> None:
        await self.send_json({"type": "error", "code": code, "message": message, "ref": ref})

    async def send(
        self, text_data: str | None = None, bytes_data: bytes | None = None, close: bool = False
    ) -> None:
        """A frame racing the client's close is dropped quietly: the disconnect handler
        runs next (daphne/autobahn raise `Disconnected` for it, which is not an error)."""
        try:
            await super().send(text_data=text_data, bytes_data=bytes_data, close=close)
        except Exception as exc:
            if type(exc).__name__ != "Disconnected":
                raise
