"""An option's candles (`./ESZ26C6000:XCME{=5m}`, `.SPY270115C590{=5m,price=mark}`): the
option's own series, the one its quotes come from, so the newest candle closes at its
last trade or, with dxFeed's `price=mark`, at its bid/ask mid (what an option is valued
at; most options trade rarely).

The market prices an option lazily, when it is read (walk.py `_sync_option`), so the
live candle is brought up to date the same way: each read of the series (a DXLink flush,
a snapshot) prices the option first, closes the candle whose time is over, then folds in
what the option says now. The past before the series was registered is made up
backwards from its price (state.py `CandleSeries.synthetic`), its swings the
option's: its volatility times its leverage on the underlying.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from sandbox.core.market.state import (
    DAY_MS,
    SESSION_SECONDS,
    TICK_DT,
    CandleSeries,
    OptionContract,
    stable_hash,
)
from sandbox.core.symbols import CandleSymbol

__all__ = ["OptionCandleSeries", "option_series"]

#: The most an option's candle swings per unit of its underlying's (its leverage, capped:
#: a far out-of-the-money option's would be all but unbounded).
MAX_LEVERAGE = 20.0

Sync = Callable[[OptionContract, int], None]


class OptionCandleSeries(CandleSeries):
    """A candle series on an option. `under` is the option's underlying (its lot and
    volatility serve the made-up past); the live candle follows `option`."""

    __slots__ = ("mark", "option", "seen_trade", "sync")

    option: OptionContract
    #: Candles of the mark (the bid/ask mid), else of the trades.
    mark: bool
    #: Prices the option now (the market's `_sync_option`).
    sync: Sync
    #: The option's trade sequence already in the candles.
    seen_trade: int

    def now_c(self) -> int:
        """The option's price in cents as this series reads it: its mid or its last trade."""
        o = self.option
        return max(1, round((o.bid_c + o.ask_c) / 2) if self.mark else o.last_c)

    def price_c(self) -> int:
        """A new candle opens where the last one ended (the price folded in last)."""
        return self.close_c

    def roll(self, now_ms: int) -> None:
        """Price the option, close the candle whose time is over, fold in the option now."""
        self.sync(self.option, now_ms)
        CandleSeries.roll(self, now_ms)
        o = self.option
        traded = o.trade_seq != self.seen_trade
        if traded:
            self.seen_trade = o.trade_seq
            size = o.last_size or 0
            self.volume += size
            self.turnover += o.last_c * size / 100.0
            at_ask = bool(o.last_sale and o.last_sale[6])
            if at_ask:
                self.ask_volume += size
            else:
                self.bid_volume += size
            self.count += 1
        if self.mark or traded:
            price_c = self.now_c()
            self.high_c = max(self.high_c, price_c)
            self.low_c = min(self.low_c, price_c)
            self.close_c = price_c


def option_series(
    spec: CandleSymbol, option: OptionContract, sync: Sync, seed: int, now_ms: int
) -> OptionCandleSeries:
    """The series of `spec` (a candle symbol whose base is `option`), its live candle
    closing at the option's price now."""
    sync(option, now_ms)
    width = spec.width_ms
    if width < DAY_MS:
        seconds = min(width / 1000.0, SESSION_SECONDS)
        share = seconds / SESSION_SECONDS
    else:
        days = width / DAY_MS * 5.0 / 7.0
        seconds, share = days * SESSION_SECONDS, days
    mark = spec.price == "mark"
    price = ((option.bid_c + option.ask_c) / 2 if mark else option.last_c) / 100.0
    leverage = abs(option.greeks.delta) * option.spot / price if price > 0 else 1.0
    series = OptionCandleSeries(
        symbol=spec.symbol,
        spec=spec,
        under=option.under,
        width=width,
        key=stable_hash(f"{seed}:{spec.base}:{width}:{spec.price}"),
        sd=option.iv * min(max(leverage, 1.0), MAX_LEVERAGE) * math.sqrt(seconds * TICK_DT),
        base_volume=option.prev_volume * share,
    )
    series.option, series.mark, series.sync = option, mark, sync
    series.seen_trade = option.trade_seq
    series.begin(now_ms, series.now_c())
    return series
