"""One browser tab's view of its user's stream, whatever carries it (WebSocket or SSE).

The transport-independent part of docs/streaming-contract.md: take part in the user's
stream (streaming/registry.py), send `hello`, then either the
account frames missed since the client's `since` (from the event log) or a `snapshot`
from the owner, wherever it runs. Afterwards every layer event becomes one frame,
already serialized by the manager; account frames are checked for sequence: a duplicate
is dropped, a gap is filled from the event log (or, if the log cannot, the tab ends with
4409 and the client resyncs). A transport supplies `emit` (one frame) and `end` (close
with a contract close code). Frames arrive from this process's agent for the user
(`stream_frame`, `stream_owner_changed`); replies to this tab come on its own channel
(`stream_snapshot`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import orjson
from django.conf import settings

from . import validation
from .registry import registry

log = logging.getLogger(__name__)

CLOSE_SERVICE_RESTART = 1012
CLOSE_UNAUTHENTICATED = 4401
CLOSE_RESYNC = 4409
#: How often a tab re-sends its symbols to the owner (who forgets silent tabs after 90 s).
SYMBOLS_HEARTBEAT = 30.0
#: How often an unanswered snapshot request is repeated.
SNAPSHOT_RETRY = 2.0


def parse_since(raw: str | None) -> int | None:
    """A client's resume position: a non-negative integer, or None."""
    if raw is None or not raw.isdigit() or len(raw) > 15:
        return None
    return int(raw)


def load_watchlist(user_id: int) -> list[str]:
    from .models import Watchlist

    return Watchlist.symbols_for(user_id)


