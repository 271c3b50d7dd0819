"""`--sweep`: the designed mode at several sizes (`--sweep-sockets`) or quote rates
(`--sweep-rates`), with `--sweep-naive` the naive baseline at each point under the same load;
then each point's verdict, the largest point where the targets hold, and the judge."""

from __future__ import annotations

import argparse
from typing import Any

from bench.cluster.judge import judge_line, p99_holds, sweep_judge
from bench.cluster.phase import Phase, run_phase
from bench.cluster.processes import log
from bench.cluster.report import (
    COLUMNS,
    fmt,
    joined,
    joined_known,
    print_phase_tables,
    print_ratio,
    print_table,
    table_row,
)
from bench.cluster.results import percentile_hist
from bench.cluster.servers import Cluster


async def run_sweep(cluster: Cluster, args: argparse.Namespace) -> None:
    per_user = args.quote_rate / args.users
    rows: list[dict[str, Any]] = []
    points: list[tuple[str, int, float]] = []
    naive_rows: list[dict[str, Any]] = []
    for sockets in args.sweep_sockets:
        users = max(1, sockets // args.tabs)
        points.append((f"{users * args.tabs} sockets", users, per_user * users))
    for rate in args.sweep_rates:
        points.append((f"{rate:.0f} ev/s", args.users, rate))
    for name, users, rate in points:
        args.quote_target = rate
        try:
            row = await run_phase(cluster, Phase(name, False, users, rate))
        except RuntimeError as exc:
            log(f"sweep point {name} failed: {exc}")
            continue
        row["quote_target"] = rate
        rows.append(row)
        print_table(COLUMNS, [table_row(row)])
        if args.sweep_naive:
            # the naive baseline at the same point, with exactly the designed mode's load
            try:
                naive = await run_phase(
                    cluster, Phase(f"{name} naive", True, users, rate, row["tick_rate"])
                )
            except RuntimeError as exc:
                log(f"sweep point {name} (naive) failed: {exc}")
                continue
            naive_rows.append(naive)
            print_table(COLUMNS, [table_row(naive)])
            if naive.get("stages"):
                print(f"CPU by stage, {naive['phase']} ({users} users):\n")
                print(naive["stages"] + "\n", flush=True)
            print_ratio([{**row, "phase": "designed"}, {**naive, "phase": "naive"}])
    print_sweep(rows, naive_rows, args)


def print_sweep(
    rows: list[dict[str, Any]], naive_rows: list[dict[str, Any]], args: argparse.Namespace
) -> None:
    print("### sweep (designed mode)\n")
    print_phase_tables(rows, args)
    for r in rows:
        verdicts = [
            f"{label}: {'holds' if p99_holds(r, key) else 'FAILS'}"
            for label, key in (("t as sent", "quote_hist"), ("fresh t", "fresh_hist"))
        ]
        print(
            f"- {r['phase']}: {r['clients']} sockets, {r['quote_events_s']:.0f} ev/s in, "
            f"quote p99 {fmt(percentile_hist(r['quote_hist'], 99))} ms as sent / "
            f"{fmt(percentile_hist(r['fresh_hist'], 99))} ms fresh t, account p99 "
            f"{fmt(percentile_hist(r['account_hist'], 99))} ms, daphne CPU "
            f"{joined(r['daphne_cpu'])} %, waiting for a core "
            f"{joined_known(r['daphne_waited'])} % "
            f"-> {'; '.join(verdicts)}"
        )
    print()
    for label, key in (("t as sent", "quote_hist"), ("fresh t", "fresh_hist")):
        holding = [r for r in rows if p99_holds(r, key)]
        if holding:
            best = max(holding, key=lambda r: (r["clients"], r["quote_events_s"]))
            print(
                f"**Largest point where the p99 targets hold ({label}):** {best['phase']} "
                f"({best['clients']} sockets, {best['quote_events_s']:.0f} quote events/s)."
            )
        else:
            print(f"**The p99 targets hold at none of the sweep points ({label}).**")
    if naive_rows:
        print()
        for label, key in (("fresh t", "fresh_hist"), ("t as sent", "quote_hist")):
            print(judge_line(*sweep_judge(rows, naive_rows, key), label))
