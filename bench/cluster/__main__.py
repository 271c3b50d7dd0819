"""Scale-out benchmark: sandbox broker -> N daphne processes -> many authenticated tabs.

    python -m bench.cluster                       # 250 users x 4 tabs, designed then naive
    python -m bench.cluster --users 10 --tabs 2 --duration 10
    python -m bench.cluster --daphne 2 --layer pubsub
    python -m bench.cluster --layout workers --workers 1   # managers in stream workers
    python -m bench.cluster --sweep               # designed mode at 250..1500 sockets

Starts, each on a free loopback port: a redis-server, the sandbox (`manage.py sandbox`),
and `--daphne` daphne processes sharing one SQLite file and the channels-redis layer
(with `--layout workers` also `--workers` `manage.py stream_workers` processes, which run
the stream managers while daphne only relays: STREAM_MANAGERS=workers).
Creates `--users` users (sandbox link, a watchlist of 20 of `B000`..`B099`, a session),
opens `--tabs` real WebSocket clients per user from `--load-procs` load-generator
processes (bench/cluster/loadgen.py; clients pick a daphne process round-robin), sets
the sandbox's tick rate so that about `--quote-rate` quote events/s reach the stream
managers, places Market orders at `--order-rate`, and measures for `--duration` s.

Each phase prints one markdown row: the designed mode (conflated 150 ms batches), then
the naive baseline (bench/baselines.py via bench/naive.py, `--naive`: by default a
`group_send` per tick to the user's group, the reference's Channels pattern) under the same
load, and a ratio line. Latency is client receive time minus the broker's event time
(`t` of a quote; `updated_at` of a Filled order), on the same host clock. Everything
runs on 127.0.0.1, every wait is bounded, and everything started is stopped by pid.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.metadata
import json
import os
import platform
import random
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.baselines import NAIVE_KINDS
from bench.proc import cpu_pressure_seconds, runqueue_wait_seconds
from bench.stages import StageTable, read_raw

ROOT = Path(__file__).resolve().parents[2]
CLK_TCK = os.sysconf("SC_CLK_TCK")
LAYERS = {
    "core": "channels_redis.core.RedisChannelLayer",
    "pubsub": "channels_redis.pubsub.RedisPubSubChannelLayer",
}
#: The issue's targets (2-core box): checked for the designed phase.
TARGETS = {"quote_p99": 300.0, "account_p99": 100.0, "rss_kib_per_conn": 64.0}
#: How a daphne process is started (as deployed: daphne on streaming/runtime/loop.py's loop).
SERVE = [sys.executable, "-m", "config.serve"]
#: The bench's daphne processes answer /metrics with this token (each its own registry).
METRICS_TOKEN = "bench-metrics"
ORDER_SYMBOL = "B050"


def asgi_app(naive: bool) -> str:
    """The server's application: the naive phase's swaps in the `--naive` baseline."""
    return "bench.naive:application" if naive else "config.asgi:application"


def manage_command(naive: bool) -> list[str]:
    """`manage.py`, or for the naive phase the same commands with the `--naive` baseline."""
    return [sys.executable, "-m", "bench.naive"] if naive else [sys.executable, "manage.py"]


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    from tests.support.redis_server import free_port as _free_port

    return _free_port()


# ---------------------------------------------------------------------- /proc readings
def cpu_seconds(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def machine_busy_seconds() -> float:
    """CPU seconds the whole machine spent busy (all cores), from /proc/stat."""
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    return (sum(values[:8]) - idle) / CLK_TCK


def rss_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()
    except OSError:
        return f"(no log at {path})"
    return "\n".join(text[-lines:])


# ---------------------------------------------------------------------- processes
class Processes:
    """Everything this run started, stopped by pid in reverse order (also on Ctrl-C)."""

    def __init__(self) -> None:
        self.started: list[tuple[str, subprocess.Popen[Any]]] = []
        self.all_pids: list[tuple[str, int]] = []
        self.redis: Any = None  # tests.support.redis_server.RedisServer (stops itself)

    def add(self, name: str, proc: subprocess.Popen[Any]) -> subprocess.Popen[Any]:
        self.started.append((name, proc))
        self.all_pids.append((name, proc.pid))
        return proc

    @staticmethod
    def stop(proc: subprocess.Popen[Any], timeout: float = 15) -> None:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)

    def stop_one(self, proc: subprocess.Popen[Any], timeout: float = 15) -> None:
        self.stop(proc, timeout)
        self.started = [(n, p) for n, p in self.started if p is not proc]

    def stop_all(self) -> None:
        for _name, proc in reversed(self.started):
            with contextlib.suppress(Exception):
                self.stop(proc, timeout=10)
        self.started.clear()

    def leftovers(self) -> list[tuple[str, int]]:
        return [(name, pid) for name, pid in self.all_pids if alive(pid)]


# ---------------------------------------------------------------------- load generators
class LoadProc:
    """One load-generator process, spoken to with one JSON line each way."""

    def __init__(self, procs: Processes, index: int, config_path: Path, log_path: Path) -> None:
        self.index = index
        self.log_path = log_path
        self._log = open(log_path, "wb")  # noqa: SIM115 - closed in close()
        self.proc = procs.add(
            f"loadgen-{index}",
            subprocess.Popen(
                [sys.executable, "-m", "bench.cluster.loadgen", str(config_path)],
                cwd=ROOT,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=self._log,
                text=True,
                bufsize=1,
            ),
        )
        self.replies: asyncio.Queue[str] = asyncio.Queue()
        loop = asyncio.get_running_loop()

        def reader() -> None:
            assert self.proc.stdout is not None
            for line in self.proc.stdout:
                loop.call_soon_threadsafe(self.replies.put_nowait, line)
            loop.call_soon_threadsafe(self.replies.put_nowait, "")

        threading.Thread(target=reader, daemon=True).start()

    async def ask(self, op: str, wait: float = 30) -> dict[str, Any]:
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(json.dumps({"op": op}) + "\n")
            self.proc.stdin.flush()
            line = await asyncio.wait_for(self.replies.get(), wait)
        except (BrokenPipeError, TimeoutError) as exc:
            raise RuntimeError(
                f"load generator {self.index} did not answer {op!r} ({type(exc).__name__}):\n"
                + tail(self.log_path)
            ) from exc
        if not line:
            raise RuntimeError(f"load generator {self.index} exited:\n{tail(self.log_path)}")
        return json.loads(line)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._log.close()


async def ask_all(loads: list[LoadProc], op: str, wait: float = 30) -> list[dict[str, Any]]:
    return list(await asyncio.gather(*(lp.ask(op, wait) for lp in loads)))


# ---------------------------------------------------------------------- statistics
PACING = (
    "streamdesk_event_loop_lag_seconds_count",
    "streamdesk_event_loop_lag_seconds_bucket:0.05",
    "streamdesk_quote_frames_merged_total",
    "streamdesk_event_loop_lag_seconds_sum",
)


async def pacing_counts(ports: list[int]) -> list[dict[str, float]]:
    """Each daphne's adaptive-flush metrics (docs/operations.md): loop-lag ticks, those
    within 50 ms, quotes frames merged (summed over reasons); and its order frames'
    latency buckets by stage; {} where /metrics failed."""
    from prometheus_client.parser import text_string_to_metric_families

    counts: list[dict[str, float]] = []
    async with httpx.AsyncClient(timeout=10) as client:
        for port in ports:
            found: dict[str, float] = {}
            with contextlib.suppress(httpx.HTTPError):
                response = await client.get(
                    f"http://127.0.0.1:{port}/metrics",
                    headers={"Authorization": f"Bearer {METRICS_TOKEN}"},
                )
                for family in text_string_to_metric_families(response.text):
                    for sample in family.samples:
                        key = sample.name
                        if key.endswith("_bucket"):
                            key += ":" + sample.labels.get("le", "")
                        if key in PACING:
                            pass
                        elif sample.labels.get("kind") != "order":
                            continue
                        elif sample.name == "streamdesk_account_latency_seconds_bucket":
                            key = HANDOVER + sample.labels["le"]
                        elif sample.name == "streamdesk_account_stage_seconds_bucket":
                            key = f"{STAGE}{sample.labels['stage']}:{sample.labels['le']}"
                        else:
                            continue
                        found[key] = found.get(key, 0.0) + sample.value
            counts.append(found)
    return counts


#: The owner's order frames by broker time -> hand-over to its tabs (a cumulative
#: histogram per bucket bound): the server's part of the account latency.
HANDOVER = "handover:"
#: ... and by broker time -> a stage in the owner before it (`numbered`, `logged`:
#: docs/operations.md), where the owner is a daphne (not in the workers layout).
STAGE = "stage:"


def order_p99(before: list[dict[str, float]], after: list[dict[str, float]]) -> str:
    """The bucket bounds (ms) under which 99 % of the window's order frames were numbered,
    logged and handed to their tabs, over every daphne ('-' where none were)."""
    return " / ".join(
        bucket_p99(before, after, prefix)
        for prefix in (f"{STAGE}numbered:", f"{STAGE}logged:", HANDOVER)
    )


def bucket_p99(before: list[dict[str, float]], after: list[dict[str, float]], prefix: str) -> str:
    """The bucket bound (ms) under which 99 % of the window's observations of one
    histogram (its keys: `prefix` + bound) fall, over every daphne; '-' without any."""
    buckets: Counter[float] = Counter()
    for b, a in zip(before, after, strict=True):
        for key, value in a.items():
            if key.startswith(prefix):
                buckets[float(key[len(prefix) :])] += value - b.get(key, 0.0)
    total = buckets.get(float("inf"), 0.0)
    if not total:
        return "-"
    for bound in sorted(buckets):
        if buckets[bound] >= 0.99 * total:
            return "≤ " + ("∞" if bound == float("inf") else f"{bound * 1000:.0f}")
    return "-"


def pacing_row(
    before: list[dict[str, float]], after: list[dict[str, float]], elapsed: float
) -> tuple[list[float | None], list[float | None], list[float | None]]:
    """Per daphne over the window: % of loop-lag ticks over 50 ms, quotes frames merged/s,
    the mean loop lag (ms)."""
    late: list[float | None] = []
    merged: list[float | None] = []
    mean_lag: list[float | None] = []
    for b, a in zip(before, after, strict=True):
        if not b or not a:
            late.append(None)
            merged.append(None)
            mean_lag.append(None)
            continue
        # a counter no frame was merged for (or no tick measured) is not in /metrics yet
        ticks = a.get(PACING[0], 0.0) - b.get(PACING[0], 0.0)
        within = a.get(PACING[1], 0.0) - b.get(PACING[1], 0.0)
        late.append(100 * (ticks - within) / ticks if ticks else None)
        merged.append((a.get(PACING[2], 0.0) - b.get(PACING[2], 0.0)) / elapsed)
        lag = a.get(PACING[3], 0.0) - b.get(PACING[3], 0.0)
        mean_lag.append(1000 * lag / ticks if ticks else None)
    return late, merged, mean_lag


def percentile_hist(hist: Counter[int], q: float) -> float | None:
    total = sum(hist.values())
    if not total:
        return None
    rank = q / 100 * (total - 1)
    seen = 0
    for value in sorted(hist):
        seen += hist[value]
        if seen > rank:
            return float(value)
    return float(max(hist))


def fmt(value: Any, digits: int = 0) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def triple(hist: Counter[int]) -> str:
    if not hist:
        return "-"
    p50, p99 = percentile_hist(hist, 50), percentile_hist(hist, 99)
    return f"{fmt(p50)} / {fmt(p99)} / {max(hist)}"


# ---------------------------------------------------------------------- the run
@dataclass
class Phase:
    name: str
    naive: bool
    users: int
    quote_rate: float
    tick_rate: float | None = None  # None: computed from the subscriptions, then calibrated


@dataclass
class Cluster:
    args: argparse.Namespace
    procs: Processes
    workdir: Path
    redis: Any = None
    sandbox_url: str = ""
    sandbox_proc: subprocess.Popen[Any] | None = None
    settings_module: str = "config.settings"
    layer_backend: str = ""
    users: list[dict[str, Any]] = field(default_factory=list)
    encryption_key: str = ""

    # -- environment ---------------------------------------------------------------
    def env(self) -> dict[str, str]:
        """The env of tests/support/live.py LiveApp, plus Redis and the bench's knobs."""
        return {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": self.settings_module,
            "SQLITE_PATH": str(self.workdir / "db.sqlite3"),
            "BROKER_ENV": "sandbox",
            "TASTYTRADE_BASE_URL": self.sandbox_url,
            "STREAMDESK_ENCRYPTION_KEYS": self.encryption_key,
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
            "STREAM_IDLE_GRACE": "5",
            "STREAM_WATCHDOG_TIMEOUT": str(self.args.watchdog),
            "STREAM_FLUSH_INTERVAL": str(self.args.flush_interval),
            "REDIS_URL": self.redis_url(),
            "CHANNEL_LAYER_BACKEND": LAYERS[self.args.layer],
            "STREAM_MANAGERS": self.args.layout,
            "TASTYTRADE_LOG_LEVEL": "WARNING",
            "LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
            "METRICS_TOKEN": METRICS_TOKEN,
            "BENCH_NAIVE": self.args.naive,  # read only by bench/naive.py
        }

    def manage(self, *args: str, timeout: float = 300) -> str:
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if result.returncode != 0:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stderr[-3000:]}")
        return result.stdout

    def probe_layer(self, settings_module: str) -> str:
        env = {**self.env(), "DJANGO_SETTINGS_MODULE": settings_module}
        code = (
            "import django; django.setup(); from django.conf import settings; "
            "print(settings.CHANNEL_LAYERS['default']['BACKEND'])"
        )
        result = subprocess.run(
            [sys.executable, "-c", code],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        if result.returncode != 0:
            raise RuntimeError(f"cannot load settings {settings_module}:\n{result.stderr[-2000:]}")
        return result.stdout.strip().splitlines()[-1]

    # -- components ------------------------------------------------------------------
    def start_redis(self) -> None:
        from tests.support.redis_server import RedisServer

        self.redis = self.procs.redis = RedisServer()
        self.procs.all_pids.append(("redis-server", self.redis._process.pid))
        log(f"redis-server pid {self.redis._process.pid} on {self.redis.url}")

    def redis_url(self) -> str:
        if not self.redis:
            return ""
        if self.args.redis_max_connections:
            return f"{self.redis.url}?max_connections={self.args.redis_max_connections}"
        return self.redis.url

    def redis_pid(self) -> int:
        return self.redis._process.pid

    def flush_redis(self) -> None:
        import redis

        client = redis.Redis.from_url(self.redis.url)
        try:
            client.flushall()
        finally:
            client.close()

    def spawn_sandbox(self) -> Path:
        port = free_port()
        self.sandbox_url = f"http://127.0.0.1:{port}"
        log_path = self.workdir / "sandbox.log"
        command = ["manage.py", "sandbox", "--port", str(port), "--tick-rate", "0"]
        with open(log_path, "wb") as out:
            self.sandbox_proc = self.procs.add(
                "sandbox",
                subprocess.Popen(
                    [sys.executable, *command, "--demo-orders", "0"],
                    cwd=ROOT,
                    env=self.env(),
                    stdout=out,
                    stderr=subprocess.STDOUT,
                ),
            )
        return log_path

    async def start_sandbox(self) -> None:
        log_path = self.spawn_sandbox()
        assert self.sandbox_proc is not None
        deadline = time.monotonic() + 30
        async with httpx.AsyncClient(base_url=self.sandbox_url, timeout=5) as client:
            while True:
                with contextlib.suppress(httpx.TransportError):
                    if (await client.get("/_sandbox/state")).status_code == 200:
                        break
                if self.sandbox_proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the sandbox did not start:\n{tail(log_path)}")
                await asyncio.sleep(0.1)
            await self.sandbox_config(
                tick_rate=0,
                order_step_interval=0.2,
                balance_push_interval=self.args.balance_push,
            )
        log(f"sandbox pid {self.sandbox_proc.pid} on {self.sandbox_url}")

    async def sandbox_config(self, **values: Any) -> dict[str, Any]:
        async with httpx.AsyncClient(base_url=self.sandbox_url, timeout=30) as client:
            response = await client.post("/_sandbox/config", json=values)
            response.raise_for_status()
            return response.json()

    async def sandbox_state(self) -> dict[str, Any]:
        async with httpx.AsyncClient(base_url=self.sandbox_url, timeout=60) as client:
            response = await client.get("/_sandbox/state")
            response.raise_for_status()
            return response.json()

    def setup_database(self) -> None:
        started = time.monotonic()
        self.manage("migrate", "--no-input", "-v", "0")
        out = self.workdir / "users.json"
        result = subprocess.run(
            [
                *(sys.executable, "-m", "bench.cluster.users", str(out)),
                *("--users", str(self.args.max_users), "--seed", str(self.args.seed)),
            ],
            cwd=ROOT,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=600,
        )
        if result.returncode != 0:
            raise RuntimeError(f"creating the users failed:\n{result.stderr[-3000:]}")
        self.users = json.loads(out.read_text())
        log(f"migrated and created {len(self.users)} users in {time.monotonic() - started:.1f} s")

    def start_daphne(self, index: int, naive: bool) -> tuple[subprocess.Popen[Any], int, Path]:
        port = free_port()
        log_path = self.workdir / f"daphne-{index}-{'naive' if naive else 'designed'}.log"
        with open(log_path, "wb") as out:
            proc = self.procs.add(
                f"daphne-{index}",
                subprocess.Popen(
                    [*SERVE, "-b", "127.0.0.1", "-p", str(port), asgi_app(naive)],
                    cwd=ROOT,
                    env=self.env(),
                    stdout=out,
                    stderr=subprocess.STDOUT,
                ),
            )
        return proc, port, log_path

    def start_worker(self, index: int, naive: bool) -> tuple[subprocess.Popen[Any], Path]:
        """A `manage.py stream_workers` process (the `workers` layout)."""
        log_path = self.workdir / f"worker-{index}-{'naive' if naive else 'designed'}.log"
        with open(log_path, "wb") as out:
            proc = self.procs.add(
                f"worker-{index}",
                subprocess.Popen(
                    [*manage_command(naive), "stream_workers"],
                    cwd=ROOT,
                    env=self.env(),
                    stdout=out,
                    stderr=subprocess.STDOUT,
                ),
            )
        return proc, log_path

    async def wait_worker(self, proc: subprocess.Popen[Any], log_path: Path) -> None:
        """Until the worker hears demand (it prints `ready`)."""
        deadline = time.monotonic() + 45
        while "ready" not in tail(log_path, 100_000):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"stream worker did not start:\n{tail(log_path)}")
            await asyncio.sleep(0.2)

    async def wait_http(self, proc: subprocess.Popen[Any], port: int, log_path: Path) -> None:
        deadline = time.monotonic() + 45
        async with httpx.AsyncClient(timeout=2) as client:
            while True:
                with contextlib.suppress(httpx.TransportError):
                    response = await client.get(f"http://127.0.0.1:{port}/health")
                    if response.status_code == 200:
                        return
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"daphne on port {port} did not start:\n{tail(log_path)}")
                await asyncio.sleep(0.2)

    async def wait_broker_idle(self, within: float = 30) -> dict[str, Any]:
        deadline = time.monotonic() + within
        while True:
            totals = (await self.sandbox_state())["totals"]
            busy = totals.get("dxlink_sessions", 0) + totals.get("streamer_sessions", 0)
            if not busy or time.monotonic() > deadline:
                return totals
            await asyncio.sleep(0.5)


