"""A small async client for Tradier's REST API and HTTP market stream, over httpx.

It knows Tradier's quirks so the adapter does not have to: JSON only when asked for
(`Accept: application/json`), collections that collapse to a bare object (or the string
"null") when they hold one element (or none) — see `as_list` — and per-token rate limits
announced in `X-Ratelimit-*` headers. The client waits for the window's `Expiry` when a
group has nothing `Available`, and backs off and retries (a bounded number of times) on
429. The token is only ever sent in the Authorization header: it never appears in a log
line or an exception message made here.

Usage::

    async with TradierClient(access_token=token, api_url="https://api.tradier.com") as c:
        profile = await c.get("/v1/user/profile")
        accounts = as_list(profile["profile"].get("account"))
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import httpx
import orjson

from streaming import metrics
from streaming.brokers.errors import (
    REJECTION_STATUSES,
    BrokerHTTPError,
    CredentialRejected,
    retry_after_header,
)
from streaming.brokers.http_client import HTTPClient, async_client
from streaming.brokers.tradier.pacing import RateState, RateWindow, Reserve

log = logging.getLogger(__name__)


def as_list(value: Any) -> list[Any]:
    """A Tradier collection as a list: None, "null" and "" are empty, one item is wrapped."""
    if value is None or value == "null" or value == "":
        return []
    if isinstance(value, list):
        return value
    return [value]


def rate_group(method: str, path: str) -> str:
    """Tradier's rate-limit groups: market data, trading (the `trade` scope: placing,
    previewing, modifying and cancelling orders), standard (the other reads). An answer's
    headers tell of its group's window, so a call booked in the wrong group misleads the
    pacing of the other (a cancel's trading room taken for the reads' room: a 429)."""
    if path.startswith("/v1/markets"):
        return "market"
    if (
        method in ("POST", "PUT", "DELETE")
        and path.startswith("/v1/accounts/")
        and (path.endswith("/orders") or "/orders/" in path)
    ):
        return "trading"
    return "standard"


def _rate_state(headers: httpx.Headers) -> RateState | None:
    """An answer's `X-Ratelimit-*` headers (None: it had none)."""
    if "x-ratelimit-available" not in headers:
        return None
    return RateState(
        allowed=_int(headers.get("x-ratelimit-allowed")),
        used=_int(headers.get("x-ratelimit-used")),
        available=_int(headers.get("x-ratelimit-available")),
        expiry_ms=_int(headers.get("x-ratelimit-expiry")),
    )


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


