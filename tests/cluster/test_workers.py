"""The `workers` layout (STREAM_MANAGERS=workers): two web daphne processes that only
relay, two `manage.py stream_workers` processes that run the managers, a real Redis,
PostgreSQL and the sandbox. Tabs on the web processes get their snapshot, live quotes and
fills from a manager in a worker; the web processes hold no broker session; a worker
killed with -9 is replaced by the other one without losing an account event; a web
process restart leaves the manager alone; the workers let go when the tabs are gone."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
import redis

from streaming.cluster.placement import preferred_worker
from tests.chaos.conftest import DEMO_TT, linked_demo_accounts
from tests.support.clients import StreamClient, WsClient
from tests.support.cluster import FAST_CLUSTER, Cluster, SessionWatch, running_cluster
from tests.support.live import ROOT, LiveApp
from tests.support.orders import market_buy
from tests.support.processes import spawn
from tests.support.wait import poll_until, wait_until

METRICS_TOKEN = "workers-test-metrics-token"
#: How often the workers look for users watched with no page open here (seconds).
WATCH_EVERY = 1.0
WORKERS_ENV = {
    "STREAM_MANAGERS": "workers",
    "METRICS_TOKEN": METRICS_TOKEN,
    "STREAM_WATCH_INTERVAL": str(WATCH_EVERY),
}


class StreamWorker(LiveApp):
    """`manage.py stream_workers` with a cluster's environment (no port, no HTTP)."""

    def spawn(self) -> StreamWorker:
        self.log_path = self.log_path.with_name(f"worker-{self.port}.log")
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self._proc = spawn(
            [sys.executable, "manage.py", "stream_workers"],
            cwd=ROOT,
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        return self

    def wait_started(self) -> StreamWorker:
        """Until the worker says it hears demand (or fail with its log)."""
        assert self._proc is not None

        def ready() -> bool:
            if self._proc.poll() is not None:
                raise AssertionError(f"the worker exited:\n{self.log_path.read_text()}")
            return "ready" in self.log_path.read_text()

        poll_until(ready, within=30, what="stream worker ready")
        return self


def worker_id(worker: StreamWorker) -> str:
    """The worker's id (lease.PROCESS_ID), from the line it prints once ready."""
    found = re.search(r"^stream worker (\S+) ready$", worker.log_path.read_text(), re.M)
    assert found, worker.log_path.read_text()
    return found[1]


def worker_for(cluster: Cluster, workdir: Path) -> StreamWorker:
    worker = StreamWorker(cluster.sandbox.url, workdir, seed=False)
    worker.env = dict(cluster.a.env)  # the same Redis, database and settings as daphne
    return worker


@pytest.fixture
def layout(tmp_path: Path) -> Iterator[tuple[Cluster, list[StreamWorker]]]:
    with running_cluster(tmp_path, **WORKERS_ENV) as cluster:
        workers = [worker_for(cluster, tmp_path) for _ in range(2)]
        try:
            for worker in workers:
                worker.spawn()
            for worker in workers:
                worker.wait_started()
            yield cluster, workers
        finally:
            with ThreadPoolExecutor(max_workers=len(workers)) as pool:  # each may take seconds
                list(pool.map(StreamWorker.stop, workers))


@pytest.fixture
async def clients() -> Iterator[list[StreamClient]]:
    opened: list[StreamClient] = []
    yield opened
    for client in opened:
        await client.stop()


def lease(cluster: Cluster, user_id: int = 1) -> str | None:
    value = redis.Redis.from_url(cluster.redis.url).get(f"sd:lease:user:{user_id}")
    return value.decode() if value else None


def lease_pid(cluster: Cluster) -> int | None:
    value = lease(cluster)
    return int(value.split(":")[1]) if value and value != "released" else None


def tastytrade_link(client: StreamClient) -> int:
    """The demo trader's tastytrade link id, from the tab's snapshot."""
    snapshot = next(f for _, f in client.frames if f["type"] == "snapshot")
    return next(link["id"] for link in snapshot["links"] if link["broker"] == "tastytrade")


def has_quote(client: StreamClient, symbol: str, after: float = 0.0) -> bool:
    return any(
        t >= after and f["type"] == "quotes" and symbol in f["quotes"] for t, f in client.frames
    )


def quote_events_in(app: LiveApp) -> float:
    """The process's `streamdesk_quote_events_in` total: 0 where no manager ever ran."""
    headers = {"Authorization": f"Bearer {METRICS_TOKEN}"}
    text = httpx.get(f"{app.url}/metrics", headers=headers, timeout=10).text
    totals = re.findall(r"^streamdesk_quote_events_in_total\{[^}]*\} ([0-9.e+]+)$", text, re.M)
    return sum(float(v) for v in totals)


def assert_no_loss(client: StreamClient) -> None:
    """Every account frame applied once, in order, within its epoch; no foreign account."""
    assert client.violations == [], client.name
    assert client.foreign == set(), client.name
    by_epoch: dict[str | None, list[int]] = {}
    for epoch, seq in client.applied:
        by_epoch.setdefault(epoch, []).append(seq)
    for epoch, seqs in by_epoch.items():
        assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), (client.name, epoch)


