"""How fast Tradier quotes and Alpaca fills reach the stream manager, against the sandbox.

Starts `manage.py sandbox` as its own process on a free loopback port and runs the real
adapters (httpx, httpx-sse) in this process into a timing sink:

- Tradier: the two-step start (session → HTTP stream → first quote), then quote latency
  (the broker's event time → the sink) and rate for S symbols.
- Alpaca: an order is placed and filled one step at a time; latency from the step (the
  moment the sandbox fills) to the order event with that fill in the sink, once over
  the SSE trade-event stream and once with the stream refused (the polling fallback).

Bounded in time, loopback only, and stops the sandbox it started.

    python -m bench.brokers
    python -m bench.brokers --symbols 40 --seconds 10 --fills 30
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import statistics
import subprocess
import sys
import time
from subprocess import DEVNULL
from typing import Any

import httpx

from sandbox.server import SandboxControl
from streaming.brokers.alpaca.adapter import AlpacaAdapter
from streaming.brokers.base import MemoryCheckpoint, StreamConfig
from streaming.brokers.tradier.adapter import TradierAdapter

from .sandbox_dxlink import free_port

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SYMBOLS = "SPY QQQ IWM DIA AAPL MSFT NVDA TSLA AMZN GOOGL META AMD NFLX INTC CSCO ORCL".split()
#: How long `manage.py sandbox` may take to answer: a Django start-up, ~3 s on a quiet box
#: and several times that on a loaded one.
SANDBOX_START = 60.0
#: Steps of the sandbox's brokerage one market order may take: Received -> Live, then
#: its fills (one step each); more means it will not fill.
STEPS_PER_ORDER = 10
ORDER = {
    "time-in-force": "Day",
    "order-type": "Market",
    "legs": [
        {"instrument-type": "Equity", "symbol": "INTC", "action": "Buy to Open", "quantity": 60}
    ],
}


class TimingSink:
    """Records when things arrive (monotonic and wall clock); nothing else."""

    def __init__(self) -> None:
        self.quote_lags: list[float] = []
        self.first_quote_at: float | None = None
        self.quotes = 0
        self.orders: list[tuple[float, dict[str, Any]]] = []
        self.fills: list[tuple[float, dict[str, Any]]] = []  # the order events that add a fill
        self._fill_rows: dict[str, int] = {}
        self.states: list[tuple[str, str]] = []
        self.changed = asyncio.Event()

    def quote(self, symbol: str, fields: dict[str, Any]) -> None:
        self.quotes += 1
        if self.first_quote_at is None:
            self.first_quote_at = time.monotonic()
        if "t" in fields and "bid" in fields:
            self.quote_lags.append(time.time() * 1000 - fields["t"])

    def greeks(self, symbol: str, fields: dict[str, Any]) -> None:
        pass

    async def account_event(self, kind: str, link_id: int, account: str, payload: Any) -> None:
        if kind == "order":
            arrived = time.monotonic()
            self.orders.append((arrived, payload))
            legs = payload.get("legs") or [{}]
            rows = len(legs[0].get("fills") or [])
            if rows > self._fill_rows.get(payload["id"], 0):
                self._fill_rows[payload["id"]] = rows
                self.fills.append((arrived, payload))
            self.changed.set()

    async def status(
        self, link_id: int, state: str, reason: str = "", *, kind: str = "all", **extra: Any
    ) -> None:
        self.states.append((state, reason))
        self.changed.set()

    def fresh(self, link_id: int, kind: str) -> None:
        pass

    async def authorized(self) -> bool:
        return True


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def fast_config(**overrides: Any) -> StreamConfig:
    values = dict(watchdog_timeout=10, backoff_base=0.2, backoff_cap=2, order_poll_interval=2.0)
    return StreamConfig(**{**values, **overrides})


async def wait_for(sink: TimingSink, condition, within: float = 20.0) -> None:
    """Until `condition()` holds (checked whenever the sink hears something)."""
    deadline = time.monotonic() + within
    while not condition():
        sink.changed.clear()
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("condition not met")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(sink.changed.wait(), min(remaining, 0.05))


async def grows(sink: TimingSink, action) -> None:
    """Run `action` and wait until the sink has one more order event than before it."""
    before = len(sink.orders)
    await action()
    await wait_for(sink, lambda: len(sink.orders) > before, within=10)


async def tradier(base: str, symbols: int, seconds: float) -> None:
    adapter = TradierAdapter(
        link_id=1,
        access_token="bench-tradier-token",
        api_url=f"{base}/tradier",
        stream_url=f"{base}/tradier",
        config=fast_config(account_poll_interval=60, order_poll_interval=60),
    )
    wanted = set(SYMBOLS[:symbols])
    adapter.set_symbols(wanted)
    sink = TimingSink()
    started = time.monotonic()
    task = asyncio.create_task(adapter.run(sink))
    try:
        await wait_for(sink, lambda: sink.first_quote_at is not None)
        first = sink.first_quote_at - started
        sink.quote_lags.clear()
        counted_from, quotes_before = time.monotonic(), sink.quotes
        await asyncio.sleep(seconds)
        rate = (sink.quotes - quotes_before) / (time.monotonic() - counted_from)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    lags = sink.quote_lags
    print(
        f"tradier  symbols={len(wanted):3d}  connect→first quote {first * 1000:6.0f} ms"
        f" (profile, snapshot, session, stream)  quote events {rate:7.1f}/s"
        f"  broker t→adapter p50 {pct(lags, 0.5):5.1f} ms  p99 {pct(lags, 0.99):5.1f} ms"
        f"  (n={len(lags)})"
    )


async def alpaca(base: str, control: SandboxControl, fills: int, *, polling: bool) -> None:
    key = f"BENCH{'POLL' if polling else 'SSE'}KEY"
    if polling:
        await asyncio.to_thread(control.fault, "refuse_sessions", target="alpaca-sse", status=503)
    adapter = AlpacaAdapter(
        link_id=2,
        key_id=key,
        secret_key="bench-secret",
        api_url=f"{base}/alpaca",
        checkpoint=MemoryCheckpoint(),
        config=fast_config(account_poll_interval=60),
    )
    sink = TimingSink()
    task = asyncio.create_task(adapter.run(sink))
    lags: list[float] = []
    try:
        await wait_for(sink, lambda: any(s == "live" for s, _ in sink.states))
        async with httpx.AsyncClient(base_url=f"{base}/alpaca", auth=(key, "bench-secret")) as api:
            number = (await api.get("/v1/accounts")).json()[0]["account_number"]
        for _ in range(fills):
            await grows(sink, lambda: asyncio.to_thread(control.place_order, number, ORDER))
            for _step in range(STEPS_PER_ORDER):
                # a random phase against the poll interval, as real fills have
                await asyncio.sleep(random.uniform(0, 2.0))
                before = len(sink.fills)
                stepped_at = time.monotonic()
                stepped = await asyncio.to_thread(control.step)
                if not any(e["kind"] == "CurrentPosition" for e in stepped["events"]):
                    # Received -> Live: no fill to time (Alpaca said `new` when it was placed)
                    continue
                try:
                    await wait_for(sink, lambda before=before: len(sink.fills) > before, within=10)
                except TimeoutError:
                    break
                arrived, payload = sink.fills[before]
                lags.append((arrived - stepped_at) * 1000)
                if payload.get("status") in ("filled", "Filled"):
                    break
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        if polling:
            await asyncio.to_thread(control.clear_faults)
    how = "polling fallback (stream refused)" if polling else "SSE trade events"
    print(
        f"alpaca   {how:34s} step→order event p50 {pct(lags, 0.5):7.1f} ms"
        f"  p99 {pct(lags, 0.99):7.1f} ms  max {max(lags, default=float('nan')):7.1f} ms"
        f"  (n={len(lags)}, mean {statistics.fmean(lags) if lags else float('nan'):.1f} ms)"
    )


async def main(args: argparse.Namespace) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = [sys.executable, "manage.py", "sandbox", "--port", str(port)]
    command += ["--tick-rate", str(args.tick_rate)]
    proc = subprocess.Popen(command, cwd=ROOT, stdout=DEVNULL, stderr=DEVNULL)  # noqa: ASYNC220
    control = SandboxControl(base)
    try:
        deadline = time.monotonic() + SANDBOX_START
        while True:
            try:
                control.state()
                break
            except httpx.HTTPError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the sandbox did not start") from None
                await asyncio.sleep(0.1)
        control.configure(order_step_interval=0, demo_order_interval=0)
        await tradier(base, args.symbols, args.seconds)
        await alpaca(base, control, args.fills, polling=False)
        polled = args.polled_fills if args.polled_fills is not None else max(3, args.fills // 3)
        await alpaca(base, control, polled, polling=True)
    finally:
        control.close()
        proc.terminate()
        proc.wait(timeout=10)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--symbols", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--tick-rate", type=float, default=10.0)
    parser.add_argument("--fills", type=int, default=15)
    parser.add_argument(
        "--polled-fills", type=int, help="fills over the polling fallback (max(3, fills / 3))"
    )
    asyncio.run(main(parser.parse_args()))
