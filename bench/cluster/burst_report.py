"""The burst's report (bench/cluster/burst.py): a row per window (quiet, burst, recovery)
with what a market open tests, then the verdicts: the account p99 in the burst within
+20 % of the quiet window's, quotes thinned during the burst, no account event lost, and
the burst's quote events in against the quiet window's."""

from __future__ import annotations

from typing import Any

from bench.cluster.burst import BURST, QUIET
from bench.cluster.report import fmt, joined, print_table
from bench.cluster.results import percentile_hist

#: How much higher the burst's account p99 may be than the quiet window's (issue 61).
ACCOUNT_P99_SLACK = 0.20

COLUMNS = [
    "window",
    "s",
    "tick Hz",
    "quote ev/s in",
    "quote p99 ms (fresh t / t as sent)",
    "acct p50/p99 ms (fills)",
    "acct lost",
    "quote frames merged (/s)",
    "streams paced start→end (peak)",
    "daphne CPU %",
]


def p99(r: dict[str, Any], key: str) -> float | None:
    return percentile_hist(r[key], 99)


def merged(r: dict[str, Any]) -> float | None:
    """Quotes frames merged over the window (every daphne); None if a daphne's /metrics
    did not answer at its start or end (a loop far behind)."""
    if any(v is None for v in r["merged_s"]):
        return None
    return float(sum(r["merged_s"])) * r["elapsed"]


def merged_cell(r: dict[str, Any]) -> str:
    total = merged(r)
    if total is None:
        return "- (/metrics did not answer)"
    return f"{total:.0f} ({total / r['elapsed']:.0f})"


def lost(r: dict[str, Any]) -> int:
    return int(r["seq_gaps"] + r["fills_missed"])


def burst_row(r: dict[str, Any]) -> list[str]:
    start, end, peak = r["paced"]
    hist = r["account_hist"]
    return [
        r["phase"],
        fmt(r["elapsed"], 1),
        fmt(r["tick_rate"], 3),
        fmt(r["quote_events_s"], 0),
        f"{fmt(p99(r, 'fresh_hist'))} / {fmt(p99(r, 'quote_hist'))}",
        f"{fmt(percentile_hist(hist, 50))} / {fmt(p99(r, 'account_hist'))} ({sum(hist.values())})",
        f"{lost(r)} ({r['seq_gaps']} gaps + {r['fills_missed']} fills missed)",
        merged_cell(r),
        f"{fmt(start)}→{fmt(end)} ({fmt(peak)})",
        joined(r["daphne_cpu"]),
    ]


def verdicts(rows: list[dict[str, Any]]) -> list[str]:
    """The verdict lines (✔/✘) of a burst's windows."""
    by = {r["phase"]: r for r in rows}
    quiet, burst = by[QUIET], by[BURST]
    mark = {True: "✔", False: "✘"}
    lines = []
    q99, b99 = p99(quiet, "account_hist"), p99(burst, "account_hist")
    if q99 is None or b99 is None:
        lines.append("✘ account p99, burst vs quiet: no fills measured in a window")
    else:
        ok = b99 <= q99 * (1 + ACCOUNT_P99_SLACK)
        change = 100 * (b99 - q99) / q99 if q99 else 0.0
        lines.append(
            f"{mark[ok]} account p99, burst vs quiet: {b99:.0f} ms vs {q99:.0f} ms "
            f"({change:+.0f} %; within +{100 * ACCOUNT_P99_SLACK:.0f} %)"
        )
    q_merged, b_merged = merged(quiet), merged(burst)
    if q_merged is None or b_merged is None:
        lines.append("✘ quotes thinned during the burst: unknown (a /metrics did not answer)")
    else:
        q_rate, b_rate = q_merged / quiet["elapsed"], b_merged / burst["elapsed"]
        lines.append(
            f"{mark[b_rate > q_rate]} quotes thinned during the burst: {b_merged:.0f} "
            f"quotes frames merged ({b_rate:.0f}/s vs {q_rate:.0f}/s quiet), streams paced "
            f"at the peak {fmt(burst['paced'][2])} (quiet {fmt(quiet['paced'][2])})"
        )
    total = sum(lost(r) for r in rows)
    lines.append(f"{mark[total == 0]} account events lost in all windows: {total}")
    ratio = burst["quote_events_s"] / max(1e-9, quiet["quote_events_s"])
    lines.append(
        f"quote events in, burst / quiet: {ratio:.2f}x "
        f"({burst['quote_events_s']:.0f} vs {quiet['quote_events_s']:.0f} ev/s)"
    )
    return lines


def print_burst(rows: list[dict[str, Any]], factor: float) -> None:
    print(f"### burst ({factor:g}x the quote rate; {rows[0]['clients']} sockets)\n")
    print_table(COLUMNS, [burst_row(r) for r in rows])
    for line in verdicts(rows):
        print(f"- {line}")
    print(flush=True)
