"""An Alpaca link's candle history: its crypto bars, for the coins it quotes.

`GET {data}/v1beta3/crypto/us/bars?symbols=BTC/USD&timeframe=5Min&start=…` — the request
alpaca-py's `CryptoHistoricalDataClient.get_crypto_bars(CryptoBarsRequest(...))` sends
(its `url_override` is the data host; it appends `/v1beta3/crypto/us/bars`), paged by
`next_page_token`. Alpaca's crypto market data is public ("All crypto market data
endpoints have been made public and require no authentication"), so no key is sent: the
link's key may be a Broker API key, which the data host does not take as a Trading API
key. Bars `{t, o, h, l, c, v, n, vw}` become the contract's candles; a daily bar (Alpaca's
crypto day starts at midnight Chicago time) is dated 00:00 UTC of its New York date
(docs/streaming-contract.md, "Candle charts").
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Mapping
from typing import Any

import httpx

from streaming.brokers.bars import HistoryError, bucket_start, candle, day_start_ms, ordered
from streaming.brokers.errors import describe, retry_after_header
from streaming.brokers.http_client import async_client
from streaming.brokers.values import time_ms

BARS_PATH = "/v1beta3/crypto/us/bars"
#: The contract's timeframes as Alpaca's.
TIMEFRAMES = {"1m": "1Min", "5m": "5Min", "15m": "15Min", "1h": "1Hour", "1d": "1Day"}
#: Bars per page (Alpaca's most); a chart's longest history (1m, 4 days) is one page.
PAGE_LIMIT = 10_000
#: Pages read at most (a broker that pages forever cannot keep a chart waiting).
MAX_PAGES = 10


def _start(from_ms: int) -> str:
    return dt.datetime.fromtimestamp(from_ms // 1000, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def bar_candle(bar: Any, tf: str) -> dict[str, Any] | None:
    """One Alpaca bar as a contract candle, in the bucket its start falls in (a day's:
    00:00 UTC of its New York date); None when it has no time or no prices."""
    if not isinstance(bar, dict):
        return None
    t = time_ms(bar.get("t"))
    if t is None:
        return None
    start = day_start_ms(t) if tf == "1d" else bucket_start(t, tf)
    return candle(start, bar.get("o"), bar.get("h"), bar.get("l"), bar.get("c"), bar.get("v"))


async def crypto_bars(
    data_url: str, pair: str, tf: str, from_ms: int, *, within: float
) -> list[dict[str, Any]]:
    """The bars of `pair` (`BTC/USD`) from `from_ms` as candles, ascending; HistoryError
    when Alpaca refuses, fails, rate-limits or has none."""
    params: dict[str, str | int] = {
        "symbols": pair,
        "timeframe": TIMEFRAMES[tf],
        "start": _start(from_ms),
        "limit": PAGE_LIMIT,
        "sort": "asc",
    }
    rows: list[Any] = []
    async with asyncio.timeout(within), async_client(base_url=data_url, timeout=within) as http:
        for _ in range(MAX_PAGES):
            body = await _page(http, params)
            if not isinstance(body, dict):
                break
            bars = body.get("bars")
            if isinstance(bars, dict) and isinstance(bars.get(pair), list):
                rows += bars[pair]
            token = body.get("next_page_token")
            if not token:
                break
            params["page_token"] = token
    found = ordered(c for c in (bar_candle(b, tf) for b in rows) if c is not None)
    if not found:
        raise HistoryError("unknown_symbol", f"Alpaca has no bars for {pair}")
    return found


async def _page(http: httpx.AsyncClient, params: Mapping[str, Any]) -> Any:
    try:
        response = await http.get(BARS_PATH, params=params)
    except (httpx.HTTPError, OSError) as exc:
        raise HistoryError("broker_error", f"Alpaca did not answer: {describe(exc)}") from exc
    if response.status_code == 429:
        raise HistoryError(
            "rate_limited",
            "Alpaca rate-limited the history request",
            retry_after_header(response.headers),
        )
    if response.status_code == 400:
        raise HistoryError("unknown_symbol", f"Alpaca refused the symbol {params['symbols']}")
    if response.status_code >= 400:
        raise HistoryError(
            "broker_error", f"Alpaca refused the history request (HTTP {response.status_code})"
        )
    try:
        return response.json()
    except ValueError as exc:
        raise HistoryError("broker_error", "Alpaca's history answer is not JSON") from exc
