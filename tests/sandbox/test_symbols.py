"""Symbol parsing for the sandbox feed: options (streamer and OCC), candles, tickers."""

from datetime import date
from decimal import Decimal

import pytest
from tastytrade.instruments import Option

from sandbox.core.symbols import (
    CandleSymbol,
    OptionSymbol,
    classify,
    future_root,
    is_valid_equity_symbol,
    occ_to_streamer,
    parse_candle_symbol,
    parse_occ_symbol,
    parse_option_streamer_symbol,
    parse_option_symbol,
    streamer_to_occ,
)


def test_parse_streamer_option():
    opt = parse_option_streamer_symbol(".SPY250221C590")
    assert opt == OptionSymbol("SPY", date(2025, 2, 21), "C", Decimal("590"))
    assert opt.is_call
    put = parse_option_streamer_symbol(".SPY250221P590.5")
    assert put is not None
    assert (put.underlying, put.expiry, put.right) == ("SPY", date(2025, 2, 21), "P")
    assert put.strike == Decimal("590.5")
    assert not put.is_call


def test_root_with_digits_and_weeklies():
    opt = parse_option_streamer_symbol(".SPXW251219C5900")
    assert opt is not None
    assert (opt.underlying, opt.strike) == ("SPXW", Decimal("5900"))
    adjusted = parse_option_streamer_symbol(".AAPL1250221C100")
    assert adjusted is not None
    assert (adjusted.underlying, adjusted.expiry) == ("AAPL1", date(2025, 2, 21))


def test_streamer_and_occ_properties_round_trip():
    for text in (".SPY250221C590", ".SPY250221P590.5", ".F250117C12.5", ".SPXW251219P5875"):
        opt = parse_option_streamer_symbol(text)
        assert opt is not None
        assert opt.streamer_symbol == text
        assert parse_occ_symbol(opt.occ_symbol) == opt
        assert streamer_to_occ(text) == opt.occ_symbol
        assert occ_to_streamer(opt.occ_symbol) == text


def test_parse_occ_symbol():
    opt = parse_occ_symbol("SPY   250221C00590000")
    assert opt == OptionSymbol("SPY", date(2025, 2, 21), "C", Decimal("590"))
    assert opt.occ_symbol == "SPY   250221C00590000"
    assert parse_occ_symbol("SPY   250221P00590500").strike == Decimal("590.5")
    assert parse_occ_symbol("SPY   250221P00590250").streamer_symbol == ".SPY250221P590.25"
    # unpadded OCC (spaces stripped) is accepted too
    assert parse_occ_symbol("SPY250221C00590000") == opt
    assert parse_option_symbol("SPY   250221C00590000") == opt
    assert parse_option_symbol(".SPY250221C590") == opt


def test_strike_trailing_zeros_are_canonical():
    opt = OptionSymbol("SPY", date(2025, 2, 21), "C", Decimal("590.50"))
    assert opt.streamer_symbol == ".SPY250221C590.5"
    assert opt.occ_symbol == "SPY   250221C00590500"
    assert OptionSymbol("SPY", date(2025, 2, 21), "P", Decimal("590.0")).streamer_symbol == (
        ".SPY250221P590"
    )


@pytest.mark.parametrize(
    "streamer",
    [
        ".SPY250221C590",
        ".SPY250221P590.5",
        ".AAPL261218C250",
        ".TSLA270115P12.5",
        ".F250117C9",
        ".GOOGL250321P187.5",
        ".SPXW251219C5900",
        ".QQQ250103P0.5",
    ],
)
def test_conversions_agree_with_sdk(streamer):
    occ = Option.streamer_symbol_to_occ(streamer)
    assert streamer_to_occ(streamer) == occ
    assert occ_to_streamer(occ) == Option.occ_to_streamer_symbol(occ) == streamer


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "SPY",
        ".SPY",
        ".SPY250221X590",
        ".SPY251321C590",  # month 13
        ".SPY250230C590",  # Feb 30
        ".SPY250221C0",  # zero strike
        ".spy250221C590",
        ".SPY250221C590.",
        ".SPY250221C590.12345",
        ".TOOLONGX250221C590",
        "SPY250221C590",
        " .SPY250221C590",
        None,
        590,
    ],
)
def test_invalid_streamer_options(bad):
    assert parse_option_streamer_symbol(bad) is None
    assert streamer_to_occ(bad) is None


