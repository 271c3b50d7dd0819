"""Option chain benchmark: 20 users open a 40-strike chain (80 options) at once.

    python -m bench.chain                          # tastytrade, 20 users, 40 strikes
    python -m bench.chain --broker tradier --users 20 --strikes 40 --measure 15

Starts the cluster the tests use (tests/support/cluster.py: Redis, PostgreSQL, the
sandbox and two daphne processes), creates `--users` users with one `--broker` sandbox
link each, and gives each user a dashboard tab (a WebSocket on process A or B,
alternating) so their streams run, as a trader's would. Then, all at once, every user
opens the chain page of SPY (first listed expiration) with `--strikes` strikes, as the
browser does: GET the server-rendered page (its embedded chain JSON), open the page's
socket, `subscribe` the visible options, and keep every value that arrives.

Measured:
- time to a full first render: from the page request until every option of the window
  has bid, ask and delta (from the page's JSON or the socket's frames), p50/p99;
- quote/greeks latency to the page: receive time minus the broker's event time (`t` of
  each option quote and greeks entry in the `quotes` frames, same host clock) over
  `--measure` seconds after all pages rendered, p50/p99;
- broker chain fetches: what the sandbox served for this chain (its per-chain counter).
The chain cache is cold at the start (the first open fetches).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import websockets

from sandbox.core.config import SandboxConfig
from tests.support.chains import chain_requests, chain_users
from tests.support.cluster import running_cluster
from tests.support.live import ALPACA_HEARTBEAT

CHAIN_JSON = re.compile(r'<script id="chain-data" type="application/json">(.*?)</script>', re.S)


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


class ChainTab:
    """One user's chain page: the page request, its socket, the values it holds."""

    def __init__(self, app: Any, user: dict[str, Any], path: str) -> None:
        self.app, self.user, self.path = app, user, path
        self.options: list[str] = []
        self.have: dict[str, dict[str, Any]] = {}
        self.rendered_at: float | None = None
        self.latencies: list[float] = []
        self.measuring = False
        self.frames = 0
        self.socket_ms: float | None = None
        self._ws: Any = None
        self._reader: asyncio.Task[None] | None = None

    def _complete(self) -> bool:
        return all(
            self.have.get(s, {}).get("bid") is not None
            and self.have[s].get("ask") is not None
            and self.have[s].get("delta") is not None
            for s in self.options
        )

    async def open_dashboard(self) -> None:
        headers = {"Cookie": f"sessionid={self.user['sessionid']}", "Origin": self.app.url}
        self.dashboard = await websockets.connect(self.app.ws_url, additional_headers=headers)

    async def open_chain(self, started: float) -> None:
        async with httpx.AsyncClient(base_url=self.app.url, timeout=30) as client:
            client.cookies.set("sessionid", self.user["sessionid"])
            page = await client.get(self.path)
        page.raise_for_status()
        self.page_ms = (time.monotonic() - started) * 1000
        self.timing = dict(
            re.findall(r"(\w+);dur=([0-9.]+)", page.headers.get("server-timing", ""))
        )
        chain = json.loads(CHAIN_JSON.search(page.text).group(1))
        for row in chain["rows"]:
            for side in ("call", "put"):
                s = row[side]
                self.options.append(s["symbol"])
                self.have[s["symbol"]] = {k: s.get(k) for k in ("bid", "ask", "delta")}
        headers = {"Cookie": f"sessionid={self.user['sessionid']}", "Origin": self.app.url}
        self._ws = await websockets.connect(self.app.ws_url, additional_headers=headers)
        self._reader = asyncio.create_task(self._read())
        wanted = [*self.options, chain["underlying"]]
        for i in range(0, len(wanted), 50):
            await self._ws.send(json.dumps({"type": "subscribe", "symbols": wanted[i : i + 50]}))
        if self._complete():
            self.rendered_at = time.monotonic() - started

    async def _read(self) -> None:
        with_t = ("quotes", "snapshot")
        try:
            async for raw in self._ws:
                now_ms = time.time() * 1000
                frame = json.loads(raw)
                self.frames += 1
                if frame.get("type") == "snapshot" and self.socket_ms is None:
                    self.socket_ms = (time.monotonic() - self.started) * 1000
                if frame.get("type") not in with_t:
                    continue
                for table, fields in (("quotes", ("bid", "ask")), ("greeks", ("delta",))):
                    for symbol, values in (frame.get(table) or {}).items():
                        if symbol not in self.have:
                            continue
                        entry = self.have[symbol]
                        for f in fields:
                            if values.get(f) is not None:
                                entry[f] = values[f]
                        if self.measuring and frame["type"] == "quotes" and values.get("t"):
                            self.latencies.append(now_ms - values["t"])
                if self.rendered_at is None and self._complete():
                    self.rendered_at = time.monotonic() - self.started
        except websockets.ConnectionClosed:
            pass

    async def close(self) -> None:
        for ws in (self._ws, getattr(self, "dashboard", None)):
            if ws is not None:
                await ws.close()
        if self._reader is not None:
            await self._reader


