"""The staff's stream-health view across two daphne processes: the process that does not
own the stream serves the owner's report, every process's tabs, and a link the broker
breaks as failing (its last error, its reconnects) until it heals."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from sandbox.core.credentials import credential_id
from tests.cluster.conftest import Tab
from tests.cluster.test_cluster import cookie, live_tab
from tests.support.cluster import Cluster, running_cluster

DEMO_TRADIER = credential_id("demo-tradier-token")
#: Tradier's account polls every 2 s: a failing one is seen within seconds.
FAST_POLLS = {"STREAM_ACCOUNT_POLL_INTERVAL": "2", "STREAM_ACCOUNT_HEARTBEAT": "2"}


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
        assert user["epoch"] and user["seq"] >= 0
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
