"""The sandbox's DXLink candles of every kind it quotes beside stocks, read with the real
SDK: a coin (`BTC/USD:CXTALP{=5m}`), a future (`/ESZ26:XCME{=5m}`) and an option on that
future, by its trades (`./ESZ26C6000:XCME{=5m}`) or by its mark (`{=5m,price=mark}`:
dxFeed's candle price attribute). Each series is the one its quotes come from, so the
newest candle closes at the quote: a coin's and a future's last trade, an option's last
trade or its bid/ask mid (docs/sandbox.md, "One instrument, one price").

The market stands still (`tick_rate=0`): only the control API's jumps move it."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import anyio
import pytest
from tastytrade import DXLinkStreamer
from tastytrade.dxfeed import Candle, Quote, Trade

from sandbox.core.config import SandboxConfig
from sandbox.core.market.walk import Market
from sandbox.core.symbols import classify, parse_candle_symbol
from tests.support.sdk import sdk_session

COIN = "BTC/USD:CXTALP"
FUTURE = "/ESZ26:XCME"
OPTION = "./ESZ26C6000:XCME"
FIVE_MINUTES = 300_000
SNAPSHOT_END = 0x8


async def collect(streamer: DXLinkStreamer, cls: type, symbols: set[str]) -> dict[str, object]:
    """The latest event of each symbol, once every symbol has sent one."""
    seen: dict[str, object] = {}
    with anyio.fail_after(10):
        async for event in streamer.listen(cls):
            seen[event.event_symbol] = event
            if symbols <= seen.keys():
                return seen
    raise AssertionError("unreachable")


async def snapshots(streamer: DXLinkStreamer, symbols: set[str]) -> dict[str, list[Candle]]:
    """Each candle symbol's snapshot (newest first), through its SNAPSHOT_END."""
    got: dict[str, list[Candle]] = {s: [] for s in symbols}
    done: set[str] = set()
    with anyio.fail_after(10):
        async for candle in streamer.listen(Candle):
            if candle.event_symbol in done or candle.event_symbol not in got:
                continue
            got[candle.event_symbol].append(candle)
            if candle.event_flags & SNAPSHOT_END:
                done.add(candle.event_symbol)
                if done == symbols:
                    return got
    raise AssertionError("unreachable")


def mid(quote: Quote) -> float:
    return (float(quote.bid_price) + float(quote.ask_price)) / 2


