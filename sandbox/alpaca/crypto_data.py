"""Alpaca's crypto market data over REST: latest quotes, trades and bars, snapshots and
historical bars of the market's coins against the dollar.

Real host `https://data.alpaca.markets/v1beta3/crypto/us/...`; here under `/alpaca/data`
(one mount with the news: the "alpaca" faults and blackouts apply), so the unmodified
alpaca-py client points at it with `CryptoHistoricalDataClient(key, secret,
url_override=<sandbox>/alpaca/data)` (it appends `/v1beta3/crypto/us/...`). The sources:
alpaca-docs market-data-api/crypto-pricing-data (historical.md, the crypto entities) and
Alpaca's Market Data OpenAPI (`CryptoLatestQuotes`, `CryptoBars`); alpaca-py
data/historical/crypto.py and data/models.

Prices are the market's (core/market/walk.py) for the coin's feed symbol (`BTC/USD` →
`BTC/USD:CXTALP`, core/market/listings.py): a quote `{"bp","bs","ap","as","t"}` is the feed's
bid and ask; a trade `{"p","s","t","i","tks"}` its last trade (`i` the trade's sequence,
`tks` `B` when it hit the ask, `S` the bid, `-` when the simulation did not make it: a
control API jump or the coin's opening state). Bars `{"t","o","h","l","c","v","n","vw"}`
are the market's candles of the coin, the feed's own (core/market/state.py
`CandleSeries`): minutes and hours are one candle series each (`BTC/USD:CXTALP{=5m}`),
aligned on UTC like Alpaca's; days, weeks and months merge the hourly candles by
America/Chicago day (Alpaca's crypto days start at midnight Central time), ISO week and
calendar month. The live bar closes at the last trade; the past is made up by the candle
series (each timeframe its own, so five one-minute bars need not merge into the five-minute
bar) and reaches back `MAX_INTERVALS` intervals of its series.

Keys: crypto market data needs none (Alpaca: "All crypto market data endpoints have been
made public and require no authentication"); a key that is sent must be right (403
`forbidden`, as for news). Errors are the market data API's `{"message": ...}` (400).

Guesses (UNCONFIRMED): a well-formed pair the market does not list (`DOGE/USD`,
`ETH/BTC`) is left out of the answer, while a symbol that is no pair at all (`AAPL`,
`BTCUSD`) is a 400; the error texts; intervals without trades have no bar (a snapshot's
`minuteBar` is there anyway, `n` 0, as seen from the real API); the latest bar is the
newest minute with trades, the live one included; weeks start on Monday; a date as
`start`/`end` is that day's midnight in Chicago (the default `start` is, as documented).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.alpaca import market_data as md
from sandbox.alpaca.facade import AlpacaSandbox
from sandbox.core.market.listings import crypto_feed_symbol
from sandbox.core.market.walk import Market

__all__ = [
    "PREFIX",
    "Stamp",
    "Timeframe",
    "bar",
    "candle_symbol",
    "minute_candles",
    "quote",
    "routes",
    "stamp",
    "trade",
]

PREFIX = f"{md.MOUNT}/v1beta3/crypto/us"
CHICAGO = ZoneInfo("America/Chicago")
#: How far back a candle series' bars reach, in intervals of that series (1Min: about 21
#: days; the hourly series behind days, weeks and months: about 3.4 years).
MAX_INTERVALS = 30_000
DEFAULT_LIMIT = 1000
MAX_LIMIT = 10_000
MINUTE_MS = 60_000
HOUR_MS = 3_600_000
_PAIR_RE = re.compile(r"^[A-Z0-9]{1,12}/[A-Z0-9]{1,12}$")
_TIMEFRAME_RE = re.compile(r"^(\d{1,2})(Min|T|Hour|H|Day|D|Week|W|Month|M)$")
_UNITS = {"T": "Min", "H": "Hour", "D": "Day", "W": "Week", "M": "Month"}
_AMOUNTS = {
    "Min": set(range(1, 60)),
    "Hour": set(range(1, 24)),
    "Day": {1},
    "Week": {1},
    "Month": {1, 2, 3, 4, 6, 12},
}
BAR_PARAMS = {"symbols", "timeframe", "start", "end", "limit", "page_token", "sort"}

#: How a message's time is written: an RFC 3339 string, or (MessagePack) a datetime.
Stamp = Callable[[int], Any]


def rfc3339(ms: int) -> str:
    """An RFC 3339 UTC time from epoch milliseconds, as Go writes it (no trailing zeros):
    `2026-03-02T14:30:00Z`, `2026-03-02T14:30:00.25Z`."""
    whole = dt.datetime.fromtimestamp(ms // 1000, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")
    fraction = f"{ms % 1000:03d}".rstrip("0")
    return f"{whole}.{fraction}Z" if fraction else f"{whole}Z"


def moment(ms: int) -> dt.datetime:
    """The aware UTC datetime of epoch milliseconds (a MessagePack timestamp once packed)."""
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC)


def stamp(msgpack: bool) -> Stamp:
    return moment if msgpack else rfc3339


# --------------------------------------------------------------------------- the market


def quote(market: Market, feed: str, when: Stamp = rfc3339) -> dict[str, Any]:
    """The coin's quote: the feed's bid and ask (sizes in coins)."""
    q = market.quote(feed)
    return {
        "bp": q["bidPrice"],
        "bs": q["bidSize"],
        "ap": q["askPrice"],
        "as": q["askSize"],
        "t": when(q["bidTime"]),
    }


def trade(market: Market, feed: str, when: Stamp = rfc3339) -> dict[str, Any]:
    """The coin's last trade (before its first, the opening state: 1 coin, id 0)."""
    t = market.trade(feed)
    bought = market.last_trade_bought(feed)
    return {
        "p": t["price"],
        "s": t["size"] if t["size"] is not None else 1,
        "t": when(t["time"]),
        "i": t["sequence"],
        "tks": "-" if bought is None else "B" if bought else "S",
    }


