"""Alpaca's crypto market data in the sandbox (REST and the real-time socket), as the
official, unmodified alpaca-py 0.44 (`CryptoHistoricalDataClient`, `CryptoDataStream`) and
raw clients see it over real sockets.

Sources:
- alpaca-py data/historical/crypto.py (`get_crypto_latest_quote`, `…_latest_trade`,
  `…_latest_bar`, `…_snapshot`, `get_crypto_bars`: `{url_override}/v1beta3/crypto/us/…`),
  data/models (`Quote`, `Trade`, `Bar`, `Snapshot`, `BarSet`), data/mappings.py,
  common/rest.py `_get_marketdata` (the `next_page_token` loop);
  data/live/crypto.py and data/live/websocket.py (`CryptoDataStream`: MessagePack frames,
  `msg["t"].to_datetime()`).
- Alpaca's Market Data OpenAPI, `CryptoLatestQuotes` (`{"quotes": {pair: {bp, bs, ap, as,
  t}}}`) and `CryptoBars` (`timeframe` `[1-59]Min`…`1Day`…, `start`/`end` inclusive,
  `limit` 1..10000 default 1000 "applies to the total number of data points, not per
  symbol", `sort` asc default, `next_page_token`).
- alpacahq/alpaca-docs data/webapi/entities crypto-latest-trades-beta2.yaml (`{p, s, t, i,
  tks}`, `tks` B/S/-), crypto-snapshots-beta2.yaml (`latestTrade`, `latestQuote`,
  `minuteBar`, `dailyBar`, `prevDailyBar`; daily bars at `05:00:00Z`: midnight in Chicago),
  content/…/crypto-pricing-data/historical.md ("All crypto market data endpoints have been
  made public and require no authentication") and realtime.md (connected, auth, subscribe,
  the subscription answer, the error codes).

The market stands still (`tick_rate=0`): every quote, trade and bar is compared with what
the sandbox's market holds at that moment, moved by `control.set_price`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import orjson
import pytest
import websockets
from alpaca.data.historical.crypto import CryptoHistoricalDataClient
from alpaca.data.live.crypto import CryptoDataStream
from alpaca.data.models import Bar, Quote
from alpaca.data.requests import (
    CryptoBarsRequest,
    CryptoLatestBarRequest,
    CryptoLatestQuoteRequest,
    CryptoLatestTradeRequest,
    CryptoSnapshotRequest,
)
from alpaca.data.timeframe import TimeFrame
from websockets.asyncio.client import connect

from sandbox.core.config import SandboxConfig
from sandbox.core.credentials import credential_id
from sandbox.server import SandboxServer
from tests.support.alpaca import key_id  # noqa: F401  (fixture)
from tests.support.wait import poll_until, wait_until

SECRET = "crypto-data-secret"
BTC, ETH = "BTC/USD", "ETH/USD"
BTC_FEED, ETH_FEED = "BTC/USD:CXTALP", "ETH/USD:CXTALP"  # sandbox/core/market/listings.py
#: Jumps away from the coins' listing prices (95000, 3400), so a bar or trade at one can
#: only come from the jump.
JUMP, JUMP2, ETH_JUMP = 97_250.5, 98_100.25, 3_412.75
CHICAGO = ZoneInfo("America/Chicago")
AUTH_TIMEOUT = 1.0
#: How long one frame may take to arrive (the socket pushes at once; this only bounds a
#: broken test).
FRAME_WITHIN = AUTH_TIMEOUT + 5.0
CHANNELS = ("trades", "quotes", "orderbooks", "bars", "updatedBars", "dailyBars")


@pytest.fixture
def sandbox_config() -> SandboxConfig:
    """The market stands still; a short auth deadline so the timeout is testable."""
    return SandboxConfig(
        tick_rate=0, order_step_interval=0, alpaca_crypto_auth_timeout=AUTH_TIMEOUT
    )


# --------------------------------------------------------------------------- helpers


def _client(sandbox: Any, key: str) -> CryptoHistoricalDataClient:
    return CryptoHistoricalDataClient(key, SECRET, url_override=f"{sandbox.url}/alpaca/data")


def _ws_url(sandbox: Any) -> str:
    return sandbox.url.replace("http://", "ws://") + "/alpaca/data/v1beta3/crypto/us"


def _headers(key: str) -> dict[str, str]:
    return {"APCA-API-KEY-ID": key, "APCA-API-SECRET-KEY": SECRET}


def _moment(ms: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC)


def _rfc(ms: int) -> str:
    """RFC 3339 as Go writes it (Alpaca's API is Go): no trailing zeros in the fraction."""
    text = _moment(ms).strftime("%Y-%m-%dT%H:%M:%S.%f").rstrip("0").rstrip(".")
    return text + "Z"


def _now_ms(sandbox: Any) -> int:
    return int(sandbox.sandbox.now() * 1000)


def _market_quote(sandbox: Any, feed: str) -> tuple[Any, ...]:
    q = sandbox.sandbox.market.quote(feed)
    return (q["bidPrice"], q["bidSize"], q["askPrice"], q["askSize"], _moment(q["bidTime"]))


def _quote_of(q: Quote) -> tuple[Any, ...]:
    return (q.bid_price, q.bid_size, q.ask_price, q.ask_size, q.timestamp)


def _bar_of(b: Bar) -> tuple[Any, ...]:
    return (b.timestamp, b.open, b.high, b.low, b.close, b.volume, b.trade_count, b.vwap)


def _candle_bar(c: dict[str, Any]) -> tuple[Any, ...]:
    """A market candle as the bar alpaca-py should have parsed from it."""
    row = (c["open"], c["high"], c["low"], c["close"], c["volume"], c["count"], c["vwap"])
    return (_moment(c["time"]), *row)


def _chicago_midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), CHICAGO).astimezone(dt.UTC)


