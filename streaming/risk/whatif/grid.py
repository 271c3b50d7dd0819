"""The scenario grid: P&L under price moves by IV shifts, for one strategy or a whole
underlying, at a date (docs/streaming-contract.md, "GET /api/risk/<UNDERLYING>/scenarios").

No pricing of its own: each IV shift is one call of the what-if curve's `pnl_at` over the
grid's prices, so the grid and the curve can never disagree. Pure: the view hands in the
snapshot, the checked query, the time and the rate.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypedDict

import numpy as np

from streaming.instruments.symbols import NEW_YORK
from streaming.portfolio.valuation import live_mark, number
from streaming.risk.legs import Leg, legs_from_snapshot
from streaming.risk.names import underlying_display
from streaming.risk.strategies.grouping import strategies_of
from streaming.risk.whatif.answer import NoPriceError
from streaming.risk.whatif.curve import (
    Scenario,
    last_expiration,
    pnl_at,
    unpriced,
    years_until,
)
from streaming.risk.whatif.input import RiskInputError, RiskQuery, parse_query, scenario_time

#: Price moves in percent of the live price (columns) and IV shifts in vol points (rows).
MOVES: tuple[float, ...] = (-10.0, -5.0, -2.5, 0.0, 2.5, 5.0, 10.0)
IV_SHIFTS: tuple[float, ...] = (-10.0, -5.0, 0.0, 5.0, 10.0)
PARAMETERS = frozenset({"date", "strategy"})


class GridAnswer(TypedDict):
    """`GET /api/risk/<U>/scenarios`'s 200."""

    underlying: str
    display: str
    strategy: str | None
    price: float
    date: str
    at: int
    rate: float
    moves: list[float]
    iv_shifts: list[float]
    prices: list[float]
    pnl: list[list[float]]
    unpriced: list[str]
    as_of: int | None


@dataclass(frozen=True)
class GridQuery:
    """The date (as the curve reads it) and the strategy's key (None: the underlying)."""

    when: RiskQuery
    strategy: str | None


def parse_grid_query(params: Mapping[str, str]) -> GridQuery:
    """The query's values, or RiskInputError with the sentence the 400 answers."""
    unknown = sorted(set(params) - PARAMETERS)
    if unknown:
        raise RiskInputError(f"Unknown parameter {unknown[0]!r}: only date and strategy.")
    when = parse_query({"date": params["date"]} if params.get("date") else {})
    return GridQuery(when, params.get("strategy") or None)


def strategy_legs(legs: Sequence[Leg], key: str, name: str) -> list[Leg]:
    """The legs of the strategy named by `key`, each at the size the strategy uses."""
    for strategy in strategies_of(legs):
        if strategy.key == key:
            return [dataclasses.replace(p.leg, quantity=p.quantity) for p in strategy.parts]
    raise RiskInputError(
        f"No strategy {key[:40]!r} in {name}: the positions may have changed; reload the page."
    )


def grid_pnl(
    legs: Sequence[Leg],
    prices: np.ndarray,
    scenario: Scenario,
    fallback_iv: Mapping[str, float] | None = None,
    iv_shifts: Sequence[float] = IV_SHIFTS,
) -> list[list[float]]:
    """One row per IV shift, one P&L per price: the what-if curve's `pnl_at` per shift."""
    return [
        pnl_at(legs, prices, dataclasses.replace(scenario, iv_shift=shift), fallback_iv).tolist()
        for shift in iv_shifts
    ]


def _oldest(times: Sequence[Any]) -> int | None:
    found = [t for t in (number(x) for x in times) if t is not None]
    return int(min(found)) if found else None


def scenario_grid(
    snapshot: dict[str, Any], underlying: str, query: GridQuery, *, now: dt.datetime, rate: float
) -> GridAnswer:
    """The grid for `underlying` (its contract symbol), over every account's positions in
    it or over the strategy the query names."""
    name = underlying_display(underlying)
    legs = legs_from_snapshot(snapshot, underlying)
    if not legs:
        raise RiskInputError(f"You hold no position in {name}.")
    if query.strategy is not None:
        legs = strategy_legs(legs, query.strategy, name)
    at = scenario_time(query.when, now, last_expiration(legs), name)
    quotes = snapshot.get("quotes") or {}
    price, _ = live_mark(underlying, None, quotes)
    if price is None or price <= 0:
        raise NoPriceError(f"There is no price for {name} yet; try again in a moment.")
    metrics = (snapshot.get("metrics") or {}).get(underlying) or {}
    index = number(metrics.get("iv_index"))
    dividend = number(metrics.get("dividend_yield"))
    scenario = Scenario(at=at, rate=rate, dividend_yield=dividend or 0.0)
    fallback = {underlying: index} if index is not None else None
    left_out = unpriced(legs, scenario, fallback)
    prices = price * (1.0 + np.array(MOVES) / 100.0)
    alive = [
        leg
        for leg in legs
        if leg.is_option and leg.symbol not in left_out and years_until(leg.expires_at, at) > 0
    ]
    times = [(quotes.get(underlying) or {}).get("t")] + [leg.iv_t for leg in alive if leg.iv]
    if dividend is not None or any(leg.iv is None for leg in alive):
        times.append(metrics.get("t"))
    return {
        "underlying": underlying,
        "display": underlying_display(underlying),
        "strategy": query.strategy,
        "price": price,
        "date": at.astimezone(NEW_YORK).date().isoformat(),
        "at": int(at.timestamp() * 1000),
        "rate": rate,
        "moves": list(MOVES),
        "iv_shifts": list(IV_SHIFTS),
        "prices": prices.tolist(),
        "pnl": grid_pnl(legs, prices, scenario, fallback),
        "unpriced": left_out,
        "as_of": _oldest(times),
    }
