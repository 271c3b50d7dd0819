"""What one WebSocket tab costs the server's memory (issue 15: <= 64 KiB RSS per socket).

    python -m bench.socket_memory --sockets 200                    # 50 users x 4 tabs
    python -m bench.socket_memory --sockets 200 --layout one-user  # 200 tabs of one user
    python -m bench.socket_memory --sockets 200 --tracemalloc      # + where the bytes are
    python -m bench.socket_memory --sockets 200 --redis            # channels-redis layer
    CHANNEL_LAYER_BACKEND=channels_redis.pubsub.RedisPubSubChannelLayer \
        python -m bench.socket_memory --sockets 200 --redis        # its pub/sub layer

Starts the sandbox (still market: nothing ticks unless `--tick-rate`), one daphne (the
app as deployed, `config.asgi:application`; the in-memory channel layer, or the
channels-redis core layer with `--redis`), creates the users (a tastytrade sandbox link
and a 20-symbol watchlist each, bench/cluster/users.py) and opens `--sockets` WebSocket
tabs, each sending the watchlist's `subscribe` as the dashboard does. `--layout users`
spreads them 4 per user (a user's manager is counted, shared by its tabs: per socket is
socket + manager / 4); `--layout one-user` opens all of them for one user (one manager:
per socket is the socket's own cost). A warm-up user's tab opens and closes first, so
imports and process-wide caches are not counted.

Reports daphne's RSS growth per socket and, with `--tracemalloc` (tracing starts in
daphne at the "before" snapshot, SIGUSR1), Python's allocations per socket by file and by
line, and the asyncio tasks per socket by coroutine. Also says whether permessage-deflate
was negotiated (the client offers it, as browsers do; a compressor per socket costs
~100+ KiB).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TABS_PER_USER = 4

#: Groups of the tracemalloc breakdown: the first marker found in a frame's file name.
AREAS = (
    ("daphne/", "daphne"),
    ("autobahn/", "autobahn"),
    ("twisted/", "twisted"),
    ("txaio/", "autobahn"),
    ("channels_redis/", "channels-redis layer"),
    ("redis/", "redis-py"),
    ("channels/layers", "channels in-memory layer"),
    ("channels/", "channels consumer"),
    ("asgiref/", "asgiref"),
    ("django/", "django"),
    ("/streaming/tabs/session.py", "ours: tabs/session.py"),
    ("/streaming/tabs/consumers.py", "ours: tabs/consumers.py"),
    ("/streaming/tabs/socket.py", "ours: tabs/socket.py"),
    ("/streaming/tabs/", "ours: tabs/ (other)"),
    ("/streaming/", "ours: streaming/ (other)"),
    ("tastytrade/", "tastytrade SDK"),
    ("anyio/", "anyio"),
    ("httpx", "httpx/httpcore"),
    ("pydantic", "pydantic"),
    ("asyncio/", "asyncio"),
)


def area(filename: str) -> str:
    for marker, name in AREAS:
        if marker in filename:
            return name
    return "other (stdlib, ...)"


def short(filename: str) -> str:
    for marker in ("site-packages/", "/wt-memory/", "/lib/python3.11/"):
        if marker in filename:
            return filename.split(marker, 1)[1]
    return filename


# -- the daphne child: tracemalloc on, a snapshot on SIGUSR1 ---------------------------------
def serve(port: int, snapdir: str, frames: int) -> None:
    """Run daphne in this process; SIGUSR1 dumps the asyncio tasks by coroutine into
    `snapdir` and, with `frames` > 0, a tracemalloc snapshot: the first signal starts
    tracing (so the diff is exactly what was allocated after it and is still alive, and
    daphne's start-up is not slowed by tracing)."""
    count = [0]

    def dump(signum: int, frame: Any) -> None:
        count[0] += 1
        base = Path(snapdir) / f"snap-{count[0]}"
        if frames:
            if not tracemalloc.is_tracing():
                tracemalloc.start(frames)
            tracemalloc.take_snapshot().dump(str(base) + ".tm")
        tasks: Counter[str] = Counter()
        try:
            from twisted.internet import reactor

            loop = getattr(reactor, "_asyncioEventloop", None)
            for task in asyncio.all_tasks(loop) if loop is not None else ():
                coro = task.get_coro()
                tasks[getattr(coro, "__qualname__", type(coro).__name__)] += 1
        except Exception as exc:  # the breakdown is best effort; RSS is the number
            tasks[f"error: {exc}"] = 1
        (Path(str(base) + ".tasks.json")).write_text(json.dumps(tasks))

    signal.signal(signal.SIGUSR1, dump)
    from streaming.runtime import loop as event_loop

    event_loop.install()  # as config/serve.py runs daphne
    from daphne.cli import CommandLineInterface

    sys.argv = ["daphne", "-b", "127.0.0.1", "-p", str(port), "config.asgi:application"]
    CommandLineInterface.entrypoint()


# -- the bench ---------------------------------------------------------------------------------
def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class Run:
    def __init__(self, args: argparse.Namespace, workdir: Path, sandbox_url: str) -> None:
        from tests.support.redis_server import free_port

        self.args = args
        self.workdir = workdir
        self.port = free_port()
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "SQLITE_PATH": str(workdir / "db.sqlite3"),
            "STREAM_RECORD_DIR": str(workdir / "recordings"),
            "BROKER_ENV": "sandbox",
            "SANDBOX_URL": sandbox_url,
            "TASTYTRADE_BASE_URL": sandbox_url,
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "LOG_LEVEL": "WARNING",
            "TASTYTRADE_LOG_LEVEL": "WARNING",
            "REDIS_URL": args.redis_url or "",
        }
        if not self.env.get("STREAMDESK_ENCRYPTION_KEYS"):
            from cryptography.fernet import Fernet

            self.env["STREAMDESK_ENCRYPTION_KEYS"] = Fernet.generate_key().decode()
        self.proc: subprocess.Popen[bytes] | None = None

    def python(self, *argv: str) -> None:
        subprocess.run([sys.executable, *argv], cwd=ROOT, env=self.env, check=True, timeout=600)

    def users(self, n: int) -> list[dict[str, Any]]:
        out = self.workdir / "users.json"
        self.python("manage.py", "migrate", "--verbosity", "0")
        self.python("-m", "bench.cluster.users", str(out), "--users", str(n))
        return json.loads(out.read_text())

    def start_daphne(self) -> None:
        snapdir = self.workdir / "snaps"
        snapdir.mkdir(exist_ok=True)
        frames = self.args.frames if self.args.tracemalloc else 0
        log = open(self.workdir / "daphne.log", "wb")  # noqa: SIM115 - the process owns it
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bench.socket_memory",
                "--serve",
                str(self.port),
                str(snapdir),
                str(frames),
            ],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    async def wait_http(self) -> None:
        import httpx

        deadline = time.monotonic() + 120
        async with httpx.AsyncClient(timeout=2) as client:
            while True:
                try:
                    if (
                        await client.get(f"http://127.0.0.1:{self.port}/health")
                    ).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                if self.proc is None or self.proc.poll() is not None or time.monotonic() > deadline:
                    log = (self.workdir / "daphne.log").read_text()[-3000:]
                    raise RuntimeError(f"daphne did not start:\n{log}")
                await asyncio.sleep(0.1)

    def snapshot(self, n: int) -> tuple[Any, Counter[str]]:
        """Ask daphne for snapshot `n` (SIGUSR1) and load it."""
        assert self.proc is not None
        base = self.workdir / "snaps" / f"snap-{n}"
        self.proc.send_signal(signal.SIGUSR1)
        deadline = time.monotonic() + 300
        tasks_path = Path(str(base) + ".tasks.json")
        while not tasks_path.exists():
            if time.monotonic() > deadline:
                raise RuntimeError("daphne did not write its snapshot")
            time.sleep(0.2)
        time.sleep(0.5)  # the file is written in one call; let it close
        tasks = Counter(json.loads(tasks_path.read_text()))
        snap = tracemalloc.Snapshot.load(str(base) + ".tm") if self.args.tracemalloc else None
        return snap, tasks

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