def _state(control: Any, key: str) -> dict[str, Any] | None:
    sessions = control.state()["credentials"].get(credential_id(key), {}).get("alpaca-crypto")
    return sessions[0] if sessions else None


async def _recv(ws: Any) -> list[dict[str, Any]]:
    return orjson.loads(await asyncio.wait_for(ws.recv(), FRAME_WITHIN))


async def _send(ws: Any, message: dict[str, Any]) -> None:
    await ws.send(orjson.dumps(message).decode())


def _subscription(**channels: list[str]) -> list[dict[str, Any]]:
    return [{"T": "subscription", **{c: channels.get(c, []) for c in CHANNELS}}]


# --------------------------------------------------------------------------- REST


def test_latest_quotes_are_the_feeds_bid_and_ask(sandbox, control, key_id):  # noqa: F811
    """alpaca-py `get_crypto_latest_quote` (OpenAPI `CryptoLatestQuotes`): each listed
    pair's quote is its feed's bid and ask at that moment, with their sizes and time; a pair
    the market does not list is left out; a jump moves the next answer."""
    client = _client(sandbox, key_id)
    control.set_price(BTC_FEED, JUMP)
    control.set_price(ETH_FEED, ETH_JUMP)
    request = CryptoLatestQuoteRequest(symbol_or_symbols=[BTC, ETH, "DOGE/USD"])
    got = client.get_crypto_latest_quote(request)
    assert sorted(got) == [BTC, ETH]
    assert _quote_of(got[BTC]) == _market_quote(sandbox, BTC_FEED)
    assert _quote_of(got[ETH]) == _market_quote(sandbox, ETH_FEED)
    assert got[BTC].bid_price < JUMP < got[BTC].ask_price
    assert got[ETH].bid_price < ETH_JUMP < got[ETH].ask_price
    control.set_price(BTC_FEED, JUMP2)
    moved = client.get_crypto_latest_quote(CryptoLatestQuoteRequest(symbol_or_symbols=BTC))
    assert _quote_of(moved[BTC]) == _market_quote(sandbox, BTC_FEED)
    assert moved[BTC].bid_price < JUMP2 < moved[BTC].ask_price


