"""Every fault the issue "Trust under faults" asks for, per broker and per credential, over
the raw protocols (fast: no SDK timeouts), including `blackout`: the whole sandbox (or one
broker, or one credential) freezes for N seconds and then resumes without losing anything.
How the SDK sees the tastytrade faults is in test_faults.py."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx
import pytest
import websockets

from sandbox import probe
from sandbox.core.config import SandboxConfig
from sandbox.core.credentials import credential_id
from tests.support.wait import poll_until, wait_until

SECRET = "matrix-secret"


@pytest.fixture
def sandbox_config() -> SandboxConfig:
    return SandboxConfig(
        tick_rate=20.0,
        order_step_interval=0,
        balance_push_interval=0.2,
        alpaca_heartbeat_interval=0.2,
    )


# -- helpers -------------------------------------------------------------------------------
def new_refresh_token() -> str:
    return f"matrix-{uuid.uuid4().hex[:12]}"


def access_token(base: str, refresh_token: str) -> str:
    grant = {"grant_type": "refresh_token", "client_secret": SECRET, "refresh_token": refresh_token}
    response = httpx.post(f"{base}/oauth/token", json=grant)
    response.raise_for_status()
    return response.json()["access_token"]


def tasty_client(base: str, refresh_token: str) -> httpx.Client:
    token = access_token(base, refresh_token)
    return httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=10)


def tradier_client(base: str, token: str, **kwargs) -> httpx.Client:
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    return httpx.Client(base_url=f"{base}/tradier", headers=headers, timeout=10, **kwargs)


def tradier_account(client: httpx.Client) -> str:
    accounts = client.get("/v1/user/profile").json()["profile"]["account"]
    return accounts[0]["account_number"]


def sessions(control, credential: str, kind: str) -> list[dict]:
    return control.state()["credentials"].get(credential, {}).get(kind, [])


@dataclass
class Feed:
    """Frames received on one connection, with their arrival times (monotonic)."""

    name: str
    frames: list[tuple[float, str]] = field(default_factory=list)

    def add(self, text: str) -> None:
        self.frames.append((time.monotonic(), text))

    def between(self, start: float, end: float) -> list[str]:
        return [text for at, text in self.frames if start < at < end]

    def after(self, moment: float, contains: str = "") -> list[str]:
        return [text for at, text in self.frames if at > moment and contains in text]


async def read_ws(ws: websockets.ClientConnection, feed: Feed) -> None:
    with contextlib.suppress(websockets.ConnectionClosed):
        async for message in ws:
            feed.add(message if isinstance(message, str) else message.decode())


async def read_lines(response: httpx.Response, feed: Feed) -> None:
    with contextlib.suppress(httpx.HTTPError):
        async for line in response.aiter_lines():
            if line:
                feed.add(line)


@contextlib.asynccontextmanager
async def streamer(base_ws: str, token: str, accounts: list[str]) -> AsyncIterator[Feed]:
    """A raw account-streamer socket connected to `accounts`, read into a Feed."""
    feed = Feed("streamer")
    async with websockets.connect(base_ws) as ws:
        request = {"action": "connect", "value": accounts, "auth-token": token, "request-id": 1}
        await ws.send(json.dumps(request))
        ack = json.loads(await ws.recv())
        assert ack["status"] == "ok", ack
        task = asyncio.create_task(read_ws(ws, feed))
        try:
            yield feed
        finally:
            task.cancel()


# -- tastytrade account streamer: refuse, silence, drop --------------------------------------
async def test_streamer_silence_is_connected_but_answers_no_heartbeat(sandbox, control):
    """silence: the socket stays open and listed, and a heartbeat gets no reply; once the
    fault is cleared heartbeats are answered again."""
    refresh = new_refresh_token()
    token = access_token(sandbox.url, refresh)
    cred = credential_id(refresh)
    async with websockets.connect(sandbox.streamer_url) as ws:

        async def heartbeat(request_id: int) -> None:
            body = {"action": "heartbeat", "auth-token": token, "request-id": request_id}
            await ws.send(json.dumps(body))

        await heartbeat(1)
        assert json.loads(await ws.recv())["request-id"] == 1
        assert control.fault("silence", target="streamer", credential=cred) == {"affected": 1}
        await heartbeat(2)
        await wait_until(lambda: sessions(control, cred, "streamer")[0]["messages_suppressed"])
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.3):
                await ws.recv()  # the ack was swallowed: nothing else is on its way
        session = sessions(control, cred, "streamer")[0]
        assert session["silent"] and session["messages_received"] == 2
        control.clear_faults()
        await heartbeat(3)
        assert json.loads(await ws.recv())["request-id"] == 3


async def test_streamer_refuse_and_drop(sandbox, control):
    """refuse_sessions answers the upgrade with the status; drop closes with the code; a
    broker-wide drop closes both tastytrade sockets of the credential and nothing else."""
    control.fault("refuse_sessions", target="streamer", status=503)
    with pytest.raises(websockets.InvalidStatus) as refused:
        await websockets.connect(sandbox.streamer_url)
    assert refused.value.response.status_code == 503
    control.clear_faults()
    refresh, other = new_refresh_token(), new_refresh_token()
    token = access_token(sandbox.url, refresh)
    cred = credential_id(refresh)
    quote_token = await probe.quote_token(sandbox.url, refresh, SECRET)
    other_feed = await probe.open_quote_feed(
        sandbox.dxlink_url, await probe.quote_token(sandbox.url, other, SECRET), ["SPY"]
    )
    async with (
        websockets.connect(sandbox.streamer_url) as ws,
        await probe.open_quote_feed(sandbox.dxlink_url, quote_token, ["SPY"]) as feed,
        other_feed,
    ):
        body = {"action": "heartbeat", "auth-token": token, "request-id": 1}
        await ws.send(json.dumps(body))
        await ws.recv()
        await wait_until(lambda: sessions(control, cred, "dxlink"))
        dropped = control.fault("drop", broker="tastytrade", credential=cred, code=4000)
        assert dropped == {"affected": 2}
        with pytest.raises(websockets.ConnectionClosed) as closed:
            while True:
                await ws.recv()
        assert closed.value.rcvd.code == 4000
        with pytest.raises(websockets.ConnectionClosed):
            while True:
                await feed.recv()
        assert sessions(control, credential_id(other), "dxlink")  # untouched
        assert await other_feed.recv()


# -- HTTP errors with a chosen status --------------------------------------------------------
@pytest.mark.parametrize("status", [429, 500, 503, 401])
@pytest.mark.parametrize("path", ["/customers/me/accounts", "/accounts/{n}/positions"])
def test_tastytrade_http_errors(sandbox, control, status, path):
    """http_error on tastytrade's account paths: the chosen status, tastytrade's error body,
    Retry-After when asked; only the targeted credential; `count` requests, then normal."""
    refresh, other = new_refresh_token(), new_refresh_token()
    with tasty_client(sandbox.url, refresh) as mine, tasty_client(sandbox.url, other) as theirs:
        number = mine.get("/customers/me/accounts").json()["data"]["items"][0]["account"][
            "account-number"
        ]
        their_number = theirs.get("/customers/me/accounts").json()["data"]["items"][0]["account"][
            "account-number"
        ]
        prefix = path.split("{")[0]
        control.fault(
            "http_error",
            status=status,
            broker="tastytrade",
            path_prefix=prefix,
            count=2,
            credential=credential_id(refresh),
            **({"retry_after": 7} if status == 429 else {}),
        )
        theirs_ok = theirs.get(path.format(n=their_number))
        assert theirs_ok.status_code == 200  # another credential: untouched
        failed = [mine.get(path.format(n=number)) for _ in range(2)]
        assert [r.status_code for r in failed] == [status, status]
        assert set(failed[0].json()["error"]) == {"code", "message"}
        if status == 429:
            assert failed[0].headers["retry-after"] == "7"
        assert mine.get(path.format(n=number)).status_code == 200
        assert mine.get("/api-quote-tokens").status_code == 200
    assert control.state()["faults"]["http"] == []


def test_tradier_account_errors_500_and_401(sandbox, control):
    """http_error on Tradier's /v1/accounts/... (a path relative to the broker): 500 in
    Tradier's error shape, 401 as Tradier's plain-text `Invalid Access Token`; per credential,
    until cleared; market data and other tokens are untouched."""
    token, other = f"tr-{uuid.uuid4().hex[:8]}", f"tr-{uuid.uuid4().hex[:8]}"
    with tradier_client(sandbox.url, token) as mine, tradier_client(sandbox.url, other) as theirs:
        number, their_number = tradier_account(mine), tradier_account(theirs)
        control.fault(
            "http_error",
            status=500,
            broker="tradier",
            path_prefix="/v1/accounts/",
            count=None,
            credential=credential_id(token),
        )
        for _ in range(2):
            failed = mine.get(f"/v1/accounts/{number}/balances")
            assert failed.status_code == 500 and failed.json()["errors"]["error"]
        assert mine.get("/v1/markets/quotes", params={"symbols": "SPY"}).status_code == 200
        assert mine.get("/v1/user/profile").status_code == 200
        assert theirs.get(f"/v1/accounts/{their_number}/positions").status_code == 200
        control.clear_faults()
        assert mine.get(f"/v1/accounts/{number}/balances").status_code == 200
        control.fault("http_error", status=401, broker="tradier", path_prefix="/v1/accounts/")
        unauthorized = mine.get(f"/v1/accounts/{number}/orders")
        assert unauthorized.status_code == 401 and unauthorized.text == "Invalid Access Token"
        assert mine.get(f"/v1/accounts/{number}/orders").status_code == 200  # count 1


@pytest.mark.parametrize("status", [500, 503])
def test_alpaca_rest_5xx(sandbox, control, status):
    """http_error on Alpaca's REST (broker-relative path): the status with Alpaca's
    `{"code", "message"}` body, for that key only."""
    key, other = f"AK{uuid.uuid4().hex[:10].upper()}", f"AK{uuid.uuid4().hex[:10].upper()}"
    base = f"{sandbox.url}/alpaca"
    with (
        httpx.Client(base_url=base, auth=(key, "s"), timeout=10) as mine,
        httpx.Client(base_url=base, auth=(other, "s"), timeout=10) as theirs,
    ):
        account = mine.get("/v1/accounts").json()[0]["id"]
        their_account = theirs.get("/v1/accounts").json()[0]["id"]
        control.fault(
            "http_error",
            status=status,
            broker="alpaca",
            path_prefix="/v1/trading/accounts/",
            count=None,
            credential=credential_id(key),
        )
        failed = mine.get(f"/v1/trading/accounts/{account}/positions")
        assert failed.status_code == status
        assert failed.json()["code"] == status * 100_000 + 10_000
        assert mine.get("/v1/accounts").status_code == 200
        assert theirs.get(f"/v1/trading/accounts/{their_account}/account").status_code == 200


def test_refuse_stream_per_credential(sandbox, control):
    """refuse_sessions for the HTTP streams can name a credential: that token's (key's)
    stream is refused, another's is served."""
    token, other = f"tr-{uuid.uuid4().hex[:8]}", f"tr-{uuid.uuid4().hex[:8]}"
    control.fault(
        "refuse_sessions", target="tradier-stream", status=503, credential=credential_id(token)
    )
    for who, expected in ((token, 503), (other, 200)):
        with tradier_client(sandbox.url, who) as client:
            sid = client.post("/v1/markets/events/session").json()["stream"]["sessionid"]
            data = {"symbols": "SPY", "sessionid": sid}
            with client.stream("POST", "/v1/markets/events", data=data) as response:
                assert response.status_code == expected, who
    key, other_key = f"AK{uuid.uuid4().hex[:10].upper()}", f"AK{uuid.uuid4().hex[:10].upper()}"
    control.fault("refuse_sessions", target="alpaca-sse", status=503, credential=credential_id(key))
    for who, expected in ((key, 503), (other_key, 200)):
        with (
            httpx.Client(base_url=f"{sandbox.url}/alpaca", auth=(who, "s"), timeout=10) as client,
            client.stream("GET", "/v2/events/trades") as response,
        ):
            assert response.status_code == expected, who
    faults = control.state()["faults"]
    assert faults["refuse_sessions_by_credential"][credential_id(key)] == {"alpaca-sse": 503}


