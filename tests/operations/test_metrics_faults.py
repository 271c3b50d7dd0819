"""The fault metrics move under the real faults that cause them, by exactly what happened.

One cluster for the module (two daphne processes sharing a PROMETHEUS_MULTIPROC_DIR,
Redis, PostgreSQL, the sandbox); every assertion reads `/metrics` over HTTP and compares
a counter's increase across the fault with the number of faults injected, or with the
sandbox's own count of what it did (refusals, token grants). The test that kills a
process runs last and replaces it.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from httpx_sse import aconnect_sse
from prometheus_client.parser import text_string_to_metric_families

from tests.chaos.conftest import DEMO_ALPACA, DEMO_TT, Tabs
from tests.chaos.test_positions import lose_head
from tests.e2e import test_hostile_input as hostile
from tests.e2e.test_sse import read_until
from tests.support.cluster import FAST_CLUSTER, Cluster, running_cluster
from tests.support.live import LiveApp
from tests.support.orders import market_buy
from tests.support.tcp import server_send_queue
from tests.support.wait import wait_until

pytestmark = pytest.mark.redis

TOKEN = "metrics-token-for-fault-tests"

Labels = tuple[tuple[str, str], ...]


def scrape(app: LiveApp) -> dict[tuple[str, Labels], float]:
    """Every sample of one process's /metrics (which adds up all processes')."""
    response = httpx.get(
        f"{app.url}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10
    )
    assert response.status_code == 200, response.text
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def series(samples: dict[tuple[str, Labels], float], name: str, **fixed: str) -> dict:
    """One metric's samples whose labels include `fixed`: {labels as a dict's items: value}."""
    return {
        labels: value
        for (sample, labels), value in samples.items()
        if sample == name and set(fixed.items()) <= set(labels)
    }


def increase(before: dict, after: dict, name: str, **fixed: str) -> dict[Labels, float]:
    """The series of `name` (matching `fixed`) that moved, and by how much."""
    old, new = series(before, name, **fixed), series(after, name, **fixed)
    moved = {labels: value - old.get(labels, 0.0) for labels, value in new.items()}
    return {labels: delta for labels, delta in moved.items() if delta}


def labels(**values: str) -> Labels:
    return tuple(sorted(values.items()))


def reconnects(broker: str, kind: str, reason: str) -> Labels:
    return labels(broker=broker, kind=kind, reason=reason)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory) -> Iterator[Cluster]:
    workdir = tmp_path_factory.mktemp("metrics-faults")
    metrics_dir = workdir / "metrics"
    metrics_dir.mkdir()
    env = {"PROMETHEUS_MULTIPROC_DIR": str(metrics_dir), "METRICS_TOKEN": TOKEN}
    with running_cluster(workdir, **env) as running:
        running.env = env  # type: ignore[attr-defined]
        running.workdir = workdir  # type: ignore[attr-defined]
        yield running


@pytest.fixture
async def tabs() -> Iterator[Tabs]:
    opened = Tabs()
    yield opened
    await opened.stop()


def credential(cluster: Cluster, cred: str) -> dict:
    return cluster.sandbox.control().state()["credentials"].get(cred, {})


def live_links(cluster: Cluster) -> bool:
    """The demo trader's broker sockets are all up (the sandbox sees each one; Tradier
    streams no quotes here: tastytrade's DXLink has every symbol)."""
    credentials = cluster.sandbox.control().state()["credentials"]
    sockets = all(
        len(credentials.get(cred, {}).get(kind, [])) == 1
        for cred, kind in ((DEMO_TT, "dxlink"), (DEMO_TT, "streamer"), (DEMO_ALPACA, "alpaca-sse"))
    )
    links = series(scrape(cluster.b), "streamdesk_links", state="live")
    return sockets and sum(links.values()) == 3


async def streaming(cluster: Cluster, tabs: Tabs, app: LiveApp | None = None):
    """A tab (on process a unless told: a then owns the stream), every link streaming."""
    tab = await tabs.ws(app or cluster.a, cluster.cookie(), f"tab-{len(tabs.all)}")
    await wait_until(lambda: live_links(cluster), within=30, what="every link streaming")
    return tab


async def counted(app: LiveApp, before: dict, name: str, expected: dict, **fixed: str) -> dict:
    """Wait until `name`'s increase since `before` (series matching `fixed`) is `expected`;
    the scrape it was reached in."""
    last: dict = {}

    def reached():
        nonlocal last
        after = scrape(app)
        last = increase(before, after, name, **fixed)
        return after if last == expected else None

    try:
        return await wait_until(reached, within=20, what=f"{name} {fixed} moved by {expected}")
    except AssertionError as exc:
        raise AssertionError(f"{exc}; moved: {last}") from None


RECONNECTS = "streamdesk_broker_reconnects_total"
REFRESHES = "streamdesk_token_refreshes_total"