def test_latest_trade_is_the_feeds_last_trade(sandbox, control, key_id):  # noqa: F811
    """alpaca-py `get_crypto_latest_trade`; alpaca-docs crypto-latest-trades-beta2.yaml
    (`{p, s, t, i, tks}`, `tks` B, S or -): a jump is a trade at its price whose taker is
    unspecified; the walk's trades hit the ask (`B`) or the bid (`S`)."""
    client = _client(sandbox, key_id)
    market = sandbox.sandbox.market
    control.set_price(BTC_FEED, JUMP)
    jumped = market.trade(BTC_FEED)
    trade = client.get_crypto_latest_trade(CryptoLatestTradeRequest(symbol_or_symbols=BTC))[BTC]
    assert (trade.price, trade.size, trade.id, trade.timestamp) == (
        JUMP,
        1.0,
        jumped["sequence"],
        _moment(jumped["time"]),
    )
    url = f"{sandbox.url}/alpaca/data/v1beta3/crypto/us/latest/trades?symbols={BTC}"
    raw = httpx.get(url, headers=_headers(key_id)).json()
    assert raw == {
        "trades": {
            BTC: {
                "p": JUMP,
                "s": 1,
                "t": _rfc(jumped["time"]),
                "i": jumped["sequence"],
                "tks": "-",
            }
        }
    }
    for _ in range(100):  # the walk trades on 40 % of its ticks (core/market/state.py)
        control.tick(1)
        if market.last_trade_bought(BTC_FEED) is not None:
            break
    else:
        pytest.fail("the walk made no trade in 100 ticks")
    bought = market.last_trade_bought(BTC_FEED)
    walked, quote = market.trade(BTC_FEED), market.quote(BTC_FEED)
    raw = httpx.get(url, headers=_headers(key_id)).json()["trades"][BTC]
    assert (raw["p"], raw["i"], raw["tks"]) == (
        quote["askPrice"] if bought else quote["bidPrice"],
        walked["sequence"],
        "B" if bought else "S",
    )


def test_minute_bars_are_the_feeds_candles_and_end_at_the_last_trade(
    sandbox,
    control,
    key_id,  # noqa: F811
):
    """alpaca-py `get_crypto_bars` with `TimeFrame.Minute` and `get_crypto_latest_bar`
    (OpenAPI `CryptoBars`): every bar is the market's one-minute candle of the coin
    (`BTC/USD:CXTALP{=1m}`) starting within [start, end], oldest first, symbol by symbol;
    the live bar closes at the jump's trade; the latest bar is the live one."""
    client = _client(sandbox, key_id)
    market = sandbox.sandbox.market
    now = _now_ms(sandbox)
    start_ms = now - now % 60_000 - 20 * 60_000 + 30_000  # mid-minute: no edge case
    start = _moment(start_ms)

    def bars() -> dict[str, list[Bar]]:
        request = CryptoBarsRequest(
            symbol_or_symbols=[ETH, BTC], timeframe=TimeFrame.Minute, start=start
        )
        return client.get_crypto_bars(request).data

    bars()  # the candle series are registered from here on: the jumps trade in them
    control.set_price(BTC_FEED, JUMP)
    control.set_price(ETH_FEED, ETH_JUMP)
    got = bars()
    end_ms = _now_ms(sandbox)
    assert sorted(got) == [BTC, ETH]
    for pair, feed, price in ((BTC, BTC_FEED, JUMP), (ETH, ETH_FEED, ETH_JUMP)):
        candles = market.candles(f"{feed}{{=1m}}", start_ms, 100)[::-1]
        expected = [
            _candle_bar(c) for c in candles if start_ms <= c["time"] <= end_ms and c["count"]
        ]
        assert [_bar_of(b) for b in got[pair]] == expected
        assert len(expected) >= 20  # each made-up minute traded
        assert got[pair][-1].close == price
        assert all(
            b.low <= min(b.open, b.close) <= max(b.open, b.close) <= b.high for b in got[pair]
        )
    latest = client.get_crypto_latest_bar(CryptoLatestBarRequest(symbol_or_symbols=BTC))
    assert _bar_of(latest[BTC]) == _bar_of(got[BTC][-1])


