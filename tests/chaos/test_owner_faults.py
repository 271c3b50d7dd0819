"""Process and Redis faults during fills: every fill reaches every open tab exactly
once, positions stay contiguous within an epoch, nobody sees another user's data."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import time

import redis

from sandbox.core.credentials import credential_id
from tests.chaos.conftest import (
    DEMO_ALPACA,
    DEMO_TRADIER,
    DEMO_TT,
    Tabs,
    add_trader,
    tastytrade_link,
)
from tests.support.clients import StreamClient
from tests.support.cluster import Cluster, SessionWatch
from tests.support.orders import market_buy

#: The second trader's tastytrade refresh token at the sandbox (any token opens an account).
SECOND_TOKEN = "second-refresh-token"
#: No open tab goes longer than this without a frame while connected (quotes flow at
#: 10 ticks/s; the longest planned outage is an owner's lease expiring).
SILENCE_BOUND = 10.0


def accounts_of(control, *credentials: str) -> set[str]:
    """The sandbox accounts behind these credentials (all of a trader's links)."""
    state = control.state()["credentials"]
    return {a for c in credentials for a in state.get(c, {}).get("accounts", [])}


def holder(cluster: Cluster) -> int | None:
    """The pid holding the demo trader's lease now (None while nobody does)."""
    value = redis.Redis.from_url(cluster.redis.url).get("sd:lease:user:1")
    return int(value.decode().split(":")[1]) if value and value != b"released" else None


def demo_accounts(control) -> set[str]:
    return accounts_of(control, DEMO_TT, DEMO_ALPACA, DEMO_TRADIER)


async def wait_for_log(app, text: str, within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while text not in app.log_path.read_text():
        assert time.monotonic() < deadline, f"{text!r} not logged in {within} s"
        await asyncio.sleep(0.1)


def assert_clean(tab: StreamClient) -> None:
    assert tab.violations == [], tab.name
    assert tab.foreign == set(), tab.name
    # within each epoch the applied seqs are contiguous (a reconnect may resume or resync)
    by_epoch: dict[str | None, list[int]] = {}
    for epoch, seq in tab.applied:
        by_epoch.setdefault(epoch, []).append(seq)
    for epoch, seqs in by_epoch.items():
        assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs), (tab.name, epoch)


async def test_owner_killed_during_a_fill(cluster: Cluster, tabs: Tabs):
    cookie = cluster.cookie()
    await tabs.ws(cluster.a, cookie, "owner-ws")
    owner, survivor = cluster.owner_and_other()
    control = cluster.sandbox.control()
    own = demo_accounts(control)
    watching = [
        await tabs.ws(survivor, cookie, "ws", own_accounts=own),
        await tabs.sse(survivor, cookie, "sse", own_accounts=own),
    ]
    link = tastytrade_link(cluster.a)
    account = sorted(accounts_of(control, DEMO_TT))[0]
    placed = control.place_order(account, market_buy("XLF", 5))["order"]["id"]
    owner.kill()  # while the order is still working its way to a fill
    for tab in watching:
        await tab.wait_for(lambda t=tab: t.filled_quantity(link, placed) == 5, within=30)
        assert_clean(tab)
        assert tab.max_silence() <= SILENCE_BOUND, tab.name
    control.close()


async def test_redis_restart_during_a_fill(cluster: Cluster, tabs: Tabs):
    cookie = cluster.cookie()
    first = await tabs.ws(cluster.a, cookie, "owner-ws")
    _, other = cluster.owner_and_other()
    control = cluster.sandbox.control()
    own = demo_accounts(control)
    first.own_accounts = own
    watching = [
        first,
        await tabs.ws(other, cookie, "ws", own_accounts=own),
        await tabs.sse(other, cookie, "sse", own_accounts=own),
    ]
    link = tastytrade_link(cluster.a)
    account = sorted(accounts_of(control, DEMO_TT))[0]
    placed = control.place_order(account, market_buy("XLF", 4))["order"]["id"]
    cluster.redis.restart(down_for=1.0)
    for tab in watching:
        await tab.wait_for(lambda t=tab: t.filled_quantity(link, placed) == 4, within=30)
    after = control.place_order(account, market_buy("XLE", 2))["order"]["id"]
    for tab in watching:
        await tab.wait_for(lambda t=tab: t.filled_quantity(link, after) == 2, within=30)
        assert_clean(tab)
    # the owner's own tabs got every frame directly: they never had to reconnect
    assert len(first.segments) == 1
    control.close()


async def test_a_redis_outage_is_waited_out_quietly(cluster: Cluster, tabs: Tabs):
    """Redis down for 6 s: tabs on the owner keep streaming (fills included) without
    reconnecting, tabs elsewhere back off (1013) instead of looping, and each process
    logs the outage once, not a traceback per attempt."""
    cookie = cluster.cookie()
    first = await tabs.ws(cluster.a, cookie, "owner-ws")
    owner, other = cluster.owner_and_other()
    control = cluster.sandbox.control()
    link = tastytrade_link(cluster.a)
    account = sorted(accounts_of(control, DEMO_TT))[0]
    remote = await tabs.ws(other, cookie, "remote")
    cluster.redis._process.terminate()
    cluster.redis._process.wait(timeout=10)
    down = time.monotonic()
    try:
        placed = control.place_order(account, market_buy("XLF", 3))["order"]["id"]
        await first.wait_for(lambda: first.filled_quantity(link, placed) == 3, within=15)
        newcomer = await asyncio.wait_for(_open_while_down(tabs, owner, cookie), 10)
        await asyncio.sleep(max(0.0, 6.0 - (time.monotonic() - down)))  # the outage itself
    finally:
        cluster.redis._start()
    await remote.wait_for(lambda: remote.filled_quantity(link, placed) == 3, within=30)
    assert len(first.segments) == 1, "the owner's tab never reconnected"
    assert len(newcomer.segments) <= 3, "a new tab on the owner did not loop"
    assert len(remote.segments) <= 4, f"the remote tab reconnected {len(remote.segments)} times"
    for tab in (first, remote):
        assert_clean(tab)
    for app in cluster.apps:
        log = app.log_path.read_text()
        assert "Traceback" not in log, log[-3000:]
        assert len(re.findall("Redis unavailable", log)) <= 2
    control.close()


async def _open_while_down(tabs: Tabs, app, cookie: str) -> StreamClient:
    return await tabs.ws(app, cookie, "newcomer")


async def test_two_users_sse_and_ws_on_both_processes(cluster: Cluster, tabs: Tabs):
    add_trader(cluster.a, "second", SECOND_TOKEN)
    demo, second = cluster.cookie(), cluster.cookie("second", "pw-second")
    control = cluster.sandbox.control()
    opened: dict[str, list[StreamClient]] = {"demo": [], "second": []}
    for user, cookie in (("demo", demo), ("second", second)):
        for app in cluster.apps:
            opened[user].append(await tabs.ws(app, cookie, f"{user}-ws"))
            opened[user].append(await tabs.sse(app, cookie, f"{user}-sse"))
    second_tt = credential_id(SECOND_TOKEN)
    own = {"demo": demo_accounts(control), "second": accounts_of(control, second_tt)}
    assert own["demo"] and own["second"] and own["demo"].isdisjoint(own["second"])
    for user, tabs_of_user in opened.items():
        for tab in tabs_of_user:  # what they saw so far, and everything from now on
            tab.own_accounts = own[user]
            for account in tab.seen_accounts:
                tab._check_account(account)
    fills = {
        "demo": (tastytrade_link(cluster.a, "demo"), sorted(accounts_of(control, DEMO_TT))[0]),
        "second": (
            tastytrade_link(cluster.a, "second"),
            sorted(accounts_of(control, second_tt))[0],
        ),
    }
    placed = {}
    for user, (_, account) in fills.items():
        placed[user] = [
            control.place_order(account, market_buy(symbol, 1))["order"]["id"]
            for symbol in ("XLF", "XLE", "XLK")
        ]
    for user, tabs_of_user in opened.items():
        link, _ = fills[user]
        for tab in tabs_of_user:
            for order_id in placed[user]:
                await tab.wait_for(
                    lambda t=tab, o=order_id, k=link: t.filled_quantity(k, o) == 1, within=20
                )
            assert_clean(tab)
            assert tab.max_silence() <= SILENCE_BOUND
    control.close()


async def test_a_paused_owner_stops_its_broker_sessions_on_resume(cluster: Cluster, tabs: Tabs):
    """SIGSTOP the owner until another process took over; on SIGCONT the old owner checks
    its lease before any broker or channel-layer I/O and lets its sessions go within 1 s
    (while it is frozen nothing can close them: docs/streaming.md)."""
    cookie = cluster.cookie()
    await tabs.ws(cluster.a, cookie, "a")
    await tabs.ws(cluster.b, cookie, "b")
    owner, other = cluster.owner_and_other()
    control = cluster.sandbox.control()

    def sessions() -> tuple[int, int]:
        entry = control.state()["credentials"].get(DEMO_TT, {})
        return len(entry.get("dxlink", [])), len(entry.get("streamer", []))

    # the owner holds both of its broker sessions before it freezes (frozen mid-handshake,
    # it would hold only one, and the new owner's would then be the only DXLink session)
    deadline = time.monotonic() + 20
    while sessions() != (1, 1):
        assert time.monotonic() < deadline, f"the owner connected: {sessions()}"
        await asyncio.sleep(0.05)
    os.kill(owner.pid, signal.SIGSTOP)
    try:
        deadline = time.monotonic() + 20
        while holder(cluster) != other.pid:
            assert time.monotonic() < deadline, "another process took over"
            await asyncio.sleep(0.1)
        while sessions() != (2, 2):  # the new owner's sessions beside the frozen ones
            assert time.monotonic() < deadline, f"the new owner connected: {sessions()}"
            await asyncio.sleep(0.1)
    finally:
        os.kill(owner.pid, signal.SIGCONT)
    resumed = time.monotonic()
    while "lease lost" not in owner.log_path.read_text():
        assert time.monotonic() - resumed < 1.0, "the resumed owner checked its lease"
        await asyncio.sleep(0.02)
    while sessions()[0] > 1 or sessions()[1] > 1:
        assert time.monotonic() - resumed < 1.0, f"still {sessions()} after resume"
        await asyncio.sleep(0.02)
    # the new owner streams on, alone
    with SessionWatch(control, DEMO_TT) as watch:
        deadline = time.monotonic() + 20
        while sessions() != (1, 1):
            assert time.monotonic() < deadline, f"the new owner connected: {sessions()}"
            await asyncio.sleep(0.1)
    assert watch.max_dxlink <= 1 and watch.max_streamer <= 1
    assert holder(cluster) == other.pid
    control.close()


async def test_relays_on_the_other_process_heal_after_redis_restarts(cluster: Cluster, tabs: Tabs):
    """Several users owned by one process, each with a tab on the other (a relay); Redis
    restarts (empty) three times. After each restart every relay is live again, a new tab
    opened there gets its snapshot from the owner, and a fill placed afterwards reaches
    every tab exactly once (the soak found relays left without a snapshot for good)."""
    control = cluster.sandbox.control()
    names = [f"relay{i}" for i in range(5)]
    for name in names:
        add_trader(cluster.a, name, f"{name}-refresh-token")
    users = [("demo", cluster.cookie(), DEMO_TT)] + [
        (name, cluster.cookie(name, f"pw-{name}"), credential_id(f"{name}-refresh-token"))
        for name in names
    ]
    owned: list[StreamClient] = []
    relays: list[StreamClient] = []
    links: dict[str, int] = {}
    for name, cookie, credential in users:
        own = demo_accounts(control) if name == "demo" else accounts_of(control, credential)
        owned.append(await tabs.ws(cluster.a, cookie, f"{name}-a", own_accounts=own))
        relays.append(await tabs.ws(cluster.b, cookie, f"{name}-b", own_accounts=own))
        links[name] = tastytrade_link(cluster.a, name)
    leases = redis.Redis.from_url(cluster.redis.url).keys("sd:lease:user:*")
    assert len(leases) == len(users)
    for key in leases:  # every stream is A's: B only relays
        assert cluster.owner_pid(int(key.rsplit(b":", 1)[1])) == cluster.a.pid, key
    for round_ in range(3):
        cluster.redis.restart(down_for=1.0)
        for tab in owned + relays:
            await tab.wait_live(within=30)
        newcomers = [
            await tabs.ws(cluster.b, cookie, f"{name}-new{round_}") for name, cookie, _ in users
        ]
        for (name, _, credential), *watching in zip(users, owned, relays, newcomers, strict=True):
            account = sorted(accounts_of(control, credential))[0]
            placed = control.place_order(account, market_buy("XLF", 1))["order"]["id"]
            for tab in watching:
                await tab.wait_for(
                    lambda t=tab, n=name, p=placed: t.filled_quantity(links[n], p) == 1,
                    within=30,
                )
                assert_clean(tab)
        for tab in newcomers:
            await tab.stop()
    control.close()


async def test_an_owner_keeps_answering_after_a_reply_found_a_full_channel(
    cluster: Cluster, tabs: Tabs
):
    """The owner's reply to a tab finds the tab's process inbox full (that process was
    paused and its messages piled up: channels-redis refuses with ChannelFull). The reply
    is dropped (the tab asks again), and the owner keeps answering: a tab opened there
    later gets its snapshot (the soak found a user's relays left without one for good)."""
    from channels_redis.core import RedisChannelLayer

    cookie = cluster.cookie()
    await tabs.ws(cluster.a, cookie, "owner-ws")
    owner, other = cluster.owner_and_other()
    await tabs.ws(other, cookie, "relay")
    store = redis.Redis.from_url(cluster.redis.url)
    members = [m.decode() for m in store.zrange("asgi:group:user.1", 0, -1)]
    assert len(members) == 1  # the relay process's fan-out channel
    inbox = members[0].split("!")[0] + "!"
    layer = RedisChannelLayer(hosts=[cluster.redis.url], capacity=10**6)
    os.kill(other.pid, signal.SIGSTOP)
    try:
        for _ in range(1000):  # the servers' capacity: the inbox is full for the owner
            await layer.send(f"{inbox}nobody", {"type": "filler"})
        # a tab in the paused process asked for a snapshot just before
        await layer.group_send(
            "owner.1", {"type": "snapshot.request", "reply": f"{inbox}nobody", "symbols": []}
        )
        await wait_for_log(owner, "stream.snapshot to a tab dropped")
    finally:
        os.kill(other.pid, signal.SIGCONT)
        await layer.close_pools()
    newcomer = await tabs.ws(other, cookie, "newcomer")
    assert newcomer.snapshots == 1
    log = owner.log_path.read_text()
    assert "Traceback" not in log, log[-3000:]
