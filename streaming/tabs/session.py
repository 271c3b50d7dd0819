"""One browser tab's view of its user's stream, whatever carries it (WebSocket or SSE).

The carrier-independent part of docs/streaming-contract.md: take part in the user's
stream (cluster/agents.py), send `hello`, then either the account frames missed since the
client's position (`<epoch>:<seq>`, from the event log) or a `snapshot` from the owner,
wherever it runs. Afterwards every layer message becomes one frame, already serialized
by the manager; account frames are checked for position: a duplicate is dropped, a gap
is filled from the event log (or, if the log cannot, the tab ends with 4409 and the
client resyncs), and a frame of another epoch (the stream's numbering restarted: the
store lost its head) is held while the tab sends a fresh snapshot of the new epoch.

Beside the session: its quote pacing (tabs/quote_pacing.py), its live state against the
last snapshot (tabs/live_state.py), the slow-client watch (tabs/slow_client.py) and the
process's heartbeat to the owner (tabs/heartbeat.py), each reaching the session through a
small Protocol.

A carrier (tabs/consumers.py, tabs/sse.py) owns one `TabSession` and gives it a `Carrier`
(send one frame, end with a contract close code, report its backlog); the session
implements fanout.Tab, so frames reach it from this process's fan-out (`stream_frame`,
`stream_head`, `stream_owner_changed`) and the owner's replies from the tab's own channel
(`stream_snapshot`, `stream_limit`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Iterable
from typing import Any, TypeVar

import orjson
from django.conf import settings
from redis.exceptions import RedisError

from streaming import metrics
from streaming.cluster import owner_rpc
from streaming.cluster.redis import health as redis_health
from streaming.contract.close_codes import CLOSE_RESYNC, CLOSE_TOO_SLOW, CLOSE_UNAUTHENTICATED
from streaming.contract.frames import SnapshotFrame
from streaming.contract.layer import (
    FrameMessage,
    HeadMessage,
    LimitReply,
    OwnerChanged,
    SnapshotReply,
)
from streaming.stream.manager import UserStreamManager
from streaming.stream.position import Position
from streaming.stream.subscriptions import shared_set
from streaming.tabs import adaptive_flush, frames
from streaming.tabs.carrier import Carrier, CarrierCounts, TabParts
from streaming.tabs.live_state import LiveState
from streaming.tabs.quote_pacing import QuotePacing
from streaming.tabs.slow_client import CLOSE_SLOW_ABOVE, HOLD_QUOTES_ABOVE, AccountWaits
from streaming.tabs.symbols import apply_change, over_user_limit

log = logging.getLogger(__name__)

T = TypeVar("T")

#: How long a relay waits for the event log to get the user's head back after Redis lost
#: it (the owner's watch notices within its interval, or a probe's timeout) before it
#: resyncs the tab, and how often it looks meanwhile (seconds).
LOG_RESTORE_WAIT = redis_health.WATCH_INTERVAL + redis_health.PROBE_TIMEOUT
LOG_RESTORE_POLL = 0.1


def parse_since(raw: str | None) -> Position | None:
    """A client's resume position (`<epoch>:<seq>`), or None (then: a snapshot)."""
    return Position.parse(raw)


def load_watchlist(user_id: int) -> list[str]:
    from streaming.models import Watchlist

    return Watchlist.symbols_for(user_id)


