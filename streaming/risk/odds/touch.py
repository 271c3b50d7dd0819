"""The probability of touch: the chance the underlying trades at a short strike at any
moment before expiration (docs/streaming-contract.md, "The odds").

Closed form, the reflection principle for a Brownian motion with drift: ln S_t moves with
drift nu = r - sigma²/2 and volatility sigma. With b = ln(K/S) and s = sigma√t, the first
passage to a level above the price (b > 0) has

    P(max ln S ≥ ln K) = N((-b + nu*t)/s) + exp(2*nu*b/sigma²) * N((-b - nu*t)/s)

and to a level below it (b < 0), by symmetry,

    P(min ln S ≤ ln K) = N((b - nu*t)/s) + exp(2*nu*b/sigma²) * N((b + nu*t)/s).

It is monitored continuously, so it is about twice POP's tail for a strike near the money
(the trader's "touch is twice the delta").
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from scipy.special import ndtr

from streaming.risk.odds.inputs import OddsInputs
from streaming.risk.odds.pop import PROBABILITY_DECIMALS


def touch_probability(strike: float, odds: OddsInputs) -> float:
    """The probability the price touches `strike` before expiration (0-1, unrounded)."""
    if strike <= 0:
        return 0.0
    b = math.log(strike / odds.price)
    if b == 0.0:
        return 1.0
    t, sigma = odds.years, odds.iv
    nu = odds.rate - 0.5 * sigma * sigma
    s = sigma * math.sqrt(t)
    mirror = math.exp(2.0 * nu * b / (sigma * sigma))
    if b > 0:
        found = ndtr((-b + nu * t) / s) + mirror * ndtr((-b - nu * t) / s)
    else:
        found = ndtr((b - nu * t) / s) + mirror * ndtr((b + nu * t) / s)
    return min(max(float(found), 0.0), 1.0)


def strike_key(strike: float) -> str:
    """A strike as JSON spells the number: "590", "592.5"."""
    return str(int(strike)) if strike == int(strike) else repr(strike)


def touches(strikes: Iterable[float], odds: OddsInputs) -> dict[str, float]:
    """{strike: probability of touch} for each strike (once each, ascending; 4 decimals)."""
    return {
        strike_key(k): round(touch_probability(k, odds), PROBABILITY_DECIMALS)
        for k in sorted(set(strikes))
    }
