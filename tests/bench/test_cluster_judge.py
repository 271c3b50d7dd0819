"""The sweep's judge (bench/cluster.py, issue 42): the sockets up to which the designed mode
holds every point, over the sockets where the naive one first misses."""

from __future__ import annotations

from collections import Counter
from typing import Any

from bench.cluster import judge_line, sweep_judge


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
