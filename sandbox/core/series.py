"""Which market series an instrument reads: the one look-up behind every REST quote.

An instrument is named by its kind and its wire symbol; the market keeps one series per
feed symbol, and the kind decides which one the symbol means: an equity or an index is
its ticker, an equity option its `.SPY250221C590` contract, a listed future its contract
month on its venue (`/ESZ6` → `/ESZ26:XCME`), an option on one its contract priced off
that future (`./ESZ6 ESZ6 261218C6000` → `./ESZ26C6000:XCME`) and a coin its pair on
the crypto venue (`BTC/USD` → `BTC/USD:CXTALP`). These are the streamer symbols the
instruments say (`core/instruments.py` builds them for order legs and positions alike),
so a quote of an instrument, its position's mark and its DXLink events are one series.

The kind is never guessed from the spelling: `BTC/USD` asked as an equity is no equity
(the market keeps a coin only as a coin: `listings.coin_named`), and a future asked as an
equity is none either.
"""

from __future__ import annotations

from datetime import date

from sandbox.core.instruments import future_option, future_option_of
from sandbox.core.market import futures
from sandbox.core.market.listings import crypto_feed_symbol, instrument_kind
from sandbox.core.records import CRYPTOCURRENCY, EQUITY, EQUITY_OPTION, FUTURE, FUTURE_OPTION
from sandbox.core.symbols import is_valid_future_symbol, parse_occ_symbol

__all__ = ["INDEX", "KINDS", "feed_symbol"]

#: tastytrade's instrument type of an index (`SPX`): quoted like an equity.
INDEX = "Index"
KINDS = (EQUITY, INDEX, EQUITY_OPTION, FUTURE, FUTURE_OPTION, CRYPTOCURRENCY)
_EQUITY_KINDS = ("stock", "etf", "index")


def feed_symbol(symbol: str, kind: str, today: date) -> str | None:
    """The feed symbol of the series an instrument of `kind` named `symbol` reads, or None
    when the market has no such instrument (`today`: the market date, which lists the
    futures and so the options on them)."""
    if not isinstance(symbol, str) or not symbol:
        return None
    if kind in (EQUITY, INDEX):
        return symbol if instrument_kind(symbol) in _EQUITY_KINDS else None
    if kind == EQUITY_OPTION:
        option = parse_occ_symbol(symbol)
        if option is None or instrument_kind(option.underlying) not in _EQUITY_KINDS:
            return None
        return option.streamer_symbol
    if kind == FUTURE:
        listed = futures.contract(symbol, today)
        if listed is not None:
            return listed.streamer_symbol
        # a future the market does not list is quoted under the symbol as given
        return symbol if symbol.startswith("/") and is_valid_future_symbol(symbol) else None
    if kind == FUTURE_OPTION:
        spec = future_option_of(symbol, today)
        return future_option(*spec).streamer_symbol if spec is not None else None
    if kind == CRYPTOCURRENCY:
        return crypto_feed_symbol(symbol)
    return None