def test_bar_pages_are_counted_over_all_symbols_and_sorted(sandbox, control, key_id):  # noqa: F811
    """OpenAPI `CryptoBars`: `limit` caps the data points of a page over all symbols, the
    answer is sorted by symbol and then by time (newest first with `sort=desc`), and
    `next_page_token` continues where the page ended until it is null."""
    url = f"{sandbox.url}/alpaca/data/v1beta3/crypto/us/bars"
    now = _now_ms(sandbox)
    params = {
        "symbols": f"{ETH},{BTC}",
        "timeframe": "1Min",
        "start": _rfc(now - now % 60_000 - 10 * 60_000 + 30_000),
        "end": _rfc(now),
    }
    with httpx.Client(headers=_headers(key_id)) as http:
        whole = http.get(url, params=params).json()
        assert whole["next_page_token"] is None and sorted(whole["bars"]) == [BTC, ETH]
        everything = [(pair, bar) for pair in (BTC, ETH) for bar in whole["bars"][pair]]
        assert len(everything) >= 20
        for order, rows in (("asc", everything), ("desc", None)):
            paged: list[tuple[str, dict[str, Any]]] = []
            token = None
            while True:
                page = {**params, "limit": "7", "sort": order}
                if token:
                    page["page_token"] = token
                answer = http.get(url, params=page).json()
                got = [(pair, bar) for pair, bars in answer["bars"].items() for bar in bars]
                assert len(got) <= 7
                paged += got
                token = answer["next_page_token"]
                if token is None:
                    break
            if rows is None:  # desc: per symbol, newest first
                rows = [(p, b) for p in (BTC, ETH) for b in reversed(whole["bars"][p])]
            assert paged == rows, order


def test_day_bars_are_chicago_days_of_the_hourly_bars(sandbox, control, key_id):  # noqa: F811
    """OpenAPI `CryptoBars` `1Day`; alpaca-docs crypto-snapshots-beta2.yaml (daily bars at
    `05:00:00Z`, midnight in Chicago): a day bar merges the coin's hourly bars of that
    Chicago day, and today's closes at the last trade."""
    client = _client(sandbox, key_id)
    today = dt.datetime.fromtimestamp(_now_ms(sandbox) / 1000, CHICAGO).date()
    first = today - dt.timedelta(days=3)
    start = _chicago_midnight(first)

    def bars(timeframe: TimeFrame) -> list[Bar]:
        request = CryptoBarsRequest(symbol_or_symbols=BTC, timeframe=timeframe, start=start)
        return client.get_crypto_bars(request).data[BTC]

    bars(TimeFrame.Day)  # registers the hourly candles: the jump trades in them
    control.set_price(BTC_FEED, JUMP)
    days, hours = bars(TimeFrame.Day), bars(TimeFrame.Hour)
    expected_days = [first + dt.timedelta(days=i) for i in range(4)]
    assert [d.timestamp for d in days] == [_chicago_midnight(day) for day in expected_days]
    for day, bar in zip(expected_days, days, strict=True):
        of_day = [h for h in hours if h.timestamp.astimezone(CHICAGO).date() == day]
        assert of_day, day
        assert (bar.open, bar.high, bar.low, bar.close, bar.volume, bar.trade_count) == (
            of_day[0].open,
            max(h.high for h in of_day),
            min(h.low for h in of_day),
            of_day[-1].close,
            sum(h.volume for h in of_day),
            sum(h.trade_count or 0 for h in of_day),
        )
        turnover = sum((h.vwap or 0) * h.volume for h in of_day)
        assert bar.vwap == pytest.approx(turnover / bar.volume, abs=1e-3)
    assert days[-1].close == JUMP


