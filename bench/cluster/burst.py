"""`--burst` (or the phase `burst`): one phase at the given size in three windows back to
back, the way a market open comes: quiet (the configured quote rate for `--duration` s),
burst (`--burst-factor` x that rate for `--burst-seconds` s) and recovery (the configured
rate again for `--duration` s).

The sandbox's tick rate changes live through its control API (`POST /_sandbox/config`, read
by its ticker on every wake-up); nothing restarts. The burst's tick rate is calibrated like
the quiet one's, before the quiet window: the sandbox sends a symbol's ticks within one
aggregation period as one event (as DXLink does), so 10x the ticks is fewer than 10x the
events. At each boundary the tabs' counts roll over in one step (the load generators'
`lap`), then the CPU, the sandbox's totals and each daphne's /metrics are read and the next
rate is set: each window's quotes are all of its own rate. A fill is judged on what the tabs
had at the end of the drain (an order placed late in one window is filled in the next), and
`streamdesk_streams_paced` is also sampled each second for its peak in each window."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

from bench.cluster.broker import place_orders, set_tick_rate
from bench.cluster.metrics import PACED, pacing_counts, summed
from bench.cluster.processes import rss_mb
from bench.cluster.servers import Cluster, Servers
from bench.cluster.tabs import LoadProc, ask_all, merge_status
from bench.cluster.window import (
    Reading,
    Window,
    cpu_by_kind,
    read_box,
    watched_processes,
    window_row,
)

QUIET, BURST, RECOVERY = "quiet", "burst", "recovery"


@dataclass(frozen=True)
class BurstPlan:
    """The burst's size and length; quiet and recovery last `calm_seconds` each."""

    factor: float
    burst_seconds: float
    calm_seconds: float

    def windows(self, quiet_tick: float, burst_tick: float) -> list[tuple[str, float, float]]:
        """(name, seconds, sandbox tick rate) of each window, in order."""
        return [
            (QUIET, self.calm_seconds, quiet_tick),
            (BURST, self.burst_seconds, burst_tick),
            (RECOVERY, self.calm_seconds, quiet_tick),
        ]


async def calibrate_burst(
    cluster: Cluster,
    plan: BurstPlan,
    quote_rate: float,
    quiet_tick: float,
    scope: tuple[int, int, int, set[str]],
) -> float:
    """The tick rate that gives `plan.factor` x `quote_rate` quote events/s (calibrated on
    what the sandbox really sends, as the quiet rate is); the quiet rate is set again after.
    `scope`: the users, subscribed pairs, users live and their credential ids."""
    users, pairs, live, creds = scope
    burst_tick = await set_tick_rate(
        cluster, quote_rate * plan.factor, None, users, pairs, live, creds
    )
    await cluster.sandbox_config(tick_rate=quiet_tick)
    return burst_tick


@dataclass
class Boundary:
    """What was read at the start or end of a window."""

    at: float
    reading: Reading
    state: dict[str, Any]
    pacing: list[dict[str, float]]
    rss: list[float]
    worker_rss: list[float]