def subscription_pairs(state: dict[str, Any], creds: set[str]) -> tuple[int, int, int]:
    """(event-type x symbol pairs subscribed, credentials live, max DXLink sessions/cred)."""
    pairs = live = most = 0
    for cred_id, entry in state["credentials"].items():
        if cred_id not in creds:
            continue
        sessions = entry.get("dxlink", [])
        most = max(most, len(sessions))
        has = 0
        for session in sessions:
            for channel in session.get("channels", {}).values():
                for symbols in channel.get("subscriptions", {}).values():
                    pairs += len(symbols)
                    has += len(symbols)
        if has and entry.get("streamer"):
            live += 1
    return pairs, live, most


def start_profilers(
    cluster: Cluster, phase: Phase, pids: list[int]
) -> list[tuple[subprocess.Popen[Any], Path]] | None:
    """With --profile: py-spy sampling each server process over the measured window
    (`--nonblocking`: the process is never paused; idle threads are not sampled)."""
    if not cluster.args.profile:
        return None
    spy = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")
    if spy is None:
        raise RuntimeError("--profile needs py-spy (requirements-dev.txt)")
    started = []
    for pid in pids:
        out = cluster.workdir / f"profile-{phase.name}-{pid}.txt"
        command = [spy, "record", "--pid", str(pid), "--rate", "100", "--format", "raw"]
        command += [
            "--nonblocking",
            "--duration",
            str(round(cluster.args.duration)),
            "-o",
            str(out),
        ]
        proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        started.append((cluster.procs.add(f"py-spy {pid}", proc), out))
    return started


