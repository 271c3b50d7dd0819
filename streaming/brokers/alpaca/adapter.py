"""The Alpaca adapter (Broker API): one Broker API key's accounts, and the parts it holds.

An adapter is its supervised lifecycle (supervised.py): that is what it is, so
`SupervisedAdapter` is its one base. What it does is in parts it HOLDS, the same shape at
every broker and in both of Alpaca's modes (docs/streaming.md, "Inside
streaming/brokers/"; the Trading API mode: trading.py):

- `connection` (connection.py): the key pair, the API, and the accounts found;
- the streams: `quotes` (coins.py: only the coins the quote feed asks of it, from its
  crypto market data; `idle` while none are; Alpaca serves no stock quotes here) and
  `account` (events.py: a REST snapshot, then the trade events over SSE, resumed from
  the link's checkpoint, with a polling fallback), each one kind's loop, the account
  side helped by `balances` (balances.py) and `book` (book.py: the orders as folded);
- `reads` (reads.py: the coins' candles, the portfolio history);
- `orders` (orders.py): order entry. `SupportsOrders` and the read capabilities are
  forwarded to their part explicitly.

Usage::

    adapter = AlpacaAdapter(link_id=7, key_id=k, secret_key=s, api_url=url,
                            checkpoint=DatabaseCheckpoint(7, "alpaca-trades"))
    await adapter.run(sink)   # until cancelled
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from streaming.brokers.alpaca.balances import BalancePolls
from streaming.brokers.alpaca.book import OrderBook
from streaming.brokers.alpaca.coins import CoinQuotes
from streaming.brokers.alpaca.connection import Connection
from streaming.brokers.alpaca.events import TradeEvents
from streaming.brokers.alpaca.orders import AlpacaOrders
from streaming.brokers.alpaca.reads import AlpacaReads
from streaming.brokers.base import AdapterSink, Checkpoint, StreamConfig
from streaming.brokers.orders.entry import LinkedOrder, OrderRequest, PlaceResult, PreviewResult
from streaming.brokers.supervised import SupervisedAdapter

__all__ = ["AlpacaAdapter"]


class AlpacaAdapter(SupervisedAdapter):
    """Streams one Alpaca Broker API key's accounts into a sink, forever, healing on failure."""

    broker = "alpaca"

    def __init__(
        self,
        *,
        link_id: int,
        key_id: str,
        secret_key: str,
        account_numbers: Iterable[str] = (),
        api_url: str,
        checkpoint: Checkpoint,
        config: StreamConfig | None = None,
        coin_stream_url: str | None = None,
    ) -> None:
        super().__init__(link_id, config, account_numbers)
        self.connection = Connection(key_id, secret_key, api_url, trading_api=False)
        self.book = OrderBook(link_id)
        self.balances = BalancePolls(self, self.connection, self.book)
        self.quotes = CoinQuotes(self, self.connection, coin_stream_url)
        self.account = TradeEvents(self, self.connection, self.book, self.balances, checkpoint)
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