@pytest.mark.parametrize(
    "bad",
    [
        "SPY  250221C00590000",
        "SPY   250221C0059000",
        "SPY   251321C00590000",
        "spy   250221C00590000",
    ],
)
def test_invalid_occ(bad):
    assert parse_occ_symbol(bad) is None
    assert occ_to_streamer(bad) is None


@pytest.mark.parametrize(
    ("text", "width_ms", "tho"),
    [
        ("SPY{=5m,tho=true}", 5 * 60_000, True),
        ("SPY{=5m}", 5 * 60_000, False),
        ("SPY{=m}", 60_000, False),
        ("SPY{=15s,tho=true}", 15_000, True),
        ("AAPL{=1h}", 3_600_000, False),
        ("AAPL{=4h,tho=false}", 4 * 3_600_000, False),
        ("SPY{=1d,tho=true}", 86_400_000, True),
        ("SPY{=3d}", 3 * 86_400_000, False),
        ("SPY{=1w}", 7 * 86_400_000, False),
        ("SPY{=mo}", 30 * 86_400_000, False),
        ("SPY{=1mo,tho=true}", 30 * 86_400_000, True),
        ("/ESZ26:XCME{=5m}", 5 * 60_000, False),
        ("BTC/USD:CXTALP{=1m}", 60_000, False),  # a coin's candles (Alpaca's crypto bars)
        ("SPY{=5m,price=mark}", 5 * 60_000, False),
    ],
)
def test_parse_candle_symbol(text, width_ms, tho):
    c = parse_candle_symbol(text)
    assert isinstance(c, CandleSymbol)
    assert c.symbol == text  # echoed as eventSymbol
    assert c.base == text.split("{")[0]
    assert (c.width_ms, c.tho) == (width_ms, tho)
    assert classify(text) == "candle"


@pytest.mark.parametrize("interval", ["15s", "5m", "1h", "3d", "1w", "1mo"])
def test_candle_symbols_built_like_the_sdk(interval):
    # DXLinkStreamer.subscribe_candle builds exactly these two forms.
    for text in (f"SPY{{={interval},tho=true}}", f"SPY{{={interval}}}"):
        c = parse_candle_symbol(text)
        assert c is not None
        assert c.period == interval
        assert c.tho == text.endswith("tho=true}")


@pytest.mark.parametrize(
    "bad",
    [
        "SPY",
        "SPY{}",
        "SPY{=5x}",
        "SPY{=0m}",
        "SPY{tho=true}",
        "SPY{=5m,tho=maybe}",
        "SPY{=5m",
        "spy{=5m}",
        "{=5m}",
        ".SPY250231C590{=5m}",  # no 31 February (an option's candles are valid)
        "SPY{=5m}{=1m}",
        "SPY{=-5m}",
        "BTC/USD:XNAS{=1m}",
    ],
)
def test_invalid_candle_symbols(bad):
    assert parse_candle_symbol(bad) is None
    assert classify(bad) != "candle"


@pytest.mark.parametrize(
    "good", ["SPY", "A", "BRK/B", "BRK.B", "SPX", "VIX", "GOOGL", "ABCDEFGHIJ", "/ESZ6", "/ES"]
)
def test_valid_equity_symbols(good):
    assert is_valid_equity_symbol(good)


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "spy",
        "1ABC",
        "ABCDEFGHIJK",
        "SPY ",
        "BRK B",
        "BRK/",
        "BRK//B",
        ".SPY",
        "$SPX",
        "S-P",
        None,
    ],
)
def test_invalid_equity_symbols(bad):
    assert not is_valid_equity_symbol(bad)
    assert classify(bad) is None


def test_futures():
    for s in ("/ESZ6", "/ESZ26:XCME", "/ES", "/CLF26:XNYM", "/MESH27:XCME"):
        assert is_valid_equity_symbol(s)
        assert classify(s) == "future"
    assert future_root("/ESZ26:XCME") == "/ES"
    assert future_root("/MESH27:XCME") == "/MES"
    assert future_root("/ZNH6") == "/ZN"
    assert future_root("/ES") == "/ES"
    for bad in ("/", "/es", "/ESZ26:", "/ESZ26:xcme", "//ES"):
        assert classify(bad) is None


def test_classify():
    assert classify("SPY") == "equity"
    assert classify("BRK/B") == "equity"
    assert classify(".SPY250221C590") == "option"
    assert classify("SPY{=5m,tho=true}") == "candle"
    assert classify("/ESZ26:XCME") == "future"
    # OCC symbols are REST symbols, not feed symbols
    assert classify("SPY   250221C00590000") is None
    assert classify("") is None
    assert classify(None) is None
