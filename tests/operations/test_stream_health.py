"""The staff's stream-health view (/ops/streams/ and its JSON) in one process: who may see
it, and what it shows of a real stream read from this process's agents (no Redis)."""

from __future__ import annotations

import logging
import time

import pytest
from channels.db import database_sync_to_async
from django.contrib.auth import get_user_model

from sandbox.core.credentials import credential_id
from streaming.cluster.health_report import process_of
from streaming.cluster.lease import PROCESS_ID
from tests.streaming.test_consumer import connected, make_trader, receive_until
from tests.support.redis_server import free_port
from tests.support.wait import wait_until

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _one_process(settings):
    settings.REDIS_URL = ""
    settings.STREAM_FLUSH_INTERVAL = 0.1
    settings.STREAM_IDLE_GRACE = 0.2


@pytest.fixture
async def stop_managers(agents):
    yield
    await agents.stop_all()


@database_sync_to_async
def login(client, *, staff: bool) -> None:
    user = get_user_model().objects.create_user(
        "staffer" if staff else "nosy", password="pw", is_staff=staff
    )
    client.force_login(user)


async def test_anonymous_is_sent_to_login_and_json_is_401(async_client):
    page = await async_client.get("/ops/streams/")
    assert page.status_code == 302
    assert page["Location"] == "/login/?next=/ops/streams/"
    data = await async_client.get("/ops/streams.json")
    assert data.status_code == 401
    assert data.json() == {
        "error": "login required",
        "message": "Log in as staff to read the streams' health.",
    }


async def test_a_trader_who_is_not_staff_gets_403(async_client, caplog):
    """403 for the page and the JSON; nothing of the data, no traceback."""
    await login(async_client, staff=False)
    page = await async_client.get("/ops/streams/")
    assert (page.status_code, page.content) == (403, b"Staff only.")
    data = await async_client.get("/ops/streams.json?failing=1")
    assert data.status_code == 403
    assert data.json() == {
        "error": "staff only",
        "message": "Only staff may read the streams' health.",
    }
    assert "Traceback" not in caplog.text


async def test_staff_sees_no_streams_when_none_run(async_client):
    await login(async_client, staff=True)
    page = await async_client.get("/ops/streams/")
    assert page.status_code == 200
    assert "no-cache" in page["Cache-Control"]
    html = page.content.decode()
    assert "<h1>Stream health</h1>" in html
    assert 'id="stream-health-data"' in html
    data = (await async_client.get("/ops/streams.json")).json()
    assert set(data) == {"now", "served_by", "mode", "failing_only", "users"}
    assert (data["mode"], data["failing_only"], data["users"]) == ("single process", False, [])
    assert data["served_by"] == process_of(PROCESS_ID)
    assert abs(data["now"] - time.time() * 1000) < 2000


async def test_a_live_link_and_a_rejected_one_in_one_process(
    agents, async_client, broker_at_sandbox, control, stop_managers
):
    """A trader with two tastytrade links and one socket: the view shows this process as
    owner with one tab, the event log's head, both links with their admin pages; the
    link whose credential the broker revoked is failing with its error, and the filter
    keeps only it."""
    good, bad = "health-good-token", "health-bad-token"
    cookie, _ = await make_trader("trader", good)
    bad_link = await database_sync_to_async(_add_link)("trader", bad)
    control.fault("revoke", credential=credential_id(bad), revoked=True)
    user_id = await database_sync_to_async(_user_id)("trader")
    await login(async_client, staff=True)
    async with connected(cookie) as comm:
        await receive_until(comm, lambda f: f["type"] == "snapshot")
        manager = await wait_until(lambda: agents.get(user_id), what="owner")

        def states() -> dict[int, str]:
            return {i: manager.link_health(i).kinds["account"].state for i in manager.links}

        await wait_until(lambda: set(states().values()) == {"live", "error"}, within=15)
        data = (await async_client.get("/ops/streams.json")).json()
        filtered = (await async_client.get("/ops/streams.json?failing=1")).json()

    (user,) = data["users"]
    assert user["id"] == user_id
    assert user["username"] == "trader"
    assert user["admin_url"] == f"/admin/auth/user/{user_id}/change/"
    assert user["owner"] == process_of(PROCESS_ID)
    assert user["tabs"] == [{**process_of(PROCESS_ID), "tabs": 1}]
    assert user["tabs_total"] == 1
    assert (user["epoch"], user["seq"]) == (manager.position.epoch, manager.position.seq)
    assert (user["failing"], user["problem"]) == (True, "")
    by_id = {link["id"]: link for link in user["links"]}
    assert len(by_id) == 2
    bad_row = by_id.pop(bad_link)
    (good_row,) = by_id.values()
    assert good_row["admin_url"] == f"/admin/accounts/brokerlink/{good_row['id']}/change/"
    assert (good_row["state"], good_row["failing"], good_row["quote_source"]) == (
        "live",
        False,
        True,
    )
    assert good_row["token_expires_at"] > data["now"] + 10 * 60_000
    assert bad_row["admin_url"] == f"/admin/accounts/brokerlink/{bad_link}/change/"
    assert (bad_row["state"], bad_row["failing"]) == ("error", True)
    assert bad_row["reason"].startswith("credential rejected")
    assert "invalid_grant" in bad_row["reason"]
    assert bad_row["kinds"]["account"]["last_error"] == bad_row["reason"]
    assert bad_row["kinds"]["account"]["state"] == "error"
    assert bad_row["token_expires_at"] is None

    (only,) = filtered["users"]
    assert filtered["failing_only"] is True
    assert [link["id"] for link in only["links"]] == [bad_link]


def _user_id(username: str) -> int:
    return get_user_model().objects.values_list("pk", flat=True).get(username=username)


def _add_link(username: str, refresh_token: str) -> int:
    from accounts.services import broker_link_create
    from streaming.links.verify import broker_link_verify
    from tests.support.sdk import SECRET

    user = get_user_model().objects.get(username=username)
    link = broker_link_create(
        user=user,
        broker="tastytrade",
        label="second sandbox",
        provider_secret=SECRET,
        refresh_token=refresh_token,
    )
    return broker_link_verify(link=link).id


async def test_redis_down_is_503_naming_it_without_a_traceback(async_client, settings, caplog):
    """Several processes, Redis unreachable: the JSON and the page answer 503 saying so
    (the page still renders, with the reason), one warning line each, no traceback."""
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"
    await login(async_client, staff=True)
    with caplog.at_level(logging.WARNING):
        data = await async_client.get("/ops/streams.json")
        page = await async_client.get("/ops/streams/?failing=1")
    assert data.status_code == 503
    refused = "Redis unavailable: ConnectionError: Error 111 connecting to 127.0.0.1:"
    assert data.json()["error"].startswith(refused)
    assert set(data.json()) == {"error", "message"}
    assert page.status_code == 503
    html = page.content.decode()
    assert '<p id="ops-error" class="error">Redis unavailable: ConnectionError' in html
    assert 'id="failing-only" checked' in html
    warnings = [r for r in caplog.records if r.name == "operations.views"]
    assert [r.levelname for r in warnings] == ["WARNING", "WARNING"]
    assert all(record.exc_info is None for record in caplog.records)
    assert "Traceback" not in caplog.text
