"""The sandbox's simulated market: a seeded random walk that feeds the fake DXLink server.

One :class:`Market` is shared by every sandbox session.  The DXLink server registers
the symbols clients subscribe to (:meth:`Market.ensure`), advances prices
(:meth:`Market.tick`) and asks for events as plain dicts keyed by the dxFeed field
names in :data:`EVENT_FIELDS` (`events.py`, the event half of the class).
Everything is a function of the seed, the sequence of
calls and the clock, so tests can replay a market exactly.

Design notes:

* Underlyings (equities, indices, futures) hold state and random-walk one simulated
  second per tick.  Each has its own ``random.Random`` seeded from ``(seed, symbol)``,
  so registration order never changes a path.
* Options hold no random state: their quote is Black-Scholes on the underlying's mid,
  recomputed lazily when the underlying has moved (or the clock has crossed a second).
* Candle series keep the live candle and the candles closed while registered; older
  history is synthesized backwards, deterministically, from the oldest known open.

The state those are kept in is `state.py`; what the market lists by name,
`listings.py`.
"""

from __future__ import annotations

import logging
import math
import random
import time
from collections.abc import Callable
from typing import Any

from sandbox.core.market import futures
from sandbox.core.market.events import MarketEvents
from sandbox.core.market.listings import (
    CRYPTO,
    INDICES,
    KNOWN,
    ROOT_ALIASES,
    UNIT_BETA,
    coin_named,
)
from sandbox.core.market.option_candles import option_series
from sandbox.core.market.state import (
    DAY_MS,
    OPTION_SPREAD,
    OPTION_TRADE_PROBABILITY,
    RISK_FREE_RATE,
    SESSION_SECONDS,
    TICK_DT,
    TRADE_PROBABILITY,
    YEAR_MS,
    CandleSeries,
    OptionContract,
    Underlying,
    expiry_close_ms,
    hash_units,
    mix64,
    normal_from,
    smile_vol,
    stable_hash,
    to_cents,
)
from sandbox.core.pricing import bs_greeks
from sandbox.core.symbols import (
    CandleSymbol,
    OptionSymbol,
    classify,
    crypto_pair,
    future_root,
    parse_candle_symbol,
    parse_future_option_symbol,
    parse_option_streamer_symbol,
)

__all__ = ["Market"]

logger = logging.getLogger(__name__)


# ----------------------------------------------------------------------------- market


class Unquoted(ValueError):
    """A symbol the market keeps no series for (`Market.ensure` answers False)."""


def _walks(symbol: str) -> bool:
    """Whether a feed symbol is an underlying the market walks: an equity or index, a
    future, a coin on its venue. Never an equity under a coin's name (`BTC/USD`, `BTCUSD`):
    a coin has one series, its feed symbol's (`BTC/USD:CXTALP`)."""
    kind = classify(symbol)
    if kind == "equity":
        return coin_named(symbol) is None
    return kind in ("future", "crypto")


