"""A tastytrade link's account data: balances, positions and orders from the account
streamer, one of the parts its adapter holds (adapter.py runs it as the `account` kind's
loop).

Each connection: list the link's accounts, subscribe the account streamer, take a REST
snapshot (balances, positions, live orders), then ONE pump for balances, positions,
orders and complex orders (each member an order) in the streamer's order (a pump per
type with an SDK whose private hook is not as known), a heartbeat every
`account_heartbeat_interval` (silence for 2.5 intervals: `stale`, then reconnect) and a
REST reconciliation every `reconcile_interval`. An order a REST read found older than
what the stream already said is not sent (orders/freshness.py). It reports through the
adapter's supervision (supervised.py): its status, the lease gate, what changed.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import cast

import anyio
from tastytrade import Account, Session
from tastytrade.account import AccountBalance, CurrentPosition
from tastytrade.order import PlacedComplexOrder, PlacedOrder
from tastytrade.streamer import AlertStreamer, SubscriptionType

from streaming.brokers.base import STALE_HEARTBEATS, AdapterSink
from streaming.brokers.errors import StreamSilent
from streaming.brokers.orders.freshness import superseded
from streaming.brokers.orders.shape import Order
from streaming.brokers.payloads import Position
from streaming.brokers.supervised import SupervisedAdapter
from streaming.brokers.tastytrade import streamers, wire
from streaming.brokers.tastytrade.client import make_alert_streamer
from streaming.brokers.tastytrade.connection import Connection
from streaming.brokers.tastytrade.instruments import InstrumentLookup
from streaming.brokers.values import without

#: A balance's timestamp: a re-read with only a new one is no change.
VOLATILE = ("updated_at",)

#: The link's session for a connect: (sink, whether this is a retry after a failure).
ReadySession = Callable[[AdapterSink, bool], Awaitable[Session]]


class AccountStream:
    """The `account` kind of a tastytrade link: the account streamer and its REST reads."""

    def __init__(
        self, adapter: SupervisedAdapter, connection: Connection, ready_session: ReadySession
    ) -> None:
        self._adapter = adapter
        self._connection = connection
        self._ready_session = ready_session
        self._instruments = InstrumentLookup()
        #: When the account streamer last said anything (a push or a heartbeat ack).
        self.last_account_message = time.monotonic()
        self.heartbeats = 0
        #: Order reads not sent because the stream had said something newer (a race).
        self.stale_orders = 0

    async def once(self, sink: AdapterSink) -> None:
        """Subscribe the account streamer first, then take the REST snapshot: a fill in
        between is pushed to the (SDK's unbounded) queues and pumped after the snapshot,
        so nothing falls into a gap between the two."""
        retry = self._adapter.kind_state("account") in ("reconnecting", "error")
        await self._adapter._report_change(sink, "account", "connecting")
        session = await self._ready_session(sink, retry)
        await self._adapter._gate(sink)
        accounts = [a for a in await Account.get(session) if self._adapter._wants(a.account_number)]
        await self._adapter._gate(sink)
        with anyio.fail_after(self._adapter.config.handshake_timeout) as scope:
            async with make_alert_streamer(session) as alerts:
                if accounts:
                    await alerts.subscribe_accounts(accounts)
                scope.deadline = math.inf  # subscribed: the timeout guarded the handshake
                await self._adapter._gate(sink)
                await self._snapshot(session, accounts, sink, full=True)
                self.last_account_message = time.monotonic()
                await self._adapter._report(sink, "account", "live")
                sink.fresh(self._adapter.link_id, "account")
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
            await self._adapter._emit_changed(
                sink, "balance", number, balance, full=full, volatile=VOLATILE
            )
            await self._adapter._emit_changed(sink, "positions", number, positions, full=full)
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
        if superseded(cast("Order | None", self._adapter._known.get(key)), payload):
            self.stale_orders += 1
            return
        await self._adapter._emit_changed(sink, "order", number, payload, full=full, key=key)

    async def _pump_account(self, alerts: streamers.QueuedAlertStreamer, sink: AdapterSink) -> None:
        """Balances, positions and orders from the streamer's one queue, in the order it
        sent them, and the account watchdog (`_account_silent`): one task where a pump
        per type and a watchdog were four (issue 15)."""
        queue = alerts.events
        period = min(1.0, self._adapter.config.account_heartbeat_interval / 4)
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
        self._adapter._known[("balance", b.account_number)] = without(payload, *VOLATILE)
        await sink.account_event("balance", self._adapter.link_id, b.account_number, payload)

    async def _position(self, p: CurrentPosition, sink: AdapterSink) -> None:
        self.last_account_message = time.monotonic()
        self._adapter._known.pop(("positions", p.account_number), None)  # reconcile re-sends all
        if self._connection.session is not None:  # a future's, crypto's: once per new symbol
            await self._instruments.resolve(self._connection.session, [p])
        payload = self._position_payload(p)
        await sink.account_event("position", self._adapter.link_id, p.account_number, payload)

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
        self, data: Mapping[str, object], payloads: list[Order], sink: AdapterSink
    ) -> None:
        """An order message the SDK could not read, mapped field by field."""
        self.last_account_message = time.monotonic()
        for payload in payloads:
            await self._emit_order(str(data.get("account-number") or ""), payload, sink)

    async def _emit_order(self, account: str, payload: Order, sink: AdapterSink) -> None:
        self._adapter._known[("order", str(payload["id"]))] = payload
        await sink.account_event("order", self._adapter.link_id, account, payload)

    async def _heartbeat(self, alerts: AlertStreamer, sink: AdapterSink) -> None:
        """A heartbeat every interval; its ack proves the account stream is alive."""
        interval = self._adapter.config.account_heartbeat_interval
        while True:
            try:
                # the SDK's own request/ack path (it waits up to 10 s for the ack)
                await alerts._subscribe(SubscriptionType.HEARTBEAT)
            except TimeoutError:
                pass  # no ack: the account watchdog decides (it counts from the last message)
            else:
                self.heartbeats += 1
                self.last_account_message = time.monotonic()
                sink.fresh(self._adapter.link_id, "account")
                if self._adapter.kind_state("account") == "stale":
                    await self._adapter._report(sink, "account", "live")
            await asyncio.sleep(interval)

    async def _account_watchdog(self, sink: AdapterSink) -> None:
        """Nothing from the account streamer for 2.5 heartbeat intervals: it is silent.
        Say `stale` at once, then end the account loop (it reconnects on its own)."""
        interval = self._adapter.config.account_heartbeat_interval
        while True:
            await asyncio.sleep(min(1.0, interval / 4))
            await self._account_silent(sink)

    async def _account_silent(self, sink: AdapterSink) -> None:
        """Raise StreamSilent (after saying `stale`) when the account streamer said
        nothing for 2.5 heartbeat intervals."""
        idle = time.monotonic() - self.last_account_message
        if idle > self._adapter.config.account_heartbeat_interval * STALE_HEARTBEATS:
            reason = f"account stream silent for {idle:.1f} s (missed heartbeats)"
            await self._adapter._report(sink, "account", "stale", reason)
            raise StreamSilent(reason)

    async def _reconcile(
        self, session: Session, accounts: list[Account], sink: AdapterSink
    ) -> None:
        while True:
            await asyncio.sleep(self._adapter.config.reconcile_interval)
            await self._adapter._gate(sink)
            await self._snapshot(session, accounts, sink, full=False)
