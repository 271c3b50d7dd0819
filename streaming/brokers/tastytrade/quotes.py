"""A tastytrade link's quotes: DXLink's market data on the link's session, one of the
parts its adapter holds (adapter.py runs it as the `quotes` kind's loop).

Each connection: the DXLink handshake (with a timeout: the SDK has none), the wanted
symbols subscribed, then ONE pump for quote / trade / summary / greeks / candle events in
DXLink's order, which is also the watchdog (a silent DXLink never closes by itself); with
an SDK whose private hook `compact.py` does not know, a pump per type and a watchdog task.
A change of the wanted symbols is applied by one task of the connected DXLink's group.
The connected streamer is kept in the link's `Connection` for the candle history
(reads.py); it reports through the adapter's supervision (supervised.py): its status, the
lease gate, the quotes and the watchdog's clock.
"""

from __future__ import annotations

import math
import time
from collections.abc import Awaitable, Callable
from typing import cast

import anyio
from tastytrade import DXLinkStreamer, Session
from tastytrade.dxfeed import Candle, Greeks, Quote, Summary, Trade

from streaming.brokers.base import AdapterSink
from streaming.brokers.delay import DelayMonitor
from streaming.brokers.errors import StreamSilent
from streaming.brokers.payloads import GreeksFields, QuoteFields
from streaming.brokers.supervised import SupervisedAdapter
from streaming.brokers.tastytrade import compact, streamers, wire
from streaming.brokers.tastytrade.candles import MarketDataDropped
from streaming.brokers.tastytrade.connection import Connection

#: The link's session for a connect: (sink, whether this is a retry after a failure).
ReadySession = Callable[[AdapterSink, bool], Awaitable[Session]]


