"""One instrument, one price (guarantee 11): for every instrument the demo holds, at every
broker, the position's mark, the ticket's quote, the risk page's price and the chart's
last candle come from the same quote and agree within one tick at the same moment — the
market held still (the sandbox's ticks stopped), so "the same moment" is every read.

Each is read where a trader reads it: the snapshot the dashboard renders from (the mark:
the quote's mid), a Close… preview (`POST /api/orders/preview`: the quote the ticket shows
and the guard compares with), `GET /api/risk/<underlying>` (the risk page's price of the
underlying the position's risk is priced at) and `GET /api/candles/<symbol>` (the chart's
newest candle: its close is the last trade, an option's its mark). The demo's holdings
(`--demo-holdings`) are the case list: stocks, equity options, bitcoin at tastytrade and
Alpaca, an /ES call."""

from __future__ import annotations

import time
import urllib.parse
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from sandbox.server import SandboxServer
from streaming.instruments.instrument import parse
from tests.support.live import LiveApp, read_json
from tests.support.trading_http import Trader, enable_demo_trading
from tests.support.wait import poll_until

#: How long the stream may take to show every holding with a quote (s), and how long the
#: last ticks' frames may take to settle once the market stops (the snapshot reads the
#: same for this long).
SEEN_WITHIN = 60
SETTLED = 1.0


@pytest.fixture(scope="module")
def trader(holdings_sandbox: SandboxServer, tmp_path_factory) -> Iterator[Trader]:
    app = LiveApp(
        holdings_sandbox.url,
        tmp_path_factory.mktemp("one-price"),
        TRADING_RATE_PER_MINUTE="1000",
        TRADING_MAX_ORDER_NOTIONAL="10000000",
        # the market is held still while every read is compared: a still feed is no
        # failing one here (after STREAM_QUOTE_STALE_AFTER of silence the app would call
        # it stale and fail over to Tradier mid-test on a slow box, whose option charts
        # are of trades its quotes do not have)
        STREAM_QUOTE_STALE_AFTER="600",
        STREAM_QUOTE_STALE_FLOOR="600",
    ).start()
    enable_demo_trading(app)
    trader = Trader(app)
    yield trader
    trader.client.close()
    app.stop()


def held(snap: dict[str, Any]) -> list[tuple[dict, dict]]:
    return [(a, p) for a in snap["accounts"] for p in a["positions"]]


def ready(snap: dict[str, Any]) -> bool:
    """Every holding and its underlying quoted on both sides, and traded where its chart
    is drawn from trades (six accounts, the demo's coin and /ES call)."""
    pairs = held(snap)
    symbols = {p["streamer_symbol"] for _, p in pairs} | {p["underlying"] for _, p in pairs}
    quotes = snap["quotes"]
    return (
        len(snap["accounts"]) == 6
        and {"BTC/USD:CXTALP", "./ESZ26C6000:XCME"} <= symbols
        and symbols <= quotes.keys()
        and all({"bid", "ask"} <= quotes[s].keys() for s in symbols)
        and all("last" in quotes[s] for s in symbols if not s.startswith("."))
    )


@pytest.fixture(scope="module")
def still(trader: Trader, holdings_sandbox: SandboxServer) -> dict[str, Any]:
    """The snapshot once every holding is quoted, the market then held still."""
    poll_until(
        lambda: ready(read_json(trader.client, "/api/snapshot")),
        within=SEEN_WITHIN,
        what="every holding quoted",
    )
    holdings_sandbox.control().configure(tick_rate=0)
    since: dict[str, Any] = {"quotes": None, "at": 0.0}

    def settled() -> dict[str, Any] | None:
        snap = read_json(trader.client, "/api/snapshot")
        if snap["quotes"] != since["quotes"]:
            since.update(quotes=snap["quotes"], at=time.monotonic())
            return None
        return snap if time.monotonic() - since["at"] >= SETTLED else None

    return poll_until(settled, within=SEEN_WITHIN, what="a market held still")


def decimal(value: Any) -> Decimal:
    return Decimal(str(value))


def mid(quote: dict[str, Any]) -> Decimal:
    return (decimal(quote["bid"]) + decimal(quote["ask"])) / 2


def path(symbol: str) -> str:
    return urllib.parse.quote(symbol, safe="")


