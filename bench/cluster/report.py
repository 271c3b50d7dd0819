"""The report's tables: a markdown row per phase (the main columns, then the details), the
notes that say what each column measures, the CPU by stage and the daphne logs' warnings,
and the naive / designed ratio."""

from __future__ import annotations

import argparse
import json
from collections import Counter
from typing import Any

from bench.cluster.results import percentile_hist


def fmt(value: Any, digits: int = 0) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def triple(hist: Counter[int]) -> str:
    if not hist:
        return "-"
    p50, p99 = percentile_hist(hist, 50), percentile_hist(hist, 99)
    return f"{fmt(p50)} / {fmt(p99)} / {max(hist)}"


COLUMNS = [
    "phase",
    "clients",
    "users",
    "quote ev/s in",
    "frames/s out",
    "quote p50/p99/max ms (t as sent)",
    "quote p50/p99/max ms (fresh t)",
    "acct p50/p99/max ms",
    "acct lost (gaps+missed fills)",
    "dropped",
    "staleness p50/p99 ms",
    "daphne CPU %",
    "daphne RSS MB before→after",
    "RSS KiB/conn",
    "redis CPU %",
    "broker sessions/cred",
]


DETAIL_COLUMNS = [
    "phase",
    "connect s",
    "connect failures",
    "tick_rate Hz",
    "quote frames/s",
    "symbols/frame",
    "t regressions %",
    "MB/s out",
    "account ev/s at broker",
    "orders placed",
    "fills expected/missed",
    "seq gaps (events) / dups",
    "drop codes (window)",
    "warm-up drops",
    "reconnects / resumed",
    "broker reconnects",
    "sandbox CPU %",
    "loadgen CPU %",
    "machine CPU % (not ours)",
    "daphne waiting for a core %",
    "CPU pressure %",
    "workers CPU %",
    "workers RSS MB before→after",
    "daphne loop ticks > 50 ms late %",
    "quote frames merged/s",
    "daphne loop lag mean ms",
    "fresh t p50/p99 ms: broker→batch / batch→client",
    "order frames p99 ms: broker→numbered / →logged / →hand-over",
]


def joined(values: list[float], digits: int = 0) -> str:
    return " + ".join(fmt(float(v), digits) for v in values)


def joined_known(values: list[float | None]) -> str:
    """`joined`, with "-" for a reading the box could not give (and for no readings)."""
    return " + ".join("-" if v is None else fmt(v, 0) for v in values) or "-"


def table_row(r: dict[str, Any]) -> list[str]:
    lost = r["seq_gaps"] + r["fills_missed"]
    return [
        r["phase"],
        fmt(r["clients"]),
        fmt(r["users"]),
        fmt(r["quote_events_s"], 0),
        fmt(r["frames_s"], 0),
        triple(r["quote_hist"]),
        triple(r["fresh_hist"]),
        triple(r["account_hist"]),
        f"{lost} ({r['seq_gaps']}+{r['fills_missed']})",
        fmt(r["drops"]),
        f"{fmt(percentile_hist(r['stale_hist'], 50))} / "
        f"{fmt(percentile_hist(r['stale_hist'], 99))}",
        joined(r["daphne_cpu"]),
        " + ".join(
            f"{b:.0f}→{a:.0f}" for b, a in zip(r["rss_before"], r["rss_after"], strict=True)
        ),
        joined(r["rss_kib_per_conn"]),
        fmt(r["redis_cpu"], 1),
        f"{r['sessions_per_cred']} dxlink, {r['streamers_per_cred']} streamer",
    ]


def detail_row(r: dict[str, Any]) -> list[str]:
    return [
        r["phase"],
        fmt(r["connect_s"], 1),
        fmt(r["connect_failures"]),
        fmt(r["tick_rate"], 3),
        fmt(r["quote_frames_s"], 0),
        fmt(r["entries_per_quote_frame"], 1),
        fmt(r["t_regression_pct"], 1),
        fmt(r["mbytes_s"], 2),
        fmt(r["account_events_s"], 1),
        fmt(r["orders_placed"]),
        f"{r['fills_expected']}/{r['fills_missed']}",
        f"{r['seq_gaps']} ({r['seq_gap_events']}) / {r['seq_dups']}",
        json.dumps(r["drop_codes"]) if r["drop_codes"] else "-",
        f"{r['warmup_drops']} {json.dumps(r['warmup_codes'])}" if r["warmup_drops"] else "0",
        f"{r['reconnects']} / {r['resumes']}",
        fmt(r["broker_reconnects"]),
        fmt(r["sandbox_cpu"], 0),
        fmt(r["loadgen_cpu"], 0),
        f"{r['machine_cpu']:.0f} ({r['other_cpu']:.0f})",
        joined_known(r["daphne_waited"]),
        "-" if r.get("cpu_pressure") is None else fmt(r["cpu_pressure"], 0),
        joined(r["worker_cpu"]) if r["worker_cpu"] else "-",
        " + ".join(
            f"{b:.0f}→{a:.0f}"
            for b, a in zip(r["worker_rss_before"], r["worker_rss_after"], strict=True)
        )
        or "-",
        " + ".join(fmt(v, 1) for v in r["loop_late"]),
        " + ".join(fmt(v, 0) for v in r["merged_s"]),
        " + ".join(fmt(v, 1) for v in r["loop_lag"]),
        " / ".join(
            f"{fmt(percentile_hist(r[key], 50))}/{fmt(percentile_hist(r[key], 99))}"
            for key in ("fresh_before_hist", "fresh_after_hist")
        ),
        r.get("order_p99", "-"),
    ]


