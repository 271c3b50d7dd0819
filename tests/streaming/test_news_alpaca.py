"""The Alpaca news adapter against the sandbox over real sockets: history, live, updates,
reconnect gap fill, symbol changes, a rejected key; and its time parsing."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
import uuid

import httpx
import pytest

from sandbox.core.config import SandboxConfig
from sandbox.core.credentials import credential_id
from streaming.brokers.backoff import Backoff
from streaming.news.alpaca import AlpacaNewsFeed, parse_time
from streaming.news.store import Article
from tests.support.wait import wait_until

SECRET = "news-secret"
UTC = dt.UTC


@pytest.fixture
def sandbox_config() -> SandboxConfig:
    return SandboxConfig(tick_rate=0, order_step_interval=0)


@pytest.fixture
def key_id() -> str:
    return f"AKN{uuid.uuid4().hex[:13].upper()}"


class Feed:
    """A running feed and what it delivered."""

    def __init__(self, sandbox, key_id: str, secret: str = SECRET) -> None:  # type: ignore[no-untyped-def]
        self.articles: list[Article] = []
        self.states: list[tuple[str, str]] = []

        async def deliver(batch: list[Article]) -> None:
            self.articles.extend(batch)

        self.feed = AlpacaNewsFeed(
            key_id=key_id,
            secret_key=secret,
            rest_url=f"{sandbox.url}/alpaca/data",
            stream_url=sandbox.url.replace("http", "ws", 1) + "/alpaca/data/v1beta1/news",
            deliver=deliver,
            report=lambda state, reason: self.states.append((state, reason)),
            backoff=Backoff(base=0.05, cap=0.2),
            timeout=5,
        )
        self.task: asyncio.Task[None] | None = None

    def start(self, symbols: set[str]) -> None:
        self.feed.set_symbols(symbols)
        self.task = asyncio.create_task(self.feed.run())

    async def stop(self) -> None:
        assert self.task is not None
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)

    def headlines(self) -> list[str]:
        return [a.headline for a in self.articles]


def _iso(seconds_ago: float) -> str:
    return dt.datetime.fromtimestamp(time.time() - seconds_ago, UTC).isoformat()


async def _sessions(control, key_id: str) -> list[dict]:  # type: ignore[no-untyped-def]
    state = await asyncio.to_thread(control.state)
    return state["credentials"].get(credential_id(key_id), {}).get("alpaca-news", [])


async def test_history_live_update_and_symbol_change(sandbox, control, key_id):
    """History first (exact UTC times), then a live push, an update with the same id, and a
    new symbol's history plus subscription after `set_symbols`."""
    publish = control.publish_news
    # an hour ago, spelled as Alpaca does (New York offset, nanoseconds): within the lookback
    # whatever day the suite runs
    at = (dt.datetime.now(UTC) - dt.timedelta(hours=1)).replace(microsecond=0)
    stamp = at.astimezone(dt.timezone(dt.timedelta(hours=-5))).strftime("%Y-%m-%dT%H:%M:%S")
    old = publish("Old AAPL", ["AAPL"], created_at=f"{stamp}.123456789-05:00")
    publish("Old MSFT", ["MSFT"], created_at=_iso(3600))
    publish("Older than lookback", ["AAPL"], created_at=_iso(5 * 86400))
    feed = Feed(sandbox, key_id)
    feed.start({"AAPL"})
    try:
        await wait_until(lambda: feed.feed.state == "live", what="live")
        assert feed.headlines() == ["Old AAPL"]
        first = feed.articles[0]
        assert first.news_id == str(old["id"]) and first.provider == "alpaca"
        assert first.created_at == at
        live = await asyncio.to_thread(publish, "Live AAPL", ["AAPL", "NVDA"])
        await wait_until(lambda: len(feed.articles) == 2, what="the live push")
        assert feed.articles[1].news_id == str(live["id"])
        assert feed.articles[1].symbols == ("AAPL", "NVDA")
        await asyncio.to_thread(control.update_news, live["id"], headline="Live AAPL v2")
        await wait_until(lambda: len(feed.articles) == 3, what="the update")
        assert feed.articles[2].news_id == str(live["id"])
        assert feed.articles[2].updated_at > feed.articles[1].updated_at
        feed.feed.set_symbols({"AAPL", "MSFT"})
        await wait_until(lambda: "Old MSFT" in feed.headlines(), what="MSFT history")
        sessions = await _sessions(control, key_id)
        assert [s["news"] for s in sessions] == [["AAPL", "MSFT"]]
        assert feed.feed.connects == 1
    finally:
        await feed.stop()


