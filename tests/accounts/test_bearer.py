"""`Authorization: Bearer` through the real stack: Django's middleware for HTTP, and
config.asgi's application for the WebSocket (channels' WebsocketCommunicator)."""

from __future__ import annotations

import logging
from datetime import timedelta

import orjson
import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import AsyncClient, Client
from django.utils import timezone

from accounts.models import ApiToken
from accounts.tokens import api_token_create, api_token_revoke
from config.asgi import application
from streaming.models import Watchlist
from streaming.runtime import ratelimit
from tests.support.wait import wait_until

pytestmark = pytest.mark.django_db(transaction=True)

#: 10 s into a minute window: a token over its limit waits 50 s.
T0 = 1_800_000_000.0 - (1_800_000_000 % 60) + 10


@pytest.fixture(autouse=True)
def _setup(settings, monkeypatch):
    settings.STREAM_FLUSH_INTERVAL = 0.1
    settings.STREAM_IDLE_GRACE = 0.2
    settings.REDIS_URL = ""
    settings.API_TOKEN_SNAPSHOTS_PER_MINUTE = 2
    settings.API_TOKEN_CONNECTS_PER_MINUTE = 2
    ratelimit._memory.clear()
    monkeypatch.setattr(ratelimit, "_clock", lambda: T0)  # one window for the whole test


@pytest.fixture
async def stop_managers(agents):
    yield
    await agents.stop_all()


@database_sync_to_async
def make_user(username: str, *, with_token: bool = True, watchlist: list[str] | None = None):
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_user(username, password="pw-" + username)
    if watchlist is not None:
        Watchlist.objects.create(user=user, symbols=watchlist)
    raw = api_token_create(user=user, name="bot", lifetime_days=7).raw if with_token else None
    return user, raw


