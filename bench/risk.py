"""Risk: the recompute on each underlying tick, and `GET /api/risk/<U>` for 200 prices.

    python -m bench.risk
    python -m bench.risk --ticks 5000 --requests 500

(a) **recompute**: a synthetic snapshot of 500 option legs over 20 underlyings (25 legs
each across two accounts, with quotes, greeks and metrics); on each tick one underlying's
quote moves, then `underlying_rows` (β-weighted delta, IV rank, expected move) and every
underlying's greeks and P&L at its current price (`streaming/risk/model.py` over all 500
legs, summed per underlying) are computed again: p50/p99 over `--ticks` ticks, in this
process. The legs' arrays are made once (positions change with position frames, not
with quotes).

(b) **API**: the sandbox (this process's thread) and one daphne (tests/support/live.py:
SQLite, in-memory layer) on free loopback ports; the demo user logged in; `GET
/api/risk/SPY` with 200 prices, `--requests` times one after another (after a warm-up),
timed at the client: p50/p99.

Prints markdown rows for docs/performance.md ("Risk"). Bounded; stops what it started.
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from sandbox.core.config import SandboxConfig
from sandbox.server import SandboxServer
from streaming.risk.exposure import underlying_rows
from streaming.risk.legs import legs_from_snapshot
from streaming.risk.model import valuation
from tests.support.live import ALPACA_HEARTBEAT, DEMO_USER, LiveApp

GOALS = {"recompute_p99_ms": 50.0, "api_p99_ms": 100.0}
UNDERLYINGS = [f"U{i:02d}" for i in range(19)] + ["SPY"]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


def synthetic_snapshot(now_ms: int) -> dict[str, Any]:
    """500 option legs over 20 underlyings in two accounts, with every input present."""
    rng = np.random.default_rng(7)
    quotes: dict[str, Any] = {}
    greeks: dict[str, Any] = {}
    metrics: dict[str, Any] = {}
    accounts: dict[str, list[dict[str, Any]]] = {"A1": [], "A2": []}
    for n, u in enumerate(UNDERLYINGS):
        price = 50.0 + 25 * n
        quotes[u] = {"bid": price - 0.01, "ask": price + 0.01, "last": price, "t": now_ms}
        metrics[u] = {"beta": 0.8 + n / 40, "iv_index": 0.25, "iv_rank": 30.0, "t": now_ms}
        for j in range(25):
            day = dt.date(2027, 1 + j % 6, 15)
            right = "C" if j % 2 else "P"
            strike = round(price * (0.8 + 0.02 * j))
            streamer = f".{u}{day:%y%m%d}{right}{strike}"
            greeks[streamer] = {"iv": 0.2 + rng.random() * 0.2, "delta": 0.5, "t": now_ms}
            accounts["A1" if j % 2 else "A2"].append(
                {
                    "symbol": f"{u}_{day:%y%m%d}{right}{strike}",
                    "streamer_symbol": streamer,
                    "underlying": u,
                    "instrument_type": "Equity Option",
                    "quantity": 1 + j % 3,
                    "direction": "Short" if j % 3 == 0 else "Long",
                    "average_open_price": 3.0,
                    "multiplier": 100,
                    "expires_at": int(dt.datetime(2027, 1 + j % 6, 15, 21).timestamp() * 1000),
                }
            )
    return {
        "accounts": [{"number": k, "positions": v} for k, v in accounts.items()],
        "quotes": quotes,
        "greeks": greeks,
        "metrics": metrics,
    }


class Book:
    """The legs as arrays, made when positions change (a position frame), not per tick."""

    def __init__(self, snapshot: dict[str, Any], now: dt.datetime) -> None:
        legs = legs_from_snapshot(snapshot)
        names = sorted({leg.underlying for leg in legs})
        self.underlyings = names
        self.index = np.array([names.index(leg.underlying) for leg in legs])
        self.is_call = np.array([leg.kind == "call" for leg in legs])
        self.strike = np.array([float(leg.strike or 0.0) for leg in legs])
        self.years = np.array(
            [
                (leg.expires_at - now).total_seconds() / 31_536_000 if leg.expires_at else 0.0
                for leg in legs
            ]
        )
        self.iv = np.array([leg.iv or 0.0 for leg in legs])
        self.size = np.array([leg.quantity * leg.multiplier for leg in legs])
        self.cost = np.array([float(leg.cost or 0.0) for leg in legs])


def recompute(snapshot: dict[str, Any], book: Book, now: dt.datetime) -> dict[str, Any]:
    """What a tick costs: the underlyings' rows (β-weighted delta, IV rank, expected
    move), and every leg's greeks and P&L at its underlying's current price, summed per
    underlying."""
    rows = underlying_rows(snapshot, now_ms=int(now.timestamp() * 1000))
    price = {r.underlying: r.price or 0.0 for r in rows}
    spot = np.array([price[u] for u in book.underlyings])[book.index]
    v = valuation(book.is_call, spot, book.strike, book.years, book.iv, 0.04, 0.0)
    n = len(book.underlyings)
    return {
        "rows": rows,
        "pnl": np.bincount(book.index, (v.value - book.cost) * book.size, n),
        "delta": np.bincount(book.index, v.delta * book.size, n),
        "gamma": np.bincount(book.index, v.gamma * book.size, n),
        "theta": np.bincount(book.index, v.theta * book.size, n),
        "vega": np.bincount(book.index, v.vega * book.size, n),
    }


def bench_recompute(ticks: int) -> list[float]:
    now = dt.datetime.now(dt.UTC)
    snapshot = synthetic_snapshot(int(now.timestamp() * 1000))
    book = Book(snapshot, now)
    assert len(book.size) == 500 and len(book.underlyings) == 20
    times = []
    for i in range(ticks):
        u = UNDERLYINGS[i % len(UNDERLYINGS)]
        q = snapshot["quotes"][u]
        step = 0.01 if i % 2 else -0.01
        q["bid"] += step
        q["ask"] += step
        start = time.perf_counter()
        recompute(snapshot, book, now)
        times.append((time.perf_counter() - start) * 1000)
    return times


def bench_api(requests: int) -> list[float]:
    with SandboxServer(
        SandboxConfig(
            tick_rate=10, alpaca_heartbeat_interval=ALPACA_HEARTBEAT, demo_order_interval=0
        )
    ) as sandbox:
        # removed when the bench ends
        scratch = tempfile.TemporaryDirectory(prefix="bench-risk-", ignore_cleanup_errors=True)
        app = LiveApp(sandbox.url, Path(scratch.name)).start()
        try:
            client = app.login(*DEMO_USER)
            prices = ",".join(f"{400 + i * 1.5:.2f}" for i in range(200))
            deadline = time.monotonic() + 30
            while client.get(f"/api/risk/SPY?prices={prices}").status_code != 200:
                if time.monotonic() > deadline:
                    raise SystemExit("no risk answer within 30 s")
                time.sleep(0.2)
            for _ in range(20):  # warm-up
                client.get(f"/api/risk/SPY?prices={prices}")
            times = []
            for _ in range(requests):
                start = time.perf_counter()
                r = client.get(f"/api/risk/SPY?prices={prices}")
                times.append((time.perf_counter() - start) * 1000)
                assert r.status_code == 200 and len(r.json()["points"]) == 200
            client.close()
            return times
        finally:
            app.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ticks", type=int, default=2000)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    rec = bench_recompute(args.ticks)
    print(
        f"| risk recompute, 500 legs / 20 underlyings, per tick ({args.ticks} ticks) | "
        f"p50 {pct(rec, 50):.2f} ms, p99 {pct(rec, 99):.2f} ms | "
        f"p99 ≤ {GOALS['recompute_p99_ms']:.0f} ms |"
    )
    api = bench_api(args.requests)
    print(
        f"| `GET /api/risk/SPY`, 200 prices ({args.requests} requests) | "
        f"p50 {pct(api, 50):.1f} ms, p99 {pct(api, 99):.1f} ms | "
        f"p99 ≤ {GOALS['api_p99_ms']:.0f} ms |"
    )


if __name__ == "__main__":
    main()
