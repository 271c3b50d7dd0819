"""The per-user stream manager: one supervisor holding a user's broker sessions.

It runs one adapter per broker link, keeps the last known value of everything (so a
page or a new socket gets a snapshot at once), numbers account events with a per-user
sequence, conflates quotes per symbol (latest wins) and flushes them as one batch per
interval, and publishes every frame through one ordered outbox. Frames are serialized
once here, never per socket. Per-tick work is dictionary updates only: no database,
no I/O. The frames are specified in docs/streaming-contract.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter, OrderedDict
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson

from . import events
from .brokers.base import BrokerAdapter
from .eventlog import EventLog, Fenced, Position, new_epoch
from .validation import MAX_SYMBOLS_PER_USER

log = logging.getLogger(__name__)

#: Orders kept in the snapshot (the newest; older ones live at the broker).
MAX_ORDERS = 200

Publish = Callable[[dict[str, Any], str], Awaitable[None]]
#: Asks whether this process still holds the user's lease (see `authorized`).
Authorize = Callable[[], Awaitable[bool]]
#: Called when a link's state changes (not per tick): e.g. to record a rejected credential.
LinkStateHook = Callable[[int, str, str], Awaitable[None]]


def user_group(user_id: int) -> str:
    """The channel-layer group every socket of one user joins."""
    return f"user.{user_id}"


def owner_group(user_id: int) -> str:
    """The group the owning process's control channel joins (tabs → owner messages)."""
    return f"owner.{user_id}"


#: A tab that has not re-sent its symbols for this long is gone (its process may have died).
TAB_TTL = 90.0
#: The data kinds whose state is reported separately: one failing never hides the other.
KINDS = ("quotes", "account")
#: Market data is stale after this long without a quote while subscribed (seconds).
QUOTE_STALE_AFTER = 10.0
#: Account data is stale after this many of its adapter's confirmation intervals.
STALE_FACTOR = 2.5
#: The quote source hands over after its market data failed (or went stale) this long...
FAILOVER_AFTER = 3.0
#: ...or has not come up at all for this long after the link started (seconds).
FIRST_CONNECT_GRACE = 10.0
#: ...to a link that has not failed as a source in this long.
FAILOVER_COOLDOWN = 60.0
#: How often relays in other processes are told the stream's head (seconds).
HEAD_INTERVAL = 2.0
#: How long `stop` waits for cancelled tasks before cancelling the rest again (seconds).
STOP_RECANCEL = 2.0
#: ...and gives up on tasks still running after this long (they are abandoned, logged).
STOP_GIVE_UP = 10.0
#: Abandoned tasks, referenced until they end (a pending task must not be collected).
_abandoned: set[asyncio.Task[Any]] = set()
#: Outbox frames that only carry the newest state (one queued at a time is enough).
LATEST_WINS = frozenset({"quotes", "head"})
#: The worst state of a link's kinds is the link's state.
_SEVERITY = {"error": 5, "reconnecting": 4, "stale": 3, "connecting": 2, "live": 1, "stopped": 0}
#: Adapter status extras that are shown on the link (others are ignored).
STATUS_EXTRA = ("reconnects", "token_expires_at", "retry_in")


@dataclass
class KindHealth:
    """One data kind of one link: what its adapter said, and whether data is overdue."""

    state: str = "stopped"
    reason: str = ""
    since: int = field(default_factory=events.now_ms)
    #: When data of this kind was last confirmed current (ms), None if never.
    last_ok: int | None = None
    #: Set by the staleness sweep: the adapter says live, but data stopped arriving.
    stale: bool = False
    stale_reason: str = ""
    #: When the data last stopped being live (ms; the start while it never was): a
    #: connect that hangs after a drop counts as down as much as `reconnecting` does.
    down_since: int = field(default_factory=events.now_ms)
    was_live: bool = False

    def set(self, state: str, reason: str) -> None:
        if (state, reason) != (self.state, self.reason) or self.stale:
            self.since = events.now_ms()
        if state != "live" and self.state == "live" and not self.stale:
            self.down_since = events.now_ms()
        self.was_live = self.was_live or state == "live"
        self.state, self.reason, self.stale = state, reason, False

    def mark_stale(self, stale: bool, reason: str = "", *, last_data_ms: int = 0) -> None:
        """The staleness sweep's verdict on a kind its adapter says is live; the data has
        been down since it last arrived."""
        self.stale, self.since = stale, events.now_ms()
        if stale:
            self.stale_reason = reason
            self.down_since = last_data_ms or self.since

    @property
    def shown(self) -> tuple[str, str]:
        if self.stale and self.state == "live":
            return "stale", self.stale_reason
        return self.state, self.reason


