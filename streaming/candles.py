"""Candle history for charts and sparklines: validated, cached, asked of the stream owner.

The owner of the user's stream holds the broker sessions (one DXLink session per
tastytrade credential across the cluster), so history is asked of it (`candles.request`
over the layer, or directly when this process owns the stream) with a deadline. Answers
are cached in Django's cache (Redis when `REDIS_URL` is set, so every process shares
them) per (broker, delayed, symbol, timeframe):

- the **closed** candles until the forming candle closes (they cannot change before: at
  most `CLOSED_TTL_MAX`), tagged with the bucket they were fetched in;
- the **forming** candle for `FORMING_TTL` seconds; when only it expired, just the
  current bucket is fetched again (one candle, not the whole history).

The live forming candle is the browser's (static/js/stream/candles.js, from quotes):
docs/streaming-contract.md, "Candle charts".
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import orjson
from django.core.cache import cache

from . import owner_rpc
from .brokers.bars import LOOKBACK_DAYS, TIMEFRAMES, HistoryError, bucket_start
from .manager import UserStreamManager
from .registry import registry
from .validation import normalize_symbol

#: How long a history request may take end to end (the broker, the owner, the layer).
HISTORY_DEADLINE = 8.0
#: The forming candle is re-fetched after this long (the browser keeps it live from quotes).
FORMING_TTL = 5
#: Closed candles live until the forming candle closes, at most this long.
CLOSED_TTL_MAX = 3600
#: Which broker answered a user's last request (their quote source), to find the cache.
SOURCE_TTL = 600
DAY_MS = 86_400_000
_PREFIX = "candles:v1"
#: How long an answer is awaited before the request is sent again (no owner had it yet).
OWNER_PATIENCE = 4.0


def candles_clean(symbol: Any, tf: Any) -> tuple[str, str]:
    """The request's symbol (contract form) and timeframe; HistoryError if either is bad."""
    if tf not in TIMEFRAMES:
        shown = str(tf)[:20] if tf is not None else ""
        raise HistoryError(
            "bad_timeframe",
            f"Unknown timeframe {shown!r}: choose one of {', '.join(TIMEFRAMES)}.",
        )
    clean = normalize_symbol(symbol)
    if clean is None:
        raise HistoryError("bad_symbol", f"Not a valid symbol: {str(symbol)[:40]!r}.")
    return clean, tf


def _key(source: dict[str, Any], symbol: str, tf: str, part: str) -> str:
    delayed = "d" if source.get("delayed") else "r"
    return f"{_PREFIX}:{source['source']}:{delayed}:{symbol}:{tf}:{part}"


def _source_key(user_id: int) -> str:
    return f"{_PREFIX}:source:{user_id}"


def _closed_ttl(tf: str, now_ms: int) -> int:
    """Seconds until the current bucket closes (1d: the next New York date), capped."""
    start = bucket_start(now_ms, tf)
    width = DAY_MS if tf == "1d" else TIMEFRAMES[tf]
    return max(1, min(CLOSED_TTL_MAX, (start + width - now_ms) // 1000 + 1))


async def candles_history(*, user_id: int, symbol: str, tf: str) -> dict[str, Any]:
    """The contract's `GET /api/candles` answer for a clean symbol and timeframe.
    Raises HistoryError (unknown symbol, no market data, rate limited, broker error)."""
    now = int(time.time() * 1000)
    current = bucket_start(now, tf)
    source = await cache.aget(_source_key(user_id))
    if source is not None:
        closed = await cache.aget(_key(source, symbol, tf, "closed"))
        if closed is not None and closed["bucket"] == current:
            forming = await cache.aget(_key(source, symbol, tf, "forming"))
            if forming is None:
                answer = await _ask_owner(user_id, symbol, tf, current)
                if _same_source(answer, source):
                    forming = [c for c in answer["candles"] if c["t"] >= current]
                    await cache.aset(_key(source, symbol, tf, "forming"), forming, FORMING_TTL)
                else:
                    return await _store(user_id, symbol, tf, now, answer, full=False)
            return _answer(source, symbol, tf, [*closed["candles"], *forming], cached=True)
    from_ms = bucket_start(now - LOOKBACK_DAYS[tf] * DAY_MS, tf)
    answer = await _ask_owner(user_id, symbol, tf, from_ms)
    return await _store(user_id, symbol, tf, now, answer, full=True)


def _same_source(answer: dict[str, Any], source: dict[str, Any]) -> bool:
    return all(answer.get(k) == source.get(k) for k in ("source", "delayed", "link"))


async def _store(
    user_id: int, symbol: str, tf: str, now: int, answer: dict[str, Any], *, full: bool
) -> dict[str, Any]:
    source = {k: answer[k] for k in ("source", "delayed", "link", "simulated")}
    await cache.aset(_source_key(user_id), source, SOURCE_TTL)
    if not full:  # the source changed under a short request: no closed candles to keep
        return _answer(source, symbol, tf, answer["candles"], cached=False)
    current = bucket_start(now, tf)
    closed = [c for c in answer["candles"] if c["t"] < current]
    forming = [c for c in answer["candles"] if c["t"] >= current]
    entry = {"bucket": current, "candles": closed}
    await cache.aset(_key(source, symbol, tf, "closed"), entry, _closed_ttl(tf, now))
    await cache.aset(_key(source, symbol, tf, "forming"), forming, FORMING_TTL)
    return _answer(source, symbol, tf, answer["candles"], cached=False)


def _answer(
    source: dict[str, Any], symbol: str, tf: str, candles: list[dict[str, Any]], *, cached: bool
) -> dict[str, Any]:
    return {
        "symbol": symbol,
        "tf": tf,
        "width_ms": TIMEFRAMES[tf],
        "source": source["source"],
        "link": source["link"],
        "simulated": source["simulated"],
        "delayed": source["delayed"],
        "cached": cached,
        "t": int(time.time() * 1000),
        "candles": candles,
    }


async def _ask_owner(user_id: int, symbol: str, tf: str, from_ms: int) -> dict[str, Any]:
    """History from the user's stream owner: this process's manager, or the owner
    elsewhere over the layer (`registry.at_owner`), all within `HISTORY_DEADLINE`."""

    async def here(manager: UserStreamManager, left: float) -> dict[str, Any] | None:
        try:
            return await manager.candles(symbol, tf, from_ms, within=left)
        except TimeoutError:
            return None

    def read(message: dict[str, Any]) -> dict[str, Any]:
        if message.get("error"):
            raise HistoryError(
                str(message["error"]), str(message.get("message")), message.get("retry_after")
            )
        return orjson.loads(message["text"])

    holder = f"chart-{uuid.uuid4().hex}"
    await registry.attach(user_id, holder)
    try:
        answer = await registry.at_owner(
            user_id,
            here=here,
            ask=lambda reply, left: owner_rpc.request_candles(
                user_id, reply, symbol, tf, from_ms, time.time() + left
            ),
            read=read,
            within=HISTORY_DEADLINE,
            reask=OWNER_PATIENCE,
        )
    finally:
        registry.detach(user_id, holder)
    if answer is None:
        raise HistoryError(
            "broker_error",
            f"The broker did not send {symbol} history within {HISTORY_DEADLINE:.0f} s.",
        )
    return answer
