"""One instrument: what it is, how each place spells it, what it is worth, how it trades.

The contract names every instrument by its **feed symbol**, the key of its quote:
`AAPL`, `.SPY270115C590`, `/ESZ26:XCME`, `./ESZ26C6000:XCME`, `BTC/USD:CXTALP`. Its price
is that quote, whatever page asks (the position's mark, the ticket, risk, the chart, an
alert): one instrument, one price. Each broker spells it its own way (`broker_symbol`),
a trader reads its `display` name. Pure, no I/O.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType

from streaming.instruments import futures
from streaming.instruments.kinds import Kind
from streaming.instruments.symbols import (
    CRYPTO_USD_RE,
    EQUITY_RE,
    OPTION_OCC_RE,
    OPTION_STREAMER_RE,
    occ_to_streamer_symbol,
    option_date,
    streamer_to_occ_symbol,
)

CENT = Decimal("0.01")
NICKEL = Decimal("0.05")
SUB_PENNY = Decimal("0.0001")
#: Underlyings whose options trade in pennies at every price (the penny pilot's ETFs).
PENNY_EVERYWHERE = frozenset({"SPY", "QQQ", "IWM"})
#: Contracts per equity option.
OPTION_SIZE = Decimal(100)
#: The crypto venue of tastytrade's feed: a coin against the dollar, `BTC/USD:CXTALP`.
COIN_VENUE = "CXTALP"
MONTHS = futures.MONTH_NAMES

#: The brokers whose market data quotes each kind (the quote source's, or the coin feed's).
QUOTED_BY: Mapping[Kind, frozenset[str]] = MappingProxyType(
    {
        Kind.EQUITY: frozenset({"tastytrade", "tradier"}),
        Kind.EQUITY_OPTION: frozenset({"tastytrade", "tradier"}),
        Kind.FUTURE: frozenset({"tastytrade"}),
        Kind.FUTURE_OPTION: frozenset({"tastytrade"}),
        Kind.CRYPTO: frozenset({"tastytrade", "alpaca"}),
    }
)


@dataclass(frozen=True, slots=True)
class Hours:
    """When the instrument trades, in words and as a rule (New York time)."""

    words: str
    around_the_clock: bool = False


EQUITY_HOURS = Hours("Mon-Fri 9:30-16:00 ET (extended 4:00-20:00)")
FUTURES_HOURS = Hours("Sun-Fri 18:00-17:00 ET")
CRYPTO_HOURS = Hours("around the clock, every day", around_the_clock=True)


@dataclass(frozen=True, slots=True)
class Instrument:
    kind: Kind
    #: The contract's symbol: the feed symbol, the quote's key.
    symbol: str
    #: The contract symbol of what it derives from (an option's underlying, a future
    #: option's future); itself for a stock, a future and a coin.
    underlying: str
    display: str
    #: Dollars per point of its price per unit held (100 an equity option; a future's
    #: and its options' point value; 1 otherwise). None: not known (an unlisted future).
    multiplier: Decimal | None
    #: Ticker, option root, future product (`/ES`) or coin (`BTC`).
    root: str
    expires: dt.date | None = None
    strike: Decimal | None = None
    right: str | None = None
    #: What the brokers call it, where the rule does not give it (a future option's REST
    #: symbol, read from a position): broker → its symbol.
    spelled: Mapping[str, str] = field(default_factory=dict)

    # -- how each place names it ---------------------------------------------------------
    def broker_symbol(self, broker: str) -> str | None:
        """How `broker` spells it in an order (None: it cannot be told from here)."""
        if broker in self.spelled:
            return self.spelled[broker]
        if self.kind is Kind.EQUITY:
            return self.symbol
        if self.kind is Kind.EQUITY_OPTION:
            occ = streamer_to_occ_symbol(self.symbol)
            if occ is None or broker != "tastytrade":
                return occ
            match = OPTION_OCC_RE.match(occ)
            return f"{match[1]:<6}{occ[len(match[1]) :]}" if match else None
        if self.kind is Kind.CRYPTO:
            return f"{self.root}/USD"  # tastytrade's and Alpaca's orders both say BTC/USD
        return None  # a future's or future option's REST symbol: read, or from its parse

    @property
    def kept_symbol(self) -> str:
        """The spelling an order keeps, so that reading it again finds this instrument with
        every broker's spelling: the contract symbol, but for an option on a future, whose
        REST symbol its feed symbol does not carry: that (a ticket of one not held would
        otherwise lose how tastytrade names it between the preview and the place)."""
        if self.kind is Kind.FUTURE_OPTION and "tastytrade" in self.spelled:
            return self.spelled["tastytrade"]
        return self.symbol

    @property
    def quoted_by(self) -> frozenset[str]:
        """The brokers whose market data quotes it."""
        return QUOTED_BY[self.kind]

    @property
    def hours(self) -> Hours:
        if self.kind is Kind.CRYPTO:
            return CRYPTO_HOURS
        if self.kind in (Kind.FUTURE, Kind.FUTURE_OPTION):
            return FUTURES_HOURS
        return EQUITY_HOURS

    # -- its price grid ------------------------------------------------------------------
    def tick(self, price: Decimal) -> Decimal | None:
        """The tick its price moves in at `price` (None: not known here)."""
        if self.kind is Kind.EQUITY_OPTION:
            return CENT if self.root in PENNY_EVERYWHERE or price < 3 else NICKEL
        if self.kind is Kind.FUTURE:
            product = futures.PRODUCTS.get(self.root.lstrip("/"))
            return product.tick if product else None
        if self.kind is Kind.FUTURE_OPTION:
            return futures.option_tick(futures.PRODUCTS.get(self.root.lstrip("/")), price)
        return CENT if price >= 1 else SUB_PENNY  # stock and coins


# -- reading a symbol ------------------------------------------------------------------------
def parse(symbol: str, *, near: int | None = None) -> Instrument | None:
    """The instrument a symbol names, in any spelling that names one thing: the contract's
    (the feed symbols), an OCC option (padded or not), a coin pair (`BTC/USD`), a future's
    or future option's REST symbol (`/ESZ6`, `./ESZ6 ESZ6 261218C6000`). `BTCUSD` is a
    ticker here (only a position at a broker that says it is a coin makes it one:
    `from_position`). None: not a symbol. Expects an upper-case ASCII symbol."""
    year = near if near is not None else dt.date.today().year
    if symbol.startswith("./"):
        return _future_option(futures.parse_future_option(symbol), symbol)
    if symbol.startswith("/"):
        return _future(futures.parse_future(symbol, near=year))
    if symbol.startswith("."):
        return _equity_option(symbol)
    coin = _coin_root(symbol)
    if coin is not None:
        return coin_instrument(coin)
    if EQUITY_RE.match(symbol):
        return Instrument(Kind.EQUITY, symbol, symbol, symbol, Decimal(1), symbol)
    option = occ_to_streamer_symbol(symbol)
    return _equity_option(option) if option else None


def _coin_root(symbol: str) -> str | None:
    """`BTC/USD` or `BTC/USD:CXTALP` → `BTC` (a coin against the dollar, said with the
    slash: `BTCUSD` is a ticker until a broker says otherwise)."""
    text = symbol.removesuffix(f":{COIN_VENUE}")
    if "/" not in text:
        return None
    match = CRYPTO_USD_RE.match(text)
    return match[1] if match else None


def coin_instrument(coin: str) -> Instrument:
    pair = f"{coin}/USD"
    return Instrument(
        Kind.CRYPTO, f"{pair}:{COIN_VENUE}", f"{pair}:{COIN_VENUE}", pair, Decimal(1), coin
    )


def _equity_option(symbol: str) -> Instrument | None:
    match = OPTION_STREAMER_RE.match(symbol)
    if match is None or streamer_to_occ_symbol(symbol) is None:
        return None
    root, yymmdd, right, strike = match.groups()
    day = option_date(yymmdd)
    if day is None:
        return None
    display = f"{root} {day.day} {MONTHS[day.month - 1]} {day.year % 100:02d} {strike} {right}"
    return Instrument(
        Kind.EQUITY_OPTION,
        symbol,
        root,
        display,
        OPTION_SIZE,
        root,
        expires=day,
        strike=Decimal(strike),
        right=right,
    )


def _future(contract: futures.Contract | None) -> Instrument | None:
    if contract is None or contract.feed_symbol is None:
        return None
    product = contract.product
    return Instrument(
        Kind.FUTURE,
        contract.feed_symbol,
        contract.feed_symbol,
        contract.display,
        product.point_value if product else None,
        f"/{contract.code}",
        spelled={"tastytrade": contract.rest_symbol},
    )


def _future_option(option: futures.OptionOnFuture | None, symbol: str) -> Instrument | None:
    feed = option.feed_symbol if option else None
    if option is None or feed is None:
        return None
    future = option.future
    underlying = future.feed_symbol if future else None
    spelled = {"tastytrade": symbol} if " " in symbol else {}  # the REST symbol, as read
    product = future.product if future else None
    return Instrument(
        Kind.FUTURE_OPTION,
        feed,
        underlying or feed,
        option.display,
        product.point_value if product else None,
        f"/{future.code}" if future else option.option_code,
        expires=option.expires,
        strike=option.strike,
        right=option.right,
        spelled=spelled,
    )
