"""Process and Redis faults during fills: every fill reaches every open tab exactly
once, positions stay contiguous within an epoch, nobody sees another user's data."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import time

import pytest
import redis
from django.conf import settings

from sandbox.core.credentials import credential_id
from streaming.contract.close_codes import (
    CLOSE_RESYNC,
    CLOSE_SERVICE_RESTART,
    CLOSE_TRY_AGAIN_LATER,
)
from tests.chaos.conftest import (
    DEMO_TT,
    LINKS_WITHIN,
    Tabs,
    accounts_of,
    add_trader,
    linked_demo_accounts,
    tastytrade_link,
)
from tests.support.clients import StreamClient, WsClient
from tests.support.cluster import FAST_CLUSTER, Cluster, SessionWatch
from tests.support.orders import market_buy

#: The second trader's tastytrade refresh token at the sandbox (any token opens an account).
SECOND_TOKEN = "second-refresh-token"
# The bounds below come from the daphne processes' configuration (FAST_CLUSTER) and the
# paths in streaming/cluster/lease.py, agent.py, agents.py and redis/health.py.
LEASE_TTL = float(FAST_CLUSTER["STREAM_LEASE_TTL"])
LEASE_RENEW = float(FAST_CLUSTER["STREAM_LEASE_RENEW"])
HANDOVER_DELAY = float(FAST_CLUSTER["STREAM_HANDOVER_DELAY"])
#: An owner that died (or froze) is replaced after: its lease expires (up to a TTL after
#: its last renewal), another agent's next renewal tick finds the key free (one period;
#: right after Redis trouble it takes a free key only once seen free for claim_delay, two
#: periods more: agents.py), then it waits the handover delay before connecting.
TAKEOVER = LEASE_TTL + LEASE_RENEW + 2 * LEASE_RENEW + HANDOVER_DELAY
#: What no configuration bounds: a manager's start (broker logins and stream handshakes
#: with the sandbox, the first snapshot to the tabs) and the scheduling of three Python
#: processes on a loaded 2-core box. A busy run took ~8.5 s beyond the lease path (a
#: 14 s silence): this is that, with room to spare.
START_MARGIN = 15.0
#: A tab's longest wait between reconnect attempts (tests/support/clients.py backs off
#: up to 5 s after a 4503 or a connection that never got a frame).
RECONNECT_CAP = 5.0
#: No open tab goes longer than this without a frame while connected (quotes flow at
#: 10 ticks/s; the longest planned outage is an owner's lease expiring).
SILENCE_BOUND = TAKEOVER + START_MARGIN
#: A fill reaches every tab after a fault: the stream is back (a takeover, or a Redis
#: restart and the tabs' reconnects), then the new owner's order poll sees the fill.
FILL_WITHIN = TAKEOVER + RECONNECT_CAP + settings.STREAM_ORDER_POLL_INTERVAL + START_MARGIN
#: A resumed ex-owner's lease loop is overdue at SIGCONT (it sleeps at most one renewal
#: period) and then makes one Redis round trip and closes two sockets; the margin is for
#: a process waking to a backlog of overdue timers on a loaded box. It stays under the
#: lease TTL: an owner that waited for its own lease to lapse would take that long.
RESUME_BOUND = LEASE_RENEW + 1.5
assert RESUME_BOUND < LEASE_TTL
#: Before a test's own deadlines: PostgreSQL and the daphne processes each get 30 s to
#: come up (tests/support/postgres_server.py, live.py); after them, stopping them (10 s).
CLUSTER_SETUP, CLUSTER_TEARDOWN = 60.0, 10.0


def budget(*deadlines: float) -> pytest.MarkDecorator:
    """A pytest timeout above the sum of the test's own deadlines and the cluster's
    start and stop: a test that is too slow fails on its own message first."""
    return pytest.mark.timeout(int(CLUSTER_SETUP + sum(deadlines) + CLUSTER_TEARDOWN) + 1)


def left(deadline: float) -> float:
    """Seconds to a deadline shared by several waits (each is at least a moment)."""
    return max(0.01, deadline - time.monotonic())


def holder(cluster: Cluster) -> int | None:
    """The pid holding the demo trader's lease now (None while nobody does)."""
    value = redis.Redis.from_url(cluster.redis.url).get("sd:lease:user:1")
    return int(value.decode().split(":")[1]) if value and value != b"released" else None


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


