"""Several daphne processes on one PostgreSQL database, a real Redis between them, one
sandbox broker: what the multi-process tests and the fault suite stand on."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import redis

from sandbox.core.config import SandboxConfig
from sandbox.server import SandboxControl, SandboxServer
from tests.support.databases import SEEDED_TEMPLATE, seeded_postgres_data
from tests.support.live import DEMO_USER, LiveApp, app_env
from tests.support.postgres_server import PostgresServer
from tests.support.redis_server import RedisServer

FAST_CLUSTER = {
    "STREAM_LEASE_TTL": "3",
    "STREAM_LEASE_RENEW": "0.5",
    "STREAM_HANDOVER_DELAY": "1",
    "STREAM_IDLE_GRACE": "3",
}
#: A new owner after a kill: the dead one's lease runs out, the survivor's next renewal
#: takes it, the handover delay; then its stream starts (seconds, without a margin).
TAKEOVER = sum(float(FAST_CLUSTER[k]) for k in ("STREAM_LEASE_TTL", "STREAM_LEASE_RENEW")) + float(
    FAST_CLUSTER["STREAM_HANDOVER_DELAY"]
)


@dataclass
class Cluster:
    redis: RedisServer
    postgres: PostgresServer
    database_url: str
    sandbox: SandboxServer
    a: LiveApp
    b: LiveApp

    @property
    def apps(self) -> list[LiveApp]:
        return [self.a, self.b]

    def owner_pid(self, user_id: int = 1) -> int:
        """The pid of the process that owns the user's stream now."""
        pid = self.lease_holder(user_id)
        assert pid is not None, "somebody owns the stream"
        return pid

    def lease_holder(self, user_id: int = 1) -> int | None:
        """The pid holding the user's stream lease, None between owners (no lease, or the
        `released` mark a stopped owner leaves: streaming/cluster/lease.py)."""
        value = redis.Redis.from_url(self.redis.url).get(f"sd:lease:user:{user_id}")
        if not value or value == b"released":
            return None
        return int(value.decode().split(":")[1])

    def owner_and_other(self, user_id: int = 1) -> tuple[LiveApp, LiveApp]:
        pid = self.owner_pid(user_id)
        return (self.a, self.b) if pid == self.a.pid else (self.b, self.a)

    def cookie(self, username: str = DEMO_USER[0], password: str = DEMO_USER[1]) -> str:
        client = self.a.login(username, password)
        return self.a.cookie_header(client)


@contextmanager
def running_cluster(
    workdir: Path, sandbox_config: SandboxConfig | None = None, **env: str
) -> Iterator[Cluster]:
    """Redis, PostgreSQL, a sandbox and two daphne processes on one database, torn down
    after: each one stopped even when another's stop fails or the test's timeout cuts a
    stop short (an exit stack: every callback runs, the errors are raised after)."""
    with ExitStack() as stack:
        redis_server = RedisServer()
        stack.callback(redis_server.stop)
        # a copy of the run's seeded database: migrated, the demo trader and links
        postgres = PostgresServer(data_from=seeded_postgres_data(app_env("", workdir, **env)))
        stack.callback(postgres.stop)
        database_url = postgres.create_database(template=SEEDED_TEMPLATE)
        config = sandbox_config or SandboxConfig(
            tick_rate=10, alpaca_heartbeat_interval=2, order_step_interval=0.3
        )
        sandbox = SandboxServer(config).start()
        stack.callback(sandbox.stop)
        env = {"REDIS_URL": redis_server.url, "DATABASE_URL": database_url, **FAST_CLUSTER, **env}
        started: list[LiveApp] = []
        holder: list[Cluster] = []
        # a test may have replaced a process (cluster.a = a fresh LiveApp): stop those too;
        # the daphne processes all at once (each may take a while to end its sockets)
        stack.callback(
            lambda: _all_at_once(
                [app.stop for app in {*started, *(holder[0].apps if holder else [])}]
            )
        )
        started.append(LiveApp(sandbox.url, workdir, seed=False, **env))
        started.append(LiveApp(sandbox.url, workdir, seed=False, **env))
        # both processes start side by side (each is ~2 s of imports on 2 cores)
        for app in started:
            app.spawn()
        for app in started:
            app.wait_started()
        holder.append(Cluster(redis_server, postgres, database_url, sandbox, *started))
        yield holder[0]


def _all_at_once(calls: list[Callable[[], None]]) -> None:
    """Run the calls in threads and wait for all; the first error is raised after."""
    with ThreadPoolExecutor(max_workers=max(1, len(calls))) as pool:
        futures = [pool.submit(call) for call in calls]
    for future in futures:
        future.result()


class SessionWatch:
    """Polls the sandbox's state API in a thread: the most live sessions a credential had."""

    def __init__(self, control: SandboxControl, credential: str) -> None:
        self.control = control
        self.credential = credential
        self.max_dxlink = 0
        self.max_streamer = 0
        self.max_alpaca = 0
        self.max_tradier = 0
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            entry = self.control.state()["credentials"].get(self.credential)
            if entry:
                self.max_dxlink = max(self.max_dxlink, len(entry.get("dxlink", [])))
                self.max_streamer = max(self.max_streamer, len(entry.get("streamer", [])))
                self.max_alpaca = max(self.max_alpaca, len(entry.get("alpaca-sse", [])))
                self.max_tradier = max(self.max_tradier, len(entry.get("tradier-stream", [])))
            self.samples += 1
            self._stop.wait(0.05)

    def __enter__(self) -> SessionWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
