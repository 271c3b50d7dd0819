"""The tick grid a limit price must sit on (the contract's "The order").

Stock: 0.01 from 1.00, 0.0001 below. Options: 0.01 below 3.00, 0.05 from 3.00, except the
penny-pilot index ETFs (SPY, QQQ, IWM) at 0.01 throughout. A multi-leg's net price is
quoted in 0.01 at every broker here.
"""

from __future__ import annotations

from decimal import Decimal

from streaming.brokers.orders import OrderLeg

PENNY_EVERYWHERE = frozenset({"SPY", "QQQ", "IWM"})
CENT = Decimal("0.01")
NICKEL = Decimal("0.05")
SUB_PENNY = Decimal("0.0001")


def underlying_of(symbol: str) -> str:
    """`.SPY270115C590` → `SPY`; a ticker is its own underlying."""
    if not symbol.startswith("."):
        return symbol
    root = symbol[1:]
    for i, ch in enumerate(root):
        if ch.isdigit() and i > 0:
            return root[:i]
    return root


def tick_for(legs: tuple[OrderLeg, ...] | list[OrderLeg], price: Decimal) -> Decimal:
    """The tick a (net) limit price of these legs moves in at this price."""
    if len(legs) > 1:
        return CENT
    leg = legs[0]
    if not leg.is_option:
        return CENT if price >= 1 else SUB_PENNY
    if underlying_of(leg.symbol) in PENNY_EVERYWHERE or price < 3:
        return CENT
    return NICKEL


def on_grid(legs: tuple[OrderLeg, ...] | list[OrderLeg], price: Decimal) -> bool:
    """Whether `price` is a whole number of ticks."""
    return price % tick_for(legs, price) == 0


def round_to_tick(legs: tuple[OrderLeg, ...] | list[OrderLeg], price: Decimal) -> Decimal:
    """The nearest price on the grid (what the browser pre-fills; tested here too)."""
    tick = tick_for(legs, price)
    return (price / tick).quantize(Decimal(1)) * tick
