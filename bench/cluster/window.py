"""A phase's measured window: for `--duration` s the tabs record and Market orders go in, while
the CPU of every process and of the box, each daphne's wait for a core and its /metrics are
read before and after (and py-spy samples, with `--profile`); then the tabs' results are
collected and made the phase's row."""

from __future__ import annotations

import asyncio
import os
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

from bench.cluster.broker import most_streamers, place_orders, subscription_pairs
from bench.cluster.metrics import order_p99, pacing_counts, pacing_row
from bench.cluster.processes import cpu_seconds, machine_busy_seconds, rss_mb
from bench.cluster.profilers import finish_profilers, start_profilers
from bench.cluster.results import summarize
from bench.cluster.servers import Cluster, Servers
from bench.cluster.tabs import LoadProc, ask_all, merge_status
from bench.proc import cpu_pressure_seconds, runqueue_wait_seconds
from bench.stages import StageTable


@dataclass
class Reading:
    """What the watched processes and the box had spent at one moment (CPU seconds), and
    each daphne's wait for a core."""

    cpu: dict[str, list[float]]
    busy: float
    own: float
    waited: list[float | None]
    pressure: float | None


def cpu_by_kind(watched: dict[str, list[int]]) -> dict[str, list[float]]:
    return {k: [cpu_seconds(p) for p in pids] for k, pids in watched.items()}


def read_box(watched: dict[str, list[int]], cpu: dict[str, list[float]]) -> Reading:
    """`cpu` (read first), then the box's busy seconds and ours, each daphne's run-queue
    wait and the box's CPU pressure."""
    busy, own = machine_busy_seconds(), cpu_seconds(os.getpid())
    waited = [runqueue_wait_seconds(p) for p in watched["daphne"]]
    return Reading(cpu, busy, own, waited, cpu_pressure_seconds())


@dataclass
class Window:
    """What the window measured, before it is made a row."""

    watched: dict[str, list[int]]
    elapsed: float
    placed: list[dict[str, Any]]
    before: Reading
    after: Reading
    samples: Counter[str] | None
    state0: dict[str, Any]
    state1_full: dict[str, Any]
    pacing0: list[dict[str, float]]
    pacing1: list[dict[str, float]]
    rss_after: list[float]
    worker_rss_after: list[float]
    results: list[dict[str, Any]]
    final: dict[str, Any]


def watched_processes(
    cluster: Cluster, servers: Servers, loads: list[LoadProc]
) -> dict[str, list[int]]:
    """The pids whose CPU a window reads, by kind."""
    return {
        "daphne": [p.pid for p, _, _ in servers.daphnes],
        "workers": [p.pid for p, _ in servers.workers],
        "redis": [cluster.redis_pid()],
        "sandbox": [cluster.sandbox_proc.pid],
        "loadgen": [lp.proc.pid for lp in loads],
    }


async def measure(
    cluster: Cluster,
    phase: str,
    servers: Servers,
    loads: list[LoadProc],
    accounts: dict[int, list[str]],
) -> Window:
    """The window, then the sandbox's ticks stopped, the drain, and the tabs' results."""
    args = cluster.args
    watched = watched_processes(cluster, servers, loads)
    state0 = (await cluster.sandbox_state())["totals"]
    before = read_box(watched, cpu_by_kind(watched))
    ports = servers.ports
    pacing0 = await pacing_counts(ports)
    profilers = start_profilers(cluster, phase, watched["daphne"] + watched["workers"])
    t0 = time.monotonic()
    await ask_all(loads, "start")
    placed = await place_orders(cluster, accounts, args.order_rate, args.duration, args.seed)
    await ask_all(loads, "stop")
    elapsed = time.monotonic() - t0
    cpu1 = cpu_by_kind(watched)
    samples = finish_profilers(profilers)
    after = read_box(watched, cpu1)
    state1_full = await cluster.sandbox_state()
    rss_after = [rss_mb(p.pid) for p, _, _ in servers.daphnes]
    pacing1 = await pacing_counts(ports)
    worker_rss_after = [rss_mb(p.pid) for p, _ in servers.workers]
    await cluster.sandbox_config(tick_rate=0)
    await asyncio.sleep(args.drain)
    results = await ask_all(loads, "collect", wait=120)
    final = merge_status(await ask_all(loads, "status"))
    await ask_all(loads, "close", wait=60)
    return Window(
        watched,
        elapsed,
        placed,
        before,
        after,
        samples,
        state0,
        state1_full,
        pacing0,
        pacing1,
        rss_after,
        worker_rss_after,
        results,
        final,
    )


