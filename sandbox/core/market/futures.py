"""The futures the simulated market lists: products (its named roots) and their contracts.

The market quotes any future symbol; these are the ones it *lists*, so that instrument
lookups can say which contracts exist, when they expire and how they are quoted on the
feed. Contract months follow each exchange's listing cycle; expirations are simplified
to the third Friday of the contract month for every product (the real dates differ for
energy and metals). Broker-neutral: the façades render these records.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal

from sandbox.core.market.listings import named_symbols

__all__ = [
    "EXPIRY_TIME",
    "MONTH_CODES",
    "FutureContract",
    "FutureProduct",
    "contract",
    "contracts",
    "expired_on",
    "expires_on",
    "option_symbol",
    "product_of",
    "products",
]

#: When a contract (and an option on it) stops trading and expires on its expiration date, UTC.
EXPIRY_TIME = dt.time(13, 30)
#: Futures month codes, January first.
MONTH_CODES = "FGHJKMNQUVXZ"
#: Contracts listed ahead per product.
LISTED_AHEAD = 4
_CONTRACT_RE = re.compile(r"^/?([A-Z0-9]+?)([FGHJKMNQUVXZ])(\d{1,2})(?::[A-Z]+)?$")


@dataclass(frozen=True, slots=True)
class FutureProduct:
    code: str  # "ES"
    description: str
    exchange: str  # the venue family ("CME")
    streamer_exchange_code: str  # the feed's venue ("XCME")
    multiplier: Decimal
    tick_size: Decimal
    market_sector: str
    cash_settled: bool
    months: str  # listed month codes
    small: bool

    @property
    def root(self) -> str:
        return f"/{self.code}"


@dataclass(frozen=True, slots=True)
class FutureContract:
    product: FutureProduct
    month: int
    year: int
    expires_on: dt.date

    @property
    def month_code(self) -> str:
        return MONTH_CODES[self.month - 1]

    @property
    def symbol(self) -> str:
        """The trading symbol, one-digit year: "/ESZ6"."""
        return f"/{self.product.code}{self.month_code}{self.year % 10}"

    @property
    def streamer_symbol(self) -> str:
        """The feed symbol, two-digit year and venue: "/ESZ26:XCME"."""
        code = self.product.streamer_exchange_code
        return f"/{self.product.code}{self.month_code}{self.year % 100:02d}:{code}"


_QUARTERLY = "HMUZ"
_TABLE: dict[str, tuple[str, str, str, str, str, bool, str, bool]] = {
    # code: (exchange, feed venue, multiplier, tick, sector, cash settled, months, small)
    "ES": ("CME", "XCME", "50", "0.25", "Equity Index", True, _QUARTERLY, False),
    "MES": ("CME", "XCME", "5", "0.25", "Equity Index", True, _QUARTERLY, True),
    "NQ": ("CME", "XCME", "20", "0.25", "Equity Index", True, _QUARTERLY, False),
    "MNQ": ("CME", "XCME", "2", "0.25", "Equity Index", True, _QUARTERLY, True),
    "RTY": ("CME", "XCME", "50", "0.1", "Equity Index", True, _QUARTERLY, False),
    "YM": ("CME", "XCBT", "5", "1", "Equity Index", True, _QUARTERLY, False),
    "CL": ("CME", "XNYM", "1000", "0.01", "Energy", False, MONTH_CODES, False),
    "NG": ("CME", "XNYM", "10000", "0.001", "Energy", False, MONTH_CODES, False),
    "GC": ("CME", "XCEC", "100", "0.1", "Metals", False, "GJMQVZ", False),
    "SI": ("CME", "XCEC", "5000", "0.005", "Metals", False, "HKNUZ", False),
    "ZB": ("CME", "XCBT", "1000", "0.03125", "Interest Rate", False, _QUARTERLY, False),
    "ZN": ("CME", "XCBT", "1000", "0.015625", "Interest Rate", False, _QUARTERLY, False),
    "6E": ("CME", "XCME", "125000", "0.00005", "Currency", False, _QUARTERLY, False),
}


def products() -> list[FutureProduct]:
    """Every futures product the market names (its "/ES"-style roots), by code."""
    names = named_symbols()
    out = []
    for code, (exchange, venue, mult, tick, sector, cash, months, small) in _TABLE.items():
        description = names.get(f"/{code}")
        if description is None:
            continue
        out.append(
            FutureProduct(
                code,
                description,
                exchange,
                venue,
                Decimal(mult),
                Decimal(tick),
                sector,
                cash,
                months,
                small,
            )
        )
    return out


def product(code: str) -> FutureProduct | None:
    code = code.lstrip("/")
    return next((p for p in products() if p.code == code), None)


def product_of(symbol: str) -> FutureProduct | None:
    """The product a contract symbol names ("/ESZ6", "ESZ6", "/ESZ26:XCME"), if any."""
    match = _CONTRACT_RE.match(symbol)
    return product(match.group(1)) if match else None


def _third_friday(year: int, month: int) -> dt.date:
    first = dt.date(year, month, 1)
    return first + dt.timedelta(days=(4 - first.weekday()) % 7 + 14)


def expires_on(month_code: str, year: int) -> dt.date:
    """When a contract of that month expires (its options too: the quarterly options the
    market lists expire with their future, on the simplified third Friday)."""
    return _third_friday(year, MONTH_CODES.index(month_code) + 1)


def option_symbol(listed: FutureContract, right: str, strike: Decimal) -> str:
    """A quarterly option's tastytrade symbol: "./ESZ6 ESZ6 261218C6000" (the future, the
    option contract — its product code is the future's — expiration, C/P and strike)."""
    text = format(strike.normalize(), "f") if strike % 1 else str(int(strike))
    code = listed.symbol.lstrip("/")
    return f".{listed.symbol} {code} {listed.expires_on:%y%m%d}{right}{text}"


