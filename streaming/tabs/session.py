"""One browser tab's view of its user's stream, whatever carries it (WebSocket or SSE).

The transport-independent part of docs/streaming-contract.md: take part in the user's
stream (registry.py), send `hello`, then either the account frames missed since the
client's position (`<epoch>:<seq>`, from the event log) or a `snapshot` from the owner,
wherever it runs. Afterwards every layer message becomes one frame, already serialized
by the manager; account frames are checked for position: a duplicate is dropped, a gap
is filled from the event log (or, if the log cannot, the tab ends with 4409 and the
client resyncs), and a frame of another epoch (the stream's numbering restarted: the
store lost its head) is held while the tab sends a fresh snapshot of the new epoch.

Quote frames are paced per socket (flush.py, docs/streaming-contract.md "Under load"):
idle, each passes at once; under a backlog or a saturated process they are merged (latest
wins per symbol) into one frame per the socket's interval, while account frames pass at
once.

A transport owns one `TabSession` and gives it a `Transport` (send one frame, end with a
contract close code, report its backlog); the session implements fanout.Tab, so frames
reach it from this process's fan-out (`stream_frame`, `stream_head`,
`stream_owner_changed`) and the owner's replies from the tab's own channel
(`stream_snapshot`, `stream_limit`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Iterable
from typing import Any, Protocol

import orjson
from django.conf import settings
from redis.exceptions import RedisError

from streaming import metrics, validation
from streaming.cluster import owner_rpc
from streaming.cluster.agents import registry
from streaming.cluster.eventlog import Position
from streaming.contract import (
    CLOSE_RESYNC,
    CLOSE_TOO_SLOW,
    CLOSE_UNAUTHENTICATED,
    HelloFrame,
    Rejection,
    SubscribedFrame,
    now_ms,
)
from streaming.stream.state import merge_values
from streaming.stream.subscriptions import shared_set
from streaming.tabs import adaptive_flush as flush

log = logging.getLogger(__name__)

#: How often a tab re-sends its symbols to the owner (who forgets silent tabs after 90 s).
SYMBOLS_HEARTBEAT = 30.0
#: How often an unanswered snapshot request is repeated (and a tab's counts are added to
#: the metrics).
SNAPSHOT_RETRY = 2.0
#: Slow clients (contract "Slow clients"): above this backlog quotes and statuses wait
#: (conflated, latest wins)...
HOLD_QUOTES_ABOVE = 64 * 1024
#: ...and an account frame that would have to wait behind this much ends the tab (4408).
CLOSE_SLOW_ABOVE = 256 * 1024
#: ...and so does an account frame not taken (acknowledged by the client's TCP) within
#: this long: a fill never waits for a socket that stopped reading until a keepalive gives
#: up on it (seconds). Where acknowledgements cannot be read: one sent while quotes are
#: held, the backlog still over HOLD_QUOTES_ABOVE after this long.
ACCOUNT_WAIT_LIMIT = 5.0
#: How often a slow socket's backlog is looked at while an account frame waits (seconds).
DRAIN_POLL = 0.1


def parse_since(raw: str | None) -> Position | None:
    """A client's resume position (`<epoch>:<seq>`), or None (then: a snapshot)."""
    return Position.parse(raw)


def load_watchlist(user_id: int) -> list[str]:
    from streaming.models import Watchlist

    return Watchlist.symbols_for(user_id)


class Transport(Protocol):
    """What a tab session needs of the connection that carries it."""

    async def emit(self, text: str, seq: int | None = None, epoch: str | None = None) -> None:
        """Send one serialized frame (`seq`/`epoch`: an account frame's position)."""

    async def end(self, code: int) -> None:
        """End the tab with a contract close code (1012, 4409, ...)."""

    def backlog(self) -> int:
        """Bytes sent that the network has not taken yet (0 if unknown)."""

    def written(self) -> int | None:
        """The connection's offset after everything sent so far (None if unknown)."""

    def taken(self) -> int | None:
        """Bytes the client has acknowledged (None if unknown)."""