def finish_profilers(
    profilers: list[tuple[subprocess.Popen[Any], Path]] | None,
) -> Counter[str] | None:
    """Their samples by stage, once each has written its file (bounded)."""
    if profilers is None:
        return None
    samples: Counter[str] = Counter()
    for proc, out in profilers:
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
        if out.exists():
            samples.update(read_raw(out.read_text(errors="replace").splitlines()))
        else:
            log(f"  py-spy wrote no profile: {(proc.stderr.read() if proc.stderr else b'')!r}")
    return samples


async def run_phase(cluster: Cluster, phase: Phase) -> dict[str, Any]:
    args = cluster.args
    users = cluster.users[: phase.users]
    from sandbox.core.credentials import credential_id

    creds = {credential_id(u["refresh_token"]): u["index"] for u in users}
    log(
        f"phase {phase.name}: {len(users)} users x {args.tabs} tabs on {args.daphne} daphne, "
        f"target {phase.quote_rate:.0f} quote events/s"
    )
    cluster.flush_redis()
    await cluster.sandbox_config(tick_rate=0)
    daphnes = [cluster.start_daphne(i, phase.naive) for i in range(args.daphne)]
    workers = [cluster.start_worker(i, phase.naive) for i in range(args.worker_procs)]
    loads: list[LoadProc] = []
    row: dict[str, Any] = {"phase": phase.name, "users": len(users)}
    try:
        for proc, port, log_path in daphnes:
            await cluster.wait_http(proc, port, log_path)
        for proc, log_path in workers:
            await cluster.wait_worker(proc, log_path)
        await asyncio.sleep(1.0)
        rss_before = [rss_mb(p.pid) for p, _, _ in daphnes]
        worker_rss_before = [rss_mb(p.pid) for p, _ in workers]

        # tabs: with --route tabs, tab k goes to daphne (global tab index) % N (round robin:
        # a user's tabs spread over the processes, frames cross the layer); with --route
        # sessions, every tab of user u goes to daphne u % N (nginx's sticky `hash
        # $cookie_sessionid consistent`, deploy/nginx/streamdesk.conf); users split by loadgen
        specs: list[list[dict[str, Any]]] = [[] for _ in range(args.load_procs)]
        tab_index = 0
        per_daphne = Counter()
        for u in users:
            for _ in range(args.tabs):
                which = (tab_index if args.route == "tabs" else u["index"]) % args.daphne
                port = daphnes[which][1]
                per_daphne[which] += 1
                specs[u["index"] % args.load_procs].append(
                    {
                        "tab": tab_index,
                        "user": u["index"],
                        "url": f"ws://127.0.0.1:{port}/ws/stream/",
                        "origin": f"http://127.0.0.1:{port}",
                        "sessionid": u["sessionid"],
                        "symbols": u["symbols"],
                    }
                )
                tab_index += 1
        total_tabs = tab_index
        for i, tabs in enumerate(specs):
            if not tabs:
                continue
            config_path = cluster.workdir / f"loadgen-{phase.name}-{i}.json"
            config_path.write_text(
                json.dumps(
                    {
                        "tabs": tabs,
                        "connect_concurrency": args.connect_concurrency,
                        "open_timeout": 60,
                        "reconnect": not args.no_reconnect,
                        "seed": args.seed + i,
                    }
                )
            )
            loads.append(
                LoadProc(
                    cluster.procs, i, config_path, cluster.workdir / f"loadgen-{phase.name}-{i}.log"
                )
            )

        # -- connect: every tab must get hello + snapshot (bounded) ----------------------
        started = time.monotonic()
        await ask_all(loads, "connect")
        status: dict[str, Any] = {}
        while True:
            await asyncio.sleep(1.0)
            statuses = await ask_all(loads, "status")
            status = merge_status(statuses)
            done = status["snapshots"]
            if args.no_reconnect:  # nobody retries: a failed tab is final
                done += status["errors_total"] + status["drops"]
            for proc, port, log_path in daphnes:
                if proc.poll() is not None:
                    raise RuntimeError(f"daphne on port {port} died:\n{tail(log_path)}")
            if done >= total_tabs or time.monotonic() - started > args.connect_timeout:
                break
        connect_s = time.monotonic() - started
        row["connect_s"] = round(connect_s, 1)
        row["clients"] = status["snapshots"]
        row["connect_failures"] = total_tabs - status["snapshots"]
        log(
            f"  {status['snapshots']}/{total_tabs} tabs have their snapshot "
            f"({status['hello']} got hello) after "
            f"{connect_s:.1f} s (errors {status['errors']}, closes {status['close_codes']})"
        )
        if status["errors_total"]:
            log(f"  first connect error: {status['error_sample']}")

        # -- every user's manager live at the broker (DXLink subscribed + account streamer)
        deadline = time.monotonic() + args.live_timeout
        while True:
            state = await cluster.sandbox_state()
            pairs, live, _ = subscription_pairs(state, set(creds))
            if live >= len(users) or time.monotonic() > deadline:
                break
            await asyncio.sleep(1.0)
        row["managers_live"] = live
        log(f"  {live}/{len(users)} users streaming from the broker; {pairs} subscribed pairs")
        accounts = {
            creds[cid]: entry["accounts"]
            for cid, entry in state["credentials"].items()
            if cid in creds and entry.get("accounts")
        }

        # -- tick rate: from the subscriptions (each subscribed event type x symbol gets one
        # event per tick of its underlying), calibrated on the rate the sandbox really sent;
        # users not live yet are counted at the live users' average
        if phase.tick_rate is None:

            def expected_pairs(pairs: int, live: int) -> float:
                return pairs * len(users) / live if 0 < live < len(users) else float(pairs)

            tick_rate = phase.quote_rate / max(1.0, expected_pairs(pairs, live))
            await cluster.sandbox_config(tick_rate=tick_rate)
            await asyncio.sleep(args.calibrate / 2)  # the new rate reaches the managers
            rate, pairs, live = await measure_event_rate(cluster, args.calibrate, set(creds))
            efficiency = rate / max(1e-9, tick_rate * pairs)
            tick_rate = phase.quote_rate / (
                max(0.25, min(1.5, efficiency)) * max(1.0, expected_pairs(pairs, live))
            )
            log(
                f"  calibration: {rate:.0f} events/s measured ({efficiency:.2f} per pair x "
                f"tick), tick_rate now {tick_rate:.3f}"
            )
        else:
            tick_rate = phase.tick_rate
        await cluster.sandbox_config(tick_rate=tick_rate)
        row["tick_rate"] = tick_rate

        # -- quotes flowing to every tab (bounded) -------------------------------------
        await ask_all(loads, "mark")
        deadline = time.monotonic() + args.warmup_timeout
        while True:
            await asyncio.sleep(1.0)
            status = merge_status(await ask_all(loads, "status"))
            if status["live"] >= row["clients"] or time.monotonic() > deadline:
                break
        row["warm_tabs"] = status["live"]
        row["warmup_drops"] = status["drops"]
        row["warmup_codes"] = status["close_codes"]
        log(
            f"  {status['live']}/{row['clients']} tabs receive quotes; {status['drops']} drops "
            f"so far {status['close_codes'] or ''}; measuring"
        )

        # -- the measured window ----------------------------------------------------------
        watched = {
            "daphne": [p.pid for p, _, _ in daphnes],
            "workers": [p.pid for p, _ in workers],
            "redis": [cluster.redis_pid()],
            "sandbox": [cluster.sandbox_proc.pid],
            "loadgen": [lp.proc.pid for lp in loads],
        }
        state0 = (await cluster.sandbox_state())["totals"]
        cpu0 = {k: [cpu_seconds(p) for p in pids] for k, pids in watched.items()}
        busy0, own0 = machine_busy_seconds(), cpu_seconds(os.getpid())
        waited0 = [runqueue_wait_seconds(p) for p in watched["daphne"]]
        pressure0 = cpu_pressure_seconds()
        ports = [port for _, port, _ in daphnes]
        pacing0 = await pacing_counts(ports)
        profilers = start_profilers(cluster, phase, watched["daphne"] + watched["workers"])
        t0 = time.monotonic()
        await ask_all(loads, "start")
        placed = await place_orders(cluster, accounts, args.order_rate, args.duration, args.seed)
        await ask_all(loads, "stop")
        elapsed = time.monotonic() - t0
        cpu1 = {k: [cpu_seconds(p) for p in pids] for k, pids in watched.items()}
        samples = finish_profilers(profilers)
        busy1, own1 = machine_busy_seconds(), cpu_seconds(os.getpid())
        waited1 = [runqueue_wait_seconds(p) for p in watched["daphne"]]
        pressure1 = cpu_pressure_seconds()
        state1_full = await cluster.sandbox_state()
        state1 = state1_full["totals"]
        rss_after = [rss_mb(p.pid) for p, _, _ in daphnes]
        pacing1 = await pacing_counts(ports)
        loop_late, merged_s, loop_lag = pacing_row(pacing0, pacing1, elapsed)
        worker_rss_after = [rss_mb(p.pid) for p, _ in workers]
        await cluster.sandbox_config(tick_rate=0)
        await asyncio.sleep(args.drain)
        results = await ask_all(loads, "collect", wait=120)
        final = merge_status(await ask_all(loads, "status"))
        await ask_all(loads, "close", wait=60)

        # -- the row ----------------------------------------------------------------------
        cpu = {
            k: [(c1 - c0) / elapsed * 100 for c0, c1 in zip(cpu0[k], cpu1[k], strict=True)]
            for k in watched
        }
        events = state1.get("dxlink_events_sent", 0) - state0.get("dxlink_events_sent", 0)
        _, _, most_sessions = subscription_pairs(state1_full, set(creds))
        most_streamers = max(
            (
                len(e.get("streamer", []))
                for c, e in state1_full["credentials"].items()
                if c in creds
            ),
            default=0,
        )
        row.update(
            summarize(results, placed, elapsed, total_tabs),
            quote_events_s=events / elapsed,
            account_events_s=(state1.get("account_events", 0) - state0.get("account_events", 0))
            / elapsed,
            broker_reconnects=state1.get("closed_sessions", 0) - state0.get("closed_sessions", 0),
            daphne_cpu=cpu["daphne"],
            daphne_waited=[
                None if w0 is None or w1 is None else (w1 - w0) / elapsed * 100
                for w0, w1 in zip(waited0, waited1, strict=True)
            ],
            cpu_pressure=(
                None
                if pressure0 is None or pressure1 is None
                else (pressure1 - pressure0) / elapsed * 100
            ),
            loop_late=loop_late,
            merged_s=merged_s,
            loop_lag=loop_lag,
            order_p99=order_p99(pacing0, pacing1),
            worker_cpu=cpu["workers"],
            worker_rss_before=worker_rss_before,
            worker_rss_after=worker_rss_after,
            redis_cpu=sum(cpu["redis"]),
            sandbox_cpu=sum(cpu["sandbox"]),
            loadgen_cpu=sum(cpu["loadgen"]),
            machine_cpu=(busy1 - busy0) / elapsed * 100,
            other_cpu=(
                (busy1 - busy0) - (own1 - own0) - sum(sum(cpu1[k]) - sum(cpu0[k]) for k in watched)
            )
            / elapsed
            * 100,
            rss_before=rss_before,
            rss_after=rss_after,
            rss_kib_per_conn=[
                (after - before) * 1024 / max(1, per_daphne[i])
                for i, (before, after) in enumerate(zip(rss_before, rss_after, strict=True))
            ],
            sessions_per_cred=most_sessions,
            streamers_per_cred=most_streamers,
            open_final=final["open"],
            elapsed=elapsed,
        )
        if samples is not None:
            server_cpu = sum(cpu1["daphne"]) - sum(cpu0["daphne"])
            server_cpu += sum(cpu1["workers"]) - sum(cpu0["workers"])
            row["stages"] = StageTable(
                samples, server_cpu, events, round(row["frames_s"] * elapsed)
            ).markdown()
        return row
    finally:
        for lp in loads:
            cluster.procs.stop_one(lp.proc, timeout=20)
            lp.close()
        for proc, _, _ in daphnes:
            cluster.procs.stop_one(proc, timeout=20)
        for proc, _ in workers:
            cluster.procs.stop_one(proc, timeout=20)
        row["log"] = summarize_logs(
            [log_path for _, _, log_path in daphnes] + [log_path for _, log_path in workers]
        )
        with contextlib.suppress(httpx.HTTPError):
            totals = await cluster.wait_broker_idle()
            if totals.get("dxlink_sessions") or totals.get("streamer_sessions"):
                log(f"  warning: the sandbox still has broker sessions open: {totals}")


LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d [\d:,]+ (WARNING|ERROR|CRITICAL) (.*)$")


def summarize_logs(paths: list[Path]) -> dict[str, Any]:
    """WARNING/ERROR lines of the daphne logs, counted by message (numbers masked)."""
    counts: Counter[str] = Counter()
    levels: Counter[str] = Counter()
    for path in paths:
        with contextlib.suppress(OSError), open(path, errors="replace") as f:
            for line in f:
                match = LOG_LINE.match(line)
                if match:
                    levels[match[1]] += 1
                    message = re.sub(r"\d+(\.\d+)?", "N", match[2])[:160]
                    counts[f"{match[1]} {message}"] += 1
    return {"levels": dict(levels), "top": counts.most_common(8)}


def merge_status(statuses: list[dict[str, Any]]) -> dict[str, Any]:
    merged: dict[str, Any] = Counter()
    errors: Counter[str] = Counter()
    codes: Counter[str] = Counter()
    sample = None
    for s in statuses:
        for key in ("tabs", "hello", "snapshots", "open", "live", "drops"):
            merged[key] += s[key]
        errors.update(s["errors"])
        codes.update(s["close_codes"])
        sample = sample or s["error_sample"]
    out = dict(merged)
    out["errors"] = dict(errors)
    out["close_codes"] = dict(codes)
    out["errors_total"] = sum(errors.values())
    out["error_sample"] = sample
    return out


