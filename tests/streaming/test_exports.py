"""CSV exports, pure (streaming/orders/exports.py): the broker's decimals and no float artefacts,
signs as the dashboard shows them, times with their offset, formula-safe text. The files
served by a real daphne against the sandbox: tests/e2e/test_orders_exports.py."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from streaming.instruments.naming import name_order, name_position
from streaming.order_list import QueryError
from streaming.orders.exports import (
    csv_text,
    filename,
    fills_rows,
    number,
    orders_rows,
    parse_zone,
    positions_rows,
    text,
    when,
)

T = 1_772_461_865_123  # 2026-03-02T14:31:05.123Z
NY = ZoneInfo("America/New_York")


def test_numbers_are_the_brokers_spelling_never_a_float_expansion():
    assert [
        number(x) for x in (0.3, 1.1, 5, 5.0, 1e-7, 1e16, -0.0, None, "2.50", Decimal("0.15"))
    ] == [
        "0.3",
        "1.1",
        "5",
        "5.0",
        "0.0000001",
        "10000000000000000",
        "0.0",
        "",
        "2.50",
        "0.15",
    ]
    assert number(float("nan")) == "" and number(True) == "" and number("n/a") == ""


def test_text_cells_cannot_start_a_formula():
    cells = [text(v) for v in ("=HYPERLINK(1)", "+1", "-2", "@SUM(A1)", "\tx", "\rx", "SPY", None)]
    assert cells == ["'=HYPERLINK(1)", "'+1", "'-2", "'@SUM(A1)", "'\tx", "'\rx", "SPY", ""]


def test_times_are_iso_8601_with_the_zones_offset():
    assert when(T, dt.UTC) == "2026-03-02T14:31:05.123+00:00"
    assert when(T, NY) == "2026-03-02T09:31:05.123-05:00"
    assert when(None, NY) == "" and when(0, NY) == ""
    assert parse_zone(None) == (dt.UTC, "UTC") and parse_zone("Europe/Berlin")[1] == "Europe/Berlin"
    for bad in ("Mars/Olympus", "../etc/passwd", "x" * 80):
        with pytest.raises(QueryError):
            parse_zone(bad)


def snapshot() -> dict:
    return {
        "accounts": [
            {
                "number": "A1",
                "link": 1,
                "broker": "tastytrade",
                "label": "=cmd|' /C calc'!A0",
                "positions": [
                    {
                        "symbol": "XYZ",
                        "streamer_symbol": "XYZ",
                        "instrument_type": "Equity",
                        "quantity": 3,
                        "direction": "Short",
                        "average_open_price": 1.1,
                        "close_price": 1.0,
                        "mark_price": 0.5,
                        "multiplier": 100,
                    },
                    {
                        "symbol": "ABC",
                        "streamer_symbol": "ABC",
                        "instrument_type": "Equity",
                        "quantity": 10,
                        "direction": "Long",
                        "average_open_price": 0.1,
                        "close_price": None,
                        "mark_price": 0.7,
                        "multiplier": 1,
                    },
                ],
            },
            {"number": "B2", "link": 2, "broker": "tradier", "label": "Cash", "positions": []},
        ],
        "quotes": {"XYZ": {"bid": 0.1, "ask": 0.2, "t": T}},
    }


def test_positions_signed_with_the_dashboards_mark_and_exact_pnl():
    """Float arithmetic would write a mid of 0.15000000000000002 and a day P&L of
    254.99999999999997; decimal arithmetic on the broker's values writes 0.15 and 255.00."""
    header, rows = positions_rows(snapshot(), None, NY, "America/New_York")
    assert header[:8] == [
        "broker",
        "account",
        "account_label",
        "symbol",
        "display",
        "underlying",
        "instrument_type",
        "quantity",
    ]
    assert "quote_time (ISO 8601, America/New_York)" in header
    table = [dict(zip(header, r, strict=True)) for r in rows]
    short, long = table
    assert (short["account_label"], short["quantity"], short["mark"], short["mark_source"]) == (
        "'=cmd|' /C calc'!A0",
        "-3",
        "0.15",
        "quote",
    )
    float_mid = (0.1 + 0.2) / 2  # what floats would write
    assert repr(float_mid) == "0.15000000000000002"
    assert repr((float_mid - 1.0) * 3 * 100 * -1) == "254.99999999999997"
    assert short["open_pnl"] == "285.00" and short["day_pnl"] == "255.00"
    assert short["quote_time (ISO 8601, America/New_York)"] == "2026-03-02T09:31:05.123-05:00"
    # no quote: the broker's mark; no close price: no day P&L (empty, never 0)
    assert (
        long["quantity"],
        long["mark"],
        long["mark_source"],
        long["day_pnl"],
        long["open_pnl"],
    ) == (
        "10",
        "0.7",
        "broker",
        "",
        "6.00",
    )
    assert positions_rows(snapshot(), "B2", dt.UTC, "UTC")[1] == []


