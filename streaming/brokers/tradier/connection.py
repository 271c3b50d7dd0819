"""A Tradier link's REST client, for its adapter's parts to call through: the running one
while the adapter's loops hold it (one rate-limit book per token), else one made for the
call (a token needs no session, so an order or a chain never waits for the loops)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping
from typing import Any

from streaming.brokers.tradier.client import TradierClient


class Connection:
    """A Tradier link's token, API and running client (None between connections)."""

    def __init__(self, access_token: str, api_url: str) -> None:
        self.access_token = access_token
        self.api_url = api_url.rstrip("/")
        #: The client the adapter's loops run (`TradierAdapter.run`), None outside them.
        self.client: TradierClient | None = None

    @contextlib.asynccontextmanager
    async def use(self) -> AsyncIterator[TradierClient]:
        """The link's running client (its rate-limit book), else one for this call."""
        if self.client is not None:
            yield self.client
            return
        async with TradierClient(access_token=self.access_token, api_url=self.api_url) as client:
            yield client

    async def get(self, path: str, params: Mapping[str, object]) -> Any:
        """Through the connection's client, or a short-lived one outside a connection. A
        429 is not retried here: the chain cache shares it and the page says when to
        retry (the greeks loop tries again on its next round)."""
        async with self.use() as client:
            return await client.request("GET", path, params=params, max_retries=0)