async def measure_event_rate(
    cluster: Cluster, seconds: float, creds: set[str]
) -> tuple[float, int, int]:
    """(DXLink events/s the sandbox sent, subscribed pairs, live users) over `seconds`."""
    s0 = (await cluster.sandbox_state())["totals"].get("dxlink_events_sent", 0)
    t0 = time.monotonic()
    await asyncio.sleep(seconds)
    state = await cluster.sandbox_state()
    s1 = state["totals"].get("dxlink_events_sent", 0)
    pairs, live, _ = subscription_pairs(state, creds)
    return (s1 - s0) / (time.monotonic() - t0), pairs, live


async def place_orders(
    cluster: Cluster, accounts: dict[int, list[str]], rate: float, duration: float, seed: int
) -> list[dict[str, Any]]:
    """Market orders for random users at `rate`/s for `duration` s; returns what was placed."""
    rng = random.Random(seed)
    users = sorted(accounts)
    placed: list[dict[str, Any]] = []
    failures: Counter[str] = Counter()
    body_of = {
        "time-in-force": "Day",
        "order-type": "Market",
        "legs": [
            {
                "instrument-type": "Equity",
                "symbol": ORDER_SYMBOL,
                "action": "Buy to Open",
                "quantity": 1,
            }
        ],
    }

    async def one(client: httpx.AsyncClient, user: int) -> None:
        number = accounts[user][0]
        try:
            response = await client.post(
                "/_sandbox/orders", json={"account_number": number, "order": body_of}
            )
        except httpx.HTTPError as exc:
            failures[type(exc).__name__] += 1
            return
        if response.status_code != 200:
            failures[f"http {response.status_code}: {response.text[:80]}"] += 1
            return
        order = response.json().get("data", response.json()).get("order", {})
        placed.append({"user": user, "id": order.get("id"), "account": number})

    tasks = []
    started = time.monotonic()
    async with httpx.AsyncClient(base_url=cluster.sandbox_url, timeout=10) as client:
        if rate > 0 and users:
            n = 0
            while True:
                due = started + n / rate
                if due >= started + duration:
                    break
                await asyncio.sleep(max(0.0, due - time.monotonic()))
                tasks.append(asyncio.create_task(one(client, rng.choice(users))))
                n += 1
        await asyncio.sleep(max(0.0, started + duration - time.monotonic()))
        await asyncio.gather(*tasks)
    if failures:
        log(f"  order placement failures: {dict(failures)}")
    return placed


def summarize(
    results: list[dict[str, Any]], placed: list[dict[str, Any]], elapsed: float, total_tabs: int
) -> dict[str, Any]:
    quote_hist: Counter[int] = Counter()
    fresh_hist: Counter[int] = Counter()
    fresh_before: Counter[int] = Counter()
    fresh_after: Counter[int] = Counter()
    regressions = 0
    stale_hist: Counter[int] = Counter()
    account_ms: list[int] = []
    frames: Counter[str] = Counter()
    frame_bytes = entries = 0
    tabs: list[dict[str, Any]] = []
    for r in results:
        quote_hist.update({int(k): v for k, v in r["quote_hist"].items()})
        fresh_hist.update({int(k): v for k, v in r["fresh_hist"].items()})
        fresh_before.update({int(k): v for k, v in r.get("fresh_before_hist", {}).items()})
        fresh_after.update({int(k): v for k, v in r.get("fresh_after_hist", {}).items()})
        regressions += r["t_regressions"]
        stale_hist.update({int(k): v for k, v in r["stale_hist"].items()})
        account_ms.extend(r["account_ms"])
        frames.update(r["frame_types"])
        frame_bytes += r["frame_bytes"]
        entries += r["quote_entries"]
        tabs.extend(r["tabs"])
    by_user: dict[int, list[dict[str, Any]]] = {}
    for t in tabs:
        if t["snapshot"]:
            by_user.setdefault(t["user"], []).append(t)
    filled = {t["tab"]: set(t["filled"]) for t in tabs}
    missed = 0
    for order in placed:
        for t in by_user.get(order["user"], []):
            if order["id"] not in filled[t["tab"]]:
                missed += 1
    drops: Counter[str] = Counter()
    for t in tabs:
        drops.update(t["codes"])
    return {
        "frames_s": sum(frames.values()) / elapsed,
        "quote_frames_s": frames.get("quotes", 0) / elapsed,
        "mbytes_s": frame_bytes / elapsed / 1e6,
        "entries_per_quote_frame": entries / max(1, frames.get("quotes", 0)),
        "frame_types": dict(frames),
        "quote_hist": quote_hist,
        "fresh_hist": fresh_hist,
        "fresh_before_hist": fresh_before,
        "fresh_after_hist": fresh_after,
        "t_regression_pct": 100 * regressions / max(1, entries),
        "stale_hist": stale_hist,
        "account_hist": Counter(account_ms),
        "orders_placed": len(placed),
        "fills_expected": sum(len(by_user.get(o["user"], [])) for o in placed),
        "fills_missed": missed,
        "seq_gaps": sum(t["gaps"] for t in tabs),
        "seq_gap_events": sum(t["gap_events"] for t in tabs),
        "seq_dups": sum(t["dups"] for t in tabs),
        "resumes": sum(t["resumes"] for t in tabs),
        "reconnects": sum(t["reconnects"] for t in tabs),
        "drops": sum(drops.values()),
        "drop_codes": dict(drops),
        "tabs_total": total_tabs,
    }


# ---------------------------------------------------------------------- printing
COLUMNS = [
    "phase",
    "clients",
    "users",
    "quote ev/s in",
    "frames/s out",
    "quote p50/p99/max ms (t as sent)",
    "quote p50/p99/max ms (fresh t)",
    "acct p50/p99/max ms",
    "acct lost (gaps+missed fills)",
    "dropped",
    "staleness p50/p99 ms",
    "daphne CPU %",
    "daphne RSS MB before→after",
    "RSS KiB/conn",
    "redis CPU %",
    "broker sessions/cred",
]
DETAIL_COLUMNS = [
    "phase",
    "connect s",
    "connect failures",
    "tick_rate Hz",
    "quote frames/s",
    "symbols/frame",
    "t regressions %",
    "MB/s out",
    "account ev/s at broker",
    "orders placed",
    "fills expected/missed",
    "seq gaps (events) / dups",
    "drop codes (window)",
    "warm-up drops",
    "reconnects / resumed",
    "broker reconnects",
    "sandbox CPU %",
    "loadgen CPU %",
    "machine CPU % (not ours)",
    "daphne waiting for a core %",
    "CPU pressure %",
    "workers CPU %",
    "workers RSS MB before→after",
    "daphne loop ticks > 50 ms late %",
    "quote frames merged/s",
    "daphne loop lag mean ms",
    "fresh t p50/p99 ms: broker→batch / batch→client",
    "order frames p99 ms: broker→numbered / →logged / →hand-over",
]


def joined(values: list[float], digits: int = 0) -> str:
    return " + ".join(fmt(float(v), digits) for v in values)


def joined_known(values: list[float | None]) -> str:
    """`joined`, with "-" for a reading the box could not give (and for no readings)."""
    return " + ".join("-" if v is None else fmt(v, 0) for v in values) or "-"


