"""The targets and the judge: a designed phase's targets checked (issue 15's, on 2 cores), and
the sweep's judge (issue 42): the sockets up to which the designed mode holds every point,
over the sockets where the naive one first misses."""

from __future__ import annotations

import argparse
from collections import Counter
from typing import Any

from bench.cluster.report import fmt
from bench.cluster.results import percentile_hist

#: The issue's targets (2-core box): checked for the designed phase.
TARGETS = {"quote_p99": 300.0, "account_p99": 100.0, "rss_kib_per_conn": 64.0}


def enough(hist: Counter[int], wanted: int) -> bool:
    """A percentile of fewer samples than this proves nothing (a stalled run has a few)."""
    return sum(hist.values()) >= wanted


def p99_within(hist: Counter[int], limit: float, wanted: int) -> bool:
    p99 = percentile_hist(hist, 99)
    return p99 is not None and p99 <= limit and enough(hist, wanted)


def check_targets(r: dict[str, Any], args: argparse.Namespace) -> list[tuple[str, bool, str]]:
    quote_p99 = percentile_hist(r["quote_hist"], 99)
    fresh_p99 = percentile_hist(r["fresh_hist"], 99)
    account_p99 = percentile_hist(r["account_hist"], 99)
    n_quotes, n_fresh = sum(r["quote_hist"].values()), sum(r["fresh_hist"].values())
    n_account = sum(r["account_hist"].values())
    min_quotes = r["tabs_total"] * int(r["elapsed"])  # at least one per tab per second
    min_account = max(1, r["fills_expected"] // 2)
    rss = max(r["rss_kib_per_conn"]) if r["rss_kib_per_conn"] else None
    wanted = r["tabs_total"]
    return [
        (f"sockets connected = {wanted}", r["clients"] == wanted, f"{r['clients']}"),
        (
            f"quote events/s ≥ {args.quote_target:.0f}",
            r["quote_events_s"] >= args.quote_target,
            f"{r['quote_events_s']:.0f}",
        ),
        (
            f"quote p99 ≤ {TARGETS['quote_p99']:.0f} ms (t as sent)",
            p99_within(r["quote_hist"], TARGETS["quote_p99"], min_quotes),
            f"{fmt(quote_p99)} ({n_quotes} samples)",
        ),
        (
            f"quote p99 ≤ {TARGETS['quote_p99']:.0f} ms (fresh t only)",
            p99_within(r["fresh_hist"], TARGETS["quote_p99"], min_quotes // 4),
            f"{fmt(fresh_p99)} ({n_fresh} samples)",
        ),
        (
            f"account p99 ≤ {TARGETS['account_p99']:.0f} ms",
            p99_within(r["account_hist"], TARGETS["account_p99"], min_account),
            f"{fmt(account_p99)} ({n_account} samples)",
        ),
        (
            "0 account events lost",
            r["seq_gaps"] + r["fills_missed"] == 0 and r["orders_placed"] > 0,
            f"{r['seq_gaps']} gaps + {r['fills_missed']} missed fills",
        ),
        (
            "0 sockets dropped",
            r["drops"] + r["warmup_drops"] == 0,
            f"{r['drops']} in the window, {r['warmup_drops']} during warm-up",
        ),
        (
            f"RSS growth ≤ {TARGETS['rss_kib_per_conn']:.0f} KiB/conn",
            rss is not None and rss <= TARGETS["rss_kib_per_conn"],
            fmt(rss, 1),
        ),
    ]


def p99_holds(r: dict[str, Any], quotes: str = "quote_hist") -> bool:
    min_quotes = r["tabs_total"] * int(r["elapsed"]) // (1 if quotes == "quote_hist" else 4)
    return (
        p99_within(r[quotes], TARGETS["quote_p99"], min_quotes)
        and p99_within(r["account_hist"], TARGETS["account_p99"], max(1, r["fills_expected"] // 2))
        and r["drops"] + r["warmup_drops"] == 0
        and r["seq_gaps"] + r["fills_missed"] == 0
        and r["clients"] == r["tabs_total"]
    )


def sweep_judge(
    designed: list[dict[str, Any]], naive: list[dict[str, Any]], quotes: str = "fresh_hist"
) -> tuple[int | None, int | None]:
    """Issue 42's judge: the sockets up to which the designed mode holds every point (from
    the smallest; None: not even there) and where the naive one first misses (None: it
    never does)."""
    held = None
    for r in sorted(designed, key=lambda r: r["tabs_total"]):
        if not p99_holds(r, quotes):
            break
        held = r["tabs_total"]
    missed = [r["tabs_total"] for r in naive if not p99_holds(r, quotes)]
    return held, (min(missed) if missed else None)


def judge_line(held: int | None, missed: int | None, label: str) -> str:
    """The judge as the sweep prints it."""
    if missed is None:
        return f"**The judge ({label}):** the naive mode misses at no point: no ratio."
    holds = f"holds every point up to {held} sockets" if held else "holds at no point"
    ratio = f"{held / missed:.1f}x" if held else "0x"
    return (
        f"**The judge ({label}):** the naive mode first misses at {missed} sockets; the "
        f"designed mode {holds}: **{ratio}** (the goal: ≥ 4x)."
    )