def close_preview(trader: Trader, account: dict, position: dict, price: Decimal) -> dict:
    """The Close… ticket's preview of the whole position at `price` (its quote and words)."""
    instrument = parse(position["streamer_symbol"])
    assert instrument is not None
    tick = instrument.tick(price) or Decimal("0.01")
    limit = (price / tick).quantize(Decimal(1)) * tick
    option_at_alpaca = account["broker"] == "alpaca" and instrument.kind.value == "Equity Option"
    body = {
        "link": account["link"],
        "account": account["number"],
        "legs": [
            {
                "symbol": position["streamer_symbol"],
                "action": "Buy to Close" if position["direction"] == "Short" else "Sell to Close",
                "quantity": str(position["quantity"]),
            }
        ],
        "order_type": "Limit",
        "price": str(limit),
        "time_in_force": "Day" if option_at_alpaca else "GTC",
    }
    answer = trader.preview(body)
    assert answer.status_code == 200, (position["symbol"], answer.text)
    return answer.json()["preview"]


def test_every_holding_is_priced_alike_wherever_it_is_read(trader: Trader, still: dict[str, Any]):
    quotes = still["quotes"]
    disagreements: list[str] = []
    seen_kinds: set[str] = set()
    for account, position in held(still):
        symbol = position["streamer_symbol"]
        instrument = parse(symbol)
        assert instrument is not None, symbol
        seen_kinds.add(instrument.kind.value)
        quote = quotes[symbol]
        mark = mid(quote)
        tick = instrument.tick(mark) or Decimal("0.01")
        where = f"{account['broker']} {position['display']}"
        # the ticket: the same bid and ask (a sell's net quote is the negated pair)
        shown = close_preview(trader, account, position, mark)["quote"]
        pair = sorted((abs(decimal(shown["bid"])), abs(decimal(shown["ask"]))))
        if pair != [decimal(quote["bid"]), decimal(quote["ask"])]:
            disagreements.append(f"{where}: ticket {pair} vs quote {quote['bid']}/{quote['ask']}")
        # the risk page: the underlying's price is the underlying's own mid
        underlying = position["underlying"]
        risk = read_json(trader.client, f"/api/risk/{path(underlying)}")
        if abs(decimal(risk["price"]) - mid(quotes[underlying])) > tick:
            disagreements.append(f"{where}: risk {risk['price']} vs {mid(quotes[underlying])}")
        if underlying == symbol and abs(decimal(risk["price"]) - mark) > tick:
            disagreements.append(f"{where}: risk {risk['price']} vs mark {mark}")
        # the chart: the newest candle closes at the last trade (an option's at its mark)
        chart = read_json(trader.client, f"/api/candles/{path(symbol)}", tf="1m")
        close = decimal(chart["candles"][-1]["close"])
        if chart.get("price") != "mark" and "last" not in quote:
            disagreements.append(
                f"{where}: {chart['source']}'s chart in trades, no last trade in the quote {quote}"
            )
            continue
        basis = mark if chart.get("price") == "mark" else decimal(quote["last"])
        if abs(close - basis) > tick:
            disagreements.append(f"{where}: chart {close} vs {chart.get('price')} {basis}")
    assert disagreements == []
    assert seen_kinds == {"Equity", "Equity Option", "Future Option", "Cryptocurrency"}


def test_the_coin_is_never_a_look_alike_tickers_price(trader: Trader, still: dict[str, Any]):
    """Alpaca's `BTCUSD` and tastytrade's `BTC/USD` are one coin at one price, nowhere near
    the made-up equity a look-alike ticker would be quoted at."""
    coins = [(a, p) for a, p in held(still) if p["instrument_type"] == "Cryptocurrency"]
    assert sorted((a["broker"], p["symbol"]) for a, p in coins) == [
        ("alpaca", "BTCUSD"),
        ("tastytrade", "BTC/USD"),
    ]
    assert {p["streamer_symbol"] for _, p in coins} == {"BTC/USD:CXTALP"}
    price = mid(still["quotes"]["BTC/USD:CXTALP"])
    assert price > 10_000
    for spelling in ("BTCUSD", "BTC/USD", "BTC/USD:CXTALP"):
        risk = read_json(trader.client, f"/api/risk/{path(spelling)}")
        assert risk["underlying"] == "BTC/USD:CXTALP"
        assert abs(decimal(risk["price"]) - price) <= Decimal("0.01")  # one tick: JSON's float
    chart = read_json(trader.client, "/api/candles/BTCUSD", tf="1m")
    last = decimal(still["quotes"]["BTC/USD:CXTALP"]["last"])
    assert chart["symbol"] == "BTC/USD:CXTALP"
    assert abs(decimal(chart["candles"][-1]["close"]) - last) <= Decimal("0.01")