def bar(candle: dict[str, Any], when: Stamp = rfc3339) -> dict[str, Any]:
    """A candle (the market's dict) as an Alpaca bar; `vw` 0 when nothing traded."""
    return {
        "t": when(candle["time"]),
        "o": candle["open"],
        "h": candle["high"],
        "l": candle["low"],
        "c": candle["close"],
        "v": candle["volume"],
        "n": candle["count"],
        "vw": candle["vwap"] if candle["volume"] else 0,
    }


def candle_symbol(market: Market, feed: str, width: str) -> str:
    """The feed's candle symbol of a width ("5m", "1h"), registered."""
    symbol = f"{feed}{{={width}}}"
    market.ensure(symbol)
    return symbol


def candles(market: Market, symbol: str, width_ms: int, from_ms: int) -> list[dict[str, Any]]:
    """The candles of a series from the one containing `from_ms` (but at most
    MAX_INTERVALS back) to the live one, oldest first."""
    live = market.candle(symbol)["time"]
    first = max(from_ms, live - MAX_INTERVALS * width_ms)
    return market.candles(symbol, first, MAX_INTERVALS + 1)[::-1]


def minute_candles(market: Market, feed: str, from_ms: int) -> list[dict[str, Any]]:
    return candles(market, candle_symbol(market, feed, "1m"), MINUTE_MS, from_ms)


def _merge(rows: list[dict[str, Any]], start_ms: int) -> dict[str, Any]:
    """One bar of the candles' trades (the flat candles of idle hours add nothing, unless
    nothing traded at all)."""
    group = [c for c in rows if c["count"] > 0] or rows
    volume = sum(c["volume"] for c in group)
    turnover = sum(c["vwap"] * c["volume"] for c in group)
    return {
        "time": start_ms,
        "open": group[0]["open"],
        "high": max(c["high"] for c in group),
        "low": min(c["low"] for c in group),
        "close": group[-1]["close"],
        "volume": volume,
        "count": sum(c["count"] for c in group),
        "vwap": round(turnover / volume, 4) if volume else group[-1]["close"],
    }


