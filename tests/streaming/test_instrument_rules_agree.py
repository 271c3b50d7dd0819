"""The browser's instruments (static/js/stream/instruments.js, run through node) are the
server's (streaming/instruments): the same rules table (what each broker takes of each
kind: the ticket offers what the server accepts), and for every spelling of every kind
the same contract symbol, underlying, display name, multiplier and tick at each price
(docs/streaming-contract.md "Instruments: one instrument, one price")."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from streaming.instruments import rules
from streaming.instruments.instrument import Instrument, parse
from streaming.instruments.resolve import clean, from_position
from tests.support.node import node_tool

#: Every kind in every spelling the contract reads, and what names nothing.
SYMBOLS = [
    "AAPL",
    " brk/b ",
    "BRK.B",
    "BTCUSD",
    "PENNY",
    ".SPY270115C590",
    ".AAPL270115C200",
    ".SPY260320C572.5",
    "SPY   270115C00590000",
    "QQQ270115P00505000",
    "/ESZ6",
    "/ESZ26",
    "/ESZ26:XCME",
    "/zbh7",
    "/ZNZ6",
    "/CLF27",
    "/6EH7",
    "/XXZ26:XCME",
    "/XXZ6",
    "./ESZ6 ESZ6 261218C6000",
    "./ESZ26C6000:XCME",
    "./ESZ26C6000.50:XCME",
    "./ESU6 EW3U6 260918P9100",
    "./EW3U26P9100:XCME",
    "./CLZ6 LOZ6 261117C70",
    "BTC/USD",
    "btc/usd:cxtalp",
    "ETH/USD:CXTALP",
    "DOGE/USD",
    "BTC/EUR",
    "BTC/USD:XNAS",
    "./ESZ26C0:XCME",
    "./ESZ6 ESZ6 261318C6000",
    ".SPY261318C590",
    "SP Y",
    "",
    "ABCDEFGHIJKL",
]
#: Prices either side of every tick boundary (1.00 for stock and coins, 3.00 for equity
#: options, 5.00 for /ES options).
PRICES = [0.5, 0.9999, 1, 2.99, 3, 4.95, 5, 12.5, 95_000]
#: The demo's positions as the brokers send them (before the stream names them).
POSITIONS: list[dict[str, Any]] = [
    {"symbol": "BTCUSD", "instrument_type": "crypto", "multiplier": 1},
    {"symbol": "BTC/USD", "streamer_symbol": "BTC/USD:CXTALP", "instrument_type": "Cryptocurrency"},
    {
        "symbol": "./ESZ6 ESZ6 261218C6000",
        "streamer_symbol": "./ESZ26C6000:XCME",
        "underlying": "/ESZ26:XCME",
        "instrument_type": "Future Option",
        "multiplier": 50,
    },
    {"symbol": "/ESZ6", "streamer_symbol": "/ESZ26:XCME", "instrument_type": "Future"},
    {"symbol": "SPY   270115C00590000", "instrument_type": "Equity Option", "multiplier": 100},
    {"symbol": "SPY270115C00590000", "instrument_type": "us_option"},
    {"symbol": "AAPL", "instrument_type": "us_equity"},
    {"symbol": "912828XX1", "instrument_type": "Bond"},
]
NEAR = 2026


def described(instrument: Instrument | None) -> dict[str, Any] | None:
    if instrument is None:
        return None
    return {
        "kind": str(instrument.kind),
        "symbol": instrument.symbol,
        "underlying": instrument.underlying,
        "display": instrument.display,
        "multiplier": instrument.multiplier,
        "ticks": [instrument.tick(Decimal(str(p))) for p in PRICES],
    }


def as_decimals(found: dict[str, Any] | None) -> dict[str, Any] | None:
    """The browser's numbers (decimal texts) as Decimals, compared by value."""
    if found is None:
        return None
    decimal = lambda text: None if text is None else Decimal(text)  # noqa: E731
    return {
        **found,
        "multiplier": decimal(found["multiplier"]),
        "ticks": [decimal(t) for t in found["ticks"]],
    }


@pytest.fixture(scope="module")
def browser() -> dict[str, Any]:
    return node_tool(
        "instruments.mjs",
        {"symbols": SYMBOLS, "prices": PRICES, "near": NEAR, "positions": POSITIONS},
    )


def test_the_rules_table_is_the_servers(browser):
    assert browser["table"] == rules.table()
    # what the issue asks of the ticket, read from the one table
    alpaca_coins = browser["table"]["alpaca"]["Cryptocurrency"]
    assert alpaca_coins["times_in_force"] == ["GTC", "IOC"]
    assert "Day" not in alpaca_coins["market_times_in_force"]
    assert browser["table"]["tradier"]["Cryptocurrency"] is None
    assert browser["table"]["tastytrade"]["Cryptocurrency"]["market_times_in_force"] == ["IOC"]


@pytest.mark.parametrize("symbol", SYMBOLS)
def test_each_spelling_is_the_same_instrument(browser, symbol):
    text = clean(symbol)
    server = described(parse(text, near=NEAR) if text is not None else None)
    assert as_decimals(browser["instruments"][symbol]) == server


def test_the_spellings_name_what_the_contract_says(browser):
    found = browser["instruments"]
    assert found["BTC/USD"]["symbol"] == "BTC/USD:CXTALP"
    assert found["BTC/USD"]["display"] == "BTC/USD"
    assert found["BTCUSD"]["kind"] == "Equity"  # a ticker by its spelling alone
    assert found["./ESZ6 ESZ6 261218C6000"]["display"] == "/ES Dec 26 6000 C"
    assert found["./ESZ6 ESZ6 261218C6000"]["ticks"][PRICES.index(4.95)] == "0.05"
    assert found["./ESZ6 ESZ6 261218C6000"]["ticks"][PRICES.index(5)] == "0.25"
    assert found["./ESU6 EW3U6 260918P9100"]["display"] == "/ES Sep 26 9100 P 18 Sep"
    assert found["SPY   270115C00590000"]["display"] == "SPY 15 Jan 27 590 C"
    assert found["/ESZ6"]["multiplier"] == "50"
    assert found["/XXZ6"] is None and found["BTC/EUR"] is None


@pytest.mark.parametrize("index", range(len(POSITIONS)))
def test_a_position_is_the_instrument_it_holds(browser, index):
    server = described(from_position(POSITIONS[index]))
    assert as_decimals(browser["positions"][index]) == server
