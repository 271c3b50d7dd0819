"""Prices as the brokerage uses them: marks, closes and the bid/ask an order trades at.

The market is behind a `PriceSource`; every number comes back as a `Decimal` (4 decimals for
marks and closes, cents for bid/ask) and never raises for a symbol the market cannot price.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Protocol

from sandbox.core.account_state import (
    TICK4,
    ZERO,
    Leg,
    Order,
    Position,
    cents,
    finite_positive,
    to_decimal,
)

__all__ = ["Marks", "PriceSource"]


class PriceSource(Protocol):
    """What the brokerage needs from the market (`sandbox.core.market.walk.Market` fits)."""

    def ensure(self, symbol: str) -> bool:
        """Register a ticker or option streamer symbol; False if it cannot be priced."""
        ...

    def mid(self, symbol: str) -> float:
        """Current mid price."""
        ...

    def last(self, symbol: str) -> float:
        """Last trade price."""
        ...

    def quote(self, symbol: str) -> dict:
        """Current quote, at least `{"bidPrice": float, "askPrice": float}`."""
        ...

    def prev_close(self, symbol: str) -> float:
        """The previous day's close: the one number every quote and position reports."""
        ...


class Marks:
    """The brokerage's view of a `PriceSource`."""

    def __init__(self, prices: PriceSource) -> None:
        self.prices = prices

    def close_price(self, streamer_symbol: str) -> Decimal:
        """Yesterday's close: the market's, so positions and quotes agree (the mark when
        the market has none)."""
        try:
            value = self.prices.prev_close(streamer_symbol)
        except (KeyError, ValueError):
            value = 0.0
        if finite_positive(value):
            return to_decimal(value).quantize(TICK4, rounding=ROUND_HALF_UP)
        return self.mark(streamer_symbol)

    def mark(self, streamer_symbol: str) -> Decimal:
        """Current mark (mid, falling back to last), 4 decimals; 0 if the market has none."""
        for getter in (self.prices.mid, self.prices.last):
            try:
                value = getter(streamer_symbol)
            except (KeyError, ValueError):
                continue
            if finite_positive(value):
                return to_decimal(value).quantize(TICK4, rounding=ROUND_HALF_UP)
        return ZERO

    def bid_ask(self, streamer_symbol: str) -> tuple[Decimal, Decimal]:
        """Current bid and ask to the cent (the mark on both sides if the quote is unusable)."""
        try:
            quote = self.prices.quote(streamer_symbol)
        except (KeyError, ValueError):
            quote = {}
        bid, ask = quote.get("bidPrice"), quote.get("askPrice")
        if finite_positive(bid) and finite_positive(ask) and ask >= bid:
            return cents(to_decimal(bid)), cents(to_decimal(ask))
        mark = cents(self.mark(streamer_symbol))
        return mark, mark

    def leg_price(self, leg: Leg) -> Decimal:
        """The price a leg trades at now: the ask when buying, the bid when selling."""
        bid, ask = self.bid_ask(leg.instrument.streamer_symbol)
        return ask if leg.sign > 0 else bid

    def market_net(self, order: Order) -> Decimal:
        """Net price per order unit at current quotes, signed like the SDK (debit negative)."""
        return sum((-leg.sign * leg.ratio * self.leg_price(leg) for leg in order.legs), ZERO)

    def position_value(self, pos: Position) -> Decimal:
        """Market value of a position (unsigned), as the balance marks it."""
        return cents(
            self.mark(pos.instrument.streamer_symbol)
            * abs(pos.quantity)
            * pos.instrument.multiplier
        )
