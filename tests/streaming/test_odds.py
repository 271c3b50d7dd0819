"""The odds of a strategy (docs/streaming-contract.md, "The odds"): POP, P50 and touch,
each checked against a computation of this file's own, never the code under test's.

- POP: the break-evens are worked out by hand beside each case; N(d2) is QuantLib's
  (`BlackCalculator.itmCashProbability()`, the probability a call ends in the money).
- P50: an independent Monte Carlo of 100,000 paths written here (its own Black-Scholes on
  scipy's normal CDF, every path repriced, its own seed), and a bound for the short put.
- touch: the first-passage time density of a Brownian motion with drift (inverse
  Gaussian) integrated with scipy's quad, not the reflection formula's closed form.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from types import SimpleNamespace
from typing import Any

import jsonschema
import numpy as np
import orjson
import pytest
import QuantLib as ql
from django.test import AsyncRequestFactory
from scipy import integrate
from scipy.stats import norm

from streaming.api.description import description
from streaming.instruments.naming import name_position
from streaming.portfolio.expected_move import expected_move
from streaming.risk.legs import Kind, Leg
from streaming.risk.odds import inputs as odds_inputs_module
from streaming.risk.odds.answer import NO_PROFIT, UNLIMITED_PROFIT, strategy_odds
from streaming.risk.odds.inputs import OddsInputs
from streaming.risk.odds.p50 import GRID, p50
from streaming.risk.odds.touch import touch_probability
from streaming.risk.strategies import views
from streaming.risk.strategies.grouping import Strategy, strategies_of
from tests.support.legs import option_leg

PRICE = 100.0
RATE = 0.04
#: 2027-01-15 16:00 New York is 21:00 UTC (EST): 45 days and 6 hours after NOW.
NOW = dt.datetime(2026, 12, 1, 15, 0, tzinfo=dt.UTC)
EXPIRY = dt.date(2027, 1, 15)
DAYS = 45.25
#: 2026-12-11 16:00 New York (EST) = 21:00 UTC: 10 days and 6 hours after NOW.
NEAR = dt.date(2026, 12, 11)
NEAR_DAYS = 10.25


def opt(
    kind: Kind, strike: float, qty: float, cost: float | None, iv: float | None, day: dt.date
) -> Leg:
    return option_leg(kind, strike, qty, cost, day, iv=iv)


def shares(qty: float, cost: float) -> Leg:
    return Leg(
        "A1", "XYZ", "XYZ", "stock", qty, 1.0, None, None, None, cost, None,
        {"delta": 1.0, "gamma": 0.0, "theta": 0.0, "vega": 0.0},
    )  # fmt: skip


def five(day: dt.date) -> dict[str, list[Leg]]:
    """The five shapes, each with its legs' open prices and IVs."""
    return {
        # short 95 put 1.50 (IV 27 %), long 90 put 0.50: credit 1.00 → BE 95 - 1 = 94
        "put credit vertical": [
            opt("put", 95, -1, 1.50, 0.27, day),
            opt("put", 90, 1, 0.50, 0.30, day),
        ],
        # long 100 call 3.00, short 105 call 1.20 (IV 24 %): debit 1.80 → BE 101.80
        "call debit vertical": [
            opt("call", 100, 1, 3.00, 0.25, day),
            opt("call", 105, -1, 1.20, 0.24, day),
        ],
        # 85/90 puts, 110/115 calls: credit 0.80 + 0.90 - 0.30 - 0.35 = 1.05 → BEs 88.95,
        # 111.05; sigma = mean of the shorts' IVs (28 %, 22 %) = 25 %
        "iron condor": [
            opt("put", 85, 1, 0.30, 0.31, day),
            opt("put", 90, -1, 0.80, 0.28, day),
            opt("call", 110, -1, 0.90, 0.22, day),
            opt("call", 115, 1, 0.35, 0.21, day),
        ],
        # short 95 put 1.50 (IV 27 %): BE 93.50
        "short put": [opt("put", 95, -1, 1.50, 0.27, day)],
        # 100 shares at 98, short 105 call 1.20 (IV 24 %): BE 98 - 1.20 = 96.80
        "covered call": [shares(100, 98.0), opt("call", 105, -1, 1.20, 0.24, day)],
    }


