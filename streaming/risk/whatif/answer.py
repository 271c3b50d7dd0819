"""The what-if API's answer from a snapshot: one underlying's curve, or the portfolio's
β-weighted to SPY (docs/streaming-contract.md, "GET /api/risk/…"). Pure: the view hands in
the snapshot, the checked query, the time and the rate."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from streaming.instruments.symbols import NEW_YORK
from streaming.portfolio.valuation import live_mark, number
from streaming.risk.exposure import BENCHMARK, portfolio_beta_delta, underlying_rows
from streaming.risk.legs import Leg, legs_from_snapshot
from streaming.risk.model import Array
from streaming.risk.names import underlying_display
from streaming.risk.whatif.curve import (
    Scenario,
    UnderlyingGroup,
    beta_weighted_pnl,
    crossings,
    last_expiration,
    pnl_at,
    sigma_bands,
    unpriced,
    years_until,
)
from streaming.risk.whatif.input import RiskInputError, RiskQuery, scenario_time
from streaming.risk.whatif.shapes import (
    CurveAnswer,
    Exposure,
    PortfolioAnswer,
    PricePnl,
    UnderlyingAnswer,
)

#: The default grid: this many prices over ±3 sd of the move to the last expiration.
DEFAULT_POINTS = 121
DEFAULT_SIGMAS = 3.0
#: Without an option or an IV: ±20 % of the price.
DEFAULT_SPAN = 0.20
#: The grid's low end is never below 1 % of the price.
LOWEST_FRACTION = 0.01


class NoPriceError(Exception):
    """The underlying (or SPY) has no price yet: the curve has no centre (409)."""


def _metrics(snapshot: Mapping[str, Any], underlying: str) -> dict[str, Any]:
    entry = (snapshot.get("metrics") or {}).get(underlying)
    return entry if isinstance(entry, dict) else {}


class _Ages:
    """The `t` of every input used; `as_of` is the oldest."""

    def __init__(self) -> None:
        self.times: list[float] = []

    def add(self, t: Any) -> None:
        value = number(t)
        if value is not None:
            self.times.append(value)

    def oldest(self) -> int | None:
        return int(min(self.times)) if self.times else None


def _price(snapshot: dict[str, Any], symbol: str, ages: _Ages) -> float:
    quotes = snapshot.get("quotes") or {}
    price, _ = live_mark(symbol, None, quotes)
    if price is None or price <= 0:
        name = underlying_display(symbol)
        raise NoPriceError(f"There is no price for {name} yet; try again in a moment.")
    ages.add((quotes.get(symbol) or {}).get("t"))
    return price


def _band_iv(legs: Sequence[Leg], metrics: Mapping[str, object]) -> float | None:
    """The underlying's IV index, else the mean IV of its options expiring last."""
    index = number(metrics.get("iv_index"))
    if index is not None:
        return index
    last = last_expiration(legs)
    ivs = [leg.iv for leg in legs if leg.expires_at == last and leg.iv is not None]
    return sum(ivs) / len(ivs) if ivs else None


def default_prices(price: float, iv: float | None, years: float) -> Array:
    """±3 sd of the move over `years` (±20 % without an IV or a horizon), floored at 1 %."""
    half = (
        DEFAULT_SIGMAS * price * iv * math.sqrt(years) if iv and years > 0 else 0.0
    ) or DEFAULT_SPAN * price
    lo = max(price - half, LOWEST_FRACTION * price)
    return np.linspace(lo, price + half, DEFAULT_POINTS)


def _curve(
    pnl: Callable[[Array], Array],
    query: RiskQuery,
    price: float,
    grid_iv: float | None,
    horizon_years: float,
) -> tuple[list[PricePnl], list[float]]:
    prices = (
        np.array(query.prices)
        if query.prices is not None
        else default_prices(price, grid_iv, horizon_years)
    )
    values = pnl(prices)
    points: list[PricePnl] = [
        {"price": float(p), "pnl": float(v)} for p, v in zip(prices, values, strict=True)
    ]
    return points, crossings(pnl, float(prices.min()), float(prices.max()))


def _bands(
    price: float, iv: float | None, shift: float, at: dt.datetime, now: dt.datetime, last: Any
) -> dict[str, tuple[float, float]] | None:
    if iv is None:
        return None
    horizon = years_until(at, now) if at > now else years_until(last, now)
    return sigma_bands(price, max(iv + shift / 100.0, 0.0), horizon)


def _answer(
    name: str,
    price: float,
    at: dt.datetime,
    query: RiskQuery,
    rate: float,
    curve: tuple[list[PricePnl], list[float]],
    bands: dict[str, tuple[float, float]] | None,
    ages: _Ages,
    left_out: list[str],
) -> CurveAnswer:
    points, found = curve
    return {
        "underlying": name,
        "display": "Portfolio" if name == "portfolio" else underlying_display(name),
        "price": price,
        "date": at.astimezone(NEW_YORK).date().isoformat(),
        "at": int(at.timestamp() * 1000),
        "iv_shift": query.iv_shift,
        "rate": rate,
        "points": points,
        "breakevens": found,
        "bands": bands,
        "as_of": ages.oldest(),
        "unpriced": left_out,
    }