def print_table(columns: list[str], rows: list[list[str]]) -> None:
    print("| " + " | ".join(columns) + " |")
    print("|" + "---|" * len(columns))
    for row in rows:
        print("| " + " | ".join(row) + " |")
    print(flush=True)


NOTES = """\
Notes: latencies are client receive time minus the broker's event time, in ms.
"t as sent": every quote entry's `t` (an entry that only repeats a Trade or Summary carries
the symbol's newest `t`, up to one tick interval old: that column measures data age, not the
pipeline); "fresh t": only entries whose `t` is newer than any `t` the tab already had for
that symbol (the latency). "t regressions %": entries with an older `t` than one already
delivered (quotes and greeks counted apart: an option has both clocks); the contract says
none. "acct": Filled `order` frames, now - `order.updated_at`.
"acct lost": seq gaps seen by the tabs + (placed order, tab of its user) pairs with no
Filled frame by the end of the drain. "dropped": server-side closes in the window (the
tab reconnects like the browser; warm-up drops are in the second table). "RSS KiB/conn":
(RSS after - RSS before the first socket) / sockets: it includes the per-user stream
managers and broker sessions (not with `--layout workers`: there they are in the workers'
RSS, a column of the second table, with their CPU). "machine CPU %" is the whole box
(100 = one core); the part in brackets is not ours (other processes on the box).
"daphne waiting for a core %": the share of the window each daphne's event loop was ready
to run but had no core (/proc/<pid>/schedstat); "CPU pressure %": the share in which any
task on the box was (Linux PSI): a loop late because the box is busy, not because it is.
"daphne loop ticks > 50 ms late %", "quote frames merged/s" and "daphne loop lag mean ms":
each daphne's own `/metrics` over the window (docs/operations.md): how often its event loop
was saturated (the adaptive flush's floor rises then), how many quotes frames were merged,
and how late its loop ran on average (ticks 50 ms apart).
"fresh t ... broker→batch / batch→client": the fresh entries' latency split at the frame's
`t` (the owner's clock when it made the batch): the broker's aggregation, the way in and
the batch period before it; the fan-out, the socket's pacing, the network and this client
after it. "order frames p99 ms: broker→numbered / →logged / →hand-over": the bucket bounds
of the daphnes' `streamdesk_account_stage_seconds{kind="order"}` (the owner applied and
numbered the frame; its event-log write was done) and `streamdesk_account_latency_seconds
{kind="order"}` (handed to the owner's tabs) under which 99 % of the window's order frames
(every status, not only fills) were: the server's part of the account latency, by stage
("-" for the stages where the owners are stream workers, `--layout workers`).
Staleness is sampled each second per tab and symbol: it is bounded below by the tick
rate, not only by the pipeline.
"""


def print_phase_tables(rows: list[dict[str, Any]], args: argparse.Namespace) -> None:
    print_table(COLUMNS, [table_row(r) for r in rows])
    print_table(DETAIL_COLUMNS, [detail_row(r) for r in rows])
    print(NOTES)
    for r in rows:
        if r.get("stages"):
            print(f"CPU by stage, {r['phase']} ({r['users']} users; bench/stages.py):\n")
            print(r["stages"] + "\n")
    for r in rows:
        logged = r.get("log") or {}
        if not logged.get("levels"):
            print(f"- daphne log, {r['phase']}: no warnings or errors")
            continue
        print(f"- daphne log, {r['phase']}: {logged['levels']}; most frequent:")
        for message, count in logged["top"]:
            print(f"  - {count} x `{message}`")
    print()


def print_ratio(rows: list[dict[str, Any]]) -> None:
    by = {r["phase"]: r for r in rows}
    if "designed" not in by or "naive" not in by:
        return
    d, n = by["designed"], by["naive"]

    def ratio(a: float | None, b: float | None) -> str:
        if a is None or b is None or b == 0:
            return "-"
        return f"{a / b:.2f}x"

    def p99(r: dict[str, Any], key: str) -> float | None:
        return percentile_hist(r[key], 99)

    print(
        "**naive / designed:** "
        f"frames/s out {ratio(n['frames_s'], d['frames_s'])} "
        f"({n['frames_s']:.0f} vs {d['frames_s']:.0f}); "
        f"daphne CPU {ratio(sum(n['daphne_cpu']), sum(d['daphne_cpu']))} "
        f"({sum(n['daphne_cpu']):.0f} % vs {sum(d['daphne_cpu']):.0f} %); "
        f"quote p99 (t as sent) {ratio(p99(n, 'quote_hist'), p99(d, 'quote_hist'))} "
        f"({fmt(p99(n, 'quote_hist'))} vs {fmt(p99(d, 'quote_hist'))} ms); "
        f"quote p99 (fresh t) {ratio(p99(n, 'fresh_hist'), p99(d, 'fresh_hist'))} "
        f"({fmt(p99(n, 'fresh_hist'))} vs {fmt(p99(d, 'fresh_hist'))} ms); "
        f"quote events/s in {n['quote_events_s']:.0f} vs {d['quote_events_s']:.0f}\n",
        flush=True,
    )