def test_tradier_stream_drop_by_broker(sandbox, control):
    """A broker-wide drop ends Tradier's market stream (the body ends)."""
    token = f"tr-{uuid.uuid4().hex[:8]}"
    with tradier_client(sandbox.url, token) as client:
        sid = client.post("/v1/markets/events/session").json()["stream"]["sessionid"]
        data = {"symbols": "SPY", "sessionid": sid, "linebreak": "true"}
        with client.stream("POST", "/v1/markets/events", data=data) as response:
            lines = response.iter_lines()
            assert next(line for line in lines if line)
            assert control.fault("drop", broker="tradier") == {"affected": 1}
            list(lines)  # returns: the body ended
    poll_until(lambda: not sessions(control, credential_id(token), "tradier-stream"))


# -- blackout ---------------------------------------------------------------------------------
async def test_blackout_freezes_everything_then_everything_resumes(sandbox, control):
    """blackout {"seconds": N}: every open socket and stream of every façade sends nothing,
    new HTTP requests (and websocket handshakes) hang until it ends; then everything resumes
    and what happened meanwhile (an order's events) arrives late, not lost."""
    refresh = new_refresh_token()
    token = access_token(sandbox.url, refresh)
    tasty = tasty_client(sandbox.url, refresh)
    accounts = [
        i["account"]["account-number"]
        for i in tasty.get("/customers/me/accounts").json()["data"]["items"]
    ]
    quote_token = await probe.quote_token(sandbox.url, refresh, SECRET)
    tradier_token, alpaca_key = f"tr-{uuid.uuid4().hex[:8]}", f"AK{uuid.uuid4().hex[:10]}"
    tradier_headers = {"Authorization": f"Bearer {tradier_token}", "Accept": "application/json"}
    feeds = {name: Feed(name) for name in ("dxlink", "tradier", "alpaca")}
    async with (
        httpx.AsyncClient(base_url=sandbox.url, timeout=10) as http,
        await probe.open_quote_feed(sandbox.dxlink_url, quote_token, ["SPY"]) as dx,
        streamer(sandbox.streamer_url, token, accounts) as account_feed,
    ):
        sid = (
            await http.post("/tradier/v1/markets/events/session", headers=tradier_headers)
        ).json()["stream"]["sessionid"]
        data = {"symbols": "SPY", "sessionid": sid, "linebreak": "true"}
        async with (
            http.stream(
                "POST", "/tradier/v1/markets/events", data=data, headers=tradier_headers
            ) as tradier_stream,
            http.stream(
                "GET", "/alpaca/v2/events/trades", auth=(alpaca_key, "s"), timeout=None
            ) as alpaca_stream,
        ):
            readers = [
                asyncio.create_task(read_ws(dx, feeds["dxlink"])),
                asyncio.create_task(read_lines(tradier_stream, feeds["tradier"])),
                asyncio.create_task(read_lines(alpaca_stream, feeds["alpaca"])),
            ]
            feeds["streamer"] = account_feed
            await wait_until(lambda: all(f.frames for f in feeds.values()))

            sent = time.monotonic()
            answer = await asyncio.to_thread(control.fault, "blackout", seconds=1.0)
            acked = time.monotonic()
            ends = sent + 1.0
            assert answer["affected"] == 4 and 0.9 < answer["seconds"] <= 1.0
            # while it lasts: an order is placed (its events must wait, not vanish) ...
            order = {
                "time-in-force": "Day",
                "order-type": "Market",
                "legs": [
                    {"instrument-type": "Equity", "symbol": "SPY", "action": "Buy to Open",
                     "quantity": 1}
                ],
            }  # fmt: skip
            await asyncio.to_thread(control.place_order, accounts[0], order)
            # ... and every new request or handshake hangs until the end
            pending = {
                "tastytrade": http.get(
                    "/customers/me/accounts", headers={"Authorization": f"Bearer {token}"}
                ),
                "tradier": http.get(
                    "/tradier/v1/markets/quotes", params={"symbols": "SPY"}, headers=tradier_headers
                ),
                "alpaca": http.get("/alpaca/v1/accounts", auth=(alpaca_key, "s")),
                "websocket": websockets.connect(sandbox.streamer_url),
            }
            finished: dict[str, float] = {}

            async def timed(name: str, call) -> object:
                result = await call
                finished[name] = time.monotonic()
                return result

            results = await asyncio.gather(*(timed(n, c) for n, c in pending.items()))
            assert all(at >= ends - 0.05 for at in finished.values()), (ends, finished)
            assert [r.status_code for r in results[:3]] == [200, 200, 200]
            await results[3].close()
            for name, feed in feeds.items():
                assert feed.between(acked + 0.1, ends - 0.05) == [], name
            await wait_until(lambda: all(f.after(ends) for f in feeds.values()))
            await wait_until(lambda: account_feed.after(ends, '"type":"Order"'))
            assert control.state()["faults"]["blackouts"] == []
            for task in readers:
                task.cancel()
    tasty.close()


