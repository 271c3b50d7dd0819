"""The news feed inside a user's stream manager, against the sandbox: it follows the tabs'
symbols, stores what arrives and sends `news` frames; a rejected key is a `news` frame
with the feed's error, told again to every new tab; stop leaves nothing running."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest

from sandbox.core.config import SandboxConfig
from streaming.models import NewsItem
from streaming.news.feed import UserNewsFeed
from streaming.stream.manager import UserStreamManager
from tests.support.wait import wait_until

pytestmark = pytest.mark.django_db(transaction=True)
SECRET = "feed-secret"


@pytest.fixture
def sandbox_config() -> SandboxConfig:
    return SandboxConfig(tick_rate=0, order_step_interval=0)


def manager_with_feed(sandbox, key: str, secret: str, frames: list) -> UserStreamManager:  # type: ignore[no-untyped-def]
    async def publish(frame: dict, text: str) -> None:
        frames.append(frame)

    feed = UserNewsFeed(
        key_id=key,
        secret_key=secret,
        rest_url=f"{sandbox.url}/alpaca/data",
        stream_url=sandbox.url.replace("http", "ws", 1) + "/alpaca/data/v1beta1/news",
    )
    return UserStreamManager(7, links=[], publish=publish, listeners=[feed], flush_interval=0.05)


def news(frames: list) -> list[dict]:
    return [f for f in frames if f["type"] == "news"]


async def test_tabs_symbols_drive_the_feed_and_articles_become_frames(sandbox, control):
    """A tab's symbol is subscribed; a pushed article is stored and sent as a wire item."""
    frames: list[dict] = []
    manager = manager_with_feed(sandbox, f"AKF{uuid.uuid4().hex[:12]}", SECRET, frames)
    await manager.start()
    try:
        manager.set_tab_symbols("tab-1", ["NWSF", ".SPY260116C500"])
        await wait_until(
            lambda: manager.listener(UserNewsFeed).status["state"] == "live", what="live"
        )
        article = await asyncio.to_thread(
            control.publish_news, "Feed test", ["NWSF"], created_at="2026-03-02T14:30:00Z"
        )
        await wait_until(lambda: any(f["items"] for f in news(frames)), what="a news frame")
        (frame,) = [f for f in news(frames) if f["items"]]
        row = await NewsItem.objects.aget(provider="alpaca", news_id=str(article["id"]))
        assert frame["items"] == [
            {
                "id": f"alpaca:{article['id']}",
                "cursor": row.pk,
                "headline": "Feed test",
                "summary": "",
                "author": "",
                "source": "benzinga",
                "url": article["url"],
                "symbols": ["NWSF"],
                "created_at": 1772461800000,
                "updated_at": 1772461800000,
            }
        ]
        assert manager.listener(UserNewsFeed).provider._subscribed == {
            "NWSF"
        }  # options are not news symbols
    finally:
        await manager.stop()
    assert not manager.running


async def test_a_rejected_key_is_told_to_every_tab(sandbox):
    """Wrong secret: a `news` frame with feed state error and the reason, and again for a
    tab that comes later; the manager (and its feed task) keep running until stopped."""
    key = f"AKF{uuid.uuid4().hex[:12]}"
    async with httpx.AsyncClient() as http:  # the key's secret is SECRET from now on
        await http.get(
            f"{sandbox.url}/alpaca/data/v1beta1/news",
            headers={"APCA-API-KEY-ID": key, "APCA-API-SECRET-KEY": SECRET},
        )
    frames: list[dict] = []
    manager = manager_with_feed(sandbox, key, "wrong", frames)
    await manager.start()
    error = {"state": "error", "reason": "Alpaca rejected the key for news (402 auth failed)"}
    try:
        manager.set_tab_symbols("tab-1", ["AAPL"])
        await wait_until(lambda: any(f.get("feed") == error for f in news(frames)), what="error")
        before = len(news(frames))
        manager.set_tab_symbols("tab-2", ["AAPL"])
        await wait_until(lambda: len(news(frames)) > before, what="told again")
        assert news(frames)[-1]["feed"] == error and news(frames)[-1]["items"] == []
        assert manager.running
    finally:
        await manager.stop()
    assert not manager.running
