"""`/ws/stream/`: one browser tab's live stream (docs/streaming-contract.md).

Thin by design. On connect it joins the user's group, takes part in the user's stream
(streaming/registry.py), and sends `hello`, then either the account frames missed since
the client's `?since=<seq>` (from the event log) or a `snapshot` from the owner, wherever
it runs. Afterwards every layer event becomes one frame, already serialized by the
manager; account frames are checked for sequence: a duplicate is dropped, a gap is
filled from the event log (or, if the log cannot, the socket closes with 4409 and the
client resyncs). Client messages are validated in `validation.py` and answered with
`error` frames; a bad message never ends the stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any
from urllib.parse import parse_qs

import orjson
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from redis.exceptions import RedisError

from . import validation
from .manager import user_group
from .registry import registry

log = logging.getLogger(__name__)

CLOSE_SERVICE_RESTART = 1012
CLOSE_UNAUTHENTICATED = 4401
CLOSE_RESYNC = 4409
#: How often a tab re-sends its symbols to the owner (who forgets silent tabs after 90 s).
SYMBOLS_HEARTBEAT = 30.0
#: How often an unanswered snapshot request is repeated.
SNAPSHOT_RETRY = 2.0


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

    # -- lifecycle ------------------------------------------------------------------------
    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.accept()
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        self.user_id = user.id
        self.symbols: set[str] = set()
        self.limiter = validation.RateLimiter()
        self.last_seq: int | None = None
        self.awaiting_snapshot = False
        self.held_frames: list[tuple[int | None, str]] = []
        self.group = user_group(user.id)
        self.connected_at = time.monotonic()
        self.redis_epoch = await registry.redis_epoch()
        try:
            await self.channel_layer.group_add(self.group, self.channel_name)
        except (RedisError, OSError):  # a pooled connection from before a Redis restart
            await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        self.symbols = set(await database_sync_to_async(_load_watchlist)(user.id))
        self.agent = await registry.attach(user.id, self.channel_name, self)
        head = await self._safe(registry.event_log.last_seq(user.id), default=0)
        await self.send_json(
            {
                "type": "hello",
                "user": user.get_username(),
                "seq": head,
                "flush_ms": int(self._flush_interval() * 1000),
                "simulated": self._simulated(),
                "server_time": int(time.time() * 1000),
                "limits": {
                    "max_symbols": validation.MAX_SYMBOLS_PER_SOCKET,
                    "max_symbols_per_message": validation.MAX_SYMBOLS_PER_MESSAGE,
                    "max_message_bytes": validation.MAX_MESSAGE_BYTES,
                    "rate_per_10s": validation.RATE_LIMIT,
                },
            }
        )
        since = self._since()
        missed = None
        if since is not None:
            missed = await self._safe(registry.event_log.since(user.id, since), default=None)
        if missed is not None:
            self.last_seq = since
            await self.send_json({"type": "resumed", "from": since, "count": len(missed)})
            for text in missed:
                await self.send(text_data=text)
            self.last_seq = since + len(missed)
            await self._refresh_live_state()
        else:
            await self._ask_snapshot()
        await self._announce_symbols()
        self._heartbeat = asyncio.create_task(self._symbols_heartbeat())

    async def disconnect(self, code: int) -> None:
        if self.user_id is None:
            return
        heartbeat = getattr(self, "_heartbeat", None)
        if heartbeat is not None:
            heartbeat.cancel()
        with contextlib.suppress(Exception):
            await self.channel_layer.group_discard(self.group, self.channel_name)
        await registry.to_owner(self.user_id, {"type": "tab.drop", "tab": self.channel_name})
        registry.detach(self.user_id, self.channel_name)

    async def resync(self, reason: str) -> None:
        """Called by the registry after a Redis outage or restart: frames may be lost."""
        if getattr(self, "_closing", False):
            return
        self._closing = True
        log.info("user %s: closing a socket to resync (%s)", self.user_id, reason)
        try:
            await self.close(code=CLOSE_SERVICE_RESTART)
        except Exception as exc:  # the client was already gone
            if type(exc).__name__ != "Disconnected":
                raise

    # -- helpers ---------------------------------------------------------------------------
    def _since(self) -> int | None:
        query = parse_qs(self.scope.get("query_string", b"").decode())
        raw = (query.get("since") or [None])[0]
        if raw is None or not raw.isdigit() or len(raw) > 15:
            return None
        return int(raw)

    def _flush_interval(self) -> float:
        return settings.STREAM_FLUSH_INTERVAL

    def _simulated(self) -> bool:
        manager = registry.get(self.user_id)
        if manager is not None:
            return manager.simulated
        return settings.BROKER_ENV == "sandbox"

    @staticmethod
    async def _safe(awaitable: Any, default: Any) -> Any:
        """Redis may be away for a moment: fall back instead of failing the socket."""
        try:
            return await awaitable
        except Exception as exc:
            log.warning("stream lookup failed: %s", exc)
            return default

    async def _ask_snapshot(self) -> None:
        self.awaiting_snapshot = True
        manager = registry.get(self.user_id)
        if manager is not None:  # this process owns the stream: no round trip
            await self._deliver_snapshot(manager.snapshot(self.symbols))
            return
        await registry.request_snapshot(self.user_id, self.channel_name, sorted(self.symbols))

    async def _refresh_live_state(self) -> None:
        """After a resume: link states and quotes are not in the event log; fetch them."""
        manager = registry.get(self.user_id)
        if manager is not None:
            await self._send_live_state(manager.snapshot(self.symbols))
        else:
            await registry.request_snapshot(self.user_id, self.channel_name, sorted(self.symbols))

    async def _send_live_state(self, snapshot: dict[str, Any]) -> None:
        for link in snapshot["links"]:
            await self.send_json({"type": "status", "link": link, "t": snapshot["t"]})
        if snapshot["quotes"] or snapshot["greeks"]:
            await self.send_json(
                {
                    "type": "quotes",
                    "quotes": snapshot["quotes"],
                    "greeks": snapshot["greeks"],
                    "t": snapshot["t"],
                }
            )

    async def _deliver_snapshot(self, snapshot: dict[str, Any]) -> None:
        await self.send_json(snapshot)
        self.awaiting_snapshot = False
        self.last_seq = snapshot["seq"]
        held, self.held_frames = self.held_frames, []
        for seq, text in held:  # account frames newer than the snapshot, in order
            if seq is not None and seq > self.last_seq:
                await self._account_frame(seq, text)

    async def _announce_symbols(self) -> None:
        await registry.to_owner(
            self.user_id,
            {"type": "tab.symbols", "tab": self.channel_name, "symbols": sorted(self.symbols)},
        )

    async def _symbols_heartbeat(self) -> None:
        """Re-send our symbols now and then; repeat an unanswered snapshot request (a
        message to the owner can be lost while it changes or Redis recovers)."""
        last_announce = time.monotonic()
        while True:
            await asyncio.sleep(SNAPSHOT_RETRY)
            if self.awaiting_snapshot:
                await registry.request_snapshot(
                    self.user_id, self.channel_name, sorted(self.symbols)
                )
            if time.monotonic() - last_announce >= SYMBOLS_HEARTBEAT:
                last_announce = time.monotonic()
                await self._announce_symbols()

    async def _account_frame(self, seq: int, text: str) -> None:
        """Send an account frame in sequence: drop duplicates, fill gaps from the log."""
        if self.last_seq is not None and seq <= self.last_seq:
            return
        if self.last_seq is not None and seq > self.last_seq + 1:
            missed = await self._safe(registry.event_log.since(self.user_id, self.last_seq), None)
            if missed is None:
                await self.close(code=CLOSE_RESYNC)
                return
            for missed_text in missed:
                await self.send(text_data=missed_text)
            self.last_seq += len(missed)
            if seq <= self.last_seq:
                return
        await self.send(text_data=text)
        self.last_seq = seq

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
        await self._announce_symbols()
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

    async def send_json(self, content: dict[str, Any]) -> None:
        await self.send(text_data=orjson.dumps(content).decode())

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

    # -- layer events ------------------------------------------------------------------------
    async def stream_frame(self, event: dict[str, Any]) -> None:
        """A frame the manager already serialized once for every socket of the user."""
        seq = event.get("seq")
        if self.awaiting_snapshot:
            if seq is not None:
                self.held_frames.append((seq, event["text"]))
            return  # quotes and statuses: the snapshot has newer ones
        if seq is not None:
            await self._account_frame(seq, event["text"])
            return
        if event["text"].startswith('{"type":"resync"'):
            await self.send(text_data=event["text"])
            await self.close(code=CLOSE_RESYNC)
            return
        await self.send(text_data=event["text"])

    async def stream_snapshot(self, event: dict[str, Any]) -> None:
        """The owner's answer to our snapshot request."""
        snapshot = orjson.loads(event["text"])
        if self.awaiting_snapshot:
            await self._deliver_snapshot(snapshot)
        else:  # answer to a resumed socket's refresh: only the live parts
            await self._send_live_state(snapshot)

    async def stream_owner_changed(self, event: dict[str, Any]) -> None:
        """A process (maybe another) took over the stream: tell it what we need."""
        await self._announce_symbols()
        if self.awaiting_snapshot:
            await registry.request_snapshot(self.user_id, self.channel_name, sorted(self.symbols))
