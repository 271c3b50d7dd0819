"""What an order leg can name: an equity ticker, an OCC option symbol or a crypto pair, in
both spellings.

The wire spelling (ticker / OCC `SPY   250221C00590000`) is what orders and positions carry;
the streamer spelling (`SPY` / `.SPY250221C590`) is what the market prices. A coin is
`BTC/USD` on the wire and `BTC/USD:CXTALP` on the feed (tastytrade's spelling); a listed
future is `/ESZ6` and `/ESZ26:XCME`; an option on a future is `./ESZ6 ESZ6 261218C6000`
and `./ESZ26C6000:XCME`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

from sandbox.core.market import futures
from sandbox.core.market.futures import FutureContract, option_symbol
from sandbox.core.market.listings import CRYPTO_PAIRS, crypto_feed_symbol
from sandbox.core.records import (
    CRYPTOCURRENCY,
    EQUITY,
    EQUITY_OPTION,
    FUTURE,
    FUTURE_OPTION,
    OrderRejected,
)
from sandbox.core.symbols import FutureOptionSymbol

__all__ = [
    "Instrument",
    "crypto",
    "equity",
    "future",
    "future_option",
    "future_option_of",
    "multiplier_of",
    "occ_to_streamer",
    "option",
    "parse_instrument",
]

OPTION_MULTIPLIER = 100
_CLOSE = time(21)  # UTC: an equity option's expiry
_OCC_RE = re.compile(r"^([A-Z][A-Z0-9]{0,5})\s*(\d{6})([CP])(\d{8})$")
_TICKER_RE = re.compile(r"^[A-Z][A-Z0-9./]{0,9}$")
#: `./ESZ6 ESZ6 261218C6000`: the future, the option contract, expiration, C/P and strike.
_FUTURE_OPTION_RE = re.compile(
    r"^\./([A-Z0-9]+[FGHJKMNQUVXZ]\d) ([A-Z0-9]+[FGHJKMNQUVXZ]\d) (\d{6})([CP])(\d+(?:\.\d+)?)$"
)


@dataclass(frozen=True)
class Instrument:
    """A tradeable symbol in both spellings: wire (ticker / OCC) and streamer (for prices)."""

    symbol: str
    streamer_symbol: str
    instrument_type: str
    underlying: str
    multiplier: int
    expires_on: date | None = None

    @property
    def expires_at(self) -> float | None:
        """Expiry as epoch seconds: a future and an option on it when their instruments say
        (`futures.EXPIRY_TIME`, UTC), anything else at 21:00 UTC on the expiration date."""
        if self.expires_on is None:
            return None
        at = futures.EXPIRY_TIME if self.instrument_type in (FUTURE, FUTURE_OPTION) else _CLOSE
        return datetime.combine(self.expires_on, at, tzinfo=UTC).timestamp()


def _strike_text(strike: Decimal) -> str:
    """Strike as the streamer spells it: `590`, `590.5`."""
    if strike == strike.to_integral_value():
        return str(int(strike))
    return format(strike.normalize(), "f")


def option(root: str, expiry: date, call_put: str, strike: Decimal) -> Instrument:
    """An equity option with its OCC symbol (`SPY   250221C00590000`) and `.SPY250221C590`."""
    ymd = expiry.strftime("%y%m%d")
    occ = f"{root:<6}{ymd}{call_put}{int(strike * 1000):08d}"
    streamer = f".{root}{ymd}{call_put}{_strike_text(strike)}"
    return Instrument(occ, streamer, EQUITY_OPTION, root, OPTION_MULTIPLIER, expiry)


def occ_to_streamer(occ: str) -> str:
    """OCC option symbol to streamer symbol; '' if `occ` is not an OCC symbol."""
    match = _OCC_RE.match(occ.strip())
    if match is None:
        return ""
    root, ymd, call_put, strike = match.groups()
    return f".{root}{ymd}{call_put}{_strike_text(Decimal(strike) / 1000)}"


def equity(ticker: str) -> Instrument:
    return Instrument(ticker, ticker, EQUITY, ticker, 1)


def crypto(pair: str) -> Instrument:
    """A listed coin against the dollar ("BTC/USD"); KeyError for a pair the market lacks."""
    feed = crypto_feed_symbol(pair)
    if feed is None:
        raise KeyError(pair)
    return Instrument(pair, feed, CRYPTOCURRENCY, pair, 1)


def future(listed: FutureContract) -> Instrument:
    """A listed future (`/ESZ6`, fed as `/ESZ26:XCME`): its underlying is its product's root
    (`/ES`), and a point of its price is worth the product's notional multiplier."""
    product = listed.product
    return Instrument(
        listed.symbol,
        listed.streamer_symbol,
        FUTURE,
        product.root,
        int(product.multiplier),
        listed.expires_on,
    )


