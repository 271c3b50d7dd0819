"""What the httpx-based broker clients (Tradier, Alpaca) share."""

from __future__ import annotations

from collections.abc import Callable
from typing import Self

import httpx


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