def _period_start(ms: int, unit: str, amount: int) -> int:
    """The start (epoch ms) of the Chicago day, ISO week or month group containing `ms`."""
    local = dt.datetime.fromtimestamp(ms / 1000, CHICAGO).date()
    if unit == "Week":
        local -= dt.timedelta(days=local.weekday())
    elif unit == "Month":
        local = dt.date(local.year, (local.month - 1) // amount * amount + 1, 1)
    return int(dt.datetime.combine(local, dt.time(), CHICAGO).timestamp() * 1000)


def long_bars(market: Market, feed: str, unit: str, amount: int, from_ms: int) -> list[dict]:
    """Day, week or month bars (Chicago time) from the hourly candles, oldest first."""
    symbol = candle_symbol(market, feed, "1h")
    hours = candles(market, symbol, HOUR_MS, _period_start(from_ms, unit, 1))
    groups: dict[int, list[dict[str, Any]]] = {}
    for candle in hours:
        groups.setdefault(_period_start(candle["time"], unit, amount), []).append(candle)
    return [_merge(group, start) for start, group in groups.items()]


@dataclass(frozen=True)
class Timeframe:
    amount: int
    unit: str  # Min, Hour, Day, Week, Month

    @classmethod
    def parse(cls, raw: str | None) -> Timeframe:
        m = _TIMEFRAME_RE.match(raw or "")
        if m is None:
            raise md.BadParameter(f"invalid timeframe: {raw!r}")
        amount, unit = int(m.group(1)), _UNITS.get(m.group(2), m.group(2))
        if amount not in _AMOUNTS[unit]:
            raise md.BadParameter(f"invalid timeframe: {raw!r}")
        return cls(amount, unit)

    def bars(self, market: Market, feed: str, start_ms: int, end_ms: int) -> list[dict]:
        """The bars (market candle dicts) starting within [start, end] that have trades."""
        if self.unit in ("Min", "Hour"):
            width = "m" if self.unit == "Min" else "h"
            width_ms = self.amount * (MINUTE_MS if self.unit == "Min" else HOUR_MS)
            symbol = candle_symbol(market, feed, f"{self.amount}{width}")
            rows = candles(market, symbol, width_ms, start_ms)
        else:
            rows = long_bars(market, feed, self.unit, self.amount, start_ms)
        return [c for c in rows if start_ms <= c["time"] <= end_ms and c["count"] > 0]


# --------------------------------------------------------------------------- REST


def _pairs(raw: str | None) -> list[str]:
    """The requested pairs, in order, once each; 400 for no symbols or a non-pair."""
    pairs: list[str] = []
    for text in (raw or "").split(","):
        pair = text.strip().upper()
        if not pair:
            continue
        if _PAIR_RE.match(pair) is None:
            raise md.BadParameter(f"invalid symbol: {text.strip()}")
        if pair not in pairs:
            pairs.append(pair)
    if not pairs:
        raise md.BadParameter("missing symbols")
    return pairs


def _listed(market: Market, pairs: list[str]) -> list[tuple[str, str]]:
    """(pair, feed symbol) of the pairs the market lists (the others are left out)."""
    found = []
    for pair in pairs:
        feed = crypto_feed_symbol(pair)
        if feed is not None and market.ensure(feed):
            found.append((pair, feed))
    return found


def _answer(body: dict[str, Any]) -> Response:
    return Response(orjson.dumps(body), 200, media_type="application/json")


def _latest(
    name: str, build: Callable[[Market, str], dict[str, Any] | None]
) -> Callable[[Request], Any]:
    """A `latest/...` or `snapshots` endpoint: `{name: {pair: build(...)}}`."""

    async def endpoint(request: Request) -> Response:
        facade: AlpacaSandbox = request.app.state.alpaca
        if md.credential(facade, request.headers) is None:
            return md.message(403, "forbidden")
        try:
            md.unexpected(request.query_params, {"symbols"})
            pairs = _pairs(request.query_params.get("symbols"))
        except md.BadParameter as exc:
            return md.message(400, str(exc))
        market = facade.sandbox.market
        found = {pair: build(market, feed) for pair, feed in _listed(market, pairs)}
        return _answer({name: {pair: item for pair, item in found.items() if item is not None}})

    endpoint.__name__ = f"latest_{name}"
    return endpoint


def latest_bar(market: Market, feed: str) -> dict[str, Any] | None:
    """The newest minute bar with trades in the last hour (the live one included)."""
    live = market.candle(candle_symbol(market, feed, "1m"))["time"]
    traded = [c for c in minute_candles(market, feed, live - 60 * MINUTE_MS) if c["count"] > 0]
    return bar(traded[-1]) if traded else None


def snapshot(market: Market, feed: str) -> dict[str, Any]:
    """Latest trade and quote, the live minute bar, and this and the previous Chicago day."""
    live_minute = market.candle(candle_symbol(market, feed, "1m"))
    today = _period_start(live_minute["time"], "Day", 1)
    yesterday = _period_start(today - 1, "Day", 1)
    days = long_bars(market, feed, "Day", 1, yesterday)
    by_start = {d["time"]: d for d in days}
    return {
        "latestTrade": trade(market, feed),
        "latestQuote": quote(market, feed),
        "minuteBar": bar(live_minute),
        "dailyBar": bar(by_start[today]) if today in by_start else None,
        "prevDailyBar": bar(by_start[yesterday]) if yesterday in by_start else None,
    }


async def historical_bars(request: Request) -> Response:
    facade: AlpacaSandbox = request.app.state.alpaca
    if md.credential(facade, request.headers) is None:
        return md.message(403, "forbidden")
    q = request.query_params
    market = facade.sandbox.market
    now_ms = int(facade.sandbox.now() * 1000)
    try:
        md.unexpected(q, BAR_PARAMS)
        pairs = _pairs(q.get("symbols"))
        timeframe = Timeframe.parse(q.get("timeframe"))
        start = md.instant(q.get("start"), "start", CHICAGO)
        end = md.instant(q.get("end"), "end", CHICAGO)
        limit = md.limit(q.get("limit"), DEFAULT_LIMIT, MAX_LIMIT)
        order = md.sort(q.get("sort"), "asc")
        after = md.page_from(q.get("page_token"))
        if after is not None and not (
            len(after) == 2 and isinstance(after[0], str) and isinstance(after[1], int)
        ):
            raise md.BadParameter("invalid page_token")
    except md.BadParameter as exc:
        return md.message(400, str(exc))
    start_ms = int(start * 1000) if start is not None else _period_start(now_ms, "Day", 1)
    end_ms = now_ms if end is None else int(end * 1000)
    rows: list[tuple[str, dict[str, Any]]] = []
    for pair, feed in sorted(_listed(market, pairs)):
        found = timeframe.bars(market, feed, start_ms, end_ms)
        if order == "desc":
            found.reverse()
        rows.extend((pair, c) for c in found)
    if after is not None:
        position = (after[0], after[1])
        rows = [r for r in rows if _after(r, position, descending=order == "desc")]
    page, more = rows[:limit], len(rows) > limit
    bars: dict[str, list[dict[str, Any]]] = {}
    for pair, candle in page:
        bars.setdefault(pair, []).append(bar(candle))
    token = md.page_token([page[-1][0], page[-1][1]["time"]]) if more else None
    return _answer({"bars": bars, "next_page_token": token})


def _after(row: tuple[str, dict[str, Any]], position: tuple[str, int], *, descending: bool) -> bool:
    """Whether a (pair, bar) comes after the page token's in the answer's order: by pair,
    then by time (newest first with `sort=desc`)."""
    pair, time_ms = row[0], row[1]["time"]
    if pair != position[0]:
        return pair > position[0]
    return time_ms < position[1] if descending else time_ms > position[1]


routes = [
    Route(f"{PREFIX}/latest/quotes", _latest("quotes", quote), methods=["GET"]),
    Route(f"{PREFIX}/latest/trades", _latest("trades", trade), methods=["GET"]),
    Route(f"{PREFIX}/latest/bars", _latest("bars", latest_bar), methods=["GET"]),
    Route(f"{PREFIX}/snapshots", _latest("snapshots", snapshot), methods=["GET"]),
    Route(f"{PREFIX}/bars", historical_bars, methods=["GET"]),
]