# three tabs opened (Tabs waits 20 s for each), every link connected, the fill
@budget(3 * 20.0, LINKS_WITHIN, FILL_WITHIN)
async def test_owner_killed_during_a_fill(cluster: Cluster, tabs: Tabs):
    cookie = cluster.cookie()
    await tabs.ws(cluster.a, cookie, "owner-ws")
    owner, survivor = cluster.owner_and_other()
    control = cluster.sandbox.control()
    own = await linked_demo_accounts(control)
    watching = [
        await tabs.ws(survivor, cookie, "ws", own_accounts=own),
        await tabs.sse(survivor, cookie, "sse", own_accounts=own),
    ]
    link = tastytrade_link(cluster.a)
    account = sorted(accounts_of(control, DEMO_TT))[0]
    placed = control.place_order(account, market_buy("XLF", 5))["order"]["id"]
    owner.kill()  # while the order is still working its way to a fill
    deadline = time.monotonic() + FILL_WITHIN
    for tab in watching:
        await tab.wait_for(lambda t=tab: t.filled_quantity(link, placed) == 5, left(deadline))
        assert_clean(tab)
        assert tab.max_silence() <= SILENCE_BOUND, tab.name
    control.close()


# three tabs, every link connected, Redis down 1 s, two fills
@budget(3 * 20.0, LINKS_WITHIN, 1.0, 2 * FILL_WITHIN)
async def test_redis_restart_during_a_fill(cluster: Cluster, tabs: Tabs):
    cookie = cluster.cookie()
    first = await tabs.ws(cluster.a, cookie, "owner-ws")
    _, other = cluster.owner_and_other()
    control = cluster.sandbox.control()
    own = await linked_demo_accounts(control)
    first.own(own)
    watching = [
        first,
        await tabs.ws(other, cookie, "ws", own_accounts=own),
        await tabs.sse(other, cookie, "sse", own_accounts=own),
    ]
    link = tastytrade_link(cluster.a)
    account = sorted(accounts_of(control, DEMO_TT))[0]
    placed = control.place_order(account, market_buy("XLF", 4))["order"]["id"]
    cluster.redis.restart(down_for=1.0)
    deadline = time.monotonic() + FILL_WITHIN
    for tab in watching:
        await tab.wait_for(lambda t=tab: t.filled_quantity(link, placed) == 4, left(deadline))
    after = control.place_order(account, market_buy("XLE", 2))["order"]["id"]
    deadline = time.monotonic() + FILL_WITHIN
    for tab in watching:
        await tab.wait_for(lambda t=tab: t.filled_quantity(link, after) == 2, left(deadline))
        assert_clean(tab)
    # the owner's own tabs got every frame directly: they never had to reconnect
    assert len(first.segments) == 1
    control.close()


#: How long Redis stays down in the outage test (at least: the steps taken while it is
#: down may take longer on a loaded box).
OUTAGE = 6.0
#: An owner's fill reaches its tabs by its order poll; the rest is the margin.
OWNER_FILL_WITHIN = settings.STREAM_ORDER_POLL_INTERVAL + START_MARGIN
#: Close codes a streaming tab may be ended with once when Redis comes back (its relay
#: missed frames: 4409, a new snapshot; or its channel layer reconnected: 1012).
RECOVERY_CLOSES = {CLOSE_RESYNC, CLOSE_SERVICE_RESTART}


def backoff_attempts(window: float) -> int:
    """The most connection attempts a tab backing off (tests/support/clients.py: 0.5 s,
    doubling, up to RECONNECT_CAP after a refusal) can start within `window` seconds."""
    attempts, spent, delay = 1, 0.0, 0.5
    while spent + delay <= window:
        attempts, spent, delay = attempts + 1, spent + delay, min(RECONNECT_CAP, delay * 2)
    return attempts


def assert_backed_off(tab: StreamClient) -> None:
    """Every refusal (4503) came before the tab's first frame on that connection, so the tab
    backed off (a frame first would reset its backoff: a loop); so their number is what its
    backoff fits between the first refused attempt and the last."""
    refused = [s for s in tab.segments if s.code == CLOSE_TRY_AGAIN_LATER]
    assert all(s.first_frame is None for s in refused), (tab.name, tab.segments)
    if refused:
        window = refused[-1].opened - refused[0].opened
        assert len(refused) <= backoff_attempts(window), (tab.name, window, tab.segments)


