"""Which adapter, which account lookup and which order history serve each broker.

The only place that knows the list of brokers on the streaming side: the stream manager,
the agents, the admin's verify action and the orders page ask here and stay
broker-agnostic.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.conf import settings

from streaming.brokers.alpaca import client as alpaca_client
from streaming.brokers.alpaca import history as alpaca_history
from streaming.brokers.alpaca.adapter import AlpacaAdapter
from streaming.brokers.alpaca.client import alpaca_trading_url
from streaming.brokers.alpaca.trading import AlpacaTradingAdapter
from streaming.brokers.base import BrokerAdapter, Checkpoint, StreamConfig
from streaming.brokers.market_data_cache import MarketDataCache
from streaming.brokers.orders.history import BrokerHistory, HistoryLink, HistoryPage, history_page
from streaming.brokers.rate_limit import BrokerPacing
from streaming.brokers.tastytrade import client as tastytrade_client
from streaming.brokers.tastytrade import history as tastytrade_history
from streaming.brokers.tastytrade.adapter import TastytradeAdapter
from streaming.brokers.tradier import client as tradier_client
from streaming.brokers.tradier import history as tradier_history
from streaming.brokers.tradier.adapter import TradierAdapter
from streaming.order_list import Key
from streaming.runtime.heap import Lifetimes

#: Brokers whose adapter streams quotes (the manager picks one link as the quote source).
QUOTE_BROKERS = ("tastytrade", "tradier")
#: Brokers whose adapter quotes coins: tastytrade's feed has them; Alpaca's crypto market
#: data streams nothing else, and feeds the coins of a user whose quote source has none.
COIN_QUOTE_BROKERS = ("tastytrade", "alpaca")
#: Each broker's own read of an account's past orders (brokers/orders/history.py).
ORDER_HISTORIES: dict[str, BrokerHistory] = {
    "tastytrade": tastytrade_history.order_history,
    "tradier": tradier_history.order_history,
    "alpaca": alpaca_history.order_history,
}


async def fetch_account_numbers(
    broker: str, secrets: Mapping[str, str], *, alpaca_api: str = "broker"
) -> list[str]:
    """Log in with the secrets and list the account numbers they reach (admin verify)."""
    if broker == "tastytrade":
        return await tastytrade_client.fetch_account_numbers(
            secrets.get("provider_secret", ""), secrets.get("refresh_token", "")
        )
    if broker == "tradier":
        return await tradier_client.fetch_account_numbers(
            dict(secrets), api_url=settings.TRADIER_API_URL
        )
    if broker == "alpaca" and (trading_url := alpaca_trading_url(alpaca_api)):
        return await alpaca_client.fetch_trading_account_numbers(dict(secrets), api_url=trading_url)
    if broker == "alpaca":
        return await alpaca_client.fetch_account_numbers(
            dict(secrets), api_url=settings.ALPACA_API_URL
        )
    raise ValueError(f"no client for broker {broker!r}")


def make_adapter(
    *,
    link_id: int,
    broker: str,
    credentials: Mapping[str, str],
    account_numbers: Iterable[str],
    config: StreamConfig,
    checkpoint: Checkpoint,
    alpaca_api: str = "broker",
    lifetimes: Lifetimes | None = None,
    pacing: BrokerPacing | None = None,
    market_data: MarketDataCache | None = None,
) -> BrokerAdapter:
    """The adapter for one link, pointed at the configured API (real or sandbox); an
    Alpaca link's `alpaca_api` picks the Broker API or the Trading API (paper / live).
    Its connections count in `lifetimes` (the process's, runtime/heap.py) if given; its
    market data calls are paced and cached in the process's `pacing` and `market_data`
    (a link without them has its own)."""
    numbers = list(account_numbers)
    adapter: Any
    if broker == "tastytrade":
        adapter = TastytradeAdapter(
            link_id=link_id,
            provider_secret=credentials["provider_secret"],
            refresh_token=credentials["refresh_token"],
            account_numbers=numbers,
            config=config,
            pacing=pacing,
            market_data=market_data,
        )
    elif broker == "tradier":
        adapter = TradierAdapter(
            link_id=link_id,
            access_token=credentials["access_token"],
            account_numbers=numbers,
            api_url=settings.TRADIER_API_URL,
            stream_url=settings.TRADIER_STREAM_URL,
            config=config,
            pacing=pacing,
            market_data=market_data,
        )
    elif broker == "alpaca" and (trading_url := alpaca_trading_url(alpaca_api)):
        adapter = AlpacaTradingAdapter(
            link_id=link_id,
            key_id=credentials["key_id"],
            secret_key=credentials["secret_key"],
            account_numbers=numbers,
            api_url=trading_url,
            config=config,
            coin_stream_url=settings.ALPACA_CRYPTO_STREAM_URL,
        )
    elif broker == "alpaca":
        adapter = AlpacaAdapter(
            link_id=link_id,
            key_id=credentials["key_id"],
            secret_key=credentials["secret_key"],
            account_numbers=numbers,
            api_url=settings.ALPACA_API_URL,
            checkpoint=checkpoint,
            config=config,
            coin_stream_url=settings.ALPACA_CRYPTO_STREAM_URL,
        )
    else:
        raise ValueError(f"no adapter for broker {broker!r}")
    if lifetimes is not None:
        adapter.lifetimes = lifetimes
    return adapter


async def order_history(
    link: HistoryLink, account: str, *, before: Key | None, size: int
) -> HistoryPage:
    """A page of the account's past orders from the link's broker's own history, older
    than the order key `before` (None: the newest), newest first
    (orders/history.py `history_page`)."""
    read = ORDER_HISTORIES.get(link.broker)
    if read is None:
        raise ValueError(f"no order history for broker {link.broker!r}")
    return await history_page(read, link, account, before=before, size=size)