def table_row(r: dict[str, Any]) -> list[str]:
    lost = r["seq_gaps"] + r["fills_missed"]
    return [
        r["phase"],
        fmt(r["clients"]),
        fmt(r["users"]),
        fmt(r["quote_events_s"], 0),
        fmt(r["frames_s"], 0),
        triple(r["quote_hist"]),
        triple(r["fresh_hist"]),
        triple(r["account_hist"]),
        f"{lost} ({r['seq_gaps']}+{r['fills_missed']})",
        fmt(r["drops"]),
        f"{fmt(percentile_hist(r['stale_hist'], 50))} / "
        f"{fmt(percentile_hist(r['stale_hist'], 99))}",
        joined(r["daphne_cpu"]),
        " + ".join(
            f"{b:.0f}→{a:.0f}" for b, a in zip(r["rss_before"], r["rss_after"], strict=True)
        ),
        joined(r["rss_kib_per_conn"]),
        fmt(r["redis_cpu"], 1),
        f"{r['sessions_per_cred']} dxlink, {r['streamers_per_cred']} streamer",
    ]


def detail_row(r: dict[str, Any]) -> list[str]:
    return [
        r["phase"],
        fmt(r["connect_s"], 1),
        fmt(r["connect_failures"]),
        fmt(r["tick_rate"], 3),
        fmt(r["quote_frames_s"], 0),
        fmt(r["entries_per_quote_frame"], 1),
        fmt(r["t_regression_pct"], 1),
        fmt(r["mbytes_s"], 2),
        fmt(r["account_events_s"], 1),
        fmt(r["orders_placed"]),
        f"{r['fills_expected']}/{r['fills_missed']}",
        f"{r['seq_gaps']} ({r['seq_gap_events']}) / {r['seq_dups']}",
        json.dumps(r["drop_codes"]) if r["drop_codes"] else "-",
        f"{r['warmup_drops']} {json.dumps(r['warmup_codes'])}" if r["warmup_drops"] else "0",
        f"{r['reconnects']} / {r['resumes']}",
        fmt(r["broker_reconnects"]),
        fmt(r["sandbox_cpu"], 0),
        fmt(r["loadgen_cpu"], 0),
        f"{r['machine_cpu']:.0f} ({r['other_cpu']:.0f})",
        joined_known(r["daphne_waited"]),
        "-" if r.get("cpu_pressure") is None else fmt(r["cpu_pressure"], 0),
        joined(r["worker_cpu"]) if r["worker_cpu"] else "-",
        " + ".join(
            f"{b:.0f}→{a:.0f}"
            for b, a in zip(r["worker_rss_before"], r["worker_rss_after"], strict=True)
        )
        or "-",
        " + ".join(fmt(v, 1) for v in r["loop_late"]),
        " + ".join(fmt(v, 0) for v in r["merged_s"]),
        " + ".join(fmt(v, 1) for v in r["loop_lag"]),
        " / ".join(
            f"{fmt(percentile_hist(r[key], 50))}/{fmt(percentile_hist(r[key], 99))}"
            for key in ("fresh_before_hist", "fresh_after_hist")
        ),
        r.get("order_p99", "-"),
    ]


def print_table(columns: list[str], rows: list[list[str]]) -> None:
    print("| " + " | ".join(columns) + " |")
    print("|" + "---|" * len(columns))
    for row in rows:
        print("| " + " | ".join(row) + " |")
    print(flush=True)


def enough(hist: Counter[int], wanted: int) -> bool:
    """A percentile of fewer samples than this proves nothing (a stalled run has a few)."""
    return sum(hist.values()) >= wanted


def p99_within(hist: Counter[int], limit: float, wanted: int) -> bool:
    p99 = percentile_hist(hist, 99)
    return p99 is not None and p99 <= limit and enough(hist, wanted)


