"""Black-Scholes-Merton: an option's value and greeks, vectorized over numpy arrays.

The one pricing model of the risk graph and the risk numbers (docs/streaming-contract.md,
"Risk: the what-if curve"): a continuous risk-free rate r and a continuous dividend yield
q, time in years of 365 days (QuantLib's Actual365Fixed, the reference the tests check
against). Every argument broadcasts (typically prices as a column * legs as a row).

**American early exercise is ignored**: every option is valued as a European one. For
calls on stocks that pay no dividend the two are equal; an American put (or a call just
before a dividend) is worth at least this value, so the curve can understate a deep
in-the-money put. At or after expiration (T ≤ 0) every option is worth its intrinsic
value; with sigma ≤ 0 (or a price ≤ 0) it is worth its discounted intrinsic value against the
forward, the limit of the formula, so no input gives NaN.

The normal CDF is scipy's `ndtr` (a well-kept special function, not a hand-rolled series).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import ndtr

Array = NDArray[np.float64]

DAYS_PER_YEAR = 365.0
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


@dataclass(frozen=True)
class Valuation:
    """Value and greeks per unit of the underlying (per share): `theta` per calendar day,
    `vega` per vol point (0.01 of sigma), as the brokers stream them."""

    value: Array
    delta: Array
    gamma: Array
    theta: Array
    vega: Array


def intrinsic(is_call: ArrayLike, spot: ArrayLike, strike: ArrayLike) -> Array:
    """What an option is worth at expiration: call max(S - K, 0), put max(K - S, 0)."""
    call = np.asarray(is_call, dtype=bool)
    s = np.asarray(spot, dtype=np.float64)
    k = np.asarray(strike, dtype=np.float64)
    return np.where(call, np.maximum(s - k, 0.0), np.maximum(k - s, 0.0))


def _inputs(
    is_call: ArrayLike, *numbers: ArrayLike
) -> tuple[NDArray[np.bool_], Array, Array, Array, Array, Array, Array]:
    """`valuation`'s arguments as arrays of one shape (booleans, then floats)."""
    call, *floats = np.broadcast_arrays(
        np.asarray(is_call, dtype=bool), *(np.asarray(x, dtype=np.float64) for x in numbers)
    )
    s, k, t, v, r, q = floats
    return call, s, k, t, v, r, q


def option_value(*args: ArrayLike) -> Array:
    """The value alone, with `valuation`'s arguments (what the what-if curve needs; the
    greeks are not computed)."""
    return valuation(*args, greeks=False).value


def _writable(x: ArrayLike) -> Array:
    """A float array of its own (numpy turns 0-d results into scalars)."""
    return np.array(x, dtype=np.float64)


def _d1_d2(s: Array, k: Array, t: Array, v: Array, r: Array, q: Array) -> tuple[Array, Array]:
    vsqrt = v * np.sqrt(t)
    d1 = (np.log(s / k) + (r - q + 0.5 * v * v) * t) / vsqrt
    return d1, d1 - vsqrt


def valuation(
    is_call: ArrayLike,
    spot: ArrayLike,
    strike: ArrayLike,
    years: ArrayLike,
    vol: ArrayLike,
    rate: ArrayLike,
    dividend_yield: ArrayLike,
    *,
    greeks: bool = True,
) -> Valuation:
    """Value, delta, gamma, theta (per day) and vega (per vol point), per share; with
    `greeks=False` only the value (the greeks are left at their degenerate limits)."""
    call, s, k, t, v, r, q = _inputs(is_call, spot, strike, years, vol, rate, dividend_yield)
    live = (t > 0) & (v > 0) & (s > 0) & (k > 0)
    tt = np.where(t > 0, t, 0.0)
    dq = np.exp(-q * tt)
    dr = np.exp(-r * tt)
    sign = np.where(call, 1.0, -1.0)
    forward_gap = sign * (s * dq - k * dr)
    itm = forward_gap > 0
    # degenerate limits: T ≤ 0 → intrinsic, no time value, no sensitivity but delta;
    # sigma ≤ 0 → the discounted intrinsic against the forward, which still decays with time
    value = _writable(np.maximum(forward_gap, 0.0))
    delta = _writable(np.where(itm, sign * dq, 0.0))
    gamma = np.zeros_like(value)
    vega = np.zeros_like(value)
    d_value_d_t = np.where(itm & (t > 0), sign * (-q * s * dq + r * k * dr), 0.0)
    theta = _writable(-d_value_d_t / DAYS_PER_YEAR)
    if live.any():
        sl, kl, tl, vl, rl, ql = s[live], k[live], tt[live], v[live], r[live], q[live]
        sg, dql, drl = sign[live], dq[live], dr[live]
        d1, d2 = _d1_d2(sl, kl, tl, vl, rl, ql)
        n1 = _INV_SQRT_2PI * np.exp(-0.5 * d1 * d1)
        cdf1, cdf2 = ndtr(sg * d1), ndtr(sg * d2)
        sqrt_t = np.sqrt(tl)
        value[live] = sg * (sl * dql * cdf1 - kl * drl * cdf2)
        if not greeks:
            return Valuation(value=value, delta=delta, gamma=gamma, theta=theta, vega=vega)
        delta[live] = sg * dql * cdf1
        gamma[live] = dql * n1 / (sl * vl * sqrt_t)
        vega[live] = sl * dql * n1 * sqrt_t / 100.0
        theta_year = (
            -sl * dql * n1 * vl / (2.0 * sqrt_t)
            - sg * rl * kl * drl * cdf2
            + sg * ql * sl * dql * cdf1
        )
        theta[live] = theta_year / DAYS_PER_YEAR
    return Valuation(value=value, delta=delta, gamma=gamma, theta=theta, vega=vega)