@pytest.mark.parametrize("sandbox_config", [SandboxConfig(tick_rate=0)])
async def test_coins_futures_and_future_options_have_candles_that_close_at_their_quote(
    sandbox, control, refresh_token
):
    control.set_price(COIN, 97_123.45)
    control.set_price(FUTURE, 6_123.25)
    width = FIVE_MINUTES
    now_ms = int(dt.datetime.now(dt.UTC).timestamp() * 1000)
    start = dt.datetime.fromtimestamp((now_ms // width - 24) * width / 1000, dt.UTC)
    marked = f"{OPTION}{{=5m,price=mark}}"
    traded = f"{OPTION}{{=5m}}"
    async with sdk_session(sandbox, refresh_token) as session, DXLinkStreamer(session) as dx:
        await dx.subscribe(Quote, [COIN, FUTURE, OPTION])
        await dx.subscribe(Trade, [COIN, FUTURE, OPTION])
        quotes = await collect(dx, Quote, {COIN, FUTURE, OPTION})
        trades = await collect(dx, Trade, {COIN, FUTURE, OPTION})
        # the SDK spells a candle symbol `{ticker}{={interval}}`: dxFeed's attributes ride
        # on the interval (the app asks an option's mark this way)
        await dx.subscribe_candle([COIN, FUTURE], "5m", start, extended_trading_hours=True)
        await dx.subscribe_candle([OPTION], "5m,price=mark", start, extended_trading_hours=True)
        await dx.subscribe_candle([OPTION], "5m", start, extended_trading_hours=True)
        symbols = {f"{COIN}{{=5m}}", f"{FUTURE}{{=5m}}", marked, traded}
        history = await snapshots(dx, symbols)
        for symbol, candles in history.items():
            times = [c.time for c in candles]
            assert times == sorted(times, reverse=True) and len(times) >= 24, symbol
            assert all(t % width == 0 for t in times), symbol
            assert all(0 < c.low <= min(c.open, c.close) for c in candles), symbol
            assert all(max(c.open, c.close) <= c.high for c in candles), symbol
        assert history[f"{COIN}{{=5m}}"][0].close == trades[COIN].price == Decimal("97123.45")
        assert history[f"{FUTURE}{{=5m}}"][0].close == trades[FUTURE].price == Decimal("6123.25")
        assert history[traded][0].close == trades[OPTION].price
        # a mid of two ticks, to the cent
        assert abs(float(history[marked][0].close) - mid(quotes[OPTION])) <= 0.006

        # live: the future jumps, the option is priced anew, its mark candle follows it
        control.set_price(FUTURE, 6_400.0)
        with anyio.fail_after(10):
            async for quote in dx.listen(Quote):
                if quote.event_symbol == OPTION and mid(quote) != mid(quotes[OPTION]):
                    moved = quote
                    break
        with anyio.fail_after(10):
            async for candle in dx.listen(Candle):
                if candle.event_symbol == marked and abs(float(candle.close) - mid(moved)) < 0.01:
                    break
        assert float(candle.close) > float(history[marked][0].close)


def test_an_option_candle_symbol_names_its_price_and_a_bad_one_is_none():
    spec = parse_candle_symbol("./ESZ26C6000:XCME{=1m,price=mark}")
    assert spec is not None and (spec.base, spec.width_ms, spec.price) == (OPTION, 60_000, "mark")
    equity_option = parse_candle_symbol(".SPY270115C590{=5m,price=mark,tho=true}")
    assert equity_option is not None and (equity_option.price, equity_option.tho) == ("mark", True)
    assert parse_candle_symbol("SPY{=5m}").price == "last"  # type: ignore[union-attr]
    assert classify("./ESZ26C6000:XCME{=5m}") == "candle"
    assert parse_candle_symbol("./ESZ26C0:XCME{=5m}") is None  # no strike
    assert parse_candle_symbol(".SPY271315C590{=5m}") is None  # no 13th month


def test_an_option_series_is_made_up_backwards_from_its_price_and_follows_it():
    """History before the series was registered is made up (positive, aligned, the same
    for the same seed); the live candle follows the option's mark as the future moves."""
    clock = [1_795_000_000.0]
    market = Market(seed=11, clock=lambda: clock[0])
    market.set_price(FUTURE, 6_100.0)
    symbol = f"{OPTION}{{=1m,price=mark}}"
    assert market.ensure(symbol)
    now_ms = int(clock[0] * 1000)
    rows = market.candles(symbol, now_ms - 100 * 60_000)
    assert len(rows) == 101 and rows[0]["time"] == now_ms // 60_000 * 60_000
    assert all(r["low"] > 0 and r["time"] % 60_000 == 0 for r in rows)
    assert rows[0]["close"] == pytest.approx(market.mid(OPTION), abs=0.005)
    again = Market(seed=11, clock=lambda: clock[0])
    again.set_price(FUTURE, 6_100.0)
    again.ensure(symbol)
    assert again.candles(symbol, now_ms - 100 * 60_000)[1:] == rows[1:]
    before = market.mid(OPTION)
    clock[0] += 61  # the next minute
    changed = market.set_price(FUTURE, 6_300.0)
    assert symbol in changed
    live = market.candle(symbol)
    assert live["time"] == rows[0]["time"] + 60_000
    assert live["open"] == pytest.approx(before, abs=0.005)  # the last mark before the jump
    assert live["close"] == pytest.approx(market.mid(OPTION), abs=0.005) and live["close"] > before
