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

Socket: the market data socket protocol (market_data.py `DataSocket`: connected, auth by
headers or `{"action":"auth"}` within `alpaca_news_auth_timeout` (10 s), the errors, JSON or
MessagePack frames) with one channel: `{"action":"subscribe","news":["AAPL"]}` (or `["*"]`)
→ `[{"T":"subscription","news":[...]}]`; pushes `[{"T":"n", ...article without images...}]`
for every publication and update (in MessagePack the two times are MessagePack
timestamps, as alpaca-py expects).

Guesses (UNCONFIRMED): `start`/`end` bound `updated_at` (the sort key); the exact REST
error texts.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

from sandbox.alpaca import market_data as md
from sandbox.alpaca.facade import AlpacaSandbox
from sandbox.core.news import NewsArticle
from sandbox.core.symbols import classify

__all__ = ["NewsSession", "attach", "routes"]

PATH = f"{md.MOUNT}/v1beta1/news"
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


def _after(raw: str | None) -> tuple[float, int] | None:
    """The (updated_at, id) a page token continues after."""
    value = md.page_from(raw)
    if value is None:
        return None
    try:
        updated, article_id = value
        return float(updated), int(article_id)
    except (ValueError, TypeError):
        raise md.BadParameter("invalid page_token") from None


async def list_news(request: Request) -> Response:
    facade: AlpacaSandbox = request.app.state.alpaca
    credential = md.credential(facade, request.headers)
    if credential == "":
        return md.message(401, "unauthorized.")
    if credential is None:
        return md.message(403, "forbidden")
    q = request.query_params
    try:
        md.unexpected(q, PARAMS)
        symbols = None
        if q.get("symbols"):
            symbols = {s.strip().upper() for s in q["symbols"].split(",") if s.strip()}
            if any(classify(s) is None for s in symbols):
                raise md.BadParameter("invalid symbol(s)")
        limit = md.limit(q.get("limit"), DEFAULT_LIMIT, MAX_LIMIT)
        sort = md.sort(q.get("sort"), "desc")
        now = facade.sandbox.now()
        start = md.instant(q.get("start"), "start")
        if start is None:  # the beginning of the current day (UTC)
            start = now - now % 86_400
        end = md.instant(q.get("end"), "end")
        content = md.flag(q.get("include_content"), "include_content")
        contentless = md.flag(q.get("exclude_contentless"), "exclude_contentless")
        after = _after(q.get("page_token"))
    except md.BadParameter as exc:
        return md.message(400, str(exc))
    rows = facade.sandbox.news.select(
        symbols, start, end, descending=sort == "desc", exclude_contentless=contentless
    )
    if after is not None:
        if sort == "desc":
            rows = [a for a in rows if (a.updated_at, a.id) < after]
        else:
            rows = [a for a in rows if (a.updated_at, a.id) > after]
    page, more = rows[:limit], len(rows) > limit
    token = md.page_token([page[-1].updated_at, page[-1].id]) if more else None
    body = {"news": [render(a, content=content) for a in page], "next_page_token": token}
    return Response(orjson.dumps(body), 200, media_type="application/json")


# --------------------------------------------------------------------------- the socket


class NewsSession(md.DataSocket):
    """One real-time news socket: the market data socket with one channel, `news`."""

    kind = "alpaca-news"
    channels = ("news",)
    auth_timeout_setting = "alpaca_news_auth_timeout"

    def __init__(self, websocket: WebSocket, facade: AlpacaSandbox) -> None:
        super().__init__(websocket, facade)
        self.symbols: set[str] = set()

    def subscribe(self, action: str, wanted: dict[str, set[str]]) -> None:
        if action == "subscribe":
            self.symbols |= wanted["news"]
        else:
            self.symbols -= wanted["news"]

    def subscriptions(self) -> dict[str, list[str]]:
        return {"news": sorted(self.symbols)}

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


async def news_socket(websocket: WebSocket) -> None:
    await NewsSession(websocket, websocket.app.state.alpaca).run()


def attach(facade: AlpacaSandbox) -> None:
    """Let the façade's news sockets hear the newsroom."""

    def tell(article: NewsArticle) -> None:
        for session in facade.sandbox.hub.find(NewsSession.kind):
            if isinstance(session, NewsSession):
                session.offer(article)

    facade.sandbox.news.listeners.append(tell)


routes = [Route(PATH, list_news, methods=["GET"]), WebSocketRoute(PATH, news_socket)]
