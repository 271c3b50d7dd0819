"""The /ws/stream/ consumer through the real ASGI stack (origin check, session auth)."""

from __future__ import annotations

import asyncio
import contextlib

import orjson
import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.apps import apps
from django.contrib.auth import get_user_model
from django.test import Client

from config.asgi import application
from tests.support.sdk import SECRET
from tests.support.wait import wait_until

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _fast_streams(settings):
    settings.STREAM_FLUSH_INTERVAL = 0.1
    settings.STREAM_IDLE_GRACE = 0.2


@pytest.fixture
async def stop_managers(agents):
    yield
    await agents.stop_all()


@database_sync_to_async
def make_trader(username: str, refresh_token: str | None) -> tuple[bytes, list[str]]:
    """A user with (optionally) a verified sandbox link; returns a session cookie header."""
    from accounts.services import broker_link_create
    from streaming.links.verify import broker_link_verify

    user = get_user_model().objects.create_user(username, password="pw-" + username)
    numbers: list[str] = []
    if refresh_token:
        link = broker_link_create(
            user=user,
            broker="tastytrade",
            label=f"{username} sandbox",
            provider_secret=SECRET,
            refresh_token=refresh_token,
        )
        link = broker_link_verify(link=link)
        numbers = list(link.account_numbers)
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}".encode(), numbers


def communicator(
    cookie: bytes | None, origin: bytes = b"http://localhost"
) -> WebsocketCommunicator:
    headers = [(b"host", b"localhost"), (b"origin", origin)]
    if cookie:
        headers.append((b"cookie", cookie))
    return WebsocketCommunicator(application, "/ws/stream/", headers=headers)


async def receive(comm: WebsocketCommunicator, within: float = 5.0) -> dict:
    return orjson.loads(await comm.receive_from(timeout=within))


async def receive_until(comm: WebsocketCommunicator, predicate, within: float = 10.0) -> dict:
    deadline = asyncio.get_running_loop().time() + within
    while True:
        frame = await receive(comm, max(0.1, deadline - asyncio.get_running_loop().time()))
        if predicate(frame):
            return frame


@contextlib.asynccontextmanager
async def connected(cookie: bytes):
    comm = communicator(cookie)
    ok, _ = await comm.connect(timeout=10)
    assert ok
    try:
        yield comm
    finally:
        await comm.disconnect()


async def test_anonymous_socket_is_closed_with_4401():
    """No session: the socket is accepted only to be closed with the documented 4401."""
    comm = communicator(None)
    ok, _ = await comm.connect()
    assert ok
    assert await comm.receive_output(timeout=2) == {"type": "websocket.close", "code": 4401}


async def test_cross_origin_socket_is_refused(broker_at_sandbox, refresh_token, stop_managers):
    """A logged-in user's cookie from a foreign origin cannot open a socket (CSWSH)."""
    cookie, _ = await make_trader("mallory-target", None)
    comm = communicator(cookie, origin=b"https://evil.example")
    ok, _ = await comm.connect()
    assert not ok


async def test_hello_snapshot_then_live_quotes(broker_at_sandbox, refresh_token, stop_managers):
    """A trader gets hello, a snapshot with both accounts (SIMULATED), then quote batches."""
    cookie, numbers = await make_trader("alice", refresh_token)
    async with connected(cookie) as comm:
        hello = await receive(comm)
        assert hello["type"] == "hello" and hello["user"] == "alice" and hello["simulated"]
        snapshot = await receive(comm)
        assert snapshot["type"] == "snapshot"
        await comm.send_to(text_data='{"type":"subscribe","symbols":["spy","QQQ"]}')
        subscribed = await receive_until(comm, lambda f: f["type"] == "subscribed")
        assert {"SPY", "QQQ"} <= set(subscribed["symbols"]) and subscribed["rejected"] == []
        balance = await receive_until(comm, lambda f: f["type"] == "balance")
        assert balance["account"] in numbers and balance["simulated"] is True
        batch = await receive_until(comm, lambda f: f["type"] == "quotes" and "SPY" in f["quotes"])
        assert batch["quotes"]["SPY"]["bid"] is not None


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("not json", "bad_json"),
        ("[1,2]", "bad_message"),
        ('{"type": 5}', "bad_message"),
        ('{"type":"explode"}', "unknown_type"),
        ('{"type":"subscribe","symbols":"SPY"}', "bad_symbols"),
        ('{"type":"subscribe","symbols":[]}', "bad_symbols"),
        ('{"type":"subscribe","symbols":[' + ",".join(['"A"'] * 51) + "]}", "bad_symbols"),
        ('{"type":"ping","id":{"a":1}}', "bad_message"),
        ('{"type":"pace"}', "bad_message"),
        ('{"type":"pace","max_frequency":0.1}', "bad_message"),
        ('{"type":"pace","max_frequency":100}', "bad_message"),
        ('{"type":"pace","max_frequency":"2"}', "bad_message"),
        ('{"type":"pace","max_frequency":true}', "bad_message"),
        ('{"type":"subscribe","symbols":["' + "A" * 5000 + '"]}', "too_large"),
    ],
)
async def test_bad_client_messages_get_error_frames_and_the_stream_goes_on(
    broker_at_sandbox, refresh_token, stop_managers, text, code
):
    """Each malformed message is answered with an error frame; ping still works after."""
    cookie, _ = await make_trader("bob", None)
    async with connected(cookie) as comm:
        await receive(comm)  # hello
        await receive(comm)  # snapshot
        await comm.send_to(text_data=text)
        error = await receive_until(comm, lambda f: f["type"] == "error")
        assert error["code"] == code
        await comm.send_to(text_data='{"type":"ping","id":"after"}')
        pong = await receive_until(comm, lambda f: f["type"] == "pong")
        assert pong["id"] == "after"


