"""The news SSE stream across processes: an article stored and announced by one process
reaches a stream served by a daphne process elsewhere, through PostgreSQL (the store) and
Redis (the `news.stored` announcement), in well under the periodic check."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import httpx
import pytest
from httpx_sse import aconnect_sse

from tests.support.cluster import Cluster, running_cluster
from tests.support.news_writer import NewsWriter

#: The periodic store check is a minute here: an article that comes sooner was announced.
CHECK = 60


@pytest.fixture
def cluster(tmp_path) -> Iterator[Cluster]:
    env = {"NEWS_STREAM_CHECK": str(CHECK), "NEWS_STREAM_PROGRESS": "1"}
    with running_cluster(tmp_path, NEWS_STREAM_SETTLE="0.2", **env) as running:
        yield running


async def test_an_article_stored_in_another_process_reaches_the_stream_at_once(cluster):
    writer = NewsWriter(cluster.a)  # a process of its own, with the cluster's settings
    try:
        headers = {"Cookie": cluster.cookie()}
        async with (
            httpx.AsyncClient(base_url=cluster.b.url, timeout=httpx.Timeout(5, read=30)) as http,
            aconnect_sse(http, "GET", "/api/news/stream?symbols=NWC", headers=headers) as source,
        ):
            events = source.aiter_sse()
            kinds = []
            async with asyncio.timeout(10):
                async for event in events:  # live once the first progress is out
                    kinds.append(event.event)
                    if event.event == "progress":
                        break
            assert kinds[-2:] == ["connected", "progress"]
            stored_at = time.monotonic()
            (item,) = writer.store({"id": "cluster-1", "symbols": ["NWC", "NWD"]})
            async with asyncio.timeout(10):
                async for event in events:
                    if event.event == "news":
                        break
            took = time.monotonic() - stored_at
            assert (event.id, event.json()) == (str(item["cursor"]), item)
            assert took < 5, took  # not the periodic check: the announcement
    finally:
        writer.close()
    print(f"stored in one process -> news event from daphne b in {took * 1000:.0f} ms")
