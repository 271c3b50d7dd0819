"""Candles (price bars) as the contract has them, whatever broker sent them.

Written once for every adapter: the timeframes, where a candle starts (intraday buckets
aligned to the epoch; a day's candle at 00:00 UTC of its New York date), the candle dict
(`t`, `open`, `high`, `low`, `close`, `volume`), merging bars into wider ones, and the
failures a history request can end in (docs/streaming-contract.md, "Candle charts").
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from streaming.brokers.values import num
from streaming.instruments.instrument import Instrument, parse
from streaming.instruments.kinds import Kind
from streaming.instruments.symbols import NEW_YORK

MINUTE_MS = 60_000
DAY_MS = 86_400_000
#: The chart's timeframes and their widths (ms), in the order the page offers them.
TIMEFRAMES: dict[str, int] = {
    "1m": MINUTE_MS,
    "5m": 5 * MINUTE_MS,
    "15m": 15 * MINUTE_MS,
    "1h": 60 * MINUTE_MS,
    "1d": DAY_MS,
}
#: How far back a chart's history reaches, per timeframe (days of calendar time).
LOOKBACK_DAYS: dict[str, int] = {"1m": 4, "5m": 10, "15m": 20, "1h": 45, "1d": 400}

Candle = dict[str, Any]


#: The HTTP status each history error code answers with (an unknown code: 424, the broker's).
HISTORY_STATUS = {
    "bad_timeframe": 400,
    "bad_symbol": 400,
    "unknown_symbol": 404,
    "no_market_data": 409,
    "rate_limited": 429,
    "broker_error": 424,
}


class HistoryError(Exception):
    """A history request that cannot be answered: `code` is the contract's `error`,
    the message a sentence for the page, `retry_after` seconds for `rate_limited`."""

    def __init__(self, code: str, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.retry_after = retry_after

    @property
    def status(self) -> int:
        """The HTTP status the error answers with, the class's to say (not each view's)."""
        return HISTORY_STATUS.get(self.code, 424)


#: When no link could serve a history, the failure reported is the one a trader can act
#: on first: a rate limit says when to retry, a broker error may pass, and "no history"
#: stands only when every link said so.
_FAILURE_RANK = {"rate_limited": 3, "broker_error": 2, "unknown_symbol": 1}
#: The share of a request's time kept for each link still to try while an earlier one is
#: asked (3 s of the shipped 8; at least half of what is left goes to the one asked): a
#: link that hangs cannot eat the deadline.
FALLBACK_SHARE = 3 / 8


def link_budget(left: float, after: int, reserve: float) -> float:
    """The seconds the next link may take of `left`, with `after` links still to try that
    keep `reserve` seconds each."""
    if after <= 0:
        return left
    return max(left / 2, left - reserve * after)


def no_link_served(symbol: str, tf: str, failures: list[HistoryError]) -> HistoryError:
    """The error when every link with market data failed: a single link's own, else the
    most telling code with every link's sentence (and the longest wait to retry)."""
    if len(failures) == 1:
        return failures[0]
    worst = max(failures, key=lambda e: _FAILURE_RANK.get(e.code, 2))
    waits = [e.retry_after for e in failures if e.retry_after]
    reasons = "; ".join(e.message.rstrip(".") for e in failures)
    return HistoryError(
        worst.code,
        f"No link could serve {symbol} {tf} history: {reasons}.",
        max(waits, default=None),
    )


#: What a history's candles are of (the answer's `price`): trades, or an option's mark
#: (the bid/ask mid) where its quote has no trades (tastytrade's options: Quote and Greeks).
LAST = "last"
MARK = "mark"
#: The brokers' names in a sentence, and the kinds' (plural) at its start.
BROKER_NAMES = {"tastytrade": "tastytrade", "tradier": "Tradier", "alpaca": "Alpaca"}
KIND_NAMES = {
    Kind.EQUITY: "Stocks",
    Kind.EQUITY_OPTION: "Options",
    Kind.FUTURE: "Futures",
    Kind.FUTURE_OPTION: "Future options",
    Kind.CRYPTO: "Coins",
}


