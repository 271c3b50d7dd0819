"""β-weighted delta per position and per underlying (tastytrade's definition)."""

from __future__ import annotations

import pytest

from streaming.risk.exposure import (
    portfolio_beta_delta,
    position_exposure,
    underlying_rows,
)

NOW = 1_790_000_000_000
DAY = 86_400_000


def quote(mid: float) -> dict:
    return {"bid": mid - 0.05, "ask": mid + 0.05}


SNAPSHOT = {
    "accounts": [
        {
            "number": "A1",
            "positions": [
                {
                    "symbol": "AAPL",
                    "underlying": "AAPL",
                    "instrument_type": "Equity",
                    "quantity": 100,
                    "direction": "Long",
                    "multiplier": 1,
                },
                {
                    "symbol": "AAPL  261218C00200000",
                    "streamer_symbol": ".AAPL261218C200",
                    "underlying": "AAPL",
                    "instrument_type": "Equity Option",
                    "quantity": 2,
                    "direction": "Short",
                    "multiplier": 100,
                    "expires_at": NOW + 30 * DAY,
                },
            ],
        },
        {
            "number": "B7",
            "positions": [
                {
                    "symbol": "QQQ",
                    "underlying": "QQQ",
                    "instrument_type": "Equity",
                    "quantity": 10,
                    "direction": "Short",
                    "multiplier": 1,
                },
            ],
        },
    ],
    "quotes": {"SPY": quote(500.0), "AAPL": quote(200.0), "QQQ": quote(400.0)},
    "greeks": {".AAPL261218C200": {"delta": 0.5, "iv": 0.3}},
    "metrics": {
        "AAPL": {"beta": 1.2, "iv_rank": 40.0, "iv_percentile": 55.0, "beta_source": "tastytrade"},
        "QQQ": {"beta": 1.1},
    },
}


def test_a_short_call_counts_its_greek_delta_times_multiplier_times_signed_quantity():
    p = SNAPSHOT["accounts"][0]["positions"][1]
    e = position_exposure(
        p, SNAPSHOT["quotes"], SNAPSHOT["greeks"], SNAPSHOT["metrics"]["AAPL"], 500.0, now_ms=NOW
    )
    assert e.delta_shares == pytest.approx(-100.0)  # 0.5 * 100 * -2
    assert e.beta_delta == pytest.approx(1.2 * 200.0 * -100.0 / 500.0)
    assert e.beta_delta_dollars == pytest.approx(1.2 * 200.0 * -100.0)
    assert e.dte == pytest.approx(30.0)
    assert e.expected_move == pytest.approx(200.0 * 0.3 * (30 / 365) ** 0.5)
    assert (e.iv_rank, e.iv_percentile) == (40.0, 55.0)


def test_rows_sum_every_account_per_underlying_and_the_portfolio():
    rows = {r.underlying: r for r in underlying_rows(SNAPSHOT, now_ms=NOW)}
    assert list(rows) == ["AAPL", "QQQ"]
    assert rows["AAPL"].delta_shares == pytest.approx(0.0)  # +100 stock, -100 calls
    assert rows["QQQ"].beta_delta == pytest.approx(1.1 * 400.0 * -10 / 500.0)
    assert portfolio_beta_delta(SNAPSHOT, now_ms=NOW) == pytest.approx(-8.8)


def test_an_unknown_beta_leaves_the_sum_unknown_not_zero():
    snap = {**SNAPSHOT, "metrics": {"AAPL": SNAPSHOT["metrics"]["AAPL"]}}
    rows = {r.underlying: r for r in underlying_rows(snap, now_ms=NOW)}
    assert rows["QQQ"].beta_delta is None
    assert portfolio_beta_delta(snap, now_ms=NOW) is None


def test_legs_carry_kind_strike_expiration_signed_quantity_cost_and_iv():
    from streaming.risk.legs import legs_from_snapshot

    snap = {
        **SNAPSHOT,
        "accounts": [
            {
                "number": "A1",
                "positions": [
                    {**p, "average_open_price": 3.5} for p in SNAPSHOT["accounts"][0]["positions"]
                ],
            }
        ],
    }
    stock, call = legs_from_snapshot(snap, "AAPL")
    assert (stock.kind, stock.quantity, stock.strike, stock.cost) == ("stock", 100, None, 3.5)
    assert (call.kind, call.quantity, call.multiplier, call.strike) == ("call", -2, 100, 200.0)
    assert call.expiration.isoformat() == "2026-12-18"
    assert call.expires_at.isoformat() == "2026-12-18T21:00:00+00:00"
    assert (call.iv, call.greeks["delta"]) == (0.3, 0.5)
    assert legs_from_snapshot(snap, "QQQ") == []
