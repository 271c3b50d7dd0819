"""Candle history for charts and sparklines: validated, cached, asked of the stream owner.

The owner of the user's stream holds the broker sessions (one DXLink session per
tastytrade credential across the cluster), so history is asked of it (candles/owner.py:
`candles.request` over the layer, or directly when this process owns the stream) with
a deadline. Answers
are cached in Django's cache (Redis when `REDIS_URL` is set, so every process shares
them) per (broker, delayed, symbol, timeframe), and which link served a user's symbol and
timeframe last (the quote source, or the next link that could: UserStreamManager.candles):

- the **closed** candles until the forming candle closes (they cannot change before: at
  most `CLOSED_TTL_MAX`), tagged with the bucket they were fetched in;
- the **forming** candle for `FORMING_TTL` seconds; when only it expired, it is fetched
  again from the newest closed candle on (a candle or two, not the whole history), of
  the same link; when that link does not serve it now, the whole history is asked anew.

The symbol asked is the instrument the user means (portfolio/holdings.py: `BTCUSD` held at
Alpaca is the coin), cached and answered under its contract symbol. The live forming
candle is the browser's (static/js/stream/candles.js, from quotes):
docs/streaming-contract.md, "Candle charts".
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.cache import cache

from streaming.brokers.bars import (
    LOOKBACK_DAYS,
    TIMEFRAMES,
    Candle,
    HistoryError,
    bucket_start,
    candle_price,
    day_close_ms,
    day_start_ms,
)
from streaming.candles.owner import ask_history
from streaming.candles.shapes import CandlesAnswer, CandleSource, ClosedCandles, SparklineAnswer
from streaming.instruments.instrument import Instrument
from streaming.portfolio.holdings import user_instrument

if TYPE_CHECKING:
    from streaming.cluster.agents import Agents
    from streaming.contract.layer import CandleHistory


def history_deadline() -> float:
    """How long a history request may take end to end (the broker, the owner, the layer):
    `STREAM_HISTORY_DEADLINE`."""
    return float(settings.STREAM_HISTORY_DEADLINE)


def refresh_deadline() -> float:
    """How long the forming candle's re-fetch may take: when it fails, the whole history is
    asked again (of any link that can serve it) in the time left."""
    return history_deadline() / 2


#: The forming candle is re-fetched after this long (the browser keeps it live from quotes).
FORMING_TTL = 5
#: Closed candles live until the forming candle closes, at most this long.
CLOSED_TTL_MAX = 3600
#: Which link answered a user's last request of a symbol and timeframe (their quote
#: source, or the next link that could), to find the cache.
SOURCE_TTL = 600
DAY_MS = 86_400_000
_PREFIX = "candles:v2"


def clean_tf(tf: Any) -> str:
    """The request's timeframe; HistoryError `bad_timeframe` if it is none of the five."""
    if tf not in TIMEFRAMES:
        shown = str(tf)[:20] if tf is not None else ""
        raise HistoryError(
            "bad_timeframe",
            f"Unknown timeframe {shown!r}: choose one of {', '.join(TIMEFRAMES)}.",
        )
    return str(tf)


def bad_symbol(symbol: Any) -> HistoryError:
    return HistoryError("bad_symbol", f"Not a valid symbol: {str(symbol)[:40]!r}.")


async def candles_request(
    agents: Agents,
    user_id: int,
    symbol: Any,
    tf: Any,
    accounts: Iterable[Mapping[str, Any]] | None = None,
) -> tuple[Instrument, str]:
    """The instrument the user means (their holdings first: portfolio/holdings.py) and the
    timeframe; HistoryError if either is bad. `accounts`: the snapshot's, if known."""
    tf = clean_tf(tf)
    instrument = await user_instrument(agents, user_id, symbol, accounts)
    if instrument is None:
        raise bad_symbol(symbol)
    return instrument, tf


def _key(source: Mapping[str, object], symbol: str, tf: str, part: str) -> str:
    delayed = "d" if source.get("delayed") else "r"
    return f"{_PREFIX}:{source['source']}:{delayed}:{symbol}:{tf}:{part}"


def _source_key(user_id: int, symbol: str, tf: str) -> str:
    return f"{_PREFIX}:source:{user_id}:{symbol}:{tf}"


