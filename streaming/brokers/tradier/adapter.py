"""The Tradier adapter: one link's REST client, and the parts it holds.

An adapter is its supervised lifecycle (supervised.py): that is what it is, so
`SupervisedAdapter` is its one base. What it does is in parts it HOLDS, the same shape at
every broker (docs/streaming.md, "Inside streaming/brokers/"):

- `connection` (connection.py): the token's REST client (one rate-limit book per token);
- the streams: `quotes` (quotes.py: the HTTP market stream, greeks from the chains) and
  `account` (account.py: the REST snapshot and polls), each one kind's loop;
- `reads` (reads.py: candle history) and `chains` (chains.py);
- `orders` (orders.py): order entry, which wakes the order poll after each change.
  `SupportsOrders` and the candles capability are forwarded to their part explicitly.

The adapter's own part of the work is the client both kinds share: `run` opens it and
runs the two independent supervised loops over it, each with its own backoff and status;
a failure of one never restarts the other. Tradier's paper environment
(sandbox.tradier.com) serves delayed quotes: such a link reports `delayed`. Every
upstream connect and REST batch first asks the sink's lease gate. See
docs/streaming-contract.md.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

from streaming.brokers.base import AdapterSink, StreamConfig
from streaming.brokers.delay import DelayMonitor
from streaming.brokers.market_data_cache import MarketDataCache
from streaming.brokers.orders.entry import LinkedOrder, OrderRequest, PlaceResult, PreviewResult
from streaming.brokers.rate_limit import BrokerPacing
from streaming.brokers.supervised import SupervisedAdapter
from streaming.brokers.tradier.account import AccountPolls
from streaming.brokers.tradier.chains import TradierChains, tradier_market_bucket
from streaming.brokers.tradier.client import TradierClient
from streaming.brokers.tradier.connection import Connection
from streaming.brokers.tradier.orders import TradierOrders
from streaming.brokers.tradier.quotes import MarketStream
from streaming.brokers.tradier.reads import TradierReads

__all__ = ["StreamConfig", "TradierAdapter"]

#: Tradier's paper environment serves quotes 15 minutes late.
DELAYED_HOSTS = {"sandbox.tradier.com": 15 * 60 * 1000}


def known_delay_ms(*urls: str) -> int | None:
    """The delay of a known delayed environment the URLs point at, else None."""
    for url in urls:
        delay = DELAYED_HOSTS.get((urlsplit(url).hostname or "").lower())
        if delay is not None:
            return delay
    return None


class TradierAdapter(SupervisedAdapter):
    """Streams one Tradier link into a sink, forever, healing on every failure."""

    broker = "tradier"
    #: Always set: the quotes kind reports whether the data is delayed.
    delay: DelayMonitor

    def __init__(
        self,
        *,
        link_id: int,
        access_token: str,
        account_numbers: Iterable[str] = (),
        api_url: str,
        stream_url: str,
        config: StreamConfig | None = None,
        pacing: BrokerPacing | None = None,
        market_data: MarketDataCache | None = None,
    ) -> None:
        super().__init__(link_id, config, account_numbers)
        # the process's pacing windows and market data cache (its node's, handed in by
        # wiring); a link built alone (a test, the bench) has its own
        pacing = pacing if pacing is not None else BrokerPacing()
        market_data = market_data if market_data is not None else MarketDataCache()
        self.connection = Connection(access_token, api_url)
        env = urlsplit(self.connection.api_url).netloc
        self.delay = DelayMonitor(known_delay_ms(api_url, stream_url))
        #: Option chains through the cluster-wide cache and pacing (tradier/chains.py).
        self.chains = TradierChains(
            self.connection.get,
            access_token,
            env,
            self.config.chain_cache_ttl,
            pacing=pacing,
            cache=market_data,
        )
        self.quotes = MarketStream(self, self.connection, self.chains, self.delay, stream_url)
        self.account = AccountPolls(self, self.connection)
        #: History calls share the token's market-data limit with the chains.
        self.reads = TradierReads(
            self.connection.get, tradier_market_bucket(access_token, env), pacing
        )
        self.orders = TradierOrders(self.connection, self.account.order_changed)

    # -- control ------------------------------------------------------------------------------
    def set_symbols(self, symbols: set[str]) -> None:
        self.quotes.set_symbols(symbols)

    @property
    def account_every(self) -> float:
        return self.config.account_poll_interval

    # -- the two loops over one client ----------------------------------------------------------
    async def run(self, sink: AdapterSink) -> None:
        async with TradierClient(
            access_token=self.connection.access_token,
            api_url=self.connection.api_url,
            timeout=self.config.handshake_timeout,
        ) as client:
            self.connection.client = client
            try:
                await self._run_loops(
                    sink, {"quotes": self.quotes.once, "account": self.account.once}
                )
            finally:
                self.connection.client = None

    # -- the reads (SupportsCandles) ------------------------------------------------------
    async def candles(self, symbol: str, tf: str, from_ms: int, *, within: float) -> list[dict]:
        return await self.reads.candles(symbol, tf, from_ms, within=within)

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