class TabSession:
    """The contract's server side for one tab, owned by its transport."""

    def __init__(
        self,
        transport: Transport,
        channel_name: str,
        session_key: str | None = None,
        token_id: int | None = None,
    ) -> None:
        self.transport = transport
        #: The tab's own layer channel: the owner's replies come there.
        self.channel_name = channel_name
        #: The login session the tab belongs to (it ends with the session: 4401).
        self.session_key = session_key
        #: Or the API token it was opened with (it ends with the token: 4401).
        self.token_id = token_id
        self.user_id: int | None = None
        #: The tab's symbols: shared with the user's tabs here that want the same
        #: (`_share`), so replaced on a change, never changed in place.
        self.symbols: set[str] = set()
        #: The position of the last account frame sent (the epoch of what was sent).
        self.epoch: str | None = None
        self.last_seq: int | None = None
        # Frames reach us from this process's fan-out as soon as we are attached: hold
        # them until the snapshot (or the resumed frames) have gone out, in order.
        self.awaiting_snapshot = True
        self.held_frames: list[tuple[str | None, int | None, str]] = []
        self._held_live: dict[str, str] = {}  # slow socket: latest status per link
        # quotes waiting for the socket's interval (or a slow socket's drain), merged
        self._held_quotes: dict[str, dict[str, Any]] = {}
        self._held_greeks: dict[str, dict[str, Any]] = {}
        #: The newest `t` (owner's clock) of the quotes frames merged into the above.
        self._held_t: int | None = None
        #: This socket's quote flush interval (flush.py).
        self._pace = flush.FlushPace(flush.min_interval())
        self._flush_open = False
        #: The owner's time of the last snapshot sent: a quotes frame made before it is
        #: older than its values (it waited in the outbox, or behind another tab's send)
        #: and is not sent after it (docs/performance.md, "Issue 15").
        self._quotes_after: int | None = None
        self._frames = asyncio.Lock()
        self._closing = False
        #: When the process's heartbeat (`Heartbeat`) next looks at this tab, when it next
        #: re-announces its symbols, and its beat while one is in flight.
        self._beat_at = 0.0
        self._announce_at = 0.0
        self._beat: asyncio.Task[None] | None = None
        #: Account frames sent and not yet taken: (the connection's offset after the
        #: frame, when it must have been taken), oldest first (`taken_watch` looks).
        self._untaken: deque[tuple[int, float]] = deque()
        #: Where acknowledgements cannot be read: when the backlog an account frame was
        #: sent behind must have drained.
        self._backlog_deadline: float | None = None
        #: The metrics' transport label ("ws", "sse"), and what was sent since the last
        #: time it was added to them (per heartbeat, not per frame: the path is hot).
        self.transport_name: str = getattr(transport, "transport_name", "other")
        self._counted_open = False
        self._frames_out = 0
        self._bytes_out = 0

    # -- the transport ---------------------------------------------------------------------
    async def emit(self, text: str, seq: int | None = None, epoch: str | None = None) -> None:
        await self.transport.emit(text, seq, epoch)
        self._frames_out += 1
        self._bytes_out += len(text)

    def _flush_counts(self) -> None:
        """Frames and bytes sent since the last call, into the metrics."""
        if self._frames_out:
            metrics.FRAMES_OUT.labels(self.transport_name).inc(self._frames_out)
            metrics.BYTES_OUT.labels(self.transport_name).inc(self._bytes_out)
            self._frames_out = self._bytes_out = 0

    async def end(self, code: int) -> None:
        await self.transport.end(code)

    def backlog(self) -> int:
        return self.transport.backlog()

    # -- lifecycle ------------------------------------------------------------------------
    async def begin(self, user: Any, since: Position | None, symbols: set[str]) -> None:
        """Everything after the transport is open: hello, resume or snapshot, symbols.
        Raises the channel layer's error if Redis is away (the transport ends with 1013)."""
        self.user_id = user.id
        if not self._counted_open:
            self._counted_open = True
            metrics.STREAMS_OPEN.labels(self.transport_name).inc()
        if not self._flush_open:
            self._flush_open = True
            flush.flusher.opened()
        await registry.attach(user.id, self.channel_name, self)
        self.symbols = self._share(symbols)
        head = await self._safe(registry.event_log.head(user.id), default=None)
        hello: HelloFrame = {
            "type": "hello",
            "user": user.get_username(),
            "epoch": head.epoch if head else None,
            "seq": head.seq if head else 0,
            "flush_ms": int(settings.STREAM_FLUSH_INTERVAL * 1000),
            "max_flush_ms": int(flush.MAX_INTERVAL * 1000),
            "simulated": self._simulated(),
            "server_time": now_ms(),
            "limits": {
                "max_symbols": validation.MAX_SYMBOLS_PER_SOCKET,
                "max_symbols_per_user": validation.MAX_SYMBOLS_PER_USER,
                "max_symbols_per_message": validation.MAX_SYMBOLS_PER_MESSAGE,
                "max_message_bytes": validation.MAX_MESSAGE_BYTES,
                "rate_per_10s": validation.RATE_LIMIT,
            },
            "stale_after_ms": {"quotes": int(settings.STREAM_QUOTE_STALE_AFTER * 1000)},
        }
        await self.send_json(dict(hello))
        # Register with the owner first: it then sends our frames through the channel
        # layer if we are in another process, from before the snapshot it makes for us.
        await self.announce_symbols()
        missed = None
        if since is not None:
            missed = await self._safe(registry.event_log.since(user.id, since), default=None)
        if since is not None and missed is not None:
            async with self._frames:
                self.epoch = since.epoch
                await self.send_json(
                    {
                        "type": "resumed",
                        "epoch": since.epoch,
                        "from": since.seq,
                        "count": len(missed),
                    }
                )
                await self._emit_after(since.seq, missed)
                await self._release_held(since.epoch, since.seq + len(missed))
            await self._refresh_live_state()
        else:
            await self._ask_snapshot()
        heartbeat.join(self)

    async def finish(self) -> None:
        """The tab is gone: leave the owner's tab list and let go of the user's stream."""
        if self.user_id is None:
            return
        self._closing = True
        if self._flush_open:
            self._flush_open = False
            flush.flusher.closed(self)
            self._pace.release()
        heartbeat.leave(self)
        taken_watch.forget(self)
        if self._beat is not None:
            self._beat.cancel()
            await asyncio.gather(self._beat, return_exceptions=True)
        self._flush_counts()
        if self._counted_open:
            self._counted_open = False
            metrics.STREAMS_OPEN.labels(self.transport_name).dec()
        registry.detach(self.user_id, self.channel_name)
        await owner_rpc.drop_tab(self.user_id, self.channel_name)

    async def session_ended(self) -> None:
        """Called by the registry's session watch: the login (or the API token) is over
        (4401)."""
        if self._closing:
            return
        self._closing = True
        what = "session" if self.token_id is None else f"API token {self.token_id}"
        log.info("user %s: closing a tab whose %s ended", self.user_id, what)
        await self.end(CLOSE_UNAUTHENTICATED)

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
        except (RedisError, OSError) as exc:
            registry.redis.failed(exc)
            return default

    async def send_json(self, content: dict[str, Any]) -> None:
        await self.emit(orjson.dumps(content).decode())

    async def _ask_snapshot(self) -> None:
        manager = registry.get(self.user_id)
        if manager is not None:  # this process owns the stream: no round trip
            await self._deliver_snapshot(manager.snapshot(self.symbols))
            return
        await self._request_snapshot()

    async def _refresh_live_state(self) -> None:
        """After a resume: link states and quotes are not in the event log; fetch them."""
        manager = registry.get(self.user_id)
        if manager is not None:
            await self._reconcile(manager.snapshot(self.symbols))
        else:
            await self._request_snapshot()

    async def _send_live_state(self, snapshot: dict[str, Any]) -> None:
        self._quotes_after = snapshot["t"]
        self._drop_held_quotes()  # older than the snapshot's
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
        watchlist = snapshot.get("watchlist")
        if watchlist is not None:
            await self.send_json({"type": "watchlist", **watchlist})

    async def _deliver_snapshot(self, snapshot: dict[str, Any]) -> None:
        async with self._frames:
            await self._deliver_snapshot_held(snapshot)

    async def _deliver_snapshot_held(self, snapshot: dict[str, Any]) -> None:
        """`_deliver_snapshot` with `_frames` already held."""
        self._held_live.clear()
        self._drop_held_quotes()
        await self._emit_snapshot(snapshot)
        await self._release_held(snapshot.get("epoch"), snapshot["seq"])

    async def _emit_snapshot(self, snapshot: dict[str, Any]) -> None:
        """A snapshot is a position too (SSE: its `id:`, so a reconnect resumes there)."""
        self._quotes_after = snapshot["t"]
        await self.emit(orjson.dumps(snapshot).decode(), snapshot["seq"], snapshot.get("epoch"))

    async def _release_held(self, epoch: str | None, last_seq: int) -> None:
        """Live from (`epoch`, `last_seq`) on: send the held account frames of that epoch
        newer than it, in order (held quotes and statuses are older than what was just
        sent). Held frames of another epoch are dropped; if such a frame came after every
        frame of this epoch, the stream may have moved on to a new epoch since the
        snapshot was taken: ask for another one (it says which epoch is current)."""
        self.awaiting_snapshot = False
        self.epoch = epoch
        self.last_seq = last_seq
        held, self.held_frames = self.held_frames, []
        moved_on = False
        for frame_epoch, seq, text in held:
            if frame_epoch != epoch:
                moved_on = True
                continue
            moved_on = False
            if seq is not None and seq > self.last_seq:
                await self._account_frame(frame_epoch, seq, text)
        if moved_on:
            await self._resnapshot()

    async def _resnapshot(self) -> None:
        """The stream's numbering restarted (a new epoch): nothing we relayed can be
        compared with it. Hold the new frames and send a fresh snapshot first. Called
        with `_frames` held."""
        log.info("user %s: new stream epoch; sending the tab a fresh snapshot", self.user_id)
        metrics.RESYNCS.labels("epoch").inc()
        self.awaiting_snapshot = True
        manager = registry.get(self.user_id)
        if manager is not None:
            snapshot = manager.snapshot(self.symbols)
            await self._emit_snapshot(snapshot)
            await self._release_held(snapshot["epoch"], snapshot["seq"])
            return
        await self._request_snapshot()

    def _share(self, symbols: Iterable[str]) -> set[str]:
        """`symbols`, as the set of another tab of the user here if it is equal."""
        agent = registry.agent(self.user_id) if self.user_id is not None else None
        holders = agent.holders.values() if agent is not None else ()
        others = (tab.symbols for tab in holders if isinstance(tab, TabSession) and tab is not self)
        return shared_set(symbols, others)

    async def announce_symbols(self) -> None:
        assert self.user_id is not None
        await owner_rpc.announce_symbols(self.user_id, self.channel_name, sorted(self.symbols))

    async def _request_snapshot(self) -> None:
        assert self.user_id is not None
        await owner_rpc.request_snapshot(self.user_id, self.channel_name, sorted(self.symbols))

    def _beat_due(self, now: float) -> bool:
        """The heartbeat's look at this tab (every `SNAPSHOT_RETRY`): add its counts to the
        metrics; True if it has something to send (`_send_beat`)."""
        if now < self._beat_at:
            return False
        self._beat_at = now + SNAPSHOT_RETRY
        self._flush_counts()
        return self.awaiting_snapshot or now >= self._announce_at

    async def _send_beat(self, now: float) -> None:
        """Repeat an unanswered snapshot request (a message to the owner can be lost while
        it changes or Redis recovers); re-send our symbols now and then."""
        if self.awaiting_snapshot:
            await self._request_snapshot()
        if now >= self._announce_at:
            self._announce_at = now + SYMBOLS_HEARTBEAT
            await self.announce_symbols()

    async def _account_frame(self, epoch: str | None, seq: int, text: str) -> None:
        """Send an account frame in position order: drop duplicates, fill gaps from the
        log, take a fresh snapshot when the epoch changed."""
        if epoch != self.epoch:
            self.held_frames.append((epoch, seq, text))
            await self._resnapshot()
            return
        if self.last_seq is not None and seq <= self.last_seq:
            return
        if self.last_seq is not None and seq > self.last_seq + 1:
            filled = await self._fill_from_log()
            if not filled or seq <= self.last_seq:
                return
        if self.backlog() > CLOSE_SLOW_ABOVE:
            await self._too_slow()
            return
        await self.emit(text, seq, epoch)
        self.last_seq = seq
        self._bound_account_wait()

    def _bound_account_wait(self) -> None:
        """An account frame went out: it must be taken (acknowledged by the client's TCP)
        within ACCOUNT_WAIT_LIMIT, however little waited in front of it. Where the
        acknowledged bytes are unknown: only one sent behind HOLD_QUOTES_ABOVE is bound,
        by the backlog. The process's `taken_watch` looks (no task per frame)."""
        if self._closing:
            return
        written = self.transport.written()
        now = time.monotonic()
        if written is not None:
            self._untaken.append((written, now + ACCOUNT_WAIT_LIMIT))
        elif self.backlog() <= HOLD_QUOTES_ABOVE:
            return
        elif self._backlog_deadline is None:
            self._backlog_deadline = now + ACCOUNT_WAIT_LIMIT
        taken_watch.watch(self)

    async def check_taken(self, now: float) -> bool:
        """`taken_watch`'s look: drop the frames taken since; 4408 when one is late. True
        when nothing is left to watch."""
        if self._closing:
            self._untaken.clear()
            self._backlog_deadline = None
            return True
        untaken = self._untaken
        if untaken:
            taken = self.transport.taken()
            if taken is None:  # the connection went away
                untaken.clear()
            while untaken and untaken[0][0] <= taken:
                untaken.popleft()
            if untaken and now >= untaken[0][1]:
                untaken.clear()
                self._backlog_deadline = None
                await self._too_slow()
                return True
        if self._backlog_deadline is not None:
            if self.backlog() <= HOLD_QUOTES_ABOVE:
                self._backlog_deadline = None
            elif now >= self._backlog_deadline:
                self._backlog_deadline = None
                await self._too_slow()
                return True
        return not untaken and self._backlog_deadline is None

    async def _too_slow(self) -> None:
        """An account frame would wait behind a backlog: end the tab (4408); the client
        reconnects with its position and gets exactly the frames it missed."""
        if self._closing:
            return
        self._closing = True
        metrics.SLOW_CLOSES.labels(self.transport_name).inc()
        log.info("user %s: closing a slow tab (%d bytes queued)", self.user_id, self.backlog())
        await self.end(CLOSE_TOO_SLOW)

    async def _fill_from_log(self) -> bool:
        """Send the account frames after our position from the event log; if the log
        cannot prove it has all of them, end the tab with 4409 (the client resyncs)."""
        assert self.last_seq is not None and self.epoch is not None
        position = Position(self.epoch, self.last_seq)
        missed = await self._safe(registry.event_log.since(self.user_id, position), None)
        if missed is None:
            metrics.RESYNCS.labels("gap").inc()
            await self.end(CLOSE_RESYNC)
            return False
        await self._emit_after(self.last_seq, missed)
        return True

    async def _emit_after(self, seq: int, frames: list[str]) -> None:
        """Send account frames numbered seq+1, seq+2, …; `last_seq` follows."""
        for offset, text in enumerate(frames, start=1):
            await self.emit(text, seq + offset, self.epoch)
        self.last_seq = seq + len(frames)
        if frames:
            metrics.ACCOUNT_EVENTS_REPLAYED.inc(len(frames))
            self._bound_account_wait()  # replayed fills must be taken in time too

    # -- layer events ------------------------------------------------------------------------
    async def stream_frame(self, event: dict[str, Any]) -> None:
        """A frame the manager already serialized once for every tab of the user."""
        async with self._frames:
            await self._frame(event)

    async def _frame(self, event: dict[str, Any]) -> None:
        if self._closing:
            return
        seq = event.get("seq")
        if self.awaiting_snapshot:
            if seq is not None:
                self.held_frames.append((event.get("epoch"), seq, event["text"]))
            return  # quotes and statuses: the snapshot has newer ones
        if seq is not None:
            await self._account_frame(event.get("epoch"), seq, event["text"])
            return
        kind = event["kind"]
        if kind == "quotes" and self._older_than_snapshot(event.get("t")):
            return
        backlog = self.backlog()
        if backlog > HOLD_QUOTES_ABOVE:
            self._hold_live(kind, event["text"], event.get("t"))
            return
        if kind == "quotes":
            await self._quotes(event, backlog)
            return
        if self.has_waiting_values():  # not delayed, and after what came before it
            await self._flush_held_live(backlog)
        await self.emit(event["text"])

    def _older_than_snapshot(self, t: int | None) -> bool:
        """Whether a quotes frame was made before the last snapshot sent (its values are
        all in it, some older than it)."""
        return t is not None and self._quotes_after is not None and t < self._quotes_after

    # -- quote pacing (flush.py) ---------------------------------------------------------------
    def set_pace(self, max_frequency: float | None) -> None:
        """The client's `pace`: its quote frames at most this many a second (None: as fast
        as they come); what waits meanwhile merges into the next (`_quotes`)."""
        self._pace.asked = 0.0 if max_frequency is None else 1.0 / max_frequency

    def flush_interval(self) -> float:
        """This socket's quote interval now (seconds): its own, or the process's floor."""
        return self._pace.effective(flush.load.floor())

    def has_waiting_values(self) -> bool:
        return bool(self._held_live or self._held_quotes or self._held_greeks)

    async def _quotes(self, event: dict[str, Any], backlog: int) -> None:
        """A quotes frame: straight out while the interval is the minimum or has passed
        (nothing waiting); else merged, and sent once the interval has passed."""
        now = time.monotonic()
        floor = flush.load.floor()
        if not self.has_waiting_values() and (
            self._pace.effective(floor) <= self._pace.floor or self._pace.due(now)
        ):
            await self.emit(event["text"])
            self._pace.sent(now, backlog, floor)
            return
        self._merge_quotes(event["text"], event.get("t"))
        flush.counts.merged["paced"] += 1
        if flush.FLUSH_ON_ARRIVAL and self._pace.due(now):
            flush.flusher.sent["arrival"] += 1
            await self._flush_held_live(backlog)
        else:
            flush.flusher.wait(self)

    def _merge_quotes(self, text: str, t: int | None) -> None:
        """Latest value wins per field and symbol; an entry's `t` never goes back."""
        frame = flush.parsed(text)
        for symbol, fields in frame.get("quotes", {}).items():
            merge_values(self._held_quotes, symbol, fields)
        for symbol, fields in frame.get("greeks", {}).items():
            merge_values(self._held_greeks, symbol, fields)
        if t is None:
            t = frame.get("t")
        if t is not None and (self._held_t is None or t > self._held_t):
            self._held_t = t

    def _drop_held_quotes(self) -> None:
        self._held_quotes.clear()
        self._held_greeks.clear()
        self._held_t = None

    def _hold_live(self, kind: str, text: str, t: int | None = None) -> None:
        """A slow socket: keep only the newest quotes (per symbol) and statuses (per link)
        until its backlog drains (latest wins; nothing else waits). The process's flusher
        looks at its backlog (flush.py): no task per socket."""
        if kind == "quotes":
            self._merge_quotes(text, t)
            flush.counts.merged["held"] += 1
        elif kind == "status":
            frame = orjson.loads(text)
            self._held_live[f"status:{frame['link']['id']}"] = text
        elif kind == "news":  # articles are not a state to replace: every frame waits
            self._held_live[f"news:{id(text)}"] = text
        else:
            self._held_live[kind] = text  # e.g. watchlist: the newest is the state
        flush.flusher.wait(self)

    async def flush_waiting(self, now: float) -> bool:
        """The process's tick (flush.py): send what waits once the socket's interval has
        passed with no frame to carry it, or its backlog has drained. True when nothing
        waits any more."""
        if self._closing or not self.has_waiting_values():
            return True
        grace = flush.STRAGGLER_GRACE if flush.FLUSH_ON_ARRIVAL else 0.0
        if not self._held_live and not self._pace.due(now - grace):
            return False
        async with self._frames:
            backlog = self.backlog()
            if backlog > HOLD_QUOTES_ABOVE and not self._closing:
                return False
            if self.has_waiting_values() and not self._closing:
                flush.flusher.sent["tick"] += 1
                await self._flush_held_live(backlog)
        return True

    async def _flush_held_live(self, backlog: int | None = None) -> None:
        if backlog is None:
            backlog = self.backlog()
        held, self._held_live = self._held_live, {}
        for text in held.values():
            await self.emit(text)
        if self._held_quotes or self._held_greeks:
            quotes, self._held_quotes = self._held_quotes, {}
            greeks, self._held_greeks = self._held_greeks, {}
            t, self._held_t = self._held_t, None
            frame = {"type": "quotes", "quotes": quotes, "greeks": greeks}
            await self.send_json({**frame, "t": t if t is not None else now_ms()})
            self._pace.sent(time.monotonic(), backlog, flush.load.floor())

    async def drained(self) -> None:
        """The transport's backlog went down: send what was held back (if any)."""
        if not self.has_waiting_values():
            return
        async with self._frames:
            backlog = self.backlog()
            if backlog <= HOLD_QUOTES_ABOVE and self.has_waiting_values():
                await self._flush_held_live(backlog)

    async def stream_snapshot(self, event: dict[str, Any]) -> None:
        """The owner's answer to our snapshot request."""
        snapshot = orjson.loads(event["text"])
        if self.awaiting_snapshot:
            await self._deliver_snapshot(snapshot)
        else:
            await self._reconcile(snapshot)

    async def _reconcile(self, snapshot: dict[str, Any]) -> None:
        """A refresh (after a resume, an owner change or Redis trouble): the live parts,
        and every account frame up to the snapshot's position that we have not sent (some
        may have gone out before the owner knew of this tab); a new epoch: all of it.
        The epoch is compared under `_frames`: a frame of the new epoch handled meanwhile
        may already have taken the tab there (one resync, not two)."""
        async with self._frames:
            if snapshot.get("epoch") != self.epoch:
                if self.epoch is not None:  # the numbering restarted under this tab
                    metrics.RESYNCS.labels("epoch").inc()
                await self._deliver_snapshot_held(snapshot)
                return
            await self._send_live_state(snapshot)
        await self._catch_up(snapshot["seq"])

    async def _catch_up(self, seq: int) -> None:
        """Account frames up to `seq` that we have not sent yet, from the event log."""
        async with self._frames:
            if self.last_seq is not None and seq > self.last_seq:
                await self._fill_from_log()

    async def stream_head(self, event: dict[str, Any]) -> None:
        """The owner's periodic position: a relay that missed frames (Redis trouble, a
        lost layer message) fetches them from the log; a new epoch means a snapshot."""
        async with self._frames:
            if self.awaiting_snapshot or self._closing:
                return
            if event.get("epoch") != self.epoch:
                await self._resnapshot()
            elif self.last_seq is not None and event["seq"] > self.last_seq:
                await self._fill_from_log()

    async def stream_limit(self, event: dict[str, Any]) -> None:
        """The owner refused symbols: the user's stream is at its symbol limit."""
        refused = [s for s in event.get("symbols", []) if s in self.symbols]
        if not refused:
            return
        self.symbols = self._share(self.symbols - set(refused))
        await self.send_json(
            {
                "type": "subscribed",
                "symbols": sorted(self.symbols),
                "rejected": [{"symbol": s, "reason": "user_limit_reached"} for s in refused],
            }
        )

    async def stream_owner_changed(self, event: dict[str, Any]) -> None:
        """A process (maybe another) took over the stream, or Redis recovered: tell the
        owner what we need, then reconcile against a fresh snapshot of it."""
        await self.announce_symbols()
        if self.awaiting_snapshot:
            await self._request_snapshot()
        else:
            await self._refresh_live_state()

    # -- client messages ------------------------------------------------------------------------
    async def change_symbols(self, subscribe: bool, raw_symbols: list[str]) -> None:
        """A client's `subscribe`/`unsubscribe`: answered with `subscribed`, then (for a
        subscribe in the owning process) the values already known, without waiting for
        a tick. Invalid symbols and those over the socket's limit are rejected per symbol."""
        rejected: list[Rejection] = []
        symbols = set(self.symbols)  # maybe shared with other tabs: replaced, not changed
        for raw in raw_symbols:
            symbol = validation.normalize_symbol(raw)
            if not subscribe:
                if symbol is not None:
                    symbols.discard(symbol)
            elif symbol is None:
                rejected.append({"symbol": raw[:40], "reason": "invalid_symbol"})
            elif symbol not in symbols and len(symbols) >= validation.MAX_SYMBOLS_PER_SOCKET:
                rejected.append({"symbol": symbol, "reason": "limit_reached"})
            else:
                symbols.add(symbol)
        if symbols != self.symbols:
            self.symbols = self._share(symbols)
        await self.announce_symbols()
        answer: SubscribedFrame = {
            "type": "subscribed",
            "symbols": sorted(self.symbols),
            "rejected": rejected,
        }
        await self.send_json(dict(answer))
        manager = registry.get(self.user_id) if self.user_id is not None else None
        if subscribe and manager is not None:
            snapshot = manager.snapshot(self.symbols)
            known = {s: q for s, q in snapshot["quotes"].items() if s in self.symbols}
            greeks = {s: g for s, g in snapshot["greeks"].items() if s in self.symbols}
            if known or greeks:
                await self.send_json(
                    {"type": "quotes", "quotes": known, "greeks": greeks, "t": snapshot["t"]}
                )


