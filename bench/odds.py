"""The odds of a strategy (streaming/risk/odds/): POP, P50 and touch per call, in this process.

    python -m bench.odds                 # 200 runs of each call
    python -m bench.odds --runs 5        # the smoke run's size

The five shapes of the demo's strategies on an SPY-like underlying at $590, 45 days and
6 hours to the close of their expiration, each leg opened at the model's value (so P50 is
a new trade's): a put credit vertical, a call debit vertical, an iron condor, a short put
and a covered call. Each call is timed `--runs` times after one warm-up: POP (the inputs,
the payoff, the lognormal's weight), P50 (the seeded Monte Carlo, 10,000 paths) and touch
(every short strike), then the whole row (`strategy_odds`, what the strategies API adds per
strategy): p50 and p99 ms of wall time, and of this process's CPU time (what the call
itself costs when a loaded box keeps it waiting). Goal: each p99 under 50 ms.

Prints markdown rows; docs/performance.md keeps the numbers.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import time
from collections.abc import Callable

GOAL_P99_MS = 50.0
PRICE = 590.0
RATE = 0.04
NOW = dt.datetime(2026, 12, 1, 15, 0, tzinfo=dt.UTC)
EXPIRY = dt.date(2027, 1, 15)  # 16:00 New York = 21:00 UTC: 45.25 days after NOW


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


def timed(call: Callable[[], object], runs: int) -> tuple[list[float], list[float]]:
    """Wall and CPU ms of each run (on a loaded box the CPU time is the call's own work)."""
    call()  # warm-up
    wall, cpu = [], []
    for _ in range(runs):
        started, started_cpu = time.perf_counter(), time.process_time()
        call()
        wall.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.odds", description=__doc__)
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from streaming.risk.legs import Kind, Leg
    from streaming.risk.model import option_value
    from streaming.risk.odds.answer import strategy_odds
    from streaming.risk.odds.inputs import NoOdds, odds_inputs
    from streaming.risk.odds.p50 import PATHS, SEED, p50
    from streaming.risk.odds.pop import probability_of_profit
    from streaming.risk.odds.touch import touches
    from streaming.risk.strategies.grouping import Strategy, strategies_of
    from streaming.risk.strategies.payoff import payoff

    years = 45.25 / 365

    def opt(kind: Kind, strike: float, qty: float, iv: float) -> Leg:
        cost = float(option_value(kind == "call", PRICE, strike, years, iv, RATE, 0.0)[()])
        return Leg(
            "A1", f".SPY270115{kind[0].upper()}{strike:g}", "SPY", kind, qty, 100.0, strike,
            EXPIRY, None, round(cost, 2), iv, {"delta": None, "gamma": None, "theta": None,
            "vega": None},
        )  # fmt: skip

    shares = Leg("A1", "SPY", "SPY", "stock", 100, 1.0, None, None, None, PRICE, None, {})
    shapes = {
        "put credit vertical": [opt("put", 570, -1, 0.17), opt("put", 565, 1, 0.18)],
        "call debit vertical": [opt("call", 590, 1, 0.15), opt("call", 600, -1, 0.14)],
        "iron condor": [
            opt("put", 550, 1, 0.20),
            opt("put", 560, -1, 0.19),
            opt("call", 620, -1, 0.13),
            opt("call", 630, 1, 0.12),
        ],
        "short put": [opt("put", 570, -1, 0.17)],
        "covered call": [shares, opt("call", 610, -1, 0.13)],
    }
    load = os.getloadavg()[0]
    print(
        f"- load average: {load:.2f}; {args.runs} runs of each call after a warm-up; "
        f"P50 over {PATHS:,} paths (seed {SEED}), 46 daily steps"
    )
    print("\n| strategy | call | answer | wall ms | CPU ms |")
    print("|---|---|---|---|---|")
    worst = 0.0
    for name, legs in shapes.items():
        (strategy,) = strategies_of(legs)
        assert strategy.name == name, strategy.name
        found = odds_inputs(strategy, PRICE, now=NOW, rate=RATE, name="SPY")
        assert not isinstance(found, NoOdds), found
        odds = found
        net = strategy.net or 0.0
        best = strategy.max_profit
        assert isinstance(best, float)
        shorts = [p.leg.strike or 0.0 for p in strategy.parts if p.quantity < 0 and p.leg.strike]

        def pop(s: Strategy = strategy, net: float = net) -> float | NoOdds:
            got = odds_inputs(s, PRICE, now=NOW, rate=RATE, name="SPY")
            return (
                got if isinstance(got, NoOdds) else probability_of_profit(payoff(s.parts, net), got)
            )

        calls: list[tuple[str, Callable[[], object]]] = [
            ("POP", pop),
            ("P50", lambda s=strategy, n=net, b=best, o=odds: p50(s.parts, n, b, o)),
            ("touch", lambda k=shorts, o=odds: touches(k, o)),
            ("all (strategy_odds)", lambda s=strategy: strategy_odds(s, PRICE, now=NOW, rate=RATE)),
        ]
        row = strategy_odds(strategy, PRICE, now=NOW, rate=RATE)
        answers = {
            "POP": f"{row['probability_of_profit']}",
            "P50": f"{row['p50']}",
            "touch": ", ".join(f"{k}: {v}" for k, v in (row["touch"] or {}).items()),
            "all (strategy_odds)": f"days {odds.days:.2f}, IV {odds.iv:.3f}",
        }
        for what, call in calls:
            ms, cpu = timed(call, args.runs)
            p99 = pct(ms, 99)
            worst = max(worst, p99)
            print(
                f"| {name} | {what} | {answers[what]} | "
                f"p50 {pct(ms, 50):,.2f} ms, p99 {p99:,.2f} ms | "
                f"p50 {pct(cpu, 50):,.2f} ms, p99 {pct(cpu, 99):,.2f} ms |"
            )
    verdict = "met" if worst < GOAL_P99_MS else "missed"
    print(
        f"\n- goal: every call's p99 under {GOAL_P99_MS:.0f} ms: {verdict} (worst {worst:,.2f} ms)"
    )


if __name__ == "__main__":
    main()
