"""β-weighted delta, DTE, expected move and IV rank: the server's (streaming/risk/exposure.py)
equal the browser's (static/js/stream/exposure.js run through node on the reducer's
state) for one snapshot, fed three times: the hand-made fixture (stock and options, long
and short, a missing multiplier, a quote with only a last, an underlying without metrics),
every kind of instrument as the stream names it (a coin at two brokers, an /ES future and
its option: tests/streaming/test_risk_instruments.py) and a real manager's snapshot of the
tastytrade sandbox's demo holdings (the coin and the /ES option among them) with its
metrics runner's metrics.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import orjson
import pytest

from streaming.portfolio.valuation import live_mark
from streaming.risk.exposure import position_exposure, underlying_of
from streaming.risk.metrics.runner import MetricsRunner
from tests.streaming.test_manager import Published
from tests.streaming.test_metrics_runner import READY, covered, tastytrade_manager
from tests.streaming.test_risk_instruments import NOW_MS
from tests.streaming.test_risk_instruments import snapshot as instruments_snapshot
from tests.support.node import node_tool
from tests.support.wait import wait_until

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = json.loads((ROOT / "tests" / "fixtures" / "exposure-snapshot.json").read_text())


def browser_exposures(snapshot: dict) -> list[dict]:
    """What the browser computes from this snapshot (tests/js/tools/exposure.mjs)."""
    return node_tool("exposure.mjs", snapshot)


def server_exposures(snapshot: dict) -> list[dict]:
    """Every position (by account, in the snapshot's order), as the browser's tool lists them."""
    now = snapshot.get("now_ms") or snapshot["t"]
    quotes, greeks, metrics = snapshot["quotes"], snapshot["greeks"], snapshot["metrics"]
    spy, _ = live_mark("SPY", None, quotes)
    return [
        {
            "account": a["number"],
            **dataclasses.asdict(
                position_exposure(
                    p, quotes, greeks, metrics.get(underlying_of(p)) or {}, spy, now_ms=now
                )
            ),
        }
        for a in snapshot["accounts"]
        for p in a["positions"]
    ]


def assert_agree(server: list[dict], browser: list[dict]) -> None:
    assert [(e["account"], e["symbol"]) for e in server] == [
        (e["account"], e["symbol"]) for e in browser
    ]
    for ours, theirs in zip(server, browser, strict=True):
        assert ours.keys() == theirs.keys()
        for field, a in ours.items():
            b = theirs[field]
            if a is None or b is None or isinstance(a, str):
                assert a == b, (ours["symbol"], field)
            else:
                assert a == pytest.approx(b, rel=1e-12, abs=1e-9), (ours["symbol"], field)


def test_server_and_browser_agree_on_the_fixture():
    server = server_exposures(FIXTURE)
    known = [e for e in server if e["beta_delta"] is not None]
    assert len(known) == 6 and len(server) == 7  # NOQ has no metrics: None, not 0
    assert any(e["expected_move"] is not None for e in server)
    assert_agree(server, browser_exposures(FIXTURE))


def test_server_and_browser_agree_on_every_kind_of_instrument():
    kinds = instruments_snapshot()
    snap = {**FIXTURE, **kinds, "now_ms": NOW_MS}
    for account in snap["accounts"]:
        account.setdefault("link", 1)
    server = server_exposures(snap)
    assert {e["underlying"] for e in server} >= {"BTC/USD:CXTALP", "/ESZ26:XCME"}
    assert all(e["beta_delta"] is not None for e in server)
    assert_agree(server, browser_exposures(snap))


async def test_server_and_browser_agree_on_a_real_snapshot(
    broker_at_sandbox, control, refresh_token
):
    control.configure(demo_holdings=True)  # a coin and an /ES option beside the stocks
    manager = tastytrade_manager(refresh_token, MetricsRunner(refresh=600), Published())
    await manager.start()
    try:
        assert await manager.wait_ready(within=READY)
        await wait_until(lambda: covered(manager), within=READY, what="metrics of every underlying")
        options = {
            p["streamer_symbol"]
            for a in manager.state.accounts.values()
            for p in a.positions.values()
            if str(p["streamer_symbol"]).startswith(".")
        }
        assert options, "the sandbox customer holds options"
        await wait_until(
            lambda: options <= manager.state.greeks.keys() and "SPY" in manager.state.quotes,
            within=READY,
            what="greeks of every option and SPY's quote",
        )
        snapshot = orjson.loads(orjson.dumps(manager.snapshot()))
    finally:
        await manager.stop()
    server = server_exposures(snapshot)
    assert any(e["beta_delta"] is not None for e in server)
    assert any(e["expected_move"] is not None for e in server)
    kinds = {e["underlying"]: e for e in server}
    assert kinds["BTC/USD:CXTALP"]["beta_delta"] is not None
    assert kinds["/ESZ26:XCME"]["beta_delta"] is not None
    assert_agree(server, browser_exposures(snapshot))
