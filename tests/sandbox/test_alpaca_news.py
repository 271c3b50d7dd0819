"""Alpaca market data news in the sandbox, as the unmodified alpaca-py and raw clients see it."""

from __future__ import annotations

import asyncio
import datetime as dt
import threading

import httpx
import orjson
import pytest
from alpaca.data.historical.news import NewsClient
from alpaca.data.live.news import NewsDataStream
from alpaca.data.requests import NewsRequest
from websockets.asyncio.client import connect

from sandbox.core.config import SandboxConfig
from tests.support.alpaca import key_id  # noqa: F401  (fixture)
from tests.support.wait import poll_until

SECRET = "news-secret"
T0 = dt.datetime(2026, 3, 2, 14, 30, tzinfo=dt.UTC)


@pytest.fixture
def sandbox_config() -> SandboxConfig:
    """A short auth deadline so the timeout is testable."""
    return SandboxConfig(tick_rate=0, order_step_interval=0, alpaca_news_auth_timeout=1.0)


def _ws_url(sandbox) -> str:  # type: ignore[no-untyped-def]
    return sandbox.url.replace("http://", "ws://") + "/alpaca/data/v1beta1/news"


def test_news_client_pages_filters_and_parses(sandbox, control, key_id):  # noqa: F811
    """NewsClient gets every article of a symbol across pages of 50, exact times, content on ask."""
    for i in range(57):
        at = (T0 + dt.timedelta(minutes=i)).isoformat()
        control.publish_news(f"AAPL story {i}", ["AAPL"], created_at=at, content=f"<p>{i}</p>")
    control.publish_news("MSFT only", ["MSFT"], created_at=T0.isoformat())
    client = NewsClient(key_id, SECRET, url_override=f"{sandbox.url}/alpaca/data")
    got = client.get_news(
        NewsRequest(symbols="AAPL", start=T0, sort="asc", limit=55, include_content=True)
    )
    news = got.data["news"]
    assert [n.headline for n in news] == [f"AAPL story {i}" for i in range(55)]
    assert news[0].created_at == T0 and news[0].updated_at == T0
    assert news[54].created_at == T0 + dt.timedelta(minutes=54)
    assert news[3].content == "<p>3</p>" and news[3].symbols == ["AAPL"]
    assert news[1].id == news[0].id + 1
    newest = client.get_news(NewsRequest(symbols="AAPL,MSFT", start=T0, limit=2))
    assert [n.headline for n in newest.data["news"]] == ["AAPL story 56", "AAPL story 55"]
    assert newest.data["news"][0].content == ""  # only with include_content


def test_rest_errors_in_the_market_data_shape(sandbox, control, key_id):  # noqa: F811
    """No key 401, a wrong secret 403, bad parameters 400: each `{"message": ...}`."""
    url = f"{sandbox.url}/alpaca/data/v1beta1/news"
    good = {"APCA-API-KEY-ID": key_id, "APCA-API-SECRET-KEY": SECRET}
    with httpx.Client() as http:
        assert http.get(url, headers=good).json() == {"news": [], "next_page_token": None}
        no_key = http.get(url)
        assert (no_key.status_code, no_key.json()) == (401, {"message": "unauthorized."})
        wrong = http.get(url, headers={**good, "APCA-API-SECRET-KEY": "nope"})
        assert (wrong.status_code, wrong.json()) == (403, {"message": "forbidden"})
        cases = {
            "limit=51": "invalid limit: must be between 1 and 50",
            "limit=0": "invalid limit: must be between 1 and 50",
            "sort=sideways": "invalid sort: 'sideways'",
            "start=yesterday": "invalid start: 'yesterday'",
            "page_token=%%%": "invalid page_token",
            "colour=red": "unexpected query parameter(s): colour",
            "include_content=maybe": "invalid include_content: 'maybe'",
        }
        for query, message in cases.items():
            response = http.get(f"{url}?{query}", headers=good)
            assert (response.status_code, response.json()) == (400, {"message": message}), query
        control.publish_news("Z", ["TSLA"], created_at=T0.isoformat())
        raw = http.get(f"{url}?symbols=TSLA&start=2026-03-02", headers=good).json()
        assert raw["news"][0]["created_at"] == "2026-03-02T14:30:00Z"
        assert set(raw["news"][0]) == {
            "id",
            "headline",
            "author",
            "created_at",
            "updated_at",
            "summary",
            "content",
            "url",
            "images",
            "symbols",
            "source",
        }


