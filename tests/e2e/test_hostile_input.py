"""What an attacker or a broken client sends to a real daphne: every bad input gets a
clear error and the stream goes on (no 1006, no 1011, no 500, no traceback); another
site's page cannot open the stream; a client that stops reading cannot grow the
server's memory; a password guesser waits, then is locked out."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
import websockets
from httpx_sse import aconnect_sse

from sandbox.core.credentials import credential_id
from streaming.tabs.slow_client import CLOSE_SLOW_ABOVE
from tests.support.clients import WsClient
from tests.support.live import DEMO_USER, LiveApp
from tests.support.orders import market_buy
from tests.support.tcp import server_send_queue


async def frames_until(ws, predicate, within: float = 15.0) -> dict:
    async with asyncio.timeout(within):
        while True:
            frame = json.loads(await ws.recv())
            if predicate(frame):
                return frame


@pytest.fixture(scope="module")
def auth(live_app: LiveApp) -> dict[str, str]:
    client = live_app.login(*DEMO_USER)
    return {"Cookie": live_app.cookie_header(client), "Origin": live_app.url}


def _log_text(app: LiveApp) -> str:
    return Path(app.log_path).read_text()


def tracebacks(app: LiveApp) -> int:
    return _log_text(app).count("Traceback")


@pytest.mark.parametrize("since", ["%C2%B2", "%D9%A2:%D9%A2", "x" * 80, "a:-1", "a:1e3"])
async def test_a_malformed_position_gets_a_snapshot(live_app, auth, since):
    before = tracebacks(live_app)
    url = f"{live_app.ws_url}?since={since}"
    async with websockets.connect(url, additional_headers=auth) as ws:
        assert json.loads(await ws.recv())["type"] == "hello"
        assert json.loads(await ws.recv())["type"] == "snapshot"
    async with (
        httpx.AsyncClient(base_url=live_app.url, timeout=10) as http,
        aconnect_sse(
            http,
            "GET",
            "/api/events?symbols=SPY",
            headers={"Cookie": auth["Cookie"], "Last-Event-ID": b"\xb2"},
        ) as source,
    ):
        assert source.response.status_code == 200
        kinds = []
        async for event in source.aiter_sse():
            if event.data:
                kinds.append(json.loads(event.data)["type"])
            if len(kinds) == 2:
                break
        assert kinds == ["hello", "snapshot"]
    assert tracebacks(live_app) == before


async def test_oversized_and_invalid_utf8_messages_get_errors_and_the_stream_goes_on(
    live_app, auth
):
    before = tracebacks(live_app)
    async with websockets.connect(live_app.ws_url, additional_headers=auth, max_size=None) as ws:
        await frames_until(ws, lambda f: f["type"] == "snapshot")
        await ws.send("x" * (2 * 1024 * 1024))  # 2 MiB text: read and discarded
        error = await frames_until(ws, lambda f: f["type"] == "error")
        assert error["code"] == "too_large"
        # a text frame whose payload is not UTF-8 (sent as is: no check on this side)
        await ws.send(b"\xff\xfe{", text=True)
        error = await frames_until(ws, lambda f: f["type"] == "error")
        assert error["code"] == "bad_utf8"
        await ws.send(json.dumps({"type": "ping", "id": "still-there"}))
        pong = await frames_until(ws, lambda f: f["type"] == "pong")
        assert pong["id"] == "still-there"
    assert tracebacks(live_app) == before


@pytest.mark.parametrize(
    "symbol",
    [
        ".SPY\u0662\u0665\u0660\u0662\u0662\u0661C590",  # Arabic-Indic digits
        "/ESZ\u0664",
        ".SPY250221C0",
        ".SPY251321C590",
        "\u00df",  # ß, which .upper() turns into SS
        ".SPY250230C590",
    ],
)
async def test_symbols_that_only_look_valid_are_refused(live_app, auth, symbol):
    async with websockets.connect(live_app.ws_url, additional_headers=auth) as ws:
        await frames_until(ws, lambda f: f["type"] == "snapshot")
        await ws.send(json.dumps({"type": "subscribe", "symbols": [symbol]}))
        answer = await frames_until(ws, lambda f: f["type"] == "subscribed")
        assert answer["rejected"] == [{"symbol": symbol, "reason": "invalid_symbol"}]
        assert symbol.upper() not in answer["symbols"]


async def _settled_snapshot(ws) -> dict:
    """A fresh socket's snapshot once every link of the user is live (each link's REST
    snapshot, positions included, is in): what the stream wants no longer grows by itself."""
    snapshot = await frames_until(ws, lambda f: f["type"] == "snapshot")
    links = {link["id"]: link for link in snapshot["links"]}
    while not all(link["state"] == "live" for link in links.values()):
        frame = await frames_until(ws, lambda f: f["type"] == "status", within=30)
        links[frame["link"]["id"]] = frame["link"]
    return snapshot


async def _subscriptions(app: LiveApp, auth: dict[str, str]) -> set[str]:
    """What the user's stream subscribes to now (a new socket's snapshot)."""
    async with websockets.connect(app.ws_url, additional_headers=auth) as probe:
        return set((await frames_until(probe, lambda f: f["type"] == "snapshot"))["subscriptions"])


async def test_the_users_symbols_are_capped_across_sockets(live_app, live_sandbox, auth):
    """3 sockets of 200 symbols each: the user's union (with the watchlist and the
    positions) stops at exactly 400; the rest are refused with `user_limit_reached` and
    the streams go on. A position opened at the cap still streams (positions always do)."""
    sockets = [await websockets.connect(live_app.ws_url, additional_headers=auth) for _ in range(3)]
    await _settled_snapshot(sockets[0])
    base = await _subscriptions(live_app, auth)  # the watchlist and the positions
    seen: list[list[dict]] = [[] for _ in sockets]

    async def read(ws, frames: list[dict]) -> None:
        async for raw in ws:
            frames.append(json.loads(raw))

    readers = [asyncio.create_task(read(ws, seen[n])) for n, ws in enumerate(sockets)]
    control = live_sandbox.control()
    try:
        for n, ws in enumerate(sockets):
            symbols = [f"Z{n}{i:03d}" for i in range(200)]
            for chunk in range(0, 200, 50):
                await ws.send(
                    json.dumps({"type": "subscribe", "symbols": symbols[chunk : chunk + 50]})
                )

        def refused() -> set[str]:
            return {
                r["symbol"]
                for frames in seen
                for f in frames
                if f["type"] == "subscribed"
                for r in f["rejected"]
                if r["reason"] == "user_limit_reached"
            }

        admitted = 400 - len(base)
        deadline = time.monotonic() + 15
        while len(refused()) < 600 - admitted:
            assert time.monotonic() < deadline, len(refused())
            await asyncio.sleep(0.05)
        subscriptions = await _subscriptions(live_app, auth)
        assert len(subscriptions) == 400
        assert base <= subscriptions
        assert len(refused()) == 600 - admitted
        assert refused().isdisjoint(subscriptions)

        assert "DIA" not in subscriptions
        account = _demo_account(control)
        control.place_order(account, market_buy("DIA", 1))
        deadline = time.monotonic() + 15
        while "DIA" not in (subscriptions := await _subscriptions(live_app, auth)):
            assert time.monotonic() < deadline, "the new position streams"
            await asyncio.sleep(0.2)
        assert len(subscriptions) == 401
        sell = market_buy("DIA", 1)
        sell["legs"][0]["action"] = "Sell to Close"
        control.place_order(account, sell)  # the module's later tests start from the base
        while "DIA" in (subscriptions := await _subscriptions(live_app, auth)):
            assert time.monotonic() < deadline + 15, "the closed position stops streaming"
            await asyncio.sleep(0.2)

        await sockets[0].send(json.dumps({"type": "ping", "id": 1}))
        deadline = time.monotonic() + 5
        while not any(f["type"] == "pong" for f in seen[0]):
            assert time.monotonic() < deadline, "the stream goes on"
            await asyncio.sleep(0.05)
    finally:
        control.close()
        for ws in sockets:
            await ws.close()
        await asyncio.gather(*readers, return_exceptions=True)


@pytest.mark.parametrize(
    "origin", ["http://127.0.0.1:1", "ftp://127.0.0.1", "http://localhost:9999", "null", None]
)
async def test_another_origin_cannot_open_the_stream(live_app, auth, origin):
    headers = {"Cookie": auth["Cookie"]}
    if origin is not None:
        headers["Origin"] = origin
    with pytest.raises(websockets.exceptions.InvalidStatus) as refused:
        async with websockets.connect(live_app.ws_url, additional_headers=headers):
            pass
    assert refused.value.response.status_code == 403
    if origin is not None:
        async with httpx.AsyncClient(base_url=live_app.url, timeout=10) as http:
            response = await http.get(
                "/api/events", headers={**headers, "Accept": "text/event-stream"}
            )
        assert response.status_code == 403


def _demo_account(control) -> str:
    return control.state()["credentials"][credential_id("demo-refresh-token")]["accounts"][0]


async def _tastytrade_link(reader: WsClient) -> int:
    """Once the reader is live: the id of the demo user's tastytrade link."""
    await reader.wait_live(30)
    snapshot = next(f for _, f in reader.frames if f["type"] == "snapshot")
    (link,) = [x["id"] for x in snapshot["links"] if x["broker"] == "tastytrade"]
    return link