def candle_price(broker: str, symbol: str) -> str:
    """What `broker`'s candles of `symbol` (a contract symbol) are of: an option's mark at
    tastytrade (its candles are asked with `price=mark`), else the trades."""
    instrument = parse(symbol)
    option = instrument is not None and instrument.kind.is_option
    return MARK if option and broker == "tastytrade" else LAST


def no_market_data(instrument: Instrument) -> HistoryError:
    """None of the user's links quotes the instrument's kind: the sentence names the
    brokers that would ("Futures are quoted by tastytrade: link one to chart /ES Dec 26.")."""
    quoted = [name for broker, name in BROKER_NAMES.items() if broker in instrument.quoted_by]
    brokers = " and ".join(quoted)
    return HistoryError(
        "no_market_data",
        f"{KIND_NAMES[instrument.kind]} are quoted by {brokers}: "
        f"link one to chart {instrument.display}.",
    )


def day_start_ms(t_ms: int) -> int:
    """00:00 UTC of the New York date of `t_ms`: where a daily candle starts."""
    day = dt.datetime.fromtimestamp(t_ms / 1000, NEW_YORK).date()
    return int(dt.datetime.combine(day, dt.time(0), tzinfo=dt.UTC).timestamp() * 1000)


def day_close_ms(t_ms: int) -> int:
    """When the daily candle holding `t_ms` closes: the next midnight in New York (its
    start is 00:00 UTC of the New York date, hours before that instant)."""
    day = dt.datetime.fromtimestamp(t_ms / 1000, NEW_YORK).date() + dt.timedelta(days=1)
    return int(dt.datetime.combine(day, dt.time(0), tzinfo=NEW_YORK).timestamp() * 1000)


def daily_t(t_ms: int) -> int:
    """A broker's daily candle time as the contract's: kept when it already is 00:00 UTC
    of a date (dxFeed aligns days to midnight UTC), else its New York date's."""
    return t_ms if t_ms % DAY_MS == 0 else day_start_ms(t_ms)


def bucket_start(t_ms: int, tf: str) -> int:
    """The start of the candle of timeframe `tf` that contains the moment `t_ms`."""
    if tf == "1d":
        return day_start_ms(t_ms)
    width = TIMEFRAMES[tf]
    return t_ms // width * width


def date_ms(day: dt.date) -> int:
    """A trading day's candle time: 00:00 UTC of that date."""
    return int(dt.datetime.combine(day, dt.time(0), tzinfo=dt.UTC).timestamp() * 1000)


def candle(t: int, o: Any, h: Any, lo: Any, c: Any, v: Any) -> Candle | None:
    """A contract candle, or None when the broker sent no prices (never 0 for unknown:
    dxFeed sends NaN, which the SDK turns into 0, for an empty period)."""
    prices = [num(x) for x in (o, h, lo, c)]
    if any(p is None or p <= 0 for p in prices):
        return None
    volume = num(v)
    return {
        "t": int(t),
        "open": prices[0],
        "high": prices[1],
        "low": prices[2],
        "close": prices[3],
        "volume": volume if volume is None or volume >= 0 else None,
    }


def merge(candles: Iterable[Candle], tf: str) -> list[Candle]:
    """Narrower candles (ascending) merged into timeframe `tf`'s buckets."""
    out: list[Candle] = []
    for c in candles:
        t = bucket_start(c["t"], tf)
        if out and out[-1]["t"] == t:
            last = out[-1]
            last["high"] = max(last["high"], c["high"])
            last["low"] = min(last["low"], c["low"])
            last["close"] = c["close"]
            if c["volume"] is not None:
                last["volume"] = (last["volume"] or 0) + c["volume"]
        else:
            out.append({**c, "t": t})
    return out


def ordered(candles: Iterable[Candle]) -> list[Candle]:
    """Ascending by `t`, one per `t` (the later one wins)."""
    by_t = {c["t"]: c for c in candles}
    return [by_t[t] for t in sorted(by_t)]