def exposure(snapshot: dict[str, Any], underlying: str, now: dt.datetime) -> Exposure:
    """The underlying's exposure now, over every account (exposure.py's rules): its delta in
    units of the underlying, that at its price in dollars, its β and β-weighted delta."""
    rows = underlying_rows(snapshot, now_ms=int(now.timestamp() * 1000))
    row = next((r for r in rows if r.underlying == underlying), None)
    if row is None:
        return {"delta": None, "notional": None, "beta": None, "beta_delta": None}
    delta, price = row.delta_shares, row.price
    return {
        "delta": delta,
        "notional": delta * price if delta is not None and price is not None else None,
        "beta": row.beta,
        "beta_delta": row.beta_delta,
    }


def underlying_answer(
    snapshot: dict[str, Any], underlying: str, query: RiskQuery, *, now: dt.datetime, rate: float
) -> UnderlyingAnswer:
    """One underlying's curve (its contract symbol) over every account's positions in it."""
    legs = legs_from_snapshot(snapshot, underlying)
    name = underlying_display(underlying)
    if not legs:
        raise RiskInputError(f"You hold no position in {name}.")
    last = last_expiration(legs)
    at = scenario_time(query, now, last, name)
    ages = _Ages()
    price = _price(snapshot, underlying, ages)
    metrics = _metrics(snapshot, underlying)
    index = number(metrics.get("iv_index"))
    dividend = number(metrics.get("dividend_yield"))
    scenario = Scenario(at=at, iv_shift=query.iv_shift, rate=rate, dividend_yield=dividend or 0.0)
    fallback = {underlying: index} if index is not None else None
    left_out = unpriced(legs, scenario, fallback)
    for leg in legs:
        if leg.symbol in left_out or not leg.is_option or years_until(leg.expires_at, at) <= 0:
            continue
        if leg.iv is not None:
            ages.add(leg.iv_t)
        else:
            ages.add(metrics.get("t"))
    band_iv = _band_iv(legs, metrics)
    if dividend is not None or (index is not None and band_iv == index):
        ages.add(metrics.get("t"))
    horizon = years_until(last, now)
    curve = _curve(lambda p: pnl_at(legs, p, scenario, fallback), query, price, band_iv, horizon)
    bands = _bands(price, band_iv, query.iv_shift, at, now, last)
    answer = _answer(underlying, price, at, query, rate, curve, bands, ages, left_out)
    return {**answer, **exposure(snapshot, underlying, now)}


def portfolio_answer(
    snapshot: dict[str, Any], query: RiskQuery, *, now: dt.datetime, rate: float
) -> PortfolioAnswer:
    """Every underlying's curve β-weighted to SPY (the prices are SPY prices)."""
    legs = legs_from_snapshot(snapshot)
    if not legs:
        raise RiskInputError("You hold no position.")
    last = last_expiration(legs)
    at = scenario_time(query, now, last, "your portfolio")
    ages = _Ages()
    spy = _price(snapshot, BENCHMARK, ages)
    quotes = snapshot.get("quotes") or {}
    yields: dict[str, float] = {}
    groups: list[UnderlyingGroup] = []
    left_out: set[str] = set()
    for u in sorted({leg.underlying for leg in legs}):
        mine = [leg for leg in legs if leg.underlying == u]
        metrics = _metrics(snapshot, u)
        price, _ = live_mark(u, None, quotes)
        beta = 1.0 if u == BENCHMARK else number(metrics.get("beta"))
        if price is None or price <= 0 or beta is None:
            left_out.update(leg.symbol for leg in mine)
            continue
        ages.add((quotes.get(u) or {}).get("t"))
        if metrics and (u != BENCHMARK or number(metrics.get("iv_index")) is not None):
            ages.add(metrics.get("t"))
        ages.times.extend(leg.iv_t for leg in mine if leg.iv is not None and leg.iv_t is not None)
        yields[u] = number(metrics.get("dividend_yield")) or 0.0
        groups.append(UnderlyingGroup(u, mine, price, beta, number(metrics.get("iv_index"))))
    scenario = Scenario(at=at, iv_shift=query.iv_shift, rate=rate, dividend_yield=yields)
    for g in groups:
        fallback = {g.underlying: g.iv} if g.iv is not None else None
        left_out.update(unpriced(g.legs, scenario, fallback))
    spy_iv = number(_metrics(snapshot, BENCHMARK).get("iv_index"))
    horizon = years_until(last, now)
    curve = _curve(
        lambda p: beta_weighted_pnl(groups, p, spy, scenario), query, spy, spy_iv, horizon
    )
    bands = _bands(spy, spy_iv, query.iv_shift, at, now, last)
    answer = _answer("portfolio", spy, at, query, rate, curve, bands, ages, sorted(left_out))
    beta_delta = portfolio_beta_delta(snapshot, now_ms=int(now.timestamp() * 1000))
    return {**answer, "benchmark": BENCHMARK, "beta_delta": beta_delta}