class Tab:
    def __init__(self, user: dict[str, Any]) -> None:
        self.user = user
        self.ws: Any = None
        self.frames = 0
        self.first = asyncio.Event()
        self.extensions = ""
        self.task: asyncio.Task[None] | None = None

    async def run(self, url: str, origin: str, compression: bool) -> None:
        from websockets.asyncio.client import connect
        from websockets.exceptions import ConnectionClosed

        self.ws = await connect(
            url,
            additional_headers={"Cookie": f"sessionid={self.user['sessionid']}"},
            origin=origin,  # type: ignore[arg-type]
            ping_interval=None,
            max_size=2**22,
            compression="deflate" if compression else None,
        )
        self.extensions = self.ws.response.headers.get("Sec-WebSocket-Extensions", "")
        try:
            async for _raw in self.ws:
                self.frames += 1
                if self.frames == 1:
                    await self.ws.send(
                        json.dumps({"type": "subscribe", "symbols": self.user["symbols"]})
                    )
                    self.first.set()
        except ConnectionClosed:
            pass


async def open_tabs(run: Run, tabs: list[Tab], concurrency: int) -> None:
    url = f"ws://127.0.0.1:{run.port}/ws/stream/"
    origin = f"http://127.0.0.1:{run.port}"
    sem = asyncio.Semaphore(concurrency)

    async def one(tab: Tab) -> None:
        async with sem:
            for attempt in range(3):  # a traced daphne is slow: a handshake may time out
                tab.task = asyncio.create_task(tab.run(url, origin, run.args.compression))
                async with asyncio.timeout(120):
                    while not tab.first.is_set() and not tab.task.done():
                        await asyncio.sleep(0.05)
                if tab.first.is_set():
                    return
                if attempt == 2:
                    tab.task.result()
                    raise RuntimeError("a tab closed before its first frame")
                with contextlib.suppress(Exception):
                    tab.task.result()

    await asyncio.gather(*(one(t) for t in tabs))


