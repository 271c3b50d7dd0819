"""The real SDK's DXLinkStreamer against the sandbox's DXLink websocket."""

from __future__ import annotations

import datetime as dt
import json
import math

import anyio
import pytest
import websockets
from tastytrade import DXLinkStreamer
from tastytrade.dxfeed import Candle, Greeks, Quote, Summary, TimeAndSale, Trade
from tastytrade.instruments import NestedOptionChain

from sandbox import probe
from sandbox.core.config import SandboxConfig
from tests.support.sdk import cred, sdk_session

EQUITIES = ["SPY", "QQQ", "AAPL", "MSFT", "NVDA", "TSLA", "AMZN", "META", "GOOGL", "IWM"]


async def collect(streamer: DXLinkStreamer, cls: type, symbols: set[str], within: float = 10):
    """Latest event per symbol until every symbol has reported."""
    seen: dict[str, object] = {}
    with anyio.fail_after(within):
        async for event in streamer.listen(cls):
            seen[event.event_symbol] = event
            if symbols <= seen.keys():
                return seen
    raise AssertionError("unreachable")


# the market moves only when the test moves it: a quote's sequence counts its symbol's ticks
@pytest.mark.parametrize("sandbox_config", [SandboxConfig(tick_rate=0)])
async def test_quotes_for_many_symbols(sandbox, control, refresh_token):
    """Quotes arrive for 60 symbols (known and hashed tickers) with bid < ask and sizes."""
    symbols = EQUITIES + [f"ZZ{chr(65 + i // 26)}{chr(65 + i % 26)}" for i in range(50)]
    async with sdk_session(sandbox, refresh_token) as session, DXLinkStreamer(session) as streamer:
        await streamer.subscribe(Quote, symbols)
        quotes = await collect(streamer, Quote, set(symbols))
        for quote in quotes.values():
            assert 0 < quote.bid_price < quote.ask_price
            assert quote.bid_size > 0 and quote.ask_size > 0
        # and they keep coming as the market ticks
        first = quotes["SPY"].sequence
        control.set_price("SPY", 612.5)
        while (later := await streamer.get_event(Quote)).event_symbol != "SPY":
            pass
        state = control.state()["credentials"][cred(refresh_token)]
    assert len(state["dxlink"]) == 1
    subscriptions = state["dxlink"][0]["channels"]["7"]["subscriptions"]["Quote"]
    assert sorted(subscriptions) == sorted(symbols)
    # SPY had not ticked before it was subscribed; the move is its first tick
    assert (first, later.sequence) == (0, 1)
    assert later.bid_price < 612.5 < later.ask_price


async def test_trades_summaries_and_unsubscribe(sandbox, control, refresh_token):
    """Trade and Summary events parse; unsubscribe removes the symbol from the session."""
    async with sdk_session(sandbox, refresh_token) as session, DXLinkStreamer(session) as streamer:
        await streamer.subscribe(Trade, ["SPY", "AAPL"])
        await streamer.subscribe(Summary, ["SPY", "AAPL"])
        trades = await collect(streamer, Trade, {"SPY", "AAPL"})
        summaries = await collect(streamer, Summary, {"SPY", "AAPL"})
        for symbol in ("SPY", "AAPL"):
            s = summaries[symbol]
            assert s.day_low_price <= s.day_high_price
            assert trades[symbol].price > 0
        await streamer.unsubscribe(Trade, ["AAPL"])
        await anyio.sleep(0.3)
        sessions = control.state()["credentials"][cred(refresh_token)]["dxlink"]
        channels = sessions[0]["channels"]
        assert channels["15"]["subscriptions"]["Trade"] == ["SPY"]
        assert channels["9"]["subscriptions"]["Summary"] == ["AAPL", "SPY"]
        await streamer.unsubscribe_all(Summary)
        await anyio.sleep(0.3)
        channels = control.state()["credentials"][cred(refresh_token)]["dxlink"][0]["channels"]
        assert "9" not in channels
        # the SDK re-requests a cancelled channel on the next subscribe
        await streamer.subscribe(Summary, ["QQQ"])
        assert "QQQ" in await collect(streamer, Summary, {"QQQ"})


