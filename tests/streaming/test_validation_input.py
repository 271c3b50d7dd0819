"""Symbol validation (docs/streaming-contract.md, "Validation"): pure functions, no I/O.

Symbols are ASCII only: a Unicode digit is not `[0-9]`, and a character that `.upper()`
turns into ASCII (`ß` → `SS`) is refused before it can become a valid-looking symbol.
Options must carry a real expiration date and a positive strike.
"""

from __future__ import annotations

import re

import pytest

from streaming import validation
from streaming.instruments import futures, symbols
from streaming.instruments.symbols import occ_to_streamer_symbol, streamer_to_occ_symbol
from streaming.validation import normalize_symbol


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("SPY", "SPY"),
        ("  spy ", "SPY"),
        ("BRK.B", "BRK.B"),
        ("BRK/B", "BRK/B"),
        (".SPY250221C590", ".SPY250221C590"),
        (".spy250221p590.5", ".SPY250221P590.5"),
        ("SPY   250221C00590000", ".SPY250221C590"),
        ("SPY250221C00590500", ".SPY250221C590.5"),
        (".SPXW240229C5000", ".SPXW240229C5000"),  # 2024 is a leap year
        ("/ESZ24:XCME", "/ESZ24:XCME"),
        # a REST future's one-digit year is the one from last year on (cases hold to 2034)
        ("/ESZ6", "/ESZ26:XCME"),
        ("BTC/USD", "BTC/USD:CXTALP"),
        ("./ESZ6 ESZ6 261218C6000", "./ESZ26C6000:XCME"),
    ],
)
def test_valid_symbols_are_normalized(raw, expected):
    assert normalize_symbol(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        # Non-ASCII letters that .upper() would turn into ASCII ones.
        "\u00df",  # ß → "SS"
        "ma\u00df",  # maß → "MASS"
        "\ufb00",  # U+FB00 LATIN SMALL LIGATURE FF → "FF"
        "\u0131",  # dotless i → "I"
        "\u017fpy",  # long s → "S"
        # Unicode digits (Arabic-Indic, Extended Arabic-Indic, full-width) where [0-9] is meant.
        ".SPY\u0662\u0665\u0660\u0662\u0662\u0661C590",  # Arabic-Indic 250221
        ".SPY250221C\u0665\u0669\u0660",
        "SPY   \u0662\u0665\u0660\u0662\u0662\u0661C00590000",
        "/ESZ\u0664",  # /ESZ٤
        "/ESZ\u06f4",
        "/ESZ\uff14",
        "A\u0662",
        # Other non-ASCII: full-width letters, NBSP padding, zero-width space, combining marks.
        "\uff33\uff30\uff39",
        "\u00a0SPY",
        "SPY\u200b",
        "S\u0301PY",
    ],
)
def test_non_ascii_input_is_refused(raw):
    assert normalize_symbol(raw) is None


@pytest.mark.parametrize(
    "raw",
    [
        ".SPY251321C590",  # month 13
        ".SPY250001C590",  # month 0
        ".SPY250132C590",  # day 32
        ".SPY250100C590",  # day 0
        ".SPY250230C590",  # Feb 30
        ".SPY250229C590",  # 2025 is not a leap year
        ".SPY250431C590",  # April has 30 days
        "SPY   251321C00590000",
        "SPY   250230C00590000",
        "SPY   250132P00590000",
    ],
)
def test_options_need_a_real_expiration_date(raw):
    assert normalize_symbol(raw) is None


@pytest.mark.parametrize(
    "raw",
    [
        ".SPY250221C0",
        ".SPY250221C0.0",
        ".SPY250221C000",
        ".SPY250221C0.0001",  # rounds to a zero OCC strike
        ".SPY250221C100000",  # more than OCC's 8 strike digits can carry
        "SPY   250221C00000000",
        "SPY250221P00000000",
    ],
)
def test_options_need_a_positive_strike(raw):
    assert normalize_symbol(raw) is None


def test_conversion_helpers_apply_the_same_rules():
    assert occ_to_streamer_symbol("SPY   250221C00590000") == ".SPY250221C590"
    assert occ_to_streamer_symbol("SPY   250230C00590000") is None
    assert occ_to_streamer_symbol("SPY   250221C00000000") is None
    assert occ_to_streamer_symbol("SPY   \u0662\u0665\u0660\u0662\u0662\u0661C00590000") is None
    assert streamer_to_occ_symbol(".SPY261218C600") == "SPY261218C00600000"
    assert streamer_to_occ_symbol(".SPY261318C600") is None
    assert streamer_to_occ_symbol(".SPY261218C0") is None
    assert streamer_to_occ_symbol(".SPY\u0662\u0666\u0661\u0662\u0661\u0668C600") is None


@pytest.mark.parametrize(
    "raw", [None, 5, b"SPY", "", " ", "A" * 33, "DROP TABLE", "1SPY", "SPY;", "/ESA4", ".SPY"]
)
def test_other_invalid_input_is_refused(raw):
    assert normalize_symbol(raw) is None


def test_the_regexes_are_ascii_only():
    for pattern in (
        symbols.EQUITY_RE,
        symbols.OPTION_STREAMER_RE,
        symbols.OPTION_OCC_RE,
        symbols.CRYPTO_USD_RE,
        futures.FUTURE_REST_RE,
        futures.FUTURE_FEED_RE,
        futures.FUTURE_OPTION_REST_RE,
        futures.FUTURE_OPTION_FEED_RE,
    ):
        assert "\\d" not in pattern.pattern
        assert pattern.flags & re.ASCII
        assert pattern.match("٢") is None


def test_limits_match_the_contract():
    assert validation.MAX_SYMBOLS_PER_SOCKET == 400  # a shared socket: every tab of a browser
    assert validation.MAX_SYMBOLS_PER_LIST == 200  # a watchlist, a news stream
    assert validation.MAX_SYMBOLS_PER_USER == 400
    assert validation.MAX_SYMBOLS_PER_MESSAGE == 50