async def close_tabs(tabs: list[Tab]) -> None:
    for tab in tabs:
        if tab.ws is not None:
            await tab.ws.close()
    await asyncio.gather(*(t.task for t in tabs if t.task is not None), return_exceptions=True)


def breakdown(before: Any, after: Any, n: int, top: int) -> None:
    diff = after.compare_to(before, "traceback")
    total = sum(s.size_diff for s in diff)
    print(f"\n- Python allocations per socket (tracemalloc): **{total / n / 1024:.1f} KiB**")
    areas: Counter[str] = Counter()
    files: Counter[str] = Counter()
    lines: Counter[str] = Counter()
    callers: Counter[str] = Counter()
    for stat in diff:
        frames = list(stat.traceback)  # oldest first
        newest = frames[-1]
        areas[area(newest.filename)] += stat.size_diff
        files[short(newest.filename)] += stat.size_diff
        lines[f"{short(newest.filename)}:{newest.lineno}"] += stat.size_diff
        # the newest frame in our code or the server stack: who asked for the bytes
        owner = next(
            (f for f in reversed(frames) if area(f.filename).startswith("ours")),
            None,
        )
        if owner is not None:
            callers[f"{short(owner.filename)}:{owner.lineno}"] += stat.size_diff
    print("\n| KiB per socket | where the bytes were allocated (by area of the allocating frame) |")
    print("|---:|---|")
    for name, size in areas.most_common():
        if abs(size) / n >= 51:
            print(f"| {size / n / 1024:.1f} | {name} |")
    print("\n| KiB per socket | by file |")
    print("|---:|---|")
    for name, size in files.most_common(top):
        print(f"| {size / n / 1024:.1f} | {name} |")
    print("\n| KiB per socket | by line |")
    print("|---:|---|")
    for name, size in lines.most_common(top):
        print(f"| {size / n / 1024:.1f} | {name} |")
    print("\n| KiB per socket | allocated under our code (the newest frame of streamdesk) |")
    print("|---:|---|")
    for name, size in callers.most_common(top):
        print(f"| {size / n / 1024:.1f} | {name} |")