#: name → (sigma, [(low, high)] where the P&L at expiration is > 0, max profit in $)
BY_HAND: dict[str, tuple[float, list[tuple[float, float]], float]] = {
    "put credit vertical": (0.27, [(94.0, math.inf)], 100.0),
    "call debit vertical": (0.24, [(101.8, math.inf)], 320.0),  # 5.00 - 1.80
    "iron condor": (0.25, [(88.95, 111.05)], 105.0),
    "short put": (0.27, [(93.5, math.inf)], 150.0),
    "covered call": (0.24, [(96.8, math.inf)], 820.0),  # (105 - 98 + 1.20) * 100
}


def the_strategy(legs: list[Leg]) -> Strategy:
    (found,) = strategies_of(legs)
    return found


def ql_above(level: float, sigma: float, days: float) -> float:
    """P(S_T > level): QuantLib's probability that a call struck there ends in the money."""
    if math.isinf(level):
        return 0.0
    t = days / 365.0
    forward = PRICE * math.exp(RATE * t)
    payoff = ql.PlainVanillaPayoff(ql.Option.Call, level)
    black = ql.BlackCalculator(payoff, forward, sigma * math.sqrt(t), math.exp(-RATE * t))
    return float(black.itmCashProbability())


@pytest.mark.parametrize("name", list(BY_HAND))
def test_pop_is_the_lognormal_weight_between_the_break_evens(name: str) -> None:
    """POP = Σ N(d2(low)) - N(d2(high)) over the profit intervals worked out by hand."""
    strategy = the_strategy(five(EXPIRY)[name])
    assert strategy.name == name
    sigma, intervals, _ = BY_HAND[name]
    expected = sum(ql_above(lo, sigma, DAYS) - ql_above(hi, sigma, DAYS) for lo, hi in intervals)
    odds = strategy_odds(strategy, PRICE, now=NOW, rate=RATE)
    assert odds["pop_note"] is None
    assert odds["pop_inputs"] == {"price": PRICE, "iv": pytest.approx(sigma), "rate": RATE,
                                  "days": DAYS}  # fmt: skip
    assert odds["probability_of_profit"] == pytest.approx(expected, abs=5e-5)


def test_pop_without_a_short_leg_takes_the_iv_of_the_strike_nearest_the_price() -> None:
    """A long strangle: sigma is the IV of its leg nearest the price (no chain is read)."""
    legs = [opt("put", 90, 1, 1.0, 0.33, EXPIRY), opt("call", 103, 1, 1.5, 0.21, EXPIRY)]
    strategy = the_strategy(legs)
    assert strategy.name == "long strangle"
    odds = strategy_odds(strategy, PRICE, now=NOW, rate=RATE)
    assert odds["pop_inputs"] is not None and odds["pop_inputs"]["iv"] == 0.21
    # paid 2.50: profits below 87.50 and above 105.50
    expected = 1 - ql_above(87.5, 0.21, DAYS) + ql_above(105.5, 0.21, DAYS)
    assert odds["probability_of_profit"] == pytest.approx(expected, abs=5e-5)
    assert odds["touch"] == {}
    assert odds["p50"] is None and odds["p50_note"] == UNLIMITED_PROFIT


# -- P50 ------------------------------------------------------------------------------------
def bsm(is_call: bool, s: np.ndarray, k: float, tau: float, sigma: float) -> np.ndarray:
    """Black-Scholes, no dividend, written here; intrinsic at tau = 0."""
    if tau <= 0:
        return np.maximum(s - k, 0.0) if is_call else np.maximum(k - s, 0.0)
    d1 = (np.log(s / k) + (RATE + sigma * sigma / 2) * tau) / (sigma * math.sqrt(tau))
    d2 = d1 - sigma * math.sqrt(tau)
    if is_call:
        return s * norm.cdf(d1) - k * math.exp(-RATE * tau) * norm.cdf(d2)
    return k * math.exp(-RATE * tau) * norm.cdf(-d2) - s * norm.cdf(-d1)