def window_row(
    w: Window,
    rss_before: tuple[list[float], list[float]],
    creds: set[str],
    per_daphne: Counter[int],
    total_tabs: int,
) -> dict[str, Any]:
    """The phase's row: the tabs' results, and the readings over the window (`rss_before`:
    each daphne's and worker's before the first socket)."""
    elapsed, watched = w.elapsed, w.watched
    cpu0, cpu1 = w.before.cpu, w.after.cpu
    state0, state1 = w.state0, w.state1_full["totals"]
    cpu = {
        k: [(c1 - c0) / elapsed * 100 for c0, c1 in zip(cpu0[k], cpu1[k], strict=True)]
        for k in watched
    }
    events = state1.get("dxlink_events_sent", 0) - state0.get("dxlink_events_sent", 0)
    _, _, most_sessions = subscription_pairs(w.state1_full, creds)
    loop_late, merged_s, loop_lag = pacing_row(w.pacing0, w.pacing1, elapsed)
    (rss_before_daphne, worker_rss_before), rss_after = rss_before, w.rss_after
    pressure0, pressure1 = w.before.pressure, w.after.pressure
    busy = w.after.busy - w.before.busy
    row = {
        **summarize(w.results, w.placed, elapsed, total_tabs),
        "quote_events_s": events / elapsed,
        "account_events_s": (state1.get("account_events", 0) - state0.get("account_events", 0))
        / elapsed,
        "broker_reconnects": state1.get("closed_sessions", 0) - state0.get("closed_sessions", 0),
        "daphne_cpu": cpu["daphne"],
        "daphne_waited": [
            None if w0 is None or w1 is None else (w1 - w0) / elapsed * 100
            for w0, w1 in zip(w.before.waited, w.after.waited, strict=True)
        ],
        "cpu_pressure": (
            None
            if pressure0 is None or pressure1 is None
            else (pressure1 - pressure0) / elapsed * 100
        ),
        "loop_late": loop_late,
        "merged_s": merged_s,
        "loop_lag": loop_lag,
        "order_p99": order_p99(w.pacing0, w.pacing1),
        "worker_cpu": cpu["workers"],
        "worker_rss_before": worker_rss_before,
        "worker_rss_after": w.worker_rss_after,
        "redis_cpu": sum(cpu["redis"]),
        "sandbox_cpu": sum(cpu["sandbox"]),
        "loadgen_cpu": sum(cpu["loadgen"]),
        "machine_cpu": busy / elapsed * 100,
        "other_cpu": (
            busy - (w.after.own - w.before.own) - sum(sum(cpu1[k]) - sum(cpu0[k]) for k in watched)
        )
        / elapsed
        * 100,
        "rss_before": rss_before_daphne,
        "rss_after": rss_after,
        "rss_kib_per_conn": [
            (after - before) * 1024 / max(1, per_daphne[i])
            for i, (before, after) in enumerate(zip(rss_before_daphne, rss_after, strict=True))
        ],
        "sessions_per_cred": most_sessions,
        "streamers_per_cred": most_streamers(w.state1_full, creds),
        "open_final": w.final["open"],
        "elapsed": elapsed,
    }
    if w.samples is not None:
        server_cpu = sum(cpu1["daphne"]) - sum(cpu0["daphne"])
        server_cpu += sum(cpu1["workers"]) - sum(cpu0["workers"])
        row["stages"] = StageTable(
            w.samples, server_cpu, events, round(row["frames_s"] * elapsed)
        ).markdown()
    return row