async def test_drops_silences_and_refusals_count_as_reconnects_by_reason(cluster, tabs):
    """Two DXLink drops: `closed` +2 on tastytrade quotes; a silenced DXLink: `silent` +1
    (the watchdog); Alpaca's event stream dropped and then refused (503) a few times:
    one `closed`… and `server_error` by exactly the refusals the sandbox counted. Each
    tastytrade reconnect took a new token: `ok` refreshes = the grants the sandbox made."""
    await streaming(cluster, tabs)
    control = cluster.sandbox.control()
    before = scrape(cluster.b)
    grants = credential(cluster, DEMO_TT)["refreshes"]
    for n in (1, 2):
        control.fault("drop", target="dxlink", credential=DEMO_TT)
        await counted(
            cluster.b,
            before,
            RECONNECTS,
            {reconnects("tastytrade", "quotes", "closed"): n},
            broker="tastytrade",
        )
        await wait_until(lambda: live_links(cluster), within=15, what="DXLink back")
    control.fault("silence", target="dxlink", credential=DEMO_TT)
    await counted(
        cluster.b,
        before,
        RECONNECTS,
        {
            reconnects("tastytrade", "quotes", "closed"): 2,
            reconnects("tastytrade", "quotes", "silent"): 1,
        },
        broker="tastytrade",
    )
    await wait_until(lambda: live_links(cluster), within=15, what="DXLink back")
    after = await counted(
        cluster.b,
        before,
        REFRESHES,
        {
            labels(broker="tastytrade", outcome="ok"): credential(cluster, DEMO_TT)["refreshes"]
            - grants
        },
    )
    assert increase(before, after, REFRESHES)[labels(broker="tastytrade", outcome="ok")] >= 1

    refused = credential(cluster, DEMO_ALPACA)["connections_refused"]
    control.fault("refuse_sessions", target="alpaca-sse", credential=DEMO_ALPACA, status=503)
    control.fault("drop", target="alpaca-sse", credential=DEMO_ALPACA)
    await wait_until(
        lambda: credential(cluster, DEMO_ALPACA)["connections_refused"] >= refused + 2,
        within=15,
        what="two refusals",
    )
    control.fault("refuse_sessions", target="alpaca-sse", credential=DEMO_ALPACA, status=0)
    await wait_until(lambda: live_links(cluster), within=20, what="Alpaca back")
    refusals = credential(cluster, DEMO_ALPACA)["connections_refused"] - refused
    await counted(
        cluster.b,
        before,
        RECONNECTS,
        {
            reconnects("alpaca", "account", "ended"): 1,
            reconnects("alpaca", "account", "server_error"): refusals,
        },
        broker="alpaca",
    )


async def test_429s_and_a_failed_token_refresh(cluster, tabs):
    """Tradier answers its order polls 429 twice: `rate_limited{tradier}` +2 (each one the
    client received; its retries then succeed, so no reconnect). tastytrade answers the
    account reload after a streamer drop 429 once: +1 for tastytrade, and that loop's
    reconnect is `rate_limited`. The token endpoint fails once (500) as DXLink reconnects:
    `failed` +1, and the next try succeeds."""
    await streaming(cluster, tabs)
    control = cluster.sandbox.control()
    before = scrape(cluster.b)
    control.fault(
        "http_error",
        broker="tradier",
        path_prefix="/v1/accounts/",
        status=429,
        retry_after=1,
        count=2,
    )
    await counted(
        cluster.b, before, "streamdesk_broker_rate_limited_total", {labels(broker="tradier"): 2}
    )

    control.fault(
        "http_error",
        broker="tastytrade",
        path_prefix="/customers/me/accounts",
        status=429,
        retry_after=1,
        count=1,
    )
    control.fault("drop", target="streamer", credential=DEMO_TT)
    await counted(
        cluster.b,
        before,
        RECONNECTS,
        {
            reconnects("tastytrade", "account", "closed"): 1,
            reconnects("tastytrade", "account", "rate_limited"): 1,
        },
        broker="tastytrade",
    )
    await wait_until(lambda: live_links(cluster), within=15, what="the account stream back")
    after = await counted(
        cluster.b,
        before,
        "streamdesk_broker_rate_limited_total",
        {labels(broker="tradier"): 2, labels(broker="tastytrade"): 1},
    )
    assert increase(before, after, RECONNECTS, broker="tradier") == {}

    before = scrape(cluster.b)
    control.fault("http_error", path_prefix="/oauth/token", status=500, count=1)
    control.fault("drop", target="dxlink", credential=DEMO_TT)
    await counted(
        cluster.b,
        before,
        RECONNECTS,
        {
            reconnects("tastytrade", "quotes", "closed"): 1,
            reconnects("tastytrade", "quotes", "server_error"): 1,
        },
        broker="tastytrade",
    )
    await wait_until(lambda: live_links(cluster), within=15, what="DXLink back")
    await counted(
        cluster.b,
        before,
        REFRESHES,
        {
            labels(broker="tastytrade", outcome="failed"): 1,
            labels(broker="tastytrade", outcome="ok"): 1,
        },
    )