@pytest.mark.parametrize("fills", [1, 150])
async def test_a_socket_that_stops_reading_is_closed_4408_when_fills_must_wait(
    live_app, live_sandbox, auth, fills
):
    """Fills for a tab that stopped reading: when one is not taken within 5 s or account
    frames would wait behind more than 256 KiB, the server ends that tab (4408: the
    client resumes from its position) and cuts the connection when even the close
    cannot be delivered; a reading tab of the same user gets every fill exactly once."""
    control = live_sandbox.control()
    account = _demo_account(control)
    reader = WsClient(live_app.url, auth["Cookie"], name="reader").start()
    log_start = len(_log_text(live_app))
    try:
        link = await _tastytrade_link(reader)
        sock = _non_reading_socket(live_app, auth["Cookie"], PILE_UP_SYMBOLS)
        port = sock.getsockname()[1]
        # quotes pile up in front of it until the server holds them back
        await reader.wait_for(
            lambda: server_send_queue(live_app.port, {port}).get(port, 0) > 64 * 1024
        )
        # placed from a thread: the reader (on this loop) keeps reading meanwhile
        orders = await asyncio.to_thread(
            lambda: [
                control.place_order(account, market_buy("F", 1))["order"]["id"]
                for _ in range(fills)
            ]
        )

        def closed_slow_tab() -> bool:
            return "closing a slow tab" in _log_text(live_app)[log_start:]

        await reader.wait_for(closed_slow_tab, within=15)
        # the close frame cannot reach a client that does not read: the connection is cut
        await reader.wait_for(
            lambda: port not in server_send_queue(live_app.port, {port}), within=15
        )
        await reader.wait_for(
            lambda: all(reader.filled_quantity(link, o) == 1 for o in orders), within=30
        )
        assert reader.violations == [] and reader.closes() == []
        sock.close()
    finally:
        await reader.stop()
        control.close()


