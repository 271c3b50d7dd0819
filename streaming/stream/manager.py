"""The per-user stream manager: one supervisor holding a user's broker sessions.

It runs one adapter per broker link and is the sink they report into: it feeds the
user's state (state.py: last values, accounts, orders, the stream's position), keeps
each link's health per data kind (health.py), subscribes the quote source to the union
of what the user's tabs want (subscriptions.py), and publishes every frame through one
ordered outbox (outbox.py), quotes conflated per flush interval. Per-tick work is
dictionary updates only: no database, no I/O. Where a frame goes is not its concern:
`publish` is injected (fanout.py in the server, the terminal in `manage.py
stream_test`). The frames are specified in docs/streaming-contract.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any

import orjson

from streaming import metrics
from streaming.alerts.runner import AlertRunner
from streaming.brokers.bars import HistoryError, link_budget, no_link_served
from streaming.brokers.base import BrokerAdapter
from streaming.brokers.errors import describe
from streaming.cluster.eventlog import EventLog, Fenced, Position
from streaming.contract import now_ms
from streaming.runtime.cancellation import await_chain
from streaming.stream.health import (
    KINDS,
    QUOTE_STALE_AFTER,
    STALE_FACTOR,
    STATUS_EXTRA,
    LinkHealth,
    QuoteCadence,
    choose_quote_source,
    preferred_quote_link,
    render_status,
    visible,
)
from streaming.stream.outbox import Outbox, PerTickQuotes, QuoteBatch
from streaming.stream.state import LinkInfo, UserState, merge_values
from streaming.stream.subscriptions import TAB_TTL, TabSymbols

if TYPE_CHECKING:
    from streaming.alerts.store import AlertStore
    from streaming.news.feed import UserNewsFeed as NewsFeed

log = logging.getLogger(__name__)

Publish = Callable[[dict[str, Any], str], Awaitable[None]]
#: Asks whether this process still holds the user's lease (see `authorized`).
Authorize = Callable[[], Awaitable[bool]]
#: Called when a link's state changes (not per tick): e.g. to record a rejected credential.
LinkStateHook = Callable[[int, str, str], Awaitable[None]]

#: How often relays in other processes are told the stream's head (seconds).
HEAD_INTERVAL = 2.0
#: How long `stop` waits for cancelled tasks before cancelling the rest again (seconds).
STOP_RECANCEL = 2.0
#: ...and gives up on tasks still running after this long (they are abandoned, logged).
STOP_GIVE_UP = 10.0
#: The newest account frames an owner keeps, to put back into a store that lost them (a
#: Redis restart, or writes that failed while it was away): relays then fill their gaps
#: from the log instead of resyncing (about 0.5 KiB each).
RECENT_FRAMES = 200
#: Abandoned tasks, referenced until they end (a pending task must not be collected).
_abandoned: set[asyncio.Task[Any]] = set()
#: The symbol the preferred quote link streams while on standby, when the user wants it.
PROBE_SYMBOL = "SPY"
_ABSENT = object()


def changed_fields(entry: dict[str, Any] | None, fields: dict[str, Any]) -> dict[str, Any]:
    """The fields of an event that differ from what the stream holds for the symbol: a
    batch entry carries only those (the contract: "a field absent from a batch entry did
    not change"), so an unchanged day high or previous close is not sent with every tick."""
    if entry is None:
        return fields
    return {k: v for k, v in fields.items() if entry.get(k, _ABSENT) != v}


class LinkSink:
    """What one link's adapter reports into: the manager, told which link a quote came
    from (the preferred link's standby probe is not the user's quotes)."""

    __slots__ = ("_manager", "link_id")

    def __init__(self, manager: UserStreamManager, link_id: int) -> None:
        self._manager = manager
        self.link_id = link_id

    def quote(self, symbol: str, fields: dict[str, Any]) -> None:
        self._manager.quote_from(self.link_id, symbol, fields)

    def greeks(self, symbol: str, fields: dict[str, Any]) -> None:
        self._manager.greeks_from(self.link_id, symbol, fields)

    async def account_event(self, kind: str, link_id: int, account: str, payload: Any) -> None:
        await self._manager.account_event(kind, link_id, account, payload)

    async def status(
        self, link_id: int, state: str, reason: str = "", *, kind: str = "all", **extra: Any
    ) -> None:
        await self._manager.status(link_id, state, reason, kind=kind, **extra)

    def fresh(self, link_id: int, kind: str) -> None:
        self._manager.fresh(link_id, kind)

    async def authorized(self) -> bool:
        return await self._manager.authorized()


def _count_write(written: asyncio.Future[Any]) -> None:
    """A frame's write to the event log ended: counted if it worked. Reading its exception
    also marks it seen (a stopped sender never reads it; asyncio would log it)."""
    if not written.cancelled() and written.exception() is None:
        metrics.ACCOUNT_EVENTS_LOGGED.inc()


__all__ = ["Authorize", "LinkInfo", "LinkStateHook", "Publish", "UserStreamManager"]


class UserStreamManager:
    """Holds one user's broker adapters and the state they feed."""

    def __init__(
        self,
        user_id: int,
        *,
        links: Iterable[tuple[LinkInfo, BrokerAdapter]],
        publish: Publish,
        flush_interval: float = 0.15,
        on_link_state: LinkStateHook | None = None,
        per_tick_quotes: bool = False,
        event_log: EventLog | None = None,
        owner: str = "",
        authorize: Authorize | None = None,
        watchlist: tuple[list[str], int] | None = None,
        quote_stale_after: float = QUOTE_STALE_AFTER,
        alert_store: AlertStore | None = None,
        news: NewsFeed | None = None,
    ) -> None:
        self.user_id = user_id
        links = list(links)
        self.links: dict[int, LinkInfo] = {info.id: info for info, _ in links}
        self.adapters: dict[int, BrokerAdapter] = {info.id: adapter for info, adapter in links}
        self.state = UserState(self.links.values(), watchlist)
        self.tabs = TabSymbols()
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
        self.last_event_at: float | None = None
        self._health: dict[int, LinkHealth] = {i: LinkHealth() for i in self.links}
        #: Counts the status changes a trader sees: a health report (health_report.py)
        #: is written again when it moved, without any work per frame.
        self.health_version = 0
        self._quote_source: int | None = None
        #: The link that should feed the quotes whenever it works (health.QUOTE_PREFERENCE).
        self._preferred_source = preferred_quote_link(self.links)
        #: The quote feed now: "<link>:<n>", a new n each time the source changes or its
        #: market data comes back after a drop. Every quote and greeks entry carries the
        #: feed it came from (`src`), so a value the current feed has not re-sent is known
        #: stale (docs/streaming-contract.md, "Staleness").
        self._feed: str | None = None
        self._feed_number = 0
        #: How often the source delivers: its silence is judged against that.
        self._cadence = QuoteCadence()
        self._source_delayed = False
        #: Symbols whose quote source sends its own event times (see `quote`).
        self._broker_timed: set[str] = set()
        self._last_quote_at: float | None = None
        self._batch = PerTickQuotes() if per_tick_quotes else QuoteBatch()
        self._outbox = Outbox()
        self._link_states: asyncio.Queue[tuple[int, str, str]] = asyncio.Queue()
        self._recent: deque[tuple[Position, str]] = deque(maxlen=RECENT_FRAMES)
        self._tasks: list[asyncio.Task[Any]] = []
        self.ready = asyncio.Event()  # set once every link is live (snapshot taken) or failed
        self._settled: set[int] = set()
        #: Ticks since the last flush (added to the metrics once per flush, not per tick).
        self._ticks_in = {"quote": 0, "greeks": 0}
        #: The source's events since the last staleness sweep (its cadence).
        self._events_since_sweep = 0
        #: Each link's overall state as counted in `metrics.LINKS` (while running).
        self._counted_states: dict[int, str] = {}
        self._quote_source = choose_quote_source(self.links, self._health, None, user_id)
        self._new_feed()
        #: The user's news feed (news/feed.py), if a link brings news: it follows the
        #: same symbol union as the quotes; its articles go out as `news` frames.
        self.news = news
        for info in self.links.values():
            self.state.link_status[info.id] = self._render_status(info)
        #: Price alerts (alert_runner.py): checked per quote, stored in the background.
        self.alerts = AlertRunner(self, alert_store) if alert_store is not None else None

    @property
    def simulated(self) -> bool:
        return self.state.simulated

    @property
    def position(self) -> Position:
        return self.state.position

    # -- lifecycle ----------------------------------------------------------------------
    async def start(self) -> None:
        """Continue the stream's position from the event log (a new epoch if it lost the
        head), then run the adapters."""
        if self._event_log is not None:
            self.state.continue_from(await self._event_log.open(self.user_id, self._owner))
        self._sync_symbols()
        self._tasks.append(asyncio.create_task(self._sender(), name=f"sender-{self.user_id}"))
        self._tasks.append(asyncio.create_task(self._flusher(), name=f"flusher-{self.user_id}"))
        if self._on_link_state is not None:
            self._tasks.append(asyncio.create_task(self._recorder(), name=f"rec-{self.user_id}"))
        if self.alerts is not None:
            self._tasks.append(
                asyncio.create_task(self.alerts.run(), name=f"alerts-{self.user_id}")
            )
        for link_id, adapter in self.adapters.items():
            name = f"adapter-{self.user_id}-{link_id}"
            sink = LinkSink(self, link_id)
            self._tasks.append(asyncio.create_task(adapter.run(sink), name=name))
        if self.news is not None:
            name = f"news-{self.user_id}"
            self._tasks.append(asyncio.create_task(self.news.run(self), name=name))
        if not self.adapters:
            self.ready.set()
        for info in self.links.values():
            self._count_state(info, self.state.link_status[info.id]["state"])

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
                log.warning(
                    "user %s: %s outlived a cancel; again (waiting in %s)",
                    self.user_id,
                    task.get_name(),
                    await_chain(task),
                )
                task.cancel()
        for task in self._tasks:  # retrieved: no "exception never retrieved" noise
            if task.done() and not task.cancelled():
                task.exception()
        self._tasks.clear()
        for info in self.links.values():
            health = self._health[info.id]
            for kind in KINDS:
                health.kinds[kind].set("stopped", "")
            self.state.link_status[info.id] = self._render_status(info)
        self._flush_tick_counts()
        for info in self.links.values():
            self._count_state(info, None)

    @property
    def running(self) -> bool:
        return any(not t.done() for t in self._tasks)

    async def restore_head(self) -> None:
        """After the store lost our head or frames (a Redis restart, writes that failed
        while it was away): put back the head and the newest frames we hold, so that
        relays and resuming clients fill their gaps; if another owner started an epoch,
        stop."""
        if self._event_log is None or self.fenced:
            return
        epoch = self.state.epoch
        frames = [(p.seq, text) for p, text in self._recent if p.epoch == epoch]
        try:
            await self._event_log.restore(self.user_id, self._owner, self.position, frames)
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
            self._resend_known(self.tabs.by_tab.get(tab, set()) - before)
        if new_tab and self.news is not None:
            self._send_news(feed=self.news.status)  # a new tab learns the feed's state
        return refused

    def _resend_known(self, symbols: Iterable[str]) -> None:
        """Symbols a tab just asked for go out whole with the next batch: batches carry
        only what changed, and a tab in another process has nothing of them yet."""
        for symbol in symbols:
            quote = self.state.quotes.get(symbol)
            if quote is not None:
                self._batch.add_quote(symbol, dict(quote))
            greeks = self.state.greeks.get(symbol)
            if greeks is not None:
                self._batch.add_greeks(symbol, dict(greeks))

    def drop_tab(self, tab: str) -> None:
        if self.tabs.drop(tab):
            self._sync_symbols()

    def expire_tabs(self, ttl: float | None = None) -> None:
        """Forget tabs that stopped re-sending their symbols (their process died, a polling
        page closed), each after its own TTL unless `ttl` is given."""
        for tab in self.tabs.silent(ttl):
            self.drop_tab(tab)

    @property
    def tab_symbols(self) -> dict[str, set[str]]:
        return self.tabs.by_tab

    def set_watchlist(self, symbols: list[str], version: int) -> None:
        """The user's watchlist changed (any tab, any device): every tab gets it."""
        if not self.state.set_watchlist(symbols, version):
            return
        self._sync_symbols()
        self._send({"type": "watchlist", "symbols": self.state.watchlist, "version": version})

    def wanted_symbols(self, exclude_tab: str | None = None) -> set[str]:
        wanted = (
            set(self.state.watchlist) | self.tabs.union(exclude_tab) | self.state.position_symbols()
        )
        if self.alerts is not None:
            wanted |= self.alerts.symbols()  # active alerts stream while the stream runs
        return wanted

    def symbols_changed(self) -> None:
        """Something outside the tabs changed what the stream wants (the alerts)."""
        self._sync_symbols()

    def quote_source(self) -> int | None:
        """The link that streams the user's quotes now (see `health.choose_quote_source`)."""
        return self._quote_source

    def _sync_symbols(self) -> None:
        wanted = self.wanted_symbols()
        source = choose_quote_source(self.links, self._health, self._quote_source, self.user_id)
        if source != self._quote_source:
            previous, self._quote_source = self._quote_source, source
            self._broker_timed.clear()  # the new source's events say whether they are timed
            self._last_quote_at = time.time()  # the new source gets the full grace period
            self._cadence.reset()
            if source is not None:
                self._health[source].took_quotes()
            self._new_feed()
            for link_id in (previous, source):
                if link_id is not None:
                    self._health[link_id].kinds["quotes"].since = now_ms()
                    self._emit_status(link_id)
        self._source_delayed = bool(source is not None and self._health[source].delayed)
        probe = self._probe_symbols(wanted)
        for link_id, adapter in self.adapters.items():
            if link_id == source:
                adapter.set_symbols(wanted)
            elif link_id == self._preferred_source:
                adapter.set_symbols(probe)  # on standby: is its market data back?
            else:
                adapter.set_symbols(set())
        if self.news is not None:
            self.news.set_symbols(wanted)

    def _probe_symbols(self, wanted: set[str]) -> set[str]:
        """What the preferred link streams while another feeds the quotes: one symbol
        that trades all day (SPY if wanted, else the first wanted stock), enough to see
        whether its market data flows again; nothing while it is the source itself."""
        if self._quote_source == self._preferred_source or not wanted:
            return set()
        if PROBE_SYMBOL in wanted:
            return {PROBE_SYMBOL}
        stocks = sorted(s for s in wanted if not s.startswith((".", "/")))
        return {stocks[0]} if stocks else {min(wanted)}

    def _new_feed(self) -> None:
        """The quotes come from a new feed: another source, or the source back after a
        drop. Values the new feed has not sent again are stale until it does."""
        self._feed_number += 1
        source = self._quote_source
        self._feed = None if source is None else f"{source}:{self._feed_number}"

    def silence_threshold(self) -> float:
        """Seconds without market data after which the source is shown stale now."""
        return self._cadence.threshold(self.quote_stale_after)

    @property
    def quote_feed(self) -> str | None:
        """The feed the user's quotes come from now ("<link>:<n>"), None without a source."""
        return self._feed

    # -- the sink adapters report into (AdapterSink, through LinkSink) -----------------------
    def quote_from(self, link_id: int, symbol: str, fields: dict[str, Any]) -> None:
        """A link's quote: the user's if the link is the source, else the standby probe's."""
        if link_id == self._quote_source:
            self.quote(symbol, fields)
        else:
            self._health[link_id].probe_tick(time.monotonic())

    def greeks_from(self, link_id: int, symbol: str, fields: dict[str, Any]) -> None:
        if link_id == self._quote_source:
            self.greeks(symbol, fields)

    def quote(self, symbol: str, fields: dict[str, Any]) -> None:
        """Per tick: merge into the last value and into the pending batch. Nothing else.

        `t` leaves as the symbol's newest time (the state's), never the event's own: the
        SDK queues Quote, Trade and Summary apart, so one tick's events can land in two
        batches, and a Trade's `t` is its print's (often older than the quote's). An event
        without a time (a Summary) is stamped with the receipt time only while the source
        sends no times for the symbol: a receipt time is later than the broker's, and would
        label a lagging quote as fresh (docs/performance.md, "Issue 15")."""
        now = time.time()
        self.last_event_at = now
        self._last_quote_at = now
        self._ticks_in["quote"] += 1
        entry = self.state.quotes.get(symbol)
        if "t" in fields:
            self._broker_timed.add(symbol)
        elif entry is None or symbol not in self._broker_timed:
            fields["t"] = int(now * 1000)
        if self._source_delayed or (entry is not None and entry.get("delayed")):
            fields["delayed"] = self._source_delayed
        if self._feed is not None:
            fields["src"] = self._feed
        fields = changed_fields(entry, fields)
        if not fields:
            return  # the same values again: nothing to tell anyone
        merge_values(self.state.quotes, symbol, fields)
        entry = self.state.quotes[symbol]
        fields["t"] = entry["t"]  # every entry carries the symbol's newest time
        if self.alerts is not None:
            self.alerts.on_quote(symbol, entry)
        frame = self._batch.add_quote(symbol, fields)
        if frame is not None:
            self._send(frame)

    def greeks(self, symbol: str, fields: dict[str, Any]) -> None:
        self.last_event_at = time.time()
        self._ticks_in["greeks"] += 1
        fields.setdefault("t", int(self.last_event_at * 1000))
        if self._feed is not None:
            fields["src"] = self._feed
        entry = self.state.greeks.get(symbol)
        fields = changed_fields(entry, fields)
        if not fields:
            return
        merge_values(self.state.greeks, symbol, fields)
        fields["t"] = self.state.greeks[symbol]["t"]  # never backwards, as quotes
        self._batch.add_greeks(symbol, fields)

    def fresh(self, link_id: int, kind: str) -> None:
        """An adapter confirmed data of `kind` current now (a heartbeat, a poll round)."""
        health = self._health.get(link_id)
        if health is None or kind not in health.kinds:
            return
        if kind == "quotes" and link_id == self._quote_source:
            self._last_quote_at = time.time()
        entry = health.kinds[kind]
        entry.last_ok = now_ms()
        if entry.stale:
            entry.stale = False
            entry.since = now_ms()
            self._emit_status(link_id)

    async def account_event(self, kind: str, link_id: int, account: str, payload: Any) -> None:
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
        failed, as `_written` handles it): for a caller that records delivery only then (the
        alerts: a trigger marked delivered is never sent again)."""
        written = self._account(kind, link_id, account, payload)
        if written is not None:
            await self._written(written)

    def _account(
        self, kind: str, link_id: int, account: str, payload: Any
    ) -> asyncio.Future[None] | None:
        """Numbering, sending the write and queueing are one step, with no wait in it: two
        adapters reporting at once reach the outbox in their seqs' order (a tab would see
        a gap the log cannot fill yet, and resync). Returns the write (None: no log)."""
        self.last_event_at = time.time()
        frame = self.state.apply_account_event(
            kind, link_id, account, payload, now_ms=int(self.last_event_at * 1000)
        )
        text = orjson.dumps(frame).decode()
        position = self.position
        self._recent.append((position, text))
        written = self._write_ahead(position, text)
        self._outbox.put(frame, text, written)
        self.fresh(link_id, "account")
        if kind in ("positions", "position"):
            self._sync_symbols()
        return written

    def _write_ahead(self, position: Position, text: str) -> asyncio.Future[None] | None:
        """The frame's write to the event log, sent now (a user's writes leave in seq
        order); None without a log. Its outcome is read by whoever awaits it (`_written`)."""
        if self._event_log is None or self.fenced:
            return None
        written = self._event_log.append_soon(self.user_id, self._owner, position, text)
        written.add_done_callback(_count_write)
        return written

    async def _written(self, written: asyncio.Future[None]) -> None:
        """Wait for a frame's write to the log; a fenced write means we are not the owner
        any more; any other failure (Redis away) leaves a hole in the log: the frame still
        goes out, and a socket that needs it from the log takes a fresh snapshot."""
        try:
            await written
        except Fenced:
            if not self.fenced:
                log.warning("user %s: another process owns the stream; stopping", self.user_id)
            self.fenced = True
        except Exception as exc:
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
            if (
                name == "quotes"
                and state == "live"
                and entry.state != "live"
                and entry.was_live
                and link_id == self._quote_source
            ):
                self._new_feed()  # back after a drop: what it did not send again is stale
            entry.set(state, reason)
            if state == "live":
                entry.last_ok = now_ms()
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
        previous = self.state.link_status.get(link_id)
        self.state.link_status[link_id] = status
        if link_id in self._counted_states:
            self._count_state(info, status["state"])
        if previous is None or visible(previous) != visible(status):
            self.health_version += 1
            self._send({"type": "status", "link": status, "t": now_ms()})

    def _render_status(self, info: LinkInfo) -> dict[str, Any]:
        return render_status(
            info,
            self._health[info.id],
            quote_source=info.id == self._quote_source,
            last_event_at=self.last_event_at,
            quote_feed=self._feed,
        )

    def _sweep_staleness(self, quote_events: int = 0) -> None:
        """Data that stopped arriving is shown stale, even if no adapter said so: the
        source's market data after a silence longer than its cadence allows (a couple of
        seconds for a ticking link, `quote_stale_after` at most: `QuoteCadence`), account
        data after 2.5 times the interval its adapter promised to confirm it in.
        `quote_events`: the source's events since the last sweep."""
        now = time.time()
        self._cadence.observe(quote_events, time.monotonic())
        silence_after = self.silence_threshold()
        for link_id, health in self._health.items():
            changed = False
            quotes = health.kinds["quotes"]
            if link_id == self._quote_source and quotes.state == "live" and self.wanted_symbols():
                last = self._last_quote_at or (quotes.last_ok or 0) / 1000
                reason = f"no market data for {now - last:.0f} s"
                changed |= quotes.check_overdue(now - last > silence_after, reason, last)
            account = health.kinds["account"]
            every = health.expect_every.get("account")
            if account.state == "live" and every:
                last = (account.last_ok or 0) / 1000
                reason = f"account data {now - last:.0f} s old"
                changed |= account.check_overdue(now - last > STALE_FACTOR * every, reason, last)
            if changed:
                self._emit_status(link_id)
        standby = self._preferred_source
        if (
            self._quote_source is not None
            and self._health[self._quote_source].failing_quotes(time.monotonic())
        ) or (
            standby is not None
            and standby != self._quote_source
            and self._health[standby].ready_to_fail_back(time.monotonic())
        ):
            self._sync_symbols()

    def _count_state(self, info: LinkInfo, state: str | None) -> None:
        """Move the link in `metrics.LINKS` to `state` (None: no longer counted)."""
        before = self._counted_states.pop(info.id, None)
        if before == state:
            if state is not None:
                self._counted_states[info.id] = state
            return
        if before is not None:
            metrics.LINKS.labels(info.broker, before).dec()
        if state is not None:
            metrics.LINKS.labels(info.broker, state).inc()
            self._counted_states[info.id] = state

    def _flush_tick_counts(self) -> None:
        """The ticks since the last flush into the metrics (one write per kind)."""
        self._events_since_sweep += self._ticks_in["quote"] + self._ticks_in["greeks"]
        for kind, count in self._ticks_in.items():
            if count:
                metrics.QUOTE_EVENTS_IN.labels(kind).inc(count)
                self._ticks_in[kind] = 0

    # -- news (news/feed.py reports here) ----------------------------------------------------
    def news_items(self, items: list[dict[str, Any]]) -> None:
        """Stored articles (the contract's news items) for the user's tabs."""
        self._send_news(items=items)

    def news_status(self, state: str, reason: str) -> None:
        """The news feed's state changed (e.g. the key was rejected)."""
        self._send_news(feed={"state": state, "reason": reason})

    def _send_news(self, *, items: list[dict[str, Any]] | None = None, **extra: Any) -> None:
        self._send({"type": "news", "items": items or [], **extra, "t": now_ms()})

    # -- publishing -----------------------------------------------------------------------
    def _send(self, frame: dict[str, Any]) -> None:
        """Serialize once and queue; the sender publishes in order."""
        self._outbox.put(frame)

    async def _sender(self) -> None:
        while True:
            frame, text, written = await self._outbox.get()
            if written is not None:
                await self._written(written)  # written ahead: published only once logged
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
            status = self.state.link_status[link_id]
            self._send({"type": "status", "link": status, "t": now_ms()})
        quotes, greeks = self.state.live_values(self.wanted_symbols())
        if quotes or greeks:
            self._send({"type": "quotes", "quotes": quotes, "greeks": greeks, "t": now_ms()})
        self._send_head()

    def _send_head(self) -> None:
        """Where the stream is (not a client frame): relays in other processes compare it
        with what they relayed and fetch what they missed from the event log."""
        self._send({"type": "head", "epoch": self.state.epoch, "seq": self.state.seq})

    async def _flusher(self) -> None:
        """One quote batch per interval, only when something changed (latest wins)."""
        last_sweep = last_stale = last_head = time.monotonic()
        while True:
            await asyncio.sleep(self.flush_interval)
            now = time.monotonic()
            self._flush_tick_counts()
            if now - last_sweep > 10:
                last_sweep = now
                self.expire_tabs()
            if now - last_stale >= 1.0:
                last_stale = now
                events, self._events_since_sweep = self._events_since_sweep, 0
                self._sweep_staleness(events)
            if now - last_head >= HEAD_INTERVAL and not self._outbox.waiting("head"):
                last_head = now
                self._send_head()
            if self._outbox.waiting("quotes"):
                # publishing is behind (slow Redis, a busy process): the batch waiting in
                # the outbox goes first; newer ticks merge into the next one meanwhile, so
                # neither the outbox nor the quotes' age grows with the lag
                continue
            frame = self._batch.take(now_ms())
            if frame is not None:
                self._send(frame)

    # -- reading ---------------------------------------------------------------------------
    @property
    def last_quote_at(self) -> float | None:
        """When the quote source last sent market data (epoch s), None if never."""
        return self._last_quote_at

    def link_health(self, link_id: int) -> LinkHealth:
        """One link's health (read-only use: the stream-health report)."""
        return self._health[link_id]

    async def candles(self, symbol: str, tf: str, from_ms: int, *, within: float) -> dict[str, Any]:
        """Candle history from the first link that can serve it: the one that streams the
        user's quotes (so history and the live candle agree), then every other link whose
        market data is up (a down one only when no other has market data). A link that
        cannot (no history of the symbol or timeframe, refused, failed, out of its share
        of the time) hands over to the next; the answer names the link that served: `{"link",
        "source", "simulated", "delayed", "candles"}`. HistoryError only when none could."""
        source = self.quote_source()
        capable = [i for i, info in self.links.items() if info.streams_quotes]
        capable = [i for i in capable if getattr(self.adapters.get(i), "candles", None)]
        if not capable:
            raise HistoryError(
                "no_market_data",
                "No market data: none of your broker links serves quotes or candles "
                "(Alpaca links have no market data; link tastytrade or Tradier).",
            )
        # a link whose market data is down cannot answer: asked only when no other can
        now = time.monotonic()
        down = {i for i in capable if i != source and self._health[i].failing_quotes(now)}
        ids = sorted(capable, key=lambda i: i != source)
        ids = [i for i in ids if i not in down] or ids
        deadline = time.monotonic() + within
        failures: list[HistoryError] = []
        for n, link_id in enumerate(ids):
            info = self.links[link_id]
            left = deadline - time.monotonic()
            if left <= 0:
                break
            try:
                async with asyncio.timeout(link_budget(left, len(ids) - n - 1)):
                    bars = await self.adapters[link_id].candles(symbol, tf, from_ms, within=left)
            except HistoryError as exc:
                failures.append(exc)
                continue
            except TimeoutError:
                failures.append(
                    HistoryError("broker_error", f"{info.broker} did not send the history in time")
                )
                continue
            except Exception as exc:  # whatever the broker did: a sentence, not a 500
                log.info("user %s: %s history failed: %s", self.user_id, info.broker, exc)
                failures.append(
                    HistoryError(
                        "broker_error",
                        f"{info.broker} refused the history request ({describe(exc)})",
                    )
                )
                continue
            if failures:
                log.info(
                    "user %s: %s %s history from %s (%s)",
                    self.user_id,
                    symbol,
                    tf,
                    info.broker,
                    "; ".join(e.message for e in failures),
                )
            return {
                "link": link_id,
                "source": info.broker,
                "simulated": info.simulated,
                "delayed": bool(self._health[link_id].delayed),
                "candles": bars,
            }
        if not failures:
            raise TimeoutError
        raise no_link_served(symbol, tf, failures)

    def snapshot(self, symbols: Iterable[str] | None = None) -> dict[str, Any]:
        """The full current state (contract `snapshot`), for pages and new sockets."""
        wanted = self.wanted_symbols()
        if symbols is not None:
            wanted |= set(symbols)
        return self.state.snapshot(wanted, now_ms=now_ms())

    async def wait_ready(self, within: float) -> bool:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(within):
                await self.ready.wait()
        return self.ready.is_set()