class Heartbeat:
    """The one task per process that keeps every tab known to its owner: every
    `SNAPSHOT_RETRY` after it opened, a tab repeats its snapshot request while unanswered,
    and every `SYMBOLS_HEARTBEAT` it re-sends its symbols (the owner forgets silent tabs).
    A task per tab cost ~1.5-2 KiB per socket at rest (docs/performance.md, "Memory per
    socket"); here a tab is two times in its own state, and a task runs only while a tab
    has something to send (finish() cancels it, as it did the tab's own task). The same
    pattern as flush.Flusher (one task per process while it has tabs), another concept:
    seconds apart, for the owner, not the client."""

    def __init__(self) -> None:
        self._tabs: dict[int, TabSession] = {}
        self._task: asyncio.Task[None] | None = None

    def __len__(self) -> int:
        return len(self._tabs)

    def join(self, tab: TabSession) -> None:
        """`tab` began: its first beat is `SNAPSHOT_RETRY` from now."""
        now = time.monotonic()
        tab._beat_at = now + SNAPSHOT_RETRY
        tab._announce_at = now + SYMBOLS_HEARTBEAT
        task = self._task
        loop = asyncio.get_running_loop()
        if task is not None and task.get_loop() is not loop:
            self._tabs = {}  # tabs of another event loop (ended: tests) went with it
        self._tabs[id(tab)] = tab
        if task is None or task.done() or task.get_loop() is not loop:
            self._task = loop.create_task(self._run(), name="tab-heartbeat")

    def leave(self, tab: TabSession) -> None:
        self._tabs.pop(id(tab), None)

    async def _run(self) -> None:
        """Looks at the tabs four times per `SNAPSHOT_RETRY` (a beat is at most a quarter
        of it late); ends when no tab is left."""
        while self._tabs:
            await asyncio.sleep(SNAPSHOT_RETRY / 4)
            now = time.monotonic()
            for tab in list(self._tabs.values()):
                try:
                    if tab._beat_due(now) and (tab._beat is None or tab._beat.done()):
                        tab._beat = asyncio.create_task(self._send(tab, now))
                except Exception:  # one broken tab must not stop the others' beats
                    log.exception("a tab's heartbeat failed")

    @staticmethod
    async def _send(tab: TabSession, now: float) -> None:
        try:
            await tab._send_beat(now)
        except Exception:
            log.exception("user %s: a tab's heartbeat failed", tab.user_id)
        finally:
            tab._beat = None

    async def stop(self) -> None:
        """For tests: end the task now."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


#: This process's heartbeat.
heartbeat = Heartbeat()


class TakenWatch:
    """The one task per process that holds every account frame to ACCOUNT_WAIT_LIMIT
    (contract "Slow clients"): every DRAIN_POLL it looks at the tabs with frames not yet
    taken (`TabSession.check_taken`), and ends when none is left. A task and a timer per
    tab and account frame cost about as much as sending the frame (docs/performance.md,
    "Stop 32"); a healthy connection's frames are taken at the first look."""

    def __init__(self) -> None:
        self._tabs: dict[int, TabSession] = {}
        self._task: asyncio.Task[None] | None = None

    def watch(self, tab: TabSession) -> None:
        loop = asyncio.get_running_loop()
        task = self._task
        if task is not None and task.get_loop() is not loop:
            self._tabs = {}  # tabs of another event loop (ended: tests) went with it
        self._tabs[id(tab)] = tab
        if task is None or task.done() or task.get_loop() is not loop:
            self._task = loop.create_task(self._run(), name="account-taken-watch")

    def forget(self, tab: TabSession) -> None:
        self._tabs.pop(id(tab), None)

    def watching(self, tab: TabSession) -> bool:
        return id(tab) in self._tabs

    async def _run(self) -> None:
        while self._tabs:
            await asyncio.sleep(DRAIN_POLL)
            now = time.monotonic()
            for key, tab in list(self._tabs.items()):
                try:
                    done = await tab.check_taken(now)
                except Exception:  # one broken tab must not stop the others' watch
                    log.exception("user %s: watching a tab's account frames failed", tab.user_id)
                    done = True
                if done:
                    self._tabs.pop(key, None)


#: This process's watch on account frames not yet taken.
taken_watch = TakenWatch()
