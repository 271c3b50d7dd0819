"""P50: the probability that a strategy's P&L reaches 50 % of its max profit at some
step's close before (or at) expiration, from a seeded Monte Carlo (docs/streaming-contract.md,
"The odds").

Why simulated: reaching a profit early depends on the path, not on where it ends, and the
value along the way is the model's (BSM with the time left), which has no closed form for
a multi-leg strategy. The paths are geometric Brownian motion under the pricing measure
(drift r, sigma the strategy's), one step per started calendar day, vectorised over paths;
the generator is seeded, so the same inputs always give the same answer.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from streaming.risk.model import Array, option_value
from streaming.risk.odds.inputs import OddsInputs
from streaming.risk.odds.pop import PROBABILITY_DECIMALS
from streaming.risk.strategies.payoff import Part

PATHS = 10_000
SEED = 63
#: The share of the max profit to reach.
TARGET_SHARE = 0.5
#: A P&L this close to the target (relative) counts as reaching it (float noise).
REACH_TOLERANCE = 1e-9
#: Prices per step the model values the strategy at, spanning that step's paths; each
#: path's P&L is read between two of them (linear). The error is at most Γ·h²/8 for a
#: spacing h: a cent or so per share a day before expiration (tests/streaming/test_odds.py
#: checks the answer against repricing every path).
GRID = 256
#: Steps simulated at once (bounds the memory of a long-dated strategy's paths).
CHUNK = 64


@dataclass(frozen=True)
class Book:
    """A strategy's parts as arrays the model prices in one call."""

    is_call: np.ndarray
    strikes: Array
    sizes: Array  # signed quantity * multiplier, per option
    stock: float  # signed shares (quantity * multiplier) of the underlying
    net: float  # the premium taken in (+) or paid (-), stock's cost included

    @classmethod
    def of(cls, parts: Sequence[Part], net: float) -> Book:
        options = [p for p in parts if p.leg.is_option]
        return cls(
            is_call=np.array([p.leg.kind == "call" for p in options], dtype=bool),
            strikes=np.array([float(p.leg.strike or 0.0) for p in options]),
            sizes=np.array([p.quantity * p.leg.multiplier for p in options]),
            stock=math.fsum(p.quantity * p.leg.multiplier for p in parts if not p.leg.is_option),
            net=net,
        )

    def pnl(self, prices: Array, years_left: Array | float, odds: OddsInputs) -> Array:
        """The P&L at each price (any shape; `years_left` broadcasts against it) with the
        model at sigma: BSM with the time left, intrinsic at 0."""
        left = np.asarray(years_left, dtype=np.float64)[..., None]
        values = option_value(
            self.is_call, prices[..., None], self.strikes, left, odds.iv, odds.rate, 0.0
        )
        return values @ self.sizes + self.stock * prices + self.net


def p50(
    parts: Sequence[Part],
    net: float,
    max_profit: float,
    odds: OddsInputs,
    *,
    paths: int = PATHS,
    seed: int = SEED,
    grid: int | None = GRID,
) -> float:
    """P(the P&L reaches TARGET_SHARE * max_profit at a step's close), 0-1 to 4 decimals;
    `max_profit` > 0 (the caller says why not otherwise). Now counts as a step: a strategy
    already at its target has P50 1. `grid=None` reprices every path (the slow reference);
    at expiration every path is valued exactly (intrinsic)."""
    book = Book.of(parts, net)
    target = TARGET_SHARE * max_profit
    target -= REACH_TOLERANCE * abs(target)
    years = odds.years
    if book.pnl(np.array([odds.price]), years, odds)[0] >= target:
        return 1.0
    steps = max(1, math.ceil(odds.days))
    step = years / steps
    drift = (odds.rate - 0.5 * odds.iv**2) * step
    shock = odds.iv * math.sqrt(step)
    rng = np.random.default_rng(seed)
    log_price = np.full(paths, math.log(odds.price))
    reached = np.zeros(paths, dtype=bool)
    for first in range(1, steps + 1, CHUNK):
        ks = np.arange(first, min(first + CHUNK, steps + 1))
        moves = drift + shock * rng.standard_normal((len(ks), paths))
        logs = log_price + np.cumsum(moves, axis=0)
        log_price = logs[-1]
        live = ks < steps
        if grid is None:
            left = np.where(live, years - ks * step, 0.0)
            reached |= (book.pnl(np.exp(logs), left[:, None], odds) >= target).any(axis=0)
        elif live.any():
            left = np.asarray(years - ks[live] * step, dtype=np.float64)
            reached |= _reached_on_grid(book, logs[live], left, odds, target, grid)
        if not live.all():  # the expiration: exact
            reached |= book.pnl(np.exp(log_price), 0.0, odds) >= target
    return round(float(reached.mean()), PROBABILITY_DECIMALS)


def _reached_on_grid(
    book: Book, logs: Array, left: Array, odds: OddsInputs, target: float, size: int
) -> np.ndarray:
    """Whether each path (a column of `logs`, its log prices, one row per step) reached the
    target at one of these steps, its P&L read off `size` prices evenly spaced in log price
    across each step's paths (even spacing: a path's place is arithmetic, not a search)."""
    low, high = logs.min(axis=1, keepdims=True), logs.max(axis=1, keepdims=True)
    spacing = np.maximum(high - low, 1e-12) / (size - 1)
    values = book.pnl(np.exp(low + spacing * np.arange(size)), left[:, None], odds)
    place = (logs - low) / spacing
    below = np.minimum(place.astype(np.intp), size - 2)
    weight = place - below
    below += np.arange(len(logs))[:, None] * size  # an index into the flattened rows
    flat = values.ravel()
    v0 = flat[below]
    return np.asarray((v0 + weight * (flat[below + 1] - v0) >= target).any(axis=0))