class TradierClient(HTTPClient):
    """Bearer-authenticated JSON requests with rate-limit bookkeeping; one per connection."""

    def __init__(
        self,
        *,
        access_token: str,
        api_url: str,
        timeout: float = 15.0,
        max_retries: int = 3,
        max_backoff: float = 30.0,
    ) -> None:
        self.api_url = api_url.rstrip("/")
        self.max_retries = max_retries
        self.max_backoff = max_backoff
        self.windows: dict[str, RateWindow] = {}
        self.retries_429 = 0  # 429 answers that were retried
        self._http = async_client(
            headers={"Authorization": f"Bearer {access_token}", "Accept": "application/json"},
            timeout=httpx.Timeout(timeout),
        )

    # -- requests ------------------------------------------------------------------------
    async def get(
        self, path: str, params: Mapping[str, object] | None = None, *, keep: Reserve | None = None
    ) -> Any:
        return await self.request("GET", path, params=params, keep=keep)

    async def post(self, path: str, data: Mapping[str, object] | None = None) -> Any:
        return await self.request("POST", path, data=data)

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        data: Mapping[str, Any] | None = None,
        max_retries: int | None = None,
        keep: Reserve | None = None,
    ) -> Any:
        """One REST call, parsed; waits out exhausted windows and retries 429s (bounded;
        `max_retries=0`: a 429 is raised at once with its Retry-After, for a caller that
        tells a person when to try again instead of holding them). `keep`: the room a
        less urgent call leaves in its window for the others (pacing.py)."""
        group = rate_group(method, path)
        retries = self.max_retries if max_retries is None else max_retries
        for attempt in range(retries + 1):
            window = self.windows.setdefault(group, RateWindow(group))
            await window.reserve(keep)
            answer: RateState | None = None
            try:
                response = await self._http.request(
                    method, self.api_url + path, params=params, data=data
                )
                answer = _rate_state(response.headers)
            finally:
                window.answered(answer)
            if response.status_code != 429:
                return self._parse(response)
            metrics.RATE_LIMITED.labels("tradier").inc()
            delay = self._retry_delay(response, group, attempt)
            if attempt == retries:
                raise BrokerHTTPError(429, "rate limit exceeded", retry_after=delay)
            self.retries_429 += 1
            log.info("tradier %s %s: 429, retrying in %.1f s", method, path, delay)
            await asyncio.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    @asynccontextmanager
    async def stream(self, url: str, data: dict[str, str]) -> AsyncIterator[httpx.Response]:
        """POST to the market stream; yields the open response (status already checked)."""
        timeout = self._stream_timeout()
        async with self._http.stream("POST", url, data=data, timeout=timeout) as response:
            await self._check_stream(response, self._raise_for)
            yield response

    async def account_numbers(self) -> list[str]:
        """The account numbers of the token's user profile."""
        body = await self.get("/v1/user/profile")
        profile = body.get("profile") if isinstance(body, dict) else None
        accounts = as_list(profile.get("account")) if isinstance(profile, dict) else []
        return [
            str(a["account_number"])
            for a in accounts
            if isinstance(a, dict) and a.get("account_number")
        ]

    @property
    def rate(self) -> dict[str, RateState]:
        """The newest rate-limit headers of each group answered so far."""
        return {g: w.state for g, w in self.windows.items() if w.state is not None}

    @property
    def rate_waits(self) -> int:
        """Times a request waited for a rate window to reset."""
        return sum(w.waits for w in self.windows.values())

    # -- internals -------------------------------------------------------------------------
    def _retry_delay(self, response: httpx.Response, group: str, attempt: int) -> float:
        """Retry-After if given, else until the window's Expiry, else exponential."""
        retry_after = retry_after_header(response.headers)
        if retry_after is not None:
            return min(self.max_backoff, retry_after)
        state = self.rate.get(group)
        if state is not None and state.expiry_ms is not None:
            wait = state.expiry_ms / 1000 - time.time()
            if wait > 0:
                return min(self.max_backoff, wait + 0.05)
        return min(self.max_backoff, 0.5 * 2**attempt)

    def _parse(self, response: httpx.Response) -> Any:
        if response.status_code >= 400:
            self._raise_for(response)
        try:
            return orjson.loads(response.content)
        except orjson.JSONDecodeError:
            kind = response.headers.get("content-type", "unknown")
            raise BrokerHTTPError(response.status_code, f"expected JSON, got {kind}") from None

    @staticmethod
    def _raise_for(response: httpx.Response) -> None:
        status = response.status_code
        text = response.text.strip().replace("\n", " ")[:200]
        if status in REJECTION_STATUSES:
            raise CredentialRejected(f"Tradier refused the access token (HTTP {status}: {text})")
        delay = retry_after_header(response.headers)
        raise BrokerHTTPError(status, text or response.reason_phrase, retry_after=delay)


async def fetch_account_numbers(
    secrets: dict[str, str],
    *,
    api_url: str,
    timeout: float = 15.0,  # noqa: ASYNC109
) -> list[str]:
    """The account numbers a Tradier token can see (the admin's verify action)."""
    token = secrets.get("access_token", "")
    if not token:
        raise CredentialRejected("no access token")
    async with TradierClient(access_token=token, api_url=api_url, timeout=timeout) as client:
        return await client.account_numbers()