class DXLinkQuotes:
    """The `quotes` kind of a tastytrade link: DXLink, its subscriptions and its pumps."""

    def __init__(
        self,
        adapter: SupervisedAdapter,
        connection: Connection,
        delay: DelayMonitor,
        ready_session: ReadySession,
    ) -> None:
        self._adapter = adapter
        self._connection = connection
        self._delay = delay
        self._ready_session = ready_session
        self._symbols: set[str] = set()
        #: Symbols changed since DXLink was last told; one task applies them, started
        #: on a change (not a task per link waiting for one).
        self._symbols_dirty = False
        self._applying = False
        self._dx_tg: anyio.abc.TaskGroup | None = None
        #: The symbols DXLink is subscribed to now.
        self._subscribed: set[str] = set()

    @property
    def subscribed(self) -> bool:
        """Whether DXLink is subscribed to any symbol (the watchdog is armed)."""
        return bool(self._subscribed)

    def knows(self, symbol: str) -> bool:
        """Whether this DXLink connection quoted `symbol` (DXLink knows it: candles.py)."""
        return self._delay.quoted(symbol)

    def set_symbols(self, symbols: set[str]) -> None:
        """The quote symbols wanted now (streamer form): applied on the connected DXLink."""
        if symbols != self._symbols:
            self._symbols = set(symbols)
            self._symbols_dirty = True
            self._start_symbol_updates()

    async def once(self, sink: AdapterSink) -> None:
        """One DXLink connection, until it fails (the supervised loop connects again)."""
        retry = self._adapter.kind_state("quotes") in ("reconnecting", "error")
        await self._adapter._report_change(sink, "quotes", "connecting")
        session = await self._ready_session(sink, retry)
        await self._adapter._gate(sink)
        self._subscribed = set()
        self._delay.forget()
        with anyio.fail_after(self._adapter.config.handshake_timeout) as scope:
            async with streamers.STREAMER(session) as dx:
                scope.deadline = math.inf  # connected: the timeout guarded the handshake only
                await self._apply_symbols(dx)
                self._adapter.last_data = time.monotonic()
                await self._adapter._report(sink, "quotes", "live")
                self._connection.dx = dx
                self._connection.dx_up.set()
                try:
                    async with anyio.create_task_group() as tg:
                        self._dx_tg = tg
                        self._start_symbol_updates()  # a change since `_apply_symbols`
                        if isinstance(dx, streamers.CompactDXLinkStreamer):
                            tg.start_soon(self._pump_market, dx, sink)
                        else:  # the SDK's queue per type (an SDK the hook does not know)
                            tg.start_soon(self._pump_quotes, dx, sink)
                            tg.start_soon(self._pump_trades, dx, sink)
                            tg.start_soon(self._pump_summaries, dx, sink)
                            tg.start_soon(self._pump_greeks, dx, sink)
                            tg.start_soon(self._pump_candles, dx)
                            tg.start_soon(self._quotes_watchdog)
                finally:
                    self._dx_tg = None
                    self._connection.dx_up.clear()
                    self._connection.dx = None
                    self._connection.candles.fail_all(MarketDataDropped())

    async def _pump_market(self, dx: streamers.CompactDXLinkStreamer, sink: AdapterSink) -> None:
        """Every market event of the compact streamer's one queue, in DXLink's order (a
        tick's Quote, Trade and Summary reach the sink in one batch, in that order), and
        the watchdog: nothing while subscribed for `watchdog_timeout` ends the connection.
        One task where a pump per type and a watchdog were six (issue 15)."""
        adapter, queue = self._adapter, dx.events
        timeout = adapter.config.watchdog_timeout
        while True:
            if await queue.wait(min(1.0, timeout / 4)):
                for event in streamers.latest_rows(queue.take(streamers.DRAIN_BATCH + 1)):
                    if type(event) is not compact.Row:  # the one queue's other type
                        self._connection.candles.add(cast(Candle, event))
                    elif event.kind in ("Quote", "Trade"):  # a row's fields are its kind's
                        await adapter._quote(
                            sink, event.event_symbol, cast(QuoteFields, event.fields)
                        )
                    elif event.kind == "Summary":
                        adapter.last_data = time.monotonic()
                        sink.quote(event.event_symbol, cast(QuoteFields, event.fields))
                    else:
                        adapter.last_data = time.monotonic()
                        sink.greeks(event.event_symbol, cast(GreeksFields, event.fields))
            idle = time.monotonic() - adapter.last_data
            if idle > timeout and self._subscribed:
                raise StreamSilent(f"no market data for {idle:.0f} s (watchdog)")

    async def _pump_quotes(self, dx: DXLinkStreamer, sink: AdapterSink) -> None:
        while True:
            for q in await streamers.latest_events(dx, Quote):
                await self._adapter._quote(
                    sink, q.event_symbol, compact.fields_of(q, wire.quote_fields)
                )

    async def _pump_trades(self, dx: DXLinkStreamer, sink: AdapterSink) -> None:
        while True:
            for t in await streamers.latest_events(dx, Trade):
                await self._adapter._quote(
                    sink, t.event_symbol, compact.fields_of(t, wire.trade_fields)
                )

    async def _pump_summaries(self, dx: DXLinkStreamer, sink: AdapterSink) -> None:
        while True:
            for s in await streamers.latest_events(dx, Summary):
                self._adapter.last_data = time.monotonic()
                sink.quote(s.event_symbol, compact.fields_of(s, wire.summary_fields))

    async def _pump_greeks(self, dx: DXLinkStreamer, sink: AdapterSink) -> None:
        while True:
            for g in await streamers.latest_events(dx, Greeks):
                self._adapter.last_data = time.monotonic()
                sink.greeks(g.event_symbol, compact.fields_of(g, wire.greeks_fields))

    async def _pump_candles(self, dx: DXLinkStreamer) -> None:
        """Candle events to the request collecting their symbol's snapshot."""
        while True:
            self._connection.candles.add(await dx.get_event(Candle))

    async def _apply_symbols(self, dx: DXLinkStreamer) -> None:
        """Tell DXLink what changed between the wanted and the subscribed symbols."""
        wanted = set(self._symbols)
        self._symbols_dirty = False
        added = sorted(wanted - self._subscribed)
        await streamers.update_subscriptions(dx, added, sorted(self._subscribed - wanted))
        if added and not self._subscribed:
            self._adapter.last_data = (
                time.monotonic()
            )  # the watchdog counts from the first subscription
        self._subscribed = wanted

    def _start_symbol_updates(self) -> None:
        """Apply changed symbols in a task of the connected DXLink's group (its failure
        ends the connection, as the streamer's own would), unless one is applying."""
        tg, dx = self._dx_tg, self._connection.dx
        if self._symbols_dirty and not self._applying and tg is not None and dx is not None:
            self._applying = True
            tg.start_soon(self._symbol_updates, dx)

    async def _symbol_updates(self, dx: DXLinkStreamer) -> None:
        try:
            while self._symbols_dirty:  # changes made while applying are applied too
                await self._apply_symbols(dx)
        finally:
            self._applying = False

    async def _quotes_watchdog(self) -> None:
        """A DXLink that sends nothing while subscribed is dead: end the quotes loop."""
        await self._adapter._watchdog("market data", armed=lambda: bool(self._subscribed))