async def test_a_fill_sent_before_a_socket_stopped_reading_closes_it_within_the_limit(
    live_app, live_sandbox, auth
):
    """A fill that went out while little waited (so no quotes were held yet), to a client
    that never takes it: the tab is ended (4408) once the fill is not taken within 5 s,
    not when a keepalive gives up; the reading tab gets the fill once."""
    control = live_sandbox.control()
    account = _demo_account(control)
    reader = WsClient(live_app.url, auth["Cookie"], name="reader").start()
    log_start = len(_log_text(live_app))
    try:
        link = await _tastytrade_link(reader)
        sock = _non_reading_socket(live_app, auth["Cookie"])
        port = sock.getsockname()[1]
        order = control.place_order(account, market_buy("F", 1))["order"]["id"]
        await reader.wait_for(lambda: reader.filled_quantity(link, order) == 1, within=15)
        queued = server_send_queue(live_app.port, {port}).get(port, 0)
        assert queued < 64 * 1024, f"{queued} bytes queued: quotes were held already"

        def closed_slow_tab() -> bool:
            return "closing a slow tab" in _log_text(live_app)[log_start:]

        # 5 s after the fill's frames went out (a keepalive would take 20 s or more; the
        # watchlist's quotes alone take ~25 s to pile up 64 KiB)
        await reader.wait_for(closed_slow_tab, within=12)
        assert reader.violations == [] and reader.closes() == []
        assert reader.filled_quantity(link, order) == 1
        sock.close()
    finally:
        await reader.stop()
        control.close()


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