def page_snapshot(app: LiveApp, cookie: str) -> dict:
    """The dashboard page's embedded (server-rendered) snapshot."""
    response = httpx.get(f"{app.url}/", headers={"Cookie": cookie}, timeout=15)
    assert response.status_code == 200
    found = re.search(
        r'<script id="snapshot" type="application/json">(.*?)</script>', response.text
    )
    assert found, "the page embeds its snapshot"
    return json.loads(found[1])


async def test_a_worker_runs_the_stream_and_the_web_processes_only_relay(layout, clients):
    cluster, workers = layout
    worker_pids = {w.pid for w in workers}
    cookie = cluster.cookie()
    control = cluster.sandbox.control()
    with SessionWatch(control, DEMO_TT) as watch:
        tab = WsClient(cluster.a.url, cookie, name="web-a").start()
        clients.append(tab)
        await tab.wait_live()
        own = await linked_demo_accounts(control)
        tab.own(own)
        owner = await wait_until(
            lambda: lease_pid(cluster), within=10, what="a worker owns the stream"
        )
        assert owner in worker_pids, (owner, worker_pids, cluster.a.pid, cluster.b.pid)
        # the worker first in line for the user took it, whichever read the demand first
        ids = {w.pid: worker_id(w) for w in workers}
        assert ids[owner] == preferred_worker(1, ids.values()), (lease(cluster), ids)
        await tab.wait_for(lambda: has_quote(tab, "SPY"), within=15)
        link = tastytrade_link(tab)
        account = sorted(control.state()["credentials"][DEMO_TT]["accounts"])[0]
        placed = control.place_order(account, market_buy("XLF", 3))["order"]["id"]
        await tab.wait_for(lambda: tab.filled_quantity(link, placed) == 3, within=20)

        # a page view (no manager here) gets the last-known values from the worker
        page = page_snapshot(cluster.b, cookie)
        assert page["epoch"] and page["quotes"].get("SPY"), "last-known quotes in the page"
        assert any(o["id"] == placed for o in page["orders"]), "the fill is in the page"

        # a web process restart: the manager (and its broker session) is not disturbed
        other = WsClient(cluster.b.url, cookie, name="web-b", own_accounts=own).start()
        clients.append(other)
        await other.wait_live()
        before = lease(cluster)
        cluster.a.stop()
        restarted = LiveApp(cluster.sandbox.url, cluster.a.log_path.parent, seed=False)
        restarted.env = dict(cluster.a.env)
        cluster.a = restarted.start()
        back = WsClient(cluster.a.url, cookie, name="web-a-again", own_accounts=own).start()
        clients.append(back)
        await back.wait_live()
        mark = time.monotonic()
        await back.wait_for(lambda: has_quote(back, "SPY", after=mark), within=15)
        await other.wait_for(lambda: has_quote(other, "SPY", after=mark), within=15)
        assert lease(cluster) == before, "the same owner, same fencing token, throughout"
    # the web processes never ran a manager; one session per credential at the broker
    assert quote_events_in(cluster.a) == 0 and quote_events_in(cluster.b) == 0
    assert watch.samples > 10 and (watch.max_dxlink, watch.max_streamer) == (1, 1)
    for client in (tab, other, back):
        assert_no_loss(client)

    # every tab gone: the worker lets go after the demand lapses and the grace period
    for client in list(clients):
        await client.stop()
    clients.clear()
    await wait_until(lambda: lease(cluster) == "released", within=30, what="the lease released")


