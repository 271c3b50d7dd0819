"""A strategy's odds as the strategies API answers them: POP with its inputs, P50 and the
probability of touching each short strike, or a sentence saying why not
(docs/streaming-contract.md, "The odds"). Pure: the caller hands in the price, the time and
the rate."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import TypedDict

from streaming.portfolio.valuation import live_mark
from streaming.risk.names import underlying_display
from streaming.risk.odds.inputs import NoOdds, OddsInputs, PopInputs, odds_inputs
from streaming.risk.odds.p50 import p50
from streaming.risk.odds.pop import probability_of_profit
from streaming.risk.odds.touch import touches
from streaming.risk.strategies.grouping import Strategy, StrategyJson
from streaming.risk.strategies.payoff import payoff

UNLIMITED_PROFIT = "Its profit is unlimited: there is no 50 % of it to reach."
NO_PROFIT = "It cannot make money by expiration: there is no 50 % of a profit to reach."


class StrategyOdds(TypedDict):
    """The odds fields of a strategy row (all null, with `pop_note`, when they do not apply)."""

    probability_of_profit: float | None
    pop_inputs: PopInputs | None
    pop_note: str | None
    p50: float | None
    p50_note: str | None
    touch: dict[str, float] | None


class StrategyRow(StrategyJson, StrategyOdds):
    """A strategy as `GET /api/risk/strategies` answers it: `Strategy.as_dict()` and its odds."""


def no_odds(note: str) -> StrategyOdds:
    return {
        "probability_of_profit": None,
        "pop_inputs": None,
        "pop_note": note,
        "p50": None,
        "p50_note": note,
        "touch": None,
    }


def strategy_odds(
    strategy: Strategy,
    price: float | None,
    *,
    now: dt.datetime,
    rate: float,
    with_p50: bool = True,
) -> StrategyOdds:
    """The strategy's odds at `price` (the underlying's, None if unknown) and `now` (aware);
    without P50's Monte Carlo (`p50` and its note None) where the reader shows only POP."""
    name = underlying_display(strategy.underlying)
    found = odds_inputs(strategy, price, now=now, rate=rate, name=name)
    if isinstance(found, NoOdds):
        return no_odds(found.note)
    net = strategy.net if strategy.net is not None else 0.0  # odds_inputs refuses None
    pop = probability_of_profit(payoff(strategy.parts, net), found)
    chance, why = _p50(strategy, net, found) if with_p50 else (None, None)
    shorts = [p.leg.strike for p in strategy.parts if p.leg.is_option and p.quantity < 0]
    return {
        "probability_of_profit": pop,
        "pop_inputs": found.as_json(),
        "pop_note": None,
        "p50": chance,
        "p50_note": why,
        "touch": touches([k for k in shorts if k is not None], found),
    }


def _p50(strategy: Strategy, net: float, odds: OddsInputs) -> tuple[float | None, str | None]:
    best = strategy.max_profit
    if best == "unlimited":
        return None, UNLIMITED_PROFIT
    if best is None or best <= 0:
        return None, NO_PROFIT
    return p50(strategy.parts, net, best, odds), None


def rows_with_odds(
    strategies: Sequence[Strategy],
    quotes: Mapping[str, object],
    *,
    now: dt.datetime,
    rate: float,
    with_p50: bool = True,
) -> list[StrategyRow]:
    """Each strategy's row: its `as_dict()` and its odds at its underlying's live price
    (the quote's mid, else its last: as the what-if curve centres)."""
    rows: list[StrategyRow] = []
    for s in strategies:
        price, _ = live_mark(s.underlying, None, quotes)
        rows.append(
            StrategyRow(
                **s.as_dict(), **strategy_odds(s, price, now=now, rate=rate, with_p50=with_p50)
            )
        )
    return rows
