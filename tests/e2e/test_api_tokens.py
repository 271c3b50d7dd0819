"""Personal API tokens against a real daphne process: a script with `Authorization: Bearer`
(no cookie, no Origin) reads the WebSocket, the SSE stream and the snapshot; revoking the
token closes its open streams within seconds; bad tokens are refused without a traceback;
the per-token limits hold across two processes sharing Redis."""

from __future__ import annotations

import asyncio
import json
import math
import re
import time
from collections.abc import Iterator

import httpx
import pytest
import websockets
from httpx_sse import aconnect_sse

from tests.support.live import DEMO_USER, LiveApp
from tests.support.wait import poll_until, wait_until

#: The contract: a stream ends within a few seconds of its token (checked every 2 s).
BOUND = 5.0
TOKEN_VALUE = re.compile(r'id="new-token-value" class="token-value" readonly value="([^"]+)"')


def create_token(app: LiveApp, client: httpx.Client, name: str) -> str:
    """A token made the way a user makes one: the settings page's form (CSRF and all)."""
    page = client.get("/settings/tokens")
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)[1]
    response = client.post(
        "/settings/tokens",
        data={"name": name, "lifetime_days": "7", "csrfmiddlewaretoken": csrf},
        headers={"Referer": f"{app.url}/settings/tokens"},
    )
    assert response.status_code == 200
    return TOKEN_VALUE.search(response.text)[1]


def token_row(client: httpx.Client, raw: str) -> str:
    """The token's row on the settings page."""
    prefix = raw.split("_")[1]
    page = client.get("/settings/tokens").text
    return re.search(rf'<tr data-prefix="{prefix}".*?</tr>', page, re.S)[0]


def revoke(app: LiveApp, client: httpx.Client, raw: str) -> None:
    """Press the token's Revoke button on the settings page."""
    row = token_row(client, raw)
    action = re.search(r'action="(/settings/tokens/\d+/revoke)"', row)[1]
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', row)[1]
    response = client.post(
        action, data={"csrfmiddlewaretoken": csrf}, headers={"Referer": f"{app.url}/"}
    )
    assert response.status_code == 302