def test_news_data_stream_sdk_gets_push_and_update(sandbox, control, key_id):  # noqa: F811
    """The unmodified NewsDataStream (MessagePack) authenticates, subscribes, and receives a
    publication and its update (same id, later updated_at) with aware UTC times."""
    stream = NewsDataStream(key_id, SECRET, url_override=_ws_url(sandbox))
    received = []

    async def on_news(news):  # type: ignore[no-untyped-def]
        received.append(news)

    stream.subscribe_news(on_news, "AAPL")
    thread = threading.Thread(target=stream.run, daemon=True)
    thread.start()
    try:

        def subscribed() -> bool:
            sessions = control.state()["credentials"].get(_cid(key_id), {}).get("alpaca-news", [])
            return bool(sessions) and sessions[0]["news"] == ["AAPL"]

        poll_until(subscribed, what="subscribed")
        assert control.state()["credentials"][_cid(key_id)]["alpaca-news"][0]["msgpack"] is True
        control.publish_news("Not ours", ["MSFT"], created_at=T0.isoformat())
        first = control.publish_news("Ours", ["AAPL"], created_at=T0.isoformat())
        poll_until(lambda: len(received) == 1, what="the article")
        later = (T0 + dt.timedelta(minutes=5)).isoformat()
        control.update_news(first["id"], headline="Ours, updated", updated_at=later)
        poll_until(lambda: len(received) == 2, what="the update")
    finally:
        asyncio.run(stream.stop_ws())
        thread.join(10)
    assert [(n.id, n.headline) for n in received] == [
        (first["id"], "Ours"),
        (first["id"], "Ours, updated"),
    ]
    assert received[0].created_at == T0 == received[1].created_at
    assert received[1].updated_at == T0 + dt.timedelta(minutes=5)
    assert received[1].updated_at.utcoffset() == dt.timedelta(0)


def _cid(key: str) -> str:
    from sandbox.core.credentials import credential_id

    return credential_id(key)


async def _recv(ws) -> list:  # type: ignore[no-untyped-def]
    return orjson.loads(await asyncio.wait_for(ws.recv(), 5))


async def test_raw_socket_protocol_and_errors(sandbox, control, key_id):  # noqa: F811
    """JSON text frames: connected, 401 before auth, 402 bad key, authenticated, 403 twice,
    400 garbage, 410 trades on the news feed, subscription, a push, 406 for a second socket."""
    async with connect(_ws_url(sandbox)) as ws:
        assert await _recv(ws) == [{"T": "success", "msg": "connected"}]
        await ws.send(orjson.dumps({"action": "subscribe", "news": ["AAPL"]}).decode())
        assert await _recv(ws) == [{"T": "error", "code": 401, "msg": "not authenticated"}]
        await ws.send(orjson.dumps({"action": "auth", "key": key_id, "secret": ""}).decode())
        assert await _recv(ws) == [{"T": "error", "code": 402, "msg": "auth failed"}]
        await ws.send(orjson.dumps({"action": "auth", "key": key_id, "secret": SECRET}).decode())
        assert await _recv(ws) == [{"T": "success", "msg": "authenticated"}]
        await ws.send(orjson.dumps({"action": "auth", "key": key_id, "secret": SECRET}).decode())
        assert await _recv(ws) == [{"T": "error", "code": 403, "msg": "already authenticated"}]
        await ws.send("not json")
        assert await _recv(ws) == [{"T": "error", "code": 400, "msg": "invalid syntax"}]
        await ws.send(orjson.dumps({"action": "subscribe", "trades": ["AAPL"]}).decode())
        assert await _recv(ws) == [
            {"T": "error", "code": 410, "msg": "invalid subscribe action for this feed"}
        ]
        await ws.send(orjson.dumps({"action": "subscribe", "news": ["aapl", "*"]}).decode())
        assert await _recv(ws) == [{"T": "subscription", "news": ["*", "AAPL"]}]
        article = await asyncio.to_thread(
            control.publish_news, "Raw", ["NVDA"], created_at="2026-03-02T20:00:00+05:30"
        )
        pushed = await _recv(ws)
        assert pushed == [
            {
                "T": "n",
                "id": article["id"],
                "headline": "Raw",
                "author": "",
                "created_at": "2026-03-02T14:30:00Z",
                "updated_at": "2026-03-02T14:30:00Z",
                "summary": "",
                "content": "",
                "url": article["url"],
                "symbols": ["NVDA"],
                "source": "benzinga",
            }
        ]
        headers = {"APCA-API-KEY-ID": key_id, "APCA-API-SECRET-KEY": SECRET}
        async with connect(_ws_url(sandbox), additional_headers=headers) as second:
            assert await _recv(second) == [{"T": "success", "msg": "connected"}]
            assert await _recv(second) == [
                {"T": "error", "code": 406, "msg": "connection limit exceeded"}
            ]
            await asyncio.wait_for(second.wait_closed(), 5)


async def test_header_auth_and_auth_timeout(sandbox, key_id):  # noqa: F811
    """Handshake headers authenticate at once; a silent socket gets 404 and is closed."""
    headers = {"APCA-API-KEY-ID": key_id, "APCA-API-SECRET-KEY": SECRET}
    async with connect(_ws_url(sandbox), additional_headers=headers) as ws:
        assert await _recv(ws) == [{"T": "success", "msg": "connected"}]
        assert await _recv(ws) == [{"T": "success", "msg": "authenticated"}]
    async with connect(_ws_url(sandbox)) as ws:
        assert await _recv(ws) == [{"T": "success", "msg": "connected"}]
        assert await _recv(ws) == [{"T": "error", "code": 404, "msg": "auth timeout"}]
        await asyncio.wait_for(ws.wait_closed(), 5)