def _listed_future(symbol: str, today: date) -> Instrument:
    """The listed contract an order names by its trading symbol (`/ESZ6`), or OrderRejected:
    an expired contract says when it expired, anything else is not a listed future."""
    listed = futures.contract(symbol, today)
    if listed is not None and listed.symbol == symbol:
        return future(listed)
    expired = futures.expired_on(symbol, today)
    if expired is not None:
        raise OrderRejected("invalid_symbol", f"{symbol} expired on {expired:%Y-%m-%d}.")
    raise OrderRejected(
        "invalid_symbol", f"{symbol!r} is not a listed future (name a contract as /ESZ6)."
    )


def future_option(listed: FutureContract, right: str, strike: Decimal) -> Instrument:
    """A quarterly option on a listed future; a point is worth the future's multiplier."""
    product = listed.product
    feed = FutureOptionSymbol(
        product.code,
        listed.month_code,
        listed.year % 100,
        "C" if right == "C" else "P",
        strike,
        product.streamer_exchange_code,
    ).streamer_symbol
    return Instrument(
        option_symbol(listed, right, strike),
        feed,
        FUTURE_OPTION,
        listed.symbol,
        int(product.multiplier),
        listed.expires_on,
    )


def future_option_of(symbol: str, today: date) -> tuple[FutureContract, str, Decimal] | None:
    """(contract, right, strike) of a quarterly option on a listed future — its option
    contract code is the future's and it expires with it — or None."""
    match = _FUTURE_OPTION_RE.match(symbol)
    if match is None or match.group(1) != match.group(2):
        return None
    listed = futures.contract(match.group(1), today)
    strike = Decimal(match.group(5))
    if listed is None or strike <= 0 or f"{listed.expires_on:%y%m%d}" != match.group(3):
        return None
    return listed, match.group(4), strike


def multiplier_of(symbol: str, instrument_type: str | None) -> int:
    """What one unit of a symbol is worth in units of its price: 100 for a stock option,
    the future's point value for a future and an option on it (50 for /ES), 1 for anything
    else."""
    if instrument_type == EQUITY_OPTION:
        return OPTION_MULTIPLIER
    product = None
    if instrument_type == FUTURE_OPTION:
        match = _FUTURE_OPTION_RE.match(symbol)
        product = futures.product_of(match.group(1)) if match else None
    elif instrument_type == FUTURE:
        product = futures.product_of(symbol)
    return int(product.multiplier) if product is not None else 1


def parse_instrument(symbol: Any, instrument_type: Any, today: date | None = None) -> Instrument:
    """The instrument an order leg names, or OrderRejected for anything we cannot trade
    (`today`: the market's date, which lists the futures an option can be on)."""
    if not isinstance(symbol, str) or not symbol.strip():
        raise OrderRejected("invalid_symbol", "Each leg needs a symbol.")
    if instrument_type == FUTURE and today is not None:
        return _listed_future(symbol.strip(), today)
    if instrument_type == FUTURE_OPTION and today is not None:
        spec = future_option_of(symbol.strip(), today)
        if spec is None:
            raise OrderRejected("invalid_symbol", f"{symbol!r} is not a listed future option.")
        return future_option(*spec)
    if instrument_type == CRYPTOCURRENCY:
        if symbol.strip() not in CRYPTO_PAIRS:
            raise OrderRejected("invalid_symbol", f"{symbol!r} is not a listed cryptocurrency.")
        return crypto(symbol.strip())
    match = _OCC_RE.match(symbol.strip())
    kind = EQUITY_OPTION if match is not None else EQUITY
    if instrument_type is not None and instrument_type != kind:
        if instrument_type in (EQUITY, EQUITY_OPTION):
            raise OrderRejected(
                "invalid_symbol", f"{symbol!r} is not a valid {instrument_type} symbol."
            )
        raise OrderRejected(
            "unsupported_instrument_type", f"The sandbox does not trade {instrument_type!r}."
        )
    if match is not None:
        root, ymd, call_put, strike = match.groups()
        try:
            expiry = datetime.strptime(ymd, "%y%m%d").date()
        except ValueError:
            raise OrderRejected("invalid_symbol", f"Bad expiration in {symbol!r}.") from None
        return option(root, expiry, call_put, Decimal(strike) / 1000)
    ticker = symbol.strip().upper()
    if not _TICKER_RE.match(ticker):
        raise OrderRejected("invalid_symbol", f"{symbol!r} is not a valid equity symbol.")
    return equity(ticker)
