"""The what-if curve: the theoretical P&L of legs at many underlying prices, at a date,
with an IV shift (docs/streaming-contract.md, "Risk: the what-if curve").

P&L is against the legs' cost, as the Open P&L column counts it: an option
(model value - average open price) * signed quantity * multiplier, the underlying itself (a
share, a future, a coin) (S - cost) * signed quantity * multiplier. Each option is priced
by `model.option_value` with its own IV (else the underlying's, handed in as a fallback)
shifted by the scenario's vol points; an option on a future with the dividend yield equal
to the rate, which is Black-76 on the future's price (a future costs nothing to carry). A
leg with no IV to use (or no cost) is unpriced: left out of the sum and named, never
counted as 0.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import brentq

from streaming.risk.legs import Leg
from streaming.risk.model import Array, option_value

SECONDS_PER_YEAR = 365.0 * 86_400.0
#: The breakeven search's grid (sign changes on it are refined by brentq).
BREAKEVEN_GRID = 4001


@dataclass(frozen=True)
class Scenario:
    """When and how the legs are priced: `at` (UTC), the IV shift in vol points (+5 = every
    IV 5 points higher), the continuous rate, the dividend yield (per underlying, or one
    for all; a missing underlying has none)."""

    at: dt.datetime
    iv_shift: float = 0.0
    rate: float = 0.04
    dividend_yield: dict[str, float] | float = field(default=0.0)

    def yield_of(self, underlying: str) -> float:
        if isinstance(self.dividend_yield, dict):
            return float(self.dividend_yield.get(underlying, 0.0))
        return float(self.dividend_yield)


def carry(leg: Leg, scenario: Scenario) -> float:
    """The q of the leg's model: its underlying's dividend yield; for an option on a future,
    the rate (Black-76: the future's forward is its price)."""
    return scenario.rate if leg.asset == "future" else scenario.yield_of(leg.underlying)


def years_until(when: dt.datetime | None, at: dt.datetime) -> float:
    """Years (of 365 days) from `at` to `when`; ≤ 0 once it has passed."""
    if when is None:
        return 0.0
    return (when - at).total_seconds() / SECONDS_PER_YEAR


def leg_iv(leg: Leg, fallback_iv: Mapping[str, float] | None) -> float | None:
    """The IV a leg is priced with: its own, else its underlying's."""
    if leg.iv is not None:
        return leg.iv
    return (fallback_iv or {}).get(leg.underlying)


def is_priced(leg: Leg, scenario: Scenario, fallback_iv: Mapping[str, float] | None) -> bool:
    """Whether the curve can count the leg: it has a cost, and an option still alive at
    the scenario's date has an IV (an expired one is worth its intrinsic value)."""
    if leg.cost is None:
        return False
    if not leg.is_option or years_until(leg.expires_at, scenario.at) <= 0:
        return True
    return leg_iv(leg, fallback_iv) is not None


def unpriced(
    legs: Sequence[Leg], scenario: Scenario, fallback_iv: Mapping[str, float] | None = None
) -> list[str]:
    """The symbols of the legs the curve leaves out (sorted, once each)."""
    return sorted({leg.symbol for leg in legs if not is_priced(leg, scenario, fallback_iv)})


def pnl_at(
    legs: Sequence[Leg],
    prices: np.ndarray,
    scenario: Scenario,
    fallback_iv: Mapping[str, float] | None = None,
) -> Array:
    """The priced legs' summed P&L at each price (one value per price)."""
    s = np.asarray(prices, dtype=np.float64).reshape(-1)
    total = np.zeros_like(s)
    priced = [leg for leg in legs if is_priced(leg, scenario, fallback_iv)]
    stock = [leg for leg in priced if not leg.is_option]
    options = [leg for leg in priced if leg.is_option]
    for leg in stock:
        total += (s - float(leg.cost or 0.0)) * leg.quantity * leg.multiplier
    if not options:
        return total
    is_call = np.array([leg.kind == "call" for leg in options])
    strikes = np.array([float(leg.strike or 0.0) for leg in options])
    years = np.array([years_until(leg.expires_at, scenario.at) for leg in options])
    shift = scenario.iv_shift / 100.0
    vols = np.array([max((leg_iv(leg, fallback_iv) or 0.0) + shift, 0.0) for leg in options])
    divs = np.array([carry(leg, scenario) for leg in options])
    cost = np.array([float(leg.cost or 0.0) for leg in options])
    size = np.array([leg.quantity * leg.multiplier for leg in options])
    values = option_value(is_call, s[:, None], strikes, years, vols, scenario.rate, divs)
    total += (values - cost) @ size
    return total


def breakevens(
    legs: Sequence[Leg],
    scenario: Scenario,
    lo: float,
    hi: float,
    fallback_iv: Mapping[str, float] | None = None,
) -> list[float]:
    """The prices in [lo, hi] where the legs' P&L crosses zero (see `crossings`)."""
    return crossings(lambda prices: pnl_at(legs, prices, scenario, fallback_iv), lo, hi)


def crossings(pnl: Callable[[Array], Array], lo: float, hi: float) -> list[float]:
    """Where `pnl` (vectorized over prices) crosses zero in [lo, hi], ascending: sign
    changes on a fine grid, each refined by brentq (to 1e-9); where the P&L is exactly 0
    at grid points between a loss and a gain, the first of them. A P&L that touches zero
    without crossing it has no breakeven there."""
    if not hi > lo > 0:
        return []
    grid = np.linspace(lo, hi, BREAKEVEN_GRID)
    sign = np.sign(pnl(grid))
    nonzero = np.flatnonzero(sign)
    found: list[float] = []

    def at(price: float) -> float:
        return float(pnl(np.array([price]))[0])

    for a, b in itertools.pairwise(nonzero):
        if sign[a] == sign[b]:
            continue
        if b - a > 1:
            found.append(float(grid[a + 1]))
            continue
        found.append(float(brentq(at, grid[a], grid[b], xtol=1e-9, rtol=4 * np.finfo(float).eps)))
    return found


def last_expiration(legs: Sequence[Leg]) -> dt.datetime | None:
    """When the last option held expires (16:00 New York, UTC-aware); None without one."""
    ends = [leg.expires_at for leg in legs if leg.expires_at is not None]
    return max(ends) if ends else None


@dataclass(frozen=True)
class UnderlyingGroup:
    """One underlying's legs for the β-weighted portfolio curve: its price now, its β
    against SPY and its IV as the fallback of legs without their own."""

    underlying: str
    legs: Sequence[Leg]
    price: float
    beta: float
    iv: float | None = None


def beta_weighted_pnl(
    groups: Sequence[UnderlyingGroup],
    spy_prices: np.ndarray,
    spy_price: float,
    scenario: Scenario,
) -> Array:
    """The portfolio's P&L against SPY's price P: each underlying moves with SPY by its β,
    S_i(P) = S_i * (1 + β_i * (P ÷ SPY - 1)), floored at 0 (a price is never negative)."""
    p = np.asarray(spy_prices, dtype=np.float64).reshape(-1)
    total = np.zeros_like(p)
    move = p / spy_price - 1.0
    for g in groups:
        prices = np.maximum(g.price * (1.0 + g.beta * move), 0.0)
        fallback = {g.underlying: g.iv} if g.iv is not None else None
        total += pnl_at(g.legs, prices, scenario, fallback)
    return total


def sigma_bands(price: float, iv: float, years: float) -> dict[str, tuple[float, float]]:
    """±1 sd and ±2 sd of the price to a horizon: one sd = S * IV * √t (t in years); the low
    side is floored at 0."""
    one = price * iv * math.sqrt(max(years, 0.0))
    return {
        "1": (max(price - one, 0.0), price + one),
        "2": (max(price - 2 * one, 0.0), price + 2 * one),
    }
