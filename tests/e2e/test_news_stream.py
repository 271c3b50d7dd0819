"""The news SSE stream (`GET /api/news/stream`) through a real daphne process with its own
Redis, read with httpx and httpx-sse; articles are stored and announced by another
process (tests/support/news_writer.py), as the app's ingestion does."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import time
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from httpx_sse import aconnect_sse

from streaming.api.errors import as_sentence
from tests.e2e.test_api_tokens import bearer, create_token, revoke
from tests.support.live import DEMO_USER, LiveApp
from tests.support.news_writer import NewsWriter
from tests.support.redis_server import RedisServer
from tests.support.wait import wait_until

METRICS_TOKEN = "news-metrics-token"
PATH = "/api/news/stream"
#: The news app's stream timing here (the fixture's environment).
HEARTBEAT, PROGRESS, CHECK = 0.5, 1.0, 2.0
#: The backlog test's stream duration (s); a loaded box's late wake-up at its deadline, and
#: what the connection itself may take, on top (stated margins, not the expected times).
DURATION, LATE, CONNECT = 3, 2.0, 2.0
#: "At once" (`connected`, a refusal): nothing timed comes first. The stream's slowest
#: step here is its periodic store check (CHECK): an answer held behind any of its steps
#: would take up to that long; a request's own work is a few ms, and the rest of the
#: interval is the margin a loaded box gets.
AT_ONCE = CHECK
#: A stream whose client left is cleaned up: its watch looks every CLIENT_CHECK (0.25 s),
#: then its tasks get TASK_STOP_WAIT (1 s: streaming/news/sse/stream.py); the margin is
#: for a loaded box. It stays well under daphne's 10 s kill (the bug this guards: a stream
#: that lived on until then).
CLEANED_WITHIN = 0.25 + 1.0 + 2.0


@pytest.fixture(scope="module")
def news_app(live_sandbox, tmp_path_factory) -> Iterator[LiveApp]:
    redis_server = RedisServer()
    app = LiveApp(
        live_sandbox.url,
        tmp_path_factory.mktemp("news"),
        REDIS_URL=redis_server.url,
        NEWS_STREAM_HEARTBEAT=str(HEARTBEAT),
        NEWS_STREAM_PROGRESS=str(PROGRESS),
        NEWS_STREAM_CHECK=str(CHECK),
        NEWS_STREAM_SETTLE="0.2",
        NEWS_STREAMS_PER_USER="2",
        NEWS_STREAM_CONNECTS_PER_MINUTE="30",
        METRICS_TOKEN=METRICS_TOKEN,
    ).start()
    yield app
    app.stop()
    redis_server.stop()


@pytest.fixture
def writer(news_app: LiveApp) -> Iterator[NewsWriter]:
    """A writer of the test's own: one that dies fails that test alone, with its cause."""
    news_writer = NewsWriter(news_app)
    yield news_writer
    news_writer.close()


@pytest.fixture(autouse=True)
async def no_stream_left(news_app: LiveApp) -> None:
    """Each test starts with no news stream open: one a test before left is cleaned up
    within CLEANED_WITHIN of its client leaving, and until then it would count against
    the user's two streams (a 429) and in the gauge."""
    await wait_until(
        lambda: gauge(news_app) == 0, within=CLEANED_WITHIN, what="no news stream open"
    )


@pytest.fixture(scope="module")
def demo(news_app: LiveApp) -> httpx.Client:
    return news_app.login(*DEMO_USER)


@pytest.fixture(scope="module")
def cookie(news_app: LiveApp, demo: httpx.Client) -> dict[str, str]:
    return {"Cookie": news_app.cookie_header(demo)}


class Reader:
    """An open stream's events, `(event, id, data)`; progress events skipped unless asked."""

    def __init__(self, source) -> None:
        self.response = source.response
        self._events = source.aiter_sse()
        self.progress: list[dict] = []

    async def next(self, within: float = 10.0) -> tuple[str, str | None, dict]:
        async with asyncio.timeout(within):
            async for event in self._events:
                if not event.event or event.event == "message":
                    continue  # the opening `retry:` alone
                data = json.loads(event.data)
                if event.event == "progress":
                    self.progress.append(data)
                    continue
                return event.event, event.id or None, data
        raise AssertionError("the stream ended")