async def measure(run: Run, users: list[dict[str, Any]]) -> None:
    args = run.args
    n = args.sockets
    warm, rest = users[0], users[1:]
    if args.layout == "one-user":
        tabs = [Tab(rest[0]) for _ in range(n)]
    else:
        tabs = [Tab(rest[i // TABS_PER_USER]) for i in range(n)]
    assert run.proc is not None
    pid = run.proc.pid
    warm_tabs = [Tab(warm) for _ in range(TABS_PER_USER)]
    await open_tabs(run, warm_tabs, 4)
    await asyncio.sleep(args.settle)
    await close_tabs(warm_tabs[1:])  # the warm user's manager stays: one tab open
    await asyncio.sleep(args.settle)
    snap_before, tasks_before = run.snapshot(1)
    before = rss_kib(pid)
    started = time.monotonic()
    await open_tabs(run, tabs, args.concurrency)
    took = time.monotonic() - started
    await asyncio.sleep(args.settle)  # subscriptions applied, managers' first flushes
    snap_after, tasks_after = run.snapshot(2)
    after = rss_kib(pid)
    users_n = len({t.user["index"] for t in tabs})
    print(f"- sockets: {n} ({args.layout}: {users_n} users), open in {took:.1f} s")
    print(f"- frames received per socket before measuring: {sum(t.frames for t in tabs) / n:.1f}")
    ext = Counter(t.extensions or "none" for t in tabs)
    print(f"- negotiated extensions (client offered deflate: {args.compression}): {dict(ext)}")
    print(f"- daphne RSS: {before / 1024:.1f} MiB -> {after / 1024:.1f} MiB")
    print(f"- **RSS per socket: {(after - before) / n:.1f} KiB**")
    grown = tasks_after - tasks_before
    print(f"- asyncio tasks per socket: {sum(grown.values()) / n:.2f}")
    for name, count in grown.most_common(args.top):
        print(f"  - {count / n:5.2f}  {name}")
    if args.tracemalloc:
        breakdown(snap_before, snap_after, n, args.top)
    await close_tabs([*tabs, warm_tabs[0]])


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--serve":
        serve(int(sys.argv[2]), sys.argv[3], int(sys.argv[4]))
        return
    parser = argparse.ArgumentParser(
        prog="python -m bench.socket_memory",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--sockets", type=int, default=200)
    parser.add_argument("--layout", choices=("users", "one-user"), default="users")
    parser.add_argument("--tracemalloc", action="store_true")
    parser.add_argument("--frames", type=int, default=12, help="tracemalloc frames kept")
    parser.add_argument("--redis", action="store_true", help="the channels-redis core layer")
    parser.add_argument(
        "--no-compression",
        dest="compression",
        action="store_false",
        help="the client does not offer permessage-deflate",
    )
    parser.add_argument("--tick-rate", type=float, default=0.0)
    parser.add_argument("--concurrency", type=int, default=None, help="20; 4 traced")
    parser.add_argument("--settle", type=float, default=5.0)
    parser.add_argument("--top", type=int, default=20)
    args = parser.parse_args()
    if args.concurrency is None:
        args.concurrency = 4 if args.tracemalloc else 20
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    sys.path.insert(0, str(ROOT))
    from sandbox.core.config import SandboxConfig
    from sandbox.server import SandboxServer
    from tests.support.live import ALPACA_HEARTBEAT

    redis = None
    if args.redis:
        from tests.support.redis_server import RedisServer

        redis = RedisServer()
    args.redis_url = redis.url if redis is not None else ""
    users_n = 1 + (1 if args.layout == "one-user" else -(-args.sockets // TABS_PER_USER))
    print("## memory per socket (bench/socket_memory.py)\n")
    print(f"- command: `python -m bench.socket_memory {' '.join(sys.argv[1:])}`")
    print(f"- load average: {os.getloadavg()[0]:.2f} (1 min), {os.cpu_count()} CPUs")
    backend = os.environ.get("CHANNEL_LAYER_BACKEND", "channels_redis.core.RedisChannelLayer")
    print(f"- layer: {backend if redis else 'in-memory'}")
    config = SandboxConfig(tick_rate=args.tick_rate, alpaca_heartbeat_interval=ALPACA_HEARTBEAT)
    try:
        with SandboxServer(config) as sandbox, tempfile.TemporaryDirectory() as tmp:
            run = Run(args, Path(tmp), sandbox.url)
            users = run.users(users_n)
            run.start_daphne()
            try:
                asyncio.run(run.wait_http())
                asyncio.run(measure(run, users))
            finally:
                run.stop()
    finally:
        if redis is not None:
            redis.stop()
    print(f"- load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
