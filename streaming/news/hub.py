"""This process's reader of the `news.stored` group (news/live.py): it wakes the local
news SSE streams, which then read the store themselves."""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING

from channels.layers import get_channel_layer
from redis.exceptions import RedisError

from streaming.cluster.fanout import Tab, dispatch, messages
from streaming.news import live

if TYPE_CHECKING:
    from django.http import HttpRequest


class NewsHub:
    """This process's one member of the `news.stored` group: it wakes the local streams.

    One channel and one reader per process, started with the first stream and kept for
    the process's life (like the session watch): a reader per stream would cancel a
    channels-redis `receive()` at every stream end, and one cancelled just as its receive
    lock was granted never ended (seen against daphne). Rejoined every 30 s by the
    streams (Redis may forget a group).
    """

    def __init__(self) -> None:
        self.streams: set[Tab] = set()
        self._channel: str | None = None
        self._task: asyncio.Task[None] | None = None

    async def add(self, stream: Tab) -> None:
        self.streams.add(stream)
        if self._channel is None:
            self._channel = await get_channel_layer().new_channel()
            with contextlib.suppress(RedisError, OSError):
                await get_channel_layer().group_add(live.NEWS_GROUP, self._channel)
            self._task = asyncio.create_task(self._run(self._channel), name="news-hub")

    def remove(self, stream: Tab) -> None:
        self.streams.discard(stream)

    async def rejoin(self) -> None:
        """Keep the channel in the group (called by the streams every 30 s)."""
        if self._channel is not None:
            with contextlib.suppress(RedisError, OSError):
                await get_channel_layer().group_add(live.NEWS_GROUP, self._channel)

    async def _run(self, channel: str) -> None:
        async for message in messages(channel):
            for stream in list(self.streams):
                await dispatch(stream, message)


def news_hub_of(request: HttpRequest) -> NewsHub:
    """The process's news hub, as its node hands it to a request (streaming/node.py)."""
    hub: NewsHub = request.node.news  # type: ignore[attr-defined]
    return hub