def test_money_columns_have_exactly_two_decimals():
    """The P&L columns read "107.900" and "-39.35875" (the decimals the arithmetic left):
    money is in cents, rounded half away from zero as the dashboard rounds; the prices and
    quantities beside them stay as the broker sent them."""
    snap = snapshot()
    snap["accounts"][0]["positions"] = [
        {
            "symbol": "QQQ",
            "streamer_symbol": "QQQ",
            "instrument_type": "Equity",
            "quantity": 2.5,
            "direction": "Long",
            "average_open_price": 107.6412345,
            "close_price": 123.9,
            "multiplier": 1,
        },
        {
            "symbol": "IWM",
            "streamer_symbol": "IWM",
            "instrument_type": "Equity",
            "quantity": 10,
            "direction": "Long",
            "average_open_price": 200.0,
            "close_price": 217.8,
            "multiplier": 1,
        },
        {
            "symbol": "DIA",
            "streamer_symbol": "DIA",
            "instrument_type": "Equity",
            "quantity": 1,
            "direction": "Long",
            "average_open_price": 100,
            "multiplier": 1,
        },
    ]
    # QQQ's mid 107.625: open P&L -0.0405862500, day P&L -40.6875; IWM's mid 207.79
    snap["quotes"] = {
        "QQQ": {"bid": 107.62, "ask": 107.63, "t": T},
        "IWM": {"bid": 207.79, "ask": 207.79, "t": T},
        "DIA": {"bid": 100.12, "ask": 100.13, "t": T},
    }
    header, rows = positions_rows(snap, None, NY, "America/New_York")
    qqq, iwm, dia = (dict(zip(header, r, strict=True)) for r in rows)
    assert (qqq["open_pnl"], qqq["day_pnl"]) == ("-0.04", "-40.69")
    assert (iwm["open_pnl"], iwm["day_pnl"]) == ("77.90", "-100.10")
    # a half cent goes away from zero, as the dashboard's Intl.NumberFormat rounds it
    assert (dia["open_pnl"], dia["day_pnl"]) == ("0.13", "")
    # prices and quantities: the broker's own spelling, a mid its exact value
    assert (qqq["quantity"], qqq["average_open_price"], qqq["mark"]) == (
        "2.5",
        "107.6412345",
        "107.625",
    )
    # an order's notional is money too; its prices are the broker's
    o = orders()[0] | {"notional": 250, "price": 1.5}
    o_header, o_rows = orders_rows(snap, [o], NY, "America/New_York")
    row = dict(zip(o_header, o_rows[0], strict=True))
    assert (row["notional"], row["price"]) == ("250.00", "1.5")


def orders() -> list[dict]:
    return [
        {
            "id": 77,
            "link": 1,
            "account": "A1",
            "status": "Partially Filled",
            "order_type": "Limit",
            "time_in_force": "Day",
            "price": 0.3,
            "price_effect": "Debit",
            "underlying": "SPY",
            "updated_at": T,
            "legs": [
                {
                    "symbol": "SPY",
                    "instrument_type": "Equity",
                    "action": "Buy to Open",
                    "quantity": 3,
                    "remaining_quantity": 1,
                    "fills": [
                        {"id": "77:1", "quantity": 1, "price": 0.1, "at": T - 2000},
                        {"id": "77:2", "quantity": 1, "price": 0.2, "at": T - 1000},
                        {"id": "77:2", "quantity": 1, "price": 0.2, "at": T - 1000},
                    ],
                },
                {
                    "symbol": "SPY 1C",
                    "action": "Sell to Open",
                    "quantity": 1,
                    "remaining_quantity": 1,
                    "fills": [],
                },
            ],
        },
        {
            "id": "u-1",
            "link": 9,
            "account": "Z9",
            "broker": "alpaca",
            "status": "Rejected",
            "legs": [],
        },
    ]


def test_orders_one_row_per_leg_with_the_broker_and_account():
    header, rows = orders_rows(snapshot(), orders(), dt.UTC, "UTC")
    table = [dict(zip(header, r, strict=True)) for r in rows]
    assert [
        (r["order_id"], r["leg"], r["action"], r["quantity"], r["filled_quantity"]) for r in table
    ] == [
        ("77", "1", "Buy to Open", "3", "3"),  # the fill listed twice counts as listed
        ("77", "2", "Sell to Open", "1", "0"),
        ("u-1", "", "", "", ""),
    ]
    assert table[0]["broker"] == "tastytrade" and table[0]["price"] == "0.3"
    assert table[0]["updated_at (ISO 8601, UTC)"] == "2026-03-02T14:31:05.123+00:00"
    assert table[2]["broker"] == "alpaca", "an account the stream does not list: the order's broker"


def test_fills_each_once_with_their_own_price_and_time():
    header, rows = fills_rows(snapshot(), orders(), dt.UTC, "UTC")
    assert header[-1] == "filled_at (ISO 8601, UTC)"
    table = [dict(zip(header, r, strict=True)) for r in rows]
    assert [
        (r["fill_id"], r["quantity"], r["price"], r["filled_at (ISO 8601, UTC)"]) for r in table
    ] == [
        ("77:1", "1", "0.1", "2026-03-02T14:31:03.123+00:00"),
        ("77:2", "1", "0.2", "2026-03-02T14:31:04.123+00:00"),
    ]


