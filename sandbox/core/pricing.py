"""Black-Scholes(-Merton) option price and greeks for the sandbox market.

Pure ``math``: the fake feed prices every option quote with it, so it has to be
cheap and dependency-free.  Units follow what brokers display: theta per calendar
day, vega per 1 volatility point, rho per 1 % of interest rate.
"""

from __future__ import annotations

import math
from typing import NamedTuple

__all__ = ["Greeks", "bs_greeks", "bs_price", "norm_cdf", "norm_pdf"]

_SQRT2 = math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_DAYS_PER_YEAR = 365.0


class Greeks(NamedTuple):
    """Theoretical price and sensitivities of one option."""

    price: float
    delta: float
    gamma: float
    theta: float  # per calendar day
    vega: float  # per 1 volatility point (0.01)
    rho: float  # per 1 % of interest rate (0.01)


def norm_cdf(x: float) -> float:
    """Standard normal CDF via ``math.erf``."""
    return 0.5 * (1.0 + math.erf(x / _SQRT2))


def norm_pdf(x: float) -> float:
    """Standard normal density."""
    return _INV_SQRT_2PI * math.exp(-0.5 * x * x)


def _is_call(right: str) -> bool:
    r = right[:1].upper() if isinstance(right, str) else ""
    if r not in ("C", "P"):
        raise ValueError(f"option right must be 'C' or 'P', not {right!r}")
    return r == "C"


def _degenerate(S: float, K: float, T: float, r: float, q: float, call: bool) -> Greeks:
    """No uncertainty left (expired or zero vol): the discounted forward payoff."""
    if T <= 0:
        intrinsic = max(S - K, 0.0) if call else max(K - S, 0.0)
        in_the_money = S > K if call else S < K
        delta = (1.0 if call else -1.0) if in_the_money else 0.0
        return Greeks(intrinsic, delta, 0.0, 0.0, 0.0, 0.0)
    df_q = math.exp(-q * T)
    df_r = math.exp(-r * T)
    fwd_value = S * df_q - K * df_r  # value of a forward: the call's payoff if ITM
    sign = 1.0 if call else -1.0
    value = sign * fwd_value
    if value <= 0:
        return Greeks(0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
    delta = sign * df_q
    # d(value)/dT for S e^{-qT} - K e^{-rT}, with the sign of the payoff.
    d_dt = sign * (-q * S * df_q + r * K * df_r)
    theta = -d_dt / _DAYS_PER_YEAR
    rho = sign * K * T * df_r / 100.0
    return Greeks(value, delta, 0.0, theta, 0.0, rho)


def bs_greeks(
    S: float,
    K: float,
    T_years: float,
    r: float,
    sigma: float,
    right: str,
    q: float = 0.0,
) -> Greeks:
    """Price and greeks of a European option on a spot ``S`` with dividend yield ``q``.

    ``T_years <= 0`` gives the intrinsic value with delta 0/+-1; ``sigma <= 0`` gives
    the discounted forward payoff.  Non-positive ``S``/``K`` raise ``ValueError``.
    """
    call = _is_call(right)
    if not (S > 0 and K > 0) or math.isnan(T_years) or math.isnan(sigma):
        raise ValueError(f"bad Black-Scholes inputs: S={S!r} K={K!r} T={T_years!r}")
    T = T_years
    if T <= 0 or sigma <= 0:
        return _degenerate(S, K, T, r, q, call)
    sqrt_t = math.sqrt(T)
    vol_t = sigma * sqrt_t
    d1 = (math.log(S / K) + (r - q + 0.5 * sigma * sigma) * T) / vol_t
    d2 = d1 - vol_t
    df_q = math.exp(-q * T)
    df_r = math.exp(-r * T)
    pdf_d1 = norm_pdf(d1)
    gamma = df_q * pdf_d1 / (S * vol_t)
    vega = S * df_q * pdf_d1 * sqrt_t
    decay = -S * df_q * pdf_d1 * sigma / (2.0 * sqrt_t)
    if call:
        nd1, nd2 = norm_cdf(d1), norm_cdf(d2)
        price = S * df_q * nd1 - K * df_r * nd2
        delta = df_q * nd1
        theta = decay - r * K * df_r * nd2 + q * S * df_q * nd1
        rho = K * T * df_r * nd2
    else:
        nmd1, nmd2 = norm_cdf(-d1), norm_cdf(-d2)
        price = K * df_r * nmd2 - S * df_q * nmd1
        delta = -df_q * nmd1
        theta = decay + r * K * df_r * nmd2 - q * S * df_q * nmd1
        rho = -K * T * df_r * nmd2
    return Greeks(
        price=max(price, 0.0),
        delta=delta,
        gamma=gamma,
        theta=theta / _DAYS_PER_YEAR,
        vega=vega / 100.0,
        rho=rho / 100.0,
    )


def bs_price(
    S: float,
    K: float,
    T_years: float,
    r: float,
    sigma: float,
    right: str,
    q: float = 0.0,
) -> float:
    """Black-Scholes price; see :func:`bs_greeks` for the edge cases."""
    return bs_greeks(S, K, T_years, r, sigma, right, q).price
