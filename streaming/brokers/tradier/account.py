"""A Tradier link's account data: balances, positions and orders polled over REST, one of
the parts its adapter holds (adapter.py runs it as the `account` kind's loop).

Each connection: list the token's accounts, take a REST snapshot (balances, positions,
orders), report live, then poll (Tradier's HTTP API has no account push): balances and
positions every `account_poll_interval` — and at once after a fill — and orders every
`order_poll_interval` — and at once after this link placed, replaced or cancelled an
order (`order_changed`, called by tradier/orders.py). A successful balances round
confirms the account data fresh; a failed round reports `stale`;
`poll_failures_before_reconnect` failures in a row reconnect the account side. It
reports through the adapter's supervision (supervised.py).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import time
from typing import Any, cast

import httpx

from streaming.brokers.base import AdapterSink
from streaming.brokers.errors import BrokerHTTPError, describe
from streaming.brokers.orders.shape import Order
from streaming.brokers.payloads import Balance
from streaming.brokers.supervised import SupervisedAdapter
from streaming.brokers.tradier.client import TradierClient, as_list
from streaming.brokers.tradier.connection import Connection
from streaming.brokers.tradier.fills import FillBook, fill_ids
from streaming.brokers.tradier.pacing import Reserve
from streaming.brokers.tradier.payloads import (
    TradierBalances,
    TradierOrder,
    TradierPosition,
    TradierQuote,
)
from streaming.brokers.tradier.wire import balance_payload, order_payloads, position_payload

log = logging.getLogger(__name__)


class AccountPolls:
    """The `account` kind of a Tradier link: its snapshot, then its polls."""

    def __init__(self, adapter: SupervisedAdapter, connection: Connection) -> None:
        self._adapter = adapter
        self._connection = connection
        #: Set when an order filled: balances and positions are re-read at once.
        self._account_wanted = asyncio.Event()
        #: Set after an order was placed, replaced or cancelled (`order_changed`): the
        #: orders are polled at once, by the one poll that reports them.
        self._orders_wanted = asyncio.Event()
        self._fills = FillBook()
        #: Failed poll rounds in a row, per poll ("balances", "orders").
        self._poll_failures: dict[str, int] = {}
        self.account_polls = 0  # balances/positions rounds (started)
        self.order_polls = 0  # order rounds (started)
        #: Order lists read, per account (a round woken by an order call reads one).
        self.accounts_polled: collections.Counter[str] = collections.Counter()
        #: Balances/positions rounds per account (a round woken by a fill reads one).
        self.balances_polled: collections.Counter[str] = collections.Counter()
        #: The accounts an order call changed since the last order round.
        self._orders_changed_in: set[str] = set()
        #: The accounts the order polls read (set when the account loop starts).
        self._order_accounts: list[str] = []
        #: The accounts with a new fill since the last balances round.
        self._filled_in: set[str] = set()

    def order_changed(self, account: str) -> None:
        """An order of `account` was placed, replaced or cancelled on this link: its
        orders are polled at once (Tradier has no order push)."""
        self._orders_changed_in.add(account)
        self._orders_wanted.set()

    async def once(self, sink: AdapterSink) -> None:
        """One connection: the snapshot, then the polls until they fail too often."""
        client = self._connection.client
        assert client is not None
        await self._adapter._report_change(sink, "account", "connecting")
        await self._adapter._gate(sink)
        accounts = await self._accounts(client)
        await self._poll_accounts(client, accounts, sink, full=True)
        await self._poll_orders(client, accounts, sink, full=True)
        self._poll_failures.clear()
        self._account_wanted.clear()
        await self._adapter._report(sink, "account", "live")
        sink.fresh(self._adapter.link_id, "account")
        async with asyncio.TaskGroup() as tg:
            tg.create_task(
                self._poll_every(
                    "balances",
                    self._adapter.config.account_poll_interval,
                    self._poll_accounts,
                    client,
                    accounts,
                    sink,
                    wake=self._account_wanted,
                )
            )
            tg.create_task(
                self._poll_every(
                    "orders",
                    self._adapter.config.order_poll_interval,
                    self._poll_orders,
                    client,
                    accounts,
                    sink,
                    wake=self._orders_wanted,
                )
            )

    async def _accounts(self, client: TradierClient) -> list[str]:
        self._order_accounts = [
            n for n in await client.account_numbers() if self._adapter._wants(n)
        ]
        return self._order_accounts

    def _orders_room(self) -> Reserve:
        """The reads the order polls need in a window: every account each interval, and a
        round an order call may wake at any time."""
        accounts = len(self._order_accounts)
        return Reserve(
            per_second=accounts / self._adapter.config.order_poll_interval, base=accounts
        )

    async def _poll_every(
        self,
        name: str,
        interval: float,
        poll: Any,
        client: TradierClient,
        accounts: list[str],
        sink: AdapterSink,
        *,
        wake: asyncio.Event | None = None,
    ) -> None:
        """Poll on a schedule (or when woken). A failed round makes the account data
        `stale` at once; enough failures in a row end the account loop (reconnect)."""
        last_full = time.monotonic()
        while True:
            woken = False
            if wake is None:
                await asyncio.sleep(interval)
            else:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(interval):
                        await wake.wait()
                        woken = True
                wake.clear()
            await self._adapter._gate(sink)
            targets = accounts
            changed = self._orders_changed_in if name == "orders" else self._filled_in
            if woken and time.monotonic() - last_full < interval:
                # woken by an order call or a fill: that account only (the schedule keeps
                # the rest): Tradier's 120 reads a minute are shared by every poll
                targets = [a for a in accounts if a in changed] or accounts
            changed.clear()
            if targets is accounts:
                last_full = time.monotonic()
            try:
                await poll(client, targets, sink, full=False)
            except (BrokerHTTPError, httpx.TransportError) as exc:
                failures = self._poll_failures[name] = self._poll_failures.get(name, 0) + 1
                if failures >= self._adapter.config.poll_failures_before_reconnect:
                    raise
                reason = f"{name} poll failed: {describe(exc)}"
                log.info("tradier link %s: %s", self._adapter.link_id, reason)
                await self._adapter._report_change(sink, "account", "stale", reason)
                continue
            self._poll_failures[name] = 0
            if any(self._poll_failures.values()):
                continue  # another poll is still failing: stale stays
            if self._adapter.kind_state("account") == "stale":
                await self._adapter._report(sink, "account", "live")
            if name == "balances":
                sink.fresh(self._adapter.link_id, "account")

    async def _poll_accounts(
        self, client: TradierClient, accounts: list[str], sink: AdapterSink, *, full: bool
    ) -> None:
        """Balances and positions; on a poll only what changed is reported. These reads
        leave the order polls their room in the window (they are how a fill reaches the
        page); on a snapshot (`full`) they are what the page waits for, and keep none."""
        self.account_polls += 1
        keep = None if full else self._orders_room()
        raw_positions: dict[str, list[TradierPosition]] = {}
        balances: dict[str, Balance] = {}
        for number_ in accounts:
            self.balances_polled[number_] += 1
            body = await client.get(f"/v1/accounts/{number_}/balances", keep=keep)
            # the edge: Tradier's JSON object as the balances they are
            raw_balances = cast(TradierBalances, (body or {}).get("balances") or {})
            balances[number_] = balance_payload(raw_balances)
            body = await client.get(f"/v1/accounts/{number_}/positions", keep=keep)
            wrapper = (body or {}).get("positions")
            rows = as_list(wrapper.get("position") if isinstance(wrapper, dict) else None)
            # the edge: Tradier's JSON objects as the positions they are
            raw_positions[number_] = [cast(TradierPosition, p) for p in rows if isinstance(p, dict)]
        quotes = await self._position_quotes(client, raw_positions)
        for number_ in accounts:
            balance = balances[number_]
            positions = [
                position_payload(p, quotes.get(str(p.get("symbol"))))
                for p in raw_positions[number_]
            ]
            await self._adapter._emit_changed(
                sink, "balance", number_, balance, full=full, volatile=("updated_at",)
            )
            await self._adapter._emit_changed(
                sink, "positions", number_, positions, full=full, volatile=("mark_price",)
            )

    async def _position_quotes(
        self, client: TradierClient, positions: dict[str, list[TradierPosition]]
    ) -> dict[str, TradierQuote]:
        """One quotes call for every position symbol (close and mark prices)."""
        symbols = sorted({str(p.get("symbol")) for rows in positions.values() for p in rows})
        if not symbols:
            return {}
        try:
            body = await client.post("/v1/markets/quotes", {"symbols": ",".join(symbols)})
        except BrokerHTTPError as exc:
            log.info("tradier link %s: position quotes failed: %s", self._adapter.link_id, exc)
            return {}
        wrapper = (body or {}).get("quotes")
        rows = as_list(wrapper.get("quote") if isinstance(wrapper, dict) else None)
        # the edge: Tradier's JSON objects as the quotes they are
        return {str(q.get("symbol")): cast(TradierQuote, q) for q in rows if isinstance(q, dict)}

    async def _poll_orders(
        self, client: TradierClient, accounts: list[str], sink: AdapterSink, *, full: bool
    ) -> None:
        """Orders; what changed is reported, and a new fill re-reads balances and
        positions at once (not at the next account poll)."""
        self.order_polls += 1
        for number_ in accounts:
            self.accounts_polled[number_] += 1
            body = await client.get(f"/v1/accounts/{number_}/orders")
            wrapper = (body or {}).get("orders")
            rows = as_list(wrapper.get("order") if isinstance(wrapper, dict) else None)
            for row in rows:
                if not isinstance(row, dict):
                    continue
                # the edge: Tradier's JSON object as the order it is; a linked order: several
                for payload in order_payloads(cast(TradierOrder, row), self._fills):
                    key = ("order", str(payload["id"]))
                    # an order's key holds only the order last emitted (here)
                    previous = cast("Order | None", self._adapter._known.get(key))
                    if full or previous != payload:
                        await sink.account_event("order", self._adapter.link_id, number_, payload)
                        if not full and fill_ids(payload) - fill_ids(previous):
                            self._filled_in.add(number_)
                            self._account_wanted.set()
                    self._adapter._known[key] = payload