def test_the_file_is_rfc_4180_and_named_for_the_day():
    body = csv_text(["a", "b"], [["x,y", 'say "hi"'], ["1", ""]])
    assert body == 'a,b\r\n"x,y","say ""hi"""\r\n1,\r\n'
    assert list(csv.reader(io.StringIO(body))) == [["a", "b"], ["x,y", 'say "hi"'], ["1", ""]]
    day = dt.date(2026, 3, 2)
    assert filename("orders", None, day) == "streamdesk-orders-all-accounts-2026-03-02.csv"
    assert filename("fills", "5WT1", day) == "streamdesk-fills-5WT1-2026-03-02.csv"


def test_orders_carry_stops_trails_amounts_dates_and_their_link():
    trailing = {
        **orders()[1],
        "id": "t-1",
        "status": "Contingent",
        "order_type": "Trailing Stop",
        "time_in_force": "GTC",
        "stop_price": 97.5,
        "trail": {"amount": None, "percent": 2.5, "high_water_mark": 100},
        "order_class": "bracket",
        "group": {"id": "b-1", "class": "bracket", "role": "stop_loss"},
        "unsupported": None,
    }
    dollars = {
        **orders()[1],
        "id": "n-1",
        "status": "Live",
        "order_type": "Notional Market",
        "notional": 500,
        "time_in_force": "GTD",
        "good_till": "2026-12-31",
        "extended_hours": True,
        "order_class": "simple",
        "unsupported": {"kind": "time_in_force", "name": "gtx", "fields": {}},
        "legs": [{"symbol": "BTC/USD", "instrument_type": "Cryptocurrency", "quantity": None}],
    }
    header, rows = orders_rows(snapshot(), [trailing, dollars], dt.UTC, "UTC")
    table = [dict(zip(header, r, strict=True)) for r in rows]
    columns = (
        "stop_price",
        "trail_amount",
        "trail_percent",
        "high_water_mark",
        "notional",
        "good_till",
        "extended_hours",
        "order_class",
        "group_id",
        "group_class",
        "group_role",
        "unsupported",
        "quantity",
    )
    assert [tuple(r[c] for c in columns) for r in table] == [
        (
            "97.5",
            "",
            "2.5",
            "100",
            "",
            "",
            "false",
            "bracket",
            "b-1",
            "bracket",
            "stop_loss",
            "",
            "",
        ),
        ("", "", "", "", "500.00", "2026-12-31", "true", "simple", "", "", "", "gtx", ""),
    ]


def test_the_brokers_symbol_and_the_display_name_side_by_side():
    """Exports carry both names of an instrument: the broker's own symbol and the display
    name the page shows (the positions and orders as the stream names them on arrival)."""
    coin = name_position(
        {
            "symbol": "BTCUSD",
            "streamer_symbol": "BTC/USD:CXTALP",
            "underlying": "BTC/USD",
            "instrument_type": "Cryptocurrency",
            "quantity": "0.25",
            "direction": "Long",
            "multiplier": 1,
        },
        "alpaca",
    )
    es_call = name_position(
        {
            "symbol": "./ESZ6 ESZ6 261218C6000",
            "streamer_symbol": "./ESZ26C6000:XCME",
            "underlying": "/ESZ26:XCME",
            "instrument_type": "Future Option",
            "quantity": 1,
            "direction": "Long",
            "multiplier": 50,
        },
        "tastytrade",
    )
    snap = {
        "accounts": [
            {"number": "A1", "broker": "alpaca", "label": "", "positions": [coin, es_call]}
        ],
        "quotes": {},
    }
    header, rows = positions_rows(snap, None, dt.UTC, "UTC")
    table = [dict(zip(header, r, strict=True)) for r in rows]
    assert [(r["symbol"], r["display"], r["underlying"], r["quantity"]) for r in table] == [
        ("BTCUSD", "BTC/USD", "BTC/USD:CXTALP", "0.25"),
        ("./ESZ6 ESZ6 261218C6000", "/ES Dec 26 6000 C", "/ESZ26:XCME", "1"),
    ]
    order = name_order(
        {
            "id": "o1",
            "account": "A1",
            "underlying": "BTCUSD",
            "legs": [
                {
                    "symbol": "BTC/USD",
                    "instrument_type": "Cryptocurrency",
                    "action": "sell",
                    "quantity": "0.25",
                    "fills": [{"id": "o1:0.25", "quantity": "0.25", "price": 95000, "at": T}],
                }
            ],
        },
        "alpaca",
    )
    header, rows = orders_rows(snap, [order], dt.UTC, "UTC")
    leg = dict(zip(header, rows[0], strict=True))
    assert (leg["symbol"], leg["display"], leg["underlying"]) == (
        "BTC/USD",
        "BTC/USD",
        "BTC/USD:CXTALP",
    )
    header, rows = fills_rows(snap, [order], dt.UTC, "UTC")
    fill = dict(zip(header, rows[0], strict=True))
    assert (fill["symbol"], fill["display"], fill["quantity"]) == ("BTC/USD", "BTC/USD", "0.25")