@dataclass
class LinkHealth:
    kinds: dict[str, KindHealth] = field(default_factory=lambda: {k: KindHealth() for k in KINDS})
    extra: dict[str, Any] = field(default_factory=dict)
    #: Per kind: how often the adapter promised to confirm the data (seconds).
    expect_every: dict[str, float] = field(default_factory=dict)
    delayed: bool = False
    delay_ms: int | None = None
    #: When this link last stopped being the quote source because it failed (monotonic).
    failed_at: float = -1e9

    def view(self, name: str, info: LinkInfo, *, quote_source: bool) -> dict[str, Any]:
        entry = self.kinds[name]
        if name == "quotes" and not (info.streams_quotes and quote_source):
            state, reason = "idle", ""
        else:
            state, reason = entry.shown
        return {"state": state, "reason": reason, "since": entry.since, "last_ok": entry.last_ok}

    def overall(self, info: LinkInfo, *, quote_source: bool) -> tuple[str, str]:
        """The worst state of the kinds in use (idle ones do not count)."""
        shown = [
            (view["state"], view["reason"])
            for view in (self.view(k, info, quote_source=quote_source) for k in KINDS)
            if view["state"] != "idle"
        ]
        return max(shown, key=lambda s: _SEVERITY.get(s[0], 0), default=("stopped", ""))

    def failing_quotes(self, now: float) -> bool:
        """Whether this link's market data has been down long enough to fail over: in
        error, or not live (stale, reconnecting, a connect that hangs) for
        `FAILOVER_AFTER` — `FIRST_CONNECT_GRACE` while it never came up."""
        quotes = self.kinds["quotes"]
        state, _ = quotes.shown
        if state == "error":
            return True
        if state in ("live", "stopped"):
            return False
        grace = FAILOVER_AFTER if quotes.was_live else FIRST_CONNECT_GRACE
        return events.now_ms() - quotes.down_since >= grace * 1000


@dataclass
class LinkInfo:
    """What the manager knows about a broker link (no secrets)."""

    id: int
    broker: str
    label: str
    simulated: bool
    #: Whether the broker streams quotes; one such link feeds all of the user's quotes.
    streams_quotes: bool = True


@dataclass
class AccountState:
    number: str
    link: LinkInfo
    balance: dict[str, Any] | None = None
    positions: dict[str, dict[str, Any]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "link": self.link.id,
            "broker": self.link.broker,
            "label": self.link.label,
            "simulated": self.link.simulated,
            "balance": self.balance,
            "positions": list(self.positions.values()),
        }