def streamed_then_closed(tab: StreamClient) -> list[int | None]:
    """The close codes of the connections that had streamed (got a frame) and were ended."""
    return [s.code for s in tab.segments if s.first_frame is not None and s.closed is not None]


# four tabs opened before; while down a newcomer opens and one elsewhere is refused
# (START_MARGIN each); the owner's fill; after: the one elsewhere back, the remote's fill
@budget(4 * 20.0, 2 * START_MARGIN, OWNER_FILL_WITHIN, OUTAGE, 2 * FILL_WITHIN)
async def test_a_redis_outage_is_waited_out_quietly(cluster: Cluster, tabs: Tabs):
    """Redis down for 6 s: tabs on the owner keep streaming (fills included) without
    reconnecting, tabs elsewhere back off (4503) instead of looping, and each process
    logs the outage once, not a traceback per attempt."""
    cookie = cluster.cookie()
    # the first tab makes the stream start; whichever process's agent took the lease owns
    # it (not always the one the tab is on): the owner's tab is opened on the owner
    await tabs.ws(cluster.a, cookie, "opener")
    owner, other = cluster.owner_and_other()
    first = await tabs.ws(owner, cookie, "owner-ws")
    control = cluster.sandbox.control()
    link = tastytrade_link(cluster.a)
    account = sorted(accounts_of(control, DEMO_TT))[0]
    remote = await tabs.ws(other, cookie, "remote")
    assert cluster.owner_and_other()[0] is owner, "the owner did not change meanwhile"
    cluster.redis.stop_process()
    down = time.monotonic()
    try:
        placed = control.place_order(account, market_buy("XLF", 3))["order"]["id"]
        await first.wait_for(
            lambda: first.filled_quantity(link, placed) == 3, within=OWNER_FILL_WITHIN
        )
        newcomer = await asyncio.wait_for(_open_while_down(tabs, owner, cookie), START_MARGIN)
        # a tab opened elsewhere cannot reach the stream: it is told to come back later
        elsewhere = WsClient(other.url, cookie, name="elsewhere").start()
        tabs.all.append(elsewhere)
        await elsewhere.wait_for(lambda: elsewhere.closes(), within=START_MARGIN)
        assert elsewhere.closes()[0] == CLOSE_TRY_AGAIN_LATER
        await asyncio.sleep(max(0.0, OUTAGE - (time.monotonic() - down)))  # the outage itself
    finally:
        cluster.redis.start_process()
    await remote.wait_for(lambda: remote.filled_quantity(link, placed) == 3, within=FILL_WITHIN)
    await elsewhere.wait_live(within=FILL_WITHIN)
    # it backed off: every attempt while Redis was away was refused with 4503 before a
    # frame, no more of them than its backoff fits in the time it was refused
    assert set(elsewhere.closes()) == {CLOSE_TRY_AGAIN_LATER}, elsewhere.closes()
    for tab in (elsewhere, newcomer, remote):
        assert_backed_off(tab)
    assert len(first.segments) == 1, "the owner's tab never reconnected"
    # a tab on the owner, once streaming, is never ended by the outage
    assert streamed_then_closed(newcomer) == [], newcomer.segments
    # a remote tab is ended at most once, when Redis is back (one recovery per process:
    # the outage is logged once), with a code that reconnects at once, not a loop
    ended = streamed_then_closed(remote)
    assert len(ended) <= 1 and set(ended) <= RECOVERY_CLOSES, remote.segments
    for tab in (first, remote):
        assert_clean(tab)
    for app in cluster.apps:
        log = app.log_path.read_text()
        assert "Traceback" not in log, log[-3000:]
        # the outage, logged once by each process (both had an agent failing to renew)
        assert len(re.findall("Redis unavailable", log)) == 1, (app.pid, log[-3000:])
    control.close()


async def _open_while_down(tabs: Tabs, app, cookie: str) -> StreamClient:
    return await tabs.ws(app, cookie, "newcomer")


# eight tabs opened, every link connected; three fills per user, under way together
@budget(8 * 20.0, LINKS_WITHIN, FILL_WITHIN)
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
    own = {"demo": await linked_demo_accounts(control), "second": accounts_of(control, second_tt)}
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
    deadline = time.monotonic() + FILL_WITHIN
    for user, tabs_of_user in opened.items():
        link, _ = fills[user]
        for tab in tabs_of_user:
            for order_id in placed[user]:
                await tab.wait_for(
                    lambda t=tab, o=order_id, k=link: t.filled_quantity(k, o) == 1,
                    left(deadline),
                )
            assert_clean(tab)
            assert tab.max_silence() <= SILENCE_BOUND
    control.close()


