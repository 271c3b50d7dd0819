"""Option chains in the one shape every broker's is given in (docs/streaming-contract.md
"Option chains"), whichever broker serves them: tastytrade (tastytrade/chains.py) or
Tradier (tradier/chains.py), each fetched through the cluster-wide cache and its broker's
pacing (paced.py).

- expirations: `[{date: "YYYY-MM-DD", type: "Weekly"|"Regular", dte}]`
- strikes of one expiration: `{multiplier, rows: [{strike, call, put}]}`, each side
  `{symbol (streamer), occ}` plus, from Tradier, the row's values.
"""

from __future__ import annotations

import datetime as dt
from typing import NotRequired, TypedDict

from streaming.brokers.payloads import Number
from streaming.instruments.symbols import NEW_YORK, occ_to_streamer_symbol

#: An underlying's REST price is reused this long (it only centres the strike window).
PRICE_TTL = 5.0


def dte(date: str, today: dt.date) -> int:
    """Days from `today` to the expiration `date` (YYYY-MM-DD)."""
    return (dt.date.fromisoformat(date) - today).days


def new_york_today() -> dt.date:
    """Today in New York, where the options expire."""
    return dt.datetime.now(NEW_YORK).date()


class ChainValues(TypedDict, total=False):
    """A side's values as the broker's chain has them: Tradier's row (quotes and greeks
    as of `greeks_t`), tastytrade's market-data snapshot (quotes only)."""

    bid: Number
    ask: Number
    last: Number
    volume: Number
    open_interest: Number
    iv: Number
    delta: Number
    gamma: Number
    theta: Number
    vega: Number
    greeks_t: int | None
    quote_t: int | None


class ChainSide(ChainValues):
    """One side (call or put) of a strike row: its streamer symbol and its OCC symbol
    (unpadded), tastytrade's `wire` (its own spelling, for its market-data snapshot), and
    the values the broker's chain has."""

    symbol: NotRequired[str | None]
    occ: NotRequired[str]
    wire: NotRequired[str]


class StrikeRow(TypedDict, total=False):
    strike: float
    call: ChainSide
    put: ChainSide


def chain_side(occ: str, streamer: str | None = None) -> ChainSide:
    """One side of a strike row: its streamer symbol and its OCC symbol (unpadded)."""
    occ = occ.replace(" ", "")
    return {"symbol": streamer or occ_to_streamer_symbol(occ), "occ": occ}


def mid_or_last(bid: float | None, ask: float | None, last: float | None) -> float | None:
    """An underlying's price: the mid of a two-sided quote, else the last trade."""
    if bid is not None and ask is not None and bid > 0 and ask > 0:
        return round((bid + ask) / 2, 4)
    return last
