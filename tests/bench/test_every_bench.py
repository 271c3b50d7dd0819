"""Every bench in bench/ has a smoke run (tests/bench/smoke.py), so a new one cannot rot
unseen either; the modules the benches run through are named here, with what runs them.
A bench is a module of bench/ or a package of it with a `__main__.py` (its own modules run
through its smoke run)."""

from __future__ import annotations

from pathlib import Path

from tests.bench.test_benches_cluster import GC_PAUSES
from tests.bench.test_benches_cluster import SMOKES as CLUSTER_SMOKES
from tests.bench.test_benches_daphne import SMOKES as DAPHNE_SMOKES

BENCH = Path(__file__).resolve().parents[2] / "bench"
#: Modules no one runs as a bench: each runs inside the smokes of the benches named.
HELPERS = {
    "baselines": "cluster (its naive phase)",
    "chain_users": "chain",
    "naive": "cluster (its naive phase)",
    "proc": "shared_tabs, slow_clients, soak, watched_users",
    "stages": "cluster (--profile)",
}


def test_every_bench_has_a_smoke_run():
    smoked = [s.bench for s in (*DAPHNE_SMOKES, *CLUSTER_SMOKES, GC_PAUSES)]
    assert len(smoked) == len(set(smoked)), "a bench smoked twice"
    modules = {p.stem for p in BENCH.glob("*.py")} - {"__init__"}
    modules |= {p.parent.name for p in BENCH.glob("*/__main__.py")}
    assert modules - set(HELPERS) == set(smoked)
    assert set(HELPERS) <= modules  # a helper that is gone is not listed
