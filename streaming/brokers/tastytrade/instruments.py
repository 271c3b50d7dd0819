"""The DXLink symbol of a tastytrade position that is not an equity or an equity option.

A future (`/ESZ6`), a future option (`./ESZ6 EW3U6 260918P9100`) or a cryptocurrency
(`BTC/USD`) streams under a symbol of its own (`/ESZ26:XCME`, `./EW3U26P9100:XCME`,
`BTC/USD:CXTALP`) that neither its REST symbol nor a rule gives: tastytrade's instruments
endpoints say it. Without it such a position would never get a live mark. Asked once per
symbol per link and kept; a symbol tastytrade cannot resolve stays on its REST symbol
(its quote then never arrives, and the position's mark shows its age).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from pydantic import ValidationError
from tastytrade import Session
from tastytrade.account import CurrentPosition
from tastytrade.instruments import Cryptocurrency, Future, FutureOption
from tastytrade.utils import TastytradeError

log = logging.getLogger(__name__)

#: The instrument kinds whose streamer symbol only the instruments endpoints know.
LOOKED_UP = ("Future", "Future Option", "Cryptocurrency")


class StreamerSymbols:
    """REST symbol → DXLink symbol of the positions of `LOOKED_UP` kinds, asked once."""

    def __init__(self) -> None:
        self._known: dict[str, str | None] = {}

    def get(self, symbol: str) -> str | None:
        """The streamer symbol found for `symbol`, or None (not looked up, or unknown)."""
        return self._known.get(symbol)

    async def resolve(self, session: Session, positions: Iterable[CurrentPosition]) -> None:
        """Look up the positions' symbols of `LOOKED_UP` kinds not asked about yet."""
        for p in positions:
            kind = str(p.instrument_type)
            if kind not in LOOKED_UP or p.symbol in self._known:
                continue
            try:
                self._known[p.symbol] = await _streamer_symbol(session, kind, p.symbol)
            except (TastytradeError, ValidationError) as exc:
                log.warning("tastytrade has no streamer symbol for %s %s: %s", kind, p.symbol, exc)
                self._known[p.symbol] = None


async def _streamer_symbol(session: Session, kind: str, symbol: str) -> str | None:
    found: object
    if kind == "Future":
        found = await Future.get(session, symbol)
    elif kind == "Future Option":
        found = await FutureOption.get(session, symbol)
    else:
        found = await Cryptocurrency.get(session, symbol)
    item = found[0] if isinstance(found, list) and found else found
    return getattr(item, "streamer_symbol", None) or None