async def test_a_killed_worker_is_replaced_without_losing_a_fill(layout, clients):
    cluster, workers = layout
    cookie = cluster.cookie()
    control = cluster.sandbox.control()
    watching = [
        WsClient(cluster.a.url, cookie, name="web-a").start(),
        WsClient(cluster.b.url, cookie, name="web-b").start(),
    ]
    clients.extend(watching)
    for tab in watching:
        await tab.wait_live()
    own = await linked_demo_accounts(control)
    for tab in watching:
        tab.own(own)
        await tab.wait_for(lambda t=tab: has_quote(t, "SPY"), within=15)
    owner_pid = await wait_until(
        lambda: lease_pid(cluster), within=10, what="a worker owns the stream"
    )
    owner = next(w for w in workers if w.pid == owner_pid)
    survivor = next(w for w in workers if w is not owner)
    link = tastytrade_link(watching[0])
    account = sorted(control.state()["credentials"][DEMO_TT]["accounts"])[0]
    with SessionWatch(control, DEMO_TT) as watch:
        during = control.place_order(account, market_buy("XLF", 5))["order"]["id"]
        owner.kill()  # while that order is still working its way to a fill
        after = control.place_order(account, market_buy("XLE", 2))["order"]["id"]
        await wait_until(
            lambda: lease_pid(cluster) == survivor.pid, within=15, what="the other worker owns it"
        )
        for tab in watching:
            await tab.wait_for(lambda t=tab: t.filled_quantity(link, during) == 5, within=30)
            await tab.wait_for(lambda t=tab: t.filled_quantity(link, after) == 2, within=30)
    for tab in watching:
        assert_no_loss(tab)
    assert watch.max_dxlink <= 1 and watch.max_streamer <= 1
    assert lease_pid(cluster) not in (cluster.a.pid, cluster.b.pid)


def test_workers_layout_refuses_to_start_without_redis(tmp_path: Path):
    """Every process stops at start-up with a clear error; and the worker command
    refuses to run in the `web` layout."""
    app = LiveApp("http://127.0.0.1:9", tmp_path, REDIS_URL="", STREAM_MANAGERS="workers")
    with pytest.raises(RuntimeError, match="STREAM_MANAGERS=workers needs REDIS_URL"):
        app.manage("check")
    env = {**app.env, "STREAM_MANAGERS": "web"}
    result = subprocess.run(
        [sys.executable, "manage.py", "stream_workers"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "stream_workers needs STREAM_MANAGERS=workers" in result.stderr


async def test_a_user_watched_with_no_page_open_runs_in_a_worker(layout):
    """The watch in this layout is the stream workers': a user with an alert and no page
    (none ever opened: no demand from a web process) has their stream run in a worker; with
    nothing left to watch, the worker lets it go."""
    cluster, workers = layout
    assert lease_pid(cluster) is None
    cluster.a.python(
        "from streaming.models import Alert\n"
        "Alert.objects.create(user_id=1, symbol='NFLX', condition='above', level=1_000_000)\n"
    )
    worker_pids = {w._proc.pid for w in workers if w._proc is not None}
    # a look of the watch, the lease, the stream's start: with the margin
    await wait_until(lambda: lease_pid(cluster) in worker_pids, within=2 * WATCH_EVERY + 15)
    cluster.a.python("from streaming.models import Alert\nAlert.objects.update(active=False)\n")
    grace = float(FAST_CLUSTER["STREAM_IDLE_GRACE"])
    await wait_until(lambda: lease_pid(cluster) is None, within=2 * WATCH_EVERY + grace + 15)