async def test_greeks_for_option_chain_symbols_move_with_the_underlying(sandbox, refresh_token):
    """Greeks arrive for every subscribed option, in range, and change as SPY ticks."""
    async with sdk_session(sandbox, refresh_token) as session:
        chain = (await NestedOptionChain.get(session, "SPY"))[0]
        grid = chain.expirations[1].strikes
        strikes = grid[len(grid) // 2 - 5 : len(grid) // 2 + 5]  # around the money
        calls = [s.call_streamer_symbol for s in strikes]
        puts = [s.put_streamer_symbol for s in strikes]
        async with DXLinkStreamer(session) as streamer:
            await streamer.subscribe(Greeks, calls + puts)
            first = await collect(streamer, Greeks, set(calls + puts))
            for symbol, greeks in first.items():
                assert greeks.volatility > 0 and greeks.gamma >= 0 and greeks.vega >= 0
                if symbol in calls:
                    assert 0 <= greeks.delta <= 1
                else:
                    assert -1 <= greeks.delta <= 0
            later = await collect(streamer, Greeks, {calls[5]})
            while later[calls[5]].price == first[calls[5]].price:
                later = await collect(streamer, Greeks, {calls[5]})
            assert later[calls[5]].delta != first[calls[5]].delta


async def test_candles_snapshot_from_start_time_then_live(sandbox, refresh_token):
    """subscribe_candle sends history from the start time (aligned), then live updates."""
    width = 5 * 60_000
    start_ms = int(dt.datetime.now(dt.UTC).timestamp() * 1000) // width * width - 24 * width
    start = dt.datetime.fromtimestamp(start_ms / 1000, dt.UTC)
    async with sdk_session(sandbox, refresh_token) as session, DXLinkStreamer(session) as streamer:
        await streamer.subscribe_candle(["SPY"], "5m", start)
        candles: list[Candle] = []
        with anyio.fail_after(10):
            async for candle in streamer.listen(Candle):
                candles.append(candle)
                if candle.time == start_ms:
                    break
        assert candles[0].event_symbol == "SPY{=5m,tho=true}"
        # one per 5 minutes from the start through the current one: 25, or 26 when a new
        # 5 minutes began between the start's reckoning and the sandbox's answer
        newest = candles[0].time
        assert newest in (start_ms + 24 * width, start_ms + 25 * width)
        assert len(candles) == (newest - start_ms) // width + 1
        assert all(c.low <= min(c.open, c.close) <= max(c.open, c.close) <= c.high for c in candles)
        assert [c.time for c in candles] == sorted((c.time for c in candles), reverse=True)
        with anyio.fail_after(10):
            live = await streamer.get_event(Candle)
        assert live.time == candles[0].time


async def test_aggregation_period_is_honoured(sandbox, refresh_token):
    """With refresh_interval=0.5 a symbol is sent at most once per half second: counted over a
    window (the gaps between receipts are not the sandbox's: a reader held up by a loaded
    box receives two sends close together). The sandbox ticks SPY 20 times a second."""
    window = 3.0
    async with sdk_session(sandbox, refresh_token) as session, DXLinkStreamer(session) as streamer:
        await streamer.subscribe(Quote, ["SPY"], refresh_interval=0.5)
        events = streamer.listen(Quote)
        with anyio.fail_after(10):
            await anext(events)  # the window starts at a send
        received = 0
        with anyio.move_on_after(window):
            async for _ in events:
                received += 1
    # a send every 0.5 s: 6 in the window, one more held over from before its start; without
    # the aggregation 60
    assert 2 <= received <= window / 0.5 + 1, received


async def test_large_subscriptions_are_split_under_64_kib(sandbox, control, refresh_token):
    """3,000 symbols' quotes come in several FEED_DATA messages, none over the SDK's limit."""
    control.configure(tick_rate=0.0)
    symbols = [f"Q{i:04d}" for i in range(3000)]
    token = await probe.quote_token(sandbox.url, refresh_token)
    fields = ["eventSymbol", "bidPrice", "askPrice"]
    ws = await probe.open_quote_feed(sandbox.dxlink_url, token, symbols, fields=fields)
    async with ws:
        seen: set[str] = set()
        sizes = []
        with anyio.fail_after(10):
            while len(seen) < len(symbols):
                raw = await ws.recv()
                message = json.loads(raw)
                if message["type"] != "FEED_DATA":
                    continue
                sizes.append(len(raw.encode()))
                values = message["data"][1]
                assert message["data"][0] == "Quote" and len(values) % 3 == 0
                seen.update(values[0::3])
    assert len(sizes) > 1
    assert max(sizes) < 64 * 1024
    # and the SDK copes with it too
    async with sdk_session(sandbox, refresh_token) as session, DXLinkStreamer(session) as streamer:
        await streamer.subscribe(Quote, symbols)
        assert len(await collect(streamer, Quote, set(symbols))) == 3000


async def test_invalid_token_and_message_errors(sandbox, refresh_token):
    """A bad AUTH token and a malformed message get DXLink ERROR frames, then a close."""
    async with websockets.connect(sandbox.dxlink_url) as ws:
        await ws.send(json.dumps({"type": "SETUP", "channel": 0, "version": "t"}))
        await ws.send(json.dumps({"type": "AUTH", "channel": 0, "token": "forged"}))
        messages = [json.loads(m) async for m in ws]
    assert messages[-1]["type"] == "ERROR" and messages[-1]["error"] == "UNAUTHORIZED"
    async with websockets.connect(sandbox.dxlink_url) as ws:
        await ws.send("{not json")
        messages = [json.loads(m) async for m in ws]
    assert messages == [
        {"type": "ERROR", "channel": 0, "error": "BAD_ACTION", "message": "Malformed message"}
    ]


def test_field_order_follows_the_clients_feed_setup():
    """The sandbox's default field lists are exactly the SDK's model field order."""
    from tastytrade.dxfeed import Profile, TheoPrice

    from sandbox.core.market.events import EVENT_FIELDS

    for cls in (Quote, Greeks, Trade, Summary, Candle, TheoPrice, Profile, TimeAndSale):
        assert EVENT_FIELDS[cls.__name__] == tuple(cls.model_json_schema()["properties"])
    assert not math.isnan(0.0)


@pytest.mark.parametrize("interval", ["1m", "1h", "1d"])
async def test_candle_widths(sandbox, refresh_token, interval):
    """Candle history exists for several widths, each candle aligned to its width."""
    width = {"1m": 60_000, "1h": 3_600_000, "1d": 86_400_000}[interval]
    start = dt.datetime.now(dt.UTC) - dt.timedelta(milliseconds=width * 10)
    async with sdk_session(sandbox, refresh_token) as session, DXLinkStreamer(session) as streamer:
        await streamer.subscribe_candle(["AAPL"], interval, start)
        candles = []
        with anyio.fail_after(10):
            while len(candles) < 10:
                candles.append(await streamer.get_event(Candle))
    assert all(c.time % width == 0 for c in candles)


async def test_time_and_sale_delivers_every_trade_the_trade_events_show(sandbox, refresh_token):
    """Each trade comes once as TimeAndSale, in sequence, priced at the side that took it;
    every Trade event (the latest trade) is one of them, with the same price and size."""
    symbols = ["SPY", "AAPL"]
    async with sdk_session(sandbox, refresh_token) as session, DXLinkStreamer(session) as streamer:
        await streamer.subscribe(TimeAndSale, symbols)
        await streamer.subscribe(Trade, symbols)
        trades: list[Trade] = []
        with anyio.fail_after(10):
            while len(trades) < 12:
                trade = await streamer.get_event(Trade)
                if trade.sequence:  # sequence 0: the day's state before any simulated trade
                    trades.append(trade)
        wanted = {(t.event_symbol, t.sequence): (t.time, t.price, t.size) for t in trades}
        sales: dict[tuple[str, int], TimeAndSale] = {}
        last: dict[str, int] = {}
        with anyio.fail_after(10):
            while not wanted.keys() <= sales.keys():
                sale = await streamer.get_event(TimeAndSale)
                key = (sale.event_symbol, sale.sequence)
                assert sale.sequence > last.get(sale.event_symbol, -1)  # once, in order
                last[sale.event_symbol] = sale.sequence
                sales[key] = sale
    for key, (time_ms, price, size) in wanted.items():
        sale = sales[key]
        assert (sale.time, sale.price, sale.size) == (time_ms, price, size)
    for sale in sales.values():
        taken = sale.ask_price if sale.aggressor_side == "BUY" else sale.bid_price
        assert sale.price == taken and sale.bid_price < sale.ask_price
        assert sale.type == "NEW" and sale.valid_tick and sale.event_flags == 0
        assert sale.index >> 32 == sale.time // 1000


async def test_time_and_sale_from_time_gets_the_remembered_trades_first(sandbox, refresh_token):
    """A subscription with `fromTime` is answered with the trades since then, newest first,
    flagged as a snapshot, in the COMPACT field order the client asked for."""
    fields = list(TimeAndSale.model_json_schema()["properties"])
    width = len(fields)
    token = await probe.quote_token(sandbox.url, refresh_token)
    setup = probe.handshake(token, [], channel=13)
    setup[3]["acceptEventFields"] = {"TimeAndSale": fields}
    setup[4]["add"] = [{"type": "TimeAndSale", "symbol": "SPY"}]

    async def rows(ws) -> list[dict]:
        while True:
            message = json.loads(await ws.recv())
            if message["type"] == "FEED_DATA":
                kind, values = message["data"]
                assert kind == "TimeAndSale" and len(values) % width == 0
                return [
                    dict(zip(fields, values[i : i + width], strict=True))
                    for i in range(0, len(values), width)
                ]

    async with websockets.connect(sandbox.dxlink_url) as ws:
        for message in setup:
            await ws.send(json.dumps(message))
        live: list[dict] = []
        with anyio.fail_after(10):
            while len(live) < 6:
                live += await rows(ws)
        since = live[1]["time"]
        add = {"type": "TimeAndSale", "symbol": "SPY", "fromTime": since}
        await ws.send(json.dumps({"type": "FEED_SUBSCRIPTION", "channel": 13, "add": [add]}))
        with anyio.fail_after(10):
            snapshot = await rows(ws)
            while not snapshot[0]["eventFlags"] & 0x4:  # live rows sent before the snapshot
                snapshot = await rows(ws)
    assert snapshot[0]["eventFlags"] & 0x4 and snapshot[-1]["eventFlags"] & 0x8
    assert all(r["time"] >= since for r in snapshot)
    sequences = [r["sequence"] for r in snapshot]
    assert sequences == sorted(sequences, reverse=True)
    assert {r["sequence"] for r in live[1:]} <= set(sequences)
    assert all(r["buyer"] == "NaN" and r["aggressorSide"] in ("BUY", "SELL") for r in snapshot)
