"""Tradier's candle history: `/v1/markets/timesales` and `/v1/markets/history` paced under
the token's market-data limit (shared with the option chains) and mapped to the contract's
history errors, so a chart says "rate limited, retry in N s" instead of hanging."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from streaming.brokers.bars import HistoryError, bucket_start, daily_t, merge, ordered
from streaming.brokers.errors import BrokerHTTPError, describe
from streaming.brokers.rate_limit import BrokerPacing, PacingTimeout
from streaming.brokers.tradier.client import as_list
from streaming.brokers.tradier.wire import day_candle, timesale_candle
from streaming.instruments.symbols import NEW_YORK, is_option, streamer_to_occ_symbol

#: How long a history request waits for a slot of the token's market-data limit.
HISTORY_PACING_WAIT = 3.0

#: One GET of Tradier's API (path, params) → its JSON body.
Get = Callable[[str, dict[str, str]], Awaitable[Any]]


async def history_candles(
    get: Get,
    pacing: BrokerPacing,
    market_bucket: tuple[str, int],
    symbol: str,
    tf: str,
    from_ms: int,
    *,
    within: float,
) -> list[dict]:
    """Candles of `symbol` from `from_ms` (ascending, the last one forming):
    `/v1/markets/timesales` for 1m, 5m and 15m (1h: four 15m merged; regular hours
    only, like tastytrade's `tho=true`), `/v1/markets/history` for 1d."""
    occ = streamer_to_occ_symbol(symbol) if is_option(symbol) else None
    name = occ or symbol
    start = dt.datetime.fromtimestamp(from_ms / 1000, NEW_YORK)
    first = daily_t(from_ms) if tf == "1d" else bucket_start(from_ms, tf)
    async with asyncio.timeout(within):
        if tf == "1d":  # the date of the daily candle `first` (00:00 UTC of it)
            day = dt.datetime.fromtimestamp(first / 1000, dt.UTC).date()
            params = {"symbol": name, "interval": "daily", "start": day.isoformat()}
            body = await _history_get(get, pacing, market_bucket, "/v1/markets/history", params)
            wrapper = (body or {}).get("history")
            rows = as_list(wrapper.get("day") if isinstance(wrapper, dict) else None)
            bars = [day_candle(r) for r in rows if isinstance(r, dict)]
        else:
            params = {
                "symbol": name,
                "interval": {"1m": "1min", "5m": "5min"}.get(tf, "15min"),
                "start": start.strftime("%Y-%m-%d %H:%M"),
                "session_filter": "open",
            }
            body = await _history_get(get, pacing, market_bucket, "/v1/markets/timesales", params)
            wrapper = (body or {}).get("series")
            rows = as_list(wrapper.get("data") if isinstance(wrapper, dict) else None)
            bars = [timesale_candle(r) for r in rows if isinstance(r, dict)]
    found = ordered(b for b in bars if b is not None)
    if not found:
        raise HistoryError("unknown_symbol", f"Tradier has no history for {symbol}")
    if tf == "1h":
        found = merge(found, tf)
    return [b for b in found if b["t"] >= first]


async def _history_get(
    get: Get,
    pacing: BrokerPacing,
    market_bucket: tuple[str, int],
    path: str,
    params: dict[str, str],
) -> Any:
    """One history call, paced under the token's market-data limit across processes
    and not retried, mapped to the contract's history errors."""
    bucket, per_minute = market_bucket
    try:
        await pacing.acquire(bucket, per_minute, deadline=time.monotonic() + HISTORY_PACING_WAIT)
    except PacingTimeout as exc:
        raise HistoryError(
            "rate_limited", "Tradier's rate limit is used up for now", round(exc.retry_in, 1)
        ) from exc
    try:
        return await get(path, params)
    except BrokerHTTPError as exc:
        if exc.status == 429:
            raise HistoryError(
                "rate_limited", "Tradier rate-limited the history request", exc.retry_after
            ) from exc
        if exc.status == 400:
            raise HistoryError(
                "unknown_symbol", f"Tradier refused the symbol {params['symbol']}"
            ) from exc
        raise HistoryError(
            "broker_error", f"Tradier refused the history request (HTTP {exc.status})"
        ) from exc
    except (httpx.HTTPError, OSError) as exc:
        raise HistoryError("broker_error", f"Tradier did not answer: {describe(exc)}") from exc
