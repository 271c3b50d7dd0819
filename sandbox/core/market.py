"""The sandbox's simulated market: a seeded random walk that feeds the fake DXLink server.

One :class:`Market` is shared by every sandbox session.  The DXLink server registers
the symbols clients subscribe to (:meth:`Market.ensure`), advances prices
(:meth:`Market.tick`) and asks for events as plain dicts keyed by the dxFeed field
names in :data:`EVENT_FIELDS`.  Everything is a function of the seed, the sequence of
calls and the clock, so tests can replay a market exactly.

Design notes:

* Underlyings (equities, indices, futures) hold state and random-walk one simulated
  second per tick.  Each has its own ``random.Random`` seeded from ``(seed, symbol)``,
  so registration order never changes a path.
* Options hold no random state: their quote is Black-Scholes on the underlying's mid,
  recomputed lazily when the underlying has moved (or the clock has crossed a second).
* Candle series keep the live candle and the candles closed while registered; older
  history is synthesized backwards, deterministically, from the oldest known open.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import math
import random
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sandbox.core.pricing import Greeks, bs_greeks
from sandbox.core.symbols import (
    CandleSymbol,
    OptionSymbol,
    classify,
    future_root,
    parse_candle_symbol,
    parse_option_streamer_symbol,
)
from sandbox.core.trading_calendar import previous_trading_day

__all__ = [
    "CANDLE_HISTORY_CAP",
    "EVENT_FIELDS",
    "RISK_FREE_RATE",
    "SALES_CAP",
    "SNAPSHOT_BEGIN",
    "SNAPSHOT_END",
    "Market",
    "candle_index",
    "instrument_kind",
    "named_symbols",
    "option_underlying",
]

logger = logging.getLogger(__name__)

_FIELD_NAMES = {
    "Quote": (
        "eventSymbol eventTime sequence timeNanoPart bidTime bidExchangeCode askTime "
        "askExchangeCode bidPrice askPrice bidSize askSize"
    ),
    "Greeks": (
        "eventSymbol eventTime eventFlags index time sequence price volatility delta gamma "
        "theta rho vega"
    ),
    "Trade": (
        "eventSymbol eventTime time timeNanoPart sequence exchangeCode dayId tickDirection "
        "extendedTradingHours price change size dayVolume dayTurnover"
    ),
    "Summary": (
        "eventSymbol eventTime dayId dayClosePriceType prevDayId prevDayClosePriceType "
        "openInterest dayOpenPrice dayHighPrice dayLowPrice dayClosePrice prevDayClosePrice "
        "prevDayVolume"
    ),
    "Candle": (
        "eventSymbol eventTime eventFlags index time sequence count volume vwap bidVolume "
        "askVolume impVolatility openInterest open high low close"
    ),
    "TheoPrice": (
        "eventSymbol eventTime eventFlags index time sequence price underlyingPrice delta "
        "gamma dividend interest"
    ),
    "TimeAndSale": (
        "eventSymbol eventTime eventFlags index time timeNanoPart sequence exchangeCode price "
        "size bidPrice askPrice tradeThroughExempt aggressorSide spreadLeg extendedTradingHours "
        "validTick type buyer seller exchangeSaleConditions"
    ),
    "Profile": (
        "eventSymbol eventTime description shortSaleRestriction tradingStatus haltStartTime "
        "haltEndTime exDividendDayId statusReason high52WeekPrice low52WeekPrice beta shares "
        "highLimitPrice lowLimitPrice earningsPerShare exDividendAmount dividendFrequency "
        "freeFloat"
    ),
}
#: Field names, in the SDK's order, of every event type the market produces.
EVENT_FIELDS: dict[str, tuple[str, ...]] = {k: tuple(v.split()) for k, v in _FIELD_NAMES.items()}

RISK_FREE_RATE = 0.045
#: dxFeed IndexedEvent flags used on candle snapshots.
SNAPSHOT_BEGIN = 0x4
SNAPSHOT_END = 0x8
#: Closed candles remembered per candle symbol; older ones are synthesized.
CANDLE_HISTORY_CAP = 2000
#: Trades remembered per symbol for TimeAndSale (live catch-up and fromTime snapshots).
SALES_CAP = 1000

_TRADING_SECONDS_PER_YEAR = 252 * 6.5 * 3600
_TICK_DT = 1.0 / _TRADING_SECONDS_PER_YEAR  # one tick = one simulated trading second
_SESSION_SECONDS = 6.5 * 3600
_DAY_MS = 86_400_000
_EPOCH_DATE = dt.date(1970, 1, 1)
_YEAR_MS = 365.0 * _DAY_MS
_SEQ_MASK = (1 << 22) - 1  # dxFeed sequences are 22 bits (they share `index` with time)
_TRADE_PROBABILITY = 0.4  # per underlying tick
_OPTION_TRADE_PROBABILITY = 0.25  # per option re-pricing
_OPTION_SPREAD = 0.03  # fraction of the theoretical price
_MASK64 = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15

# symbol -> (start price, annualized vol, description)
_KNOWN: dict[str, tuple[float, float, str]] = {
    "SPY": (590.0, 0.15, "SPDR S&P 500 ETF Trust"),
    "QQQ": (510.0, 0.20, "Invesco QQQ Trust, Series 1"),
    "IWM": (225.0, 0.22, "iShares Russell 2000 ETF"),
    "DIA": (430.0, 0.14, "SPDR Dow Jones Industrial Average ETF Trust"),
    "VOO": (542.0, 0.15, "Vanguard S&P 500 ETF"),
    "VTI": (290.0, 0.16, "Vanguard Total Stock Market ETF"),
    "SCHD": (28.0, 0.13, "Schwab U.S. Dividend Equity ETF"),
    "VXUS": (61.0, 0.15, "Vanguard Total International Stock ETF"),
    "BND": (72.0, 0.06, "Vanguard Total Bond Market ETF"),
    "AAPL": (243.0, 0.25, "Apple Inc. - Common Stock"),
    "MSFT": (420.0, 0.24, "Microsoft Corporation - Common Stock"),
    "NVDA": (135.0, 0.50, "NVIDIA Corporation - Common Stock"),
    "TSLA": (400.0, 0.60, "Tesla, Inc. - Common Stock"),
    "AMZN": (220.0, 0.30, "Amazon.com, Inc. - Common Stock"),
    "META": (600.0, 0.35, "Meta Platforms, Inc. - Class A Common Stock"),
    "GOOGL": (190.0, 0.30, "Alphabet Inc. - Class A Common Stock"),
    "GOOG": (191.0, 0.30, "Alphabet Inc. - Class C Capital Stock"),
    "AMD": (125.0, 0.50, "Advanced Micro Devices, Inc. - Common Stock"),
    "SPX": (5900.0, 0.15, "S&P 500 Index"),
    "XSP": (590.0, 0.15, "Mini-SPX Index"),
    "NDX": (21000.0, 0.20, "Nasdaq-100 Index"),
    "RUT": (2250.0, 0.22, "Russell 2000 Index"),
    "VIX": (16.0, 0.90, "CBOE Volatility Index"),
    "/ES": (5900.0, 0.15, "E-mini S&P 500 Futures"),
    "/MES": (5900.0, 0.15, "Micro E-mini S&P 500 Futures"),
    "/NQ": (21000.0, 0.20, "E-mini Nasdaq-100 Futures"),
    "/MNQ": (21000.0, 0.20, "Micro E-mini Nasdaq-100 Futures"),
    "/RTY": (2250.0, 0.22, "E-mini Russell 2000 Futures"),
    "/YM": (43000.0, 0.14, "E-mini Dow Futures"),
    "/CL": (70.0, 0.35, "Crude Oil Futures"),
    "/GC": (2650.0, 0.15, "Gold Futures"),
    "/SI": (30.0, 0.28, "Silver Futures"),
    "/NG": (3.2, 0.60, "Natural Gas Futures"),
    "/ZB": (118.0, 0.10, "30-Year U.S. Treasury Bond Futures"),
    "/ZN": (109.0, 0.06, "10-Year U.S. Treasury Note Futures"),
    "/6E": (1.04, 0.08, "Euro FX Futures"),
}
_INDICES = frozenset({"SPX", "XSP", "NDX", "RUT", "VIX", "DJX"})
_ETFS = frozenset({"SPY", "QQQ", "IWM", "DIA", "VOO", "VTI", "SCHD", "VXUS", "BND"})
_UNIT_BETA = frozenset({"SPY", "SPX", "XSP", "/ES", "/MES"})
# Option roots whose underlying has another symbol.
_ROOT_ALIASES = {"SPXW": "SPX", "NDXP": "NDX", "RUTW": "RUT", "VIXW": "VIX", "XSPW": "XSP"}

try:
    _NEW_YORK: dt.tzinfo = ZoneInfo("America/New_York")
except ZoneInfoNotFoundError:  # pragma: no cover - no tz database: EST all year
    _NEW_YORK = dt.timezone(dt.timedelta(hours=-5))


# ---------------------------------------------------------------- deterministic hashing


def _stable_hash(text: str) -> int:
    """A 64-bit hash that, unlike ``hash()``, is the same in every process."""
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")


def _mix64(x: int) -> int:
    """The splitmix64 finalizer: scrambles a 64-bit int."""
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK64
    return x ^ (x >> 31)


def _hash_units(key: int, n: int) -> list[float]:
    """``n`` uniforms in [0, 1) that depend only on ``key`` (a splitmix64 stream)."""
    out = []
    x = key & _MASK64
    for _ in range(n):
        x = (x + _GOLDEN) & _MASK64
        out.append((_mix64(x) >> 11) * (1.0 / (1 << 53)))
    return out


def _normal(u1: float, u2: float) -> float:
    """Box-Muller: one standard normal from two uniforms."""
    return math.sqrt(-2.0 * math.log(1.0 - u1)) * math.cos(2.0 * math.pi * u2)


# ----------------------------------------------------------------------------- helpers


def candle_index(time_ms: int, sequence: int = 0) -> int:
    """dxFeed's time-series ``index``: seconds, milliseconds and sequence packed in 64 bits."""
    return ((time_ms // 1000) << 32) | ((time_ms % 1000) << 22) | (sequence & _SEQ_MASK)


def _prev_trading_day(day_id: int) -> int:
    """The NYSE trading day before ``day_id`` (days since 1970-01-01): weekends and the
    calendar's holidays skipped, so ``prevDayId`` (and every previous-close date the
    façades derive from it) never names a day the market was closed."""
    day = _EPOCH_DATE + dt.timedelta(days=day_id)
    return (previous_trading_day(day) - _EPOCH_DATE).days


def _cents(price: float) -> int:
    return max(1, round(price * 100.0))


def _expiry_ms(expiry: dt.date) -> int:
    """Options stop trading at 16:00 New York time on the expiry date."""
    close = dt.datetime.combine(expiry, dt.time(16, 0), tzinfo=_NEW_YORK)
    return int(close.timestamp() * 1000)


def _smile_vol(base_vol: float, spot: float, strike: float) -> float:
    """A mild skewed smile: puts (low strikes) richer, wings a little richer."""
    m = max(-1.0, min(1.0, math.log(strike / spot)))
    return max(0.05, base_vol * (1.0 - 0.4 * m + 1.2 * m * m))


def instrument_kind(symbol: str) -> str | None:
    """What a ticker is in the simulated market: "index", "etf", "stock" or "future";
    None if the market would not quote it."""
    kind = classify(symbol)
    if kind == "future":
        return "future"
    if kind != "equity":
        return None
    if symbol in _INDICES:
        return "index"
    return "etf" if symbol in _ETFS else "stock"


def named_symbols() -> dict[str, str]:
    """The tickers the market knows by name, with their descriptions (any other valid
    ticker is quoted too, at a made-up price: these are the ones it lists and searches)."""
    return {symbol: known[2] for symbol, known in _KNOWN.items()}


def option_underlying(root: str) -> str:
    """The underlying an option root settles on ("SPXW" -> "SPX"; most roots are their own)."""
    return _ROOT_ALIASES.get(root, root)


# ------------------------------------------------------------------------------ state

# One trade kept for TimeAndSale: (time ms, sequence, price c, size, bid c, ask c, at ask)
_Sale = tuple[int, int, int, int, int, int, bool]

_NO_GREEKS = Greeks(0.0, 0.0, 0.0, 0.0, 0.0, 0.0)


@dataclass(slots=True, eq=False)
class _Underlying:
    symbol: str
    kind: str  # "equity" | "future"
    rng: random.Random
    price: float  # the unrounded walking price
    vol: float
    step: float
    drift: float
    lot: int
    exchange: str
    description: str
    start_c: int
    beta: float | None
    shares: float | None
    version: int = 0
    quote_time: int = 0
    bid_c: int = 0
    ask_c: int = 0
    bid_size: int = 0
    ask_size: int = 0
    last_c: int = 0
    last_size: int | None = None
    trade_time: int = 0
    trade_seq: int = 0
    tick_dir: str = "UNDEFINED"
    last_up: bool | None = None
    day_id: int = 0
    day_open_c: int = 0
    day_high_c: int = 0
    day_low_c: int = 0
    day_volume: int = 0
    day_turnover: float = 0.0
    prev_close_c: int = 0
    prev_volume: int = 0
    dependents: list[str] = field(default_factory=list)
    candles: list[_CandleSeries] = field(default_factory=list)
    last_sale: _Sale | None = None
    sales: deque[_Sale] | None = None  # kept once someone asks (keep_sales)

    def requote(self) -> None:
        """Spread of 1-3 bp, at least one cent; bid < ask by construction."""
        rng = self.rng
        mid_c = self.price * 100.0
        spread_c = max(1, round(mid_c * (1.0 + 2.0 * rng.random()) * 1e-4))
        bid_c = max(1, math.floor(mid_c - spread_c / 2.0 + 0.5))
        self.bid_c = bid_c
        self.ask_c = bid_c + spread_c
        self.bid_size = (1 + int(rng.random() * 20)) * self.lot
        self.ask_size = (1 + int(rng.random() * 20)) * self.lot

    def roll_day(self, day_id: int) -> None:
        self.prev_close_c = self.last_c
        self.prev_volume = self.day_volume
        self.day_open_c = self.day_high_c = self.day_low_c = self.last_c
        self.day_volume = 0
        self.day_turnover = 0.0
        self.day_id = day_id


@dataclass(slots=True, eq=False)
class _Option:
    symbol: str
    spec: OptionSymbol
    under: _Underlying
    key: int
    strike: float
    right: str
    expiry_ms: int
    description: str
    cache_key: tuple[int, int] = (-1, -1)
    greeks: Greeks = _NO_GREEKS
    iv: float = 0.0
    spot: float = 0.0
    bid_c: int = 0
    ask_c: int = 0
    bid_size: int = 0
    ask_size: int = 0
    synced_version: int = -1
    last_c: int = 0
    last_size: int | None = None
    trade_time: int = 0
    trade_seq: int = 0
    tick_dir: str = "UNDEFINED"
    last_up: bool | None = None
    day_id: int = 0
    day_open_c: int = 0
    day_high_c: int = 0
    day_low_c: int = 0
    day_volume: int = 0
    day_turnover: float = 0.0
    prev_close_c: int = 0
    prev_volume: int = 0
    open_interest: int = 0
    last_sale: _Sale | None = None
    sales: deque[_Sale] | None = None  # kept once someone asks (keep_sales)


# A closed candle: (start, open, high, low, close, volume, turnover, bid vol, ask vol, count)
_Row = tuple[int, int, int, int, int, int, float, int, int, int]


@dataclass(slots=True, eq=False)
class _CandleSeries:
    symbol: str
    spec: CandleSymbol
    under: _Underlying
    width: int
    key: int
    sd: float  # log-return standard deviation of one candle
    base_volume: float
    start: int = 0
    open_c: int = 0
    high_c: int = 0
    low_c: int = 0
    close_c: int = 0
    volume: int = 0
    turnover: float = 0.0
    bid_volume: int = 0
    ask_volume: int = 0
    count: int = 0
    done: deque[_Row] = field(default_factory=lambda: deque(maxlen=CANDLE_HISTORY_CAP))

    def row(self) -> _Row:
        return (
            self.start,
            self.open_c,
            self.high_c,
            self.low_c,
            self.close_c,
            self.volume,
            self.turnover,
            self.bid_volume,
            self.ask_volume,
            self.count,
        )

    def _reset(self, start: int, price_c: int) -> None:
        self.start = start
        self.open_c = self.high_c = self.low_c = self.close_c = price_c
        self.volume = self.bid_volume = self.ask_volume = self.count = 0
        self.turnover = 0.0

    def roll(self, now_ms: int) -> None:
        """Close the live candle (and flat-fill idle slots) once the clock passes it."""
        w = self.width
        if now_ms < self.start + w:
            return
        new_start = now_ms - now_ms % w
        price_c = self.under.last_c
        gap = (new_start - self.start) // w - 1  # idle slots between old and new candle
        if gap >= CANDLE_HISTORY_CAP:
            self.done.clear()
            first = new_start - CANDLE_HISTORY_CAP * w
        else:
            self.done.append(self.row())
            first = self.start + w
        for t in range(first, new_start, w):
            self.done.append((t, price_c, price_c, price_c, price_c, 0, 0.0, 0, 0, 0))
        self._reset(new_start, price_c)

    def on_trade(self, now_ms: int, price_c: int, size: int, at_ask: bool) -> None:
        if now_ms >= self.start + self.width:
            self.roll(now_ms)
        if price_c > self.high_c:
            self.high_c = price_c
        if price_c < self.low_c:
            self.low_c = price_c
        self.close_c = price_c
        self.volume += size
        self.turnover += price_c * size / 100.0
        if at_ask:
            self.ask_volume += size
        else:
            self.bid_volume += size
        self.count += 1

    def synthetic(self, start: int, close_c: int) -> _Row:
        """A made-up candle at ``start`` whose close is ``close_c``; pure in its inputs."""
        u1, u2, u3, u4, u5, u6 = _hash_units(self.key ^ _mix64(start & _MASK64), 6)
        sd = self.sd
        open_c = max(1, round(close_c * math.exp(sd * _normal(u1, u2))))
        hi = max(open_c, close_c)
        lo = min(open_c, close_c)
        high_c = max(hi, math.ceil(hi * math.exp(0.5 * sd * u3)))
        low_c = max(1, min(lo, math.floor(lo * math.exp(-0.5 * sd * u4))))
        volume = int(self.base_volume * (0.5 + u5))
        bid_volume = int(volume * u6)
        count = 0 if volume == 0 else max(1, volume // (2 * self.under.lot))
        vwap_c = (open_c + high_c + low_c + close_c) / 4.0
        return (
            start,
            open_c,
            high_c,
            low_c,
            close_c,
            volume,
            vwap_c * volume / 100.0,
            bid_volume,
            volume - bid_volume,
            count,
        )


# ----------------------------------------------------------------------------- market


class Market:
    """Seeded random-walk market shared by every sandbox session.

    Event methods (:meth:`quote`, :meth:`trade`, ...) raise ``KeyError`` for a symbol
    that is not registered or that the event does not apply to (e.g. :meth:`greeks`
    on an equity); :meth:`event` returns ``None`` in those cases instead.
    """

    def __init__(self, seed: int = 7, clock: Callable[[], float] = time.time) -> None:
        self._seed = seed
        self._clock = clock
        self._known: dict[str, _Underlying | _Option | _CandleSeries] = {}
        self._order: list[_Underlying] = []  # sorted by symbol: round-robin order
        self._cursor = 0
        self._symbols: frozenset[str] | None = frozenset()
        self._dispatch: dict[str, Callable[[str], dict[str, Any]]] = {
            "Quote": self.quote,
            "Trade": self.trade,
            "Summary": self.summary,
            "Profile": self.profile,
            "Greeks": self.greeks,
            "TheoPrice": self.theo_price,
            "Candle": self.candle,
        }

    # ------------------------------------------------------------------ registration

    @property
    def symbols(self) -> frozenset[str]:
        """Every registered symbol (underlyings, options and candle symbols)."""
        if self._symbols is None:
            self._symbols = frozenset(self._known)
        return self._symbols

    def ensure(self, symbol: str) -> bool:
        """Register a feed symbol; False (never an exception) if it is not valid.

        Options and candle symbols also register their underlying, which is what ticks.
        """
        if not isinstance(symbol, str):
            return False
        if symbol in self._known:
            return True
        try:
            return self._register(symbol, self._now_ms())
        except Exception:
            logger.exception("could not register %r", symbol)
            return False

    def _register(self, symbol: str, now_ms: int) -> bool:
        kind = classify(symbol)
        if kind in ("equity", "future"):
            self._underlying(symbol, now_ms)
            return True
        if kind == "option":
            spec = parse_option_streamer_symbol(symbol)
            assert spec is not None
            under = self._underlying(_ROOT_ALIASES.get(spec.underlying, spec.underlying), now_ms)
            opt = self._new_option(symbol, spec, under)
            self._sync_option(opt, now_ms)
            self._add(symbol, opt)
            under.dependents.append(symbol)
            return True
        if kind == "candle":
            cspec = parse_candle_symbol(symbol)
            assert cspec is not None
            under = self._underlying(cspec.base, now_ms)
            series = self._new_series(cspec, under, now_ms)
            self._add(symbol, series)
            under.candles.append(series)
            under.dependents.append(symbol)
            return True
        return False

    def _add(self, symbol: str, obj: _Underlying | _Option | _CandleSeries) -> None:
        self._known[symbol] = obj
        self._symbols = None

    def _underlying(self, symbol: str, now_ms: int) -> _Underlying:
        """The registered underlying, creating it (and slotting it into the rotation)."""
        obj = self._known.get(symbol)
        if isinstance(obj, _Underlying):
            return obj
        if obj is not None or classify(symbol) not in ("equity", "future"):
            raise ValueError(f"{symbol!r} is not an underlying")
        u = self._new_underlying(symbol, now_ms)
        self._add(symbol, u)
        # Keep the rotation sorted so registration order never matters, and keep the
        # cursor on the same next symbol.
        lo, hi = 0, len(self._order)
        while lo < hi:
            mid = (lo + hi) // 2
            if self._order[mid].symbol < symbol:
                lo = mid + 1
            else:
                hi = mid
        self._order.insert(lo, u)
        if lo < self._cursor:
            self._cursor += 1
        return u

    def _new_underlying(self, symbol: str, now_ms: int) -> _Underlying:
        future = symbol.startswith("/")
        table_key = (future_root(symbol) or symbol) if future else symbol
        known = _KNOWN.get(table_key)
        h1, h2, h3, h4, h5 = _hash_units(_stable_hash(table_key), 5)
        if known:
            start, vol, description = known
        else:
            start = 5.0 * 100.0**h1  # log-uniform in 5..500
            vol = 0.20 + 0.40 * h2
            description = f"{symbol} (sandbox {'future' if future else 'equity'})"
        lot = 1 if future else 100
        is_index = table_key in _INDICES
        step = vol * math.sqrt(_TICK_DT)
        u = _Underlying(
            symbol=symbol,
            kind="future" if future else "equity",
            rng=random.Random(f"{self._seed}:{symbol}"),
            price=start,
            vol=vol,
            step=step,
            drift=-0.5 * step * step,
            lot=lot,
            exchange="X" if future else "Q",
            description=description,
            start_c=_cents(start),
            beta=1.0 if table_key in _UNIT_BETA else round(0.5 + 1.5 * h3, 2),
            shares=None if future or is_index else float(int(1e8 * 100.0**h4)),
        )
        rng = u.rng
        daily = vol / math.sqrt(252.0)
        u.last_c = u.start_c
        u.prev_close_c = _cents(start * math.exp(0.5 * daily * rng.gauss(0.0, 1.0)))
        u.day_open_c = _cents(u.prev_close_c / 100.0 * math.exp(0.2 * daily * rng.gauss(0.0, 1.0)))
        hi = max(u.day_open_c, u.last_c)
        lo = min(u.day_open_c, u.last_c)
        u.day_high_c = max(hi, math.ceil(hi * math.exp(0.3 * daily * rng.random())))
        u.day_low_c = max(1, min(lo, math.floor(lo * math.exp(-0.3 * daily * rng.random()))))
        base_volume = (1e5 if future else 2e6) * 30.0**h5
        u.prev_volume = int(base_volume * (0.7 + 0.6 * rng.random())) // lot * lot
        u.day_volume = int(u.prev_volume * (0.2 + 0.5 * rng.random())) // lot * lot
        u.day_turnover = round(u.day_volume * (u.day_open_c + u.last_c) / 200.0, 2)
        u.day_id = now_ms // _DAY_MS
        u.trade_time = u.quote_time = now_ms
        u.requote()
        return u

    def _new_option(self, symbol: str, spec: OptionSymbol, under: _Underlying) -> _Option:
        right = "Call" if spec.is_call else "Put"
        return _Option(
            symbol=symbol,
            spec=spec,
            under=under,
            key=_stable_hash(f"{self._seed}:{symbol}"),
            strike=float(spec.strike),
            right=spec.right,
            expiry_ms=_expiry_ms(spec.expiry),
            description=f"{spec.underlying} {spec.expiry:%Y-%m-%d} {spec.strike} {right}",
        )

    def _new_series(self, spec: CandleSymbol, under: _Underlying, now_ms: int) -> _CandleSeries:
        width = spec.width_ms
        if width < _DAY_MS:
            seconds = min(width / 1000.0, _SESSION_SECONDS)
            volume_share = seconds / _SESSION_SECONDS
        else:
            days = width / _DAY_MS * 5.0 / 7.0
            seconds = days * _SESSION_SECONDS
            volume_share = days
        series = _CandleSeries(
            symbol=spec.symbol,
            spec=spec,
            under=under,
            width=width,
            key=_stable_hash(f"{self._seed}:{spec.base}:{width}"),
            sd=under.vol * math.sqrt(seconds * _TICK_DT),
            base_volume=under.prev_volume * volume_share,
        )
        # The live candle started before we registered: make up its first part.
        start = now_ms - now_ms % width
        elapsed = (now_ms - start) / width
        close_c = under.last_c
        _, open_c, high_c, low_c, _, volume, _, bid_v, _, count = series.synthetic(start, close_c)
        shrink = math.sqrt(elapsed)
        series.start = start
        series.open_c = max(1, round(close_c + (open_c - close_c) * shrink))
        series.high_c = max(series.open_c, close_c, round(close_c + (high_c - close_c) * shrink))
        series.low_c = max(
            1, min(series.open_c, close_c, round(close_c - (close_c - low_c) * shrink))
        )
        series.close_c = close_c
        series.volume = int(volume * elapsed)
        typical_c = (series.open_c + series.high_c + series.low_c + close_c) / 4.0
        series.turnover = series.volume * typical_c / 100.0
        series.bid_volume = int(bid_v * elapsed)
        series.ask_volume = series.volume - series.bid_volume
        series.count = int(count * elapsed)
        return series

    # --------------------------------------------------------------------------- ticks

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)

    def tick(self, n: int = 1) -> set[str]:
        """Advance ``n`` underlying ticks round-robin; return every symbol that changed.

        The result holds each ticked underlying plus every option and candle symbol
        registered on it.  The clock is read once per call.
        """
        order = self._order
        if n <= 0 or not order:
            return set()
        now_ms = self._now_ms()
        day_id = now_ms // _DAY_MS
        size = len(order)
        i = self._cursor
        ticked: dict[int, _Underlying] = {}
        for _ in range(n):
            u = order[i]
            i += 1
            if i == size:
                i = 0
            self._step(u, now_ms, day_id)
            ticked[id(u)] = u
        self._cursor = i
        changed: set[str] = set()
        for u in ticked.values():
            changed.add(u.symbol)
            changed.update(u.dependents)
        return changed

    def _step(self, u: _Underlying, now_ms: int, day_id: int) -> None:
        """One simulated second: a GBM step, a new quote and maybe a trade."""
        if day_id > u.day_id:
            u.roll_day(day_id)
        rng = u.rng
        price = u.price * math.exp(u.drift + u.step * rng.gauss(0.0, 1.0))
        u.price = price if price > 0.01 else 0.01
        u.requote()
        u.version += 1
        u.quote_time = now_ms
        r = rng.random()
        if r >= _TRADE_PROBABILITY:
            return
        at_ask = r < _TRADE_PROBABILITY / 2
        price_c = u.ask_c if at_ask else u.bid_c
        size = (1 + int(rng.random() * 10)) * u.lot
        if price_c > u.last_c:
            u.tick_dir, u.last_up = "UP", True
        elif price_c < u.last_c:
            u.tick_dir, u.last_up = "DOWN", False
        elif u.last_up is not None:
            u.tick_dir = "ZERO_UP" if u.last_up else "ZERO_DOWN"
        u.last_c = price_c
        u.last_size = size
        u.trade_time = now_ms
        u.trade_seq += 1
        if price_c > u.day_high_c:
            u.day_high_c = price_c
        if price_c < u.day_low_c:
            u.day_low_c = price_c
        u.day_volume += size
        u.day_turnover += price_c * size / 100.0
        u.last_sale = (now_ms, u.trade_seq, price_c, size, u.bid_c, u.ask_c, at_ask)
        if u.sales is not None:
            u.sales.append(u.last_sale)
        for series in u.candles:
            series.on_trade(now_ms, price_c, size, at_ask)

    def _sync_option(self, o: _Option, now_ms: int) -> None:
        """Re-price an option if its underlying moved or the clock crossed a second."""
        under = o.under
        key = (under.version, now_ms // 1000)
        if key == o.cache_key:
            return
        o.cache_key = key
        spot = (under.bid_c + under.ask_c) / 200.0
        iv = _smile_vol(under.vol, spot, o.strike)
        t_years = (o.expiry_ms - now_ms) / _YEAR_MS
        g = bs_greeks(spot, o.strike, t_years, RISK_FREE_RATE, iv, o.right)
        o.greeks, o.iv, o.spot = g, iv, spot
        theo_c = g.price * 100.0
        tick_c = 5 if theo_c >= 300.0 else 1
        mid_t = theo_c / tick_c
        width_t = max(1, round(theo_c * _OPTION_SPREAD / tick_c))
        bid_t = max(0, math.floor(mid_t - width_t / 2.0))
        ask_t = max(bid_t + width_t, math.ceil(mid_t))
        o.bid_c, o.ask_c = bid_t * tick_c, ask_t * tick_c
        u1, u2, u3, u4, u5 = _hash_units(o.key ^ _mix64(under.version), 5)
        o.bid_size = 1 + int(u1 * 200)
        o.ask_size = 1 + int(u2 * 200)
        day_id = now_ms // _DAY_MS
        if o.synced_version < 0:
            self._init_option_day(o, day_id, now_ms)
        elif under.version != o.synced_version:
            if day_id > o.day_id:
                o.prev_close_c, o.prev_volume = o.last_c, o.day_volume
                o.day_open_c = o.day_high_c = o.day_low_c = o.last_c
                o.day_volume, o.day_turnover, o.day_id = 0, 0.0, day_id
            if u3 < _OPTION_TRADE_PROBABILITY:
                at_ask = u4 < 0.5 or o.bid_c == 0
                price_c = o.ask_c if at_ask else o.bid_c
                size = 1 + int(u5 * 20)
                if price_c > o.last_c:
                    o.tick_dir, o.last_up = "UP", True
                elif price_c < o.last_c:
                    o.tick_dir, o.last_up = "DOWN", False
                elif o.last_up is not None:
                    o.tick_dir = "ZERO_UP" if o.last_up else "ZERO_DOWN"
                o.last_c, o.last_size, o.trade_time = price_c, size, now_ms
                o.trade_seq += 1
                o.day_high_c = max(o.day_high_c, price_c)
                o.day_low_c = min(o.day_low_c, price_c)
                o.day_volume += size
                o.day_turnover += price_c * size  # contracts x 100 shares x price
                o.last_sale = (now_ms, o.trade_seq, price_c, size, o.bid_c, o.ask_c, at_ask)
                if o.sales is not None:
                    o.sales.append(o.last_sale)
        o.synced_version = under.version

    def _init_option_day(self, o: _Option, day_id: int, now_ms: int) -> None:
        """Made-up state for the part of the day before the option was registered."""
        u1, u2, u3, u4, u5 = _hash_units(o.key, 5)
        tick_c = 5 if o.ask_c >= 300 else 1
        last_c = max(tick_c, (o.bid_c + o.ask_c) // (2 * tick_c) * tick_c)
        o.last_c = last_c
        o.prev_close_c = max(
            tick_c, round(last_c * math.exp(0.15 * _normal(u1, u2)) / tick_c) * tick_c
        )
        o.day_open_c = max(tick_c, round((o.prev_close_c + last_c) / 2 / tick_c) * tick_c)
        o.day_high_c = max(o.day_open_c, last_c)
        o.day_low_c = min(o.day_open_c, last_c)
        moneyness = abs(math.log(o.strike / o.spot)) if o.spot > 0 else 1.0
        liquidity = math.exp(-8.0 * moneyness)
        o.open_interest = int(50 + 20000 * liquidity * u3)
        o.prev_volume = int(5 + 5000 * liquidity * u4)
        o.day_volume = int(o.prev_volume * u5)
        o.day_turnover = float(o.day_volume * (o.day_open_c + last_c) / 2)
        o.day_id = day_id
        o.trade_time = now_ms

    # ------------------------------------------------------------------------ lookups

    def _get_option(self, symbol: str, now_ms: int) -> _Option:
        obj = self._known[symbol]
        if not isinstance(obj, _Option):
            raise KeyError(symbol)
        self._sync_option(obj, now_ms)
        return obj

    def _get_priced(self, symbol: str, now_ms: int) -> _Underlying | _Option:
        """The underlying or the (re-priced) option; KeyError for candles and unknowns."""
        obj = self._known[symbol]
        if isinstance(obj, _Option):
            self._sync_option(obj, now_ms)
            return obj
        if isinstance(obj, _Underlying):
            if now_ms // _DAY_MS > obj.day_id:
                obj.roll_day(now_ms // _DAY_MS)
            return obj
        raise KeyError(symbol)

    def _get_series(self, symbol: str, now_ms: int) -> _CandleSeries:
        obj = self._known[symbol]
        if not isinstance(obj, _CandleSeries):
            raise KeyError(symbol)
        obj.roll(now_ms)
        return obj

    def set_price(self, symbol: str, price: float) -> set[str]:
        """Move an underlying to `price` at once (a test's jump): a new quote around it and
        a trade at it; the walk goes on from there. Returns the symbols that changed."""
        now_ms = self._now_ms()
        u = self._underlying(symbol, now_ms)
        u.price = price
        u.requote()
        u.version += 1
        u.quote_time = now_ms
        price_c = max(1, round(price * 100))
        u.tick_dir, u.last_up = ("UP", True) if price_c > u.last_c else ("DOWN", False)
        u.last_c = price_c
        u.last_size = u.lot
        u.trade_time = now_ms
        u.trade_seq += 1
        u.day_high_c = max(u.day_high_c, price_c)
        u.day_low_c = min(u.day_low_c, price_c) if u.day_low_c else price_c
        u.day_volume += u.lot
        return {u.symbol, *u.dependents}

    def mid(self, symbol: str) -> float:
        """Mid of the current quote of an underlying or option."""
        obj = self._get_priced(symbol, self._now_ms())
        return (obj.bid_c + obj.ask_c) / 200.0

    def last(self, symbol: str) -> float:
        """Last trade price of an underlying or option."""
        return self._get_priced(symbol, self._now_ms()).last_c / 100.0

    def prev_close(self, symbol: str) -> float:
        """The previous day's close of an underlying or option: the single number behind
        Summary's ``prevDayClosePrice`` and every façade's previous close."""
        return self._get_priced(symbol, self._now_ms()).prev_close_c / 100.0

    # ------------------------------------------------------------------------- events

    def event(self, event_type: str, symbol: str) -> dict[str, Any] | None:
        """The event of type ``event_type`` ("Quote", ...) or None if it does not apply.

        Unregistered symbols and unsupported types (e.g. "TimeAndSale") also give None.
        """
        obj = self._known.get(symbol)
        handler = self._dispatch.get(event_type)
        if obj is None or handler is None:
            return None
        if isinstance(obj, _CandleSeries) != (event_type == "Candle"):
            return None
        if event_type in ("Greeks", "TheoPrice") and not isinstance(obj, _Option):
            return None
        return handler(symbol)

    def quote(self, symbol: str) -> dict[str, Any]:
        """Quote of an underlying (sizes in round lots) or option (sizes 1-200)."""
        now_ms = self._now_ms()
        obj = self._get_priced(symbol, now_ms)
        if isinstance(obj, _Option):
            exchange, version, qtime = "C", obj.under.version, obj.under.quote_time
        else:
            exchange, version, qtime = obj.exchange, obj.version, obj.quote_time
        return {
            "eventSymbol": symbol,
            "eventTime": 0,
            "sequence": version & _SEQ_MASK,
            "timeNanoPart": 0,
            "bidTime": qtime,
            "bidExchangeCode": exchange,
            "askTime": qtime,
            "askExchangeCode": exchange,
            "bidPrice": obj.bid_c / 100.0,
            "askPrice": obj.ask_c / 100.0,
            "bidSize": obj.bid_size,
            "askSize": obj.ask_size,
        }

    def trade(self, symbol: str) -> dict[str, Any]:
        """Last trade of an underlying or option, with the day's running totals."""
        obj = self._get_priced(symbol, self._now_ms())
        exchange = "C" if isinstance(obj, _Option) else obj.exchange
        return {
            "eventSymbol": symbol,
            "eventTime": 0,
            "time": obj.trade_time,
            "timeNanoPart": 0,
            "sequence": obj.trade_seq & _SEQ_MASK,
            "exchangeCode": exchange,
            "dayId": obj.day_id,
            "tickDirection": obj.tick_dir,
            "extendedTradingHours": False,
            "price": obj.last_c / 100.0,
            "change": (obj.last_c - obj.prev_close_c) / 100.0,
            "size": obj.last_size,
            "dayVolume": obj.day_volume,
            "dayTurnover": round(obj.day_turnover, 2),
        }

    def summary(self, symbol: str) -> dict[str, Any]:
        """Day OHLC so far; ``openInterest`` is 0 for anything but options."""
        obj = self._get_priced(symbol, self._now_ms())
        return {
            "eventSymbol": symbol,
            "eventTime": 0,
            "dayId": obj.day_id,
            "dayClosePriceType": "REGULAR",
            "prevDayId": _prev_trading_day(obj.day_id),
            "prevDayClosePriceType": "FINAL",
            "openInterest": obj.open_interest if isinstance(obj, _Option) else 0,
            "dayOpenPrice": obj.day_open_c / 100.0,
            "dayHighPrice": obj.day_high_c / 100.0,
            "dayLowPrice": obj.day_low_c / 100.0,
            "dayClosePrice": obj.last_c / 100.0,
            "prevDayClosePrice": obj.prev_close_c / 100.0,
            "prevDayVolume": obj.prev_volume,
        }

    def profile(self, symbol: str) -> dict[str, Any]:
        """Static description; 52-week range always contains today's range."""
        obj = self._get_priced(symbol, self._now_ms())
        high52 = low52 = beta = shares = None
        if isinstance(obj, _Underlying):
            high52 = max(round(obj.start_c * 1.3), obj.day_high_c) / 100.0
            low52 = min(round(obj.start_c * 0.7), obj.day_low_c) / 100.0
            beta, shares = obj.beta, obj.shares
        return {
            "eventSymbol": symbol,
            "eventTime": 0,
            "description": obj.description,
            "shortSaleRestriction": "INACTIVE",
            "tradingStatus": "ACTIVE",
            "haltStartTime": 0,
            "haltEndTime": 0,
            "exDividendDayId": 0,
            "statusReason": None,
            "high52WeekPrice": high52,
            "low52WeekPrice": low52,
            "beta": beta,
            "shares": shares,
            "highLimitPrice": None,
            "lowLimitPrice": None,
            "earningsPerShare": None,
            "exDividendAmount": None,
            "dividendFrequency": None,
            "freeFloat": None,
        }

    def greeks(self, symbol: str) -> dict[str, Any]:
        """Black-Scholes greeks of an option; KeyError for non-options."""
        now_ms = self._now_ms()
        o = self._get_option(symbol, now_ms)
        g = o.greeks
        seq = o.under.version & _SEQ_MASK
        return {
            "eventSymbol": symbol,
            "eventTime": 0,
            "eventFlags": 0,
            "index": candle_index(now_ms, seq),
            "time": now_ms,
            "sequence": seq,
            "price": round(g.price, 4),
            "volatility": round(o.iv, 6),
            "delta": round(g.delta, 6),
            "gamma": round(g.gamma, 6),
            "theta": round(g.theta, 6),
            "rho": round(g.rho, 6),
            "vega": round(g.vega, 6),
        }

    def theo_price(self, symbol: str) -> dict[str, Any]:
        """Theoretical price of an option; KeyError for non-options."""
        now_ms = self._now_ms()
        o = self._get_option(symbol, now_ms)
        g = o.greeks
        seq = o.under.version & _SEQ_MASK
        return {
            "eventSymbol": symbol,
            "eventTime": 0,
            "eventFlags": 0,
            "index": candle_index(now_ms, seq),
            "time": now_ms,
            "sequence": seq,
            "price": round(g.price, 4),
            "underlyingPrice": round(o.spot, 4),
            "delta": round(g.delta, 6),
            "gamma": round(g.gamma, 6),
            "dividend": 0.0,
            "interest": RISK_FREE_RATE,
        }

    # --------------------------------------------------------------- time and sales

    def _sale_dict(
        self, symbol: str, obj: _Underlying | _Option, sale: _Sale, flags: int = 0
    ) -> dict[str, Any]:
        time_ms, seq, price_c, size, bid_c, ask_c, at_ask = sale
        return {
            "eventSymbol": symbol,
            "eventTime": 0,
            "eventFlags": flags,
            "index": candle_index(time_ms, seq),
            "time": time_ms,
            "timeNanoPart": 0,
            "sequence": seq & _SEQ_MASK,
            "exchangeCode": "C" if isinstance(obj, _Option) else obj.exchange,
            "price": price_c / 100.0,
            "size": size,
            "bidPrice": bid_c / 100.0,
            "askPrice": ask_c / 100.0,
            "tradeThroughExempt": "",
            "aggressorSide": "BUY" if at_ask else "SELL",
            "spreadLeg": False,
            "extendedTradingHours": False,
            "validTick": True,
            "type": "NEW",
            "buyer": None,
            "seller": None,
            "exchangeSaleConditions": None,
        }

    def keep_sales(self, symbol: str) -> None:
        """Remember the trades of a symbol from now on (the last SALES_CAP of them), starting
        with its latest trade. Only symbols someone follows trade by trade keep them, so a
        market of thousands of quoted symbols does not hold thousands of trade logs."""
        obj = self._get_priced(symbol, self._now_ms())
        if obj.sales is None:
            obj.sales = deque(maxlen=SALES_CAP)
            if obj.last_sale is not None:
                obj.sales.append(obj.last_sale)

    def last_sale_sequence(self, symbol: str) -> int:
        """The trade sequence of the newest simulated trade (0 if none yet)."""
        sale = self._get_priced(symbol, self._now_ms()).last_sale
        return sale[1] if sale else 0

    def sales_since(self, symbol: str, after_sequence: int) -> list[dict[str, Any]]:
        """TimeAndSale events, oldest first, for every remembered trade after a sequence:
        each trade once, unlike Trade, which only ever shows the latest (see keep_sales)."""
        obj = self._get_priced(symbol, self._now_ms())
        sales = obj.sales or ()
        return [self._sale_dict(symbol, obj, s) for s in sales if s[1] > after_sequence]

    def sales_snapshot(self, symbol: str, from_time_ms: int) -> list[dict[str, Any]]:
        """The remembered trades at or after ``from_time_ms``, newest first, the first
        flagged SNAPSHOT_BEGIN and the last SNAPSHOT_END (dxFeed's time-series order)."""
        obj = self._get_priced(symbol, self._now_ms())
        picked = [s for s in reversed(obj.sales or ()) if s[0] >= from_time_ms]
        out = [self._sale_dict(symbol, obj, s) for s in picked]
        if out:
            out[0]["eventFlags"] |= SNAPSHOT_BEGIN
            out[-1]["eventFlags"] |= SNAPSHOT_END
        return out

    # ------------------------------------------------------------------ reference data

    @property
    def seed(self) -> int:
        """The seed every made-up number of this market derives from."""
        return self._seed

    def reference_price(self, symbol: str) -> float:
        """The price an underlying started the run at: the fixed scale of its made-up
        reference data (dividends, earnings), so those do not drift with the walk."""
        u = self._get_priced(symbol, self._now_ms())
        if not isinstance(u, _Underlying):
            raise KeyError(symbol)
        return u.start_c / 100.0

    def implied_volatility(self, symbol: str, strike: float | None = None) -> float:
        """The volatility the market prices options of an underlying with: the smile at
        ``strike``, or at the money (the underlying's own vol) when none is given."""
        u = self._get_priced(symbol, self._now_ms())
        if not isinstance(u, _Underlying):
            raise KeyError(symbol)
        spot = (u.bid_c + u.ask_c) / 200.0
        return _smile_vol(u.vol, spot, spot if strike is None else strike)

    # ------------------------------------------------------------------------ candles

    @staticmethod
    def _candle_dict(series: _CandleSeries, row: _Row, flags: int) -> dict[str, Any]:
        start, open_c, high_c, low_c, close_c, volume, turnover, bid_v, ask_v, count = row
        vwap = round(turnover / volume, 4) if volume else close_c / 100.0
        return {
            "eventSymbol": series.symbol,
            "eventTime": 0,
            "eventFlags": flags,
            "index": candle_index(start),
            "time": start,
            "sequence": 0,
            "count": count,
            "volume": volume,
            "vwap": vwap,
            "bidVolume": bid_v,
            "askVolume": ask_v,
            "impVolatility": series.under.vol,
            "openInterest": None,
            "open": open_c / 100.0,
            "high": high_c / 100.0,
            "low": low_c / 100.0,
            "close": close_c / 100.0,
        }

    def candle(self, candle_symbol: str) -> dict[str, Any]:
        """The current (open) candle as a live update (``eventFlags`` 0)."""
        series = self._get_series(candle_symbol, self._now_ms())
        return self._candle_dict(series, series.row(), 0)

    def candles(
        self, candle_symbol: str, from_time_ms: int, limit: int = 1000
    ) -> list[dict[str, Any]]:
        """History snapshot from ``from_time_ms`` (aligned down), newest first, at most
        ``limit`` candles, the first flagged SNAPSHOT_BEGIN and the last SNAPSHOT_END.

        The newest is the live candle; the candle containing ``from_time_ms`` is included
        when within ``limit``.  A ``from_time_ms`` in the future gives just the live one.
        """
        series = self._get_series(candle_symbol, self._now_ms())
        if limit <= 0:
            return []
        w = series.width
        first = max(0, from_time_ms) // w * w
        wanted = min(limit, max(0, (series.start - first) // w) + 1)
        rows: list[_Row] = [series.row()]
        done = series.done
        k = len(done) - 1
        while len(rows) < wanted and k >= 0:
            rows.append(done[k])
            k -= 1
        while len(rows) < wanted:
            newer = rows[-1]
            rows.append(series.synthetic(newer[0] - w, newer[1]))
        out = [self._candle_dict(series, row, 0) for row in rows]
        out[0]["eventFlags"] |= SNAPSHOT_BEGIN
        out[-1]["eventFlags"] |= SNAPSHOT_END
        return out


def listed_symbols() -> list[tuple[str, str, bool]]:
    """The symbols the market knows by name (equities, ETFs and indices; futures trade
    elsewhere) as (symbol, description, is an index): what a symbol look-up searches."""
    return [(s, d, s in _INDICES) for s, (_, _, d) in _KNOWN.items() if not s.startswith("/")]
