"""`--burst` (or the phase `burst`): one phase at the given size in three windows back to
back, the way a market open comes: quiet (the configured quote rate for `--duration` s),
burst (`--burst-factor` x that rate for `--burst-seconds` s) and recovery (the configured
rate again for `--duration` s).

The sandbox's tick rate changes live through its control API (`POST /_sandbox/config`, read
by its ticker on every wake-up); nothing restarts. The burst's tick rate is the quiet one's
(calibrated) times the factor, not calibrated itself: a burst before the quiet window would
leave the app a backlog the quiet window then measures. The sandbox sends a symbol's ticks
within one aggregation period as one event (as DXLink does), so 10x the ticks is a little
fewer than 10x the events (at 400 sockets its calibration measured 0.98 events per pair and
tick at the quiet rate, 0.96 at 10x). At each boundary the tabs' counts roll over in one
step (the load generators' `lap`), then the CPU and the sandbox's totals are read, the next
rate is set, and each daphne's /metrics is read (within `METRICS_TIMEOUT`): each window's
quotes are all of its own rate. A fill is judged on what the tabs had at the end of the
drain (an order placed late in one window is filled in the next), and
`streamdesk_streams_paced` is also sampled each second for its peak in each window."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

from bench.cluster.broker import place_orders
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
#: How long a daphne's /metrics may take at a boundary: a loop seconds behind does not
#: answer in time, and its reading is then unknown ("-"), not a wait that stretches the
#: window.
METRICS_TIMEOUT = 5.0


@dataclass(frozen=True)
class BurstPlan:
    """The burst's size and length; quiet and recovery last `calm_seconds` each."""

    factor: float
    burst_seconds: float
    calm_seconds: float

    def windows(self, quiet_tick: float) -> list[tuple[str, float, float]]:
        """(name, seconds, sandbox tick rate) of each window, in order."""
        burst_tick = quiet_tick * self.factor
        return [
            (QUIET, self.calm_seconds, quiet_tick),
            (BURST, self.burst_seconds, burst_tick),
            (RECOVERY, self.calm_seconds, quiet_tick),
        ]


@dataclass
class Boundary:
    """What was read at the start or end of a window."""

    at: float
    reading: Reading
    state: dict[str, Any]
    pacing: list[dict[str, float]]
    rss: list[float]
    worker_rss: list[float]


def highest(a: float | None, b: float | None) -> float | None:
    """The larger of two readings, either of which may be unknown."""
    return b if a is None else a if b is None else max(a, b)


class PeakPaced:
    """`streamdesk_streams_paced` (summed over the daphnes) sampled each second; `take()`
    is the peak since the last `take()` (None: no reading answered)."""

    def __init__(self, ports: list[int]) -> None:
        self.ports = ports
        self.peak: float | None = None
        self.task = asyncio.create_task(self.sample())

    async def sample(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            counts = await pacing_counts(self.ports, answer_within=METRICS_TIMEOUT)
            self.peak = highest(self.peak, summed(counts, PACED))

    def take(self, also: float | None) -> float | None:
        peak, self.peak = highest(self.peak, also), None
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
    pacing = await pacing_counts(servers.ports, answer_within=METRICS_TIMEOUT)
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
) -> list[tuple[Window, float | None, float | None]]:
    """The windows back to back (Market orders at `--order-rate` throughout), then the
    ticks stopped, the drain and the tabs' results: per window, what it measured, its peak
    of streams paced and the streams paced at its start."""
    args = cluster.args
    watched = watched_processes(cluster, servers, loads)
    boundaries = [await read_boundary(cluster, servers, watched)]
    laps: list[list[dict[str, Any]]] = []
    placed: list[list[dict[str, Any]]] = []
    peaks: list[float | None] = []
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
    measured: list[tuple[Window, float | None, float | None]],
    rss_before: tuple[list[float], list[float]],
    creds: set[str],
    per_daphne: Counter[int],
    total_tabs: int,
) -> list[dict[str, Any]]:
    """A row per window, as a phase's (`window_row`), with its tick rate and its streams
    paced at the start, at the end and at the peak (None: /metrics did not answer)."""
    rows = []
    for (name, _seconds, tick), (window, peak, paced_start) in zip(windows, measured, strict=True):
        row = {**base, "phase": name, "tick_rate": tick}
        row.update(window_row(window, rss_before, creds, per_daphne, total_tabs))
        row["paced"] = (paced_start, summed(window.pacing1, PACED), peak)
        rows.append(row)
    return rows
