"""The news SSE stream in process (streaming/news/sse/stream.py): its parameters, the
settle rule, and the whole ASGI stack (config.asgi) driven by hand — `connected` first,
a stored article arrives through the `news.stored` announcement, and after the client's
`http.disconnect` nothing is left: tasks back to their baseline, gauge, slot, agent."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from types import SimpleNamespace

import pytest
from channels.db import database_sync_to_async
from django.contrib.auth import get_user_model
from django.db import OperationalError
from django.http import QueryDict
from django.test import Client
from prometheus_client import REGISTRY

from config.asgi import application
from streaming.news import live, quota, store
from streaming.news.sse.params import BadRequest, parse_params
from streaming.news.sse.stream import settled
from tests.support.wait import wait_until

T0 = dt.datetime(2026, 11, 24, 14, 30, tzinfo=dt.UTC)


def params(query: str, last_event_id: str | None = None):
    return parse_params(QueryDict(query), last_event_id)


def refused(query: str, last_event_id: str | None = None) -> tuple[str, str]:
    with pytest.raises(BadRequest) as caught:
        params(query, last_event_id)
    return caught.value.code, caught.value.message


def test_parameters_accept_valid_symbols_and_list_the_rest_with_reasons():
    got = params("symbols=msft,AAPL,,$$$,aapl,%C3%9F&backlog=5&duration=60")
    assert got.symbols == ["AAPL", "MSFT"]
    assert got.rejected == [
        {"symbol": "$$$", "reason": "invalid_symbol"},
        {"symbol": "ß", "reason": "invalid_symbol"},
    ]
    assert (got.after, got.backlog, got.duration) == (None, 5, 60)
    assert params("symbols=SPY&after=12", "40").after == 40  # the header wins
    assert params("symbols=SPY&after=12").after == 12
    assert params("").symbols is None  # the watchlist


def test_bad_parameters_are_refused_with_a_clear_message():
    assert refused("symbols=$$$,!!") == ("bad_symbols", "no valid symbol in 'symbols'")
    assert refused("symbols=" + ",".join(["SPY"] * 201)) == (
        "bad_symbols",
        "at most 200 symbols per stream ('symbols' has 201)",
    )
    assert refused("symbols=" + "A" * 6601) == (
        "bad_symbols",
        "'symbols' is 6601 characters; at most 6600 (200 symbols)",
    )
    assert refused("symbols=SPY", "-1") == (
        "bad_cursor",
        "'Last-Event-ID' must be a news cursor (a whole number), not '-1'",
    )
    assert refused("symbols=SPY&after=١٢")[0] == "bad_cursor"  # only ASCII digits
    assert refused("symbols=SPY&after=1e3")[0] == "bad_cursor"
    for value in ("0", "3601", "1.5", "abc", ""):
        assert refused(f"symbols=SPY&duration={value}") == (
            "bad_duration",
            "'duration' must be a whole number from 1 to 3600",
        )
    assert refused("symbols=SPY&backlog=101") == (
        "bad_backlog",
        "'backlog' must be a whole number from 0 to 100",
    )


def test_a_revision_is_held_until_it_has_settled_and_so_is_everything_after_it():
    now = dt.datetime.now(dt.UTC)
    rows = [
        SimpleNamespace(pk=pk, stored_at=now - dt.timedelta(seconds=age))
        for pk, age in [(1, 5.0), (2, 0.1), (3, 5.0)]
    ]
    ready, wait = settled(rows, settle=0.5)
    assert [r.pk for r in ready] == [1]
    assert 0.3 < wait <= 0.4
    assert settled(rows, settle=0.0) == (rows, None)


# -- the ASGI stack, in process ---------------------------------------------------------------


class AsgiStream:
    """One GET through config.asgi's application, read as it is written."""

    def __init__(self, query: str, cookie: str) -> None:
        self.scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": "/api/news/stream",
            "raw_path": b"/api/news/stream",
            "query_string": query.encode(),
            "headers": [(b"host", b"localhost"), (b"cookie", cookie.encode())],
            "client": ("127.0.0.1", 50000),
            "server": ("localhost", 80),
        }
        self.inbox: asyncio.Queue[dict] = asyncio.Queue()
        self.status: int | None = None
        self.body = b""
        self.changed = asyncio.Event()
        self.task: asyncio.Task | None = None

    async def _send(self, message: dict) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
        else:
            self.body += message.get("body", b"")
        self.changed.set()

    def start(self) -> AsgiStream:
        self.inbox.put_nowait({"type": "http.request", "body": b"", "more_body": False})
        self.task = asyncio.create_task(application(self.scope, self.inbox.get, self._send))
        return self

    def events(self) -> list[tuple[str | None, str | None, dict | None]]:
        """(event, id, data) of each complete event; comments and `retry:` skipped."""
        found = []
        for block in self.body.decode().split("\n\n")[:-1]:
            fields = dict(
                line.split(": ", 1) for line in block.split("\n") if not line.startswith(":")
            )
            if "event" in fields:
                found.append((fields["event"], fields.get("id"), json.loads(fields["data"])))
        return found

    async def until(self, predicate, within: float = 5.0) -> list:
        async with asyncio.timeout(within):
            while not predicate(self.events()):
                self.changed.clear()
                await self.changed.wait()
        return self.events()

    async def disconnect(self) -> None:
        self.inbox.put_nowait({"type": "http.disconnect"})
        async with asyncio.timeout(5):
            await self.task


