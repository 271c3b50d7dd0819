"""Symbol spellings between the brokers and the contract. Pure functions, no I/O.

The contract (and DXLink) names an option by its streamer symbol, `.SPY250221C590`;
Tradier and Alpaca spell it as an OCC symbol, `SPY250221C00590000` (tastytrade's REST pads
the root: `SPY   250221C00590000`). Everything else is a ticker, the same everywhere.
Client input is checked in streaming/validation.py, which uses these conversions.
"""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

# ASCII only (re.ASCII, and `[0-9]`, never `\d`, which matches every Unicode digit).
OPTION_STREAMER_RE = re.compile(
    r"^\.([A-Z][A-Z0-9]{0,5})([0-9]{6})([CP])([0-9]+(?:\.[0-9]+)?)$", re.ASCII
)
#: A ticker: `AAPL`, `BRK.B`, `BRK/B` (one letter after the slash: a share class, never a
#: coin pair).
EQUITY_RE = re.compile(r"^[A-Z][A-Z0-9.]{0,9}(/[A-Z])?$", re.ASCII)
OPTION_OCC_RE = re.compile(r"^([A-Z][A-Z0-9]{0,5}) *([0-9]{6})([CP])([0-9]{8})$", re.ASCII)

NEW_YORK = ZoneInfo("America/New_York")
#: Equity options expire at the close, 16:00 New York, on their expiration date.
EXPIRY_TIME = dt.time(16, 0)


def option_date(yymmdd: str) -> dt.date | None:
    """`YYMMDD` as a calendar date (20YY), or None: no month 13, no day 32, no Feb 30."""
    try:
        return dt.date(2000 + int(yymmdd[:2]), int(yymmdd[2:4]), int(yymmdd[4:6]))
    except ValueError:
        return None


def is_option(symbol: str) -> bool:
    """Whether a streamer symbol names an option."""
    return symbol.startswith(".")


def occ_to_streamer_symbol(occ: str) -> str | None:
    """`SPY   250221C00590000` → `.SPY250221C590` (strike without trailing zeros)."""
    match = OPTION_OCC_RE.match(occ)
    if not match:
        return None
    root, date, right, strike = match.groups()
    if option_date(date) is None or int(strike) <= 0:
        return None
    value = int(strike) / 1000
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    return f".{root}{date}{right}{text}"


def streamer_to_occ_symbol(symbol: str) -> str | None:
    """`.SPY261218C600` → `SPY261218C00600000` (OCC without padding, as Tradier and
    Alpaca spell options); None if it is not a streamer option symbol."""
    match = OPTION_STREAMER_RE.match(symbol)
    if match is None:
        return None
    root, date, right, strike = match.groups()
    if option_date(date) is None:
        return None
    thousandths = round(float(strike) * 1000)
    if not 0 < thousandths < 10**8:
        return None
    return f"{root}{date}{right}{thousandths:08d}"


#: A coin against the dollar as the brokers spell it: `BTC/USD` (tastytrade, Alpaca's
#: orders) or `BTCUSD` (Alpaca's positions).
CRYPTO_USD_RE = re.compile(r"^([A-Z][A-Z0-9]{1,9}?)/?USD$", re.ASCII)


def crypto_streamer_symbol(symbol: str) -> str | None:
    """`BTC/USD` or `BTCUSD` → `BTC/USD:CXTALP`, the DXLink symbol of the coin against the
    dollar (tastytrade's crypto venue); None for another pair, which no feed here quotes."""
    match = CRYPTO_USD_RE.match(symbol)
    return f"{match.group(1)}/USD:CXTALP" if match else None


#: A coin's streamer symbol (`BTC/USD:CXTALP`); the group is the pair (`BTC/USD`).
COIN_STREAMER_RE = re.compile(r"^([A-Z][A-Z0-9]{1,9}/USD):CXTALP$", re.ASCII)


def coin_pair(streamer_symbol: str) -> str | None:
    """`BTC/USD:CXTALP` → `BTC/USD` (the pair Alpaca's crypto data names); None for a
    symbol that is not a coin against the dollar."""
    match = COIN_STREAMER_RE.match(streamer_symbol)
    return match.group(1) if match else None


def is_coin(streamer_symbol: str) -> bool:
    return COIN_STREAMER_RE.match(streamer_symbol) is not None


def streamer_symbol_for(symbol: str, instrument_type: str) -> str:
    """The DXLink symbol of a position: tickers as-is, OCC options converted, a coin
    against the dollar on tastytrade's crypto venue."""
    if instrument_type == "Equity Option":
        return occ_to_streamer_symbol(symbol) or symbol
    if instrument_type == "Cryptocurrency":
        return crypto_streamer_symbol(symbol) or symbol
    return symbol


def occ_parts(occ: str) -> tuple[str, str] | None:
    """(root, `YYYY-MM-DD` expiration) of an OCC option symbol, padded or not."""
    match = OPTION_OCC_RE.match(occ)
    day = option_date(match.group(2)) if match else None
    if match is None or day is None:
        return None
    return match.group(1), day.isoformat()


def option_expiry_ms(occ: str) -> int | None:
    """When an OCC option expires (16:00 New York on its expiration date), epoch ms."""
    parts = occ_parts(occ)
    if parts is None:
        return None
    day = dt.date.fromisoformat(parts[1])
    return int(dt.datetime.combine(day, EXPIRY_TIME, tzinfo=NEW_YORK).timestamp() * 1000)
