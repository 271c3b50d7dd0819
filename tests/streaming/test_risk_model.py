"""The risk model against independent references: QuantLib's analytic European engine on
a grid (1e-6 in value), the textbooks' printed examples, and put-call parity."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import QuantLib as ql

from streaming.risk.model import intrinsic, option_value, valuation

#: Greeks to this tolerance, relative to max(1, |QuantLib's|) (theta per day, vega per point).
GREEK_TOL = 1e-7
VALUE_TOL = 1e-6


def quantlib(is_call: bool, s: float, k: float, days: int, vol: float, r: float, q: float):
    """QuantLib's AnalyticEuropeanEngine on a BlackScholesMertonProcess, flat curves,
    Actual365Fixed: value, delta, gamma, theta per day, vega per vol point."""
    today = ql.Date(15, ql.January, 2026)
    ql.Settings.instance().evaluationDate = today
    dc = ql.Actual365Fixed()
    spot = ql.QuoteHandle(ql.SimpleQuote(s))
    rates = ql.YieldTermStructureHandle(ql.FlatForward(today, r, dc))
    divs = ql.YieldTermStructureHandle(ql.FlatForward(today, q, dc))
    vols = ql.BlackVolTermStructureHandle(ql.BlackConstantVol(today, ql.NullCalendar(), vol, dc))
    process = ql.BlackScholesMertonProcess(spot, divs, rates, vols)
    payoff = ql.PlainVanillaPayoff(ql.Option.Call if is_call else ql.Option.Put, k)
    option = ql.VanillaOption(payoff, ql.EuropeanExercise(today + days))
    option.setPricingEngine(ql.AnalyticEuropeanEngine(process))
    return (
        option.NPV(),
        option.delta(),
        option.gamma(),
        option.thetaPerDay(),
        option.vega() / 100.0,
    )


GRID = list(
    itertools.product(
        [True, False],  # call, put
        [80.0, 100.0, 125.0],  # strike vs spot 100: ITM/ATM/OTM either way
        [7, 45, 730],  # short and long T (days)
        [0.0, 0.03],  # q
        [0.15, 0.6],  # sigma
    )
)


@pytest.mark.parametrize(("is_call", "k", "days", "q", "vol"), GRID)
def test_matches_quantlib(is_call: bool, k: float, days: int, q: float, vol: float) -> None:
    s, r = 100.0, 0.045
    ref = quantlib(is_call, s, k, days, vol, r, q)
    got = valuation(is_call, s, k, days / 365.0, vol, r, q)
    value, delta, gamma, theta, vega = (
        float(x) for x in (got.value, got.delta, got.gamma, got.theta, got.vega)
    )
    assert value == pytest.approx(ref[0], abs=VALUE_TOL)
    assert float(option_value(is_call, s, k, days / 365.0, vol, r, q)) == pytest.approx(
        ref[0], abs=VALUE_TOL
    )
    for name, mine, theirs in zip(
        ("delta", "gamma", "theta", "vega"), (delta, gamma, theta, vega), ref[1:], strict=True
    ):
        assert mine == pytest.approx(theirs, abs=GREEK_TOL * max(1.0, abs(theirs))), name


def test_vectorized_grid_equals_one_by_one() -> None:
    """Prices as a column * legs as a row: each cell is the scalar value."""
    prices = np.linspace(50, 150, 11)[:, None]
    is_call = np.array([True, False, True])
    strikes = np.array([90.0, 100.0, 110.0])
    years = np.array([0.1, 0.5, 1.0])
    vols = np.array([0.2, 0.3, 0.4])
    grid = option_value(is_call, prices, strikes, years, vols, 0.04, 0.01)
    assert grid.shape == (11, 3)
    for i, j in itertools.product(range(11), range(3)):
        one = option_value(is_call[j], prices[i, 0], strikes[j], years[j], vols[j], 0.04, 0.01)
        assert grid[i, j] == float(one)


def test_hull_example() -> None:
    """Hull, Options, Futures and Other Derivatives (ex. 15.6): S=42, K=40, r=10 %,
    sigma=20 %, T=0.5 → call 4.76, put 0.81 (printed to the cent)."""
    call = float(option_value(True, 42, 40, 0.5, 0.2, 0.10, 0.0))
    put = float(option_value(False, 42, 40, 0.5, 0.2, 0.10, 0.0))
    assert round(call, 2) == 4.76
    assert round(put, 2) == 0.81


def test_haug_generalized_bsm_example() -> None:
    """Haug, The Complete Guide to Option Pricing Formulas (generalized BSM): S=75, K=70,
    T=0.5, r=10 %, b=5 %, sigma=35 % → put 4.0870; the cost of carry b = r - q, so q = 5 %."""
    put = float(option_value(False, 75, 70, 0.5, 0.35, 0.10, 0.10 - 0.05))
    assert round(put, 4) == 4.0870


@pytest.mark.parametrize(("k", "t", "vol", "q"), [(90, 0.25, 0.3, 0.0), (110, 2.0, 0.5, 0.04)])
def test_put_call_parity(k: float, t: float, vol: float, q: float) -> None:
    s, r = 100.0, 0.05
    call = float(option_value(True, s, k, t, vol, r, q))
    put = float(option_value(False, s, k, t, vol, r, q))
    assert call - put == pytest.approx(s * math.exp(-q * t) - k * math.exp(-r * t), abs=1e-12)


def test_at_and_after_expiration_intrinsic() -> None:
    spots = np.array([90.0, 100.0, 110.0])
    for t in (0.0, -0.5):
        calls = valuation(True, spots, 100.0, t, 0.3, 0.04, 0.02)
        puts = valuation(False, spots, 100.0, t, 0.3, 0.04, 0.02)
        assert calls.value.tolist() == [0.0, 0.0, 10.0]
        assert puts.value.tolist() == [10.0, 0.0, 0.0]
        assert calls.delta.tolist() == [0.0, 0.0, 1.0]
        assert puts.delta.tolist() == [-1.0, 0.0, 0.0]
        for g in (calls.gamma, calls.theta, calls.vega, puts.theta):
            assert g.tolist() == [0.0, 0.0, 0.0]
    assert intrinsic([True, False], [105.0, 105.0], [100.0, 100.0]).tolist() == [5.0, 0.0]


def test_zero_vol_is_discounted_forward_intrinsic_without_nan() -> None:
    s, k, t, r, q = 100.0, 95.0, 0.5, 0.05, 0.01
    v = valuation(True, s, k, t, 0.0, r, q)
    expected = s * math.exp(-q * t) - k * math.exp(-r * t)
    assert float(v.value) == pytest.approx(expected, abs=1e-12)
    assert float(v.delta) == pytest.approx(math.exp(-q * t), abs=1e-12)
    # the limit of a tiny sigma, to the model's own tolerance
    tiny = valuation(True, s, k, t, 1e-6, r, q)
    assert float(v.value) == pytest.approx(float(tiny.value), abs=1e-9)
    assert float(v.theta) == pytest.approx(float(tiny.theta), abs=1e-9)
    weird = valuation([True, False], [0.0, 100.0], [100.0, 100.0], [0.5, 0.5], [-0.2, 0.0], r, q)
    for arr in (weird.value, weird.delta, weird.gamma, weird.theta, weird.vega):
        assert not np.isnan(arr).any()
