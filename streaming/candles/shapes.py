"""The candles feature's shapes: what `GET /api/candles` and `GET /api/sparklines` answer
(static/js/stream/candles.js and render/chart.js read them) and what the cache holds
between requests (docs/streaming-contract.md, "Candle charts"). Pure types, no I/O.
"""

from __future__ import annotations

from typing import TypedDict

from streaming.brokers.bars import Candle


class CandleSource(TypedDict):
    """Which link served a user's symbol and timeframe last (cached `SOURCE_TTL`)."""

    source: str
    delayed: bool
    link: int
    simulated: bool


class ClosedCandles(TypedDict):
    """The cached closed candles, tagged with the bucket they were fetched in."""

    bucket: int
    candles: list[Candle]


class CandlesAnswer(TypedDict):
    """`GET /api/candles/<SYMBOL>?tf=`."""

    symbol: str
    tf: str
    width_ms: int
    #: Which price the candles are of (bars.candle_price: "last", or "mark" for an option).
    price: str
    source: str
    link: int
    simulated: bool
    delayed: bool
    cached: bool
    t: int
    candles: list[Candle]


class SparklineAnswer(TypedDict):
    """`GET /api/sparklines/<SYMBOL>`: the newest day's open at `t0`, then the closes of
    its closed 15m candles (`closes[i]` the one starting at `t0 + i * step_ms`; null where
    a bucket had none)."""

    symbol: str
    source: str
    link: int
    simulated: bool
    delayed: bool
    day: int | None
    t0: int | None
    step_ms: int
    open: float | None
    closes: list[float | None]