def test_snapshot_is_the_latest_quote_trade_and_bars(sandbox, control, key_id):  # noqa: F811
    """alpaca-py `get_crypto_snapshot`; alpaca-docs crypto-snapshots-beta2.yaml: the latest
    trade and quote, the live minute bar, today's daily bar (Chicago) and the day before,
    each as the other endpoints report it."""
    client = _client(sandbox, key_id)
    request = CryptoSnapshotRequest(symbol_or_symbols=[BTC, "ETH/BTC"])
    client.get_crypto_snapshot(request)  # registers the candles: the jump trades in them
    control.set_price(BTC_FEED, JUMP)
    before = _now_ms(sandbox)
    snapshots = client.get_crypto_snapshot(request)
    after = _now_ms(sandbox)
    assert sorted(snapshots) == [BTC]  # ETH/BTC: the market quotes no such pair
    snap = snapshots[BTC]
    assert snap.latest_quote is not None and snap.latest_trade is not None
    assert _quote_of(snap.latest_quote) == _market_quote(sandbox, BTC_FEED)
    trade = sandbox.sandbox.market.trade(BTC_FEED)
    assert (snap.latest_trade.price, snap.latest_trade.id) == (JUMP, trade["sequence"])
    minute, today = snap.minute_bar, snap.daily_bar
    assert minute is not None and today is not None and snap.previous_daily_bar is not None
    minutes = {_moment(t - t % 60_000) for t in (before, after)}
    assert minute.timestamp in minutes and minute.close == JUMP
    day = today.timestamp.astimezone(CHICAGO).date()
    assert today.timestamp == _chicago_midnight(day)
    assert dt.datetime.fromtimestamp(before / 1000, CHICAGO).date() <= day
    assert today.close == JUMP and today.low <= JUMP <= today.high
    yesterday = _chicago_midnight(day - dt.timedelta(days=1))
    days = client.get_crypto_bars(
        CryptoBarsRequest(symbol_or_symbols=BTC, timeframe=TimeFrame.Day, start=yesterday)
    ).data[BTC]
    assert [_bar_of(b) for b in days] == [_bar_of(snap.previous_daily_bar), _bar_of(today)]


def test_rest_shapes_keys_and_errors(sandbox, control, key_id):  # noqa: F811
    """alpaca-docs historical.md: crypto market data needs no key; the OpenAPI's field sets
    and 400 `{"message"}` for an invalid parameter; a wrong key is refused (403)."""
    base = f"{sandbox.url}/alpaca/data/v1beta3/crypto/us"
    control.set_price(BTC_FEED, JUMP)
    with httpx.Client() as http:
        public = http.get(f"{base}/latest/quotes", params={"symbols": BTC})
        assert public.status_code == 200
        assert set(public.json()["quotes"][BTC]) == {"bp", "bs", "ap", "as", "t"}
        keyed = http.get(f"{base}/latest/quotes?symbols={BTC}", headers=_headers(key_id))
        assert keyed.json() == public.json()
        wrong = http.get(
            f"{base}/latest/quotes?symbols={BTC}",
            headers={**_headers(key_id), "APCA-API-SECRET-KEY": "not-it"},
        )
        assert (wrong.status_code, wrong.json()) == (403, {"message": "forbidden"})
        trade = http.get(f"{base}/latest/trades?symbols={BTC}").json()["trades"][BTC]
        assert set(trade) == {"p", "s", "t", "i", "tks"}
        bar = http.get(f"{base}/latest/bars?symbols={BTC}").json()["bars"][BTC]
        assert set(bar) == {"t", "o", "h", "l", "c", "v", "n", "vw"}
        assert bar["t"].endswith(":00Z")
        snapshot = http.get(f"{base}/snapshots?symbols={BTC}").json()["snapshots"][BTC]
        assert set(snapshot) == {
            "latestTrade",
            "latestQuote",
            "minuteBar",
            "dailyBar",
            "prevDailyBar",
        }
        empty = http.get(f"{base}/latest/quotes?symbols=DOGE/USD,ETH/BTC")
        assert (empty.status_code, empty.json()) == (200, {"quotes": {}})
        cases = {
            "latest/quotes?symbols=AAPL": "invalid symbol: AAPL",
            "latest/trades?symbols=BTCUSD": "invalid symbol: BTCUSD",
            "latest/quotes": "missing symbols",
            "latest/quotes?symbols=BTC/USD&feed=us": "unexpected query parameter(s): feed",
            "bars?symbols=BTC/USD": "invalid timeframe: None",
            "bars?symbols=BTC/USD&timeframe=60Min": "invalid timeframe: '60Min'",
            "bars?symbols=BTC/USD&timeframe=5Month": "invalid timeframe: '5Month'",
            "bars?symbols=BTC/USD&timeframe=1Min&limit=10001": (
                "invalid limit: must be between 1 and 10000"
            ),
            "bars?symbols=BTC/USD&timeframe=1Min&sort=up": "invalid sort: 'up'",
            "bars?symbols=BTC/USD&timeframe=1Min&start=soon": "invalid start: 'soon'",
            "bars?symbols=BTC/USD&timeframe=1Min&page_token=%%%": "invalid page_token",
        }
        for query, text in cases.items():
            response = http.get(f"{base}/{query}")
            assert (response.status_code, response.json()) == (400, {"message": text}), query