async def test_blackout_per_broker_and_credential_and_cleared_early(sandbox, control):
    """A blackout aimed at one Tradier token freezes that token only (its stream and its
    requests); the other token and the other brokers carry on; clearing the faults ends it
    at once and the hung request is answered."""
    frozen, live = f"tr-{uuid.uuid4().hex[:8]}", f"tr-{uuid.uuid4().hex[:8]}"
    feeds = {frozen: Feed(frozen), live: Feed(live)}
    clients: dict[str, httpx.AsyncClient] = {}
    readers = []
    quotes = ("/v1/markets/quotes", {"symbols": "SPY"})
    async with contextlib.AsyncExitStack() as stack:
        for token, feed in feeds.items():
            headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
            client = clients[token] = await stack.enter_async_context(
                httpx.AsyncClient(base_url=f"{sandbox.url}/tradier", headers=headers, timeout=30)
            )
            sid = (await client.post("/v1/markets/events/session")).json()["stream"]["sessionid"]
            data = {"symbols": "SPY", "sessionid": sid, "linebreak": "true"}
            response = await stack.enter_async_context(
                client.stream("POST", "/v1/markets/events", data=data)
            )
            readers.append(asyncio.create_task(read_lines(response, feed)))
        await wait_until(lambda: all(f.frames for f in feeds.values()))
        answer = await asyncio.to_thread(
            control.fault,
            "blackout",
            seconds=30,
            broker="tradier",
            credential=credential_id(frozen),
        )
        acked = time.monotonic()
        assert answer["affected"] == 1
        hung = asyncio.create_task(clients[frozen].get(quotes[0], params=quotes[1]))
        assert (await clients[live].get(quotes[0], params=quotes[1])).status_code == 200
        alpaca = await clients[live].get(f"{sandbox.url}/alpaca/v1/accounts", auth=("AKX", "s"))
        assert alpaca.status_code == 200
        count = len(feeds[live].after(acked + 0.1))
        await wait_until(lambda: len(feeds[live].after(acked + 0.1)) >= count + 5)
        assert feeds[frozen].after(acked + 0.1) == [] and not hung.done()
        state = control.state()
        (blackout,) = state["faults"]["blackouts"]
        assert blackout["broker"] == "tradier" and 25 < blackout["remaining"] <= 30
        frozen_session = state["credentials"][credential_id(frozen)]["tradier-stream"][0]
        assert frozen_session["blacked_out"]
        cleared = time.monotonic()
        await asyncio.to_thread(control.clear_faults)
        async with asyncio.timeout(2):
            assert (await hung).status_code == 200
        await wait_until(lambda: feeds[frozen].after(cleared), within=2)
        for task in readers:
            task.cancel()