# two tabs; the owner connected; the takeover; the resume; the new owner watched
@budget(2 * 20.0, START_MARGIN, SILENCE_BOUND, 2 * RESUME_BOUND, SILENCE_BOUND)
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
    deadline = time.monotonic() + START_MARGIN
    while sessions() != (1, 1):
        assert time.monotonic() < deadline, f"the owner connected: {sessions()}"
        await asyncio.sleep(0.05)
    os.kill(owner.pid, signal.SIGSTOP)
    try:
        # a frozen owner stops renewing: the takeover path of a dead one
        deadline = time.monotonic() + SILENCE_BOUND
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
        assert time.monotonic() - resumed < RESUME_BOUND, "the resumed owner checked its lease"
        await asyncio.sleep(0.02)
    while sessions()[0] > 1 or sessions()[1] > 1:
        assert time.monotonic() - resumed < RESUME_BOUND, f"still {sessions()} after resume"
        await asyncio.sleep(0.02)
    # the new owner streams on, alone: watched for a while (more than 10 samples), its
    # sessions never beside another's
    with SessionWatch(control, DEMO_TT) as watch:
        deadline = time.monotonic() + SILENCE_BOUND
        while sessions() != (1, 1) or watch.samples <= 10:
            assert time.monotonic() < deadline, f"the new owner streams: {sessions()}"
            await asyncio.sleep(0.1)
    assert watch.samples > 10 and (watch.max_dxlink, watch.max_streamer) == (1, 1)
    assert holder(cluster) == other.pid
    control.close()


#: After a Redis restart the stream is back for every tab: the leases re-claimed carefully
#: (or taken over), each tab reconnected after its backoff.
HEAL = TAKEOVER + RECONNECT_CAP + START_MARGIN
RESTARTS = 3


# twelve tabs opened; per restart: down 1 s, the tabs healed, the newcomers opened
# together (20 s), the fills under way together (the manage.py calls are not summed:
# each has its own 120 s timeout, a different failure)
@budget(12 * 20.0, LINKS_WITHIN, RESTARTS * (1.0 + HEAL + 20.0 + FILL_WITHIN))
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
    for name, cookie, _ in users:
        owned.append(await tabs.ws(cluster.a, cookie, f"{name}-a"))
        relays.append(await tabs.ws(cluster.b, cookie, f"{name}-b"))
        links[name] = tastytrade_link(cluster.a, name)
    # each tab's user's accounts, once every link has connected (what it saw counts too)
    linked = await linked_demo_accounts(control)
    for (name, _, credential), pair in zip(users, zip(owned, relays, strict=True), strict=True):
        for tab in pair:
            tab.own(linked if name == "demo" else accounts_of(control, credential))
    leases = redis.Redis.from_url(cluster.redis.url).keys("sd:lease:user:*")
    assert len(leases) == len(users)
    for key in leases:  # every stream is A's: B only relays
        assert cluster.owner_pid(int(key.rsplit(b":", 1)[1])) == cluster.a.pid, key
    for round_ in range(RESTARTS):
        cluster.redis.restart(down_for=1.0)
        deadline = time.monotonic() + HEAL
        for tab in owned + relays:
            await tab.wait_live(left(deadline))
        newcomers = await asyncio.gather(
            *(tabs.ws(cluster.b, cookie, f"{name}-new{round_}") for name, cookie, _ in users)
        )
        placed: dict[str, object] = {}
        for name, _, credential in users:
            account = sorted(accounts_of(control, credential))[0]
            placed[name] = control.place_order(account, market_buy("XLF", 1))["order"]["id"]
        deadline = time.monotonic() + FILL_WITHIN
        for (name, _, _), *watching in zip(users, owned, relays, newcomers, strict=True):
            for tab in watching:
                await tab.wait_for(
                    lambda t=tab, n=name, p=placed[name]: t.filled_quantity(links[n], p) == 1,
                    left(deadline),
                )
                assert_clean(tab)
        for tab in newcomers:
            await tab.stop()
    control.close()


@budget(3 * 20.0, 10.0)  # three tabs; the log line awaited (wait_for_log's 10 s)
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