class TabStream:
    """The contract's server side for one tab; subclasses are the transports."""

    user_id: int | None = None
    channel_name: str
    symbols: set[str]

    # -- what a transport provides --------------------------------------------------------
    async def emit(self, text: str, seq: int | None = None) -> None:
        """Send one serialized frame (`seq`: the account frame's sequence number)."""
        raise NotImplementedError

    async def end(self, code: int) -> None:
        """End the tab with a contract close code (1012, 4409, …)."""
        raise NotImplementedError

    # -- lifecycle ------------------------------------------------------------------------
    async def prepare(self) -> None:
        """Before joining the user's group: remember when, and through which Redis, so
        that after a Redis restart exactly the tabs that joined through the old one resync."""
        self.connected_at = time.monotonic()
        self.redis_epoch = await registry.redis_epoch()

    async def begin(self, user: Any, since: int | None, symbols: set[str]) -> None:
        """Everything after the transport is open: hello, resume or snapshot, symbols."""
        self.user_id = user.id
        self.symbols = symbols
        self.last_seq: int | None = None
        # Frames reach us from this process's agent as soon as we are attached: hold
        # them until the snapshot (or the resumed frames) have gone out, in order.
        self.awaiting_snapshot = True
        self.held_frames: list[tuple[int | None, str]] = []
        self._frames = asyncio.Lock()
        self.agent = await registry.attach(user.id, self.channel_name, self)
        head = await self._safe(registry.event_log.last_seq(user.id), default=0)
        await self.send_json(
            {
                "type": "hello",
                "user": user.get_username(),
                "seq": head,
                "flush_ms": int(settings.STREAM_FLUSH_INTERVAL * 1000),
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
        # Register with the owner first: it then sends our frames through the channel
        # layer if we are in another process, from before the snapshot it makes for us.
        await self.announce_symbols()
        missed = None
        if since is not None:
            missed = await self._safe(registry.event_log.since(user.id, since), default=None)
        if missed is not None:
            async with self._frames:
                await self.send_json({"type": "resumed", "from": since, "count": len(missed)})
                await self._emit_after(since, missed)
                await self._release_held(since + len(missed))
            await self._refresh_live_state()
        else:
            await self._ask_snapshot()
        self._heartbeat = asyncio.create_task(self._symbols_heartbeat())

    async def finish(self) -> None:
        """The tab is gone: leave the owner's tab list and let go of the user's stream."""
        if self.user_id is None:
            return
        heartbeat = getattr(self, "_heartbeat", None)
        if heartbeat is not None:
            heartbeat.cancel()
        await registry.to_owner(self.user_id, {"type": "tab.drop", "tab": self.channel_name})
        registry.detach(self.user_id, self.channel_name)

    async def resync(self, reason: str) -> None:
        """Called by the registry after a Redis outage or restart: frames may be lost."""
        if getattr(self, "_closing", False):
            return
        self._closing = True
        log.info("user %s: closing a tab to resync (%s)", self.user_id, reason)
        await self.end(CLOSE_SERVICE_RESTART)

    # -- helpers ---------------------------------------------------------------------------
    def _simulated(self) -> bool:
        manager = registry.get(self.user_id)
        if manager is not None:
            return manager.simulated
        return settings.BROKER_ENV == "sandbox"

    @staticmethod
    async def _safe(awaitable: Any, default: Any) -> Any:
        """Redis may be away for a moment: fall back instead of failing the tab."""
        try:
            return await awaitable
        except Exception as exc:
            log.warning("stream lookup failed: %s", exc)
            return default

    async def send_json(self, content: dict[str, Any]) -> None:
        await self.emit(orjson.dumps(content).decode())

    async def _ask_snapshot(self) -> None:
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
        async with self._frames:
            await self.send_json(snapshot)
            await self._release_held(snapshot["seq"])

    async def _release_held(self, last_seq: int) -> None:
        """Live from `last_seq` on: send the held account frames newer than it, in order
        (held quotes and statuses are older than what was just sent)."""
        self.awaiting_snapshot = False
        self.last_seq = last_seq
        held, self.held_frames = self.held_frames, []
        for seq, text in held:
            if seq is not None and seq > last_seq:
                await self._account_frame(seq, text)

    async def announce_symbols(self) -> None:
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
                await self.announce_symbols()

    async def _account_frame(self, seq: int, text: str) -> None:
        """Send an account frame in sequence: drop duplicates, fill gaps from the log."""
        if self.last_seq is not None and seq <= self.last_seq:
            return
        if self.last_seq is not None and seq > self.last_seq + 1:
            filled = await self._fill_from_log()
            if not filled or seq <= self.last_seq:
                return
        await self.emit(text, seq)
        self.last_seq = seq

    async def _fill_from_log(self) -> bool:
        """Send the account frames after `last_seq` from the event log; if the log cannot
        prove it has all of them, end the tab with 4409 (the client resyncs) → False."""
        assert self.last_seq is not None
        missed = await self._safe(registry.event_log.since(self.user_id, self.last_seq), None)
        if missed is None:
            await self.end(CLOSE_RESYNC)
            return False
        await self._emit_after(self.last_seq, missed)
        return True

    async def _emit_after(self, seq: int, frames: list[str]) -> None:
        """Send account frames numbered seq+1, seq+2, …; `last_seq` follows."""
        for offset, text in enumerate(frames, start=1):
            await self.emit(text, seq + offset)
        self.last_seq = seq + len(frames)

    # -- layer events ------------------------------------------------------------------------
    async def stream_frame(self, event: dict[str, Any]) -> None:
        """A frame the manager already serialized once for every tab of the user."""
        async with self._frames:
            await self._frame(event)

    async def _frame(self, event: dict[str, Any]) -> None:
        seq = event.get("seq")
        if self.awaiting_snapshot:
            if seq is not None:
                self.held_frames.append((seq, event["text"]))
            return  # quotes and statuses: the snapshot has newer ones
        if seq is not None:
            await self._account_frame(seq, event["text"])
            return
        if event["text"].startswith('{"type":"resync"'):
            await self.emit(event["text"])
            await self.end(CLOSE_RESYNC)
            return
        await self.emit(event["text"])

    async def stream_snapshot(self, event: dict[str, Any]) -> None:
        """The owner's answer to our snapshot request."""
        snapshot = orjson.loads(event["text"])
        if self.awaiting_snapshot:
            await self._deliver_snapshot(snapshot)
        else:  # a refresh (after a resume or an owner change): the live parts, and
            # every account frame up to the snapshot's seq (some may have gone out
            # before the owner knew of this tab)
            await self._send_live_state(snapshot)
            await self._catch_up(snapshot["seq"])

    async def _catch_up(self, seq: int) -> None:
        """Account frames up to `seq` that we have not sent yet, from the event log."""
        async with self._frames:
            if self.last_seq is not None and seq > self.last_seq:
                await self._fill_from_log()

    async def stream_owner_changed(self, event: dict[str, Any]) -> None:
        """A process (maybe another) took over the stream: tell it what we need, then
        reconcile against a fresh snapshot of it."""
        await self.announce_symbols()
        if self.awaiting_snapshot:
            await registry.request_snapshot(self.user_id, self.channel_name, sorted(self.symbols))
        else:
            await self._refresh_live_state()
