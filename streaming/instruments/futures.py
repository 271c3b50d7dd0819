"""Futures and options on them: the products, and the symbols the brokers spell them with.

tastytrade names a future `/ESZ6` on REST (the product, the month's code, the year's last
digit) and `/ESZ26:XCME` on DXLink (two-digit year, the exchange's code); an option on it
`./ESZ6 ESZ6 261218C6000` on REST (the future, the option's contract code, its
expiration, right and strike) and `./ESZ26C6000:XCME` on DXLink (developer.tastytrade.com,
"tastytrade Symbology"). A position's feed symbol is always read from the broker's
instruments endpoints; these rules only read the symbols (and spell a feed symbol for a
listed product, where a script names a future by its REST symbol).

`PRODUCTS`: the CME Group products a trader meets, with the exchange's code, the point's
worth (dollars per point of the price: the contract's multiplier) and the tick, from CME
Group's contract specifications. A product not listed here is still shown and valued with
the broker's multiplier; it is traded where the broker says its tick.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal

MONTH_CODES = "FGHJKMNQUVXZ"
MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass(frozen=True, slots=True)
class Product:
    code: str  # "ES"
    venue: str  # the feed's exchange code: "XCME"
    point_value: Decimal  # dollars per point
    tick: Decimal
    #: Options on it move in `option_tick` from 5.00 of premium, in `option_small_tick`
    #: below (the equity index products); None: in the future's own tick.
    option_tick: Decimal | None = None
    option_small_tick: Decimal | None = None


def _p(code: str, venue: str, point: str, tick: str, *option_ticks: str) -> Product:
    ticks = tuple(Decimal(t) for t in option_ticks) or (None, None)
    return Product(code, venue, Decimal(point), Decimal(tick), ticks[0], ticks[1])


PRODUCTS: dict[str, Product] = {
    p.code: p
    for p in (
        _p("ES", "XCME", "50", "0.25", "0.25", "0.05"),
        _p("MES", "XCME", "5", "0.25", "0.25", "0.05"),
        _p("NQ", "XCME", "20", "0.25", "0.25", "0.05"),
        _p("MNQ", "XCME", "2", "0.25", "0.25", "0.05"),
        _p("RTY", "XCME", "50", "0.1"),
        _p("M2K", "XCME", "5", "0.1"),
        _p("YM", "XCBT", "5", "1"),
        _p("MYM", "XCBT", "0.5", "1"),
        _p("CL", "XNYM", "1000", "0.01"),
        _p("MCL", "XNYM", "100", "0.01"),
        _p("NG", "XNYM", "10000", "0.001"),
        _p("GC", "XCEC", "100", "0.1"),
        _p("MGC", "XCEC", "10", "0.1"),
        _p("SI", "XCEC", "5000", "0.005"),
        _p("HG", "XCEC", "25000", "0.0005"),
        _p("ZB", "XCBT", "1000", "0.03125"),
        _p("ZN", "XCBT", "1000", "0.015625"),
        _p("ZF", "XCBT", "1000", "0.0078125"),
        _p("ZC", "XCBT", "50", "0.25"),
        _p("ZS", "XCBT", "50", "0.25"),
        _p("ZW", "XCBT", "50", "0.25"),
        _p("6E", "XCME", "125000", "0.00005"),
        _p("6B", "XCME", "62500", "0.0001"),
    )
}

# ASCII only (re.ASCII; `[0-9]`, never `\d`). A product code is the shortest run before a
# month code that a year follows (`/ZNZ6` is ZN, not Z + N).
_CODE = r"([A-Z0-9]{1,6}?)([FGHJKMNQUVXZ])"
FUTURE_REST_RE = re.compile(rf"^/{_CODE}([0-9]{{1,2}})$", re.ASCII)
FUTURE_FEED_RE = re.compile(rf"^/{_CODE}([0-9]{{2}}):([A-Z]{{2,6}})$", re.ASCII)
_STRIKE = r"([0-9]+(?:\.[0-9]+)?)"
FUTURE_OPTION_REST_RE = re.compile(
    rf"^\./{_CODE}([0-9]{{1,2}}) +([A-Z0-9]{{1,6}}?)([FGHJKMNQUVXZ])([0-9]{{1,2}}) +"
    rf"([0-9]{{6}})([CP]){_STRIKE}$",
    re.ASCII,
)
FUTURE_OPTION_FEED_RE = re.compile(
    rf"^\./([A-Z0-9]{{1,8}}?)([FGHJKMNQUVXZ])([0-9]{{2}})([CP]){_STRIKE}:([A-Z]{{2,6}})$",
    re.ASCII,
)


@dataclass(frozen=True, slots=True)
class Contract:
    """One future: its product's code, month (1-12) and year, and the feed's exchange."""

    code: str
    month: int
    year: int
    venue: str | None

    @property
    def month_code(self) -> str:
        return MONTH_CODES[self.month - 1]

    @property
    def rest_symbol(self) -> str:
        return f"/{self.code}{self.month_code}{self.year % 10}"

    @property
    def feed_symbol(self) -> str | None:
        """`/ESZ26:XCME`, or None when the exchange is not known."""
        if self.venue is None:
            return None
        return f"/{self.code}{self.month_code}{self.year % 100:02d}:{self.venue}"

    @property
    def display(self) -> str:
        """`/ES Dec 26`."""
        return f"/{self.code} {MONTH_NAMES[self.month - 1]} {self.year % 100:02d}"

    @property
    def product(self) -> Product | None:
        return PRODUCTS.get(self.code)


@dataclass(frozen=True, slots=True)
class OptionOnFuture:
    """An option on a future: the future, its own contract code (the quarterly's is the
    future's; a weekly's is another, `EW3U6`), expiration (None when only the feed symbol
    is known, which does not carry it), right and strike."""

    future: Contract | None
    #: The option's contract code without its year (`ES` + `Z`, `EW3` + `U`) and the year.
    option_code: str
    option_year: int
    expires: dt.date | None
    right: str
    strike: Decimal
    venue: str | None

    @property
    def feed_symbol(self) -> str | None:
        """`./ESZ26C6000:XCME` (None when the exchange is not known)."""
        if self.venue is None:
            return None
        strike = format(self.strike.normalize(), "f")
        return f"./{self.option_code}{self.option_year % 100:02d}{self.right}{strike}:{self.venue}"

    @property
    def display(self) -> str:
        """`/ES Dec 26 6000 C`; a weekly adds its own expiration (`… 9100 P 18 Sep`)."""
        strike = format(self.strike.normalize(), "f")
        base = self.future.display if self.future else self.option_code
        text = f"{base} {strike} {self.right}"
        weekly = self.future is not None and self.option_code != (
            f"{self.future.code}{self.future.month_code}"
        )
        if weekly and self.expires is not None:
            text += f" {self.expires.day} {MONTH_NAMES[self.expires.month - 1]}"
        return text


def _year(digits: str, near: int) -> int:
    """A one- or two-digit year as a full year: two digits are 20YY; one digit the year
    ending in it from `near` - 1 on (a future is listed up to a few years ahead)."""
    if len(digits) == 2:
        return 2000 + int(digits)
    year = near - 1 + (int(digits) - (near - 1)) % 10
    return year


def _venue(code: str, venue: str | None) -> str | None:
    if venue is not None:
        return venue
    product = PRODUCTS.get(code)
    return product.venue if product else None


def parse_future(symbol: str, *, near: int) -> Contract | None:
    """`/ESZ6` or `/ESZ26:XCME` (or `/ESZ26`); `near`: the year a one-digit year is near."""
    feed = FUTURE_FEED_RE.match(symbol)
    if feed:
        code, month, year, venue = feed.groups()
        return Contract(code, MONTH_CODES.index(month) + 1, 2000 + int(year), venue)
    rest = FUTURE_REST_RE.match(symbol)
    if rest is None:
        return None
    code, month, year = rest.groups()
    return Contract(code, MONTH_CODES.index(month) + 1, _year(year, near), _venue(code, None))


def parse_future_option(symbol: str) -> OptionOnFuture | None:
    """`./ESZ6 ESZ6 261218C6000` (REST) or `./ESZ26C6000:XCME` (the feed's)."""
    rest = FUTURE_OPTION_REST_RE.match(symbol)
    if rest:
        code, month, fyear, ocode, omonth, oyear, yymmdd, right, strike = rest.groups()
        expires = _date(yymmdd)
        if expires is None or Decimal(strike) <= 0:
            return None
        future = Contract(
            code, MONTH_CODES.index(month) + 1, _year(fyear, expires.year), _venue(code, None)
        )
        return OptionOnFuture(
            future,
            f"{ocode}{omonth}",
            _year(oyear, expires.year),
            expires,
            right,
            Decimal(strike),
            future.venue,
        )
    feed = FUTURE_OPTION_FEED_RE.match(symbol)
    if feed is None:
        return None
    ocode, omonth, oyear, right, strike, venue = feed.groups()
    if Decimal(strike) <= 0:
        return None
    # the quarterly's option code is its future's: the feed symbol then names the future
    future = Contract(ocode, MONTH_CODES.index(omonth) + 1, 2000 + int(oyear), venue)
    known = future if ocode in PRODUCTS else None
    return OptionOnFuture(
        known, f"{ocode}{omonth}", 2000 + int(oyear), None, right, Decimal(strike), venue
    )


def _date(yymmdd: str) -> dt.date | None:
    try:
        return dt.date(2000 + int(yymmdd[:2]), int(yymmdd[2:4]), int(yymmdd[4:6]))
    except ValueError:
        return None


def option_tick(product: Product | None, price: Decimal) -> Decimal | None:
    """The tick of an option on `product`'s future at this premium (None: unknown)."""
    if product is None:
        return None
    if product.option_tick is None or product.option_small_tick is None:
        return product.tick
    return product.option_small_tick if price < 5 else product.option_tick
