"""Positions survive what Redis and processes do: the seq of a user's account stream
never silently restarts, so no tab ever drops a fill as a "duplicate"."""

from __future__ import annotations

import asyncio
import time

import pytest
import redis

from tests.chaos.conftest import DEMO_TT, Tabs, tastytrade_link
from tests.support.cluster import Cluster
from tests.support.orders import market_buy


@pytest.fixture
def cluster_env() -> dict[str, str]:
    # no periodic account events of their own: only the test's orders move the seq, so the
    # head is lost exactly when the test loses it
    return {"STREAM_ACCOUNT_POLL_INTERVAL": "600", "STREAM_RECONCILE_INTERVAL": "600"}


@pytest.fixture
def sandbox_config():
    from sandbox.core.config import SandboxConfig

    return SandboxConfig(
        tick_rate=10,
        alpaca_heartbeat_interval=2,
        order_step_interval=0.3,
        balance_push_interval=600,
    )


def lose_head(cluster: Cluster, how: str) -> None:
    """What a trader's deployment does to Redis: restart it empty, or let the key expire."""
    if how == "restart":
        cluster.redis.restart()
        return
    client = redis.Redis.from_url(cluster.redis.url)
    for key in client.scan_iter("sd:*user:1"):
        if not key.startswith(b"sd:lease") and not key.startswith(b"sd:fence"):
            client.delete(key)  # the head (and the log) expired after a day idle


@pytest.mark.parametrize("transport", ["ws", "sse"])
@pytest.mark.parametrize("how", ["restart", "expiry"])
async def test_a_fill_after_the_head_was_lost_and_the_owner_died_reaches_the_tab(
    cluster: Cluster, tabs: Tabs, how: str, transport: str
):
    """Redis loses the stream's head (restart or expiry), then the owner is killed: the new
    owner cannot continue the old seqs, and a tab on the surviving process that had already
    applied seq N still gets the next fill, exactly once, with no duplicate or gap."""
    cookie = cluster.cookie()
    first = await tabs.ws(cluster.a, cookie, "first")  # makes process a the owner
    owner, survivor = cluster.owner_and_other()
    opener = tabs.sse if transport == "sse" else tabs.ws
    tab = await opener(survivor, cookie, "survivor")
    control = cluster.sandbox.control()
    link = tastytrade_link(cluster.a)
    account = sorted(control.state()["credentials"][DEMO_TT]["accounts"])[0]
    for _ in range(3):  # move the seq on, so that a restart at 0 would look like old frames
        placed = control.place_order(account, market_buy())["order"]["id"]
        await tab.wait_for(lambda o=placed: tab.filled_quantity(link, o) == 1)
    assert tab.seq and tab.seq >= 6

    lose_head(cluster, how)
    if how == "restart":  # the owner notices the restart and puts its head back
        store = redis.Redis.from_url(cluster.redis.url)
        deadline = time.monotonic() + 10
        while not store.exists("sd:head:user:1"):
            assert time.monotonic() < deadline, "the owner restored the stream's head"
            await asyncio.sleep(0.05)
    owner.kill()
    placed = control.place_order(account, market_buy("XLF", 7))["order"]["id"]
    await tab.wait_for(lambda: tab.filled_quantity(link, placed) == 7, within=30)
    assert tab.order(link, placed)["status"] == "Filled"
    assert tab.violations == []
    assert not tab.foreign
    await first.stop()
    control.close()


async def test_the_page_position_after_an_epoch_change_gets_a_snapshot(
    cluster: Cluster, tabs: Tabs
):
    """The page embeds its snapshot's position; if the stream moves to a new epoch before
    the socket connects, the socket gets a fresh snapshot (not a resume from a seq of
    another run), and later fills arrive."""
    cookie = cluster.cookie()
    await tabs.ws(cluster.a, cookie, "keeper")
    owner, survivor = cluster.owner_and_other()
    control = cluster.sandbox.control()
    link = tastytrade_link(cluster.a)
    account = sorted(control.state()["credentials"][DEMO_TT]["accounts"])[0]
    for _ in range(2):
        placed = control.place_order(account, market_buy())["order"]["id"]
        await tabs.all[0].wait_for(lambda o=placed: tabs.all[0].filled_quantity(link, o) == 1)
    page = survivor.login("demo", "demo-sandbox").get("/")
    import json
    import re

    embedded = json.loads(
        re.search(r'<script id="snapshot" type="application/json">(.*?)</script>', page.text, re.S)[
            1
        ]
    )
    lose_head(cluster, "expiry")
    owner.kill()
    from tests.support.clients import WsClient

    tab = WsClient(survivor.url, cookie, name="page")
    tab.epoch, tab.seq = embedded.get("epoch"), embedded["seq"]
    tabs.all.append(tab.start())
    await tab.wait_live(within=30)
    placed = control.place_order(account, market_buy("XLE", 3))["order"]["id"]
    await tab.wait_for(lambda: tab.filled_quantity(link, placed) == 3, within=30)
    assert tab.snapshots >= 1 and tab.violations == []
    control.close()
