"""The sweep's judge (bench/cluster/, issue 42): the sockets up to which the designed mode
holds every point, over the sockets where the naive one first misses."""

from __future__ import annotations

from collections import Counter
from typing import Any

from bench.cluster.judge import judge_line, sweep_judge


def point(sockets: int, quote_ms: int, account_ms: int, lost: int = 0) -> dict[str, Any]:
    """A sweep row as run_phase gives one: a tab a second's samples, every fill seen."""
    return {
        "tabs_total": sockets,
        "clients": sockets,
        "elapsed": 20.0,
        "fresh_hist": Counter({quote_ms: sockets * 20}),
        "quote_hist": Counter({quote_ms: sockets * 20}),
        "account_hist": Counter({account_ms: 100}),
        "fills_expected": 100,
        "drops": 0,
        "warmup_drops": 0,
        "seq_gaps": lost,
        "fills_missed": 0,
    }


def test_the_designed_mode_counts_only_up_to_its_first_miss():
    designed = [point(100, 200, 20), point(200, 250, 50), point(400, 320, 50), point(800, 250, 50)]
    naive = [point(100, 150, 30), point(200, 290, 120), point(400, 900, 400)]
    assert sweep_judge(designed, naive) == (200, 200)
    assert "**1.0x**" in judge_line(200, 200, "fresh t")


def test_a_lost_account_event_is_a_miss_and_the_ratio_reads_four():
    designed = [point(s, 250, 60) for s in (100, 200, 400)] + [point(800, 250, 60, lost=1)]
    naive = [point(100, 250, 150), point(200, 900, 400)]
    assert sweep_judge(designed, naive) == (400, 100)
    assert judge_line(400, 100, "fresh t") == (
        "**The judge (fresh t):** the naive mode first misses at 100 sockets; the designed "
        "mode holds every point up to 400 sockets: **4.0x** (the goal: ≥ 4x)."
    )


def test_no_ratio_without_a_naive_miss_and_none_when_the_designed_mode_never_holds():
    assert sweep_judge([point(100, 400, 20)], [point(100, 200, 20)]) == (None, None)
    assert judge_line(None, None, "fresh t").endswith("misses at no point: no ratio.")
    assert "holds at no point: **0x**" in judge_line(None, 100, "fresh t")


def cumulative(prefix: str, counts: dict[float, int]) -> dict[str, float]:
    """A histogram's cumulative buckets, every bound of the app's, as pacing_counts keys
    them (`prefix` + bound); `counts`: observations per bucket."""
    from streaming.metrics import LATENCY_BUCKETS

    total, out = 0, {}
    for bound in (*LATENCY_BUCKETS, float("inf")):
        total += counts.get(bound, 0)
        out[f"{prefix}{bound}"] = float(total)
    return out


def test_the_order_frames_p99_by_stage_is_read_per_window_over_every_daphne():
    """bench.cluster's last column: per stage the bucket bound under which 99 % of the
    window's order frames fall, the two daphnes' buckets added, what came before the
    window left out; '-' for a stage no daphne observed (the workers layout's owners)."""
    from bench.cluster.metrics import order_p99

    before = [cumulative("stage:numbered:", {0.025: 1000}), {}]
    after = [
        {
            **cumulative("stage:numbered:", {0.025: 1000 + 98, 0.3: 1}),
            **cumulative("handover:", {0.05: 50}),
        },
        {
            **cumulative("stage:numbered:", {0.01: 1}),
            **cumulative("handover:", {0.05: 49, 0.5: 1}),
        },
    ]
    # numbered: 99 of the window's 100 are within 25 ms; handed over: 99 of 100 within 50 ms
    assert order_p99(before, after) == "≤ 25 / - / ≤ 50"
    after[1] = cumulative("stage:numbered:", {0.01: 1, 0.3: 1})
    assert order_p99(before, after).split(" / ")[0] == "≤ 300"  # 2 of 101 over 25 ms
