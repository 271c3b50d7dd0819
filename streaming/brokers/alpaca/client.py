"""Async REST clients for Alpaca (httpx): the Broker API with its trade-event stream
opener, and the Trading API (a trader's own paper or live keys).

HTTP Basic auth with the key id and secret, as the Broker API wants; the Trading API
takes them in its `APCA-API-KEY-ID` / `APCA-API-SECRET-KEY` headers. 401/403 mean the
key itself is refused (CredentialRejected); 429 is retried a few times after Retry-After
(or a jittered pause), never in a tight loop; other error statuses are BrokerHTTPError.
Nothing here puts the key or secret in a message: httpx keeps Basic credentials in a
header, never in the URL, and error texts come from the response body only.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import AsyncIterator, Mapping
from typing import Any, cast

import httpx
import orjson
from django.conf import settings
from httpx_sse import EventSource, aconnect_sse

from streaming import metrics
from streaming.brokers.alpaca.payloads import (
    AlpacaAccount,
    AlpacaActivity,
    AlpacaOrder,
    AlpacaPosition,
    AlpacaTradeAccount,
)
from streaming.brokers.errors import (
    REJECTION_STATUSES,
    BrokerHTTPError,
    CredentialRejected,
    retry_after_header,
)
from streaming.brokers.http_client import HTTPClient, async_client

__all__ = [
    "AlpacaClient",
    "AlpacaTradingClient",
    "alpaca_trading_url",
    "error_message",
    "fetch_account_numbers",
    "fetch_trading_account_numbers",
]

#: Longest pause honoured from a Retry-After header before giving up on a request.
MAX_RETRY_AFTER = 30.0


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


def error_message(response: httpx.Response) -> str:
    """The broker's own short error text: Alpaca `{"code", "message"}`, nested
    `{"error": {"message"}}`, or the start of a plain-text body."""
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return response.text.strip()[:160] or response.reason_phrase
    if isinstance(body, dict):
        inner = body.get("error")
        if isinstance(inner, dict):
            body = inner
        message = body.get("message")
        if isinstance(message, str):
            code = body.get("code")
            return f"{message} ({code})" if code is not None else message
    return response.reason_phrase


def raise_for_status(response: httpx.Response) -> None:
    """Map an error response to CredentialRejected / BrokerHTTPError."""
    if response.status_code < 400:
        return
    message = error_message(response)
    if response.status_code in REJECTION_STATUSES:
        raise CredentialRejected(f"HTTP {response.status_code}: {message}")
    raise BrokerHTTPError(response.status_code, message, retry_after_header(response.headers))


class AlpacaClient(HTTPClient):
    """One key pair's REST session. Use as `async with AlpacaClient(...) as client:`."""

    def __init__(
        self,
        *,
        key_id: str,
        secret_key: str,
        api_url: str,
        timeout: float = 15.0,
        max_retries: int = 3,
        retry_pause: float = 1.0,
    ) -> None:
        self.max_retries = max_retries
        self.retry_pause = retry_pause
        self._http = async_client(
            base_url=api_url.rstrip("/"),
            auth=httpx.BasicAuth(key_id, secret_key),
            timeout=timeout,
            headers={"accept": "application/json"},
        )

    async def request(self, method: str, path: str, **kwargs: Any) -> Any:
        """One JSON call; 429 waits (Retry-After, else jittered) and retries a bounded
        number of times, then raises BrokerHTTPError(429)."""
        attempt = 0
        while True:
            response = await self._http.request(method, path, **kwargs)
            if response.status_code == 429:
                metrics.RATE_LIMITED.labels("alpaca").inc()
            if response.status_code == 429 and attempt < self.max_retries:
                attempt += 1
                wait = retry_after_header(response.headers)
                if wait is None:
                    wait = self.retry_pause * (2 ** (attempt - 1)) * random.uniform(0.7, 1.3)
                await asyncio.sleep(min(wait, MAX_RETRY_AFTER))
                continue
            raise_for_status(response)
            if response.status_code == 204 or not response.content:
                return None
            return orjson.loads(response.content)

    async def get(self, path: str, params: Mapping[str, object] | None = None) -> Any:
        return await self.request("GET", path, params=params)

    # -- Broker API resources -----------------------------------------------------
    async def accounts(self) -> list[AlpacaAccount]:
        return await self.get("/v1/accounts")

    async def trading_account(self, account_id: str) -> AlpacaTradeAccount:
        return await self.get(f"/v1/trading/accounts/{account_id}/account")

    async def positions(self, account_id: str) -> list[AlpacaPosition]:
        return await self.get(f"/v1/trading/accounts/{account_id}/positions")

    async def orders(self, account_id: str, **params: str | int | None) -> list[AlpacaOrder]:
        """`status=open|closed|all`, `after`, `limit` (≤ 500), `direction`."""
        clean = {k: v for k, v in params.items() if v is not None}
        return await self.get(f"/v1/trading/accounts/{account_id}/orders", clean)

    @contextlib.asynccontextmanager
    async def trade_events(
        self, params: Mapping[str, object] | None = None
    ) -> AsyncIterator[EventSource]:
        """Open `GET /v2/events/trades` (no read timeout: a watchdog guards liveness).

        Raises CredentialRejected / BrokerHTTPError for an error status before yielding;
        httpx_sse raises SSEError on iteration if the content type is not an event stream.
        """
        async with aconnect_sse(
            self._http,
            "GET",
            "/v2/events/trades",
            params=params or {},
            timeout=self._stream_timeout(),
        ) as source:
            await self._check_stream(source.response, raise_for_status)
            yield source


