"""One phase of a run: the designed mode or the naive baseline at one size, from its servers'
start through its tabs' connect, the managers live at the broker, the tick rate and the
warm-up to the measured window's row (a burst's: a row per window, `row["windows"]`);
everything it started is stopped by pid."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from typing import Any

import httpx

from bench.cluster.broker import accounts_of, set_tick_rate, wait_live
from bench.cluster.burst import BurstPlan, burst_rows, measure_burst
from bench.cluster.processes import log
from bench.cluster.results import summarize_logs
from bench.cluster.servers import Cluster
from bench.cluster.tabs import LoadProc, connect, start_loads, tab_specs, warm_up
from bench.cluster.window import measure, window_row


@dataclass
class Phase:
    name: str
    naive: bool
    users: int
    quote_rate: float
    tick_rate: float | None = None  # None: computed from the subscriptions, then calibrated
    burst: BurstPlan | None = None  # quiet, burst and recovery windows (bench/cluster/burst.py)


async def run_phase(cluster: Cluster, phase: Phase) -> dict[str, Any]:
    args = cluster.args
    users = cluster.users[: phase.users]
    from sandbox.core.credentials import credential_id

    creds = {credential_id(u["refresh_token"]): u["index"] for u in users}
    log(
        f"phase {phase.name}: {len(users)} users x {args.tabs} tabs on {args.daphne} daphne, "
        f"target {phase.quote_rate:.0f} quote events/s"
    )
    cluster.flush_redis()
    await cluster.sandbox_config(tick_rate=0)
    servers = cluster.start_servers(phase.naive)
    loads: list[LoadProc] = []
    row: dict[str, Any] = {"phase": phase.name, "users": len(users)}
    try:
        await cluster.wait_servers(servers)
        await asyncio.sleep(1.0)
        rss_before = servers.rss()
        specs, per_daphne = tab_specs(users, servers.ports, args)
        total_tabs = sum(per_daphne.values())
        start_loads(loads, cluster, phase.name, specs)
        row.update(await connect(loads, servers, total_tabs, args))
        state, pairs, live = await wait_live(cluster, len(users), creds)
        row["managers_live"] = live
        accounts = accounts_of(state, creds)
        row["tick_rate"] = await set_tick_rate(
            cluster, phase.quote_rate, phase.tick_rate, len(users), pairs, live, set(creds)
        )
        row.update(await warm_up(loads, row["clients"], args))
        if phase.burst is None:
            window = await measure(cluster, phase.name, servers, loads, accounts)
            row.update(window_row(window, rss_before, set(creds), per_daphne, total_tabs))
            return row
        windows = phase.burst.windows(row["tick_rate"])
        measured = await measure_burst(cluster, servers, loads, accounts, windows)
        row["windows"] = burst_rows(
            row, windows, measured, rss_before, set(creds), per_daphne, total_tabs
        )
        return row
    finally:
        for lp in loads:
            cluster.procs.stop_one(lp.proc, timeout=20)
            lp.close()
        cluster.stop_servers(servers)
        row["log"] = summarize_logs(servers.logs)
        with contextlib.suppress(httpx.HTTPError):
            totals = await cluster.wait_broker_idle()
            if totals.get("dxlink_sessions") or totals.get("streamer_sessions"):
                log(f"  warning: the sandbox still has broker sessions open: {totals}")
