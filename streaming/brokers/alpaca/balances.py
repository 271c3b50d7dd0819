"""An Alpaca link's balances and positions, re-read over REST in both modes: one of the
parts its adapter holds (its account stream runs it).

Alpaca has no account push, so balances and positions are re-read every
`account_poll_interval`, and right after a fill (`mark_dirty`: that account only); with
them, while the account holds a working trailing stop or linked order, its open orders (a
trailing stop's high-water mark and stop move with the price, a partly filled take
profit shrinks its stop loss, and no trade event says so). Only what changed is sent.
"""

from __future__ import annotations

import asyncio

from streaming.brokers.alpaca.book import OrderBook
from streaming.brokers.alpaca.client import AlpacaClient
from streaming.brokers.alpaca.connection import Connection
from streaming.brokers.alpaca.wire import balance_payload, position_payload
from streaming.brokers.base import AdapterSink
from streaming.brokers.supervised import SupervisedAdapter

#: A balance's timestamp: a re-read with only a new one is no change.
VOLATILE = ("updated_at",)


class BalancePolls:
    """The balances and positions of an Alpaca link's accounts, kept current over REST."""

    def __init__(self, adapter: SupervisedAdapter, connection: Connection, book: OrderBook) -> None:
        self._adapter = adapter
        self._connection = connection
        self._book = book
        #: The accounts (numbers) with a fill since their last read, and its signal.
        self._dirty: set[str] = set()
        self._dirty_event = asyncio.Event()

    async def refresh_account(
        self, client: AlpacaClient, sink: AdapterSink, account_id: str, *, full: bool = False
    ) -> None:
        """Balance and positions over REST; emitted on a full snapshot or when changed."""
        number = self._connection.accounts[account_id]
        balance = balance_payload(await client.trading_account(account_id))
        positions = [position_payload(p) for p in await client.positions(account_id)]
        await self._adapter._emit_changed(
            sink, "balance", number, balance, full=full, volatile=VOLATILE
        )
        await self._adapter._emit_changed(sink, "positions", number, positions, full=full)
        if self._book.changes_unannounced(number):
            await self._refresh_open_orders(client, sink, account_id)

    async def _refresh_open_orders(
        self, client: AlpacaClient, sink: AdapterSink, account_id: str
    ) -> None:
        """The account's open orders read again with the account (`changes_unannounced`),
        so the screen shows what the broker holds: at most `account_poll_interval` old, and
        at once after a fill (a fill refreshes its account)."""
        number = self._connection.accounts[account_id]
        for order in await client.orders(account_id, status="open", nested="true", limit=500):
            if isinstance(order, dict) and order.get("id"):
                await self._book.apply_order(sink, number, order)

    async def poll_accounts(self, client: AlpacaClient, sink: AdapterSink) -> None:
        """Every account_poll_interval all accounts; right after a fill, that account."""
        while True:
            try:
                async with asyncio.timeout(self._adapter.config.account_poll_interval):
                    await self._dirty_event.wait()
                dirty = [a for a, n in self._connection.accounts.items() if n in self._dirty]
            except TimeoutError:
                dirty = list(self._connection.accounts)
            self._dirty_event.clear()
            self._dirty.clear()
            await self._adapter._gate(sink)
            for account_id in dirty:
                await self.refresh_account(client, sink, account_id)
            if len(dirty) == len(self._connection.accounts):
                sink.fresh(self._adapter.link_id, "account")

    def mark_dirty(self, number: str) -> None:
        """A fill in the account `number`: its balance and positions are read at once."""
        self._dirty.add(number)
        self._dirty_event.set()
