"""Alpaca's market data news in the sandbox: REST history and the real-time news socket.

Real hosts: `https://data.alpaca.markets/v1beta1/news` (REST) and
`wss://stream.data.alpaca.markets/v1beta1/news` (socket). Here both live under
`/alpaca/data` (one mount: the "alpaca" faults and blackouts apply), so the unmodified
alpaca-py clients point at it with `NewsClient(key, secret,
url_override=<sandbox>/alpaca/data)` and `NewsDataStream(key, secret,
url_override=ws://<sandbox>/alpaca/data/v1beta1/news)`. A key is any Alpaca key the
sandbox knows (Trading API headers `APCA-API-KEY-ID` / `APCA-API-SECRET-KEY`, or a Broker
API key as HTTP Basic), as market data takes both.

REST (`GET /v1beta1/news`): `symbols` (comma-separated), `start`/`end` (RFC 3339 or
YYYY-MM-DD, inclusive), `limit` (1..50, default 10), `sort` (`desc` default, or `asc`),
`include_content`, `exclude_contentless`, `page_token` → `{"news": [...],
"next_page_token": <opaque> | null}`; items `{id (int), headline, author, created_at,
updated_at (RFC 3339 UTC, `Z`), summary, content ("" unless asked), url, images, symbols,
source}`. Errors are the market data API's `{"message": ...}`: 401 without a key, 403 for
a wrong one, 400 for bad parameters (unknown parameters included, as the real API does:
`unexpected query parameter(s): x`).

Socket: `[{"T":"success","msg":"connected"}]` at once; authenticated by handshake headers
(then `authenticated` follows at once) or `{"action":"auth","key","secret"}` within
`alpaca_news_auth_timeout` (10 s, else error 404 and close); `{"action":"subscribe",
"news":["AAPL"]}` (or `["*"]`) → `[{"T":"subscription","news":[...]}]`; pushes `[{"T":"n",
...article without images...}]` for every publication and update. Errors `[{"T":"error",
"code","msg"}]`: 400 invalid syntax, 401 not authenticated, 402 auth failed, 403 already
authenticated, 404 auth timeout, 406 connection limit exceeded (one news socket per key;
the newer one is refused and closed), 410 invalid subscribe action for this feed. JSON text
frames, or MessagePack binary frames when the handshake says `Content-Type:
application/msgpack` (alpaca-py always does); in MessagePack the two times are
MessagePack timestamps, as alpaca-py expects (`.to_datetime()`).

Guesses (UNCONFIRMED): `start`/`end` bound `updated_at` (the sort key); the exact REST
error texts; a failed auth leaves the socket open for another try.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import datetime as dt
import hashlib
from typing import Any

import msgpack
import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from sandbox.alpaca.facade import AlpacaSandbox
from sandbox.alpaca.wire import parse_time
from sandbox.core.credentials import credential_id
from sandbox.core.hub import WsSession
from sandbox.core.news import NewsArticle
from sandbox.core.symbols import classify

__all__ = ["NewsSession", "attach", "routes"]

MOUNT = "/alpaca/data"
PATH = f"{MOUNT}/v1beta1/news"
MAX_LIMIT = 50
DEFAULT_LIMIT = 10
PARAMS = {
    "symbols",
    "start",
    "end",
    "limit",
    "sort",
    "include_content",
    "exclude_contentless",
    "page_token",
}


def rfc3339(epoch: float) -> str:
    """Alpaca's news times: UTC seconds with `Z` (`2024-01-02T15:04:05Z`)."""
    return dt.datetime.fromtimestamp(int(epoch), dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def render(article: NewsArticle, *, content: bool, images: bool = True) -> dict[str, Any]:
    """One article as the REST answer (and, without images, the socket's `n` message)."""
    item: dict[str, Any] = {
        "id": article.id,
        "headline": article.headline,
        "author": article.author,
        "created_at": rfc3339(article.created_at),
        "updated_at": rfc3339(article.updated_at),
        "summary": article.summary,
        "content": article.content if content else "",
        "url": article.url,
        "symbols": list(article.symbols),
        "source": article.source,
    }
    if images:
        item["images"] = list(article.images)
    return item


def _message(status: int, text: str) -> Response:
    return Response(orjson.dumps({"message": text}), status, media_type="application/json")


def _credential(facade: AlpacaSandbox, headers: Any) -> str | None:
    """The key's credential id; "" when no key was sent at all, None when it is wrong.

    Market data takes any Alpaca key, so this opens no customer (a key seen here first
    must still work on the Broker or Trading API later): a known customer's secret must
    match, and an unknown key's first secret seen here is its news secret."""
    key, secret = headers.get("apca-api-key-id", ""), headers.get("apca-api-secret-key", "")
    if not key:
        scheme, _, encoded = headers.get("authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return ""
        try:
            key, _, secret = base64.b64decode(encoded, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
    if not key or not secret:
        return None
    cid = credential_id(key)
    known = facade.sandbox.credentials.known().get(cid)
    if known is not None and known.revoked:
        return None
    digest = hashlib.sha256(secret.encode()).hexdigest()
    customer = facade.keys.by_cid.get(cid)
    if customer is not None:
        return cid if customer.secret_hash == digest else None
    first = vars(facade).setdefault("news_secrets", {}).setdefault(cid, digest)
    return cid if first == digest else None


class _Bad(Exception):
    pass


def _flag(raw: str | None, name: str) -> bool:
    if raw is None:
        return False
    if raw.lower() not in ("true", "false"):
        raise _Bad(f"invalid {name}: {raw!r}")
    return raw.lower() == "true"


def _time(raw: str | None, name: str) -> float | None:
    if raw is None:
        return None
    if len(raw) == 10:
        try:
            day = dt.date.fromisoformat(raw)
        except ValueError:
            raise _Bad(f"invalid {name}: {raw!r}") from None
        return dt.datetime.combine(day, dt.time(), dt.UTC).timestamp()
    parsed = parse_time(raw) if "T" in raw else None
    if parsed is None:
        raise _Bad(f"invalid {name}: {raw!r}")
    return parsed


def _token(key: tuple[float, int]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(list(key))).decode()


def _untoken(raw: str) -> tuple[float, int]:
    try:
        updated, article_id = orjson.loads(base64.urlsafe_b64decode(raw.encode()))
        return float(updated), int(article_id)
    except (ValueError, TypeError, binascii.Error, orjson.JSONDecodeError):
        raise _Bad("invalid page_token") from None


async def list_news(request: Request) -> Response:
    facade: AlpacaSandbox = request.app.state.alpaca
    credential = _credential(facade, request.headers)
    if credential == "":
        return _message(401, "unauthorized.")
    if credential is None:
        return _message(403, "forbidden")
    q = request.query_params
    try:
        unknown = sorted(set(q) - PARAMS)
        if unknown:
            raise _Bad(f"unexpected query parameter(s): {', '.join(unknown)}")
        symbols = None
        if q.get("symbols"):
            symbols = {s.strip().upper() for s in q["symbols"].split(",") if s.strip()}
            if any(classify(s) is None for s in symbols):
                raise _Bad("invalid symbol(s)")
        raw_limit = q.get("limit") or str(DEFAULT_LIMIT)
        if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= MAX_LIMIT:
            raise _Bad(f"invalid limit: must be between 1 and {MAX_LIMIT}")
        limit = int(raw_limit)
        sort = (q.get("sort") or "desc").lower()
        if sort not in ("asc", "desc"):
            raise _Bad(f"invalid sort: {q['sort']!r}")
        now = facade.sandbox.now()
        start = _time(q.get("start"), "start")
        if start is None:  # the beginning of the current day (UTC)
            start = now - now % 86_400
        end = _time(q.get("end"), "end")
        content = _flag(q.get("include_content"), "include_content")
        contentless = _flag(q.get("exclude_contentless"), "exclude_contentless")
        after = _untoken(q["page_token"]) if q.get("page_token") else None
    except _Bad as exc:
        return _message(400, str(exc))
    rows = facade.sandbox.news.select(
        symbols, start, end, descending=sort == "desc", exclude_contentless=contentless
    )
    if after is not None:
        if sort == "desc":
            rows = [a for a in rows if (a.updated_at, a.id) < after]
        else:
            rows = [a for a in rows if (a.updated_at, a.id) > after]
    page, more = rows[:limit], len(rows) > limit
    token = _token((page[-1].updated_at, page[-1].id)) if more else None
    body = {"news": [render(a, content=content) for a in page], "next_page_token": token}
    return Response(orjson.dumps(body), 200, media_type="application/json")


# --------------------------------------------------------------------------- the socket


class NewsSession(WsSession):
    """One real-time news socket: JSON text frames, or MessagePack if asked for."""

    kind = "alpaca-news"

    def __init__(self, websocket: WebSocket, facade: AlpacaSandbox) -> None:
        super().__init__(websocket, facade.sandbox)
        self.facade = facade
        content_type = websocket.headers.get("content-type", "").lower()
        self.msgpack = "msgpack" in content_type
        self.authenticated = False
        self.symbols: set[str] = set()
        self._outbox: asyncio.Queue[list[dict[str, Any]] | None] = asyncio.Queue()

    async def _receive_loop(self) -> None:
        self.send([{"T": "success", "msg": "connected"}])
        if self.websocket.headers.get("apca-api-key-id"):
            await self._authenticate(
                self.websocket.headers.get("apca-api-key-id", ""),
                self.websocket.headers.get("apca-api-secret-key", ""),
            )
        while True:
            message = await self.websocket.receive()
            if message["type"] == "websocket.disconnect":
                raise WebSocketDisconnect(message.get("code", 1000))
            self.messages_received += 1
            msg = self._decode(message)
            if not isinstance(msg, dict):
                self.error(400, "invalid syntax")
                continue
            await self._handle(msg)

    def _decode(self, message: dict[str, Any]) -> Any:
        if message.get("bytes") is not None:
            try:
                return msgpack.unpackb(message["bytes"])
            except Exception:
                pass
        try:
            return orjson.loads(message.get("text") or message.get("bytes") or b"")
        except orjson.JSONDecodeError:
            return None

    async def _handle(self, msg: dict[str, Any]) -> None:
        action = msg.get("action")
        if action == "auth":
            if self.authenticated:
                self.error(403, "already authenticated")
                return
            await self._authenticate(str(msg.get("key") or ""), str(msg.get("secret") or ""))
            return
        if action in ("subscribe", "unsubscribe"):
            if not self.authenticated:
                self.error(401, "not authenticated")
                return
            others = [k for k, v in msg.items() if k not in ("action", "news") and v]
            news = msg.get("news", [])
            if others or not isinstance(news, list) or not all(isinstance(s, str) for s in news):
                self.error(410, "invalid subscribe action for this feed")
                return
            wanted = {s.strip().upper() for s in news if s.strip()}
            if action == "subscribe":
                self.symbols |= wanted
            else:
                self.symbols -= wanted
            self.send([{"T": "subscription", "news": sorted(self.symbols)}])
            return
        self.error(400, "invalid syntax")

    async def _authenticate(self, key: str, secret: str) -> None:
        headers = {"apca-api-key-id": key, "apca-api-secret-key": secret}
        credential = _credential(self.facade, headers) if key else None
        if not credential:
            self.error(402, "auth failed")
            return
        if any(s is not self for s in self.sandbox.hub.find(self.kind, credential)):
            self.error(406, "connection limit exceeded")
            self._outbox.put_nowait(None)  # close once the error is out
            return
        self.authenticated = True
        self.credential = credential
        self.send([{"T": "success", "msg": "authenticated"}])

    async def _background(self) -> None:
        deadline = self.sandbox.config.alpaca_news_auth_timeout
        waited = asyncio.create_task(asyncio.sleep(deadline))
        getter: asyncio.Task[Any] | None = None
        try:
            while True:
                getter = asyncio.create_task(self._outbox.get())
                done, _ = await asyncio.wait({getter, waited}, return_when=asyncio.FIRST_COMPLETED)
                if getter not in done:
                    getter.cancel()
                    if not self.authenticated:
                        self.error(404, "auth timeout")
                        self._outbox.put_nowait(None)
                    waited = asyncio.create_task(asyncio.Event().wait())
                    continue
                batch = getter.result()
                if batch is None:
                    await self.close(1008, "closed")
                    return
                await self._write(batch)
        finally:
            waited.cancel()
            if getter is not None:
                getter.cancel()

    async def _write(self, batch: list[dict[str, Any]]) -> None:
        if not await self.may_send():
            return
        if self.msgpack:
            await self.websocket.send_bytes(msgpack.packb(batch, datetime=True))
        else:
            await self.websocket.send_text(orjson.dumps(batch).decode())

    def send(self, batch: list[dict[str, Any]]) -> None:
        self._outbox.put_nowait(batch)

    def error(self, code: int, text: str) -> None:
        self.send([{"T": "error", "code": code, "msg": text}])

    def offer(self, article: NewsArticle) -> None:
        """A publication or update: pushed if the socket subscribed to one of its symbols."""
        if self._closed or not self.authenticated:
            return
        if "*" not in self.symbols and not self.symbols.intersection(article.symbols):
            return
        item = {"T": "n", **render(article, content=True, images=False)}
        if self.msgpack:  # MessagePack timestamps, as alpaca-py reads them
            for name in ("created_at", "updated_at"):
                item[name] = dt.datetime.fromtimestamp(int(getattr(article, name)), dt.UTC)
        self.send([item])

    def state(self) -> dict[str, Any]:
        return {**super().state(), "news": sorted(self.symbols), "msgpack": self.msgpack}


async def news_socket(websocket: WebSocket) -> None:
    await NewsSession(websocket, websocket.app.state.alpaca).run()


def attach(facade: AlpacaSandbox) -> None:
    """Let the façade's news sockets hear the newsroom; list keys seen by news only."""

    def tell(article: NewsArticle) -> None:
        for session in facade.sandbox.hub.find(NewsSession.kind):
            if isinstance(session, NewsSession):
                session.offer(article)

    def keys() -> dict[str, dict[str, Any]]:  # keys seen by market data only, for state()
        seen = vars(facade).setdefault("news_secrets", {})
        known = facade.keys.by_cid
        return {cid: {"broker": "alpaca", "api": "data"} for cid in seen if cid not in known}

    facade.sandbox.news.listeners.append(tell)
    facade.sandbox.credential_reporters.append(keys)


routes = [Route(PATH, list_news, methods=["GET"]), WebSocketRoute(PATH, news_socket)]
