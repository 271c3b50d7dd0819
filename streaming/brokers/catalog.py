"""Which adapter and which account lookup serve each broker.

The only place that knows the list of brokers on the streaming side: the stream manager,
the agents and the admin's verify action ask here and stay broker-agnostic.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.conf import settings

from streaming.brokers.alpaca import client as alpaca_client
from streaming.brokers.alpaca.adapter import AlpacaAdapter
from streaming.brokers.alpaca.trading import AlpacaTradingAdapter
from streaming.brokers.base import BrokerAdapter, Checkpoint, StreamConfig
from streaming.brokers.tastytrade import client as tastytrade_client
from streaming.brokers.tastytrade.adapter import TastytradeAdapter
from streaming.brokers.tradier import client as tradier_client
from streaming.brokers.tradier.adapter import TradierAdapter

#: Brokers whose adapter streams quotes (the manager picks one link as the quote source).
QUOTE_BROKERS = ("tastytrade", "tradier")
#: Brokers whose adapter quotes coins: tastytrade's feed has them; Alpaca's crypto market
#: data streams nothing else, and feeds the coins of a user whose quote source has none.
COIN_QUOTE_BROKERS = ("tastytrade", "alpaca")


def alpaca_trading_url(alpaca_api: str) -> str | None:
    """The Trading API base URL of an Alpaca link's mode ("paper" / "live"); None for
    the Broker API ("broker")."""
    if alpaca_api == "paper":
        return settings.ALPACA_TRADING_PAPER_URL
    if alpaca_api == "live":
        return settings.ALPACA_TRADING_LIVE_URL
    if alpaca_api == "broker":
        return None
    raise ValueError(f"unknown Alpaca API mode {alpaca_api!r}")


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
) -> BrokerAdapter:
    """The adapter for one link, pointed at the configured API (real or sandbox); an
    Alpaca link's `alpaca_api` picks the Broker API or the Trading API (paper / live)."""
    numbers = list(account_numbers)
    adapter: Any
    if broker == "tastytrade":
        adapter = TastytradeAdapter(
            link_id=link_id,
            provider_secret=credentials["provider_secret"],
            refresh_token=credentials["refresh_token"],
            account_numbers=numbers,
            config=config,
        )
    elif broker == "tradier":
        adapter = TradierAdapter(
            link_id=link_id,
            access_token=credentials["access_token"],
            account_numbers=numbers,
            api_url=settings.TRADIER_API_URL,
            stream_url=settings.TRADIER_STREAM_URL,
            config=config,
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
    return adapter