class Market(MarketEvents):
    """Seeded random-walk market shared by every sandbox session.

    Event methods (:meth:`quote`, :meth:`trade`, ...) raise ``KeyError`` for a symbol
    that is not registered or that the event does not apply to (e.g. :meth:`greeks`
    on an equity); :meth:`event` returns ``None`` in those cases instead.
    """

    def __init__(self, seed: int = 7, clock: Callable[[], float] = time.time) -> None:
        self._seed = seed
        self._clock = clock
        self._known: dict[str, Underlying | OptionContract | CandleSeries] = {}
        self._order: list[Underlying] = []  # sorted by symbol: round-robin order
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
        except Unquoted:
            return False
        except Exception:
            logger.exception("could not register %r", symbol)
            return False

    def _register(self, symbol: str, now_ms: int) -> bool:
        kind = classify(symbol)
        if kind in ("equity", "future", "crypto"):
            self._underlying(symbol, now_ms)
            return True
        if kind == "option" and symbol.startswith("./"):
            return self._register_future_option(symbol, now_ms)
        if kind == "option":
            spec = parse_option_streamer_symbol(symbol)
            assert spec is not None
            under = self._underlying(ROOT_ALIASES.get(spec.underlying, spec.underlying), now_ms)
            opt = self._new_option(symbol, spec, under)
            self._sync_option(opt, now_ms)
            self._add(symbol, opt)
            under.dependents.append(symbol)
            return True
        if kind == "candle":
            cspec = parse_candle_symbol(symbol)
            assert cspec is not None
            if cspec.base.startswith("."):
                return self._register_option_candles(cspec, now_ms)
            under = self._underlying(cspec.base, now_ms)
            series = self._new_series(cspec, under, now_ms)
            self._add(symbol, series)
            under.candles.append(series)
            under.dependents.append(symbol)
            return True
        return False

    def _register_future_option(self, symbol: str, now_ms: int) -> bool:
        """An option on a futures contract, priced off that contract like an equity option
        off its stock; it expires with the contract (futures.expires_on)."""
        fo = parse_future_option_symbol(symbol)
        assert fo is not None
        under = self._underlying(fo.future_streamer_symbol, now_ms)
        expiry = futures.expires_on(fo.month_code, 2000 + fo.year2)
        spec = OptionSymbol(fo.future_streamer_symbol, expiry, fo.right, fo.strike)
        opt = self._new_option(symbol, spec, under)
        self._sync_option(opt, now_ms)
        self._add(symbol, opt)
        under.dependents.append(symbol)
        return True

    def _register_option_candles(self, spec: CandleSymbol, now_ms: int) -> bool:
        """An option's candles (option_candles.py), marked whenever its underlying moves."""
        if not self.ensure(spec.base):
            return False
        option = self._known[spec.base]
        assert isinstance(option, OptionContract)
        series = option_series(spec, option, self._sync_option, self._seed, now_ms)
        self._add(spec.symbol, series)
        option.under.dependents.append(spec.symbol)
        return True

    def _add(self, symbol: str, obj: Underlying | OptionContract | CandleSeries) -> None:
        self._known[symbol] = obj
        self._symbols = None

    def _underlying(self, symbol: str, now_ms: int) -> Underlying:
        """The registered underlying, creating it (and slotting it into the rotation)."""
        obj = self._known.get(symbol)
        if isinstance(obj, Underlying):
            return obj
        if obj is not None or not _walks(symbol):
            raise Unquoted(f"{symbol!r} is not an underlying")
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

    def _new_underlying(self, symbol: str, now_ms: int) -> Underlying:
        future = symbol.startswith("/")
        pair = crypto_pair(symbol)
        table_key = (future_root(symbol) or symbol) if future else (pair or symbol)
        known = CRYPTO.get(table_key) if pair else KNOWN.get(table_key)
        h1, h2, h3, h4, h5 = hash_units(stable_hash(table_key), 5)
        if known:
            start, vol, description = known
        else:
            start = 5.0 * 100.0**h1  # log-uniform in 5..500
            vol = 0.20 + 0.40 * h2
            kind = "future" if future else "crypto" if pair else "equity"
            description = f"{symbol} (sandbox {kind})"
        lot = 1 if future or pair else 100
        is_index = table_key in INDICES
        step = vol * math.sqrt(TICK_DT)
        u = Underlying(
            symbol=symbol,
            kind="future" if future else "crypto" if pair else "equity",
            rng=random.Random(f"{self._seed}:{symbol}"),
            price=start,
            vol=vol,
            step=step,
            drift=-0.5 * step * step,
            lot=lot,
            exchange="X" if future or pair else "Q",
            description=description,
            start_c=to_cents(start),
            beta=1.0 if table_key in UNIT_BETA else round(0.5 + 1.5 * h3, 2),
            shares=None if future or pair or is_index else float(int(1e8 * 100.0**h4)),
        )
        rng = u.rng
        daily = vol / math.sqrt(252.0)
        u.last_c = u.start_c
        u.prev_close_c = to_cents(start * math.exp(0.5 * daily * rng.gauss(0.0, 1.0)))
        u.day_open_c = to_cents(
            u.prev_close_c / 100.0 * math.exp(0.2 * daily * rng.gauss(0.0, 1.0))
        )
        hi = max(u.day_open_c, u.last_c)
        lo = min(u.day_open_c, u.last_c)
        u.day_high_c = max(hi, math.ceil(hi * math.exp(0.3 * daily * rng.random())))
        u.day_low_c = max(1, min(lo, math.floor(lo * math.exp(-0.3 * daily * rng.random()))))
        base_volume = (1e5 if future else 2e6) * 30.0**h5
        u.prev_volume = int(base_volume * (0.7 + 0.6 * rng.random())) // lot * lot
        u.day_volume = int(u.prev_volume * (0.2 + 0.5 * rng.random())) // lot * lot
        u.day_turnover = round(u.day_volume * (u.day_open_c + u.last_c) / 200.0, 2)
        u.day_id = now_ms // DAY_MS
        u.trade_time = u.quote_time = now_ms
        u.requote()
        return u

    def _new_option(self, symbol: str, spec: OptionSymbol, under: Underlying) -> OptionContract:
        right = "Call" if spec.is_call else "Put"
        return OptionContract(
            symbol=symbol,
            spec=spec,
            under=under,
            key=stable_hash(f"{self._seed}:{symbol}"),
            strike=float(spec.strike),
            right=spec.right,
            expiry_ms=expiry_close_ms(spec.expiry),
            description=f"{spec.underlying} {spec.expiry:%Y-%m-%d} {spec.strike} {right}",
        )

    def _new_series(self, spec: CandleSymbol, under: Underlying, now_ms: int) -> CandleSeries:
        width = spec.width_ms
        if width < DAY_MS:
            seconds = min(width / 1000.0, SESSION_SECONDS)
            volume_share = seconds / SESSION_SECONDS
        else:
            days = width / DAY_MS * 5.0 / 7.0
            seconds = days * SESSION_SECONDS
            volume_share = days
        series = CandleSeries(
            symbol=spec.symbol,
            spec=spec,
            under=under,
            width=width,
            key=stable_hash(f"{self._seed}:{spec.base}:{width}"),
            sd=under.vol * math.sqrt(seconds * TICK_DT),
            base_volume=under.prev_volume * volume_share,
        )
        series.begin(now_ms, under.last_c)
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
        day_id = now_ms // DAY_MS
        size = len(order)
        i = self._cursor
        ticked: dict[int, Underlying] = {}
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

    def _step(self, u: Underlying, now_ms: int, day_id: int) -> None:
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
        if r >= TRADE_PROBABILITY:
            return
        at_ask = r < TRADE_PROBABILITY / 2
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

    def _sync_option(self, o: OptionContract, now_ms: int) -> None:
        """Re-price an option if its underlying moved or the clock crossed a second."""
        under = o.under
        key = (under.version, now_ms // 1000)
        if key == o.cache_key:
            return
        o.cache_key = key
        spot = (under.bid_c + under.ask_c) / 200.0
        iv = smile_vol(under.vol, spot, o.strike)
        t_years = (o.expiry_ms - now_ms) / YEAR_MS
        g = bs_greeks(spot, o.strike, t_years, RISK_FREE_RATE, iv, o.right)
        o.greeks, o.iv, o.spot = g, iv, spot
        theo_c = g.price * 100.0
        tick_c = 5 if theo_c >= 300.0 else 1
        mid_t = theo_c / tick_c
        width_t = max(1, round(theo_c * OPTION_SPREAD / tick_c))
        bid_t = max(0, math.floor(mid_t - width_t / 2.0))
        ask_t = max(bid_t + width_t, math.ceil(mid_t))
        o.bid_c, o.ask_c = bid_t * tick_c, ask_t * tick_c
        u1, u2, u3, u4, u5 = hash_units(o.key ^ mix64(under.version), 5)
        o.bid_size = 1 + int(u1 * 200)
        o.ask_size = 1 + int(u2 * 200)
        day_id = now_ms // DAY_MS
        if o.synced_version < 0:
            self._init_option_day(o, day_id, now_ms)
        elif under.version != o.synced_version:
            if day_id > o.day_id:
                o.prev_close_c, o.prev_volume = o.last_c, o.day_volume
                o.day_open_c = o.day_high_c = o.day_low_c = o.last_c
                o.day_volume, o.day_turnover, o.day_id = 0, 0.0, day_id
            if u3 < OPTION_TRADE_PROBABILITY:
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

    def _init_option_day(self, o: OptionContract, day_id: int, now_ms: int) -> None:
        """Made-up state for the part of the day before the option was registered."""
        u1, u2, u3, u4, u5 = hash_units(o.key, 5)
        tick_c = 5 if o.ask_c >= 300 else 1
        last_c = max(tick_c, (o.bid_c + o.ask_c) // (2 * tick_c) * tick_c)
        o.last_c = last_c
        o.prev_close_c = max(
            tick_c, round(last_c * math.exp(0.15 * normal_from(u1, u2)) / tick_c) * tick_c
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

    def _get_option(self, symbol: str, now_ms: int) -> OptionContract:
        obj = self._known[symbol]
        if not isinstance(obj, OptionContract):
            raise KeyError(symbol)
        self._sync_option(obj, now_ms)
        return obj

    def _get_priced(self, symbol: str, now_ms: int) -> Underlying | OptionContract:
        """The underlying or the (re-priced) option; KeyError for candles and unknowns."""
        obj = self._known[symbol]
        if isinstance(obj, OptionContract):
            self._sync_option(obj, now_ms)
            return obj
        if isinstance(obj, Underlying):
            if now_ms // DAY_MS > obj.day_id:
                obj.roll_day(now_ms // DAY_MS)
            return obj
        raise KeyError(symbol)

    def _get_series(self, symbol: str, now_ms: int) -> CandleSeries:
        obj = self._known[symbol]
        if not isinstance(obj, CandleSeries):
            raise KeyError(symbol)
        obj.roll(now_ms)
        return obj