class PeakPaced:
    """`streamdesk_streams_paced` (summed over the daphnes) sampled each second; `take()`
    is the peak since the last `take()`."""

    def __init__(self, ports: list[int]) -> None:
        self.ports = ports
        self.peak = 0.0
        self.task = asyncio.create_task(self.sample())

    async def sample(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            self.peak = max(self.peak, summed(await pacing_counts(self.ports), PACED))

    def take(self, also: float) -> float:
        peak, self.peak = max(self.peak, also), 0.0
        return peak

    async def stop(self) -> None:
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task


async def read_boundary(
    cluster: Cluster,
    servers: Servers,
    watched: dict[str, list[int]],
    next_tick: float | None = None,
) -> Boundary:
    """The readings at a boundary; `next_tick`, the next window's tick rate, is set right
    after the sandbox's totals are read (its events at the old rate are all counted)."""
    reading = read_box(watched, cpu_by_kind(watched))
    at = time.monotonic()
    state = await cluster.sandbox_state()
    if next_tick is not None:
        await cluster.sandbox_config(tick_rate=next_tick)
    pacing = await pacing_counts(servers.ports)
    return Boundary(
        at,
        reading,
        state,
        pacing,
        [rss_mb(p.pid) for p, _, _ in servers.daphnes],
        [rss_mb(p.pid) for p, _ in servers.workers],
    )


def with_final_fills(
    windows: list[list[dict[str, Any]]], final: list[dict[str, Any]]
) -> list[list[dict[str, Any]]]:
    """Each window's results (one per load generator), its tabs' Filled order ids replaced
    by what they had at the end of the drain."""
    filled = [{t["tab"]: t["filled"] for t in r["tabs"]} for r in final]
    return [
        [
            {**r, "tabs": [{**t, "filled": filled[i][t["tab"]]} for t in r["tabs"]]}
            for i, r in enumerate(results)
        ]
        for results in windows
    ]


async def measure_burst(
    cluster: Cluster,
    servers: Servers,
    loads: list[LoadProc],
    accounts: dict[int, list[str]],
    windows: list[tuple[str, float, float]],
) -> list[tuple[Window, float, float]]:
    """The windows back to back (Market orders at `--order-rate` throughout), then the
    ticks stopped, the drain and the tabs' results: per window, what it measured, its peak
    of streams paced and the streams paced at its start."""
    args = cluster.args
    watched = watched_processes(cluster, servers, loads)
    boundaries = [await read_boundary(cluster, servers, watched)]
    laps: list[list[dict[str, Any]]] = []
    placed: list[list[dict[str, Any]]] = []
    peaks: list[float] = []
    sampler = PeakPaced(servers.ports)
    try:
        await ask_all(loads, "start")
        for i, (_name, seconds, _tick) in enumerate(windows):
            seed = args.seed + 1000 * i
            placed.append(await place_orders(cluster, accounts, args.order_rate, seconds, seed))
            last = i == len(windows) - 1
            if not last:
                laps.append(await ask_all(loads, "lap"))
            else:
                await ask_all(loads, "stop")
            next_tick = None if last else windows[i + 1][2]
            boundaries.append(await read_boundary(cluster, servers, watched, next_tick))
            peaks.append(sampler.take(summed(boundaries[-1].pacing, PACED)))
    finally:
        await sampler.stop()
    await cluster.sandbox_config(tick_rate=0)
    await asyncio.sleep(args.drain)
    laps.append(await ask_all(loads, "collect", wait=120))
    final = merge_status(await ask_all(loads, "status"))
    await ask_all(loads, "close", wait=60)
    measured = []
    for i, results in enumerate(with_final_fills(laps, laps[-1])):
        b0, b1 = boundaries[i], boundaries[i + 1]
        window = Window(
            watched,
            b1.at - b0.at,
            placed[i],
            b0.reading,
            b1.reading,
            None,
            b0.state["totals"],
            b1.state,
            b0.pacing,
            b1.pacing,
            b1.rss,
            b1.worker_rss,
            results,
            final,
        )
        measured.append((window, peaks[i], summed(b0.pacing, PACED)))
    return measured


def burst_rows(
    base: dict[str, Any],
    windows: list[tuple[str, float, float]],
    measured: list[tuple[Window, float, float]],
    rss_before: tuple[list[float], list[float]],
    creds: set[str],
    per_daphne: Counter[int],
    total_tabs: int,
) -> list[dict[str, Any]]:
    """A row per window, as a phase's (`window_row`), with its tick rate and its streams
    paced at the start, at the end and at the peak."""
    rows = []
    for (name, _seconds, tick), (window, peak, paced_start) in zip(windows, measured, strict=True):
        row = {**base, "phase": name, "tick_rate": tick}
        row.update(window_row(window, rss_before, creds, per_daphne, total_tabs))
        row["paced"] = (paced_start, summed(window.pacing1, PACED), peak)
        rows.append(row)
    return rows
