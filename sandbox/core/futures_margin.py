"""How a future is held: marked to the market, margined on its notional.

A futures fill exchanges no notional: buying one /ES at 6,000 does not cost $300,000.
The position is worth its open profit or loss, (mark - average open) x quantity x the
contract's point value (its notional multiplier, 50 for /ES); a close (or the closing part
of a fill) realizes that profit or loss in cash. The account keeps a margin on the
contract's notional, mark x |quantity| x point value, at one flat rate for every product
(`MARGIN_RATE`, long or short): the sandbox's stand-in for the exchanges' per-contract
SPAN margins, in the spirit of its flat equity and option rates (`margin.py`). There is no
daily settlement: the open profit or loss stays in the position until it is closed.
"""

from __future__ import annotations

from decimal import Decimal

from sandbox.core.account_state import Position, cents
from sandbox.core.instruments import Instrument
from sandbox.core.marks import Marks
from sandbox.core.records import FUTURE

__all__ = ["MARGIN_RATE", "marked_to_market", "open_pnl", "requirement"]

#: The margin a future requires, as a share of its notional (maintenance and initial).
MARGIN_RATE = Decimal("0.08")


def marked_to_market(instrument: Instrument) -> bool:
    """Whether a fill of this instrument moves only its realized profit or loss in cash."""
    return instrument.instrument_type == FUTURE


def open_pnl(pos: Position, marks: Marks) -> Decimal:
    """A future's open profit or loss at the mark, signed (a gain is positive), to the cent."""
    mark = marks.mark(pos.instrument.streamer_symbol)
    return cents((mark - pos.average_open_price) * pos.quantity * pos.instrument.multiplier)


def requirement(notional: Decimal) -> Decimal:
    """The margin futures of this notional require (unsigned, to the cent)."""
    return cents(MARGIN_RATE * notional)
