"""P50: the probability that a strategy's P&L reaches 50 % of its max profit at some
step's close before (or at) expiration, from a seeded Monte Carlo (docs/streaming-contract.md,
"The odds").

Why simulated: reaching a profit early depends on the path, not on where it ends, and the
value along the way is the model's (BSM with the time left), which has no closed form for
a multi-leg strategy. The paths are geometric Brownian motion under the pricing measure
(drift r, sigma the strategy's), one step per started calendar day, vectorised over paths
(log prices in single precision: ~1e-7 of the price, a tenth of a cent at $1,000); the
generator is seeded, so the same inputs always give the same answer. At each step before
expiration the model values the strategy at GRID prices spanning the paths and each path
is read between two of them (the model at every path's price costs ten times as much and
moves a path or two of 10,000); at expiration every path is valued exactly (intrinsic).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from streaming.risk.model import Array, intrinsic, option_value
from streaming.risk.odds.inputs import OddsInputs
from streaming.risk.odds.pop import PROBABILITY_DECIMALS
from streaming.risk.strategies.payoff import Part

PATHS = 10_000
SEED = 63
#: The share of the max profit to reach.
TARGET_SHARE = 0.5
#: A P&L this close to the target (relative) counts as reaching it (float noise).
REACH_TOLERANCE = 1e-9
#: Prices per step the model values the strategy at, evenly spanning that step's paths in
#: log price; between two of them the P&L is read off the straight line (an error of at
#: most Γ·h²/8 for a spacing h). Against repricing every path it moves a path or two of
#: 10,000 (tests/streaming/test_odds.py), at a tenth of the model's work.
GRID = 128
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

    def pnl_at_expiration(self, prices: Array) -> Array:
        """The P&L when the options expire: the model's intrinsic values (no BSM to run)."""
        values = intrinsic(self.is_call, prices[..., None], self.strikes)
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
    log_price = np.full(paths, math.log(odds.price), dtype=np.float32)
    reached = np.zeros(paths, dtype=bool)
    for first in range(1, steps + 1, CHUNK):
        ks = np.arange(first, min(first + CHUNK, steps + 1))
        moves = rng.standard_normal((len(ks), paths), dtype=np.float32)
        moves *= np.float32(shock)
        moves += np.float32(drift)
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
            reached |= book.pnl_at_expiration(np.exp(log_price.astype(np.float64))) >= target
    return round(float(reached.mean()), PROBABILITY_DECIMALS)


def _reached_on_grid(
    book: Book, logs: np.ndarray, left: Array, odds: OddsInputs, target: float, size: int
) -> np.ndarray:
    """Whether each path (a column of `logs`, its log prices, one row per step) reached the
    target at one of these steps: the P&L is valued at `size` log prices evenly spanning
    each step's paths, and a path reached it where the line through those values is at or
    above the target (the stretches between its crossings: comparisons, no search)."""
    low = logs.min(axis=1).astype(np.float64)
    spacing = np.maximum(logs.max(axis=1) - low, 1e-9) / (size - 1)
    nodes = low[:, None] + spacing[:, None] * np.arange(size)
    values = book.pnl(np.exp(nodes), left[:, None], odds)
    reached = np.zeros(logs.shape[1], dtype=bool)
    for row, at in enumerate(logs):
        for start, end in at_or_above(nodes[row], values[row], target):
            reached |= (at >= start) & (at <= end)
    return reached


def at_or_above(x: Array, y: Array, target: float) -> list[tuple[float, float]]:
    """The stretches of x where the line through the points (x, y) is ≥ target, x
    ascending; an open end is infinite (the points span every path)."""
    above = y >= target
    if not above.any():
        return []
    if above.all():
        return [(-math.inf, math.inf)]
    flips = np.flatnonzero(above[1:] != above[:-1])  # between flips[i] and flips[i] + 1
    cross = x[flips] + (target - y[flips]) / (y[flips + 1] - y[flips]) * (x[flips + 1] - x[flips])
    edges = [-math.inf, *cross.tolist(), math.inf] if above[0] else [*cross.tolist(), math.inf]
    return [(edges[i], edges[i + 1]) for i in range(0, len(edges) - 1, 2)]
