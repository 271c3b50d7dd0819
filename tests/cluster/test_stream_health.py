"""The staff's stream-health view across two daphne processes: the process that does not
own the stream serves the owner's report, every process's tabs, and a link the broker
breaks as failing (its last error, its reconnects) until it heals."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import redis

from sandbox.core.credentials import credential_id
from streaming.cluster.eventlog import RedisEventLog
from tests.cluster.conftest import Tab
from tests.cluster.test_cluster import cookie, live_tab
from tests.support.cluster import Cluster, running_cluster

DEMO_TRADIER = credential_id("demo-tradier-token")
#: Tradier's account polls every 2 s: a failing one is seen within seconds.
FAST_POLLS = {"STREAM_ACCOUNT_POLL_INTERVAL": "2", "STREAM_ACCOUNT_HEARTBEAT": "2"}
#: The owner sends a frame's event-log write in its next pipelined batch (one event-loop
#: turn, milliseconds) while the report goes by another connection: 5 s is margin for a
#: loaded box.
LOGGED_WITHIN = 5.0


@pytest.fixture
def cluster(tmp_path) -> Iterator[Cluster]:
    with running_cluster(tmp_path, **FAST_POLLS) as running:
        yield running


async def view_until(
    client: httpx.Client,
    predicate: Callable[[dict[str, Any]], Any],
    *,
    failing: bool = False,
    within: float = 20.0,
    what: str = "view",
) -> dict[str, Any]:
    """Poll the JSON view (off the event loop: the tabs keep reading) until `predicate`."""
    url = "/ops/streams.json" + ("?failing=1" if failing else "")
    deadline = time.monotonic() + within
    last: dict[str, Any] = {}
    while time.monotonic() < deadline:
        response = await asyncio.to_thread(client.get, url)
        assert response.status_code == 200
        last = response.json()
        if predicate(last):
            return last
        await asyncio.sleep(0.2)
    raise AssertionError(f"{what}: not within {within} s; last: {last}")


def event_log(cluster: Cluster, user_id: int) -> tuple[str, int, list[dict[str, Any]]]:
    """The user's event log as Redis holds it (one transaction): the head's epoch and seq,
    and every logged frame, in seq order."""
    _, head_key, log_key = RedisEventLog.keys(user_id)
    client = redis.Redis.from_url(cluster.redis.url)
    try:
        with client.pipeline(transaction=True) as pipe:
            pipe.hmget(head_key, "epoch", "seq")
            pipe.zrange(log_key, 0, -1)
            (epoch, seq), entries = pipe.execute()
    finally:
        client.close()
    assert epoch is not None, "the stream has an event log"
    return epoch.decode(), int(seq), [json.loads(raw) for raw in entries]


async def event_log_at(
    cluster: Cluster, user_id: int, seq: int
) -> tuple[str, int, list[dict[str, Any]]]:
    """The event log once its head is at `seq` or past it (read off the event loop)."""
    deadline = time.monotonic() + LOGGED_WITHIN
    while True:
        epoch, head, frames = await asyncio.to_thread(event_log, cluster, user_id)
        if head >= seq or time.monotonic() > deadline:
            return epoch, head, frames
        await asyncio.sleep(0.05)


def demo_of(data: dict[str, Any]) -> dict[str, Any] | None:
    return next((u for u in data["users"] if u["username"] == "demo"), None)


def link_of(user: dict[str, Any] | None, broker: str) -> dict[str, Any] | None:
    if user is None:
        return None
    return next((link for link in user["links"] if link["broker"] == broker), None)


async def test_the_non_owner_serves_the_cluster_view(cluster: Cluster):
    """Two tabs on A, one on B: the non-owner's view names the owner's pid, both tab
    counts and the event log's head; Tradier's account polls failing (a credential-scoped
    500) show that link failing with its error and reconnects, alone under the filter;
    it heals when the broker answers again, keeping its last error."""
    demo = cookie(cluster)
    tabs: list[Tab] = [
        await live_tab(cluster.a, demo),
        await live_tab(cluster.a, demo),
        await live_tab(cluster.b, demo),
    ]
    owner, other = cluster.owner_and_other()
    staff = other.login("admin", "admin-sandbox")
    trader = other.login("demo", "demo-sandbox")
    control = cluster.sandbox.control()
    try:
        assert trader.get("/ops/streams.json").status_code == 403

        def settled(data: dict[str, Any]) -> bool:
            user = demo_of(data)
            return bool(
                user
                and user["owner"]
                and {p["pid"]: p["tabs"] for p in user["tabs"]}
                == {cluster.a.pid: 2, cluster.b.pid: 1}
                and all(link["state"] == "live" for link in user["links"])
            )

        data = await view_until(staff, settled, what="owner, tabs and live links")
        assert data["served_by"]["pid"] == other.pid
        assert data["mode"] == "cluster"
        user = demo_of(data)
        assert user["owner"]["pid"] == owner.pid == cluster.owner_pid()
        assert user["tabs_total"] == 3
        assert sorted(link["broker"] for link in user["links"]) == [
            "alpaca",
            "tastytrade",
            "tradier",
        ]
        # the report's position is the stream's: the event log numbers every account frame
        # of the epoch once, from 1, none skipped; the report names the last one numbered
        # when it was written (the frames up to it were numbered at or before `reported_at`,
        # those after it at or after: the owner reads both in one step of its event loop)
        epoch, head, frames = await event_log_at(cluster, user["id"], user["seq"])
        assert epoch == user["epoch"]
        assert frames, "the live links' balances and positions were numbered"
        assert [(f["epoch"], f["seq"]) for f in frames] == [
            (epoch, n) for n in range(1, head + 1)
        ], "every seq of the epoch once, in order, none skipped"
        assert 1 <= user["seq"] <= head, (user["seq"], head)
        numbered = [f["t"] for f in frames[: user["seq"]]]
        later = [f["t"] for f in frames[user["seq"] :]]
        assert max(numbered) <= user["reported_at"] <= min(later, default=user["reported_at"]), (
            f"seq {user['seq']} reported at {user['reported_at']}; frames numbered at "
            f"{[(f['seq'], f['t']) for f in frames[max(0, user['seq'] - 3) : user['seq'] + 3]]}"
        )
        tt = link_of(user, "tastytrade")
        assert tt["quote_source"] is True
        assert tt["token_expires_at"] > data["now"]
        assert data["now"] - tt["last_data_at"] < 5_000
        page = staff.get("/ops/streams/")
        assert page.status_code == 200
        assert f'"pid": {owner.pid}' in page.text  # the embedded data names the owner

        began = data["now"]
        control.fault(
            "http_error",
            broker="tradier",
            credential=DEMO_TRADIER,
            status=500,
            path_prefix="/v1/accounts",
            count=None,
        )

        def tradier_failing(data: dict[str, Any]) -> bool:
            link = link_of(demo_of(data), "tradier")
            return bool(link and link["failing"] and link["kinds"]["account"]["reconnects"] >= 1)

        data = await view_until(staff, tradier_failing, within=30, what="tradier failing")
        print(f"failing in the view after {(data['now'] - began) / 1000:.1f} s")
        tradier = link_of(demo_of(data), "tradier")
        account = tradier["kinds"]["account"]
        assert tradier["state"] in ("stale", "reconnecting")
        assert account["state"] == tradier["state"]
        assert "500" in account["last_error"]
        assert account["last_error_at"] >= began
        assert tradier["reconnects"] >= 1
        assert tradier["admin_url"] == f"/admin/accounts/brokerlink/{tradier['id']}/change/"
        assert link_of(demo_of(data), "tastytrade")["failing"] is False

        only = await view_until(staff, tradier_failing, failing=True, what="filtered")
        assert [link["broker"] for link in demo_of(only)["links"]] == ["tradier"]

        control.clear_faults()
        cleared = time.time() * 1000
        healed = await view_until(
            staff,
            lambda d: link_of(demo_of(d), "tradier")["state"] == "live",
            within=45,
            what="tradier healed",
        )
        tradier = link_of(demo_of(healed), "tradier")
        print(f"healed in the view after {(healed['now'] - cleared) / 1000:.1f} s")
        assert tradier["failing"] is False
        assert "500" in tradier["kinds"]["account"]["last_error"]  # kept after healing
        assert tradier["kinds"]["account"]["reconnects"] >= account["reconnects"]
        empty = await view_until(staff, lambda d: True, failing=True)
        assert demo_of(empty) is None
    finally:
        control.close()
        staff.close()
        trader.close()
        for tab in tabs:
            await tab.close()