def bearer(raw: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {raw}"}


@database_sync_to_async
def bad_tokens(user) -> dict[str, str]:
    """Authorization values that must be refused, by what is wrong with them."""
    expired = api_token_create(user=user, name="expired", lifetime_days=7)
    ApiToken.objects.filter(pk=expired.token.pk).update(expires_at=timezone.now())
    revoked = api_token_create(user=user, name="revoked", lifetime_days=7)
    api_token_revoke(token=revoked.token)
    prefix = revoked.token.prefix
    return {
        "empty": "Bearer",
        "two parts": f"Bearer {expired.raw} {expired.raw}",
        "malformed": "Bearer not-a-token",
        "unknown": f"Bearer sdt_{'q' * 10}_{'A' * 43}",
        "wrong secret": f"Bearer sdt_{prefix}_{'A' * 43}",
        "too long": "Bearer " + "x" * 5000,
        "expired": f"Bearer {expired.raw}",
        "revoked": f"Bearer {revoked.raw}",
    }


# ---------------------------------------------------------------- HTTP


async def test_snapshot_with_a_token_is_the_token_users_with_no_cookie(stop_managers):
    """200 and the snapshot of the token's user; no cookie, no Origin; last use recorded."""
    _, raw = await make_user("bot-owner", watchlist=["SPY", "QQQ"])
    response = await AsyncClient().get("/api/snapshot", headers=bearer(raw))
    assert response.status_code == 200
    snapshot = response.json()
    assert snapshot["type"] == "snapshot"
    assert snapshot["watchlist"]["symbols"] == ["SPY", "QQQ"]
    token = await ApiToken.objects.aget()
    assert token.last_used_at is not None


async def test_the_token_wins_over_a_cookie(stop_managers):
    """A request with a Bearer header is the token's: another user's cookie is ignored."""
    _, raw = await make_user("token-user", watchlist=["IWM"])
    cookie_user, _ = await make_user("cookie-user", with_token=False, watchlist=["DIA"])
    client = AsyncClient()
    await client.aforce_login(cookie_user)
    assert (await client.get("/api/snapshot")).json()["watchlist"]["symbols"] == ["DIA"]
    response = await client.get("/api/snapshot", headers=bearer(raw))
    assert response.json()["watchlist"]["symbols"] == ["IWM"]


@pytest.mark.parametrize("path", ["/api/snapshot", "/api/events"])
async def test_bad_tokens_get_401_and_no_traceback(path, caplog, stop_managers):
    user, _ = await make_user("victim")
    caplog.set_level(logging.INFO)
    for what, authorization in (await bad_tokens(user)).items():
        response = await AsyncClient().get(path, headers={"Authorization": authorization})
        assert response.status_code == 401, what
        assert response.json()["error"] == "invalid_token", what
        assert response.json()["message"].startswith("This API token is malformed"), what
        assert response["WWW-Authenticate"] == 'Bearer error="invalid_token"', what
    assert all(record.exc_info is None for record in caplog.records)
    assert "Traceback" not in caplog.text
    # a refused token never writes: its last use stays empty
    assert not await ApiToken.objects.filter(last_used_at__isnull=False).aexists()


async def test_other_authorization_schemes_are_not_tokens(stop_managers):
    """`Basic` (a proxy's) is not ours: the request is anonymous as before (403)."""
    response = await AsyncClient().get("/api/snapshot", headers={"Authorization": "Basic eDp5"})
    assert response.status_code == 403
    assert response.json()["error"] == "not_authenticated"


async def test_snapshots_over_the_limit_get_429_with_retry_after(stop_managers):
    _, raw = await make_user("eager-bot")
    client = AsyncClient()
    statuses = [
        (await client.get("/api/snapshot", headers=bearer(raw))).status_code for _ in range(2)
    ]
    assert statuses == [200, 200]
    refused = await client.get("/api/snapshot", headers=bearer(raw))
    assert refused.status_code == 429
    assert refused["Retry-After"] == "50"
    assert refused.json() == {
        "error": "rate_limited",
        "message": "Too many requests with this token this minute; try again in 50 s.",
        "retry_after": 50,
    }
    # stream opens count apart from snapshots, and have their own limit
    for expected in (200, 200, 429):
        events = await client.get("/api/events", headers=bearer(raw))
        assert events.status_code == expected  # (the streams are not read: nothing starts)
    assert events["Retry-After"] == "50"


def test_a_token_cannot_change_the_watchlist(django_user_model):
    """Read-only: POST /watchlist with a token is a 403 `token_read_only` (not the CSRF
    page), and the watchlist stays as it was; pages and the admin refuse it too."""
    user = django_user_model.objects.create_user("reader", password="pw-reader-1")
    Watchlist.objects.create(user=user, symbols=["SPY"])
    raw = api_token_create(user=user, name="bot", lifetime_days=7).raw
    client = Client(enforce_csrf_checks=True)
    response = client.post(
        "/watchlist",
        data=b'{"add": ["AAPL"]}',
        content_type="application/json",
        headers=bearer(raw),
    )
    assert response.status_code == 403
    assert response.json()["error"] == "token_read_only"
    assert Watchlist.objects.get(user=user).symbols == ["SPY"]
    for path in ["/", "/admin/", "/settings/tokens"]:
        response = client.get(path, headers=bearer(raw))
        assert (response.status_code, response.json()["error"]) == (403, "token_read_only")
    response = client.post(
        "/settings/tokens", {"name": "x", "lifetime_days": "7"}, headers=bearer(raw)
    )
    assert response.status_code == 403
    assert ApiToken.objects.count() == 1


# ---------------------------------------------------------------- WebSocket (config.asgi)


def socket(authorization: str | None, *extra: tuple[bytes, bytes]) -> WebsocketCommunicator:
    """A handshake to the real application with no Origin and no cookie (unless given)."""
    headers = [(b"host", b"localhost"), *extra]
    if authorization is not None:
        headers.append((b"authorization", authorization.encode()))
    return WebsocketCommunicator(application, "/ws/stream/", headers=headers)


async def frame(comm: WebsocketCommunicator, within: float = 5.0) -> dict:
    return orjson.loads(await comm.receive_from(timeout=within))


async def test_a_token_opens_the_stream_with_no_origin_and_no_cookie(stop_managers):
    """hello (the token's user) then snapshot; subscribing works (it is this socket's)."""
    _, raw = await make_user("ws-bot", watchlist=["SPY"])
    comm = socket(f"Bearer {raw}")
    connected, _ = await comm.connect(timeout=10)
    assert connected
    hello = await frame(comm)
    assert (hello["type"], hello["user"]) == ("hello", "ws-bot")
    snapshot = await frame(comm)
    assert snapshot["type"] == "snapshot" and snapshot["watchlist"]["symbols"] == ["SPY"]
    await comm.send_to(text_data='{"type":"ping","id":7}')
    while (reply := await frame(comm))["type"] != "pong":
        pass
    assert reply["id"] == 7
    await comm.disconnect()
    token = await ApiToken.objects.aget()
    assert token.last_used_at is not None


async def test_without_a_token_the_origin_check_still_holds(stop_managers):
    """The bearer path opens nothing else: a cookie socket without Origin is refused."""
    user, _ = await make_user("cookie-only", with_token=False)
    client = AsyncClient()
    await client.aforce_login(user)
    cookie = f"sessionid={client.cookies['sessionid'].value}".encode()
    comm = socket(None, (b"cookie", cookie))
    connected, _ = await comm.connect()
    assert not connected
    # another scheme (a proxy's Basic) is not a token: the cookie path and its Origin check
    comm = socket("Basic eDp5", (b"cookie", cookie))
    connected, _ = await comm.connect()
    assert not connected


async def test_bad_tokens_are_closed_with_4401_and_no_traceback(caplog, stop_managers):
    user, _ = await make_user("ws-victim")
    other, _ = await make_user("other-user", with_token=False)
    client = AsyncClient()
    await client.aforce_login(other)
    cookie = f"sessionid={client.cookies['sessionid'].value}".encode()
    caplog.set_level(logging.INFO)
    for what, authorization in (await bad_tokens(user)).items():
        # a valid cookie and Origin along do not rescue a bad token
        comm = socket(authorization, (b"cookie", cookie), (b"origin", b"http://localhost"))
        connected, _ = await comm.connect()
        assert connected, what
        assert await comm.receive_output(timeout=2) == {"type": "websocket.close", "code": 4401}
    assert all(record.exc_info is None for record in caplog.records)
    assert "Traceback" not in caplog.text


async def test_too_many_connects_are_closed_with_4429_after_saying_when(stop_managers):
    _, raw = await make_user("hasty-bot")
    for _ in range(2):
        comm = socket(f"Bearer {raw}")
        assert (await comm.connect(timeout=10))[0]
        assert (await frame(comm))["type"] == "hello"
        await comm.disconnect()
    comm = socket(f"Bearer {raw}")
    assert (await comm.connect())[0]
    assert await frame(comm) == {
        "type": "error",
        "code": "rate_limited",
        "message": "Too many connection attempts with this token; retry in 50 s",
        "ref": None,
    }
    assert await comm.receive_output(timeout=2) == {"type": "websocket.close", "code": 4429}


async def test_revoking_a_token_closes_its_open_socket_with_4401(agents, stop_managers):
    """The session watch (streaming/cluster/sessions.py, every 2 s) ends a revoked token's socket;
    another token's socket of the same user streams on."""
    user, raw = await make_user("revoked-bot")
    other = await database_sync_to_async(api_token_create)(user=user, name="b", lifetime_days=7)
    doomed, kept = socket(f"Bearer {raw}"), socket(f"Bearer {other.raw}")
    for comm in (doomed, kept):
        assert (await comm.connect(timeout=10))[0]
        assert (await frame(comm))["type"] == "hello"
    token = await ApiToken.objects.aget(name="bot")
    await database_sync_to_async(api_token_revoke)(token=token)
    revoked_at = timezone.now()
    while (message := await doomed.receive_output(timeout=5))["type"] != "websocket.close":
        pass
    assert message == {"type": "websocket.close", "code": 4401}
    assert timezone.now() - revoked_at < timedelta(seconds=3)  # within one check (2 s)
    await doomed.disconnect()
    await kept.send_to(text_data='{"type":"ping","id":1}')
    while (reply := await frame(kept))["type"] != "pong":
        pass
    assert reply["id"] == 1  # the other token's socket is still served
    await kept.disconnect()
    await wait_until(lambda: agents.get(user.pk) is None, within=5, what="manager stopped")


def test_another_views_own_bearer_secret_is_left_to_it(django_user_model, settings):
    """An unmarked view (the metrics view with an operator's token) gets a non-`sdt_`
    bearer value untouched; one of our tokens there is refused as read-only. A public view
    (`/health`: it needs no caller) serves either (tests/streaming/test_api_errors.py)."""
    settings.METRICS_TOKEN = "operator-secret"
    response = Client().get("/metrics", headers={"Authorization": "Bearer operator-secret"})
    assert response.status_code == 200
    user = django_user_model.objects.create_user("prober", password="pw-prober-1")
    raw = api_token_create(user=user, name="bot", lifetime_days=7).raw
    response = Client().get("/metrics", headers=bearer(raw))
    assert (response.status_code, response.json()["error"]) == (403, "token_read_only")
    # and a malformed `sdt_` value there is still a bad token
    response = Client().get("/metrics", headers={"Authorization": "Bearer sdt_nonsense"})
    assert response.status_code == 401
    assert Client().get("/health", headers=bearer(raw)).status_code == 200
