"""The what-if curve on hand-checked cases: P&L against cost, breakevens, β-weighting,
sigma bands, unpriced legs."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest

from streaming.risk.legs import Leg
from streaming.risk.model import option_value
from streaming.risk.whatif.curve import (
    Scenario,
    UnderlyingGroup,
    beta_weighted_pnl,
    breakevens,
    last_expiration,
    pnl_at,
    sigma_bands,
    unpriced,
)

EXPIRES = dt.datetime(2026, 6, 19, 20, 0, tzinfo=dt.UTC)  # 16:00 New York
NOW = dt.datetime(2026, 3, 20, 20, 0, tzinfo=dt.UTC)
AT_EXPIRY = Scenario(at=EXPIRES, rate=0.04)


def option(
    kind: str,
    strike: float,
    qty: float,
    cost: float | None,
    iv: float | None = 0.3,
    expires: dt.datetime = EXPIRES,
    underlying: str = "XYZ",
) -> Leg:
    return Leg(
        account="A1",
        symbol=f"{underlying}{kind[0].upper()}{strike:g}@{expires.date()}",
        underlying=underlying,
        kind="call" if kind == "call" else "put",
        quantity=qty,
        multiplier=100.0,
        strike=strike,
        expiration=expires.date(),
        expires_at=expires,
        cost=cost,
        iv=iv,
        greeks={},
    )


def stock(qty: float, cost: float | None, underlying: str = "XYZ") -> Leg:
    return Leg("A1", underlying, underlying, "stock", qty, 1.0, None, None, None, cost, None, {})


def test_long_call_at_expiration_breakeven_is_strike_plus_premium() -> None:
    legs = [option("call", 100, 1, cost=2.5)]
    prices = np.array([90.0, 100.0, 102.5, 110.0])
    assert pnl_at(legs, prices, AT_EXPIRY).tolist() == [-250.0, -250.0, 0.0, 750.0]
    assert breakevens(legs, AT_EXPIRY, 50, 150) == [pytest.approx(102.5, abs=1e-9)]


def test_short_put_at_expiration() -> None:
    legs = [option("put", 50, -2, cost=1.2)]
    prices = np.array([40.0, 48.8, 50.0, 60.0])
    # (value - cost) * -2 * 100: keep the credit above 50, lose below 48.80
    assert pnl_at(legs, prices, AT_EXPIRY) == pytest.approx([-1760.0, 0.0, 240.0, 240.0])
    assert breakevens(legs, AT_EXPIRY, 20, 80) == [pytest.approx(48.8, abs=1e-9)]


def test_bull_call_vertical_at_expiration() -> None:
    # long 100 call at 4.00, short 105 call at 1.50: debit 2.50, max profit 2.50
    legs = [option("call", 100, 1, cost=4.0), option("call", 105, -1, cost=1.5)]
    prices = np.array([95.0, 102.5, 105.0, 120.0])
    assert pnl_at(legs, prices, AT_EXPIRY) == pytest.approx([-250.0, 0.0, 250.0, 250.0])
    assert breakevens(legs, AT_EXPIRY, 80, 130) == [pytest.approx(102.5, abs=1e-9)]


def test_stock_pnl_and_breakeven_at_cost() -> None:
    legs = [stock(-30, cost=20.0)]
    assert pnl_at(legs, np.array([10.0, 20.0, 25.0]), Scenario(at=NOW)).tolist() == [
        300.0,
        0.0,
        -150.0,
    ]
    assert breakevens(legs, Scenario(at=NOW), 1, 40) == [pytest.approx(20.0, abs=1e-9)]


def test_before_expiration_is_the_model_value_with_shift_rate_and_yield() -> None:
    leg = option("put", 95, 3, cost=2.0, iv=0.25)
    sc = Scenario(at=NOW, iv_shift=5.0, rate=0.05, dividend_yield={"XYZ": 0.02})
    t = (EXPIRES - NOW).total_seconds() / (365 * 86400)
    expected = (float(option_value(False, 100.0, 95, t, 0.30, 0.05, 0.02)) - 2.0) * 300
    assert pnl_at([leg], np.array([100.0]), sc)[0] == pytest.approx(expected, abs=1e-9)
    # a shift below zero vol prices at sigma = 0, without NaN
    deep = Scenario(at=NOW, iv_shift=-50.0)
    assert not np.isnan(pnl_at([leg], np.array([80.0, 100.0]), deep)).any()


def test_straddle_has_two_breakevens() -> None:
    legs = [option("call", 100, 1, cost=3.0), option("put", 100, 1, cost=2.0)]
    assert breakevens(legs, AT_EXPIRY, 50, 150) == [
        pytest.approx(95.0, abs=1e-9),
        pytest.approx(105.0, abs=1e-9),
    ]


def test_leg_without_iv_uses_fallback_else_is_unpriced() -> None:
    legs = [option("call", 100, 1, cost=2.0, iv=None), stock(10, cost=100.0)]
    sc = Scenario(at=NOW)
    assert unpriced(legs, sc) == ["XYZC100@2026-06-19"]
    # left out of the sum, not counted as 0: only the stock's P&L
    assert pnl_at(legs, np.array([101.0]), sc).tolist() == [10.0]
    assert unpriced(legs, sc, {"XYZ": 0.3}) == []
    with_iv = option("call", 100, 1, cost=2.0, iv=0.3)
    assert pnl_at(legs, np.array([101.0]), sc, {"XYZ": 0.3})[0] == pytest.approx(
        pnl_at([with_iv, legs[1]], np.array([101.0]), sc)[0]
    )
    # at expiration no IV is needed: intrinsic
    assert unpriced(legs, AT_EXPIRY) == []
    assert unpriced([stock(1, cost=None)], sc) == ["XYZ"]


def test_last_expiration() -> None:
    later = EXPIRES + dt.timedelta(days=28)
    assert (
        last_expiration([option("call", 1, 1, 1.0), option("put", 1, 1, 1.0, expires=later)])
        == later
    )
    assert last_expiration([stock(1, 1.0)]) is None


def test_beta_weighted_moves_each_underlying_by_its_beta() -> None:
    # 100 shares of A (β 2, at 50) and 10 of B (β 0.5, at 200); SPY at 500 → 550 (+10 %)
    a = UnderlyingGroup("A", [stock(100, cost=50.0, underlying="A")], price=50.0, beta=2.0)
    b = UnderlyingGroup("B", [stock(10, cost=200.0, underlying="B")], price=200.0, beta=0.5)
    pnl = beta_weighted_pnl([a, b], np.array([500.0, 550.0]), 500.0, Scenario(at=NOW))
    # A +20 % → +1000; B +5 % → +100
    assert pnl.tolist() == pytest.approx([0.0, 1100.0])


def test_sigma_bands() -> None:
    bands = sigma_bands(100.0, 0.2, 0.25)
    assert bands["1"] == pytest.approx((90.0, 110.0))
    assert bands["2"] == pytest.approx((80.0, 120.0))
    assert sigma_bands(10.0, 2.0, 1.0)["2"] == (0.0, 50.0)
    assert math.isclose(sigma_bands(10.0, 0.5, 0.0)["1"][1], 10.0)
