"""Parse and classify the symbols that the sandbox's fake DXLink feed accepts.

The feed uses dxFeed streamer symbols: equities/indices ("SPY", "BRK/B", "SPX"),
futures ("/ESZ26:XCME"), futures options ("./ESZ26C6000:XCME": an option on the
/ESZ26 contract; `FutureOptionSymbol`), cryptocurrencies ("BTC/USD:CXTALP",
tastytrade's spelling of a coin against the dollar), equity options (".SPY250221C590")
and candle symbols ("SPY{=5m,tho=true}", "BTC/USD:CXTALP{=1m}", an option's by its mark:
"./ESZ26C6000:XCME{=5m,price=mark}").  OCC option symbols
("SPY   250221C00590000") are used by the REST API, so conversions between the two forms
live here too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Literal

__all__ = [
    "CANDLE_UNIT_MS",
    "CandleSymbol",
    "FutureOptionSymbol",
    "OptionSymbol",
    "SymbolKind",
    "classify",
    "crypto_pair",
    "format_strike",
    "future_root",
    "is_valid_equity_symbol",
    "is_valid_future_symbol",
    "occ_to_streamer",
    "parse_candle_symbol",
    "parse_future_option_symbol",
    "parse_occ_symbol",
    "parse_option_streamer_symbol",
    "parse_option_symbol",
    "streamer_to_occ",
]

SymbolKind = Literal["equity", "option", "candle", "future", "crypto"]

# Greedy root + backtracking works because the date must sit right before C/P.
_STREAMER_OPTION_RE = re.compile(r"^\.([A-Z][A-Z0-9]{0,5})(\d{6})([CP])(\d{1,5}(?:\.\d{1,3})?)$")
# Root padded with spaces to 6 chars (standard), or unpadded (some feeds strip the spaces).
_OCC_RE = re.compile(r"^([A-Z][A-Z0-9]{0,5}) *(\d{6})([CP])(\d{8})$")
_EQUITY_RE = re.compile(r"^[A-Z][A-Z0-9]*(?:[./][A-Z0-9]+)*$")
_FUTURE_RE = re.compile(r"^/([A-Z][A-Z0-9]{0,9})(?::([A-Z]{2,6}))?$")
_FUTURE_CONTRACT_RE = re.compile(r"^([A-Z0-9]+?)([FGHJKMNQUVXZ])(\d{1,2})$")
#: An option on a futures contract, as the feed spells it: "./ESZ26C6000:XCME" (the
#: option product, here the future's own code, its month and two-digit year, C/P, strike).
_FUTURE_OPTION_RE = re.compile(
    r"^\./([A-Z0-9]{1,4}?)([FGHJKMNQUVXZ])(\d{2})([CP])(\d{1,7}(?:\.\d{1,6})?):([A-Z]{2,6})$"
)
#: A coin against the dollar on tastytrade's crypto venue: "BTC/USD:CXTALP".
_CRYPTO_RE = re.compile(r"^([A-Z][A-Z0-9]{1,9}/USD):CXTALP$")
_CANDLE_RE = re.compile(r"^([^{}]+)\{([^{}]*)\}$")
_PERIOD_RE = re.compile(r"^(\d+(?:\.\d+)?)?(mo|s|m|h|d|w|y)$")

_SECOND_MS = 1000
_DAY_MS = 86_400_000
#: Candle period units in milliseconds ("mo" is treated as 30 days, "y" as 365 days).
CANDLE_UNIT_MS: dict[str, int] = {
    "s": _SECOND_MS,
    "m": 60 * _SECOND_MS,
    "h": 3600 * _SECOND_MS,
    "d": _DAY_MS,
    "w": 7 * _DAY_MS,
    "mo": 30 * _DAY_MS,
    "y": 365 * _DAY_MS,
}
_MAX_EQUITY_LEN = 10
_MAX_FUTURE_LEN = 16


def format_strike(strike: Decimal) -> str:
    """Render a strike the way streamer symbols do: no trailing zeros, no exponent."""
    if strike == strike.to_integral_value():
        return str(int(strike))
    return format(strike.normalize(), "f")


def _canonical_strike(strike: Decimal) -> Decimal:
    """Drop the trailing zeros so equal strikes print (and hash) the same way."""
    if strike == strike.to_integral_value():
        return Decimal(int(strike))
    return Decimal(format(strike.normalize(), "f"))


def _parse_expiry(yymmdd: str) -> date | None:
    try:
        return date(2000 + int(yymmdd[:2]), int(yymmdd[2:4]), int(yymmdd[4:6]))
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class OptionSymbol:
    """An equity option: root symbol, expiry date, right ("C"/"P") and strike."""

    underlying: str
    expiry: date
    right: Literal["C", "P"]
    strike: Decimal

    @property
    def is_call(self) -> bool:
        return self.right == "C"

    @property
    def streamer_symbol(self) -> str:
        """The dxFeed form, e.g. ".SPY250221C590" or ".SPY250221P590.5"."""
        return f".{self.underlying}{self.expiry:%y%m%d}{self.right}{format_strike(self.strike)}"

    @property
    def occ_symbol(self) -> str:
        """The OCC 2010 form, e.g. "SPY   250221C00590000" (strike x 1000, 8 digits)."""
        milli = int(self.strike * 1000)
        return f"{self.underlying:<6}{self.expiry:%y%m%d}{self.right}{milli:08d}"


def _make_option(root: str, yymmdd: str, right: str, strike: Decimal) -> OptionSymbol | None:
    expiry = _parse_expiry(yymmdd)
    if expiry is None or strike <= 0 or not is_valid_equity_symbol(root):
        return None
    return OptionSymbol(root, expiry, "C" if right == "C" else "P", _canonical_strike(strike))


def parse_option_streamer_symbol(s: str) -> OptionSymbol | None:
    """Parse ".SPY250221C590" (dxFeed form only); None if it is not a valid option."""
    if not isinstance(s, str):
        return None
    m = _STREAMER_OPTION_RE.match(s)
    if m is None:
        return None
    try:
        strike = Decimal(m.group(4))
    except InvalidOperation:  # pragma: no cover - the regex only lets numbers through
        return None
    return _make_option(m.group(1), m.group(2), m.group(3), strike)


def parse_occ_symbol(s: str) -> OptionSymbol | None:
    """Parse "SPY   250221C00590000" (OCC form); None if it is not a valid option."""
    if not isinstance(s, str):
        return None
    m = _OCC_RE.match(s)
    if m is None:
        return None
    # A padded root must be exactly 6 chars wide; an unpadded one has no spaces at all.
    if " " in s and len(m.group(1)) + s.count(" ") != 6:
        return None
    strike = Decimal(int(m.group(4))) / 1000
    return _make_option(m.group(1), m.group(2), m.group(3), strike)


def parse_option_symbol(s: str) -> OptionSymbol | None:
    """Parse either the streamer or the OCC form."""
    return parse_option_streamer_symbol(s) or parse_occ_symbol(s)


def occ_to_streamer(occ: str) -> str | None:
    """Convert "SPY   250221C00590500" to ".SPY250221C590.5"; None if not OCC."""
    opt = parse_occ_symbol(occ)
    return opt.streamer_symbol if opt else None


def streamer_to_occ(streamer_symbol: str) -> str | None:
    """Convert ".SPY250221C590.5" to "SPY   250221C00590500"; None if not an option."""
    opt = parse_option_streamer_symbol(streamer_symbol)
    return opt.occ_symbol if opt else None


@dataclass(frozen=True, slots=True)
class CandleSymbol:
    """A dxFeed candle symbol such as "SPY{=5m,tho=true}".

    ``symbol`` keeps the original string so events can echo it as ``eventSymbol``;
    ``price`` is what its candles are of: "last" (trades, dxFeed's default) or "mark"
    (the bid/ask mid: honoured for options, whose mark is what they are valued at).
    """

    symbol: str
    base: str
    period: str
    width_ms: int
    tho: bool
    price: str = "last"


def _parse_period(period: str) -> int | None:
    m = _PERIOD_RE.match(period)
    if m is None:
        return None
    count = float(m.group(1)) if m.group(1) else 1.0
    width = round(count * CANDLE_UNIT_MS[m.group(2)])
    return width if width > 0 else None


def parse_candle_symbol(s: str) -> CandleSymbol | None:
    """Parse "SPY{=5m,tho=true}" (or a coin's "BTC/USD:CXTALP{=1m}", an option's
    "./ESZ26C6000:XCME{=5m,price=mark}"); None if malformed, without a period or a bad
    base."""
    if not isinstance(s, str):
        return None
    m = _CANDLE_RE.match(s)
    if m is None:
        return None
    base = m.group(1)
    valid = is_valid_equity_symbol(base) or is_valid_future_symbol(base)
    option = parse_future_option_symbol(base) or parse_option_streamer_symbol(base)
    if not (valid or crypto_pair(base) is not None or option is not None):
        return None
    period: str | None = None
    width: int | None = None
    tho = False
    price = "last"
    for raw in m.group(2).split(","):
        key, sep, value = raw.strip().partition("=")
        if not sep:
            return None
        key = key.strip()
        value = value.strip()
        if key == "":  # the aggregation period, "=5m"
            width = _parse_period(value)
            if width is None:
                return None
            period = value
        elif key == "tho":
            if value.lower() not in ("true", "false"):
                return None
            tho = value.lower() == "true"
        elif key == "price" and value.lower() in ("last", "mark"):
            price = value.lower()
        # Other dxFeed attributes (a=, another price=, ...) are accepted and ignored.
    if period is None or width is None:
        return None
    return CandleSymbol(symbol=s, base=base, period=period, width_ms=width, tho=tho, price=price)


def is_valid_equity_symbol(s: str) -> bool:
    """1-10 chars of A-Z, 0-9, "." and "/", starting with a letter ("BRK/B", "SPX").

    Futures ("/ESZ6", "/ESZ26:XCME") are accepted as well, since they are quoted
    like equities on the feed.
    """
    if not isinstance(s, str):
        return False
    if s.startswith("/"):
        return is_valid_future_symbol(s)
    return 1 <= len(s) <= _MAX_EQUITY_LEN and _EQUITY_RE.match(s) is not None


def is_valid_future_symbol(s: str) -> bool:
    """Accept "/ES", "/ESZ6" or the streamer form "/ESZ26:XCME"."""
    return isinstance(s, str) and len(s) <= _MAX_FUTURE_LEN and _FUTURE_RE.match(s) is not None


@dataclass(frozen=True, slots=True)
class FutureOptionSymbol:
    """An option on a futures contract: its product code ("ES"), contract month code and
    two-digit year, right and strike, and the venue ("XCME")."""

    code: str
    month_code: str
    year2: int
    right: Literal["C", "P"]
    strike: Decimal
    venue: str

    @property
    def is_call(self) -> bool:
        return self.right == "C"

    @property
    def future_streamer_symbol(self) -> str:
        """The contract it is an option on, as the feed spells it: "/ESZ26:XCME"."""
        return f"/{self.code}{self.month_code}{self.year2:02d}:{self.venue}"

    @property
    def streamer_symbol(self) -> str:
        strike = format_strike(self.strike)
        return f"./{self.code}{self.month_code}{self.year2:02d}{self.right}{strike}:{self.venue}"


def parse_future_option_symbol(s: str) -> FutureOptionSymbol | None:
    """Parse "./ESZ26C6000:XCME"; None if it is not a future option's feed symbol."""
    m = _FUTURE_OPTION_RE.match(s) if isinstance(s, str) else None
    if m is None:
        return None
    code, month, year2, right, strike, venue = m.groups()
    value = _canonical_strike(Decimal(strike))
    if value <= 0:
        return None
    return FutureOptionSymbol(code, month, int(year2), "C" if right == "C" else "P", value, venue)


def crypto_pair(s: str) -> str | None:
    """The pair a crypto feed symbol quotes ("BTC/USD:CXTALP" -> "BTC/USD"), else None."""
    m = _CRYPTO_RE.match(s) if isinstance(s, str) else None
    return m.group(1) if m else None


def future_root(s: str) -> str | None:
    """Map "/ESZ26:XCME" to its root "/ES"; a bare root is returned as is."""
    m = _FUTURE_RE.match(s) if isinstance(s, str) else None
    if m is None:
        return None
    contract = _FUTURE_CONTRACT_RE.match(m.group(1))
    return "/" + (contract.group(1) if contract else m.group(1))


def classify(s: str) -> SymbolKind | None:
    """Say what kind of feed symbol ``s`` is; None if the feed would not know it.

    OCC option symbols are not feed symbols and therefore classify as None.
    """
    if not isinstance(s, str) or not s:
        return None
    if "{" in s:
        return "candle" if parse_candle_symbol(s) else None
    if s.startswith("./"):
        return "option" if parse_future_option_symbol(s) else None
    if s.startswith("."):
        return "option" if parse_option_streamer_symbol(s) else None
    if s.startswith("/"):
        return "future" if is_valid_future_symbol(s) else None
    if crypto_pair(s) is not None:
        return "crypto"
    return "equity" if is_valid_equity_symbol(s) else None