@contextlib.asynccontextmanager
async def news(app: LiveApp, query: str, headers: dict[str, str]) -> AsyncIterator[Reader]:
    async with (
        httpx.AsyncClient(base_url=app.url, timeout=httpx.Timeout(5, read=30)) as http,
        aconnect_sse(http, "GET", f"{PATH}?{query}", headers=dict(headers)) as source,
    ):
        assert source.response.status_code == 200, source.response.status_code
        yield Reader(source)


def get(app: LiveApp, query: str, headers: dict[str, str] | None = None) -> httpx.Response:
    """A request that is refused (answered at once: a served stream is never read here)."""
    return httpx.get(f"{app.url}{PATH}?{query}", headers=headers or {}, timeout=5)


async def raw_get(app: LiveApp, target: str, headers: dict[str, str]) -> bytes:
    """Send a GET as bytes on a socket (any length), 64 KiB at a time: the response's
    status line, or `b"closed"` when the server cut the connection first (a 400 written
    to a client that is still sending is lost in the TCP reset)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", app.port)
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    request = f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n{head}\r\n".encode()
    try:
        for start in range(0, len(request), 65536):
            writer.write(request[start : start + 65536])
            await writer.drain()
        async with asyncio.timeout(5):
            return await reader.readline() or b"closed"
    except ConnectionError:
        return b"closed"
    finally:
        writer.close()


def news_event(item: dict) -> tuple[str, str, dict]:
    return "news", str(item["cursor"]), item


def gauge(app: LiveApp) -> float:
    text = httpx.get(
        f"{app.url}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}
    ).text
    return float(re.search(r"^streamdesk_news_streams_open (\S+)$", text, re.M)[1])


async def test_connected_comes_first_and_at_once_then_live_articles_with_their_cursor_as_id(
    news_app, writer, cookie
):
    started = time.monotonic()
    async with news(news_app, "symbols=nwa,NWB,$$$", cookie) as stream:
        event, event_id, connected = await stream.next()
        first_event_s = time.monotonic() - started
        assert stream.response.headers["content-type"] == "text/event-stream; charset=utf-8"
        assert stream.response.headers["cache-control"] == "no-cache"
        assert stream.response.headers["x-accel-buffering"] == "no"
        assert (event, event_id) == ("connected", None)
        assert first_event_s < AT_ONCE, first_event_s
        assert connected["user"] == "demo"
        assert connected["symbols"] == ["NWA", "NWB"]
        assert connected["rejected"] == [{"symbol": "$$$", "reason": "invalid_symbol"}]
        assert connected["cursor"] == connected["head"] and connected["resumed"] is False
        assert (connected["heartbeat_s"], connected["progress_s"]) == (HEARTBEAT, PROGRESS)
        assert connected["limits"] == {
            "max_symbols": 200,
            "streams_per_user": 2,
            "connects_per_minute": 30,
            "max_duration_s": 3600,
            "max_backlog": 100,
        }
        assert abs(connected["server_time"] - time.time() * 1000) < 5000
        (a,) = writer.store({"id": "live-1", "symbols": ["NWA"]})
        writer.store({"id": "live-2", "symbols": ["NWZ"]})  # not ours: never sent
        (b,) = writer.store({"id": "live-3", "symbols": ["NWB", "NWZ"]})
        assert [await stream.next(), await stream.next()] == [news_event(a), news_event(b)]
        assert a["headline"] == "headline live-1" and a["created_at"] == 1795530600000
        # a missed announcement: the periodic check (2 s here) reads the store anyway
        (quiet,) = writer.store({"id": "live-4", "symbols": ["NWA"]}, announce=False)
        assert await stream.next(within=6) == news_event(quiet)
    print(f"first event after {first_event_s * 1000:.0f} ms")


async def test_last_event_id_resumes_exactly_after_the_cursor(news_app, writer, cookie):
    """No repeat, no gap; an article updated meanwhile comes once, as its new revision;
    `?after=` does the same for tools that cannot set headers."""
    async with news(news_app, "symbols=NWR", cookie) as stream:
        await stream.next()
        r1, r2 = writer.store(
            {"id": "r1", "symbols": ["NWR"]}, {"id": "r2", "symbols": ["NWR", "NWS"]}
        )
        assert [await stream.next(), await stream.next()] == [news_event(r1), news_event(r2)]
        last = str(r2["cursor"])
    # while no stream is open: a new article, an update of r1, another symbol's article
    (r3,) = writer.store({"id": "r3", "symbols": ["NWR"]})
    (r1_new,) = writer.store({"id": "r1", "symbols": ["NWR"], "updated": 5, "headline": "new"})
    writer.store({"id": "x1", "symbols": ["NWX"]})
    assert r1_new["id"] == r1["id"] and r1_new["cursor"] > r3["cursor"]
    async with news(news_app, "symbols=NWR", {**cookie, "Last-Event-ID": last}) as stream:
        _, _, connected = await stream.next()
        assert (connected["resumed"], connected["cursor"]) == (True, int(last))
        assert [await stream.next(), await stream.next()] == [news_event(r3), news_event(r1_new)]
        (r4,) = writer.store({"id": "r4", "symbols": ["NWR"]})
        assert await stream.next() == news_event(r4)  # the next one is live: nothing repeated
    async with news(news_app, f"symbols=NWR&after={last}", cookie) as stream:
        await stream.next()
        got = [await stream.next() for _ in range(3)]
        assert got == [news_event(r3), news_event(r1_new), news_event(r4)]
    ahead = get(news_app, "symbols=NWR", {**cookie, "Last-Event-ID": str(r4["cursor"] + 1000)})
    assert (ahead.status_code, ahead.json()["error"]) == (400, "cursor_ahead")
    malformed = get(news_app, "symbols=NWR", {**cookie, "Last-Event-ID": "12:3"})
    assert malformed.status_code == 400
    assert malformed.json() == {
        "error": "bad_cursor",
        "message": "'Last-Event-ID' must be a news cursor (a whole number), not '12:3'.",
    }


async def test_backlog_progress_heartbeat_and_a_duration_that_ends_the_stream(
    news_app, writer, cookie
):
    k1, k2, k3 = writer.store(
        *({"id": f"k{n}", "symbols": ["NWK"], "created": n} for n in (1, 2, 3))
    )
    started = time.monotonic()
    lines = []
    async with (
        httpx.AsyncClient(base_url=news_app.url, timeout=httpx.Timeout(5, read=10)) as http,
        http.stream(
            "GET", f"{PATH}?symbols=NWK&backlog=2&duration={DURATION}", headers=cookie
        ) as raw,
    ):
        async for line in raw.aiter_lines():
            lines.append(line)
    ended_after = time.monotonic() - started
    assert lines[:2] == ["retry: 3000", ""]
    events = []
    for block in "\n".join(lines[2:]).split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.split("\n") if line and line[0] != ":")
        if fields:
            events.append((fields["event"], fields.get("id"), json.loads(fields["data"])))
    kinds = [event for event, _, _ in events]
    assert kinds[:3] == ["connected", "news", "news"] and kinds[-1] == "end"
    assert events[1:3] == [news_event(k2), news_event(k3)]  # the 2 newest, in cursor order
    progress = [data for event, _, data in events if event == "progress"]
    # one a PROGRESS after the last (1 s, 2 s + drift); the third would be due after the
    # 3 s deadline, which the stream checks first
    assert len(progress) == 2 and set(kinds[3:-1]) == {"progress"}
    assert progress[0]["cursor"] == k3["cursor"] and progress[0]["sent"] == 2
    assert progress[0]["elapsed_ms"] >= 1000
    end = events[-1][2]
    assert (end["reason"], end["cursor"], end["sent"]) == ("duration", k3["cursor"], 2)
    assert DURATION * 1000 <= end["elapsed_ms"] < (DURATION + LATE) * 1000
    assert lines.count(": heartbeat") >= 2  # nothing written for 0.5 s: a comment
    assert DURATION <= ended_after < DURATION + LATE + CONNECT
    assert k1["cursor"] < k2["cursor"]


async def test_an_open_stream_holds_the_users_stream_and_leaves_nothing_when_the_client_goes(
    news_app, demo, cookie
):
    def subscribed() -> list[str]:
        return demo.get("/api/snapshot").json()["subscriptions"]

    # no stream is open (no_stream_left): the gauge counts this test's
    async with (
        news(news_app, "symbols=NWHOLD,NWH", cookie) as one,
        news(news_app, "symbols=NWH", cookie) as two,
    ):
        await one.next()
        await two.next()
        await wait_until(lambda: gauge(news_app) == 2, what="two news streams open")
        # the stream's symbols are a tab's: the user's stream subscribes them
        await wait_until(lambda: "NWHOLD" in subscribed(), within=10, what="subscribed")
        closed_at = time.monotonic()
    await wait_until(
        lambda: gauge(news_app) == 0, within=CLEANED_WITHIN, what="news streams closed"
    )
    cleaned_s = time.monotonic() - closed_at
    await wait_until(lambda: "NWHOLD" not in subscribed(), within=5, what="the tab dropped")
    # a client that leaves at once (right after the headers, while the stream is still
    # joining the cluster: a library below swallowed Django's cancellation there, and the
    # stream lived on until daphne killed it 10 s later)
    for _ in range(3):
        async with (
            httpx.AsyncClient(base_url=news_app.url, timeout=5) as http,
            http.stream("GET", f"{PATH}?symbols=NWH", headers=dict(cookie)) as response,
        ):
            assert response.status_code == 200
        await wait_until(lambda: gauge(news_app) == 0, within=CLEANED_WITHIN, what="closed")
    log = news_app.log_path.read_text()
    assert "Traceback" not in log and "Task was destroyed" not in log
    print(f"gauge back to 0 {cleaned_s * 1000:.0f} ms after the client closed")


async def test_session_token_anonymous_and_revoked_token(news_app, demo):
    anonymous = get(news_app, "symbols=SPY")
    assert anonymous.status_code == 401
    assert anonymous.json()["error"] == "not_authenticated"
    assert get(news_app, "symbols=SPY", bearer("sdt_nope")).json()["error"] == "invalid_token"
    raw = create_token(news_app, demo, "news script")
    # a token needs no cookie and no Origin check: another site's Origin does not matter
    headers = {**bearer(raw), "Origin": "https://elsewhere.example"}
    async with news(news_app, "symbols=NWT", headers) as stream:
        _, _, connected = await stream.next()
        assert connected["user"] == "demo"
        revoke(news_app, demo, raw)
        event, _, end = await stream.next(within=6)  # sessions are checked every 2 s
        assert (event, end["reason"]) == ("end", "unauthenticated")
    refused = get(news_app, "symbols=NWT", bearer(raw))
    assert (refused.status_code, refused.json()["error"]) == (401, "invalid_token")


async def test_cookie_requests_from_another_site_are_refused(news_app, cookie):
    for extra in ({"Origin": "https://evil.example"}, {"Sec-Fetch-Site": "cross-site"}):
        response = get(news_app, "symbols=SPY", {**cookie, **extra})
        assert response.status_code == 403
        assert response.json()["error"] == "origin_not_allowed"
    async with news(news_app, "symbols=SPY", {**cookie, "Origin": news_app.url}) as stream:
        assert (await stream.next())[0] == "connected"


async def test_per_user_limits_answer_429_at_once(news_app, writer):
    writer.user("reader", "reader-pw")
    writer.user("hammer", "hammer-pw")
    reader = {"Cookie": news_app.cookie_header(news_app.login("reader", "reader-pw"))}
    async with news(news_app, "symbols=SPY", reader) as one:
        await one.next()
        async with news(news_app, "symbols=QQQ", reader) as two:
            await two.next()
            started = time.monotonic()
            third = get(news_app, "symbols=SPY", reader)
            assert time.monotonic() - started < AT_ONCE
            assert third.status_code == 429 and third.headers["retry-after"] == "10"
            assert third.json() == {
                "error": "too_many_streams",
                "message": "you have 2 news streams open (the most per user): close one.",
                "retry_after": 10,
            }
    # both closed: the slots are free at once
    async with news(news_app, "symbols=SPY", reader) as again:
        assert (await again.next())[0] == "connected"

    hammer = {"Cookie": news_app.cookie_header(news_app.login("hammer", "hammer-pw"))}
    # the opens are counted per minute: burst at the start of a window, not across two
    left = 60 - time.time() % 60
    if left < 15:
        await asyncio.sleep(left + 0.1)
    window = int(time.time() // 60)
    opened, refusal, waits = 0, None, 0
    while refusal is None and opened <= 30:
        async with (
            httpx.AsyncClient(base_url=news_app.url, timeout=5) as http,
            http.stream("GET", f"{PATH}?symbols=SPY", headers=hammer) as response,
        ):
            if response.status_code == 200:
                opened, waits = opened + 1, 0
                continue
            await response.aread()
        if response.json()["error"] == "too_many_streams":
            # the server has not seen the last ones go yet (does not count as an open)
            waits += 1
            assert waits < 20, "slots not given back within a second"
            await asyncio.sleep(0.05)
            continue
        refusal = response
    assert int(time.time() // 60) == window
    assert opened == 30
    assert refusal.status_code == 429
    assert refusal.json()["error"] == "rate_limited"
    assert 1 <= int(refusal.headers["retry-after"]) <= 60


async def test_bad_input_is_refused_at_once_with_a_clear_error(news_app, cookie):
    # 10 MB of symbols: daphne (twisted) answers a request line over 16 KiB with a 400 and
    # closes the connection, before the app
    # (httpx refuses to build a URL that long: a raw socket sends it)
    started = time.monotonic()
    status_line = await raw_get(news_app, f"{PATH}?symbols=" + "AAPL," * 2_000_000, cookie)
    huge_s = time.monotonic() - started
    assert status_line == b"closed" or status_line.startswith(b"HTTP/1.1 400 "), status_line
    assert huge_s < AT_ONCE, huge_s
    # 10 KB fits a request line: the app's own limit answers
    started = time.monotonic()
    big = get(news_app, "symbols=" + "AAPL," * 2000, cookie)
    big_s = time.monotonic() - started
    assert (big.status_code, big.json()["error"]) == (400, "bad_symbols")
    assert big.json()["message"] == "'symbols' is 10000 characters; at most 6600 (200 symbols)."
    assert big_s < AT_ONCE, big_s
    cases = {
        "symbols=$$$,%C3%9F": ("bad_symbols", "no valid symbol in 'symbols'"),
        "symbols=SPY&duration=0": (
            "bad_duration",
            "'duration' must be a whole number from 1 to 3600",
        ),
        "symbols=SPY&duration=99999": (
            "bad_duration",
            "'duration' must be a whole number from 1 to 3600",
        ),
        "symbols=SPY&backlog=-1": ("bad_backlog", "'backlog' must be a whole number from 0 to 100"),
        "symbols=SPY&after=abc": (
            "bad_cursor",
            "'after' must be a news cursor (a whole number), not 'abc'",
        ),
    }
    for query, (code, message) in cases.items():
        response = get(news_app, query, cookie)
        assert response.status_code == 400, query
        assert response.json() == {"error": code, "message": as_sentence(message)}, query
    print(f"10 MB symbols: {status_line!r} in {huge_s * 1000:.0f} ms")
    print(f"10 KB symbols: 400 in {big_s * 1000:.0f} ms")