async def test_invalid_symbols_are_rejected_individually(broker_at_sandbox, stop_managers):
    """Bad symbols are listed in `rejected`; good ones (OCC and REST futures converted to
    their contract symbols) are subscribed."""
    cookie, _ = await make_trader("carol", None)
    async with connected(cookie) as comm:
        await receive(comm)
        await receive(comm)
        await comm.send_to(
            text_data=orjson.dumps(
                {
                    "type": "subscribe",
                    "symbols": ["AAPL", "DROP TABLE", "SPY   270115C00590000", "/ESZ6"],
                }
            ).decode()
        )
        frame = await receive_until(comm, lambda f: f["type"] == "subscribed")
    assert {"AAPL", ".SPY270115C590", "/ESZ26:XCME"} <= set(frame["symbols"])
    assert frame["rejected"] == [{"symbol": "DROP TABLE", "reason": "invalid_symbol"}]


async def test_rate_limit_answers_with_an_error_and_keeps_the_socket(
    broker_at_sandbox, stop_managers
):
    """Past 30 messages in 10 s the socket gets rate_limited errors but stays open."""
    cookie, _ = await make_trader("dave", None)
    async with connected(cookie) as comm:
        await receive(comm)
        await receive(comm)
        for i in range(35):
            await comm.send_to(text_data=f'{{"type":"ping","id":{i}}}')
        frames = [await receive(comm) for _ in range(35)]
        assert [f["type"] for f in frames].count("pong") == 30
        assert [f["code"] for f in frames if f["type"] == "error"] == ["rate_limited"] * 5


async def test_two_users_never_see_each_others_data(
    broker_at_sandbox, refresh_token, stop_managers
):
    """Alice and Bob stream at once; every account frame each receives is their own."""
    alice_cookie, alice_accounts = await make_trader("alice2", refresh_token)
    bob_cookie, bob_accounts = await make_trader("bob2", refresh_token + "-bob")
    assert not set(alice_accounts) & set(bob_accounts)
    async with connected(alice_cookie) as alice, connected(bob_cookie) as bob:
        seen: dict[str, set[str]] = {"alice": set(), "bob": set()}
        for name, comm in (("alice", alice), ("bob", bob)):
            for _ in range(30):
                frame = await receive(comm)
                if frame["type"] == "snapshot":
                    seen[name] |= {a["number"] for a in frame["accounts"]}
                if "account" in frame:
                    seen[name].add(frame["account"])
                if len(seen[name]) >= 2 and frame["type"] == "quotes":
                    break
    assert seen["alice"] and seen["alice"] <= set(alice_accounts)
    assert seen["bob"] and seen["bob"] <= set(bob_accounts)


async def test_manager_is_shared_by_tabs_and_stopped_after_the_last(
    agents, broker_at_sandbox, control, refresh_token, stop_managers
):
    """Two tabs share one manager (one DXLink session at the broker); after both close
    and the grace period, the manager is gone and the broker sessions are closed."""
    from tests.support.sdk import cred

    cookie, _ = await make_trader("erin", refresh_token)
    lifetimes = apps.get_app_config("streaming").node.lifetimes  # the process's (its node's)
    alive = lifetimes.alive
    async with connected(cookie) as one, connected(cookie) as two:
        for comm in (one, two):
            await receive_until(comm, lambda f: f["type"] == "snapshot")
        user_id = next(iter(agents._agents))
        await receive_until(one, lambda f: f["type"] == "status" and f["link"]["state"] == "live")
        sessions = control.state()["credentials"][cred(refresh_token)]
        assert len(sessions["dxlink"]) == 1 and len(sessions["streamer"]) == 1
        # the collector's long-lived things (runtime/heap.py): two tabs, the manager, and
        # its session with the broker and that session's two connections
        assert lifetimes.alive == alive + 2 + 1 + 3
    await wait_until(lambda: agents.get(user_id) is None, within=5, what="manager stopped")
    await wait_until(lambda: lifetimes.alive == alive, within=5, what="each counted as ended")

    def broker_sessions() -> dict:
        return control.state()["credentials"][cred(refresh_token)]

    await wait_until(
        lambda: broker_sessions()["dxlink"] == [] and broker_sessions()["streamer"] == [],
        within=5,
        what="broker sessions closed",
    )


async def test_a_socket_resumes_from_since_with_exactly_the_missed_frames(agents, stop_managers):
    """`?since=<epoch>:<seq>` through the real consumer: `resumed`, then the account
    frames after that position from the event log, nothing before it, no snapshot."""
    from tests.support.stream import owner_frame

    cookie, _ = await make_trader("resumer", None)
    async with connected(cookie) as first:
        snapshot = await receive_until(first, lambda f: f["type"] == "snapshot")
        user = await database_sync_to_async(get_user_model().objects.get)(username="resumer")
        for _ in range(3):
            await owner_frame(agents, user)
    comm = WebsocketCommunicator(
        application,
        f"/ws/stream/?since={snapshot['epoch']}:{snapshot['seq'] + 1}",
        headers=[(b"host", b"localhost"), (b"origin", b"http://localhost"), (b"cookie", cookie)],
    )
    ok, _ = await comm.connect(timeout=10)
    assert ok
    try:
        frames = [await receive(comm) for _ in range(4)]
    finally:
        await comm.disconnect()
    assert [f["type"] for f in frames] == ["hello", "resumed", "balance", "balance"]
    assert frames[1] == {
        "type": "resumed",
        "epoch": snapshot["epoch"],
        "from": snapshot["seq"] + 1,
        "count": 2,
    }
    assert [f["seq"] for f in frames[2:]] == [snapshot["seq"] + 2, snapshot["seq"] + 3]