async def run(args: argparse.Namespace) -> None:
    # removed when the bench ends (the object goes when `run` returns)
    scratch = tempfile.TemporaryDirectory(prefix="bench-chain-", ignore_cleanup_errors=True)
    workdir = Path(scratch.name)
    config = SandboxConfig(
        tick_rate=args.tick_rate, alpaca_heartbeat_interval=ALPACA_HEARTBEAT, demo_order_interval=0
    )
    with running_cluster(workdir, config) as cluster:
        control = cluster.sandbox.control()
        users = chain_users(cluster.a, args.broker, args.users, "bc")
        print(f"{len(users)} {args.broker} users on 2 daphne processes", file=sys.stderr)
        async with httpx.AsyncClient(base_url=cluster.a.url, timeout=30) as client:
            client.cookies.set("sessionid", users[0]["sessionid"])
            dates = (await client.get("/api/chain/QQQ/expirations")).json()["expirations"]
        expiration = dates[0]["date"]
        path = f"/chain/{args.symbol}?expiration={expiration}&strikes={args.strikes}"
        tabs = [ChainTab(cluster.apps[i % 2], u, path) for i, u in enumerate(users)]
        await asyncio.gather(*(t.open_dashboard() for t in tabs))
        await asyncio.sleep(args.warmup)  # every user's stream is up (broker sessions)
        key = args.symbol if args.broker == "tastytrade" else f"{args.symbol}:{expiration}"
        before = chain_requests(control, args.broker, key)

        # the baseline: the same 20 users' requests through the same middleware (the
        # polling fallback's snapshot), all at once
        async def timed_get(app: Any, user: dict[str, Any], url: str) -> float:
            began = time.monotonic()
            async with httpx.AsyncClient(base_url=app.url, timeout=30) as client:
                client.cookies.set("sessionid", user["sessionid"])
                (await client.get(url)).raise_for_status()
            return (time.monotonic() - began) * 1000

        baseline = await asyncio.gather(*(timed_get(t.app, t.user, "/api/snapshot") for t in tabs))
        await asyncio.sleep(1)
        started = time.monotonic()
        for t in tabs:
            t.started = started
        await asyncio.gather(*(t.open_chain(started) for t in tabs))
        deadline = time.monotonic() + 30
        while any(t.rendered_at is None for t in tabs) and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        renders = [t.rendered_at * 1000 for t in tabs if t.rendered_at is not None]
        for t in tabs:
            t.measuring = True
        await asyncio.sleep(args.measure)
        latencies = [v for t in tabs for v in t.latencies]
        fetches = chain_requests(control, args.broker, key) - before
        await asyncio.gather(*(t.close() for t in tabs))
        control.close()

    print(
        f"\n## bench.chain: {args.users} users x {args.strikes} strikes"
        f" ({2 * args.strikes} options), {args.broker}"
    )
    print(
        f"command: python -m bench.chain --broker {args.broker} --users {args.users} "
        f"--strikes {args.strikes} --measure {args.measure}"
    )
    print("| measure | p50 | p99 | n | goal |")
    print("|---|---|---|---|---|")
    rendered = f"{len(renders)}/{len(tabs)}"
    print(
        f"| full first render (page request → every option has bid, ask, delta) | "
        f"{pct(renders, 50):.0f} ms | {pct(renders, 99):.0f} ms | {rendered} | < 1000 ms |"
    )
    if latencies:
        print(
            f"| quote/greeks to the page (receive - broker event time) | "
            f"{pct(latencies, 50):.0f} ms | {pct(latencies, 99):.0f} ms | {len(latencies)}"
            " | ≤ 300 ms |"
        )
    print(f"| broker chain fetches for {args.symbol} {expiration} | {fetches} | | | 1 per TTL |")
    print(
        f"(baseline, {len(baseline)} x GET /api/snapshot at once: p50 {pct(baseline, 50):.0f} ms,"
        f" p99 {pct(baseline, 99):.0f} ms)"
    )
    pages = [t.page_ms for t in tabs]
    print(f"(page request alone: p50 {pct(pages, 50):.0f} ms, p99 {pct(pages, 99):.0f} ms)")
    sockets = [t.socket_ms for t in tabs if t.socket_ms is not None]
    print(f"(page + socket snapshot: p50 {pct(sockets, 50):.0f} ms, p99 {pct(sockets, 99):.0f} ms)")
    for part in ("page", "chain", "render"):
        parts = [float(t.timing[part]) for t in tabs if part in t.timing]
        if parts:
            print(f"(server {part}: p50 {pct(parts, 50):.0f} ms, p99 {pct(parts, 99):.0f} ms)")
    if renders:
        print(f"(render mean {statistics.mean(renders):.0f} ms, max {max(renders):.0f} ms)")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--broker", choices=["tastytrade", "tradier"], default="tastytrade")
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--strikes", type=int, default=40, choices=[10, 20, 40])
    parser.add_argument("--symbol", default="SPY")
    parser.add_argument("--tick-rate", type=float, default=4.0)
    parser.add_argument("--warmup", type=float, default=4.0)
    parser.add_argument("--measure", type=float, default=15.0)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
