"""The tick grid a price must sit on (the contract's "The order"): the instrument's own.

Stock and coins: 0.01 from 1.00, 0.0001 below. Equity options: 0.01 below 3.00, 0.05 from
3.00, except the penny-pilot index ETFs (SPY, QQQ, IWM) at 0.01 throughout. A future: its
product's tick (/ES 0.25); an option on it: the product's option tick (/ES 0.25 from 5.00
of premium, 0.05 below). A multi-leg's net price: 0.01 for equity options, the first leg's
tick for options on a future (streaming/instruments/instrument.py, `Instrument.tick`).
"""

from __future__ import annotations

from decimal import Decimal

from streaming.brokers.orders.entry import OrderLeg
from streaming.instruments.kinds import Kind

CENT = Decimal("0.01")


class UnknownTick(ValueError):
    """The instrument's tick is not known here (an unlisted future's)."""


def tick_for(legs: tuple[OrderLeg, ...] | list[OrderLeg], price: Decimal) -> Decimal:
    """The tick a (net) price of these legs moves in at this price; `UnknownTick` when the
    instrument's is not known."""
    leg = legs[0]
    if len(legs) > 1 and leg.kind is not Kind.FUTURE_OPTION:
        return CENT
    tick = leg.instrument.tick(price)
    if tick is None:
        raise UnknownTick(f"{leg.instrument.display}: its tick is not known here.")
    return tick


def on_grid(legs: tuple[OrderLeg, ...] | list[OrderLeg], price: Decimal) -> bool:
    """Whether `price` is a whole number of ticks."""
    return price % tick_for(legs, price) == 0


def round_to_tick(legs: tuple[OrderLeg, ...] | list[OrderLeg], price: Decimal) -> Decimal:
    """The nearest price on the grid (what the browser pre-fills; tested here too)."""
    tick = tick_for(legs, price)
    return (price / tick).quantize(Decimal(1)) * tick
