"""Telling every process that news was stored: one channel-layer group for the cluster.

The process that stored articles (the owner of some user's news feed) announces the new
cursor; readers anywhere (the news SSE stream, tabs' fan-outs) wake up and read the store
after their own cursor. The message carries no article: the store is the one truth, so a
reader that missed an announcement loses nothing (it reads after its cursor next time).
"""

from __future__ import annotations

from collections.abc import Sequence

from channels.layers import get_channel_layer

from streaming.contract.news import NewsStored
from streaming.models import NewsItem

#: The group every news reader's channel joins.
NEWS_GROUP = "news.stored"
#: The layer message type (contract.NewsStored; a consumer's handler `news_stored`).
NEWS_STORED = "news.stored"


async def announce(rows: Sequence[NewsItem]) -> None:
    """After `store.news_upsert`: `{"type": "news.stored", "cursor": <newest pk>, "symbols"}`."""
    if not rows:
        return
    symbols = sorted({s for row in rows for s in row.symbols})
    layer = get_channel_layer()
    if layer is None:
        return
    message: NewsStored = {
        "type": "news.stored",
        "cursor": max(r.pk for r in rows),
        "symbols": symbols,
    }
    await layer.group_send(NEWS_GROUP, message)
