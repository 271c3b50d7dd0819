"""What tastytrade's instruments endpoints say of a position that is not an equity or an
equity option: its DXLink symbol, and for a future or a future option its dollars per point.

A future (`/ESZ6`), a future option (`./ESZ6 EW3U6 260918P9100`) or a cryptocurrency
(`BTC/USD`) streams under a symbol of its own (`/ESZ26:XCME`, `./EW3U26P9100:XCME`,
`BTC/USD:CXTALP`) that neither its REST symbol nor a rule gives: the instruments endpoints
say it. Without it such a position would never get a live mark.

A future's point is worth its `notional-multiplier` (50 for /ES), and so is a point of an
option on it: the option instrument's own `multiplier` is 1 (a captured sandbox chain:
`multiplier` "1.0", `notional-value` "0.5", `display-factor` "0.01"), so a position whose
`multiplier` followed the instrument's would value an /ES option at a fiftieth. The
future's notional multiplier (`Future.get` of the option's underlying) is taken instead.

Asked once per symbol per link and kept; a symbol tastytrade cannot resolve keeps its REST
symbol and its own multiplier (its quote then never arrives, and the position's mark shows
its age).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from pydantic import ValidationError
from tastytrade import Session
from tastytrade.account import CurrentPosition
from tastytrade.instruments import Cryptocurrency, Future, FutureOption
from tastytrade.utils import TastytradeError

log = logging.getLogger(__name__)

#: The instrument kinds only the instruments endpoints describe.
LOOKED_UP = ("Future", "Future Option", "Cryptocurrency")


@dataclass(frozen=True)
class Looked:
    """What the instruments endpoints said of one symbol."""

    streamer_symbol: str | None
    #: Dollars per point of its price (None: the position's own `multiplier` stands).
    multiplier: Decimal | None = None
    #: A future option's future, by its streamer symbol (its underlying's quote key).
    underlying: str | None = None


class InstrumentLookup:
    """REST symbol → what the instruments endpoints say of it, for positions of the
    `LOOKED_UP` kinds, asked once."""

    def __init__(self) -> None:
        self._known: dict[str, Looked | None] = {}

    def get(self, symbol: str) -> Looked | None:
        """What was found for `symbol`, or None (not looked up, or unknown)."""
        return self._known.get(symbol)

    async def resolve(self, session: Session, positions: Iterable[CurrentPosition]) -> None:
        """Look up the positions' symbols of `LOOKED_UP` kinds not asked about yet."""
        for p in positions:
            kind = str(p.instrument_type)
            if kind not in LOOKED_UP or p.symbol in self._known:
                continue
            try:
                self._known[p.symbol] = await _look_up(session, kind, p.symbol)
            except (TastytradeError, ValidationError) as exc:
                log.warning("tastytrade does not describe %s %s: %s", kind, p.symbol, exc)
                self._known[p.symbol] = None


async def _look_up(session: Session, kind: str, symbol: str) -> Looked | None:
    if kind == "Future":
        future = await Future.get(session, symbol)
        return Looked(future.streamer_symbol or None, future.notional_multiplier)
    if kind == "Future Option":
        option = await FutureOption.get(session, symbol)
        future = await Future.get(session, option.underlying_symbol)
        return Looked(
            option.streamer_symbol or None,
            future.notional_multiplier,
            future.streamer_symbol or None,
        )
    coin = await Cryptocurrency.get(session, symbol)
    return Looked(coin.streamer_symbol or None)
