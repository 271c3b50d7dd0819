"""`/ws/stream/`: one browser tab's live stream (docs/streaming-contract.md).

Thin by design: on connect it joins the user's group, takes a hold on the user's
stream manager and sends `hello` + `snapshot`; afterwards every layer event becomes
one frame, already serialized by the manager. Client messages are validated in
`validation.py` and answered with `error` frames; a bad message never ends the stream.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import orjson
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from . import validation
from .manager import user_group
from .registry import registry

log = logging.getLogger(__name__)

CLOSE_UNAUTHENTICATED = 4401


def _load_watchlist(user_id: int) -> list[str]:
    from .models import Watchlist

    return Watchlist.symbols_for(user_id)


class StreamConsumer(AsyncWebsocketConsumer):
    """A logged-in user's socket; anonymous sockets are closed with 4401."""

    user_id: int | None = None

    async def dispatch(self, message: dict[str, Any]) -> None:
        """Skip channels' per-message `aclose_old_connections()` thread hop (it halves
        throughput, see shared/reference/fanout-measurements.md). Handlers here do no ORM
        work; the one DB read (at connect) goes through `database_sync_to_async`."""
        handler = getattr(self, message["type"].replace(".", "_"), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.accept()
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        self.user_id = user.id
        self.username = user.get_username()
        self.symbols: set[str] = set()
        self.limiter = validation.RateLimiter()
        self.group = user_group(user.id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        watchlist = await database_sync_to_async(_load_watchlist)(user.id)
        self.symbols = set(watchlist)
        self.manager = await registry.acquire(user.id, self.channel_name)
        self.manager.set_tab_symbols(self.channel_name, self.symbols)
        await self.send_json(
            {
                "type": "hello",
                "user": self.username,
                "seq": self.manager.seq,
                "flush_ms": int(self.manager.flush_interval * 1000),
                "simulated": self.manager.simulated,
                "server_time": int(time.time() * 1000),
                "limits": {
                    "max_symbols": validation.MAX_SYMBOLS_PER_SOCKET,
                    "max_symbols_per_message": validation.MAX_SYMBOLS_PER_MESSAGE,
                    "max_message_bytes": validation.MAX_MESSAGE_BYTES,
                    "rate_per_10s": validation.RATE_LIMIT,
                },
            }
        )
        await self.send_json(self.manager.snapshot())

    async def disconnect(self, code: int) -> None:
        if self.user_id is None:
            return
        await self.channel_layer.group_discard(self.group, self.channel_name)
        manager = getattr(self, "manager", None)
        if manager is not None:
            manager.drop_tab(self.channel_name)
            registry.release(self.user_id, self.channel_name)

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
        self.manager.set_tab_symbols(self.channel_name, self.symbols)
        await self.send_json(
            {"type": "subscribed", "symbols": sorted(self.symbols), "rejected": rejected}
        )
        if message.type == "subscribe":
            # values already known for the new symbols, without waiting for a tick
            snapshot = self.manager.snapshot(self.symbols)
            known = {s: q for s, q in snapshot["quotes"].items() if s in self.symbols}
            greeks = {s: g for s, g in snapshot["greeks"].items() if s in self.symbols}
            if known or greeks:
                await self.send_json(
                    {"type": "quotes", "quotes": known, "greeks": greeks, "t": snapshot["t"]}
                )

    async def _error(self, code: str, message: str, ref: str | None = None) -> None:
        await self.send_json({"type": "error", "code": code, "message": message, "ref": ref})

    async def send_json(self, content: dict[str, Any]) -> None:
        await self.send(text_data=orjson.dumps(content).decode())

    # -- layer events -----------------------------------------------------------------------
    async def stream_frame(self, event: dict[str, Any]) -> None:
        """A frame the manager already serialized once for every socket of the user."""
        await self.send(text_data=event["text"])
