"""The market's state: one walking underlying, an option priced off it, a candle series,
and the deterministic hashing that makes every path a function of the seed."""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import random
from collections import deque
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sandbox.core.pricing import Greeks
from sandbox.core.symbols import (
    CandleSymbol,
    OptionSymbol,
)
from sandbox.core.trading_calendar import previous_trading_day

RISK_FREE_RATE = 0.045
#: Closed candles remembered per candle symbol; older ones are synthesized.
CANDLE_HISTORY_CAP = 2000
#: Trades remembered per symbol for TimeAndSale (live catch-up and fromTime snapshots).
SALES_CAP = 1000

TRADING_SECONDS_PER_YEAR = 252 * 6.5 * 3600
TICK_DT = 1.0 / TRADING_SECONDS_PER_YEAR  # one tick = one simulated trading second
SESSION_SECONDS = 6.5 * 3600
DAY_MS = 86_400_000
EPOCH_DATE = dt.date(1970, 1, 1)
YEAR_MS = 365.0 * DAY_MS
SEQ_MASK = (1 << 22) - 1  # dxFeed sequences are 22 bits (they share `index` with time)
TRADE_PROBABILITY = 0.4  # per underlying tick
OPTION_TRADE_PROBABILITY = 0.25  # per option re-pricing
OPTION_SPREAD = 0.03  # fraction of the theoretical price
MASK64 = (1 << 64) - 1
GOLDEN = 0x9E3779B97F4A7C15


try:
    NEW_YORK: dt.tzinfo = ZoneInfo("America/New_York")
except ZoneInfoNotFoundError:  # pragma: no cover - no tz database: EST all year
    NEW_YORK = dt.timezone(dt.timedelta(hours=-5))


# ---------------------------------------------------------------- deterministic hashing


def stable_hash(text: str) -> int:
    """A 64-bit hash that, unlike ``hash()``, is the same in every process."""
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")


def mix64(x: int) -> int:
    """The splitmix64 finalizer: scrambles a 64-bit int."""
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & MASK64
    return x ^ (x >> 31)


def hash_units(key: int, n: int) -> list[float]:
    """``n`` uniforms in [0, 1) that depend only on ``key`` (a splitmix64 stream)."""
    out = []
    x = key & MASK64
    for _ in range(n):
        x = (x + GOLDEN) & MASK64
        out.append((mix64(x) >> 11) * (1.0 / (1 << 53)))
    return out


def normal_from(u1: float, u2: float) -> float:
    """Box-Muller: one standard normal from two uniforms."""
    return math.sqrt(-2.0 * math.log(1.0 - u1)) * math.cos(2.0 * math.pi * u2)


# ----------------------------------------------------------------------------- helpers


def candle_index(time_ms: int, sequence: int = 0) -> int:
    """dxFeed's time-series ``index``: seconds, milliseconds and sequence packed in 64 bits."""
    return ((time_ms // 1000) << 32) | ((time_ms % 1000) << 22) | (sequence & SEQ_MASK)


def prev_trading_day_id(day_id: int) -> int:
    """The NYSE trading day before ``day_id`` (days since 1970-01-01): weekends and the
    calendar's holidays skipped, so ``prevDayId`` (and every previous-close date the
    façades derive from it) never names a day the market was closed."""
    day = EPOCH_DATE + dt.timedelta(days=day_id)
    return (previous_trading_day(day) - EPOCH_DATE).days


def to_cents(price: float) -> int:
    return max(1, round(price * 100.0))


def expiry_close_ms(expiry: dt.date) -> int:
    """Options stop trading at 16:00 New York time on the expiry date."""
    close = dt.datetime.combine(expiry, dt.time(16, 0), tzinfo=NEW_YORK)
    return int(close.timestamp() * 1000)


def smile_vol(base_vol: float, spot: float, strike: float) -> float:
    """A mild skewed smile: puts (low strikes) richer, wings a little richer."""
    m = max(-1.0, min(1.0, math.log(strike / spot)))
    return max(0.05, base_vol * (1.0 - 0.4 * m + 1.2 * m * m))


# ------------------------------------------------------------------------------ state

# One trade kept for TimeAndSale: (time ms, sequence, price c, size, bid c, ask c, at ask)
Sale = tuple[int, int, int, int, int, int, bool]

NO_GREEKS = Greeks(0.0, 0.0, 0.0, 0.0, 0.0, 0.0)


@dataclass(slots=True, eq=False)
class Underlying:
    symbol: str
    kind: str  # "equity" | "future" | "crypto"
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
    candles: list[CandleSeries] = field(default_factory=list)
    last_sale: Sale | None = None
    sales: deque[Sale] | None = None  # kept once someone asks (keep_sales)

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
class OptionContract:
    symbol: str
    spec: OptionSymbol
    under: Underlying
    key: int
    strike: float
    right: str
    expiry_ms: int
    description: str
    cache_key: tuple[int, int] = (-1, -1)
    greeks: Greeks = NO_GREEKS
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
    last_sale: Sale | None = None
    sales: deque[Sale] | None = None  # kept once someone asks (keep_sales)


# A closed candle: (start, open, high, low, close, volume, turnover, bid vol, ask vol, count)
CandleRow = tuple[int, int, int, int, int, int, float, int, int, int]


@dataclass(slots=True, eq=False)
class CandleSeries:
    symbol: str
    spec: CandleSymbol
    under: Underlying
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
    done: deque[CandleRow] = field(default_factory=lambda: deque(maxlen=CANDLE_HISTORY_CAP))

    def row(self) -> CandleRow:
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

    def begin(self, now_ms: int, close_c: int) -> None:
        """The live candle at registration, closing at `close_c`: it started before the
        series was registered, so its first part is made up."""
        width = self.width
        start = now_ms - now_ms % width
        elapsed = (now_ms - start) / width
        _, open_c, high_c, low_c, _, volume, _, bid_v, _, count = self.synthetic(start, close_c)
        shrink = math.sqrt(elapsed)
        self.start = start
        self.open_c = max(1, round(close_c + (open_c - close_c) * shrink))
        self.high_c = max(self.open_c, close_c, round(close_c + (high_c - close_c) * shrink))
        self.low_c = max(1, min(self.open_c, close_c, round(close_c - (close_c - low_c) * shrink)))
        self.close_c = close_c
        self.volume = int(volume * elapsed)
        typical_c = (self.open_c + self.high_c + self.low_c + close_c) / 4.0
        self.turnover = self.volume * typical_c / 100.0
        self.bid_volume = int(bid_v * elapsed)
        self.ask_volume = self.volume - self.bid_volume
        self.count = int(count * elapsed)

    def price_c(self) -> int:
        """The price a new candle opens at (and idle slots are flat at): the last trade."""
        return self.under.last_c

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
        price_c = self.price_c()
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

    def synthetic(self, start: int, close_c: int) -> CandleRow:
        """A made-up candle at ``start`` whose close is ``close_c``; pure in its inputs."""
        u1, u2, u3, u4, u5, u6 = hash_units(self.key ^ mix64(start & MASK64), 6)
        sd = self.sd
        open_c = max(1, round(close_c * math.exp(sd * normal_from(u1, u2))))
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