async def test_a_client_that_gave_up_during_a_blackout_is_no_error(sandbox, control):
    """A request held by a blackout whose client timed out meanwhile finds it gone when the
    blackout ends: there is nothing to answer, and nothing to log (in the soak, every such
    request logged a ClientDisconnect traceback)."""
    errors: list[logging.LogRecord] = []
    handler = logging.Handler(logging.ERROR)
    handler.emit = errors.append  # type: ignore[method-assign]
    uvicorn_log = logging.getLogger("uvicorn.error")
    uvicorn_log.addHandler(handler)
    try:
        # a blackout no slow box outlasts, ended by hand once the client gave up (a second
        # one could be over before a starved test even sent its request)
        await asyncio.to_thread(control.fault, "blackout", seconds=60.0)
        async with httpx.AsyncClient(base_url=sandbox.url, timeout=0.3) as http:
            with pytest.raises(httpx.TimeoutException):
                await http.post(
                    "/oauth/token",
                    json={"grant_type": "refresh_token", "refresh_token": new_refresh_token()},
                )
        await asyncio.to_thread(control.fault, "blackout", seconds=0)
        # the held request runs once the blackout ends: wait until the sandbox is done
        deadline = time.monotonic() + 10
        while sandbox._server.server_state.tasks:
            assert time.monotonic() < deadline, "the held request never finished"
            await asyncio.sleep(0.05)
    finally:
        uvicorn_log.removeHandler(handler)
    assert [r.getMessage() for r in errors] == []