def contracts(prod: FutureProduct, today: dt.date) -> list[FutureContract]:
    """The next few listed contracts of a product that have not expired, front first."""
    out: list[FutureContract] = []
    year, month = today.year, today.month
    while len(out) < LISTED_AHEAD:
        if MONTH_CODES[month - 1] in prod.months:
            expires = _third_friday(year, month)
            if expires >= today:
                out.append(FutureContract(prod, month, year, expires))
        month += 1
        if month > 12:
            year, month = year + 1, 1
    return out


def expired_on(symbol: str, today: dt.date) -> dt.date | None:
    """When the contract a symbol names expired, if it is a month its product lists and it
    expired before `today` (a one-digit year is the nearest decade's, at most 5 years
    ahead: "/ESH5" in 2026 is March 2025); None for anything else."""
    match = _CONTRACT_RE.match(symbol)
    prod = product(match.group(1)) if match else None
    if match is None or prod is None or match.group(2) not in prod.months:
        return None
    digits = int(match.group(3))
    if len(match.group(3)) == 1:
        year = today.year - today.year % 10 + digits
        year -= 10 if year > today.year + 5 else 0
    else:
        year = today.year - today.year % 100 + digits
    expiry = expires_on(match.group(2), year)
    return expiry if expiry < today else None


def contract(symbol: str, today: dt.date) -> FutureContract | None:
    """The listed contract a symbol names ("/ESZ6", "ESZ6", "/ESZ26:XCME"), if any."""
    match = _CONTRACT_RE.match(symbol)
    if match is None:
        return None
    prod = product(match.group(1))
    if prod is None:
        return None
    for listed in contracts(prod, today):
        digits = match.group(3)
        year_ok = int(digits) == (listed.year % 10 if len(digits) == 1 else listed.year % 100)
        if listed.month_code == match.group(2) and year_ok:
            return listed
    return None