class TabSession:
    """The contract's server side for one tab, owned by its carrier."""

    def __init__(
        self,
        carrier: Carrier,
        channel_name: str,
        session_key: str | None = None,
        token_id: int | None = None,
        flush_policy: adaptive_flush.FlushPolicy = adaptive_flush.ON_ARRIVAL,
        *,
        parts: TabParts,
    ) -> None:
        self.carrier = carrier
        #: The process's agents (the user's stream, its event log), its heartbeat to the
        #: owner and what the tab counts in: the node's (streaming/node.py).
        self.agents = parts.agents
        self.heartbeat = parts.heartbeat
        self.lifetimes = parts.lifetimes
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
        #: Its count among the process's long-lived things (runtime/heap.py), from `begin`.
        self._lifetime = 0
        # Frames reach us from this process's fan-out as soon as we are attached: hold
        # them until the snapshot (or the resumed frames) have gone out, in order.
        self.awaiting_snapshot = True
        self.held_frames: list[tuple[str | None, int | None, str]] = []
        #: Quotes waiting for the socket's interval, a slow socket's statuses.
        self.pacing = QuotePacing(self, parts.flusher, flush_policy)
        #: Account frames sent and not yet taken by the client.
        self.account_waits = AccountWaits(self, parts.taken_watch)
        #: When the last snapshot sent was made, and what a refresh sends live.
        self.live = LiveState(self)
        #: Held while frames go out, so that they leave in order.
        self.order_lock = asyncio.Lock()
        self.closing = False
        self.counts = CarrierCounts(carrier)

    # -- the carrier -----------------------------------------------------------------------
    async def emit(self, text: str, seq: int | None = None, epoch: str | None = None) -> None:
        await self.carrier.emit(text, seq, epoch)
        self.counts.sent(text)

    def publish_counts(self) -> None:
        self.counts.publish()

    async def end(self, code: int) -> None:
        await self.carrier.end(code)

    def backlog(self) -> int:
        return self.carrier.backlog()

    def written(self) -> int | None:
        return self.carrier.written()

    def taken(self) -> int | None:
        return self.carrier.taken()

    # -- lifecycle ------------------------------------------------------------------------
    async def begin(self, user: Any, since: Position | None, symbols: set[str]) -> None:
        """Everything after the carrier is open: hello, resume or snapshot, symbols.
        Raises the channel layer's error if Redis is away (the carrier ends with 1013)."""
        self.user_id = user.id
        self.counts.opened()
        # its objects may be cyclic garbage once it ended (runtime/heap.py)
        self._lifetime = self.lifetimes.began()
        self.pacing.open()
        await self.agents.attach(user.id, self.channel_name, self)
        self.symbols = self._share(symbols)
        head = await self._safe(self.agents.event_log.head(user.id), default=None)
        await self.send_frame(frames.hello(user.get_username(), head, self._simulated()))
        # Register with the owner first: it then sends our frames through the channel
        # layer if we are in another process, from before the snapshot it makes for us.
        await self.announce_symbols()
        missed = None
        if since is not None:
            missed = await self._safe(self.agents.event_log.since(user.id, since), default=None)
        if since is not None and missed is not None:
            async with self.order_lock:
                self.epoch = since.epoch
                await self.send_frame(frames.resumed(since, len(missed)))
                await self._emit_after(since.seq, missed)
                await self._release_held(since.epoch, since.seq + len(missed))
            await self._refresh_live_state()
        else:
            await self._ask_snapshot()
        self.heartbeat.join(self)

    async def finish(self) -> None:
        """The tab is gone: leave the owner's tab list and let go of the user's stream."""
        if self.user_id is None:
            return
        self.closing = True
        self.pacing.close()
        self.account_waits.watch.forget(self)
        await self.heartbeat.leave(self)
        self.counts.closed()
        self.lifetimes.ended(self._lifetime)
        self.agents.detach(self.user_id, self.channel_name)
        await owner_rpc.drop_tab(self.user_id, self.channel_name)

    async def session_ended(self) -> None:
        """Called by the agents' session watch: the login (or the API token) is over
        (4401)."""
        if self.closing:
            return
        self.closing = True
        what = "session" if self.token_id is None else f"API token {self.token_id}"
        log.info("user %s: closing a tab whose %s ended", self.user_id, what)
        await self.end(CLOSE_UNAUTHENTICATED)

    # -- helpers ---------------------------------------------------------------------------
    def _owner_here(self) -> UserStreamManager | None:
        """The user's stream manager if this process owns the stream."""
        return self.agents.get(self.user_id) if self.user_id is not None else None

    def _simulated(self) -> bool:
        manager = self._owner_here()
        if manager is not None:
            return manager.simulated
        return bool(settings.BROKER_ENV == "sandbox")

    async def _safe(self, awaitable: Awaitable[T], default: T) -> T:
        """Redis may be away for a moment: fall back instead of failing the tab."""
        try:
            return await awaitable
        except (RedisError, OSError) as exc:
            self.agents.redis.failed(exc)
            return default

    async def send_frame(self, frame: frames.TabFrame) -> None:
        """Send one frame the tab built itself (the stream's frames come serialized)."""
        await self.emit(frames.serialized(frame))

    async def _ask_snapshot(self) -> None:
        manager = self._owner_here()
        if manager is not None:  # this process owns the stream: no round trip
            await self._deliver_snapshot(manager.snapshot(self.symbols))
            return
        await self.request_snapshot()

    async def _refresh_live_state(self) -> None:
        """After a resume: link states, quotes and metrics are not in the event log; fetch
        them."""
        manager = self._owner_here()
        if manager is not None:
            await self._reconcile(manager.snapshot(self.symbols))
        else:
            await self.request_snapshot()

    async def _deliver_snapshot(self, snapshot: SnapshotFrame) -> None:
        async with self.order_lock:
            await self._deliver_snapshot_held(snapshot)

    async def _deliver_snapshot_held(self, snapshot: SnapshotFrame) -> None:
        """`_deliver_snapshot` with `order_lock` already held."""
        self.pacing.drop_waiting()
        await self._emit_snapshot(snapshot)
        await self._release_held(snapshot.get("epoch"), snapshot["seq"])

    async def _emit_snapshot(self, snapshot: SnapshotFrame) -> None:
        """A snapshot is a position too (SSE: its `id:`, so a reconnect resumes there)."""
        self.live.snapshot_sent(snapshot)
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
            if seq is not None and seq > last_seq:
                await self._account_frame(frame_epoch, seq, text)
        if moved_on:
            await self._resnapshot()

    async def _resnapshot(self) -> None:
        """The stream's numbering restarted (a new epoch): nothing we relayed can be
        compared with it. Hold the new frames and send a fresh snapshot first. Called
        with `order_lock` held."""
        log.info("user %s: new stream epoch; sending the tab a fresh snapshot", self.user_id)
        metrics.RESYNCS.labels("epoch").inc()
        self.awaiting_snapshot = True
        manager = self._owner_here()
        if manager is not None:
            snapshot = manager.snapshot(self.symbols)
            await self._emit_snapshot(snapshot)
            await self._release_held(snapshot["epoch"], snapshot["seq"])
            return
        await self.request_snapshot()

    def _share(self, symbols: Iterable[str]) -> set[str]:
        """`symbols`, as the set of another tab of the user here if it is equal."""
        agent = self.agents.agent(self.user_id) if self.user_id is not None else None
        holders = agent.holders.values() if agent is not None else ()
        others = (tab.symbols for tab in holders if isinstance(tab, TabSession) and tab is not self)
        return shared_set(symbols, others)

    async def announce_symbols(self) -> None:
        assert self.user_id is not None
        await owner_rpc.announce_symbols(self.user_id, self.channel_name, sorted(self.symbols))

    async def request_snapshot(self) -> None:
        assert self.user_id is not None
        await owner_rpc.request_snapshot(self.user_id, self.channel_name, sorted(self.symbols))

    # -- account frames: order, gaps, epochs ----------------------------------------------
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
            if not filled or (self.last_seq is not None and seq <= self.last_seq):
                return
        if self.backlog() > CLOSE_SLOW_ABOVE:
            await self.too_slow()
            return
        await self.emit(text, seq, epoch)
        self.last_seq = seq
        self.account_waits.sent()

    async def _head_restored(self) -> bool:
        """Whether the event log had no head for the user and has one again within
        `LOG_RESTORE_WAIT` (False at once when it has one: the log had its say)."""
        assert self.user_id is not None
        if await self._safe(self.agents.event_log.head(self.user_id), None) is not None:
            return False
        deadline = time.monotonic() + LOG_RESTORE_WAIT
        while time.monotonic() < deadline and not self.closing:
            await asyncio.sleep(LOG_RESTORE_POLL)
            if await self._safe(self.agents.event_log.head(self.user_id), None) is not None:
                return True
        return False

    async def too_slow(self) -> None:
        """An account frame would wait behind a backlog: end the tab (4408); the client
        reconnects with its position and gets exactly the frames it missed."""
        if self.closing:
            return
        self.closing = True
        metrics.SLOW_CLOSES.labels(self.counts.label).inc()
        log.info("user %s: closing a slow tab (%d bytes queued)", self.user_id, self.backlog())
        await self.end(CLOSE_TOO_SLOW)

    async def _fill_from_log(self) -> bool:
        """Send the account frames after our position from the event log; if the log
        cannot prove it has all of them, end the tab with 4409 (the client resyncs).
        A log that lost the user's head (Redis restarted empty) is waited for first: the
        owner puts its head and newest frames back once it notices (agents._recover),
        which a relay's process may notice sooner."""
        assert self.user_id is not None and self.last_seq is not None and self.epoch is not None
        position = Position(self.epoch, self.last_seq)
        missed = await self._safe(self.agents.event_log.since(self.user_id, position), None)
        if missed is None and await self._head_restored():
            missed = await self._safe(self.agents.event_log.since(self.user_id, position), None)
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
            self.account_waits.sent()  # replayed fills must be taken in time too

    # -- layer events ------------------------------------------------------------------------
    async def stream_frame(self, event: FrameMessage) -> None:
        """A frame the manager already serialized once for every tab of the user."""
        async with self.order_lock:
            await self._frame(event)

    async def _frame(self, event: FrameMessage) -> None:
        if self.closing:
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
        if self.live.older(kind, event.get("t")):
            return
        backlog = self.backlog()
        if backlog > HOLD_QUOTES_ABOVE:
            self.pacing.hold(kind, event["text"], event.get("t"))
            return
        if kind == "quotes":
            await self.pacing.quotes(event, backlog)
            return
        if self.pacing.has_waiting_values():  # not delayed, and after what came before it
            await self.pacing.send_waiting(backlog)
        await self.emit(event["text"])

    def set_pace(self, max_frequency: float | None) -> None:
        """The client's `pace` message (tabs/quote_pacing.py)."""
        self.pacing.set_max_frequency(max_frequency)

    def flush_interval(self) -> float:
        """This socket's quote interval now (seconds)."""
        return self.pacing.interval()

    def has_waiting_values(self) -> bool:
        return self.pacing.has_waiting_values()

    async def stream_snapshot(self, event: SnapshotReply) -> None:
        """The owner's answer to our snapshot request."""
        snapshot = orjson.loads(event["text"])
        if self.awaiting_snapshot:
            await self._deliver_snapshot(snapshot)
        else:
            await self._reconcile(snapshot)

    async def _reconcile(self, snapshot: SnapshotFrame) -> None:
        """A refresh (after a resume, an owner change or Redis trouble): the live parts,
        and every account frame up to the snapshot's position that we have not sent (some
        may have gone out before the owner knew of this tab); a new epoch: all of it.
        The epoch is compared under `order_lock`: a frame of the new epoch handled
        meanwhile may already have taken the tab there (one resync, not two)."""
        async with self.order_lock:
            if snapshot.get("epoch") != self.epoch:
                if self.epoch is not None:  # the numbering restarted under this tab
                    metrics.RESYNCS.labels("epoch").inc()
                await self._deliver_snapshot_held(snapshot)
                return
            await self.live.send(snapshot)
        await self._catch_up(snapshot["seq"])

    async def _catch_up(self, seq: int) -> None:
        """Account frames up to `seq` that we have not sent yet, from the event log."""
        async with self.order_lock:
            if self.last_seq is not None and seq > self.last_seq:
                await self._fill_from_log()

    async def stream_head(self, event: HeadMessage) -> None:
        """The owner's periodic position: a relay that missed frames (Redis trouble, a
        lost layer message) fetches them from the log; a new epoch means a snapshot."""
        async with self.order_lock:
            if self.awaiting_snapshot or self.closing:
                return
            if event.get("epoch") != self.epoch:
                await self._resnapshot()
            elif self.last_seq is not None and event["seq"] > self.last_seq:
                await self._fill_from_log()

    async def stream_limit(self, event: LimitReply) -> None:
        """The owner refused symbols: the user's stream is at its symbol limit."""
        refused = [s for s in event.get("symbols", []) if s in self.symbols]
        if not refused:
            return
        self.symbols = self._share(self.symbols - set(refused))
        await self.send_frame(frames.subscribed(self.symbols, over_user_limit(refused)))

    async def stream_owner_changed(self, event: OwnerChanged) -> None:
        """A process (maybe another) took over the stream, or Redis recovered: tell the
        owner what we need, then reconcile against a fresh snapshot of it."""
        await self.announce_symbols()
        if self.awaiting_snapshot:
            await self.request_snapshot()
        else:
            await self._refresh_live_state()

    # -- client messages ------------------------------------------------------------------------
    async def change_symbols(self, subscribe: bool, raw_symbols: list[str]) -> None:
        """A client's `subscribe`/`unsubscribe`: answered with `subscribed`, then (for a
        subscribe in the owning process) the values already known, without waiting for
        a tick. Invalid symbols and those over the socket's limit are rejected per symbol."""
        symbols, rejected = apply_change(self.symbols, subscribe, raw_symbols)
        if symbols != self.symbols:
            self.symbols = self._share(symbols)
        await self.announce_symbols()
        await self.send_frame(frames.subscribed(self.symbols, rejected))
        manager = self._owner_here()
        if subscribe and manager is not None:
            snapshot = manager.snapshot(self.symbols)
            known = {s: q for s, q in snapshot["quotes"].items() if s in self.symbols}
            greeks = {s: g for s, g in snapshot["greeks"].items() if s in self.symbols}
            if known or greeks:
                await self.send_frame(frames.quotes(known, greeks, snapshot["t"]))
