"""What the odds of one strategy are computed from: the price, sigma, the rate and the time
to its expiration's close (docs/streaming-contract.md, "The odds").

Pure: the caller hands in the price, the time (`now`, read from its clock once) and the
rate, so the same inputs give the same odds and a test pins them. A strategy the odds do
not apply to gets a sentence saying why instead (`NoOdds`), never a made-up number.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import TypedDict

from streaming.portfolio.expected_move import days_until
from streaming.risk.legs import Leg
from streaming.risk.model import DAYS_PER_YEAR
from streaming.risk.strategies.grouping import Strategy

#: `pop_inputs.days` is reported to this many decimals (a second is ~1.2e-5 day).
DAY_DECIMALS = 6

SPANS_DAYS = "Its legs expire on different days: POP is for one expiration."
NO_OPTION = "It holds no option: POP is for a strategy that expires."
NO_PRICE = "There is no price for {name} yet, so where it ends cannot be weighed."
NO_SHORT_IV = "A short leg's IV has not streamed yet: there is no volatility to weigh it by."
NO_ATM_IV = "The IV of its strike nearest the price has not streamed yet: there is no volatility."
NO_COST = "A leg's open price is unknown, so where it profits is unknown."
EXPIRED = "Its expiration's close has passed: nothing is left to weigh."


class PopInputs(TypedDict):
    """`pop_inputs` on the wire: enough to recompute `probability_of_profit` by hand."""

    price: float
    iv: float
    rate: float
    days: float


@dataclass(frozen=True)
class OddsInputs:
    """The inputs every odds number of one strategy shares."""

    price: float
    iv: float  # sigma, a fraction (0.25 = 25 %)
    rate: float  # continuous, a fraction
    days: float  # fractional calendar days to the expiration's close

    @property
    def years(self) -> float:
        return self.days / DAYS_PER_YEAR

    def as_json(self) -> PopInputs:
        return {
            "price": self.price,
            "iv": self.iv,
            "rate": self.rate,
            "days": round(self.days, DAY_DECIMALS),
        }


@dataclass(frozen=True)
class NoOdds:
    """Why a strategy has no odds: a sentence for `pop_note`."""

    note: str


def strategy_iv(strategy: Strategy, price: float) -> float | NoOdds:
    """The strategy's sigma: the mean IV of its short option legs; with no short leg, the IV
    of its leg whose strike is nearest the price (the lower strike on a tie). No chain is
    read here, so the strategy's own legs stand for "the at-the-money strike of that
    expiration": for a long call or a debit vertical that is the strike the trader chose
    nearest the money."""
    options = [p for p in strategy.parts if p.leg.is_option]
    shorts = [p.leg for p in options if p.quantity < 0]
    if shorts:
        ivs = [leg.iv for leg in shorts]
        if any(iv is None or not iv > 0 for iv in ivs):
            return NoOdds(NO_SHORT_IV)
        return math.fsum(iv for iv in ivs if iv is not None) / len(ivs)
    nearest: Leg = min(
        (p.leg for p in options), key=lambda leg: (abs((leg.strike or 0.0) - price), leg.strike)
    )
    if nearest.iv is None or not nearest.iv > 0:
        return NoOdds(NO_ATM_IV)
    return nearest.iv


def odds_inputs(
    strategy: Strategy, price: float | None, *, now: dt.datetime, rate: float, name: str
) -> OddsInputs | NoOdds:
    """The strategy's inputs, or why it has none (`name`: the underlying's display name)."""
    days = strategy.expirations
    if len(days) > 1:
        return NoOdds(SPANS_DAYS)
    if not days:
        return NoOdds(NO_OPTION)
    if strategy.net is None:
        return NoOdds(NO_COST)
    if price is None or not price > 0:
        return NoOdds(NO_PRICE.format(name=name))
    left = days_until(days[0], now)
    if left <= 0:
        return NoOdds(EXPIRED)
    iv = strategy_iv(strategy, price)
    if isinstance(iv, NoOdds):
        return iv
    return OddsInputs(price=price, iv=iv, rate=rate, days=left)