# --------------------------------------------------------------------------- the socket


def test_crypto_data_stream_sdk_receives_the_feeds_quotes_and_trades(
    sandbox,
    control,
    key_id,  # noqa: F811
):
    """The unmodified `CryptoDataStream` (MessagePack, alpaca-py data/live/websocket.py)
    subscribes to BTC/USD quotes and trades and receives, for each jump of the coin, the
    feed's quote at that moment and the trade; another coin's jump sends it nothing."""
    stream = CryptoDataStream(key_id, SECRET, url_override=_ws_url(sandbox))
    quotes: list[Quote] = []
    trades: list[Any] = []

    async def on_quote(quote: Quote) -> None:
        quotes.append(quote)

    async def on_trade(trade: Any) -> None:
        trades.append(trade)

    stream.subscribe_quotes(on_quote, BTC)
    stream.subscribe_trades(on_trade, BTC)
    thread = threading.Thread(target=stream.run, daemon=True)
    thread.start()
    market = sandbox.sandbox.market
    expected_quotes, expected_trades = [], []
    try:

        def subscribed() -> bool:
            state = _state(control, key_id)
            return bool(state) and state["quotes"] == [BTC] and state["trades"] == [BTC]

        poll_until(subscribed, within=FRAME_WITHIN, what="subscribed")
        assert _state(control, key_id)["msgpack"] is True  # type: ignore[index]
        for n, price in enumerate((JUMP, JUMP2), start=1):
            control.set_price(ETH_FEED, ETH_JUMP + n)  # not subscribed: never sent
            control.set_price(BTC_FEED, price)
            expected_quotes.append(_market_quote(sandbox, BTC_FEED))
            t = market.trade(BTC_FEED)
            expected_trades.append((BTC, price, 1.0, t["sequence"], _moment(t["time"])))
            poll_until(
                lambda n=n: len(quotes) >= n and len(trades) >= n,
                within=FRAME_WITHIN,
                what=f"quote and trade {n}",
            )
    finally:
        got_quotes, got_trades = list(quotes), list(trades)  # what arrived before the stop
        asyncio.run(stream.stop_ws())
        control.set_price(BTC_FEED, JUMP)  # a frame: the SDK's receive loop sees the stop now
        thread.join(10)
    assert [q.symbol for q in got_quotes] == [BTC, BTC]
    assert [_quote_of(q) for q in got_quotes] == expected_quotes
    assert [(t.symbol, t.price, t.size, t.id, t.timestamp) for t in got_trades] == expected_trades


