"""The servers a run stands on, each on a free loopback port: redis-server, the sandbox
(`manage.py sandbox`), the SQLite database with the bench's users (bench/cluster/users.py),
and each phase's daphne processes and stream workers (`Servers`), with the env they share."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.cluster.processes import ROOT, Processes, free_port, log, rss_mb, tail

LAYERS = {
    "core": "channels_redis.core.RedisChannelLayer",
    "pubsub": "channels_redis.pubsub.RedisPubSubChannelLayer",
}


#: How a daphne process is started (as deployed: daphne on streaming/runtime/loop.py's loop).
SERVE = [sys.executable, "-m", "config.serve"]


#: The bench's daphne processes answer /metrics with this token (each its own registry).
METRICS_TOKEN = "bench-metrics"


def asgi_app(naive: bool) -> str:
    """The server's application: the naive phase's swaps in the `--naive` baseline."""
    return "bench.naive:application" if naive else "config.asgi:application"


def manage_command(naive: bool) -> list[str]:
    """`manage.py`, or for the naive phase the same commands with the `--naive` baseline."""
    return [sys.executable, "-m", "bench.naive"] if naive else [sys.executable, "manage.py"]


@dataclass
class Servers:
    """One phase's daphne processes (process, port, log) and stream workers (process, log)."""

    daphnes: list[tuple[subprocess.Popen[Any], int, Path]]
    workers: list[tuple[subprocess.Popen[Any], Path]]

    @property
    def ports(self) -> list[int]:
        return [port for _, port, _ in self.daphnes]

    @property
    def logs(self) -> list[Path]:
        return [log_path for _, _, log_path in self.daphnes] + [
            log_path for _, log_path in self.workers
        ]

    def rss(self) -> tuple[list[float], list[float]]:
        """Each daphne's RSS and each worker's (MB)."""
        return [rss_mb(p.pid) for p, _, _ in self.daphnes], [rss_mb(p.pid) for p, _ in self.workers]

    def check_daphnes(self) -> None:
        """Raise if a daphne died (with its log's tail)."""
        for proc, port, log_path in self.daphnes:
            if proc.poll() is not None:
                raise RuntimeError(f"daphne on port {port} died:\n{tail(log_path)}")


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
            # the streams record, as deployed (their cost is part of what is measured)
            "STREAM_RECORD_DIR": "" if self.args.no_record else str(self.workdir / "recordings"),
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

    def start_servers(self, naive: bool) -> Servers:
        """A phase's `--daphne` daphne processes and (`--layout workers`) stream workers."""
        daphnes = [self.start_daphne(i, naive) for i in range(self.args.daphne)]
        workers = [self.start_worker(i, naive) for i in range(self.args.worker_procs)]
        return Servers(daphnes, workers)

    async def wait_servers(self, servers: Servers) -> None:
        """Until every daphne answers /health and every worker hears demand."""
        for proc, port, log_path in servers.daphnes:
            await self.wait_http(proc, port, log_path)
        for proc, log_path in servers.workers:
            await self.wait_worker(proc, log_path)

    def stop_servers(self, servers: Servers) -> None:
        for proc, _, _ in servers.daphnes:
            self.procs.stop_one(proc, timeout=20)
        for proc, _ in servers.workers:
            self.procs.stop_one(proc, timeout=20)

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
