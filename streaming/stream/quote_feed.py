"""What the links' adapters report, turned into the user's quotes and link statuses.

One link feeds all of the user's quotes (the source, chosen by health.py), but for the
coins a source without crypto cannot quote: those come from the coin feed, the first link
that quotes coins and nothing else (Alpaca's crypto data). The preferred link streams one
probe symbol while on standby, to see when its market data is back.
Per tick only dictionary work: merge into the last values and into the pending batch
(outbox.py). Each link's health per data kind is kept here, rendered as `status` frames
when what a trader sees changes, and swept for data that stopped arriving.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, cast

from streaming import metrics
from streaming.brokers.base import BrokerAdapter
from streaming.brokers.payloads import GreeksFields, QuoteFields
from streaming.contract.frames import LinkStatus, StatusFrame
from streaming.instruments.symbols import is_coin
from streaming.runtime.clock import SYSTEM, Clock
from streaming.stream.health import (
    KINDS,
    STALE_FACTOR,
    LinkHealth,
    QuoteCadence,
    QuoteWaits,
    choose_quote_source,
    preferred_quote_link,
    render_status,
    visible,
)
from streaming.stream.outbox import QuoteBatch
from streaming.stream.state import LinkInfo, UserState, Values, merge_values

#: The symbol the preferred quote link streams while on standby, when the user wants it.
PROBE_SYMBOL = "SPY"
_ABSENT = object()


def changed_fields(entry: Mapping[str, object] | None, fields: Values) -> Values:
    """The fields of an event that differ from what the stream holds for the symbol: a
    batch entry carries only those (the contract: "a field absent from a batch entry did
    not change"), so an unchanged day high or previous close is not sent with every tick."""
    if entry is None:
        return fields  # the same dict, handed on
    # some of the event's own keys (every key of the TypedDict is optional): the same type
    return cast(Values, {k: v for k, v in fields.items() if entry.get(k, _ABSENT) != v})


def status_frame(link: LinkStatus, t: int) -> StatusFrame:
    """A link's status as a frame made at `t` (the stream's clock, ms)."""
    return {"type": "status", "link": link, "t": t}


class QuoteFeed:
    """The quote source, its feed and cadence, and every link's health."""

    def __init__(
        self,
        user_id: int,
        *,
        links: dict[int, LinkInfo],
        adapters: dict[int, BrokerAdapter],
        state: UserState,
        batch: QuoteBatch,
        send: Callable[[Mapping[str, Any]], None],
        wanted: Callable[[], set[str]],
        resync: Callable[[], None],
        on_quote: Callable[[str, QuoteFields], None],
        waits: QuoteWaits,
        clock: Clock = SYSTEM,
    ) -> None:
        self.user_id = user_id
        #: The stream's clock (its manager's).
        self.clock = clock
        self.links = links
        self.adapters = adapters
        self.state = state
        self.batch = batch
        self._send = send
        self._wanted = wanted
        #: Subscribes the wanted union again (the manager's: its listeners follow it).
        self._resync = resync
        self._on_quote = on_quote
        #: How long each verdict of the quotes' health waits (the settings').
        self.waits = waits
        self.last_event_at: float | None = None
        self.health: dict[int, LinkHealth] = {i: LinkHealth(clock, waits=waits) for i in links}
        #: Counts the status changes a trader sees: a health report (health_report.py)
        #: is written again when it moved, without any work per frame.
        self.health_version = 0
        self.source: int | None = None
        #: The link that feeds the coins the source cannot quote (None: no such link, or
        #: the source quotes them, or none are wanted), and the feed its values carry.
        self.coin_link: int | None = None
        self.coin_feed: str | None = None
        #: When the coin feed last sent market data (epoch s).
        self.coin_quote_at: float | None = None
        #: The link that should feed the quotes whenever it works (health.QUOTE_PREFERENCE).
        self._preferred = preferred_quote_link(links)
        #: The quote feed now: "<link>:<n>", a new n each time the source changes or its
        #: market data comes back after a drop. Every quote and greeks entry carries the
        #: feed it came from (`src`), so a value the current feed has not re-sent is known
        #: stale (docs/streaming-contract.md, "Staleness").
        self.feed: str | None = None
        self._feed_number = 0
        #: How often the source delivers: its silence is judged against that.
        self._cadence = QuoteCadence()
        self._source_delayed = False
        #: Symbols whose quote source sends its own event times (see `quote`).
        self._broker_timed: set[str] = set()
        self.last_quote_at: float | None = None
        #: Ticks since the last flush (added to the metrics once per flush, not per tick);
        #: of the quotes, those of the coin feed.
        self._ticks_in = {"quote": 0, "greeks": 0}
        self._coin_ticks = 0
        #: The source's events since the last staleness sweep (its cadence).
        self._events_since_sweep = 0
        #: Each link's overall state as counted in `metrics.LINKS` (while running).
        self._counted_states: dict[int, str] = {}
        self.source = choose_quote_source(links, self.health, None, user_id, clock.monotonic())
        self._new_feed()
        for info in links.values():
            self.state.link_status[info.id] = self.render_status(info)

    def quote_live(self, symbol: str) -> bool:
        """Whether the stream's value of `symbol` is live (docs/streaming-contract.md,
        "Staleness"): it came from a current feed (the quote source's, or the coin feed's)
        and that link's market data is live now. What the order ticket's guard acts on."""
        entry = self.state.quotes.get(symbol)
        src = entry.get("src") if entry else None
        if src is None:
            return False
        if src == self.feed and self.source is not None:
            link = self.source
        elif src == self.coin_feed and self.coin_link is not None:
            link = self.coin_link
        else:
            return False
        return self.health[link].kinds["quotes"].shown[0] == "live"

    # -- the source and what each link streams ----------------------------------------------
    def subscribe(self, wanted: set[str]) -> None:
        """Choose the source again (it may fail over or back) and give each adapter its
        symbols: the source all wanted ones, the preferred link on standby its probe."""
        source = choose_quote_source(
            self.links, self.health, self.source, self.user_id, self.clock.monotonic()
        )
        if source != self.source:
            previous, self.source = self.source, source
            self._broker_timed.clear()  # the new source's events say whether they are timed
            self.last_quote_at = self.clock.time()  # the new source gets the full grace period
            self._cadence.reset()
            if source is not None:
                self.health[source].took_quotes()
            self._new_feed()
            for link_id in (previous, source):
                if link_id is not None:
                    self.health[link_id].kinds["quotes"].since = self.clock.now_ms()
                    self.emit_status(link_id)
        self._source_delayed = bool(source is not None and self.health[source].delayed)
        coins = {s for s in wanted if is_coin(s)}
        for_source = wanted
        if coins and (source is None or not self.links[source].quotes_coins):
            for_source = wanted - coins
        else:
            coins = set()  # the source quotes them, or none are wanted
        self._choose_coin_link(coins)
        probe = self._probe_symbols(wanted)
        for link_id, adapter in self.adapters.items():
            if link_id == source:
                adapter.set_symbols(for_source)
            elif link_id == self.coin_link:
                adapter.set_symbols(coins)
            elif link_id == self._preferred:
                adapter.set_symbols(probe)  # on standby: is its market data back?
            else:
                adapter.set_symbols(set())

    def _choose_coin_link(self, coins: set[str]) -> None:
        """The coin feed for `coins`: the first link (by id) that quotes coins and nothing
        else, preferring one whose market data is not in error; None without coins."""
        candidates = sorted(
            i for i, info in self.links.items() if info.quotes_coins and not info.streams_quotes
        )
        working = [i for i in candidates if self.health[i].kinds["quotes"].state != "error"]
        chosen = next(iter(working or candidates), None) if coins else None
        if chosen == self.coin_link:
            return
        previous, self.coin_link = self.coin_link, chosen
        self.coin_quote_at = (
            self.clock.time() if chosen is not None else None
        )  # a full grace period
        self._new_coin_feed()
        for link_id in (previous, chosen):
            if link_id is not None:
                self.health[link_id].kinds["quotes"].since = self.clock.now_ms()
                self.emit_status(link_id)

    def _probe_symbols(self, wanted: set[str]) -> set[str]:
        """What the preferred link streams while another feeds the quotes: one symbol
        that trades all day (SPY if wanted, else the first wanted stock), enough to see
        whether its market data flows again; nothing while it is the source itself."""
        if self.source == self._preferred or not wanted:
            return set()
        if PROBE_SYMBOL in wanted:
            return {PROBE_SYMBOL}
        stocks = sorted(s for s in wanted if not s.startswith((".", "/")))
        return {stocks[0]} if stocks else {min(wanted)}

    def _new_feed(self) -> None:
        """The quotes come from a new feed: another source, or the source back after a
        drop. Values the new feed has not sent again are stale until it does."""
        self._feed_number += 1
        source = self.source
        self.feed = None if source is None else f"{source}:{self._feed_number}"

    def _new_coin_feed(self) -> None:
        """The coins come from a new feed (another link, or the coin feed back after a
        drop): the coin values it has not sent again are stale until it does."""
        self._feed_number += 1
        link = self.coin_link
        self.coin_feed = None if link is None else f"{link}:{self._feed_number}"

    def silence_threshold(self) -> float:
        """Seconds without market data after which the source is shown stale now."""
        return self._cadence.threshold(self.waits.stale_after, self.waits.stale_floor)

    def quotes_used(self, link_id: int) -> bool:
        """Whether the link's market data is in use now: the source's, or the coin feed's."""
        return (link_id == self.source and self.links[link_id].streams_quotes) or (
            link_id == self.coin_link
        )

    # -- per tick ------------------------------------------------------------------------------
    def quote_from(self, link_id: int, symbol: str, fields: QuoteFields) -> None:
        """A link's quote: the user's if the link is the source (or the coin feed, for a
        coin), else the standby probe's."""
        if link_id == self.source:
            self.quote(symbol, fields)
        elif link_id == self.coin_link:
            if is_coin(symbol):
                now = self.coin_quote_at = self.clock.time()
                self._coin_ticks += 1  # not the source's: its cadence does not count them
                self._take_quote(symbol, fields, self.coin_feed, False, now)
        else:
            self.health[link_id].probe_tick(self.clock.monotonic())

    def greeks_from(self, link_id: int, symbol: str, fields: GreeksFields) -> None:
        if link_id == self.source:
            self.greeks(symbol, fields)

    def quote(self, symbol: str, fields: QuoteFields) -> None:
        """Per tick: merge into the last value and into the pending batch. Nothing else.

        `t` leaves as the symbol's newest time (the state's), never the event's own: the
        SDK queues Quote, Trade and Summary apart, so one tick's events can land in two
        batches, and a Trade's `t` is its print's (often older than the quote's). An event
        without a time (a Summary) is stamped with the receipt time only while the source
        sends no times for the symbol: a receipt time is later than the broker's, and would
        label a lagging quote as fresh (docs/performance.md, "Why the hot path looks as it
        does")."""
        now = self.last_quote_at = self.clock.time()
        self._take_quote(symbol, fields, self.feed, self._source_delayed, now)

    def _take_quote(
        self, symbol: str, fields: QuoteFields, feed: str | None, delayed: bool, now: float
    ) -> None:
        """Merge one feed's tick (`feed`: the `src` its values carry) into the state and
        the pending batch."""
        self.last_event_at = now
        self._ticks_in["quote"] += 1
        entry = self.state.quotes.get(symbol)
        if "t" in fields:
            self._broker_timed.add(symbol)
        elif entry is None or symbol not in self._broker_timed:
            fields["t"] = int(now * 1000)
        if delayed or (entry is not None and entry.get("delayed")):
            fields["delayed"] = delayed
        if feed is not None:
            fields["src"] = feed
        changed = changed_fields(entry, fields)
        if not changed:
            return  # the same values again: nothing to tell anyone
        merge_values(self.state.quotes, symbol, changed)
        entry = self.state.quotes[symbol]
        changed["t"] = entry["t"]  # every entry carries the symbol's newest time
        self._on_quote(symbol, entry)
        frame = self.batch.add_quote(symbol, changed)
        if frame is not None:
            self._send(frame)

    def greeks(self, symbol: str, fields: GreeksFields) -> None:
        self.last_event_at = self.clock.time()
        self._ticks_in["greeks"] += 1
        fields.setdefault("t", int(self.last_event_at * 1000))
        if self.feed is not None:
            fields["src"] = self.feed
        entry = self.state.greeks.get(symbol)
        changed = changed_fields(entry, fields)
        if not changed:
            return
        merge_values(self.state.greeks, symbol, changed)
        changed["t"] = self.state.greeks[symbol]["t"]  # never backwards, as quotes
        self.batch.add_greeks(symbol, changed)

    def fresh(self, link_id: int, kind: str) -> None:
        """An adapter confirmed data of `kind` current now (a heartbeat, a poll round)."""
        health = self.health.get(link_id)
        if health is None or kind not in health.kinds:
            return
        if kind == "quotes" and link_id == self.source:
            self.last_quote_at = self.clock.time()
        elif kind == "quotes" and link_id == self.coin_link:
            self.coin_quote_at = self.clock.time()
        entry = health.kinds[kind]
        entry.last_ok = self.clock.now_ms()
        if entry.stale:
            entry.stale = False
            entry.since = self.clock.now_ms()
            self.emit_status(link_id)

    # -- link statuses -----------------------------------------------------------------------------
    def report(
        self, link_id: int, state: str, reason: str, kind: str, extra: dict[str, Any]
    ) -> tuple[str, str]:
        """A link's adapter reports the state of one data kind (or of all of them): the
        health is updated and the status sent if it changed. Returns the link's overall
        state (before, after)."""
        health = self.health[link_id]
        before = health.overall(quotes_used=self.quotes_used(link_id))[0]
        for name in KINDS if kind == "all" else (kind,):
            entry = health.kinds[name]
            back = name == "quotes" and state == "live" and entry.state != "live"
            if back and entry.was_live and link_id == self.source:
                self._new_feed()  # back after a drop: what it did not send again is stale
            elif back and entry.was_live and link_id == self.coin_link:
                self._new_coin_feed()
            entry.set(state, reason)
            if state == "live":
                entry.last_ok = self.clock.now_ms()
                if name == "quotes" and link_id == self.source:
                    self.last_quote_at = self.clock.time()
                elif name == "quotes" and link_id == self.coin_link:
                    self.coin_quote_at = self.clock.time()
        # what the status carries of the report (STATUS_EXTRA)
        if "reconnects" in extra:
            health.extra["reconnects"] = extra["reconnects"]
        if "token_expires_at" in extra:
            health.extra["token_expires_at"] = extra["token_expires_at"]
        if "retry_in" in extra:
            health.extra["retry_in"] = extra["retry_in"]
        if "expect_every" in extra:
            health.expect_every[kind] = float(extra["expect_every"])
        if "delayed" in extra:
            health.delayed = bool(extra["delayed"])
            health.delay_ms = extra.get("delay_ms") if health.delayed else None
        self._resync()  # the quote source may fail over (or the delay flag change)
        return before, health.overall(quotes_used=self.quotes_used(link_id))[0]

    def emit_status(self, link_id: int) -> None:
        """Render a link's status and send it if anything a trader sees changed."""
        info = self.links[link_id]
        status = self.render_status(info)
        previous = self.state.link_status.get(link_id)
        self.state.link_status[link_id] = status
        if link_id in self._counted_states:
            self.count_state(info, status["state"])
        if previous is None or visible(previous) != visible(status):
            self.health_version += 1
            self._send(status_frame(status, self.clock.now_ms()))

    def render_status(self, info: LinkInfo) -> LinkStatus:
        coin_feed = info.id == self.coin_link
        return render_status(
            info,
            self.health[info.id],
            quote_source=info.id == self.source,
            coin_feed=coin_feed,
            last_event_at=self.last_event_at,
            quote_feed=self.coin_feed if coin_feed else self.feed,
            quote_silence=self.waits.stale_after if coin_feed else self.silence_threshold(),
        )

    def mark_stopped(self) -> None:
        """Every link's every kind is stopped (the manager stopped): no longer counted."""
        for info in self.links.values():
            health = self.health[info.id]
            for kind in KINDS:
                health.kinds[kind].set("stopped", "")
            self.state.link_status[info.id] = self.render_status(info)
        self.flush_tick_counts()
        for info in self.links.values():
            self.count_state(info, None)

    def count_state(self, info: LinkInfo, state: str | None) -> None:
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

    # -- once per flush / per second ---------------------------------------------------------------
    def flush_tick_counts(self) -> None:
        """The ticks since the last flush into the metrics (one write per kind)."""
        source_ticks = self._ticks_in["quote"] - self._coin_ticks + self._ticks_in["greeks"]
        self._events_since_sweep += source_ticks
        self._coin_ticks = 0
        for kind, count in self._ticks_in.items():
            if count:
                metrics.QUOTE_EVENTS_IN.labels(kind).inc(count)
                self._ticks_in[kind] = 0

    def sweep(self) -> None:
        """`sweep_staleness` with the source's events since the last sweep."""
        events, self._events_since_sweep = self._events_since_sweep, 0
        self.sweep_staleness(events)

    def sweep_staleness(self, quote_events: int = 0) -> None:
        """Data that stopped arriving is shown stale, even if no adapter said so: the
        source's market data after a silence longer than its cadence allows (a couple of
        seconds for a ticking link, `waits.stale_after` at most: `QuoteCadence`), account
        data after 2.5 times the interval its adapter promised to confirm it in. The
        source's status is rendered again: the threshold its cadence allows is part of it
        (sent when it moved by whole seconds, `health.visible`).
        `quote_events`: the source's events since the last sweep."""
        now = self.clock.time()
        self._cadence.observe(quote_events, self.clock.monotonic())
        silence_after = self.silence_threshold()
        for link_id, health in self.health.items():
            changed = False
            quotes = health.kinds["quotes"]
            if link_id == self.source and quotes.state == "live" and self._wanted():
                last = self.last_quote_at or (quotes.last_ok or 0) / 1000
                reason = f"no market data for {now - last:.0f} s"
                changed |= quotes.check_overdue(now - last > silence_after, reason, last)
            elif link_id == self.coin_link and quotes.state == "live":
                # no cadence is learnt for coins: the ceiling (a coin trades around the clock)
                last = self.coin_quote_at or (quotes.last_ok or 0) / 1000
                reason = f"no crypto market data for {now - last:.0f} s"
                overdue = now - last > self.waits.stale_after
                changed |= quotes.check_overdue(overdue, reason, last)
            account = health.kinds["account"]
            every = health.expect_every.get("account")
            if account.state == "live" and every:
                last = (account.last_ok or 0) / 1000
                reason = f"account data {now - last:.0f} s old"
                changed |= account.check_overdue(now - last > STALE_FACTOR * every, reason, last)
            if changed or link_id == self.source:
                self.emit_status(link_id)
        standby = self._preferred
        if (
            self.source is not None
            and self.health[self.source].failing_quotes(self.clock.monotonic())
        ) or (
            standby is not None
            and standby != self.source
            and self.health[standby].ready_to_fail_back(self.clock.monotonic())
        ):
            self._resync()
