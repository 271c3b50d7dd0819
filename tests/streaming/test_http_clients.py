"""Every broker HTTP client in the process shares one TLS context (issue 15: one built
per client cost ~33 ms of CPU and ~820 KiB, per user and reconnect)."""

from __future__ import annotations

import asyncio

from streaming.brokers.alpaca.client import AlpacaClient, AlpacaTradingClient
from streaming.brokers.http_client import async_client, shared_ssl_context
from streaming.brokers.tastytrade.client import make_session
from streaming.brokers.tradier.client import TradierClient
from streaming.news import alpaca as news_alpaca
from tests.support.sdk import SECRET


def tls_context(client) -> object:
    """The SSL context an httpx client's connection pool opens connections with."""
    return client._transport._pool._ssl_context


async def test_every_broker_client_uses_the_process_tls_context(broker_at_sandbox, sandbox):
    shared = shared_ssl_context()
    clients = [
        TradierClient(access_token="t", api_url=f"{sandbox.url}/tradier"),
        AlpacaClient(key_id="k", secret_key="s", api_url=f"{sandbox.url}/alpaca"),
        AlpacaTradingClient(key_id="k", secret_key="s", api_url=f"{sandbox.url}/alpaca"),
    ]
    try:
        assert [tls_context(c._http) for c in clients] == [shared] * 3
    finally:
        await asyncio.gather(*(c.aclose() for c in clients))
    async with async_client() as http:  # what the news feed opens its REST client with
        assert tls_context(http) is shared
    assert news_alpaca.async_client is async_client
    session = make_session(SECRET, "sandbox-refresh-tls")
    assert tls_context(session._client) is shared  # the SDK's httpx2 client