async def fetch_account_numbers(
    secrets: dict[str, str],
    *,
    api_url: str,
    timeout: float = 15.0,  # noqa: ASYNC109 - the per-request httpx timeout, by contract
) -> list[str]:
    """The account numbers a key pair can see (the admin's verify action)."""
    async with AlpacaClient(
        key_id=secrets["key_id"],
        secret_key=secrets["secret_key"],
        api_url=api_url,
        timeout=timeout,
        max_retries=1,
    ) as client:
        return [str(a["account_number"]) for a in await client.accounts()]


class AlpacaTradingClient(AlpacaClient):
    """One Trading API key's REST session: ONE account, no account ids in the paths.

    It answers the Broker client's calls (`accounts`, `trading_account`, `positions`,
    `orders`) with the Trading API's, so the adapter's snapshot and polls serve both."""

    def __init__(
        self,
        *,
        key_id: str,
        secret_key: str,
        api_url: str,
        timeout: float = 15.0,
        max_retries: int = 3,
        retry_pause: float = 1.0,
    ) -> None:
        self.max_retries = max_retries
        self.retry_pause = retry_pause
        self._http = async_client(
            base_url=api_url.rstrip("/"),
            timeout=timeout,
            headers={
                "accept": "application/json",
                "APCA-API-KEY-ID": key_id,
                "APCA-API-SECRET-KEY": secret_key,
            },
        )

    async def accounts(self) -> list[AlpacaAccount]:
        """The key's one account, as a list (the shape the Broker API lists accounts in)."""
        return [await self.get("/v2/account")]

    async def trading_account(self, account_id: str = "") -> AlpacaTradeAccount:
        return await self.get("/v2/account")

    async def positions(self, account_id: str = "") -> list[AlpacaPosition]:
        return await self.get("/v2/positions")

    async def orders(self, account_id: str = "", **params: str | int | None) -> list[AlpacaOrder]:
        """`status=open|closed|all`, `after`, `until`, `limit` (≤ 500), `direction`,
        `nested`, `symbols`, `side`."""
        clean = {k: v for k, v in params.items() if v is not None}
        return await self.get("/v2/orders", clean)

    async def order(self, order_id: str) -> AlpacaOrder:
        return await self.get(f"/v2/orders/{order_id}")

    async def fill_activities(self, after: str) -> list[AlpacaActivity]:
        """Every FILL activity after `after` (RFC 3339), oldest first, all pages."""
        found: list[AlpacaActivity] = []
        page_size = 100
        params: dict[str, str | int] = {"after": after, "direction": "asc", "page_size": page_size}
        while True:
            page = await self.get("/v2/account/activities/FILL", params)
            if not isinstance(page, list) or not page:
                return found
            # the edge: Alpaca's JSON rows as the activities they are
            found.extend(cast(AlpacaActivity, a) for a in page if isinstance(a, dict))
            if len(page) < page_size:
                return found
            params["page_token"] = page[-1].get("id")


async def fetch_trading_account_numbers(
    secrets: dict[str, str],
    *,
    api_url: str,
    timeout: float = 15.0,  # noqa: ASYNC109 - the per-request httpx timeout, by contract
) -> list[str]:
    """The account number a Trading API key pair reaches (the admin's verify action)."""
    async with AlpacaTradingClient(
        key_id=secrets["key_id"],
        secret_key=secrets["secret_key"],
        api_url=api_url,
        timeout=timeout,
        max_retries=1,
    ) as client:
        return [str(a["account_number"]) for a in await client.accounts()]