#: Symbols a non-reading socket subscribes to, so that quotes pile up in front of it in
#: seconds (200 ticking symbols: ~18 KiB per merged frame; the watchlist alone takes tens
#: of seconds to fill 64 KiB under the adaptive flush).
PILE_UP_SYMBOLS = tuple(f"Q{i:03d}" for i in range(200))


def _non_reading_socket(app: LiveApp, cookie: str, symbols: tuple[str, ...] = ()) -> socket.socket:
    """A WebSocket client that completes the handshake, subscribes to `symbols` (if any)
    and then never reads."""
    sock = socket.create_connection(("127.0.0.1", app.port))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.sendall(
        (
            "GET /ws/stream/ HTTP/1.1\r\n"
            f"Host: 127.0.0.1:{app.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
            f"Origin: {app.url}\r\nCookie: {cookie}\r\n\r\n"
        ).encode()
    )
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(1)
    assert b" 101 " in head.split(b"\r\n")[0]
    for start in range(0, len(symbols), 50):  # at most 50 per message (the contract)
        chunk = list(symbols[start : start + 50])
        sock.sendall(_client_text_frame(json.dumps({"type": "subscribe", "symbols": chunk})))
    return sock


def _client_text_frame(text: str) -> bytes:
    """One masked text frame, as a browser sends it (RFC 6455 5.2, 5.3)."""
    payload = text.encode()
    size = len(payload)
    if size < 126:
        head = bytes([0x81, 0x80 | size])
    elif size < 1 << 16:
        head = bytes([0x81, 0x80 | 126]) + size.to_bytes(2, "big")
    else:
        head = bytes([0x81, 0x80 | 127]) + size.to_bytes(8, "big")
    mask = os.urandom(4)
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


async def test_sockets_that_stop_reading_do_not_grow_server_memory(live_app, live_sandbox, auth):
    """10 sockets never read while 200 symbols tick: the server holds their quotes back
    (latest wins) instead of queueing them, so its memory stays flat; a reading socket
    on the same process keeps streaming."""
    control = live_sandbox.control()
    # 20 ticks a second per symbol, 3 a flush (STREAM_FLUSH_INTERVAL 0.15 s): every symbol
    # moves in every frame, so a socket's quotes are as many bytes as at 100 (a reading
    # socket of the 200 symbols measured 258 KiB/s at 20, 270 at 100, 234 at 10), for a
    # fifth of the sandbox's ticks
    control.configure(tick_rate=20)
    try:
        reader = await websockets.connect(live_app.ws_url, additional_headers=auth)
        await frames_until(reader, lambda f: f["type"] == "snapshot")
        # the non-readers ask for lots of symbols: ~250 KiB/s of quotes per socket; the
        # reader streams its watchlist only (a starved test worker fell 256 KiB behind 200
        # symbols, and the server rightly ended it as too slow)
        symbols = tuple(f"Q{i:03d}" for i in range(200))
        slow = [_non_reading_socket(live_app, auth["Cookie"], symbols) for _ in range(10)]
        ports = {sock.getsockname()[1] for sock in slow}
        await frames_until(reader, lambda f: f["type"] == "quotes", within=10)
        start = _rss_mib(live_app.pid)
        samples = []
        queued = dict.fromkeys(ports, 0)
        reader_quotes = 0
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            # the reader is read throughout, the server sampled twice a second (cancelling
            # a wait for a frame loses none: websockets' recv)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(0.5):
                    while True:
                        reader_quotes += json.loads(await reader.recv())["type"] == "quotes"
            samples.append(_rss_mib(live_app.pid))
            for port, size in server_send_queue(live_app.port, ports).items():
                queued[port] = max(queued[port], size)
        # the reader kept streaming: ~7 frames a second (a flush each); one held behind the
        # non-readers would see none in the 20 s (a starved CI box once went 15 s without)
        assert reader_quotes >= 20, reader_quotes
        # unbounded queueing grew ~7.6 MiB per socket in this time (issue 9, defect 3)
        assert max(samples) - start < 25, (start, max(samples))
        # ...and the kernel's send buffer (autotuned up to 4 MiB, outside daphne's RSS)
        # took ~1 MiB per socket of stale quotes before a fill could get through: held
        # quotes keep it under the backlog that ends a tab. (The design's hold threshold
        # plus one frame is ~64 + 40 KiB with 200 symbols a frame; a starved clean clone
        # saw 157-196 KiB on 2026-11-29: docs/streaming.md, "Slow clients", open question.)
        assert max(queued.values()) < CLOSE_SLOW_ABOVE, queued
        await reader.close()
        for sock in slow:
            sock.close()
    finally:
        control.configure(tick_rate=10)
        control.close()