def independent_p50(legs: list[Leg], sigma: float, days: float, paths: int = 100_000) -> float:
    """P(P&L ≥ half the max profit at some daily close), every path repriced."""
    net = -sum((leg.cost or 0.0) * leg.quantity * leg.multiplier for leg in legs)
    steps = math.ceil(days)
    years = days / 365.0
    step = years / steps

    def pnl(s: np.ndarray, tau: float) -> np.ndarray:
        total = np.full_like(s, net)
        for leg in legs:
            if leg.kind == "stock":
                total += s * leg.quantity * leg.multiplier
            else:
                value = bsm(leg.kind == "call", s, leg.strike or 0.0, tau, sigma)
                total += value * leg.quantity * leg.multiplier
        return total

    target = 0.5 * float(pnl(np.linspace(0.01, 400, 40_001), 0.0).max())  # the max profit
    rng = np.random.default_rng(20261201)
    hits = 0
    for _ in range(paths // 25_000):
        s = np.full(25_000, PRICE)
        reached = np.zeros(25_000, dtype=bool)
        for k in range(1, steps + 1):
            z = rng.standard_normal(25_000)
            s = s * np.exp((RATE - sigma * sigma / 2) * step + sigma * math.sqrt(step) * z)
            reached |= pnl(s, years - k * step if k < steps else 0.0) >= target - 1e-9
        hits += int(reached.sum())
    return hits / paths


def opened_now(legs: list[Leg], sigma: float, days: float) -> list[Leg]:
    """The legs bought and sold now at this file's model value (to the cent), so the P&L
    starts at about 0, as for a new trade (tastytrade's P50 is a trade's, at entry)."""

    def value(leg: Leg) -> float:
        if leg.kind == "stock":
            return PRICE
        at = bsm(leg.kind == "call", np.array([PRICE]), leg.strike or 0.0, days / 365, sigma)
        return round(float(at[0]), 2)

    return [dataclasses.replace(leg, cost=value(leg)) for leg in legs]


@pytest.mark.parametrize("name", list(BY_HAND))
def test_p50_agrees_with_an_independent_simulation_of_100k_paths(name: str) -> None:
    """Within 0.01 (the two Monte Carlos' standard errors together are ≤ 0.0053)."""
    sigma = BY_HAND[name][0]
    legs = opened_now(five(EXPIRY)[name], sigma, DAYS)
    odds = strategy_odds(the_strategy(legs), PRICE, now=NOW, rate=RATE)
    assert odds["pop_inputs"] is not None and odds["pop_inputs"]["iv"] == pytest.approx(sigma)
    assert odds["p50"] is not None and odds["p50_note"] is None
    assert 0.0 < odds["p50"] < 1.0
    assert odds["p50"] == pytest.approx(independent_p50(legs, sigma, DAYS), abs=0.01)


def test_p50_of_a_strategy_already_at_half_its_max_profit_is_1() -> None:
    """Now counts: a short put sold for 1.50 ten days out, worth a few cents at 27 %."""
    odds = strategy_odds(the_strategy(five(NEAR)["short put"]), PRICE, now=NOW, rate=RATE)
    assert odds["pop_inputs"] is not None and odds["pop_inputs"]["days"] == NEAR_DAYS
    assert odds["p50"] == 1.0


def test_p50_of_a_short_put_is_at_least_its_chance_to_expire_worthless() -> None:
    """A short put that expires above its strike keeps its whole credit (≥ 50 %)."""
    odds = strategy_odds(the_strategy(five(EXPIRY)["short put"]), PRICE, now=NOW, rate=RATE)
    assert odds["p50"] is not None and odds["probability_of_profit"] is not None
    assert odds["p50"] >= ql_above(95.0, 0.27, DAYS) - 0.01
    assert odds["p50"] <= 1.0


def test_p50_on_the_grid_matches_repricing_every_path() -> None:
    """The grid's interpolation changes no more than a few paths of 10,000."""
    legs = five(NEAR)["iron condor"]
    strategy = the_strategy(legs)
    assert isinstance(strategy.max_profit, float) and strategy.net is not None
    odds = OddsInputs(price=PRICE, iv=0.25, rate=RATE, days=NEAR_DAYS)
    fast = p50(strategy.parts, strategy.net, strategy.max_profit, odds, grid=GRID)
    slow = p50(strategy.parts, strategy.net, strategy.max_profit, odds, grid=None)
    assert fast == pytest.approx(slow, abs=0.002)
    assert fast == p50(strategy.parts, strategy.net, strategy.max_profit, odds)  # seeded


def test_p50_is_null_with_a_sentence_when_there_is_no_profit_to_halve() -> None:
    """Unlimited (a long call) or ≤ 0 (a vertical bought above its width)."""
    long_call = strategy_odds(
        the_strategy([opt("call", 100, 1, 3.0, 0.25, EXPIRY)]), PRICE, now=NOW, rate=RATE
    )
    assert (long_call["p50"], long_call["p50_note"]) == (None, UNLIMITED_PROFIT)
    overpaid = [opt("call", 100, 1, 6.0, 0.25, EXPIRY), opt("call", 105, -1, 0.5, 0.24, EXPIRY)]
    odds = strategy_odds(the_strategy(overpaid), PRICE, now=NOW, rate=RATE)
    assert (odds["p50"], odds["p50_note"]) == (None, NO_PROFIT)
    assert odds["probability_of_profit"] == 0.0


# -- touch ----------------------------------------------------------------------------------
def first_passage(strike: float, sigma: float, days: float) -> float:
    """∫ the inverse Gaussian density of the first time ln S moves by b = ln(K/S)."""
    b = math.log(strike / PRICE)
    nu = RATE - sigma * sigma / 2
    t = days / 365.0

    def density(u: float) -> float:
        return (
            abs(b)
            / (sigma * math.sqrt(2 * math.pi * u**3))
            * math.exp(-((b - nu * u) ** 2) / (2 * sigma * sigma * u))
        )

    found, _ = integrate.quad(density, 0.0, t, limit=200, epsabs=1e-12)
    return found


@pytest.mark.parametrize("strike", [80.0, 90.0, 95.0, 99.0, 101.0, 105.0, 110.0, 130.0])
def test_touch_is_the_first_passage_probability(strike: float) -> None:
    """Above and below the price, near and far."""
    odds = OddsInputs(price=PRICE, iv=0.27, rate=RATE, days=DAYS)
    assert touch_probability(strike, odds) == pytest.approx(
        first_passage(strike, 0.27, DAYS), abs=1e-7
    )


def test_touch_is_given_for_each_short_strike() -> None:
    """The iron condor's 90 and 110, at the strategy's sigma; about twice the tail beyond."""
    strategy = the_strategy(five(EXPIRY)["iron condor"])
    odds = strategy_odds(strategy, PRICE, now=NOW, rate=RATE)
    assert odds["touch"] is not None and set(odds["touch"]) == {"90", "110"}
    for key, k in (("90", 90.0), ("110", 110.0)):
        assert odds["touch"][key] == pytest.approx(first_passage(k, 0.25, DAYS), abs=5e-5)
    beyond = 1 - ql_above(90.0, 0.25, DAYS)
    assert beyond < odds["touch"]["90"] < 2.2 * beyond
    assert touch_probability(PRICE, OddsInputs(PRICE, 0.25, RATE, DAYS)) == 1.0


# -- the expected move ----------------------------------------------------------------------
def test_expected_move_is_price_times_iv_times_root_time() -> None:
    """$100 at 25 % over 45.25 days: 100 * 0.25 * √(45.25/365) ≈ 8.80."""
    assert expected_move(100.0, 0.25, 45.25) == pytest.approx(8.8025, abs=1e-4)
    assert expected_move(100.0, 0.25, 365.0) == pytest.approx(25.0)
    assert expected_move(100.0, 0.25, -1.0) == 0.0


# -- bad input ------------------------------------------------------------------------------
def no_odds(odds: Any) -> str:
    assert odds["probability_of_profit"] is None and odds["pop_inputs"] is None
    assert odds["p50"] is None and odds["touch"] is None
    assert odds["pop_note"] == odds["p50_note"]
    return str(odds["pop_note"])


def test_legs_of_two_expirations_have_no_pop() -> None:
    calendar = [opt("call", 100, -1, 1.0, 0.25, NEAR), opt("call", 100, 1, 3.0, 0.24, EXPIRY)]
    strategy = the_strategy(calendar)
    assert strategy.name == "call calendar"
    note = no_odds(strategy_odds(strategy, PRICE, now=NOW, rate=RATE))
    assert note == "Its legs expire on different days: POP is for one expiration."


def test_no_price_no_iv_no_cost_no_option_or_expired_is_a_sentence() -> None:
    short_put = the_strategy(five(EXPIRY)["short put"])
    assert no_odds(strategy_odds(short_put, None, now=NOW, rate=RATE)) == (
        "There is no price for XYZ yet, so where it ends cannot be weighed."
    )
    no_iv = the_strategy([opt("put", 95, -1, 1.5, None, EXPIRY)])
    assert no_odds(strategy_odds(no_iv, PRICE, now=NOW, rate=RATE)) == (
        odds_inputs_module.NO_SHORT_IV
    )
    no_atm_iv = the_strategy([opt("call", 100, 1, 3.0, None, EXPIRY)])
    assert no_odds(strategy_odds(no_atm_iv, PRICE, now=NOW, rate=RATE)) == (
        odds_inputs_module.NO_ATM_IV
    )
    no_cost = the_strategy([opt("put", 95, -1, None, 0.27, EXPIRY)])
    assert no_odds(strategy_odds(no_cost, PRICE, now=NOW, rate=RATE)) == (
        odds_inputs_module.NO_COST
    )
    stock = the_strategy([shares(100, 98.0)])
    assert no_odds(strategy_odds(stock, PRICE, now=NOW, rate=RATE)) == (
        odds_inputs_module.NO_OPTION
    )
    later = dt.datetime(2027, 1, 15, 21, 0, tzinfo=dt.UTC)
    assert no_odds(strategy_odds(short_put, PRICE, now=later, rate=RATE)) == (
        odds_inputs_module.EXPIRED
    )


# -- through the API ------------------------------------------------------------------------
def snapshot() -> dict[str, Any]:
    """One tastytrade account holding an XYZ put credit vertical, XYZ quoted 99.95 x 100.05."""
    positions = [
        {
            "symbol": f"XYZ   270115P000{strike}000",
            "streamer_symbol": f".XYZ270115P{strike}",
            "underlying": "XYZ",
            "instrument_type": "Equity Option",
            "quantity": 1,
            "direction": direction,
            "multiplier": 100,
            "average_open_price": cost,
        }
        for strike, direction, cost in ((95, "Short", 1.5), (90, "Long", 0.5))
    ]
    return {
        "accounts": [
            {
                "number": "5WT1",
                "broker": "tastytrade",
                "positions": [name_position(p, "tastytrade") for p in positions],
            }
        ],
        "quotes": {"XYZ": {"bid": 99.95, "ask": 100.05, "t": 1}},
        "greeks": {".XYZ270115P95": {"iv": 0.27}, ".XYZ270115P90": {"iv": 0.30}},
        "t": 1,
    }


async def test_the_strategies_api_answers_each_strategy_with_its_odds(
    monkeypatch, settings
) -> None:
    """In process: the view reads the clock once and the what-if curve's rate."""

    async def snapshot_for(agents: object, user_id: int) -> tuple[dict[str, Any], None]:
        return snapshot(), None

    async def auser() -> SimpleNamespace:
        return SimpleNamespace(is_authenticated=True, id=1)

    settings.RISK_INTEREST_RATE = RATE
    monkeypatch.setattr(views, "snapshot_for", snapshot_for)
    monkeypatch.setattr(views, "agents_of", lambda request: None)
    monkeypatch.setattr(views, "now_ms", lambda: int(NOW.timestamp() * 1000))
    request = AsyncRequestFactory().get("/api/risk/strategies", {"underlying": "xyz"})
    request.auser = auser  # type: ignore[attr-defined]
    response = await views.api_strategies(request)
    assert response.status_code == 200
    (row,) = orjson.loads(response.content)["strategies"]
    assert row["name"] == "put credit vertical"
    assert row["pop_inputs"] == {"price": 100.0, "iv": 0.27, "rate": 0.04, "days": DAYS}
    assert row["probability_of_profit"] == pytest.approx(ql_above(94.0, 0.27, DAYS), abs=5e-5)
    assert 0 < row["p50"] < 1 and row["p50_note"] is None and row["pop_note"] is None
    assert set(row["touch"]) == {"95"}
    schema = description()["components"]["schemas"]["Strategy"]
    jsonschema.Draft202012Validator(schema).validate(row)  # as the API fuzz checks answers
    no_price = dict(row, **no_odds_fields("There is no price for XYZ yet."))
    jsonschema.Draft202012Validator(schema).validate(no_price)


def no_odds_fields(note: str) -> dict[str, Any]:
    return {"probability_of_profit": None, "pop_inputs": None, "pop_note": note, "p50": None,
            "p50_note": note, "touch": None}  # fmt: skip