async def test_raw_socket_protocol_and_errors(sandbox, control, key_id):  # noqa: F811
    """alpaca-docs realtime.md over JSON text frames: connected, 401 before auth, 402 bad
    key, authenticated, 403 twice, 400 garbage, 410 a channel the crypto feed lacks, the
    whole subscription after each change, the pushes of one jump (the feed's quote and the
    trade), unsubscribe, and 406 for a second socket of the key."""
    market = sandbox.sandbox.market
    async with connect(_ws_url(sandbox)) as ws:
        assert await _recv(ws) == [{"T": "success", "msg": "connected"}]
        await _send(ws, {"action": "subscribe", "quotes": [BTC]})
        assert await _recv(ws) == [{"T": "error", "code": 401, "msg": "not authenticated"}]
        await _send(ws, {"action": "auth", "key": key_id, "secret": ""})
        assert await _recv(ws) == [{"T": "error", "code": 402, "msg": "auth failed"}]
        await _send(ws, {"action": "auth", "key": key_id, "secret": SECRET})
        assert await _recv(ws) == [{"T": "success", "msg": "authenticated"}]
        await _send(ws, {"action": "auth", "key": key_id, "secret": SECRET})
        assert await _recv(ws) == [{"T": "error", "code": 403, "msg": "already authenticated"}]
        await ws.send("not json")
        assert await _recv(ws) == [{"T": "error", "code": 400, "msg": "invalid syntax"}]
        await _send(ws, {"action": "subscribe", "news": ["AAPL"]})
        assert await _recv(ws) == [
            {"T": "error", "code": 410, "msg": "invalid subscribe action for this feed"}
        ]
        await _send(ws, {"action": "subscribe", "quotes": ["btc/usd"], "trades": [BTC]})
        assert await _recv(ws) == _subscription(quotes=[BTC], trades=[BTC])
        await asyncio.to_thread(control.set_price, BTC_FEED, JUMP)
        q, t = market.quote(BTC_FEED), market.trade(BTC_FEED)
        assert await _recv(ws) == [
            {
                "T": "q",
                "S": BTC,
                "bp": q["bidPrice"],
                "bs": q["bidSize"],
                "ap": q["askPrice"],
                "as": q["askSize"],
                "t": _rfc(q["bidTime"]),
            },
            {
                "T": "t",
                "S": BTC,
                "p": JUMP,
                "s": 1,
                "t": _rfc(t["time"]),
                "i": t["sequence"],
                "tks": "-",
            },
        ]
        await _send(ws, {"action": "unsubscribe", "quotes": [BTC]})
        assert await _recv(ws) == _subscription(trades=[BTC])
        await asyncio.to_thread(control.set_price, BTC_FEED, JUMP2)
        t = market.trade(BTC_FEED)
        pushed = await _recv(ws)
        assert [(m["T"], m["p"], m["i"]) for m in pushed] == [("t", JUMP2, t["sequence"])]
        async with connect(_ws_url(sandbox), additional_headers=_headers(key_id)) as second:
            assert await _recv(second) == [{"T": "success", "msg": "connected"}]
            assert await _recv(second) == [
                {"T": "error", "code": 406, "msg": "connection limit exceeded"}
            ]
            await asyncio.wait_for(second.wait_closed(), FRAME_WITHIN)


async def test_header_auth_wildcard_and_auth_timeout(sandbox, control, key_id):  # noqa: F811
    """realtime.md: handshake headers authenticate at once; `*` subscribes every coin; a
    socket that never authenticates gets 404 after `alpaca_crypto_auth_timeout` and is
    closed."""
    async with connect(_ws_url(sandbox), additional_headers=_headers(key_id)) as ws:
        assert await _recv(ws) == [{"T": "success", "msg": "connected"}]
        assert await _recv(ws) == [{"T": "success", "msg": "authenticated"}]
        await _send(ws, {"action": "subscribe", "quotes": ["*"]})
        assert await _recv(ws) == _subscription(quotes=["*"])
        await asyncio.to_thread(control.set_price, ETH_FEED, ETH_JUMP)
        assert [(m["T"], m["S"]) for m in await _recv(ws)] == [("q", ETH)]
    async with connect(_ws_url(sandbox)) as ws:
        assert await _recv(ws) == [{"T": "success", "msg": "connected"}]
        assert await _recv(ws) == [{"T": "error", "code": 404, "msg": "auth timeout"}]
        await asyncio.wait_for(ws.wait_closed(), FRAME_WITHIN)