async def test_reconnect_fills_the_gap(sandbox, control, key_id):
    """An article pushed while the socket was dead (silenced, then dropped) arrives after the
    reconnect through the history gap fill: nothing is lost across a disconnect."""
    feed = Feed(sandbox, key_id)
    feed.start({"TSLA"})
    try:
        await wait_until(lambda: feed.feed.state == "live", what="live")
        await asyncio.to_thread(control.publish_news, "Before", ["TSLA"])
        await wait_until(lambda: feed.headlines() == ["Before"], what="the first push")
        cid = credential_id(key_id)
        await asyncio.to_thread(control.fault, "silence", target="alpaca-news", credential=cid)
        await asyncio.to_thread(control.publish_news, "While away", ["TSLA"])
        await asyncio.sleep(0.3)  # the push is gone (silenced): nothing to wait for
        assert feed.headlines() == ["Before"]
        await asyncio.to_thread(control.clear_faults)
        await asyncio.to_thread(control.fault, "drop", target="alpaca-news", credential=cid)
        await wait_until(lambda: "While away" in feed.headlines(), what="the gap fill")
        assert feed.feed.connects == 2
        assert [s for s, _ in feed.states] == ["connecting", "live", "reconnecting", "live"]
        await asyncio.to_thread(control.publish_news, "After", ["TSLA"])
        await wait_until(lambda: feed.headlines()[-1] == "After", what="live again")
    finally:
        await feed.stop()


async def test_rejected_key_is_an_error_state_not_a_dead_feed(sandbox, control, key_id):
    """A wrong secret: state `error` with a clear reason; the task is still running."""
    url = f"{sandbox.url}/alpaca/data/v1beta1/news"
    headers = {"APCA-API-KEY-ID": key_id, "APCA-API-SECRET-KEY": SECRET}
    async with httpx.AsyncClient() as http:  # the key's real secret is SECRET
        assert (await http.get(url, headers=headers)).status_code == 200
    feed = Feed(sandbox, key_id, secret="wrong")
    feed.start({"AAPL"})
    try:
        await wait_until(lambda: feed.feed.state == "error", what="error")
        assert feed.feed.reason == "Alpaca rejected the key for news (402 auth failed)"
        assert feed.task is not None and not feed.task.done()
    finally:
        await feed.stop()


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2026-03-02T14:30:00Z", dt.datetime(2026, 3, 2, 14, 30, tzinfo=UTC)),
        ("2026-03-02T20:00:00+05:30", dt.datetime(2026, 3, 2, 14, 30, tzinfo=UTC)),
        ("2026-03-02T06:30:00-0800", dt.datetime(2026, 3, 2, 14, 30, tzinfo=UTC)),
        ("2026-03-02T14:30:00.123456789Z", dt.datetime(2026, 3, 2, 14, 30, 0, 123456, UTC)),
        (1772461800, dt.datetime(2026, 3, 2, 14, 30, tzinfo=UTC)),  # seconds, not ms
        (1772461800000, dt.datetime(2026, 3, 2, 14, 30, tzinfo=UTC)),  # ms
    ],
)
def test_parse_time_is_aware_utc(raw, expected):
    """RFC 3339 with Z or offsets, ns fractions, epoch seconds vs ms: all exact aware UTC."""
    parsed = parse_time(raw)
    assert parsed == expected and parsed.utcoffset() == dt.timedelta(0)


@pytest.mark.parametrize("raw", ["2026-03-02T14:30:00", "2026-03-02", "yesterday", True])
def test_parse_time_refuses_local_or_garbage(raw):
    """A time without a zone is never guessed as local (or as UTC)."""
    with pytest.raises(ValueError):
        parse_time(raw)
