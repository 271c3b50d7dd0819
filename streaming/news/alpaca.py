"""Alpaca's market data news for one key: REST history, then the real-time news socket.

`AlpacaNewsFeed.run()` never ends by itself (cancel it): it connects the socket,
authenticates, subscribes the wanted symbols, and only then reads the history it may have
missed (since the newest `updated_at` it has seen, minus a small overlap; on the first
connect `lookback` back), so no article falls between the history and the live pushes,
across any number of reconnects. A dropped socket reconnects with jittered exponential
backoff; a rejected key (402 / 401 / 403) is reported as `error` with a clear reason and
retried slowly; Alpaca's one-connection limit (406) backs off like a drop. Articles go to
`deliver` in batches (the store dedupes the overlap); the feed's state to `report`.

Times: Alpaca sends RFC 3339 (`Z` or an offset, fractions up to nanoseconds); a time
without a zone is refused rather than read as local time, and a bare number is epoch
seconds below 1e11 (year 5138), else milliseconds: the two classic news-time bugs.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import re
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypedDict

import httpx
import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import WebSocketException

from streaming.brokers.alpaca.data_socket import authenticate, receive_or
from streaming.brokers.backoff import Backoff
from streaming.brokers.errors import CredentialRejected
from streaming.brokers.http_client import async_client
from streaming.news.store import Article

log = logging.getLogger(__name__)

PROVIDER = "alpaca"
#: Alpaca's largest news page.
PAGE = 50
#: At most this many pages per history read (a long outage reads the newest 2,500 first).
MAX_PAGES = 50
#: Symbols per history request (keeps the URL short).
SYMBOLS_PER_REQUEST = 100
#: Re-read this much before the newest `updated_at` seen (clock skew, same-second items).
OVERLAP = dt.timedelta(seconds=2)
#: How long to wait before trying a rejected key again (seconds).
REJECTED_RETRY = 300.0

Deliver = Callable[[list[Article]], Awaitable[None]]
Report = Callable[[str, str], None]

_RFC3339 = re.compile(r"^(\d{4}-\d\d-\d\d)[T ](\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|z|[+-]\d\d:?\d\d)$")


class Rejected(Exception):
    """The provider refused the key: retrying at once cannot help."""


def parse_time(value: Any) -> dt.datetime:
    """An aware UTC datetime from an RFC 3339 string (`Z` or offset) or epoch number."""
    if isinstance(value, bool):
        raise ValueError(f"not a time: {value!r}")
    if isinstance(value, int | float):
        seconds = value if abs(value) < 1e11 else value / 1000
        return dt.datetime.fromtimestamp(seconds, dt.UTC)
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise ValueError(f"time without a zone: {value!r}")
        return value.astimezone(dt.UTC)
    match = _RFC3339.match(str(value).strip())
    if match is None:
        raise ValueError(f"not an RFC 3339 time with a zone: {value!r}")
    day, clock, fraction, zone = match.groups()
    zone = "+00:00" if zone in ("Z", "z") else zone
    micro = f".{(fraction or '0')[:6]}"
    return dt.datetime.fromisoformat(f"{day}T{clock}{micro}{zone}").astimezone(dt.UTC)


class AlpacaArticle(TypedDict, total=False):
    """An Alpaca news item as its REST answer and its socket's `n` message send it (the
    fields read here; `id` and `created_at` always come, an absent one is a bad article)."""

    id: int
    headline: str | None
    created_at: str
    updated_at: str | None
    summary: str | None
    author: str | None
    source: str | None
    url: str | None
    symbols: list[str] | None


def to_article(raw: AlpacaArticle) -> Article:
    """One Alpaca news item (REST or the socket's `n` message) as the store's Article."""
    return Article(
        provider=PROVIDER,
        news_id=str(int(raw["id"])),
        headline=str(raw.get("headline") or ""),
        created_at=parse_time(raw["created_at"]),
        updated_at=parse_time(raw.get("updated_at") or raw["created_at"]),
        summary=str(raw.get("summary") or ""),
        author=str(raw.get("author") or ""),
        source=str(raw.get("source") or ""),
        url=str(raw.get("url") or ""),
        symbols=tuple(str(s).upper() for s in raw.get("symbols") or ()),
    )


def _rfc3339(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class AlpacaNewsFeed:
    """One key's news: history and live articles about the wanted symbols."""

    def __init__(
        self,
        *,
        key_id: str,
        secret_key: str,
        rest_url: str,
        stream_url: str,
        deliver: Deliver,
        report: Report | None = None,
        basic_auth: bool = False,
        lookback: dt.timedelta = dt.timedelta(days=3),
        backoff: Backoff | None = None,
        rejected_retry: float = REJECTED_RETRY,
        timeout: float = 10.0,
    ) -> None:
        self._key_id = key_id
        self._secret = secret_key
        self._rest_url = rest_url.rstrip("/")
        self._stream_url = stream_url
        self._deliver = deliver
        self._report = report or (lambda state, reason: None)
        self._basic = basic_auth
        self._lookback = lookback
        self._backoff = backoff or Backoff(base=0.5, cap=30.0)
        self._rejected_retry = rejected_retry
        self._timeout = timeout
        self._wanted: set[str] = set()
        self._subscribed: set[str] = set()
        self._changed = asyncio.Event()
        #: The newest `updated_at` delivered: where the next gap fill starts.
        self.newest: dt.datetime | None = None
        self.state = "idle"
        self.reason = ""
        self.connects = 0

    # -- control -------------------------------------------------------------------------
    def set_symbols(self, symbols: Iterable[str]) -> None:
        """The symbols to follow now (the user's wanted union); applied live."""
        wanted = {s.upper() for s in symbols if s and not s.startswith((".", "/"))}
        if wanted != self._wanted:
            self._wanted = wanted
            self._changed.set()

    def _set_state(self, state: str, reason: str = "") -> None:
        if (state, reason) != (self.state, self.reason):
            self.state, self.reason = state, reason
            self._report(state, reason)

    # -- the loop ------------------------------------------------------------------------
    async def run(self) -> None:
        """Connect, fill, stream; reconnect after anything but a cancel."""
        async with async_client(
            base_url=self._rest_url, timeout=self._timeout, headers=self._rest_headers()
        ) as http:
            self._http = http
            while True:
                if not self._wanted:
                    self._set_state("idle", "no symbols wanted")
                    self._changed.clear()
                    await self._changed.wait()
                    continue
                started: float | None = None
                try:
                    if self.state == "idle":
                        self._set_state("connecting")
                    async with connect(
                        self._stream_url, open_timeout=self._timeout, ping_interval=20
                    ) as ws:
                        await self._handshake(ws)
                        self._subscribed = set()
                        await self._sync_subscription(ws)
                        await self._fill(self._subscribed, since=self.newest)
                        self.connects += 1
                        started = time.monotonic()
                        self._set_state("live")
                        await self._stream(ws)
                except asyncio.CancelledError:
                    raise
                except Rejected as exc:
                    self._set_state("error", str(exc))
                    await self._sleep(self._rejected_retry)
                    continue
                except (OSError, WebSocketException, httpx.HTTPError, TimeoutError) as exc:
                    reason = f"news connection lost: {exc.__class__.__name__}"
                    log.info("alpaca news: %s (%s)", reason, exc)
                except Exception as exc:  # a bug or a garbled answer: never a dead feed
                    log.exception("alpaca news feed failed")
                    reason = f"news feed failed: {exc.__class__.__name__}"
                up_for = time.monotonic() - started if started is not None else None
                self._set_state("reconnecting", reason)
                await self._sleep(self._backoff.next_delay(up_for))

    async def _sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)

    def _rest_headers(self) -> dict[str, str]:
        if self._basic:
            return {}
        return {"APCA-API-KEY-ID": self._key_id, "APCA-API-SECRET-KEY": self._secret}

    async def _handshake(self, ws: ClientConnection) -> None:
        try:
            await authenticate(ws, self._key_id, self._secret, within=self._timeout, what="news")
        except CredentialRejected as exc:
            raise Rejected(str(exc)) from exc

    async def _sync_subscription(self, ws: ClientConnection) -> set[str]:
        """Subscribe what is wanted and not subscribed, unsubscribe the rest; returns the
        symbols newly added (their history is read next)."""
        wanted = set(self._wanted)
        self._changed.clear()
        added, removed = wanted - self._subscribed, self._subscribed - wanted
        if removed:
            await ws.send(orjson.dumps({"action": "unsubscribe", "news": sorted(removed)}).decode())
        if added:
            await ws.send(orjson.dumps({"action": "subscribe", "news": sorted(added)}).decode())
        self._subscribed = wanted
        return added

    async def _stream(self, ws: ClientConnection) -> None:
        while True:
            raw = await receive_or(ws, self._changed)
            if raw is not None:
                await self._on_message(raw)
            if self._changed.is_set():
                added = await self._sync_subscription(ws)
                if added:
                    await self._fill(added, since=None)

    async def _on_message(self, raw: str | bytes) -> None:
        try:
            messages = orjson.loads(raw)
        except orjson.JSONDecodeError:
            log.warning("alpaca news: garbage on the socket: %r", raw[:200])
            return
        articles = []
        for message in messages if isinstance(messages, list) else []:
            kind = message.get("T") if isinstance(message, dict) else None
            if kind == "n":
                try:
                    articles.append(to_article(message))
                except (KeyError, ValueError, TypeError) as exc:
                    log.warning("alpaca news: bad article %r: %s", message.get("id"), exc)
            elif kind == "error":
                log.warning("alpaca news: error %s %s", message.get("code"), message.get("msg"))
        if articles:
            await self._accept(articles)

    async def _accept(self, articles: list[Article]) -> None:
        await self._deliver(articles)
        newest = max(a.updated_at for a in articles)
        if self.newest is None or newest > self.newest:
            self.newest = newest

    # -- history -------------------------------------------------------------------------
    async def _fill(self, symbols: set[str], *, since: dt.datetime | None) -> None:
        """Everything updated since `since` (minus the overlap; else `lookback` back)."""
        if not symbols:
            return
        start = (since - OVERLAP) if since is not None else dt.datetime.now(dt.UTC) - self._lookback
        ordered = sorted(symbols)
        for i in range(0, len(ordered), SYMBOLS_PER_REQUEST):
            chunk = ordered[i : i + SYMBOLS_PER_REQUEST]
            articles = await self.history(chunk, start)
            if articles:
                await self._accept(articles)

    async def history(self, symbols: list[str], start: dt.datetime) -> list[Article]:
        """The articles about `symbols` updated since `start`, oldest first (all pages)."""
        params: dict[str, str | int] = {
            "symbols": ",".join(symbols),
            "start": _rfc3339(start),
            "sort": "asc",
            "limit": PAGE,
        }
        auth = httpx.BasicAuth(self._key_id, self._secret) if self._basic else None
        found: list[Article] = []
        for _ in range(MAX_PAGES):
            response = await self._http.get("/v1beta1/news", params=params, auth=auth)
            if response.status_code in (401, 403):
                raise Rejected(f"Alpaca rejected the key for news (HTTP {response.status_code})")
            response.raise_for_status()
            body = response.json()
            for raw in body.get("news") or []:
                try:
                    found.append(to_article(raw))
                except (KeyError, ValueError, TypeError) as exc:
                    log.warning("alpaca news: bad article %r: %s", raw.get("id"), exc)
            token = body.get("next_page_token")
            if not token:
                break
            params["page_token"] = token
        return found
