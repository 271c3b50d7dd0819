"""The Alpaca adapter in Trading API mode: a trader's own (paper or live) key pair, and the
parts it holds.

The same shape as the Broker API mode (adapter.py), and the same parts but one: its
`account` stream is the `trade_updates` WebSocket with REST reconciliation (updates.py)
instead of the Broker API's trade events; its connection points at the Trading API, so
its order entry and its reads use the Trading API's paths. `SupervisedAdapter` is its
one base, as at every broker.

Usage::

    adapter = AlpacaTradingAdapter(link_id=7, key_id=k, secret_key=s,
                                   api_url="https://paper-api.alpaca.markets")
    await adapter.run(sink)   # until cancelled
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from streaming.brokers.alpaca.balances import BalancePolls
from streaming.brokers.alpaca.book import OrderBook
from streaming.brokers.alpaca.coins import CoinQuotes
from streaming.brokers.alpaca.connection import Connection
from streaming.brokers.alpaca.orders import AlpacaOrders
from streaming.brokers.alpaca.reads import AlpacaReads
from streaming.brokers.alpaca.updates import TradeUpdates
from streaming.brokers.base import AdapterSink, Checkpoint, StreamConfig
from streaming.brokers.orders.entry import LinkedOrder, OrderRequest, PlaceResult, PreviewResult
from streaming.brokers.supervised import SupervisedAdapter

__all__ = ["AlpacaTradingAdapter"]


class AlpacaTradingAdapter(SupervisedAdapter):
    """Streams one Alpaca Trading API key's account into a sink, forever, healing on failure."""

    broker = "alpaca"

    def __init__(
        self,
        *,
        link_id: int,
        key_id: str,
        secret_key: str,
        account_numbers: Iterable[str] = (),
        api_url: str,
        checkpoint: Checkpoint | None = None,
        config: StreamConfig | None = None,
        coin_stream_url: str | None = None,
    ) -> None:
        super().__init__(link_id, config, account_numbers)
        # `checkpoint`: taken as the Broker API mode takes it; the Trading API's stream has
        # no replay, so there is nothing to resume from
        self.connection = Connection(key_id, secret_key, api_url, trading_api=True)
        self.book = OrderBook(link_id)
        self.balances = BalancePolls(self, self.connection, self.book)
        self.quotes = CoinQuotes(self, self.connection, coin_stream_url)
        self.account = TradeUpdates(self, self.connection, self.book, self.balances)
        self.reads = AlpacaReads(self.connection)
        self.orders = AlpacaOrders(self.connection)

    # -- control --------------------------------------------------------------------
    def set_symbols(self, symbols: set[str]) -> None:
        """The symbols the quote feed asks of this link: only coins are streamed."""
        self.quotes.set_symbols(symbols)

    def _entering(self, kind: str, state: str) -> None:
        self.account.mode = state

    @property
    def account_every(self) -> float:
        # balances are confirmed by every poll round; the stream by its heartbeats
        return self.config.account_poll_interval

    async def run(self, sink: AdapterSink) -> None:
        await self._run_loops(sink, {"quotes": self.quotes.once, "account": self.account.once})

    # -- the reads (SupportsCandles, SupportsBalanceHistory) -----------------------------
    async def candles(self, symbol: str, tf: str, from_ms: int, *, within: float) -> list[dict]:
        return await self.reads.candles(symbol, tf, from_ms, within=within)

    async def balance_history(self, account: str, day: date) -> list[tuple[int, float]]:
        return await self.reads.balance_history(account, day)

    # -- order entry (SupportsOrders) ----------------------------------------------------
    async def preview_order(self, order: OrderRequest) -> PreviewResult:
        return await self.orders.preview_order(order)

    async def place_order(self, order: OrderRequest) -> PlaceResult:
        return await self.orders.place_order(order)

    async def find_order(self, account: str, client_order_id: str) -> PlaceResult | None:
        return await self.orders.find_order(account, client_order_id)

    async def replace_order(self, order_id: str, order: OrderRequest) -> PlaceResult:
        return await self.orders.replace_order(order_id, order)

    async def preview_linked(self, group: LinkedOrder) -> PreviewResult:
        return await self.orders.preview_linked(group)

    async def place_linked(self, group: LinkedOrder) -> PlaceResult:
        return await self.orders.place_linked(group)

    async def cancel_order(self, account: str, order_id: str) -> PlaceResult:
        return await self.orders.cancel_order(account, order_id)

    async def working_orders(self, account: str) -> list[str]:
        return await self.orders.working_orders(account)
