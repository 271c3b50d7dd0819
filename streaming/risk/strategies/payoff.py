"""A strategy's P&L at expiration: exact, from the kinks at the strikes.

At expiration every option is worth its intrinsic value (a call max(S - K, 0), a put
max(K - S, 0)) and stock is worth S, so the P&L of legs that expire together is
piecewise linear in the price S >= 0: straight between the strikes, with a known slope
beyond the highest one. Its extremes are among the values at 0 and at the strikes (or
unlimited when the slope beyond the last strike is not 0), and its break-evens are where
a straight piece crosses 0: no sampling, nothing missed between two samples.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from streaming.risk.legs import Leg

#: A strategy's max profit or loss: dollars, "unlimited", or None where not defined.
Extreme = float | Literal["unlimited"] | None
#: Slopes are sums of quantities times multipliers: anything this close to 0 is flat.
FLAT = 1e-9
#: Dollars and prices are reported to this many decimals (float noise stays out).
DECIMALS = 6


@dataclass(frozen=True)
class Part:
    """The share of one leg a strategy uses (signed, as the leg's quantity)."""

    leg: Leg
    quantity: float


def value_at_expiration(part: Part, price: float) -> float:
    """The part's worth in dollars when its option expires with the underlying at `price`."""
    leg = part.leg
    if leg.kind == "stock" or leg.strike is None:
        per_unit = price
    elif leg.kind == "call":
        per_unit = max(price - leg.strike, 0.0)
    else:
        per_unit = max(leg.strike - price, 0.0)
    return per_unit * leg.multiplier * part.quantity


def slope_above(parts: Sequence[Part]) -> float:
    """dP&L/dS above the highest strike: the calls' and the stock's shares."""
    return sum(p.quantity * p.leg.multiplier for p in parts if p.leg.kind in ("call", "stock"))


@dataclass(frozen=True)
class Payoff:
    """P&L at expiration: its values at 0 and at each strike, and its slope beyond."""

    points: list[tuple[float, float]]  # (price, P&L), ascending prices from 0
    slope: float  # beyond the last point

    def max_profit(self) -> Extreme:
        if self.slope > FLAT:
            return "unlimited"
        return _money(max(pnl for _, pnl in self.points))

    def max_loss(self) -> Extreme:
        """The worst P&L, as a loss (positive when money can be lost)."""
        if self.slope < -FLAT:
            return "unlimited"
        return _money(-min(pnl for _, pnl in self.points))

    def breakevens(self) -> list[float]:
        """The prices where the P&L crosses or touches 0 (a stretch flat at 0: its ends)."""
        found: list[float] = []
        pts = self.points
        for i, (price, pnl) in enumerate(pts):
            if pnl == 0.0 and price > 0.0:
                flat_left = i > 0 and pts[i - 1][1] == 0.0
                flat_right = self.slope == 0.0 if i == len(pts) - 1 else pts[i + 1][1] == 0.0
                if not (flat_left and flat_right):
                    found.append(price)
            if i + 1 < len(pts):
                right, right_pnl = pts[i + 1]
                if pnl * right_pnl < 0.0:
                    found.append(price + (right - price) * (-pnl) / (right_pnl - pnl))
        last, last_pnl = pts[-1]
        if last_pnl * self.slope < 0.0:
            found.append(last - last_pnl / self.slope)
        return sorted({round(x, DECIMALS) for x in found})


def payoff(parts: Sequence[Part], net: float, at_intrinsic: Sequence[Part] = ()) -> Payoff:
    """The P&L when `parts` expire, `net` the premium taken in (+) or paid (-); the
    `at_intrinsic` parts (longer-dated longs) are counted at their intrinsic value, the
    least an American option is worth, so the result is a floor of the P&L."""
    every = [*parts, *at_intrinsic]
    strikes = sorted({p.leg.strike for p in every if p.leg.strike is not None and p.leg.strike > 0})
    prices = [0.0, *strikes]
    points = [(s, sum(value_at_expiration(p, s) for p in every) + net) for s in prices]
    return Payoff(points, slope_above(every))


def _money(value: float) -> float:
    return round(value, DECIMALS) + 0.0  # + 0.0: no "-0.0" in a report
