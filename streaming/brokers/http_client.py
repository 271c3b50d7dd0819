"""What the httpx-based broker clients (Tradier, Alpaca) share."""

from __future__ import annotations

import functools
import ssl
from collections.abc import Callable
from typing import Any, Self

import httpx


@functools.cache
def shared_ssl_context() -> ssl.SSLContext:
    """One TLS context for every broker client in the process (the SDK's, Tradier's,
    Alpaca's, the news feed's). A client that builds its own spends ~33 ms of CPU and
    ~820 KiB on it, per user and reconnect (measured: docs/performance.md, "Why the hot path
    looks as it does")."""
    return ssl.create_default_context()


def async_client(**kwargs: Any) -> httpx.AsyncClient:
    """An `httpx.AsyncClient` on the process's TLS context (each keeps its own small
    connection pool: its `async with` closes it, so pools cannot be shared safely)."""
    kwargs.setdefault("verify", shared_ssl_context())
    return httpx.AsyncClient(**kwargs)


class HTTPClient:
    """Owns one `httpx.AsyncClient`: `async with` closes its connections; a stream opens
    with the connect timeout only (no read timeout: the adapter's watchdog guards it) and
    fails before its body is read when the broker answered an error status."""

    _http: httpx.AsyncClient

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    def _stream_timeout(self) -> httpx.Timeout:
        return httpx.Timeout(self._http.timeout.connect, read=None)

    @staticmethod
    async def _check_stream(
        response: httpx.Response, raise_for: Callable[[httpx.Response], None]
    ) -> None:
        """Raise (via `raise_for`, with the error body read) for an error status."""
        if response.status_code >= 400:
            await response.aread()
            raise_for(response)