def check_targets(r: dict[str, Any], args: argparse.Namespace) -> list[tuple[str, bool, str]]:
    quote_p99 = percentile_hist(r["quote_hist"], 99)
    fresh_p99 = percentile_hist(r["fresh_hist"], 99)
    account_p99 = percentile_hist(r["account_hist"], 99)
    n_quotes, n_fresh = sum(r["quote_hist"].values()), sum(r["fresh_hist"].values())
    n_account = sum(r["account_hist"].values())
    min_quotes = r["tabs_total"] * int(r["elapsed"])  # at least one per tab per second
    min_account = max(1, r["fills_expected"] // 2)
    rss = max(r["rss_kib_per_conn"]) if r["rss_kib_per_conn"] else None
    wanted = r["tabs_total"]
    return [
        (f"sockets connected = {wanted}", r["clients"] == wanted, f"{r['clients']}"),
        (
            f"quote events/s ≥ {args.quote_target:.0f}",
            r["quote_events_s"] >= args.quote_target,
            f"{r['quote_events_s']:.0f}",
        ),
        (
            f"quote p99 ≤ {TARGETS['quote_p99']:.0f} ms (t as sent)",
            p99_within(r["quote_hist"], TARGETS["quote_p99"], min_quotes),
            f"{fmt(quote_p99)} ({n_quotes} samples)",
        ),
        (
            f"quote p99 ≤ {TARGETS['quote_p99']:.0f} ms (fresh t only)",
            p99_within(r["fresh_hist"], TARGETS["quote_p99"], min_quotes // 4),
            f"{fmt(fresh_p99)} ({n_fresh} samples)",
        ),
        (
            f"account p99 ≤ {TARGETS['account_p99']:.0f} ms",
            p99_within(r["account_hist"], TARGETS["account_p99"], min_account),
            f"{fmt(account_p99)} ({n_account} samples)",
        ),
        (
            "0 account events lost",
            r["seq_gaps"] + r["fills_missed"] == 0 and r["orders_placed"] > 0,
            f"{r['seq_gaps']} gaps + {r['fills_missed']} missed fills",
        ),
        (
            "0 sockets dropped",
            r["drops"] + r["warmup_drops"] == 0,
            f"{r['drops']} in the window, {r['warmup_drops']} during warm-up",
        ),
        (
            f"RSS growth ≤ {TARGETS['rss_kib_per_conn']:.0f} KiB/conn",
            rss is not None and rss <= TARGETS["rss_kib_per_conn"],
            fmt(rss, 1),
        ),
    ]


def p99_holds(r: dict[str, Any], quotes: str = "quote_hist") -> bool:
    min_quotes = r["tabs_total"] * int(r["elapsed"]) // (1 if quotes == "quote_hist" else 4)
    return (
        p99_within(r[quotes], TARGETS["quote_p99"], min_quotes)
        and p99_within(r["account_hist"], TARGETS["account_p99"], max(1, r["fills_expected"] // 2))
        and r["drops"] + r["warmup_drops"] == 0
        and r["seq_gaps"] + r["fills_missed"] == 0
        and r["clients"] == r["tabs_total"]
    )


def sweep_judge(
    designed: list[dict[str, Any]], naive: list[dict[str, Any]], quotes: str = "fresh_hist"
) -> tuple[int | None, int | None]:
    """Issue 42's judge: the sockets up to which the designed mode holds every point (from
    the smallest; None: not even there) and where the naive one first misses (None: it
    never does)."""
    held = None
    for r in sorted(designed, key=lambda r: r["tabs_total"]):
        if not p99_holds(r, quotes):
            break
        held = r["tabs_total"]
    missed = [r["tabs_total"] for r in naive if not p99_holds(r, quotes)]
    return held, (min(missed) if missed else None)


def judge_line(held: int | None, missed: int | None, label: str) -> str:
    """The judge as the sweep prints it."""
    if missed is None:
        return f"**The judge ({label}):** the naive mode misses at no point: no ratio."
    holds = f"holds every point up to {held} sockets" if held else "holds at no point"
    ratio = f"{held / missed:.1f}x" if held else "0x"
    return (
        f"**The judge ({label}):** the naive mode first misses at {missed} sockets; the "
        f"designed mode {holds}: **{ratio}** (the goal: ≥ 4x)."
    )


def version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "?"


def print_header(cluster: Cluster, args: argparse.Namespace) -> None:
    cpu_model = "?"
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    mem = "?"
    with contextlib.suppress(OSError), open("/proc/meminfo") as f:
        mem = f"{int(f.readline().split()[1]) / 1024 / 1024:.1f} GiB"
    redis_version = subprocess.run(
        ["redis-server", "--version"], capture_output=True, text=True, timeout=10
    ).stdout.split()[2:3]
    git = ["git", "-C", str(ROOT)]
    head = subprocess.run(
        [*git, "log", "-1", "--format=%h %s"], capture_output=True, text=True, timeout=10
    ).stdout.strip()
    dirty = subprocess.run(
        [*git, "status", "--porcelain", "--untracked-files=no"],
        capture_output=True,
        text=True,
        timeout=10,
    ).stdout.split("\n")
    changed = [line[3:] for line in dirty if line.strip()]
    print("## streamdesk scale-out benchmark (bench/cluster/)\n")
    print(f"- command: `{shlex.join(['python', '-m', 'bench.cluster', *sys.argv[1:]])}`")
    print(
        f"- code: `{head[:90]}`"
        + (f" + uncommitted changes in {', '.join(changed)}" if changed else " (clean)")
    )
    print(f"- machine: {os.cpu_count()} CPUs ({cpu_model}), {mem} RAM, {platform.platform()}")
    print(
        f"- Python {platform.python_version()}; Django {version('django')}, "
        f"channels {version('channels')}, daphne {version('daphne')}, "
        f"channels-redis {version('channels-redis')}, redis-py {version('redis')}, "
        f"Twisted {version('twisted')}, websockets {version('websockets')} (client), "
        f"redis-server {''.join(redis_version).removeprefix('v=')}"
    )
    print(
        f"- layer: `{cluster.layer_backend}` (settings module `{cluster.settings_module}`); "
        f"{args.daphne} daphne process(es), tabs routed by {args.route}; layout `{args.layout}`"
        + (f" with {args.worker_procs} stream worker(s)" if args.worker_procs else "")
        + f"; flush {args.flush_interval} s; "
        f"watchdog {args.watchdog} s; {args.load_procs} load-generator process(es); "
        f"naive baseline `{args.naive}`"
    )
    print(
        f"- load: {args.users} users x {args.tabs} tabs, 20 symbols each from B000..B099, "
        f"target {args.quote_rate:.0f} quote events/s into the managers, "
        f"{args.order_rate}/s Market orders ({ORDER_SYMBOL}), every balance pushed at once "
        f"every {args.balance_push:g} s, {args.duration:.0f} s measured "
        f"+ {args.drain:.0f} s drain"
    )
    print(
        "- everything on 127.0.0.1, sharing the same cores: the load generator's own "
        "queueing is part of every latency\n",
        flush=True,
    )


NOTES = """\
Notes: latencies are client receive time minus the broker's event time, in ms.
"t as sent": every quote entry's `t` (an entry that only repeats a Trade or Summary carries
the symbol's newest `t`, up to one tick interval old: that column measures data age, not the
pipeline); "fresh t": only entries whose `t` is newer than any `t` the tab already had for
that symbol (the latency). "t regressions %": entries with an older `t` than one already
delivered (quotes and greeks counted apart: an option has both clocks); the contract says
none. "acct": Filled `order` frames, now - `order.updated_at`.
"acct lost": seq gaps seen by the tabs + (placed order, tab of its user) pairs with no
Filled frame by the end of the drain. "dropped": server-side closes in the window (the
tab reconnects like the browser; warm-up drops are in the second table). "RSS KiB/conn":
(RSS after - RSS before the first socket) / sockets: it includes the per-user stream
managers and broker sessions (not with `--layout workers`: there they are in the workers'
RSS, a column of the second table, with their CPU). "machine CPU %" is the whole box
(100 = one core); the part in brackets is not ours (other processes on the box).
"daphne waiting for a core %": the share of the window each daphne's event loop was ready
to run but had no core (/proc/<pid>/schedstat); "CPU pressure %": the share in which any
task on the box was (Linux PSI): a loop late because the box is busy, not because it is.
"daphne loop ticks > 50 ms late %", "quote frames merged/s" and "daphne loop lag mean ms":
each daphne's own `/metrics` over the window (docs/operations.md): how often its event loop
was saturated (the adaptive flush's floor rises then), how many quotes frames were merged,
and how late its loop ran on average (ticks 50 ms apart).
"fresh t ... broker→batch / batch→client": the fresh entries' latency split at the frame's
`t` (the owner's clock when it made the batch): the broker's aggregation, the way in and
the batch period before it; the fan-out, the socket's pacing, the network and this client
after it. "order frames p99 ms: broker→numbered / →logged / →hand-over": the bucket bounds
of the daphnes' `streamdesk_account_stage_seconds{kind="order"}` (the owner applied and
numbered the frame; its event-log write was done) and `streamdesk_account_latency_seconds
{kind="order"}` (handed to the owner's tabs) under which 99 % of the window's order frames
(every status, not only fills) were: the server's part of the account latency, by stage
("-" for the stages where the owners are stream workers, `--layout workers`).
Staleness is sampled each second per tab and symbol: it is bounded below by the tick
rate, not only by the pipeline.
"""


def print_phase_tables(rows: list[dict[str, Any]], args: argparse.Namespace) -> None:
    print_table(COLUMNS, [table_row(r) for r in rows])
    print_table(DETAIL_COLUMNS, [detail_row(r) for r in rows])
    print(NOTES)
    for r in rows:
        if r.get("stages"):
            print(f"CPU by stage, {r['phase']} ({r['users']} users; bench/stages.py):\n")
            print(r["stages"] + "\n")
    for r in rows:
        logged = r.get("log") or {}
        if not logged.get("levels"):
            print(f"- daphne log, {r['phase']}: no warnings or errors")
            continue
        print(f"- daphne log, {r['phase']}: {logged['levels']}; most frequent:")
        for message, count in logged["top"]:
            print(f"  - {count} x `{message}`")
    print()


def print_ratio(rows: list[dict[str, Any]]) -> None:
    by = {r["phase"]: r for r in rows}
    if "designed" not in by or "naive" not in by:
        return
    d, n = by["designed"], by["naive"]

    def ratio(a: float | None, b: float | None) -> str:
        if a is None or b is None or b == 0:
            return "-"
        return f"{a / b:.2f}x"

    def p99(r: dict[str, Any], key: str) -> float | None:
        return percentile_hist(r[key], 99)

    print(
        "**naive / designed:** "
        f"frames/s out {ratio(n['frames_s'], d['frames_s'])} "
        f"({n['frames_s']:.0f} vs {d['frames_s']:.0f}); "
        f"daphne CPU {ratio(sum(n['daphne_cpu']), sum(d['daphne_cpu']))} "
        f"({sum(n['daphne_cpu']):.0f} % vs {sum(d['daphne_cpu']):.0f} %); "
        f"quote p99 (t as sent) {ratio(p99(n, 'quote_hist'), p99(d, 'quote_hist'))} "
        f"({fmt(p99(n, 'quote_hist'))} vs {fmt(p99(d, 'quote_hist'))} ms); "
        f"quote p99 (fresh t) {ratio(p99(n, 'fresh_hist'), p99(d, 'fresh_hist'))} "
        f"({fmt(p99(n, 'fresh_hist'))} vs {fmt(p99(d, 'fresh_hist'))} ms); "
        f"quote events/s in {n['quote_events_s']:.0f} vs {d['quote_events_s']:.0f}\n",
        flush=True,
    )


# ---------------------------------------------------------------------- main
async def main_async(args: argparse.Namespace, procs: Processes, workdir: Path) -> None:
    from cryptography.fernet import Fernet

    cluster = Cluster(args=args, procs=procs, workdir=workdir)
    cluster.encryption_key = Fernet.generate_key().decode()
    cluster.start_redis()
    cluster.layer_backend = cluster.probe_layer("config.settings")
    if cluster.layer_backend != LAYERS[args.layer]:
        raise RuntimeError(
            f"cannot select {LAYERS[args.layer]} (settings give {cluster.layer_backend})"
        )
    print_header(cluster, args)
    await cluster.start_sandbox()
    cluster.setup_database()

    per_user = args.quote_rate / args.users
    rows: list[dict[str, Any]] = []
    if args.sweep:
        points: list[tuple[str, int, float]] = []
        naive_rows: list[dict[str, Any]] = []
        for sockets in args.sweep_sockets:
            users = max(1, sockets // args.tabs)
            points.append((f"{users * args.tabs} sockets", users, per_user * users))
        for rate in args.sweep_rates:
            points.append((f"{rate:.0f} ev/s", args.users, rate))
        for name, users, rate in points:
            args.quote_target = rate
            try:
                row = await run_phase(cluster, Phase(name, False, users, rate))
            except RuntimeError as exc:
                log(f"sweep point {name} failed: {exc}")
                continue
            row["quote_target"] = rate
            rows.append(row)
            print_table(COLUMNS, [table_row(row)])
            if args.sweep_naive:
                # the naive baseline at the same point, with exactly the designed mode's load
                try:
                    naive = await run_phase(
                        cluster, Phase(f"{name} naive", True, users, rate, row["tick_rate"])
                    )
                except RuntimeError as exc:
                    log(f"sweep point {name} (naive) failed: {exc}")
                    continue
                naive_rows.append(naive)
                print_table(COLUMNS, [table_row(naive)])
                if naive.get("stages"):
                    print(f"CPU by stage, {naive['phase']} ({users} users):\n")
                    print(naive["stages"] + "\n", flush=True)
                print_ratio([{**row, "phase": "designed"}, {**naive, "phase": "naive"}])
        print("### sweep (designed mode)\n")
        print_phase_tables(rows, args)
        for r in rows:
            verdicts = [
                f"{label}: {'holds' if p99_holds(r, key) else 'FAILS'}"
                for label, key in (("t as sent", "quote_hist"), ("fresh t", "fresh_hist"))
            ]
            print(
                f"- {r['phase']}: {r['clients']} sockets, {r['quote_events_s']:.0f} ev/s in, "
                f"quote p99 {fmt(percentile_hist(r['quote_hist'], 99))} ms as sent / "
                f"{fmt(percentile_hist(r['fresh_hist'], 99))} ms fresh t, account p99 "
                f"{fmt(percentile_hist(r['account_hist'], 99))} ms, daphne CPU "
                f"{joined(r['daphne_cpu'])} %, waiting for a core "
                f"{joined_known(r['daphne_waited'])} % "
                f"-> {'; '.join(verdicts)}"
            )
        print()
        for label, key in (("t as sent", "quote_hist"), ("fresh t", "fresh_hist")):
            holding = [r for r in rows if p99_holds(r, key)]
            if holding:
                best = max(holding, key=lambda r: (r["clients"], r["quote_events_s"]))
                print(
                    f"**Largest point where the p99 targets hold ({label}):** {best['phase']} "
                    f"({best['clients']} sockets, {best['quote_events_s']:.0f} quote events/s)."
                )
            else:
                print(f"**The p99 targets hold at none of the sweep points ({label}).**")
        if naive_rows:
            print()
            for label, key in (("fresh t", "fresh_hist"), ("t as sent", "quote_hist")):
                print(judge_line(*sweep_judge(rows, naive_rows, key), label))
        return

    args.quote_target = args.quote_rate
    phases = [p.strip() for p in args.phases.split(",") if p.strip()]
    tick_rate = None
    for name in phases:
        phase = Phase(name, name == "naive", args.users, args.quote_rate, tick_rate)
        row = await run_phase(cluster, phase)
        tick_rate = row["tick_rate"]  # the baseline gets exactly the designed mode's load
        rows.append(row)
        log(f"phase {name} done")
    print_phase_tables(rows, args)
    print_ratio(rows)
    for r in rows:
        if r["phase"] != "designed":
            continue
        print("**Targets (designed mode):**\n")
        for label, ok, value in check_targets(r, args):
            print(f"- {'PASS' if ok else 'FAIL'} {label}: {value}")
        print()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.cluster",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--users", type=int, default=250)
    parser.add_argument("--tabs", type=int, default=4, help="sockets per user")
    parser.add_argument("--daphne", type=int, default=1, choices=(1, 2, 3, 4))
    parser.add_argument("--layer", choices=sorted(LAYERS), default="core")
    parser.add_argument(
        "--route",
        choices=("tabs", "sessions"),
        default="tabs",
        help="with --daphne > 1: tabs round robin, or each user's tabs on one daphne (sticky)",
    )
    parser.add_argument(
        "--layout",
        choices=("web", "workers"),
        default="web",
        help="where stream managers run (STREAM_MANAGERS): in daphne, or in stream workers",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        choices=(1, 2, 3, 4),
        help="`manage.py stream_workers` processes with --layout workers",
    )
    parser.add_argument("--duration", type=float, default=30.0, help="measured seconds")
    parser.add_argument(
        "--quote-rate", type=float, default=5000, help="quote events/s into the managers"
    )
    parser.add_argument("--order-rate", type=float, default=5.0, help="Market orders/s in all")
    parser.add_argument(
        "--balance-push",
        type=float,
        default=5.0,
        help="the sandbox pushes every watched account's balance at once every this many "
        "seconds (a burst of one account event per user)",
    )
    parser.add_argument("--phases", default="designed,naive", help="designed,naive or one")
    parser.add_argument(
        "--naive",
        default="group-send",
        choices=NAIVE_KINDS,
        help="the naive phase's baseline (bench/baselines.py): a group_send per tick to the "
        "user's group, or a frame per tick through the designed fan-out",
    )
    parser.add_argument("--load-procs", type=int, default=2, help="load-generator processes")
    parser.add_argument("--connect-concurrency", type=int, default=25, help="per load process")
    parser.add_argument("--connect-timeout", type=float, default=100.0)
    parser.add_argument(
        "--live-timeout", type=float, default=30.0, help="wait for broker sessions after connect"
    )
    parser.add_argument("--warmup-timeout", type=float, default=20.0)
    parser.add_argument(
        "--redis-max-connections",
        type=int,
        default=0,
        help="append ?max_connections=N to REDIS_URL (0: the app's and redis-py's default)",
    )
    parser.add_argument("--drain", type=float, default=3.0, help="seconds after the window")
    parser.add_argument(
        "--calibrate",
        type=float,
        default=4.0,
        help="seconds the sandbox's event rate is measured to set its tick rate (after half "
        "as long to settle)",
    )
    parser.add_argument("--flush-interval", type=float, default=0.15)
    parser.add_argument(
        "--watchdog",
        type=float,
        default=60.0,
        help="STREAM_WATCHDOG_TIMEOUT (the app's default; LiveApp's 5 s would reconnect every "
        "broker session while the sandbox does not tick during connect)",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--sweep", action="store_true", help="designed mode at several sizes")
    parser.add_argument(
        "--sweep-sockets",
        default="250,500,1000,1500",
        help="socket counts (users = sockets / tabs; quote rate scales per user)",
    )
    parser.add_argument(
        "--sweep-naive",
        action="store_true",
        help="also run the naive baseline at each sweep point (same load) and print the ratio",
    )
    parser.add_argument(
        "--sweep-rates", default="", help="quote rates at --users (e.g. 2500,5000,10000)"
    )
    parser.add_argument(
        "--no-reconnect",
        action="store_true",
        help="a dropped tab stays closed (default: back off"
        " and reconnect with ?since=, like the browser)",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="py-spy samples each daphne and worker over the measured window: CPU by stage "
        "of the quote path (bench/stages.py), per quote event and per delivered frame",
    )
    parser.add_argument("--keep-workdir", action="store_true", help="keep logs and the DB")
    args = parser.parse_args(argv)
    args.sweep_sockets = [int(x) for x in args.sweep_sockets.split(",") if x.strip()]
    args.sweep_rates = [float(x) for x in args.sweep_rates.split(",") if x.strip()]
    if args.sweep and not args.sweep_rates and not args.sweep_sockets:
        parser.error("--sweep needs --sweep-sockets or --sweep-rates")
    sizes = [args.users]
    if args.sweep:
        sizes += [max(1, s // args.tabs) for s in args.sweep_sockets]
    args.max_users = max(sizes)
    args.worker_procs = args.workers if args.layout == "workers" else 0
    return args


def main() -> None:
    args = parse_args()
    procs = Processes()
    workdir = Path(tempfile.mkdtemp(prefix="streamdesk-cluster-"))

    def on_term(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    exit_code = 0
    try:
        asyncio.run(main_async(args, procs, workdir))
    except KeyboardInterrupt:
        log("interrupted: stopping everything")
        exit_code = 130
    except RuntimeError as exc:
        log(f"FAILED: {exc}")
        exit_code = 1
    finally:
        procs.stop_all()
        if procs.redis is not None:
            procs.redis.stop()
        deadline = time.monotonic() + 10
        while procs.leftovers() and time.monotonic() < deadline:
            time.sleep(0.2)
        leftovers = procs.leftovers()
        if leftovers:
            log(f"orphans left: {leftovers}; killing")
            for _name, pid in leftovers:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        else:
            log(f"all {len(procs.all_pids)} processes this run started are gone")
        ours = {pid for _, pid in procs.all_pids}
        pattern = "daphne|config.serve"
        found = subprocess.run(["pgrep", "-f", pattern], capture_output=True, text=True)
        daphnes = {int(p) for p in found.stdout.split()}
        log(
            f"pgrep -f '{pattern}': {len(daphnes & ours)} of ours left"
            + (f" ({len(daphnes - ours)} other daphne processes on the box)" if daphnes else "")
        )
        if args.keep_workdir:
            log(f"logs and database kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    sys.exit(exit_code)


if __name__ == "__main__":
    main()