async def test_faults_aim_at_the_crypto_socket(sandbox, control, key_id):  # noqa: F811
    """docs/sandbox.md "Control API": the socket is kind `alpaca-crypto`, an Alpaca
    connection: a silence loses what it would have sent, a blackout holds it until it ends,
    a drop closes it with the code, refuse_sessions refuses the handshake."""
    cid = credential_id(key_id)
    market = sandbox.sandbox.market

    def session() -> dict[str, Any]:
        state = _state(control, key_id)
        assert state is not None
        return state

    async def jump(price: float) -> float:
        await asyncio.to_thread(control.set_price, BTC_FEED, price)
        return float(market.quote(BTC_FEED)["bidPrice"])

    async with connect(_ws_url(sandbox), additional_headers=_headers(key_id)) as ws:
        assert await _recv(ws) == [{"T": "success", "msg": "connected"}]
        assert await _recv(ws) == [{"T": "success", "msg": "authenticated"}]
        await _send(ws, {"action": "subscribe", "quotes": [BTC]})
        assert await _recv(ws) == _subscription(quotes=[BTC])
        silenced = await asyncio.to_thread(
            control.fault, "silence", target="alpaca-crypto", credential=cid
        )
        assert silenced == {"affected": 1}
        await jump(JUMP)
        await wait_until(
            lambda: session()["messages_suppressed"] == 1, FRAME_WITHIN, "frame suppressed"
        )
        await asyncio.to_thread(control.clear_faults)
        bid = await jump(JUMP2)
        assert [m["bp"] for m in await _recv(ws)] == [bid]  # the silenced frame is gone
        held = await asyncio.to_thread(control.fault, "blackout", broker="alpaca", seconds=60)
        assert held == {"affected": 1, "seconds": 60.0}
        bid = await jump(JUMP2 + 100)
        assert session()["blacked_out"] is True
        await asyncio.to_thread(control.fault, "blackout", broker="alpaca", seconds=0)
        assert [m["bp"] for m in await _recv(ws)] == [bid]  # held, then sent
        dropped = await asyncio.to_thread(
            control.fault, "drop", broker="alpaca", target="alpaca-crypto", code=1011
        )
        assert dropped == {"affected": 1}
        await asyncio.wait_for(ws.wait_closed(), FRAME_WITHIN)
        assert ws.close_code == 1011
    control.fault("refuse_sessions", target="alpaca-crypto", status=503)
    with pytest.raises(websockets.InvalidStatus) as refused:
        await connect(_ws_url(sandbox))
    assert refused.value.response.status_code == 503


#: A minute boundary of the sandbox's clock, shortly after it starts (`start_time`).
BOUNDARY = dt.datetime(2026, 3, 2, 14, 31, tzinfo=dt.UTC).timestamp()
LEAD = 5.0


async def test_a_minute_bar_is_pushed_when_its_minute_closes(key_id):  # noqa: F811
    """realtime.md ("minute bars (`bars`)", `{"T":"b","S","o","h","l","c","v","t","n",
    "vw"}`): once a minute with trades has closed, the next tick pushes its bar, the same
    bar the REST bars endpoint answers for that minute. The sandbox's clock starts `LEAD`
    seconds before a minute boundary, so the wait is short (and bounded by one minute)."""
    config = SandboxConfig(tick_rate=0, order_step_interval=0, start_time=BOUNDARY - LEAD)
    with SandboxServer(config) as server:
        control = server.control()
        try:
            async with connect(_ws_url(server), additional_headers=_headers(key_id)) as ws:
                assert await _recv(ws) == [{"T": "success", "msg": "connected"}]
                assert await _recv(ws) == [{"T": "success", "msg": "authenticated"}]
                await _send(ws, {"action": "subscribe", "bars": [BTC]})
                assert await _recv(ws) == _subscription(bars=[BTC])
                while True:  # a trade within one minute (again if the minute turned meanwhile)
                    before = server.sandbox.now()
                    await asyncio.to_thread(control.set_price, BTC_FEED, JUMP)
                    if server.sandbox.now() // 60 == before // 60:
                        break
                minute_ms = int(before // 60 * 60_000)
                await wait_until(
                    lambda: server.sandbox.now() * 1000 >= minute_ms + 60_000,
                    60 + LEAD,
                    "the minute closes",
                )
                await asyncio.to_thread(control.tick, 1)
                pushed: list[dict[str, Any]] = []
                while not any(m["t"] == _rfc(minute_ms) for m in pushed):
                    pushed += await _recv(ws)
            url = f"{server.url}/alpaca/data/v1beta3/crypto/us/bars"
            params = {
                "symbols": BTC,
                "timeframe": "1Min",
                "start": _rfc(minute_ms),
                "end": _rfc(minute_ms),
            }
            async with httpx.AsyncClient() as http:
                rest = (await http.get(url, params=params)).json()["bars"][BTC]
        finally:
            control.close()
    assert {m["T"] for m in pushed} == {"b"}
    bar = next(m for m in pushed if m["t"] == _rfc(minute_ms))
    assert bar == {"T": "b", "S": BTC, **rest[0]} and len(rest) == 1
    assert bar["c"] == JUMP and bar["n"] >= 1
