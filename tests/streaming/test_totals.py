"""Portfolio totals: the server's (streaming/portfolio/totals.py) equal the browser's
(static/js/stream/totals.js run through node on the reducer's state) for one snapshot.

The page is rendered with the server's numbers first and the browser takes over with its
own: they must be the same numbers. Fed twice: a hand-made snapshot with every case (three
brokers, an account without a balance, a position without a quote, long and short calls,
puts and stock, an account of unknown currency) and a real manager's snapshot of the
tastytrade sandbox.
"""

from __future__ import annotations

import json
from pathlib import Path

import orjson
import pytest

from streaming.portfolio.totals import portfolio_totals
from tests.streaming.test_manager import Published, manager_for
from tests.support.node import node_tool
from tests.support.wait import wait_until

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = json.loads((ROOT / "tests" / "fixtures" / "totals-snapshot.json").read_text())


def browser_totals(snapshot: dict) -> dict:
    """What the browser computes from this snapshot (static/js/stream/totals.js)."""
    return node_tool("totals.mjs", snapshot)


def assert_agree(server: dict, browser: dict) -> None:
    """Same groups, accounts, counts and units; values equal to float rounding."""
    assert server["uncounted"] == browser["uncounted"]
    assert [g["currency"] for g in server["groups"]] == [g["currency"] for g in browser["groups"]]
    for ours, theirs in zip(server["groups"], browser["groups"], strict=True):
        assert ours.keys() == theirs.keys()
        assert ours["accounts"] == theirs["accounts"]
        for field in ours.keys() - {"currency", "accounts"}:
            a, b = ours[field], theirs[field]
            assert {k: a[k] for k in a if k != "value"} == {k: b[k] for k in b if k != "value"}, (
                field
            )
            if a["value"] is None or b["value"] is None:
                assert a["value"] is b["value"], field
            else:
                assert a["value"] == pytest.approx(b["value"], rel=1e-12, abs=1e-9), field


def test_the_fixture_totals_per_currency_and_say_what_is_missing():
    """Exact sums over three brokers in USD; partial counts; the unknown currency left out."""
    totals = portfolio_totals(FIXTURE)
    assert totals["uncounted"] == [{"number": "U999", "broker": "ibkr"}]
    (usd,) = totals["groups"]
    assert usd["currency"] == "USD"
    assert usd["accounts"] == ["5WT001", "VA0002", "PA0003"]
    expected = {
        "net_liq": (125000.5, 2, 3),
        "buying_power": (50000.25, 1, 3),
        "day_pnl": (306, 4, 5),
        "open_pnl": (596, 4, 5),
        "delta_shares": (125, 5, 5),
        "delta_dollars": (65929, 4, 5),
        "theta": (-6, 5, 5),
    }
    for field, (value, have, of) in expected.items():
        total = usd[field]
        assert total["value"] == pytest.approx(value, abs=1e-9), field
        assert (total["have"], total["of"], total["partial"]) == (have, of, have < of), field


def test_nothing_known_is_none_and_nothing_to_sum_is_zero():
    """A missing balance is None (the page shows "—"), never 0; no positions sum to a true 0."""
    snap = {"accounts": [{"number": "A", "broker": "tradier", "balance": {}, "positions": []}]}
    (group,) = portfolio_totals(snap)["groups"]
    assert group["net_liq"] == {
        "value": None,
        "have": 0,
        "of": 1,
        "unit": "accounts",
        "partial": True,
    }
    assert group["day_pnl"]["value"] == 0.0 and not group["day_pnl"]["partial"]


def test_server_and_browser_agree_on_the_fixture():
    """streaming/portfolio/totals.py == totals.js on the hand-made snapshot."""
    assert_agree(portfolio_totals(FIXTURE), browser_totals(FIXTURE))


async def test_server_and_browser_agree_on_a_real_snapshot(
    broker_at_sandbox, control, refresh_token
):
    """A real manager's snapshot of the sandbox (positions, live quotes and greeks)."""
    control.configure(tick_rate=20)
    manager = manager_for(refresh_token, Published(), flush=0.1)
    manager.set_tab_symbols("page", set())  # a page shows the positions: their quotes stream
    await manager.start()
    try:
        assert await manager.wait_ready(within=10)
        snapshot = manager.snapshot()
        options = [
            p["streamer_symbol"]
            for a in snapshot["accounts"]
            for p in a["positions"]
            if str(p["streamer_symbol"]).startswith(".")
        ]
        assert options, "the sandbox customer holds options"
        await wait_until(
            lambda: set(options) <= manager.snapshot()["greeks"].keys(),
            what="greeks of every option",
        )
        snapshot = orjson.loads(orjson.dumps(manager.snapshot()))
    finally:
        await manager.stop()
    server = portfolio_totals(snapshot)
    assert server["groups"] and server["groups"][0]["accounts"], "the sandbox customer has accounts"
    assert server["groups"][0]["delta_shares"]["have"] > 0
    assert_agree(server, browser_totals(snapshot))
