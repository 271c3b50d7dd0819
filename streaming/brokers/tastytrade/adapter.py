"""The tastytrade adapter: OAuth session, DXLink quotes/greeks, account streamer, REST.

One adapter per broker link, three supervised loops over one shared SDK Session:

- the **session**: refresh the OAuth token (a rejected credential is `error` for the whole
  link), then keep refreshing it before expiry, and run the two kind loops below;
- **quotes**: DXLink (with a handshake timeout: the SDK has none), subscriptions, ONE
  pump for quote / trade / summary / greeks / candle events in DXLink's order, which is
  also the watchdog (a silent DXLink never closes by itself); with an SDK whose private
  hook `compact.py` does not know, a pump per type and a watchdog task;
- **account**: list the link's accounts, a REST snapshot (balances, positions, live
  orders), the account streamer with a heartbeat every `account_heartbeat_interval`
  (silence for 2.5 intervals: `stale`, then reconnect), periodic REST reconciliation;
  ONE pump for balances, positions, orders and complex orders (each member an order) in
  the streamer's order (a pump per type with an SDK whose private hook is not as known).

The kind loops fail and reconnect independently, each with its own backoff: a refused
account streamer or a 429 on /accounts never restarts DXLink, and the reverse. Every
upstream connect, token refresh and REST batch first asks the sink's lease gate. See
docs/streaming-contract.md for events and states. What the link answers when asked
(candle history, net-liq history, market metrics) is tastytrade/reads.py, on the session
and DXLink these loops hold; order entry (SupportsOrders) is tastytrade/orders.py.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Iterable
from typing import Any, cast
from urllib.parse import urlsplit

import anyio
from tastytrade import Account, DXLinkStreamer, Session
from tastytrade.account import AccountBalance, CurrentPosition
from tastytrade.dxfeed import Candle, Greeks, Quote, Summary, Trade
from tastytrade.order import PlacedComplexOrder, PlacedOrder
from tastytrade.streamer import AlertStreamer, SubscriptionType

from streaming.brokers.bars import HistoryError
from streaming.brokers.base import STALE_HEARTBEATS, AdapterSink, StreamConfig
from streaming.brokers.delay import DelayMonitor
from streaming.brokers.errors import CredentialRejected, StreamSilent, describe
from streaming.brokers.orders.freshness import superseded
from streaming.brokers.orders.shape import Order
from streaming.brokers.payloads import GreeksFields, Position, QuoteFields
from streaming.brokers.tastytrade import compact, streamers, wire
from streaming.brokers.tastytrade.chains import TastytradeChains
from streaming.brokers.tastytrade.client import (
    base_url,
    make_alert_streamer,
    make_session,
    refresh_token,
)
from streaming.brokers.tastytrade.instruments import InstrumentLookup
from streaming.brokers.tastytrade.orders import TastytradeOrders
from streaming.brokers.values import without

log = logging.getLogger(__name__)

__all__ = ["StreamConfig", "TastytradeAdapter"]

#: A kind loop reconnecting after a failure takes a new access token, unless one was
#: taken this recently (the other loop just did).
REFRESH_DEDUPE = 2.0


#: A balance's timestamp: a re-read with only a new one is no change.
VOLATILE = ("updated_at",)


class TastytradeAdapter(TastytradeOrders):
    """Streams one tastytrade link into a sink, forever, healing on every failure."""

    broker = "tastytrade"
    #: Always set: the quotes kind reports whether the data is delayed.
    delay: DelayMonitor

    def __init__(
        self,
        *,
        link_id: int,
        provider_secret: str,
        refresh_token: str,
        account_numbers: Iterable[str] = (),
        config: StreamConfig | None = None,
    ) -> None:
        super().__init__(link_id, config, account_numbers)  # also the session/DXLink handles
        self._secret = provider_secret
        self._refresh = refresh_token
        self._symbols: set[str] = set()
        #: Symbols changed since DXLink was last told; one task applies them, started
        #: on a change (not a task per link waiting for one).
        self._symbols_dirty = False
        self._applying = False
        self._dx_tg: anyio.abc.TaskGroup | None = None
        self._subscribed: set[str] = set()
        self._instruments = InstrumentLookup()
        #: When the account streamer last said anything (a push or a heartbeat ack).
        self.last_account_message = time.monotonic()
        self.heartbeats = 0
        #: Order reads not sent because the stream had said something newer (a race).
        self.stale_orders = 0
        self._refreshed_at = -math.inf  # monotonic
        #: Option chains through this session, the cluster-wide cache and pacing.
        self.chains = TastytradeChains(
            lambda: self._session,
            refresh_token,
            urlsplit(base_url() or "https://api.tastyworks.com").netloc,
            self.config.chain_cache_ttl,
        )
        self.delay = DelayMonitor()

    # -- control --------------------------------------------------------------------
    def set_symbols(self, symbols: set[str]) -> None:
        if symbols != self._symbols:
            self._symbols = set(symbols)
            self._symbols_dirty = True
            self._start_symbol_updates()

    @property
    def account_every(self) -> float:
        return self.config.account_heartbeat_interval

    # -- the session (shared by both kinds) --------------------------------------------
    def _loops(self) -> dict[str, Any]:
        return {"all": self._session_once}

    async def _session_once(self, sink: AdapterSink) -> None:
        """Log in, then run the token refresher and the two kind loops over the session.
        Only a failed login or a rejected credential ends this (and both kinds)."""
        await self._report_change(sink, "all", "connecting")
        async with make_session(self._secret, self._refresh, timeout=15) as session:
            await self._refresh_token(session, sink)
            self._session = session
            self._mark_up("all")
            try:
                async with asyncio.TaskGroup() as tg:
                    tg.create_task(self._token_refresher(session, sink))
                    tg.create_task(
                        self._run_loops(
                            sink,
                            {"quotes": self._quotes_once, "account": self._account_once},
                            propagate_rejection=True,
                        )
                    )
            finally:
                self._session = None

    async def _refresh_token(self, session: Session, sink: AdapterSink) -> None:
        """A new access token now, behind the lease gate."""
        await self._gate(sink)
        await refresh_token(session)
        self._refreshed_at = time.monotonic()
        self.token_expires_at = session.session_expiration

    async def _ready_session(self, sink: AdapterSink, *, retry: bool) -> Session:
        """The shared session for a kind loop's connect; a reconnect after a failure takes
        a new token first (the failure may have been the token), unless one was just taken."""
        session = self._session
        if session is None:
            raise RuntimeError("no session")  # pragma: no cover - the kind loops run inside it
        if retry and time.monotonic() - self._refreshed_at > REFRESH_DEDUPE:
            await self._refresh_token(session, sink)
        return session

    async def _token_refresher(self, session: Session, sink: AdapterSink) -> None:
        """Refresh before expiry, so REST calls and reconnects never wait on a dead token."""
        while True:
            expires = session.session_expiration
            lifetime = max(1.0, expires - time.time())
            margin = min(self.config.refresh_margin, lifetime * 0.2)
            await asyncio.sleep(max(0.5, expires - margin - time.time()))
            try:
                await self._refresh_token(session, sink)
            except CredentialRejected:
                raise  # the whole link: `error` (the session's supervisor reports it)
            except Exception as exc:  # a blip: the current token is still good for a while
                self._raise_if_stopping(exc)
                log.warning(
                    "tastytrade link %s: token refresh failed: %s", self.link_id, describe(exc)
                )
                await asyncio.sleep(min(10.0, lifetime / 10))
                continue
            await self._announce_token(sink)

    async def _announce_token(self, sink: AdapterSink) -> None:
        """Tell the new token expiry with a status of a kind that is verifiably live now
        (re-saying "live" of a kind whose data stopped would hide that it is stale)."""
        heartbeat_window = self.config.account_heartbeat_interval * 1.5
        if (
            self.kind_state("account") == "live"
            and time.monotonic() - self.last_account_message < heartbeat_window
        ):
            await self._report(sink, "account", "live")
        elif self.kind_state("quotes") == "live" and (
            not self._subscribed or time.monotonic() - self.last_data < 2.0
        ):
            await self._report(sink, "quotes", "live")

    # -- quotes: DXLink ------------------------------------------------------------------
    async def _quotes_once(self, sink: AdapterSink) -> None:
        retry = self.kind_state("quotes") in ("reconnecting", "error")
        await self._report_change(sink, "quotes", "connecting")
        session = await self._ready_session(sink, retry=retry)
        await self._gate(sink)
        self._subscribed = set()
        self.delay.forget()
        with anyio.fail_after(self.config.handshake_timeout) as scope:
            async with streamers.STREAMER(session) as dx:
                scope.deadline = math.inf  # connected: the timeout guarded the handshake only
                await self._apply_symbols(dx)
                self.last_data = time.monotonic()
                await self._report(sink, "quotes", "live")
                self._dx = dx
                self._dx_up.set()
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
                    self._dx_up.clear()
                    self._dx = None
                    self._candles.fail_all(
                        HistoryError("broker_error", "tastytrade's market data dropped")
                    )

    # -- account: REST snapshot + account streamer --------------------------------------
    async def _account_once(self, sink: AdapterSink) -> None:
        """Subscribe the account streamer first, then take the REST snapshot: a fill in
        between is pushed to the (SDK's unbounded) queues and pumped after the snapshot,
        so nothing falls into a gap between the two."""
        retry = self.kind_state("account") in ("reconnecting", "error")
        await self._report_change(sink, "account", "connecting")
        session = await self._ready_session(sink, retry=retry)
        await self._gate(sink)
        accounts = [a for a in await Account.get(session) if self._wants(a.account_number)]
        await self._gate(sink)
        with anyio.fail_after(self.config.handshake_timeout) as scope:
            async with make_alert_streamer(session) as alerts:
                if accounts:
                    await alerts.subscribe_accounts(accounts)
                scope.deadline = math.inf  # subscribed: the timeout guarded the handshake
                await self._gate(sink)
                await self._snapshot(session, accounts, sink, full=True)
                self.last_account_message = time.monotonic()
                await self._report(sink, "account", "live")
                sink.fresh(self.link_id, "account")
                async with anyio.create_task_group() as tg:
                    if isinstance(alerts, streamers.QueuedAlertStreamer):
                        tg.start_soon(self._pump_account, alerts, sink)
                    else:  # the SDK's queue per type (an SDK the hook does not know)
                        tg.start_soon(self._pump_balances, alerts, sink)
                        tg.start_soon(self._pump_positions, alerts, sink)
                        tg.start_soon(self._pump_orders, alerts, sink)
                        tg.start_soon(self._pump_complex_orders, alerts, sink)
                        tg.start_soon(self._account_watchdog, sink)
                    tg.start_soon(self._heartbeat, alerts, sink)
                    tg.start_soon(self._reconcile, session, accounts, sink)

    async def _snapshot(
        self, session: Session, accounts: list[Account], sink: AdapterSink, *, full: bool
    ) -> None:
        """Balances, positions and live orders over REST; on reconcile only what changed."""
        for account in accounts:
            number = account.account_number
            balance = wire.balance_payload(await account.get_balances(session))
            held = await account.get_positions(session)
            await self._instruments.resolve(session, held)
            positions = [self._position_payload(p) for p in held]
            await self._emit_changed(sink, "balance", number, balance, full=full, volatile=VOLATILE)
            await self._emit_changed(sink, "positions", number, positions, full=full)
            # read item by item: one order the SDK cannot read must not hide the others
            live = await session._get(f"/accounts/{number}/orders/live")
            for item in live.get("items") or ():
                await self._emit_read_order(sink, number, wire.order_from_json(item), full=full)

    async def _emit_read_order(
        self, sink: AdapterSink, number: str, payload: Order, *, full: bool
    ) -> None:
        """An order as a REST read found it: sent when it changed (always on a `full`
        snapshot), unless the stream already said something newer of it (the list was read,
        then the order filled and the fill was pushed: orders/freshness.py)."""
        key = ("order", str(payload["id"]))
        # an order's key holds only orders (this and `_emit_order`)
        if superseded(cast("Order | None", self._known.get(key)), payload):
            self.stale_orders += 1
            return
        await self._emit_changed(sink, "order", number, payload, full=full, key=key)

    # -- account pumps ----------------------------------------------------------------
    async def _pump_account(self, alerts: streamers.QueuedAlertStreamer, sink: AdapterSink) -> None:
        """Balances, positions and orders from the streamer's one queue, in the order it
        sent them, and the account watchdog (`_account_silent`): one task where a pump
        per type and a watchdog were four (issue 15)."""
        queue = alerts.events
        period = min(1.0, self.config.account_heartbeat_interval / 4)
        while True:
            if await queue.wait(period):
                for kind, item in queue.take(streamers.DRAIN_BATCH):
                    if kind == "AccountBalance":
                        await self._balance(item, sink)
                    elif kind == "CurrentPosition":
                        await self._position(item, sink)
                    elif kind == "ComplexOrder":
                        await self._complex_order(item, sink)
                    elif kind == "RawOrder":  # the SDK could not read it: as it came
                        await self._raw_orders(item, [wire.order_from_json(item)], sink)
                    elif kind == "RawComplexOrder":
                        await self._raw_orders(item, wire.complex_orders_from_json(item), sink)
                    else:
                        await self._order(item, sink)
            await self._account_silent(sink)

    async def _pump_balances(self, alerts: AlertStreamer, sink: AdapterSink) -> None:
        async for b in alerts.listen(AccountBalance):
            await self._balance(b, sink)

    async def _pump_positions(self, alerts: AlertStreamer, sink: AdapterSink) -> None:
        async for p in alerts.listen(CurrentPosition):
            await self._position(p, sink)

    async def _pump_orders(self, alerts: AlertStreamer, sink: AdapterSink) -> None:
        async for o in alerts.listen(PlacedOrder):
            await self._order(o, sink)

    async def _pump_complex_orders(self, alerts: AlertStreamer, sink: AdapterSink) -> None:
        async for c in alerts.listen(PlacedComplexOrder):
            await self._complex_order(c, sink)

    async def _balance(self, b: AccountBalance, sink: AdapterSink) -> None:
        self.last_account_message = time.monotonic()
        payload = wire.balance_payload(b)
        self._known[("balance", b.account_number)] = without(payload, *VOLATILE)
        await sink.account_event("balance", self.link_id, b.account_number, payload)

    async def _position(self, p: CurrentPosition, sink: AdapterSink) -> None:
        self.last_account_message = time.monotonic()
        self._known.pop(("positions", p.account_number), None)  # reconcile re-sends all
        if self._session is not None:  # a future's, crypto's: once per new symbol
            await self._instruments.resolve(self._session, [p])
        payload = self._position_payload(p)
        await sink.account_event("position", self.link_id, p.account_number, payload)

    def _position_payload(self, p: CurrentPosition) -> Position:
        return wire.position_payload(p, self._instruments.get(p.symbol))

    async def _order(self, o: PlacedOrder, sink: AdapterSink) -> None:
        self.last_account_message = time.monotonic()
        await self._emit_order(o.account_number, wire.order_payload(o), sink)

    async def _complex_order(self, c: PlacedComplexOrder, sink: AdapterSink) -> None:
        """A complex order (OCO, OTO, OTOCO) is several orders: each member reaches the
        screen as an order of its own, linked by the complex order's `group`."""
        self.last_account_message = time.monotonic()
        for payload in wire.complex_order_payloads(c):
            await self._emit_order(c.account_number, payload, sink)

    async def _raw_orders(
        self, data: dict[str, Any], payloads: list[Order], sink: AdapterSink
    ) -> None:
        """An order message the SDK could not read, mapped field by field."""
        self.last_account_message = time.monotonic()
        for payload in payloads:
            await self._emit_order(str(data.get("account-number") or ""), payload, sink)

    async def _emit_order(self, account: str, payload: Order, sink: AdapterSink) -> None:
        self._known[("order", str(payload["id"]))] = payload
        await sink.account_event("order", self.link_id, account, payload)

    async def _pump_market(self, dx: streamers.CompactDXLinkStreamer, sink: AdapterSink) -> None:
        """Every market event of the compact streamer's one queue, in DXLink's order (a
        tick's Quote, Trade and Summary reach the sink in one batch, in that order), and
        the watchdog: nothing while subscribed for `watchdog_timeout` ends the connection.
        One task where a pump per type and a watchdog were six (issue 15)."""
        queue = dx.events
        timeout = self.config.watchdog_timeout
        while True:
            if await queue.wait(min(1.0, timeout / 4)):
                for event in streamers.latest_rows(queue.take(streamers.DRAIN_BATCH + 1)):
                    if type(event) is not compact.Row:  # the one queue's other type
                        self._candles.add(cast(Candle, event))
                    elif event.kind in ("Quote", "Trade"):  # a row's fields are its kind's
                        await self._quote(sink, event.event_symbol, cast(QuoteFields, event.fields))
                    elif event.kind == "Summary":
                        self.last_data = time.monotonic()
                        sink.quote(event.event_symbol, cast(QuoteFields, event.fields))
                    else:
                        self.last_data = time.monotonic()
                        sink.greeks(event.event_symbol, cast(GreeksFields, event.fields))
            idle = time.monotonic() - self.last_data
            if idle > timeout and self._subscribed:
                raise StreamSilent(f"no market data for {idle:.0f} s (watchdog)")

    async def _pump_quotes(self, dx: DXLinkStreamer, sink: AdapterSink) -> None:
        while True:
            for q in await streamers.latest_events(dx, Quote):
                await self._quote(sink, q.event_symbol, compact.fields_of(q, wire.quote_fields))

    async def _pump_trades(self, dx: DXLinkStreamer, sink: AdapterSink) -> None:
        while True:
            for t in await streamers.latest_events(dx, Trade):
                await self._quote(sink, t.event_symbol, compact.fields_of(t, wire.trade_fields))

    async def _pump_summaries(self, dx: DXLinkStreamer, sink: AdapterSink) -> None:
        while True:
            for s in await streamers.latest_events(dx, Summary):
                self.last_data = time.monotonic()
                sink.quote(s.event_symbol, compact.fields_of(s, wire.summary_fields))

    async def _pump_greeks(self, dx: DXLinkStreamer, sink: AdapterSink) -> None:
        while True:
            for g in await streamers.latest_events(dx, Greeks):
                self.last_data = time.monotonic()
                sink.greeks(g.event_symbol, compact.fields_of(g, wire.greeks_fields))

    # -- housekeeping ------------------------------------------------------------------
    async def _apply_symbols(self, dx: DXLinkStreamer) -> None:
        """Tell DXLink what changed between the wanted and the subscribed symbols."""
        wanted = set(self._symbols)
        self._symbols_dirty = False
        added = sorted(wanted - self._subscribed)
        await streamers.update_subscriptions(dx, added, sorted(self._subscribed - wanted))
        if added and not self._subscribed:
            self.last_data = time.monotonic()  # the watchdog counts from the first subscription
        self._subscribed = wanted

    def _start_symbol_updates(self) -> None:
        """Apply changed symbols in a task of the connected DXLink's group (its failure
        ends the connection, as the streamer's own would), unless one is applying."""
        tg, dx = self._dx_tg, self._dx
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
        await self._watchdog("market data", armed=lambda: bool(self._subscribed))

    async def _heartbeat(self, alerts: AlertStreamer, sink: AdapterSink) -> None:
        """A heartbeat every interval; its ack proves the account stream is alive."""
        interval = self.config.account_heartbeat_interval
        while True:
            try:
                # the SDK's own request/ack path (it waits up to 10 s for the ack)
                await alerts._subscribe(SubscriptionType.HEARTBEAT)
            except TimeoutError:
                pass  # no ack: the account watchdog decides (it counts from the last message)
            else:
                self.heartbeats += 1
                self.last_account_message = time.monotonic()
                sink.fresh(self.link_id, "account")
                if self.kind_state("account") == "stale":
                    await self._report(sink, "account", "live")
            await asyncio.sleep(interval)

    async def _account_watchdog(self, sink: AdapterSink) -> None:
        """Nothing from the account streamer for 2.5 heartbeat intervals: it is silent.
        Say `stale` at once, then end the account loop (it reconnects on its own)."""
        interval = self.config.account_heartbeat_interval
        while True:
            await asyncio.sleep(min(1.0, interval / 4))
            await self._account_silent(sink)

    async def _account_silent(self, sink: AdapterSink) -> None:
        """Raise StreamSilent (after saying `stale`) when the account streamer said
        nothing for 2.5 heartbeat intervals."""
        idle = time.monotonic() - self.last_account_message
        if idle > self.config.account_heartbeat_interval * STALE_HEARTBEATS:
            reason = f"account stream silent for {idle:.1f} s (missed heartbeats)"
            await self._report(sink, "account", "stale", reason)
            raise StreamSilent(reason)

    async def _reconcile(
        self, session: Session, accounts: list[Account], sink: AdapterSink
    ) -> None:
        while True:
            await asyncio.sleep(self.config.reconcile_interval)
            await self._gate(sink)
            await self._snapshot(session, accounts, sink, full=False)