def bearer(raw: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {raw}"}


async def aget(url: str, headers: dict[str, str]) -> httpx.Response:
    """One GET (an SSE stream that is refused answers at once; one served is not read)."""
    async with httpx.AsyncClient(timeout=10) as http:
        return await http.get(url, headers=headers)


async def sse_frames(app: LiveApp, raw: str, frames: list[dict], path: str = "/api/events"):
    """Read an SSE stream with the token into `frames` until it ends (`close` included)."""
    async with (
        httpx.AsyncClient(base_url=app.url, timeout=httpx.Timeout(5, read=60)) as http,
        aconnect_sse(http, "GET", path, headers=bearer(raw)) as events,
    ):
        assert events.response.status_code == 200
        async for event in events.aiter_sse():
            if event.event == "close":
                frames.append({"type": "close", **json.loads(event.data)})
            elif event.data:
                frames.append(json.loads(event.data))


@pytest.fixture(scope="module")
def owner(live_app: LiveApp) -> Iterator[httpx.Client]:
    client = live_app.login(*DEMO_USER)
    yield client
    client.close()


async def test_a_script_reads_every_stream_with_a_token(live_app, owner):
    """No cookie and no Origin: the snapshot (200, the demo's accounts), the WebSocket
    (hello, snapshot, live quotes) and SSE (hello, snapshot); last use shown on the page."""
    raw = create_token(live_app, owner, "script")
    assert "never" in token_row(owner, raw)

    def snapshot() -> dict | None:
        response = httpx.get(f"{live_app.url}/api/snapshot", headers=bearer(raw))
        assert response.status_code == 200
        return response.json() if response.json()["accounts"] else None

    accounts = poll_until(snapshot, within=15, what="the snapshot has accounts")["accounts"]
    assert accounts and all(a["simulated"] is True for a in accounts)
    async with websockets.connect(live_app.ws_url, additional_headers=bearer(raw)) as ws:
        hello = json.loads(await ws.recv())
        assert (hello["type"], hello["user"]) == ("hello", DEMO_USER[0])
        first = json.loads(await ws.recv())
        assert first["type"] == "snapshot" and first["accounts"]
        await ws.send('{"type":"subscribe","symbols":["SPY"]}')
        async with asyncio.timeout(15):
            while True:
                frame = json.loads(await ws.recv())
                if frame["type"] == "quotes" and "SPY" in frame["quotes"]:
                    break
    frames: list[dict] = []
    reader = asyncio.create_task(sse_frames(live_app, raw, frames, "/api/events?symbols=SPY"))
    await wait_until(lambda: [f["type"] for f in frames][:2] == ["hello", "snapshot"], within=15)
    reader.cancel()
    await asyncio.gather(reader, return_exceptions=True)
    row = token_row(owner, raw)
    # when it was last used, in the trader's zone (New York's: none chosen), named
    last_used = (
        r'class="last-used"><time datetime="[^"]+">[A-Z][a-z]{2} \d{1,2}, \d{4}, \d\d:\d\d E[SD]T<'
    )
    assert "never" not in row and re.search(last_used, row), row


async def test_revoking_closes_open_streams_within_seconds(live_app, owner):
    """An open WebSocket and an open SSE stream of the token end with 4401 within the
    bound after Revoke; the same token then gets 401 / 4401; another token streams on."""
    raw = create_token(live_app, owner, "doomed")
    kept = create_token(live_app, owner, "kept")
    frames: list[dict] = []
    sse = asyncio.create_task(sse_frames(live_app, raw, frames))
    async with (
        websockets.connect(live_app.ws_url, additional_headers=bearer(raw)) as ws,
        websockets.connect(live_app.ws_url, additional_headers=bearer(kept)) as other,
    ):
        assert json.loads(await ws.recv())["type"] == "hello"
        assert json.loads(await other.recv())["type"] == "hello"
        await wait_until(lambda: any(f["type"] == "snapshot" for f in frames), within=15)
        revoke(live_app, owner, raw)
        revoked = time.monotonic()
        async with asyncio.timeout(BOUND + 5):
            with pytest.raises(websockets.ConnectionClosed) as closed:
                while True:
                    await ws.recv()
            ws_closed = time.monotonic() - revoked
            await sse
        sse_closed = time.monotonic() - revoked
        assert closed.value.rcvd.code == 4401
        assert frames[-1] == {"type": "close", "code": 4401}
        assert ws_closed <= BOUND and sse_closed <= BOUND, (ws_closed, sse_closed)
        await other.send('{"type":"ping","id":"still"}')
        async with asyncio.timeout(5):
            while (frame := json.loads(await other.recv()))["type"] != "pong":
                pass
        assert frame["id"] == "still"
    print(f"revocation → closed: websocket {ws_closed:.2f} s, sse {sse_closed:.2f} s")
    assert "revoked" in token_row(owner, raw)
    assert (await aget(f"{live_app.url}/api/snapshot", bearer(raw))).status_code == 401
    async with websockets.connect(live_app.ws_url, additional_headers=bearer(raw)) as ws:
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await ws.recv()
        assert closed.value.rcvd.code == 4401


async def test_bad_tokens_are_refused_without_a_traceback(live_app, owner):
    expired = create_token(live_app, owner, "expired")
    live_app.python(
        "from django.utils import timezone\n"
        "from accounts.models import ApiToken\n"
        f"ApiToken.objects.filter(prefix={expired.split('_')[1]!r})"
        ".update(expires_at=timezone.now())",
    )
    log_start = live_app.log_path.stat().st_size
    for authorization in [
        "Bearer",
        "Bearer nonsense",
        f"Bearer sdt_{'q' * 10}_{'A' * 43}",
        f"Bearer {expired}",
        f"Bearer {expired} {expired}",
    ]:
        headers = {"Authorization": authorization}
        for path in ["/api/snapshot", "/api/events"]:
            response = await aget(f"{live_app.url}{path}", headers)
            assert (response.status_code, response.json()["error"]) == (401, "invalid_token")
        async with websockets.connect(live_app.ws_url, additional_headers=headers) as ws:
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await ws.recv()
            assert closed.value.rcvd.code == 4401
    written = live_app.log_path.read_bytes()[log_start:].decode()
    assert "Traceback" not in written and "ERROR" not in written
    assert "API token refused: expired" in written


# ---------------------------------------------------------------- limits across processes


@pytest.fixture(scope="module")
def pair(live_sandbox, redis_server, tmp_path_factory) -> Iterator[tuple[LiveApp, LiveApp]]:
    """Two daphne processes on one database and one Redis, with small token limits."""
    workdir = tmp_path_factory.mktemp("tokens-pair")
    limits = {
        "REDIS_URL": redis_server.url,
        "API_TOKEN_CONNECTS_PER_MINUTE": "3",
        "API_TOKEN_SNAPSHOTS_PER_MINUTE": "2",
    }
    a = LiveApp(live_sandbox.url, workdir, **limits).start()
    b = LiveApp(live_sandbox.url, workdir, seed=False, **limits).start()
    yield a, b
    b.stop()
    a.stop()


@pytest.mark.redis
async def test_limits_hold_across_processes(pair):
    """Snapshots: 2 per minute per token, counted in Redis whichever process serves them
    (a, b, then a again: 429 with Retry-After); stream opens: 3 (WebSocket on a, SSE on b,
    WebSocket on b), the fourth is an `error` frame and 4429, the SSE one a 429."""
    a, b = pair
    owner = a.login(*DEMO_USER)
    raw = create_token(a, owner, "limited")
    # the window is one wall-clock minute: start early in one, so the test stays inside it
    poll_until(lambda: time.time() % 60 < 30, within=35, what="early in a minute")
    window_ends = (time.time() // 60 + 1) * 60
    assert (await aget(f"{a.url}/api/snapshot", bearer(raw))).status_code == 200
    assert (await aget(f"{b.url}/api/snapshot", bearer(raw))).status_code == 200
    asked = time.time()
    refused = await aget(f"{a.url}/api/snapshot", bearer(raw))
    answered = time.time()
    assert answered < window_ends, "the window turned: the counts are not this test's"
    assert refused.status_code == 429
    retry_after = int(refused.headers["Retry-After"])
    # the seconds left in the window when the server counted the hit (between our clocks)
    assert math.ceil(window_ends - answered) <= retry_after <= math.ceil(window_ends - asked)
    assert refused.json() == {
        "error": "rate_limited",
        "message": f"Too many requests with this token this minute; try again in {retry_after} s.",
        "retry_after": retry_after,
    }
    frames: list[dict] = []
    async with websockets.connect(a.ws_url, additional_headers=bearer(raw)) as ws:
        assert json.loads(await ws.recv())["type"] == "hello"
    sse = asyncio.create_task(sse_frames(b, raw, frames))
    await wait_until(lambda: frames, within=15)
    sse.cancel()
    await asyncio.gather(sse, return_exceptions=True)
    async with websockets.connect(b.ws_url, additional_headers=bearer(raw)) as ws:
        assert json.loads(await ws.recv())["type"] == "hello"
    async with websockets.connect(a.ws_url, additional_headers=bearer(raw)) as ws:
        error = json.loads(await ws.recv())
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await ws.recv()
    assert closed.value.rcvd.code == 4429
    seconds = int(
        re.fullmatch(
            r"Too many connection attempts with this token; retry in (\d+) s", error["message"]
        )[1]
    )
    assert (error["type"], error["code"], error["ref"]) == ("error", "rate_limited", None)
    assert 1 <= seconds <= retry_after
    response = await aget(f"{b.url}/api/events", bearer(raw))
    assert response.status_code == 429 and int(response.headers["Retry-After"]) <= retry_after
    owner.close()


@pytest.mark.redis
async def test_revocation_closes_the_tokens_streams_in_every_process(pair):
    """A token's WebSockets and SSE stream on both processes end with 4401 within the
    bound after Revoke is pressed on one of them."""
    a, b = pair
    owner = a.login(*DEMO_USER)
    raw = create_token(a, owner, "two processes")
    frames: list[dict] = []
    sse = asyncio.create_task(sse_frames(b, raw, frames))
    async with (
        websockets.connect(a.ws_url, additional_headers=bearer(raw)) as on_a,
        websockets.connect(b.ws_url, additional_headers=bearer(raw)) as on_b,
    ):
        for ws in (on_a, on_b):
            assert json.loads(await ws.recv())["type"] == "hello"
        await wait_until(lambda: frames, within=15)
        revoke(a, owner, raw)
        revoked = time.monotonic()
        codes = []
        async with asyncio.timeout(BOUND + 5):
            for ws in (on_a, on_b):
                with pytest.raises(websockets.ConnectionClosed) as closed:
                    while True:
                        await ws.recv()
                codes.append(closed.value.rcvd.code)
            await sse
        elapsed = time.monotonic() - revoked
    assert codes == [4401, 4401] and frames[-1] == {"type": "close", "code": 4401}
    assert elapsed <= BOUND, elapsed
    owner.close()