@database_sync_to_async
def trader(username: str) -> tuple[int, str]:
    user = get_user_model().objects.create_user(username, password="pw")
    client = Client()
    client.force_login(user)
    return user.pk, f"sessionid={client.cookies['sessionid'].value}"


@database_sync_to_async
def stored(news_id: str, symbols: tuple[str, ...], minutes: int = 0):
    return store.news_upsert(
        [
            store.Article(
                provider="alpaca",
                news_id=news_id,
                headline=f"headline {news_id}",
                created_at=T0,
                updated_at=T0 + dt.timedelta(minutes=minutes),
                symbols=symbols,
            )
        ]
    )


def open_streams() -> float:
    return REGISTRY.get_sample_value("streamdesk_news_streams_open")


@pytest.mark.django_db(transaction=True)
async def test_in_process_the_stream_announces_itself_goes_live_and_leaves_no_task(
    agents, settings
):
    settings.STREAM_IDLE_GRACE = 0.2
    settings.NEWS_STREAM_SETTLE = 0.0
    settings.NEWS_STREAM_CHECK = 60.0  # an article can only come through the announcement
    user_id, cookie = await trader("newsie")
    await stored("old", ("AAPL",))
    # a first stream sets up what lives as long as the event loop (the session watch)
    warm = AsgiStream("symbols=AAPL", cookie).start()
    await warm.until(lambda events: events)
    await warm.disconnect()
    await wait_until(lambda: agents.agent(user_id) is None, within=5, what="agent stopped")
    baseline = asyncio.all_tasks()
    gauge = open_streams()

    stream = AsgiStream("symbols=aapl,$$$", cookie).start()
    (first,) = await stream.until(lambda events: events)
    assert stream.status == 200
    assert stream.body.startswith(b"retry: 3000\n\nevent: connected\n")
    event, event_id, connected = first
    assert (event, event_id) == ("connected", None)
    assert connected["symbols"] == ["AAPL"]
    assert connected["rejected"] == [{"symbol": "$$$", "reason": "invalid_symbol"}]
    assert connected["cursor"] == connected["head"] > 0  # live from the head: "old" not sent
    assert open_streams() == gauge + 1
    await wait_until(lambda: agents.agent(user_id) is not None, what="the stream holds")

    (row,) = await stored("n1", ("AAPL", "MSFT"))
    await live.announce([row])
    events = await stream.until(lambda events: len(events) == 2, within=3)
    assert events[1] == ("news", str(row.pk), store.to_wire(row))

    await stream.disconnect()
    assert open_streams() == gauge
    assert quota._memory.held(user_id) == 0
    await wait_until(lambda: agents.agent(user_id) is None, within=5, what="agent stopped")
    # no task the stream started is left (the first agent's may still be winding down
    # at the baseline: they may end meanwhile)
    await wait_until(lambda: asyncio.all_tasks() <= baseline, within=5, what="tasks at baseline")


@pytest.mark.django_db(transaction=True)
async def test_a_failed_store_read_is_retried_with_the_stream_open(agents, settings, monkeypatch):
    """The database restarting (or SQLite's shared cache answering "table is locked") must
    not end the stream without a word: the read is retried, nothing is skipped."""
    settings.STREAM_IDLE_GRACE = 0.2
    settings.NEWS_STREAM_SETTLE = 0.0
    settings.NEWS_STREAM_CHECK = 60.0  # only the retry or the announcement reads again
    user_id, cookie = await trader("outage")
    (row,) = await stored("n1", ("AAPL",))
    errors = REGISTRY.get_sample_value("streamdesk_news_store_errors_total") or 0.0
    real_after = store.news_list_after
    failures = []

    def flaky_after(*args, **kwargs):
        if len(failures) < 2:
            failures.append(args)
            raise OperationalError("database table is locked: streaming_newsitem")
        return real_after(*args, **kwargs)

    monkeypatch.setattr(store, "news_list_after", flaky_after)
    stream = AsgiStream(f"symbols=AAPL&after={row.pk - 1}", cookie).start()
    events = await stream.until(lambda events: len(events) == 2, within=5)
    assert events[1] == ("news", str(row.pk), store.to_wire(row))
    assert len(failures) == 2
    assert not stream.task.done()  # still open
    assert REGISTRY.get_sample_value("streamdesk_news_store_errors_total") == errors + 2

    await stream.disconnect()
    await wait_until(lambda: agents.agent(user_id) is None, within=5, what="agent stopped")