def _closed_ttl(tf: str, now_ms: int) -> int:
    """Seconds until the current bucket closes (1d: the next New York midnight), capped."""
    closes = day_close_ms(now_ms) if tf == "1d" else bucket_start(now_ms, tf) + TIMEFRAMES[tf]
    return max(1, min(CLOSED_TTL_MAX, (closes - now_ms) // 1000 + 1))


async def candles_history(agents: Agents, *, user_id: int, symbol: str, tf: str) -> CandlesAnswer:
    """The contract's `GET /api/candles` answer for a clean symbol and timeframe.
    Raises HistoryError (unknown symbol, no market data, rate limited, broker error)."""
    began = time.monotonic()
    now = int(time.time() * 1000)
    current = bucket_start(now, tf)
    source: CandleSource | None = await cache.aget(_source_key(user_id, symbol, tf))
    if source is not None:
        closed: ClosedCandles | None = await cache.aget(_key(source, symbol, tf, "closed"))
        if closed is not None and closed["bucket"] == current:
            forming: list[Candle] | None = await cache.aget(_key(source, symbol, tf, "forming"))
            if forming is None:
                forming = await _refresh_forming(
                    agents, user_id, symbol, tf, source, closed, current
                )
            if forming is not None:
                return _answer(source, symbol, tf, [*closed["candles"], *forming], cached=True)
    from_ms = bucket_start(now - LOOKBACK_DAYS[tf] * DAY_MS, tf)
    left = max(refresh_deadline(), history_deadline() - (time.monotonic() - began))
    answer = await ask_history(agents, user_id, symbol, tf, from_ms, within=left)
    return await _store(user_id, symbol, tf, now, answer)


async def _refresh_forming(
    agents: Agents,
    user_id: int,
    symbol: str,
    tf: str,
    source: CandleSource,
    closed: ClosedCandles,
    current: int,
) -> list[Candle] | None:
    """The forming candle again, from the newest closed one on (a window that is never
    empty where the link had the closed ones: after hours a link with regular hours only
    has no candle in the current bucket, which is not "no history"). None when the link
    that served the closed candles does not answer it now (the quotes failed over, it
    has no such candle): the whole history is asked again, of whichever link can."""
    since = closed["candles"][-1]["t"] if closed["candles"] else current
    try:
        answer = await ask_history(agents, user_id, symbol, tf, since, within=refresh_deadline())
    except HistoryError as exc:
        if exc.code in ("unknown_symbol", "broker_error"):
            return None
        raise
    if not _same_source(answer, source):
        return None
    forming = [c for c in answer["candles"] if c["t"] >= current]
    await cache.aset(_key(source, symbol, tf, "forming"), forming, FORMING_TTL)
    return forming


def _same_source(answer: Mapping[str, object], source: Mapping[str, object]) -> bool:
    return all(answer.get(k) == source.get(k) for k in ("source", "delayed", "link"))


async def _store(
    user_id: int, symbol: str, tf: str, now: int, answer: CandleHistory
) -> CandlesAnswer:
    source: CandleSource = {
        "source": answer["source"],
        "delayed": answer["delayed"],
        "link": answer["link"],
        "simulated": answer["simulated"],
    }
    await cache.aset(_source_key(user_id, symbol, tf), source, SOURCE_TTL)
    current = bucket_start(now, tf)
    closed = [c for c in answer["candles"] if c["t"] < current]
    forming = [c for c in answer["candles"] if c["t"] >= current]
    entry: ClosedCandles = {"bucket": current, "candles": closed}
    await cache.aset(_key(source, symbol, tf, "closed"), entry, _closed_ttl(tf, now))
    await cache.aset(_key(source, symbol, tf, "forming"), forming, FORMING_TTL)
    return _answer(source, symbol, tf, answer["candles"], cached=False)


def _answer(
    source: CandleSource, symbol: str, tf: str, candles: list[Candle], *, cached: bool
) -> CandlesAnswer:
    return {
        "symbol": symbol,
        "tf": tf,
        "width_ms": TIMEFRAMES[tf],
        "price": candle_price(source["source"], symbol),
        "source": source["source"],
        "link": source["link"],
        "simulated": source["simulated"],
        "delayed": source["delayed"],
        "cached": cached,
        "t": int(time.time() * 1000),
        "candles": candles,
    }


#: A sparkline's candles: the day's path at 15-minute steps.
SPARK_TF = "15m"


def sparkline(answer: CandlesAnswer) -> SparklineAnswer:
    """The contract's `GET /api/sparklines` answer from a 15m history answer: only what a
    sparkline draws — the newest day's open, then the closes of its closed candles at
    15-minute steps (the forming close is the live quote's, in the browser). Closed
    candles never change, so neither does this until the current bucket closes."""
    step = TIMEFRAMES[SPARK_TF]
    out: SparklineAnswer = {
        "symbol": answer["symbol"],
        "source": answer["source"],
        "link": answer["link"],
        "simulated": answer["simulated"],
        "delayed": answer["delayed"],
        "day": None,
        "t0": None,
        "step_ms": step,
        "open": None,
        "closes": [],
    }
    candles = answer["candles"]
    if not candles:
        return out
    day = day_start_ms(candles[-1]["t"])
    today = [c for c in candles if day_start_ms(c["t"]) == day]
    current = bucket_start(answer["t"], SPARK_TF)
    closed = [c for c in today if c["t"] < current]
    t0 = today[0]["t"]
    closes: list[float | None] = [None] * ((closed[-1]["t"] - t0) // step + 1 if closed else 0)
    for c in closed:
        closes[(c["t"] - t0) // step] = c["close"]
    return {**out, "day": day, "t0": t0, "open": today[0]["open"], "closes": closes}


def sparkline_max_age(t_ms: int) -> int:
    """Seconds the sparkline answer at `t_ms` stays what it is: until its bucket closes."""
    return _closed_ttl(SPARK_TF, t_ms)
