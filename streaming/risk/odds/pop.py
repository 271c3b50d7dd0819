"""POP, tastytrade's probability of profit: the chance the price at expiration lies where
the strategy's P&L at expiration is > 0 (docs/streaming-contract.md, "The odds").

The P&L at expiration is exact and piecewise linear (strategies/payoff.py), so the prices
where it is > 0 are a union of intervals between its break-evens; each interval's weight
under the lognormal of S_T is a difference of two N(d2): no sampling, no grid.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
from scipy.special import ndtr

from streaming.risk.odds.inputs import OddsInputs
from streaming.risk.strategies.payoff import Payoff

#: Probabilities are reported to this many decimals.
PROBABILITY_DECIMALS = 4


def pnl_at(curve: Payoff, price: float) -> float:
    """The P&L at expiration at `price` (≥ 0): straight between the points, `slope` beyond."""
    prices = [p for p, _ in curve.points]
    pnls = [v for _, v in curve.points]
    if price <= prices[-1]:
        return float(np.interp(price, prices, pnls))
    return pnls[-1] + curve.slope * (price - prices[-1])


def profit_intervals(curve: Payoff) -> list[tuple[float, float]]:
    """The price intervals (low, high) where the P&L at expiration is > 0, ascending; the
    last may end at infinity. Between two break-evens the sign does not change, so one
    price inside each interval decides it."""
    edges = [0.0, *curve.breakevens(), math.inf]
    found: list[tuple[float, float]] = []
    for low, high in itertools.pairwise(edges):
        if high <= low:
            continue
        inside = (low + high) / 2 if math.isfinite(high) else max(low, curve.points[-1][0]) + 1.0
        if pnl_at(curve, inside) > 0:
            if found and found[-1][1] == low:  # a touch of 0 between two profits: one piece
                found[-1] = (found[-1][0], high)
            else:
                found.append((low, high))
    return found


def probability_above(level: float, odds: OddsInputs) -> float:
    """P(S_T > level) under the lognormal: N(d2), d2 = (ln(S/K) + (r - sigma²/2)t) / (sigma√t);
    1 at level 0, 0 at infinity."""
    if level <= 0:
        return 1.0
    if math.isinf(level):
        return 0.0
    t = odds.years
    d2 = (math.log(odds.price / level) + (odds.rate - 0.5 * odds.iv**2) * t) / (
        odds.iv * math.sqrt(t)
    )
    return float(ndtr(d2))


def probability_of_profit(curve: Payoff, odds: OddsInputs) -> float:
    """POP in 0-1 (4 decimals): the lognormal's weight on the P&L's profit intervals."""
    total = math.fsum(
        probability_above(low, odds) - probability_above(high, odds)
        for low, high in profit_intervals(curve)
    )
    return round(min(max(total, 0.0), 1.0), PROBABILITY_DECIMALS)
