"""The odds of a position not held yet: a set of option legs about to be opened, each at
its mid, as one strategy (docs/streaming-contract.md, "The roll picker" and the preview's
odds). The legs are grouped and priced as held strategies are (strategies/grouping.py,
payoff.py; odds/inputs.py, pop.py): only where the cost comes from differs, so a row's POP
and a held strategy's agree on the same legs. Pure: the caller hands in the price, the
time and the rate."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TypedDict

from streaming.risk.legs import Leg
from streaming.risk.names import underlying_display
from streaming.risk.odds.inputs import NoOdds, PopInputs, odds_inputs
from streaming.risk.odds.pop import probability_of_profit
from streaming.risk.strategies.grouping import strategies_of
from streaming.risk.strategies.payoff import payoff

ONE_POSITION = "Its legs are not one position of one expiration: POP is for one strategy."


class OpeningOdds(TypedDict):
    """A new position's break-evens and POP (null, with `pop_note`, where they do not apply)."""

    breakevens: list[float] | None
    probability_of_profit: float | None
    pop_inputs: PopInputs | None
    pop_note: str | None


def _no_odds(note: str, breakevens: list[float] | None = None) -> OpeningOdds:
    return {
        "breakevens": breakevens,
        "probability_of_profit": None,
        "pop_inputs": None,
        "pop_note": note,
    }


def opening_odds(
    legs: Sequence[Leg], price: float | None, *, now: dt.datetime, rate: float
) -> OpeningOdds:
    """The odds of `legs` opened together, each leg's `cost` the price it opens at (its
    mid; None when unknown) and `iv` its chain IV: sigma, days, rate and POP exactly as a held
    strategy's ("The odds")."""
    found = strategies_of(legs)
    if len(found) != 1:
        return _no_odds(ONE_POSITION)
    strategy = found[0]
    breakevens = None if strategy.breakevens is None else list(strategy.breakevens)
    inputs = odds_inputs(
        strategy, price, now=now, rate=rate, name=underlying_display(strategy.underlying)
    )
    if isinstance(inputs, NoOdds):
        return _no_odds(inputs.note, breakevens)
    net = strategy.net if strategy.net is not None else 0.0  # odds_inputs refuses None
    return {
        "breakevens": breakevens,
        "probability_of_profit": probability_of_profit(payoff(strategy.parts, net), inputs),
        "pop_inputs": inputs.as_json(),
        "pop_note": None,
    }
