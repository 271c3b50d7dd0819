"""Memory of idle users' stream managers (issue 15): what one more logged-in user costs.

    python -m bench.idle_users --users 100
    python -m bench.idle_users --users 100 --tracemalloc     # + where the bytes are
    python -m bench.idle_users --users 100 --broker tradier  # a Tradier link each

Starts the sandbox (`manage.py sandbox`, no ticks) on a free loopback port, then in this
process builds `--users` stream managers exactly as the app does (a tastytrade link per
user: OAuth session, DXLink subscribed to `--symbols` symbols, the account streamer and a
REST snapshot; or a Tradier link: REST, the market stream, account polling), waits until
every link is live, and reports the growth of this process's RSS (and, with
`--tracemalloc`, of Python's allocations, by file) per user. A warm-up manager runs
first so imports and process-wide caches are not counted. Nothing ticks: the number is
what an idle user holds, not what a busy one allocates in flight.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import os
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def rss_kib() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def start_sandbox(workdir: Path) -> tuple[subprocess.Popen[Any], str]:
    from tests.support.redis_server import free_port

    port = free_port()
    log = open(workdir / "sandbox.log", "wb")  # noqa: SIM115 - the process owns it
    proc = subprocess.Popen(
        [sys.executable, "manage.py", "sandbox", "--port", str(port), "--tick-rate", "0"],
        cwd=ROOT,
        env=os.environ.copy(),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    return proc, f"http://127.0.0.1:{port}"


async def wait_for_sandbox(url: str, proc: subprocess.Popen[Any]) -> None:
    import httpx

    deadline = time.monotonic() + 30
    async with httpx.AsyncClient(base_url=url, timeout=5) as client:
        while True:
            with contextlib.suppress(httpx.TransportError):
                if (await client.get("/_sandbox/state")).status_code == 200:
                    return
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the sandbox did not start")
            await asyncio.sleep(0.1)


def make_manager(index: int, symbols: list[str], broker: str) -> Any:
    from django.conf import settings

    from streaming.brokers.tastytrade.adapter import TastytradeAdapter
    from streaming.brokers.tradier.adapter import TradierAdapter
    from streaming.stream.manager import LinkInfo, UserStreamManager
    from streaming.wiring import stream_config

    async def publish(frame: dict[str, Any], text: str) -> None:
        return None

    adapter: Any
    if broker == "tradier":
        adapter = TradierAdapter(
            link_id=index,
            access_token=f"idle-tradier-{index}",
            api_url=settings.TRADIER_API_URL,
            stream_url=settings.TRADIER_STREAM_URL,
            config=stream_config(),
        )
    else:
        adapter = TastytradeAdapter(
            link_id=index,
            provider_secret="bench-secret",
            refresh_token=f"idle-refresh-{index}",
            config=stream_config(),
        )
    info = LinkInfo(index, broker, f"idle {index}", simulated=True)
    return UserStreamManager(
        index, links=[(info, adapter)], publish=publish, watchlist=(symbols, 1)
    )


async def start_all(managers: list[Any], concurrency: int, within: float) -> int:
    sem = asyncio.Semaphore(concurrency)

    async def one(manager: Any) -> bool:
        async with sem:
            await manager.start()
            return await manager.wait_ready(within)

    return sum(await asyncio.gather(*(one(m) for m in managers)))


def task_names(tasks: set[asyncio.Task[Any]]) -> Counter[str]:
    """Running tasks by their coroutine's qualified name (anyio's task-group children
    show as the function anyio runs)."""
    names: Counter[str] = Counter()
    for task in tasks:
        coro = task.get_coro()
        names[getattr(coro, "__qualname__", type(coro).__name__)] += 1
    return names


def by_file(diff: list[tracemalloc.StatisticDiff], top: int) -> list[tuple[str, int]]:
    sizes: Counter[str] = Counter()
    for stat in diff:
        frame = stat.traceback[0]
        name = frame.filename
        for marker in ("site-packages/", "/streaming/", "/lib/python3"):
            if marker in name:
                name = name.split(marker, 1)[1]
                break
        sizes[name] += stat.size_diff
    return sizes.most_common(top)


async def run(args: argparse.Namespace) -> None:
    import django

    django.setup()
    symbols = [f"B{i:03d}" for i in range(args.symbols)]
    warm = make_manager(100_000, symbols, args.broker)
    if await start_all([warm], 1, 30) != 1:
        raise RuntimeError("the warm-up manager did not get ready")
    await asyncio.sleep(1.0)
    managers = [make_manager(i + 1, symbols, args.broker) for i in range(args.users)]
    gc.collect()
    if args.tracemalloc:
        tracemalloc.start(1)
        before_snap = tracemalloc.take_snapshot()
    before = rss_kib()
    tasks_before = task_names(asyncio.all_tasks())
    started = time.monotonic()
    ready = await start_all(managers, args.concurrency, args.ready_timeout)
    took = time.monotonic() - started
    await asyncio.sleep(args.settle)  # subscriptions, first reconciles
    gc.collect()
    after = rss_kib()
    tasks_after = task_names(asyncio.all_tasks())
    n = len(managers)
    print(
        f"- users: {n} {args.broker} ({ready} ready in {took:.1f} s), "
        f"{args.symbols} symbols each, idle"
    )
    print(f"- RSS: {before / 1024:.1f} MiB -> {after / 1024:.1f} MiB")
    print(f"- **RSS per idle user: {(after - before) / n:.0f} KiB**")
    grown = tasks_after - tasks_before
    print(f"- asyncio tasks per idle user: {sum(grown.values()) / n:.1f}")
    for name, count in grown.most_common(args.top):
        print(f"  - {count / n:5.2f}  {name}")
    if args.tracemalloc:
        diff = tracemalloc.take_snapshot().compare_to(before_snap, "lineno")
        total = sum(s.size_diff for s in diff)
        print(f"- Python allocations per idle user (tracemalloc): {total / n / 1024:.0f} KiB")
        print("- where (KiB per user, by file):")
        for name, size in by_file(diff, args.top):
            print(f"  - {size / n / 1024:7.1f}  {name}")
        print("- where (KiB per user, by line):")
        for stat in sorted(diff, key=lambda s: -s.size_diff)[: args.top]:
            frame = stat.traceback[0]
            where = f"{frame.filename.rsplit('site-packages/', 1)[-1]}:{frame.lineno}"
            print(f"  - {stat.size_diff / n / 1024:7.1f}  {where}")
        tracemalloc.stop()
    for manager in [warm, *managers]:
        await manager.stop()


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.idle_users",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--symbols", type=int, default=20)
    parser.add_argument("--broker", choices=("tastytrade", "tradier"), default="tastytrade")
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--ready-timeout", type=float, default=60.0)
    parser.add_argument("--settle", type=float, default=3.0, help="seconds after ready")
    parser.add_argument("--tracemalloc", action="store_true")
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args()
    # removed when the bench ends
    scratch = tempfile.TemporaryDirectory(prefix="streamdesk-idle-", ignore_cleanup_errors=True)
    workdir = Path(scratch.name)
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "SQLITE_PATH": str(workdir / "db.sqlite3"),
            "STREAM_RECORD_DIR": str(workdir / "recordings"),
            "BROKER_ENV": "sandbox",
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
            "TASTYTRADE_LOG_LEVEL": "WARNING",
            "LOG_LEVEL": "WARNING",
            "REDIS_URL": "",
        }
    )
    if not os.environ.get("STREAMDESK_ENCRYPTION_KEYS"):
        from cryptography.fernet import Fernet

        os.environ["STREAMDESK_ENCRYPTION_KEYS"] = Fernet.generate_key().decode()
    proc, url = start_sandbox(workdir)
    os.environ["TASTYTRADE_BASE_URL"] = os.environ["SANDBOX_URL"] = url
    print("## idle users' managers (bench/idle_users.py)\n")
    print(f"- command: `python -m bench.idle_users {' '.join(sys.argv[1:])}`")
    print(f"- load average: {os.getloadavg()[0]:.2f} (1 min), {os.cpu_count()} CPUs")
    from streaming.runtime import loop as event_loop

    uvloop = event_loop.install()  # the managers' loop, as in the server processes
    print(f"- event loop: {'uvloop' if uvloop else 'asyncio'} (STREAM_UVLOOP)")
    try:
        asyncio.run(wait_for_sandbox(url, proc))
        asyncio.run(run(args))
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


if __name__ == "__main__":
    main()