async def test_a_socket_that_stops_reading_counts_one_slow_close(cluster, tabs):
    """A WebSocket that stops reading while a fill must reach it is closed 4408:
    `slow_client_closes{transport="ws"}` +1, nothing for SSE."""
    reader = await streaming(cluster, tabs)
    control = cluster.sandbox.control()
    account = sorted(credential(cluster, DEMO_TT)["accounts"])[0]
    before = scrape(cluster.b)
    sock = hostile._non_reading_socket(cluster.a, cluster.cookie(), hostile.PILE_UP_SYMBOLS)
    port = sock.getsockname()[1]
    try:
        await wait_until(
            lambda: server_send_queue(cluster.a.port, {port}).get(port, 0) > 64 * 1024,
            within=30,
            what="quotes piled up in front of the socket",
        )
        placed = control.place_order(account, market_buy("F", 1))["order"]["id"]
        await counted(
            cluster.b,
            before,
            "streamdesk_slow_client_closes_total",
            {labels(transport="ws"): 1},
        )
        await reader.wait_for(
            lambda: any(
                f["type"] == "order" and str(f["order"]["id"]) == str(placed)
                for _, f in reader.frames
            )
        )
    finally:
        sock.close()


async def test_a_resume_with_last_event_id_counts_the_frames_replayed(cluster, tabs):
    """An SSE stream closes; a fill happens; it comes back with `Last-Event-ID`: the
    events replayed go up by exactly the `resumed` frame's count."""
    keeper = await streaming(cluster, tabs)
    control = cluster.sandbox.control()
    account = sorted(credential(cluster, DEMO_TT)["accounts"])[0]
    cookies = {"Cookie": cluster.cookie()}
    async with httpx.AsyncClient(base_url=cluster.b.url, timeout=httpx.Timeout(5, read=30)) as http:
        async with aconnect_sse(http, "GET", "/api/events?symbols=SPY", headers=cookies) as es:
            frames = await read_until(es.aiter_sse(), lambda f: f["type"] == "snapshot")
            snapshot = frames[-1][1]
        placed = control.place_order(account, market_buy("IWM", 1))["order"]["id"]
        await keeper.wait_for(
            lambda: any(
                f["type"] == "order"
                and str(f["order"]["id"]) == str(placed)
                and f["order"]["status"] == "Filled"
                for _, f in keeper.frames
            )
        )
        before = scrape(cluster.b)
        headers = {**cookies, "Last-Event-ID": f"{snapshot['epoch']}:{snapshot['seq']}"}
        async with aconnect_sse(http, "GET", "/api/events?symbols=SPY", headers=headers) as es:
            frames = await read_until(es.aiter_sse(), lambda f: f["type"] == "resumed")
            resumed = frames[-1][1]
    assert resumed["count"] >= 2  # at least the order's working and filled frames
    await counted(
        cluster.b,
        before,
        "streamdesk_account_events_replayed_total",
        {(): resumed["count"]},
    )


async def test_a_killed_owner_counts_one_takeover_and_a_new_epoch_resyncs_each_tab(cluster, tabs):
    """Redis loses the stream's head, then the owner is killed (-9): the other process
    takes the expired lease (`lease_takeovers` +1), starts a new epoch (+1), and each of
    its two tabs (WS and SSE) starts over from a snapshot: `resyncs{reason="epoch"}` +2.
    Runs last: it replaces the killed process."""
    await streaming(cluster, tabs)
    cookie = cluster.cookie()
    survivors = [
        await tabs.ws(cluster.b, cookie, "ws-b"),
        await tabs.sse(cluster.b, cookie, "sse-b"),
    ]
    assert cluster.owner_pid() == cluster.a.pid
    control = cluster.sandbox.control()
    account = sorted(credential(cluster, DEMO_TT)["accounts"])[0]
    before = scrape(cluster.b)
    lose_head(cluster, "expiry")
    cluster.a.kill()
    await counted(cluster.b, before, "streamdesk_lease_takeovers_total", {(): 1})
    placed = control.place_order(account, market_buy("XLF", 2))["order"]["id"]
    # each tab shows the fill: from an `order` frame, or from the snapshot its resync took
    # after the fill (a starved box's SSE tab came back that late in CI24)
    for tab in survivors:
        await tab.wait_for(
            lambda t=tab: any(
                str(o["id"]) == str(placed) and o["status"] == "Filled" for o in t.orders.values()
            ),
            within=30,
        )
    after = await counted(
        cluster.b, before, "streamdesk_resyncs_total", {labels(reason="epoch"): 2}
    )
    assert increase(before, after, "streamdesk_epochs_started_total") == {(): 1}
    assert increase(before, after, "streamdesk_lease_takeovers_total") == {(): 1}
    await tabs.all[0].stop()  # the killed process's tab
    cluster.a = LiveApp(
        cluster.sandbox.url,
        cluster.workdir,
        seed=False,
        REDIS_URL=cluster.redis.url,
        DATABASE_URL=cluster.database_url,
        **FAST_CLUSTER,
        **cluster.env,
    ).start()
