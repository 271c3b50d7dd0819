"""The per-user stream manager: one supervisor holding a user's broker sessions.

It runs one adapter per broker link and is the sink they report into (`LinkSink`): the
quotes and the links' health are the quote feed's (quote_feed.py), account events are
applied to the user's state (state.py: last values, accounts, orders, the stream's
position) and written ahead to the event log (write_ahead.py); it subscribes the quote
source to the union of what the user's tabs and listeners want (subscriptions.py), and
publishes every frame through one ordered outbox (outbox.py), quotes conflated per flush
interval. Per-tick work is dictionary updates only: no database, no I/O. Features (price
alerts, news, market metrics) are listeners handed in at the composition root
(listener.py); what the stream does for them is listener_services.py. Where a
frame goes is not its concern: `publish` is injected (fanout.py in the server, the
terminal in `manage.py stream_test`). The frames are specified in
docs/streaming-contract.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Sequence
from typing import Any, TypeVar

import orjson

from streaming import metrics
from streaming.brokers.base import AccountKind, AccountPayload, BrokerAdapter
from streaming.brokers.payloads import GreeksFields, QuoteFields
from streaming.contract.frames import QuotesFrame, SnapshotFrame, WatchlistFrame
from streaming.runtime.clock import SYSTEM, Clock
from streaming.runtime.heap import Lifetimes
from streaming.stream.flusher import Flusher
from streaming.stream.health import DEFAULT_QUOTE_WAITS, LinkHealth, QuoteWaits
from streaming.stream.listener import StreamListener
from streaming.stream.listener_services import ListenerServices
from streaming.stream.outbox import Outbox, Publish, QuoteBatch, Sender
from streaming.stream.position import Position
from streaming.stream.quote_feed import QuoteFeed, status_frame
from streaming.stream.recording import UserRecording
from streaming.stream.sink import LinkSink
from streaming.stream.state import LinkInfo, UserState
from streaming.stream.subscriptions import TAB_TTL, TabSymbols
from streaming.stream.tasks import stop_tasks
from streaming.stream.write_ahead import WriteAhead, WriteAheadLog

log = logging.getLogger(__name__)

#: Asks whether this process still holds the user's lease (see `authorized`).
Authorize = Callable[[], Awaitable[bool]]
#: Called when a link's state changes (not per tick): e.g. to record a rejected credential.
LinkStateHook = Callable[[int, str, str], Awaitable[None]]
L = TypeVar("L")


__all__ = ["Authorize", "LinkInfo", "LinkStateHook", "Publish", "UserStreamManager"]


class UserStreamManager(ListenerServices):
    """Holds one user's broker adapters and the state they feed."""

    def __init__(
        self,
        user_id: int,
        *,
        links: Iterable[tuple[LinkInfo, BrokerAdapter]],
        publish: Publish,
        flush_interval: float = 0.15,
        on_link_state: LinkStateHook | None = None,
        quote_batch: Callable[[], QuoteBatch] = QuoteBatch,
        event_log: WriteAheadLog | None = None,
        owner: str = "",
        authorize: Authorize | None = None,
        watchlist: tuple[list[str], int] | None = None,
        quote_waits: QuoteWaits = DEFAULT_QUOTE_WAITS,
        listeners: Sequence[StreamListener] = (),
        lifetimes: Lifetimes | None = None,
        recording: UserRecording | None = None,
        clock: Clock = SYSTEM,
        epoch: str | None = None,
    ) -> None:
        """`clock`, `epoch`: the stream's time and epoch, a replay's own (streaming/replay/)."""
        self.user_id = user_id
        self.clock = clock
        #: Where the links' reports are recorded as they come (None: not recorded).
        self.recording = recording
        links = list(links)
        self.links: dict[int, LinkInfo] = {info.id: info for info, _ in links}
        self.adapters: dict[int, BrokerAdapter] = {info.id: adapter for info, adapter in links}
        self.state = UserState(self.links.values(), watchlist, epoch=epoch)
        self.tabs = TabSymbols(clock)
        #: Until when a page (not a tab) shows the stream (monotonic s; `shown_for`).
        self._shown_until = 0.0
        self._on_link_state = on_link_state
        self._authorize = authorize
        self._owner = owner
        self._log = WriteAhead(user_id, owner, event_log)
        #: Features run beside the stream (listener.py), handed in by the composition root.
        self.listeners = list(listeners)
        self._batch = quote_batch()
        self._outbox = Outbox()
        self._sender = Sender(
            user_id,
            self._outbox,
            publish,
            wait_written=self._log.wait,
            authorized=self.authorized,
            recovered=self.republish_live_state,
        )
        self.feed = QuoteFeed(
            user_id,
            links=self.links,
            adapters=self.adapters,
            state=self.state,
            batch=self._batch,
            send=self._outbox.put,
            wanted=self.wanted_symbols,
            resync=self._sync_symbols,
            on_quote=self._on_quote,
            waits=quote_waits,
            clock=clock,
        )
        self.flusher = Flusher(
            interval=flush_interval,
            outbox=self._outbox,
            batch=self._batch,
            feed=self.feed,
            state=self.state,
            expire_tabs=self.expire_tabs,
            clock=clock,
        )
        self._link_states: asyncio.Queue[tuple[int, str, str]] = asyncio.Queue()
        self._tasks: list[asyncio.Task[Any]] = []
        #: Tasks that outlived a stop (stream/tasks.py), kept until they end.
        self.abandoned: set[asyncio.Task[Any]] = set()
        #: Counted among the process's long-lived things while it runs (runtime/heap.py;
        #: its node's, handed in by wiring; a manager of its own, a test's, counts alone):
        #: the token of its start.
        self._lifetimes = lifetimes if lifetimes is not None else Lifetimes()
        self._lifetime: int | None = None
        self.ready = asyncio.Event()  # set once every link is live (snapshot taken) or failed
        self._settled: set[int] = set()
        for listener in self.listeners:
            listener.attach(self)

    @property
    def simulated(self) -> bool:
        return self.state.simulated

    @property
    def position(self) -> Position:
        return self.state.position

    @property
    def fenced(self) -> bool:
        """The event log or the lease gate refused us: another process owns this user."""
        return self._log.fenced

    def listener(self, kind: type[L]) -> L | None:
        """The listener of that class, if the stream runs one (e.g. a feature's own view)."""
        return next((x for x in self.listeners if isinstance(x, kind)), None)

    # -- lifecycle ----------------------------------------------------------------------
    async def start(self) -> None:
        """Continue the stream's position from the event log (a new epoch if it lost the
        head), then run the adapters and the listeners."""
        head = await self._log.open()
        if head is not None:
            self.state.continue_from(head)
        if self.recording is not None:
            self.recording.started(self.links.values(), self.state)
        self._sync_symbols()
        self._spawn(self._sender.run(), f"sender-{self.user_id}")
        self._spawn(self.flusher.run(), f"flusher-{self.user_id}")
        if self._on_link_state is not None:
            self._spawn(self._recorder(), f"rec-{self.user_id}")
        for listener in self.listeners:
            self._spawn(listener.run(), f"{type(listener).__name__}-{self.user_id}")
        for link_id, adapter in self.adapters.items():
            sink = LinkSink(self, self.feed, link_id, self.links[link_id].broker, self.recording)
            self._spawn(adapter.run(sink), f"adapter-{self.user_id}-{link_id}")
        if not self.adapters:
            self.ready.set()
        for info in self.links.values():
            self.feed.count_state(info, self.state.link_status[info.id]["state"])
        if self._lifetime is None:
            self._lifetime = self._lifetimes.began()

    def _spawn(self, work: Coroutine[Any, Any, Any], name: str) -> None:
        self._tasks.append(asyncio.create_task(work, name=name))

    async def stop(self) -> None:
        """Cancel every task and wait until all have ended (tasks.py). Adapters are told
        first: their loops then never reconnect (`SupervisedAdapter._raise_if_stopping`)."""
        for adapter in self.adapters.values():
            adapter.stopping()
        if self.recording is not None:
            self.recording.stopped()
        await stop_tasks(self._tasks, self.user_id, self.abandoned)
        self.feed.mark_stopped()
        if self._lifetime is not None:
            self._lifetimes.ended(self._lifetime)  # its objects may be cyclic garbage now
            self._lifetime = None

    @property
    def running(self) -> bool:
        return any(not t.done() for t in self._tasks)

    async def restore_head(self) -> None:
        """After the store lost our head or frames: put them back (write_ahead.py)."""
        await self._log.restore(self.position)

    async def authorized(self) -> bool:
        """Whether this process may still speak for the user (the lease gate): checked
        before broker and channel-layer I/O, so a process resumed after a pause stops
        instead of acting on a lease it lost meanwhile."""
        if self._log.fenced:
            return False
        if self._authorize is None:
            return True
        if not await self._authorize():
            self._log.fenced = True
            return False
        return True

    # -- subscriptions --------------------------------------------------------------------
    def set_tab_symbols(self, tab: str, symbols: Iterable[str], ttl: float = TAB_TTL) -> list[str]:
        """One tab's wanted symbols (a socket's, or a polling page's for `ttl` s); the
        upstream subscription is the union of all, at most `MAX_SYMBOLS_PER_USER`: returns
        the symbols refused for that limit."""
        new_tab = tab not in self.tabs.by_tab
        before = self.tabs.by_tab.get(tab, set())
        changed, refused = self.tabs.set(
            tab, symbols, self.wanted_symbols(exclude_tab=tab), ttl=ttl
        )
        if changed:
            self._sync_symbols()
            # they go out whole with the next batch: a tab elsewhere has nothing of them yet
            self._batch.add_known(self.state, self.tabs.by_tab.get(tab, set()) - before)
        if new_tab:
            for listener in self.listeners:
                listener.on_tab_opened()
        return refused

    def drop_tab(self, tab: str) -> None:
        if self.tabs.drop(tab):
            self._sync_symbols()

    def expire_tabs(self, ttl: float | None = None) -> None:
        """Forget tabs that stopped re-sending their symbols (their process died, a polling
        page closed), each after its own TTL unless `ttl` is given; and a page's showing
        once it ran out."""
        for tab in self.tabs.silent(ttl):
            self.drop_tab(tab)
        if self._shown_until and self.clock.monotonic() >= self._shown_until:
            self._shown_until = 0.0
            self._sync_symbols()

    def shown_for(self, seconds: float) -> None:
        """A page (a render, an API read, a poll) shows the stream for `seconds` (its
        hold): its positions stream meanwhile, as for a tab."""
        was = self.viewed
        self._shown_until = max(self._shown_until, self.clock.monotonic() + seconds)
        if not was:
            self._sync_symbols()

    @property
    def tab_symbols(self) -> dict[str, set[str]]:
        return self.tabs.by_tab

    def set_watchlist(self, symbols: list[str], version: int) -> None:
        """The user's watchlist changed (any tab, any device): every tab gets it."""
        if not self.state.set_watchlist(symbols, version):
            return
        if self.recording is not None:
            self.recording.watchlist(list(self.state.watchlist), version)
        self._sync_symbols()
        frame: WatchlistFrame = {
            "type": "watchlist",
            "symbols": self.state.watchlist,
            "version": version,
        }
        self._outbox.put(frame)

    @property
    def viewed(self) -> bool:
        """Whether a page shows the stream (a tab, a polling page or an API stream, a page
        rendered or read within its hold: `shown_for`), rather than only a watch running
        it with no page open (cluster/watch.py)."""
        return bool(self.tabs.by_tab) or self.clock.monotonic() < self._shown_until

    @property
    def positions_streamed(self) -> bool:
        """Whether the positions' quotes stream: while a page shows them, or a listener
        evaluates them with no page open (a limit, P&L all day)."""
        return self.viewed or any(listener.watches_positions() for listener in self.listeners)

    def wanted_symbols(self, exclude_tab: str | None = None) -> set[str]:
        """What the quote source is subscribed to: the listeners' symbols (an alert's)
        always; the positions' when `positions_streamed`; the watchlist and the tabs' only
        while a page shows the stream. `exclude_tab`: the others' for a tab being set (so it
        counts as shown)."""
        wanted: set[str] = set()
        if self.viewed or exclude_tab is not None:
            wanted |= set(self.state.watchlist) | self.tabs.union(exclude_tab)
            wanted |= self.state.position_symbols()
        elif self.positions_streamed:
            wanted |= self.state.position_symbols()
        for listener in self.listeners:
            wanted |= listener.symbols()  # e.g. active alerts stream while the stream runs
        return wanted

    def accounts_known(self) -> bool:
        """Whether every link's account snapshot was taken (its account data was live at
        least once): before, no order listed is not "no order"."""
        return all(self.feed.health[link_id].kinds["account"].was_live for link_id in self.links)

    def symbols_changed(self) -> None:
        """Something outside the tabs changed what the stream wants (a listener's)."""
        self._sync_symbols()

    def user_changed(self, what: str) -> None:
        """The user edited something outside the stream (e.g. "alerts", in any process):
        the listeners that read it read it again."""
        for listener in self.listeners:
            listener.on_user_changed(what)

    def _sync_symbols(self) -> None:
        wanted = self.wanted_symbols()
        if self.recording is not None:
            self.recording.wanted(wanted)  # what the pages asked for: a replay asks the same
        self.feed.subscribe(wanted)
        for listener in self.listeners:
            listener.on_symbols(wanted)

    # -- the sink adapters report into (AdapterSink, through LinkSink) -----------------------
    def quote_from(self, link_id: int, symbol: str, fields: QuoteFields) -> None:
        self.feed.quote_from(link_id, symbol, fields)

    def greeks_from(self, link_id: int, symbol: str, fields: GreeksFields) -> None:
        self.feed.greeks_from(link_id, symbol, fields)

    def quote(self, symbol: str, fields: QuoteFields) -> None:
        """Per tick: the user's quote (quote_feed.py, `QuoteFeed.quote`)."""
        self.feed.quote(symbol, fields)

    def greeks(self, symbol: str, fields: GreeksFields) -> None:
        self.feed.greeks(symbol, fields)

    def _on_quote(self, symbol: str, quote: QuoteFields) -> None:
        for listener in self.listeners:
            listener.on_quote(symbol, quote)

    def fresh(self, link_id: int, kind: str) -> None:
        """An adapter confirmed data of `kind` current now (a heartbeat, a poll round)."""
        self.feed.fresh(link_id, kind)

    async def status(
        self, link_id: int, state: str, reason: str = "", *, kind: str = "all", **extra: Any
    ) -> None:
        """A link's adapter reports the state of one data kind (or of all of them)."""
        before, after = self.feed.report(link_id, state, reason, kind, extra)
        if kind in ("account", "all") and state in ("live", "error"):
            # account live comes after the link's full REST snapshot
            self._settled.add(link_id)
            if self._settled >= set(self.links):
                self.ready.set()
        self.feed.emit_status(link_id)
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

    async def account_event(
        self, kind: AccountKind, link_id: int, account: str, payload: AccountPayload
    ) -> None:
        """Apply an account event to the state, number it, write it ahead to the event
        log and queue it (never conflated). The write is not waited for here: the sender
        publishes the frame once it is done, in seq order, and the user's next event (a
        fill right behind a balance) is numbered and written meanwhile instead of waiting
        for this write's round trip."""
        self._account(kind, link_id, account, payload)

    async def account_event_logged(
        self, kind: str, link_id: int, account: str, payload: Any
    ) -> None:
        """`account_event`, returning once the frame is in the event log (or its write
        failed, as `WriteAhead.wait` handles it): for a caller that records delivery only
        then (the alerts: a trigger marked delivered is never sent again)."""
        written = self._account(kind, link_id, account, payload)
        if written is not None:
            await self._log.wait(written)

    def _account(
        self, kind: str, link_id: int, account: str, payload: Any
    ) -> asyncio.Future[None] | None:
        """Numbering, sending the write and queueing are one step, with no wait in it: two
        adapters reporting at once reach the outbox in their seqs' order (a tab would see
        a gap the log cannot fill yet, and resync). Returns the write (None: no log)."""
        self.feed.last_event_at = self.clock.time()
        frame = self.state.apply_account_event(
            kind, link_id, account, payload, now_ms=int(self.feed.last_event_at * 1000)
        )
        metrics.observe_account_stage(frame, "numbered")
        text = orjson.dumps(frame).decode()
        written = self._log.write(self.position, text)
        self._outbox.put(frame, text, written)
        self.fresh(link_id, "account")
        if kind in ("positions", "position"):
            self._sync_symbols()
        elif kind == "order":
            for listener in self.listeners:
                listener.on_order(link_id, account, payload)
        return written

    # -- publishing -----------------------------------------------------------------------
    def republish_live_state(self) -> None:
        """The latest quotes, statuses and metrics, and the head, for tabs in other processes
        (after Redis trouble they may have missed some)."""
        for link_id in self.links:
            self._outbox.put(status_frame(self.state.link_status[link_id], self.clock.now_ms()))
        quotes, greeks = self.state.live_values(self.wanted_symbols())
        if quotes or greeks:
            frame: QuotesFrame = {
                "type": "quotes",
                "quotes": quotes,
                "greeks": greeks,
                "t": self.clock.now_ms(),
            }
            self._outbox.put(frame)
        if self.state.metrics:
            self._send_metrics()
        self.flusher.send_head()

    # -- reading ---------------------------------------------------------------------------
    @property
    def health_version(self) -> int:
        """Counts the status changes a trader sees (health_report.py writes on a move)."""
        return self.feed.health_version

    @health_version.setter
    def health_version(self, version: int) -> None:
        self.feed.health_version = version

    @property
    def last_event_at(self) -> float | None:
        return self.feed.last_event_at

    @property
    def last_quote_at(self) -> float | None:
        """When the quote source last sent market data (epoch s), None if never."""
        return self.feed.last_quote_at

    @property
    def quote_stale_after(self) -> float:
        return self.feed.waits.stale_after

    @property
    def quote_feed(self) -> str | None:
        """The feed the user's quotes come from now ("<link>:<n>"), None without a source."""
        return self.feed.feed

    def quote_source(self) -> int | None:
        """The link that streams the user's quotes now (see `health.choose_quote_source`)."""
        return self.feed.source

    def silence_threshold(self) -> float:
        """Seconds without market data after which the source is shown stale now."""
        return self.feed.silence_threshold()

    def quotes_used(self, link_id: int) -> bool:
        """Whether the link's market data is in use now (the source's, or the coin feed's)."""
        return self.feed.quotes_used(link_id)

    def link_health(self, link_id: int) -> LinkHealth:
        """One link's health (read-only use: the stream-health report)."""
        return self.feed.health[link_id]

    def snapshot(self, symbols: Iterable[str] | None = None) -> SnapshotFrame:
        """The full current state (contract `snapshot`), for pages and new sockets."""
        # a page being rendered is not a tab yet: it gets what it shows, streamed or last known
        wanted = self.wanted_symbols() | self.state.position_symbols() | set(self.state.watchlist)
        if symbols is not None:
            wanted |= set(symbols)
        return self.state.snapshot(wanted, now_ms=self.clock.now_ms())

    async def wait_ready(self, within: float) -> bool:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(within):
                await self.ready.wait()
        return self.ready.is_set()