class UserStreamManager:
    """Holds one user's broker adapters and the last-value state they feed."""

    def __init__(
        self,
        user_id: int,
        *,
        links: Iterable[tuple[LinkInfo, BrokerAdapter]],
        publish: Publish,
        flush_interval: float = 0.15,
        on_link_state: LinkStateHook | None = None,
        naive: bool = False,
        event_log: EventLog | None = None,
        owner: str = "",
        authorize: Authorize | None = None,
        watchlist: tuple[list[str], int] | None = None,
        quote_stale_after: float = QUOTE_STALE_AFTER,
    ) -> None:
        self.user_id = user_id
        self.links: dict[int, LinkInfo] = {}
        self.adapters: dict[int, BrokerAdapter] = {}
        for info, adapter in links:
            self.links[info.id] = info
            self.adapters[info.id] = adapter
        self._publish = publish
        self._on_link_state = on_link_state
        self._authorize = authorize
        self.flush_interval = flush_interval
        self.quote_stale_after = quote_stale_after
        self._event_log = event_log
        self._owner = owner
        #: Set when the event log refused a write: another process owns this user now.
        self.fenced = False
        #: A layer publish failed (Redis away): other processes' tabs missed quotes and
        #: statuses; they get the latest of each once publishing works again.
        self._publish_failing = False
        #: Benchmark baseline only: one frame per tick, no conflation (what not to do).
        self.naive = naive
        self.last_event_at: float | None = None
        #: The stream's position: `epoch` names this run of seqs (docs/streaming-contract.md).
        self.epoch = new_epoch()
        self.seq = 0
        self.accounts: dict[str, AccountState] = {}
        self.last_quotes: dict[str, dict[str, Any]] = {}
        self.last_greeks: dict[str, dict[str, Any]] = {}
        #: Newest orders by (link, broker order id): ids are only unique within a broker.
        self.orders: OrderedDict[tuple[int, Any], dict[str, Any]] = OrderedDict()
        self.watchlist, self.watchlist_version = watchlist or ([], 0)
        self._health: dict[int, LinkHealth] = {i: LinkHealth() for i in self.links}
        self.link_status: dict[int, dict[str, Any]] = {}
        self._quote_source: int | None = None
        self._source_delayed = False
        self._last_quote_at: float | None = None
        self.tab_symbols: dict[str, set[str]] = {}
        self._tab_seen: dict[str, float] = {}
        self._pending_quotes: dict[str, dict[str, Any]] = {}
        self._pending_greeks: dict[str, dict[str, Any]] = {}
        self._outbox: asyncio.Queue[tuple[dict[str, Any], str]] = asyncio.Queue()
        #: Quote batches and heads in the outbox, not yet published: while one waits, the
        #: flusher keeps merging (latest wins) instead of queueing more behind it.
        self._queued_live: Counter[str] = Counter()
        self._link_states: asyncio.Queue[tuple[int, str, str]] = asyncio.Queue()
        self._account_lock = asyncio.Lock()
        self._tasks: list[asyncio.Task[Any]] = []
        self.ready = asyncio.Event()  # set once every link is live (snapshot taken) or failed
        self._settled: set[int] = set()
        self._quote_source = self._choose_source()
        for info in self.links.values():
            self.link_status[info.id] = self._render_status(info)

    @property
    def simulated(self) -> bool:
        return any(info.simulated for info in self.links.values())

    @property
    def position(self) -> Position:
        return Position(self.epoch, self.seq)

    # -- lifecycle ----------------------------------------------------------------------
    async def start(self) -> None:
        """Continue the stream's position from the event log (a new epoch if it lost the
        head), then run the adapters."""
        if self._event_log is not None:
            head = await self._event_log.open(self.user_id, self._owner)
            self.epoch, self.seq = head.epoch, head.seq
        self._sync_symbols()
        self._tasks.append(asyncio.create_task(self._sender(), name=f"sender-{self.user_id}"))
        self._tasks.append(asyncio.create_task(self._flusher(), name=f"flusher-{self.user_id}"))
        if self._on_link_state is not None:
            self._tasks.append(asyncio.create_task(self._recorder(), name=f"rec-{self.user_id}"))
        for link_id, adapter in self.adapters.items():
            name = f"adapter-{self.user_id}-{link_id}"
            self._tasks.append(asyncio.create_task(adapter.run(self), name=name))
        if not self.adapters:
            self.ready.set()

    async def stop(self) -> None:
        """Cancel every task and wait until all have ended: a task still running would
        keep a broker session open after the lease moved on. Adapters are told first (their
        loops then never reconnect, see `SupervisedAdapter._raise_if_stopping`), a task
        that let a cancellation slip is cancelled again, and one still running after
        STOP_GIVE_UP is abandoned with an error: a stop never hangs the caller."""
        for adapter in self.adapters.values():
            adapter.stopping()
        pending = {task for task in self._tasks if not task.done()}
        for task in pending:
            task.cancel()
        give_up = time.monotonic() + STOP_GIVE_UP
        while pending:
            _, pending = await asyncio.wait(pending, timeout=STOP_RECANCEL)
            if pending and time.monotonic() >= give_up:
                # e.g. a library's shielded close waiting on a socket that never drains:
                # the stream must not freeze with it (the agent rejoins, tabs go on)
                names = sorted(task.get_name() for task in pending)
                log.error(
                    "user %s: %s did not stop in %.0f s; abandoned",
                    self.user_id,
                    names,
                    STOP_GIVE_UP,
                )
                _abandoned.update(pending)
                for task in pending:
                    task.add_done_callback(_abandoned.discard)
                break
            for task in pending:
                log.warning("user %s: %s outlived a cancel; again", self.user_id, task.get_name())
                task.cancel()
        for task in self._tasks:  # retrieved: no "exception never retrieved" noise
            if task.done() and not task.cancelled():
                task.exception()
        self._tasks.clear()
        for info in self.links.values():
            health = self._health[info.id]
            for kind in KINDS:
                health.kinds[kind].set("stopped", "")
            self.link_status[info.id] = self._render_status(info)

    @property
    def running(self) -> bool:
        return any(not t.done() for t in self._tasks)

    async def restore_head(self) -> None:
        """After the store lost our head (a Redis restart): put it back so that clients
        at exactly this position resume; if another owner started an epoch, stop."""
        if self._event_log is None or self.fenced:
            return
        try:
            await self._event_log.restore(self.user_id, self._owner, self.position)
        except Fenced:
            log.warning("user %s: another process owns the stream; stopping", self.user_id)
            self.fenced = True

    async def authorized(self) -> bool:
        """Whether this process may still speak for the user (the lease gate): checked
        before broker and channel-layer I/O, so a process resumed after a pause stops
        instead of acting on a lease it lost meanwhile."""
        if self.fenced:
            return False
        if self._authorize is None:
            return True
        if not await self._authorize():
            self.fenced = True
            return False
        return True

    # -- subscriptions --------------------------------------------------------------------
    def set_tab_symbols(self, tab: str, symbols: Iterable[str]) -> list[str]:
        """One socket's wanted symbols; the upstream subscription is the union of all,
        at most `MAX_SYMBOLS_PER_USER`: returns the symbols refused for that limit."""
        self._tab_seen[tab] = time.monotonic()
        symbols = set(symbols)
        others = self.wanted_symbols(exclude_tab=tab)
        room = MAX_SYMBOLS_PER_USER - len(others)
        new = sorted(symbols - others)
        refused = new[max(room, 0) :]
        symbols -= set(refused)
        if self.tab_symbols.get(tab) != symbols:
            self.tab_symbols[tab] = symbols
            self._sync_symbols()
        return refused

    def drop_tab(self, tab: str) -> None:
        self._tab_seen.pop(tab, None)
        if self.tab_symbols.pop(tab, None) is not None:
            self._sync_symbols()

    def expire_tabs(self, ttl: float = TAB_TTL) -> None:
        """Forget tabs that stopped re-sending their symbols (their process died)."""
        cutoff = time.monotonic() - ttl
        for tab in [t for t, seen in self._tab_seen.items() if seen < cutoff]:
            self.drop_tab(tab)

    def set_watchlist(self, symbols: list[str], version: int) -> None:
        """The user's watchlist changed (any tab, any device): every tab gets it."""
        if version <= self.watchlist_version:
            return
        self.watchlist, self.watchlist_version = list(symbols), version
        self._sync_symbols()
        self._send({"type": "watchlist", "symbols": self.watchlist, "version": version})

    def wanted_symbols(self, exclude_tab: str | None = None) -> set[str]:
        wanted: set[str] = set(self.watchlist)
        for tab, symbols in self.tab_symbols.items():
            if tab != exclude_tab:
                wanted |= symbols
        for account in self.accounts.values():
            for position in account.positions.values():
                if position.get("streamer_symbol"):
                    wanted.add(position["streamer_symbol"])
        return wanted

    def quote_source(self) -> int | None:
        """The link that streams the user's quotes now (see `_choose_source`)."""
        return self._quote_source

    def _choose_source(self) -> int | None:
        """One source, not one per broker: the same symbol from two feeds would interleave
        two different markets (and cost a second upstream subscription). The current
        source stays while it works; a source whose market data failed or went stale for
        `FAILOVER_AFTER` hands over to the first capable link that is not failing (and did
        not fail recently), and a credential error hands over at once."""
        capable = [i for i, info in self.links.items() if info.streams_quotes]
        if not capable:
            return None
        now = time.monotonic()
        current = self._quote_source
        if current in capable and not self._health[current].failing_quotes(now):
            return current

        def healthy(link_id: int) -> bool:
            health = self._health[link_id]
            recent = now - health.failed_at < FAILOVER_COOLDOWN
            return not recent and health.kinds["quotes"].state not in ("error", "reconnecting")

        for link_id in capable:
            if link_id != current and healthy(link_id):
                if current is not None:
                    self._health[current].failed_at = now
                    log.warning(
                        "user %s: quotes fail over from link %s to link %s",
                        self.user_id,
                        current,
                        link_id,
                    )
                return link_id
        if current in capable:
            return current  # nothing better: keep trying the one we have
        for link_id in capable:
            if self._health[link_id].kinds["quotes"].state != "error":
                return link_id
        return capable[0]

    def _sync_symbols(self) -> None:
        wanted = self.wanted_symbols()
        source = self._choose_source()
        if source != self._quote_source:
            previous, self._quote_source = self._quote_source, source
            self._last_quote_at = time.time()  # the new source gets the full grace period
            for link_id in (previous, source):
                if link_id is not None:
                    self._health[link_id].kinds["quotes"].since = events.now_ms()
                    self._emit_status(link_id)
        self._source_delayed = bool(source is not None and self._health[source].delayed)
        for link_id, adapter in self.adapters.items():
            adapter.set_symbols(wanted if link_id == source else set())

    # -- the sink adapters report into (AdapterSink) ----------------------------------------
    def quote(self, symbol: str, fields: dict[str, Any]) -> None:
        """Per tick: merge into the last value and into the pending batch. Nothing else."""
        now = time.time()
        self.last_event_at = now
        self._last_quote_at = now
        fields.setdefault("t", int(now * 1000))
        if self._source_delayed or self.last_quotes.get(symbol, {}).get("delayed"):
            fields["delayed"] = self._source_delayed
        _merge(self.last_quotes, symbol, fields)
        if self.naive:
            self._send(
                {"type": "quotes", "quotes": {symbol: fields}, "greeks": {}, "t": fields["t"]}
            )
            return
        _merge(self._pending_quotes, symbol, fields)

    def greeks(self, symbol: str, fields: dict[str, Any]) -> None:
        self.last_event_at = time.time()
        fields.setdefault("t", int(self.last_event_at * 1000))
        _merge(self.last_greeks, symbol, fields)
        _merge(self._pending_greeks, symbol, fields)

    def fresh(self, link_id: int, kind: str) -> None:
        """An adapter confirmed data of `kind` current now (a heartbeat, a poll round)."""
        health = self._health.get(link_id)
        if health is None or kind not in health.kinds:
            return
        if kind == "quotes" and link_id == self._quote_source:
            self._last_quote_at = time.time()
        entry = health.kinds[kind]
        entry.last_ok = events.now_ms()
        if entry.stale:
            entry.stale = False
            entry.since = events.now_ms()
            self._emit_status(link_id)

    async def account_event(self, kind: str, link_id: int, account: str, payload: Any) -> None:
        """Apply an account event to the state, number it, and send it (never conflated)."""
        if kind not in events.ACCOUNT_FRAME_TYPES:
            raise ValueError(f"unknown account event kind {kind!r}")
        link = self.links[link_id]
        state = self.accounts.setdefault(account, AccountState(account, link))
        positions_changed = False
        if kind == "balance":
            state.balance = payload
        elif kind == "positions":
            state.positions = {p["symbol"]: p for p in payload}
            positions_changed = True
        elif kind == "position":
            if payload.get("quantity") in (0, None):
                state.positions.pop(payload["symbol"], None)
            else:
                state.positions[payload["symbol"]] = payload
            positions_changed = True
        elif kind == "order":
            # one status vocabulary for every broker (the browser knows which are final)
            payload = {**payload, "status": events.order_status(payload.get("status"))}
            key = (link_id, payload["id"])
            self.orders[key] = {**payload, "link": link_id, "account": account}
            self.orders.move_to_end(key)
            while len(self.orders) > MAX_ORDERS:
                self.orders.popitem(last=False)
        self.fresh(link_id, "account")
        body_key = {"balance": "balance", "positions": "positions", "position": "position"}
        # Numbering, logging and queueing in one step per user: two adapters reporting at
        # once must not reach the outbox in another order than their seqs (a tab would
        # see a gap the log cannot fill yet, and resync).
        async with self._account_lock:
            self.seq += 1
            self.last_event_at = time.time()
            frame = {
                "type": kind,
                "epoch": self.epoch,
                "seq": self.seq,
                "account": account,
                "link": link_id,
                body_key.get(kind, "order"): payload,
                "t": int(self.last_event_at * 1000),
                "simulated": link.simulated,
            }
            text = orjson.dumps(frame).decode()
            await self._log(self.position, text)
            self._outbox.put_nowait((frame, text))
        if positions_changed:
            self._sync_symbols()

    async def _log(self, position: Position, text: str) -> None:
        """Keep the frame for resuming sockets; a fenced write means we are not the owner."""
        if self._event_log is None or self.fenced:
            return
        try:
            await self._event_log.append(self.user_id, self._owner, position, text)
        except Fenced:
            log.warning("user %s: another process owns the stream; stopping", self.user_id)
            self.fenced = True
        except Exception as exc:  # Redis away: the frame still goes out; the log has a
            # hole now, so a socket that needs this frame from it takes a fresh snapshot
            log.debug("user %s: event log write failed: %s", self.user_id, exc)

    async def status(
        self, link_id: int, state: str, reason: str = "", *, kind: str = "all", **extra: Any
    ) -> None:
        """A link's adapter reports the state of one data kind (or of all of them)."""
        info = self.links[link_id]
        health = self._health[link_id]
        before = health.overall(info, quote_source=link_id == self._quote_source)[0]
        for name in KINDS if kind == "all" else (kind,):
            entry = health.kinds[name]
            entry.set(state, reason)
            if state == "live":
                entry.last_ok = events.now_ms()
                if name == "quotes" and link_id == self._quote_source:
                    self._last_quote_at = time.time()
        health.extra.update({k: v for k, v in extra.items() if k in STATUS_EXTRA})
        if "expect_every" in extra:
            health.expect_every[kind] = float(extra["expect_every"])
        if "delayed" in extra:
            health.delayed = bool(extra["delayed"])
            health.delay_ms = extra.get("delay_ms") if health.delayed else None
        self._sync_symbols()  # the quote source may fail over (or the delay flag change)
        if kind in ("account", "all") and state in ("live", "error"):
            # account live comes after the link's full REST snapshot
            self._settled.add(link_id)
            if self._settled >= set(self.links):
                self.ready.set()
        self._emit_status(link_id)
        after = health.overall(info, quote_source=link_id == self._quote_source)[0]
        if self._on_link_state and after != before:
            # recorded in the background, in order: a slow or locked database must never
            # hold up an adapter (a stalled adapter is a dead stream)
            self._link_states.put_nowait((link_id, after, reason))

    async def _recorder(self) -> None:
        assert self._on_link_state is not None
        while True:
            link_id, state, reason = await self._link_states.get()
            try:
                await self._on_link_state(link_id, state, reason)
            except Exception:
                log.exception("recording the state of link %s failed", link_id)

    def _emit_status(self, link_id: int) -> None:
        """Render a link's status and send it if anything a trader sees changed."""
        info = self.links[link_id]
        status = self._render_status(info)
        previous = self.link_status.get(link_id)
        self.link_status[link_id] = status
        if previous is None or _visible(previous) != _visible(status):
            self._send({"type": "status", "link": status, "t": events.now_ms()})

    def _render_status(self, info: LinkInfo) -> dict[str, Any]:
        health = self._health[info.id]
        is_source = info.id == self._quote_source
        state, reason = health.overall(info, quote_source=is_source)
        age = None
        if self.last_event_at:
            age = int((time.time() - self.last_event_at) * 1000)
        since = max((k.since for k in health.kinds.values()), default=events.now_ms())
        return {
            "id": info.id,
            "broker": info.broker,
            "label": info.label,
            "state": state,
            "reason": reason,
            "since": since,
            "kinds": {name: health.view(name, info, quote_source=is_source) for name in KINDS},
            "quote_source": is_source,
            "delayed": health.delayed,
            "delay_ms": health.delay_ms,
            "last_event_age_ms": age,
            "reconnects": health.extra.get("reconnects", 0),
            "token_expires_at": health.extra.get("token_expires_at"),
            "retry_in": health.extra.get("retry_in"),
            "simulated": info.simulated,
        }

    def _sweep_staleness(self) -> None:
        """Data that stopped arriving is shown stale, even if no adapter said so: the
        source's market data after `quote_stale_after` without a quote, account data after
        2.5 times the interval its adapter promised to confirm it in."""
        now = time.time()
        for link_id, health in self._health.items():
            changed = False
            quotes = health.kinds["quotes"]
            if link_id == self._quote_source and quotes.state == "live" and self.wanted_symbols():
                last = self._last_quote_at or (quotes.last_ok or 0) / 1000
                overdue = now - last > self.quote_stale_after
                if overdue != quotes.stale:
                    quotes.mark_stale(
                        overdue,
                        f"no market data for {now - last:.0f} s",
                        last_data_ms=int(last * 1000),
                    )
                    changed = True
            account = health.kinds["account"]
            every = health.expect_every.get("account")
            if account.state == "live" and every:
                last = (account.last_ok or 0) / 1000
                overdue = now - last > STALE_FACTOR * every
                if overdue != account.stale:
                    account.mark_stale(
                        overdue,
                        f"account data {now - last:.0f} s old",
                        last_data_ms=int(last * 1000),
                    )
                    changed = True
            if changed:
                self._emit_status(link_id)
        if self._quote_source is not None and self._health[self._quote_source].failing_quotes(
            time.monotonic()
        ):
            self._sync_symbols()

    # -- publishing -----------------------------------------------------------------------
    def _send(self, frame: dict[str, Any]) -> None:
        """Serialize once and queue; the sender publishes in order."""
        if frame["type"] in LATEST_WINS:
            self._queued_live[frame["type"]] += 1
        self._outbox.put_nowait((frame, orjson.dumps(frame).decode()))

    async def _sender(self) -> None:
        while True:
            frame, text = await self._outbox.get()
            if frame["type"] in LATEST_WINS:
                self._queued_live[frame["type"]] -= 1
            if not await self.authorized():
                continue  # not the owner any more: the new owner speaks for this user
            try:
                await self._publish(frame, text)
            except Exception as exc:
                if not self._publish_failing:
                    log.warning("user %s: publishing frames failed: %s", self.user_id, exc)
                self._publish_failing = True
                continue
            if self._publish_failing:
                # other processes' tabs missed quotes and statuses: send the latest ones
                # (account frames they missed come from the event log: see `head` frames)
                self._publish_failing = False
                log.warning("user %s: publishing frames works again", self.user_id)
                self.republish_live_state()

    def republish_live_state(self) -> None:
        """The latest quotes and statuses, and the head, for tabs in other processes
        (after Redis trouble they may have missed some)."""
        for link_id in self.links:
            self._send({"type": "status", "link": self.link_status[link_id], "t": events.now_ms()})
        wanted = self.wanted_symbols()
        quotes = {s: q for s, q in self.last_quotes.items() if s in wanted}
        greeks = {s: g for s, g in self.last_greeks.items() if s in wanted}
        if quotes or greeks:
            self._send({"type": "quotes", "quotes": quotes, "greeks": greeks, "t": events.now_ms()})
        self._send_head()

    def _send_head(self) -> None:
        """Where the stream is (not a client frame): relays in other processes compare it
        with what they relayed and fetch what they missed from the event log."""
        self._send({"type": "head", "epoch": self.epoch, "seq": self.seq})

    async def _flusher(self) -> None:
        """One quote batch per interval, only when something changed (latest wins)."""
        last_sweep = last_stale = last_head = time.monotonic()
        while True:
            await asyncio.sleep(self.flush_interval)
            now = time.monotonic()
            if now - last_sweep > 10:
                last_sweep = now
                self.expire_tabs()
            if now - last_stale >= 1.0:
                last_stale = now
                self._sweep_staleness()
            if now - last_head >= HEAD_INTERVAL and not self._queued_live["head"]:
                last_head = now
                self._send_head()
            if self._queued_live["quotes"]:
                # publishing is behind (slow Redis, a busy process): the batch waiting in
                # the outbox goes first; newer ticks merge into the next one meanwhile, so
                # neither the outbox nor the quotes' age grows with the lag
                continue
            if self._pending_quotes or self._pending_greeks:
                quotes, self._pending_quotes = self._pending_quotes, {}
                greeks, self._pending_greeks = self._pending_greeks, {}
                self._send(
                    {"type": "quotes", "quotes": quotes, "greeks": greeks, "t": events.now_ms()}
                )

    # -- reading ---------------------------------------------------------------------------
    def snapshot(self, symbols: Iterable[str] | None = None) -> dict[str, Any]:
        """The full current state (contract `snapshot`), for pages and new sockets."""
        wanted = self.wanted_symbols() if symbols is None else set(symbols) | self.wanted_symbols()
        return {
            "type": "snapshot",
            "epoch": self.epoch,
            "seq": self.seq,
            "simulated": self.simulated,
            "accounts": [a.as_dict() for a in self._accounts_in_link_order()],
            "quotes": {s: q for s, q in self.last_quotes.items() if s in wanted},
            "greeks": {s: g for s, g in self.last_greeks.items() if s in wanted},
            "orders": list(reversed(self.orders.values())),
            "links": list(self.link_status.values()),
            "watchlist": {"symbols": self.watchlist, "version": self.watchlist_version},
            "subscriptions": sorted(wanted),
            "t": events.now_ms(),
        }

    def _accounts_in_link_order(self) -> list[AccountState]:
        """Accounts grouped by link, links in the order they were made (stable pages)."""
        rank = {link_id: i for i, link_id in enumerate(self.links)}
        return sorted(self.accounts.values(), key=lambda a: (rank.get(a.link.id, 0), a.number))

    async def wait_ready(self, within: float) -> bool:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(within):
                await self.ready.wait()
        return self.ready.is_set()


def _visible(status: dict[str, Any]) -> tuple[Any, ...]:
    """What a status frame is sent for (not the ages, which change all the time)."""
    kinds = tuple((name, k["state"], k["reason"]) for name, k in sorted(status["kinds"].items()))
    return (
        status["state"],
        status["reason"],
        kinds,
        status["quote_source"],
        status["delayed"],
        status["reconnects"],
        status["retry_in"],
        status["token_expires_at"],
    )


def _merge(table: dict[str, dict[str, Any]], symbol: str, fields: dict[str, Any]) -> None:
    """Latest values win per field, but `t` stays the newest time seen: a Trade event
    carrying an older trade time must not make a fresh quote look old."""
    entry = table.get(symbol)
    if entry is None:
        table[symbol] = dict(fields)
        return
    t = entry.get("t")
    entry.update(fields)
    if t is not None and entry["t"] < t:
        entry["t"] = t
