"""How fast the sandbox streams DXLink quotes: to 1 client and to 100 clients.

Starts `manage.py sandbox` as its own process on a free loopback port, connects N
DXLink clients (raw websockets in one asyncio process, or the real SDK with --sdk),
subscribes each to S symbols, sets the sandbox's tick rate, and after a warm-up
counts Quote events received for a fixed time. Prints one row per scenario.
Bounded in time, loopback only, and stops the sandbox it started.

    python -m bench.sandbox_dxlink                  # the preset scenarios
    python -m bench.sandbox_dxlink --clients 100 --symbols 50 --tick-rate 10
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import sys
import time
from dataclasses import dataclass
from subprocess import DEVNULL

import httpx

from sandbox import probe

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLK_TCK = os.sysconf("SC_CLK_TCK")
#: How long `manage.py sandbox` may take to answer: a Django start-up, ~3 s on a quiet box
#: and several times that on a loaded one.
SANDBOX_START = 60.0


@dataclass
class Scenario:
    clients: int
    symbols: int
    tick_rate: float
    period: float = 0.1
    sdk: bool = False


PRESETS = [
    Scenario(clients=1, symbols=500, tick_rate=10),
    Scenario(clients=1, symbols=2000, tick_rate=10),
    Scenario(clients=1, symbols=2000, tick_rate=40),
    Scenario(clients=1, symbols=2000, tick_rate=40, period=0.01),
    Scenario(clients=1, symbols=500, tick_rate=10, sdk=True),
    Scenario(clients=100, symbols=50, tick_rate=4),
    Scenario(clients=100, symbols=50, tick_rate=10),
    Scenario(clients=100, symbols=50, tick_rate=10, period=0.25),
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


async def raw_client(url, token, symbols, period, counts, i, ready, stop) -> None:
    ws = await probe.open_quote_feed(url, token, symbols, period=period)
    async with ws:
        ready.set()
        n = len(probe.QUOTE_FIELDS)
        while not stop.is_set():
            try:
                raw = await asyncio.wait_for(ws.recv(), 1.0)
            except TimeoutError:
                continue
            if raw.startswith('{"type":"FEED_DATA"'):
                counts[i] += len(json.loads(raw)["data"][1]) // n


async def sdk_client(base, refresh, symbols, period, counts, i, ready, stop) -> None:
    from tastytrade import DXLinkStreamer, Session
    from tastytrade.dxfeed import Quote

    session = Session("bench", refresh)
    session._client.base_url = base
    async with session, DXLinkStreamer(session) as streamer:
        await streamer.subscribe(Quote, symbols, refresh_interval=period)
        ready.set()
        while not stop.is_set():
            try:
                await asyncio.wait_for(streamer.get_event(Quote), 1.0)
                counts[i] += 1
            except TimeoutError:
                continue


async def run(scenario: Scenario, warmup: float, duration: float) -> dict:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = [
        "manage.py",
        "sandbox",
        "--port",
        str(port),
        "--tick-rate",
        "0",
        "--demo-orders",
        "0",
    ]
    proc = await asyncio.create_subprocess_exec(
        sys.executable, *command, cwd=ROOT, stdout=DEVNULL, stderr=DEVNULL
    )
    try:
        async with httpx.AsyncClient(base_url=base) as control:
            deadline = time.monotonic() + SANDBOX_START
            while True:
                try:
                    await control.get("/_sandbox/state")
                    break
                except httpx.TransportError:
                    if proc.returncode is not None or time.monotonic() > deadline:
                        raise RuntimeError("the sandbox did not start") from None
                    await asyncio.sleep(0.05)
            symbols = [f"B{i:04d}" for i in range(scenario.symbols)]
            counts = [0] * scenario.clients
            stop = asyncio.Event()
            tasks, readies = [], []
            for i in range(scenario.clients):
                ready = asyncio.Event()
                readies.append(ready)
                refresh = f"bench-{i}"
                if scenario.sdk:
                    args = (symbols, scenario.period, counts, i, ready, stop)
                    coro = sdk_client(base, refresh, *args)
                else:
                    token = await probe.quote_token(base, refresh)
                    url = f"ws://127.0.0.1:{port}/dxlink"
                    coro = raw_client(url, token, symbols, scenario.period, counts, i, ready, stop)
                tasks.append(asyncio.create_task(coro))
            await asyncio.wait_for(asyncio.gather(*(r.wait() for r in readies)), 60)
            await control.post("/_sandbox/config", json={"tick_rate": scenario.tick_rate})
            await asyncio.sleep(warmup)
            start_counts, start_cpu, start = sum(counts), cpu_seconds(proc.pid), time.monotonic()
            state0 = (await control.get("/_sandbox/state")).json()["totals"]
            await asyncio.sleep(duration)
            elapsed = time.monotonic() - start
            received = sum(counts) - start_counts
            cpu = (cpu_seconds(proc.pid) - start_cpu) / elapsed * 100
            state1 = (await control.get("/_sandbox/state")).json()["totals"]
            stop.set()
            await asyncio.gather(*tasks, return_exceptions=True)
            ticks = (state1.get("ticks", 0) - state0.get("ticks", 0)) / elapsed
            return {
                "clients": scenario.clients,
                "symbols": scenario.symbols,
                "client": "sdk" if scenario.sdk else "raw",
                "tick_rate_hz": scenario.tick_rate,
                "period_s": scenario.period,
                "ticks_per_s": round(ticks),
                "quotes_per_s_total": round(received / elapsed),
                "quotes_per_s_per_client": round(received / elapsed / scenario.clients),
                "sandbox_cpu_pct": round(cpu),
                "sandbox_rss_mb": round(rss_mb(proc.pid)),
            }
    finally:
        proc.terminate()
        try:
            await asyncio.wait_for(proc.wait(), 10)
        except TimeoutError:
            proc.kill()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clients", type=int)
    parser.add_argument("--symbols", type=int, default=50)
    parser.add_argument("--tick-rate", type=float, default=10)
    parser.add_argument("--period", type=float, default=0.1)
    parser.add_argument("--sdk", action="store_true", help="use the real SDK as the client")
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--duration", type=float, default=8.0)
    args = parser.parse_args()
    scenarios = (
        [Scenario(args.clients, args.symbols, args.tick_rate, args.period, args.sdk)]
        if args.clients
        else PRESETS
    )
    columns = [
        "clients", "symbols", "client", "tick_rate_hz", "period_s", "ticks_per_s",
        "quotes_per_s_total", "quotes_per_s_per_client", "sandbox_cpu_pct", "sandbox_rss_mb",
    ]  # fmt: skip
    print("| " + " | ".join(columns) + " |")
    print("|" + "---|" * len(columns))
    for scenario in scenarios:
        row = asyncio.run(run(scenario, args.warmup, args.duration))
        print("| " + " | ".join(str(row[c]) for c in columns) + " |", flush=True)


if __name__ == "__main__":
    main()