def _guess(client: httpx.Client, app: LiveApp, username: str, password: str) -> httpx.Response:
    """One try at the login form, as a browser sends it (its CSRF token first)."""
    page = client.get("/login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert token, page.text[:300]
    return client.post(
        "/login/",
        data={"username": username, "password": password, "csrfmiddlewaretoken": token[1]},
        headers={"Referer": f"{app.url}/login/"},
    )


def _lockouts(staff: httpx.Client) -> float:
    """`streamdesk_login_lockouts_total` as /metrics says it (0 before the first)."""
    scraped = staff.get("/metrics")
    assert scraped.status_code == 200, scraped.text[:200]
    found = re.search(r"^streamdesk_login_lockouts_total (\S+)$", scraped.text, re.MULTILINE)
    return float(found[1]) if found else 0.0


def test_a_password_guesser_waits_then_is_locked_out_in_words(live_app: LiveApp):
    """Guessing the demo trader's password through real daphne (the async login view,
    the middleware run async): each failure is answered later than the one before
    (LOGIN_FAILURE_DELAY 1 s after the second, doubling), and the wait holds no thread
    (/health answers meanwhile); the fifth locks logging in, said in words (429, the form,
    Retry-After); the right password is refused while locked; /metrics counts one lockout;
    no traceback. Staff lift the lock with `manage.py axes_reset_username`."""
    before = tracebacks(live_app)
    staff = live_app.login("admin", "admin-sandbox")  # before the address is locked too
    counted = _lockouts(staff)
    try:
        with (
            httpx.Client(base_url=live_app.url, timeout=30) as guesser,
            httpx.Client(base_url=live_app.url, timeout=30) as prober,
            ThreadPoolExecutor(max_workers=1) as pool,
        ):
            took = []
            for n in range(1, 5):
                started = time.monotonic()
                if n < 4:
                    wrong = _guess(guesser, live_app, DEMO_USER[0], f"guess-{n}")
                else:  # the fourth waits 4 s: meanwhile the process serves others at once
                    pending = pool.submit(_guess, guesser, live_app, DEMO_USER[0], "guess-4")
                    time.sleep(1)
                    probed = time.monotonic()
                    assert prober.get("/health").status_code == 200
                    assert time.monotonic() - probed < 1.5
                    assert not pending.done()
                    wrong = pending.result()
                took.append(time.monotonic() - started)
                assert wrong.status_code == 200
                assert "Your username and password didn't match." in wrong.text
            assert took[1] >= 1.0 and took[2] >= 2.0 and took[3] >= 4.0, took
            locked = _guess(guesser, live_app, DEMO_USER[0], "guess-5")
            assert locked.status_code == 429
            assert "Too many failed logins for this account or from your address" in locked.text
            assert "locked for 15 minutes" in locked.text
            assert 14 * 60 < int(locked.headers["Retry-After"]) <= 15 * 60
            assert 'name="password"' in locked.text
            right = _guess(guesser, live_app, *DEMO_USER)
            assert right.status_code == 429
            assert "sessionid" not in guesser.cookies
        assert _lockouts(staff) == counted + 1
        assert tracebacks(live_app) == before
    finally:
        live_app.manage("axes_reset_username", DEMO_USER[0])
        staff.close()
    live_app.login(*DEMO_USER).close()  # the lock is lifted
