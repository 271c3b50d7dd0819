"""The /risk page's server-rendered values (streaming/risk/page_rows.py): one table per
underlying across accounts, "—" where an input lacks (never 0), a title naming each
value's source and age, the graph's choices and the date slider's end."""

from __future__ import annotations

import datetime as dt
from typing import Any

from streaming.risk.page_rows import (
    PORTFOLIO,
    age_text,
    default_choice,
    fmt,
    graph_choices,
    last_expiration,
    portfolio_line,
    strategy_rows,
    underlying_tables,
)

NOW = int(dt.datetime(2026, 11, 18, 21, tzinfo=dt.UTC).timestamp() * 1000)
EXP = int(dt.datetime(2026, 12, 18, 21, tzinfo=dt.UTC).timestamp() * 1000)


def snapshot(**metrics: Any) -> dict[str, Any]:
    call = {
        "symbol": "SPY   261218C00600000",
        "streamer_symbol": ".SPY261218C600",
        "underlying": "SPY",
        "instrument_type": "Equity Option",
        "quantity": 2,
        "direction": "Long",
        "multiplier": 100,
        "expires_at": EXP,
    }
    return {
        "accounts": [
            {
                "number": "A1",
                "positions": [{"symbol": "SPY", "quantity": 10, "direction": "Long"}, call],
            },
            {"number": "B2", "positions": [{"symbol": "SPY", "quantity": 5, "direction": "Short"}]},
            {"number": "B2x", "positions": [{"symbol": "KO", "quantity": 3, "direction": "Long"}]},
        ],
        "quotes": {
            "SPY": {"bid": 599.0, "ask": 601.0, "t": NOW - 3000},
            "KO": {"last": 60.0, "t": NOW - 400_000},
        },
        "greeks": {".SPY261218C600": {"delta": 0.5, "iv": 0.2}},
        "metrics": metrics,
    }


def test_one_table_per_underlying_across_accounts() -> None:
    snap = snapshot(
        SPY={
            "beta": 1.0,
            "beta_source": "tastytrade",
            "iv_rank": 31.4,
            "iv_source": "tastytrade",
            "t": NOW - 60_000,
        }
    )
    ko, spy = underlying_tables(snap, now_ms=NOW)
    assert [spy.underlying, ko.underlying] == ["SPY", "KO"]
    assert [(p.account, p.symbol, p.qty) for p in spy.positions] == [
        ("A1", "SPY", "10"),
        ("A1", "SPY   261218C00600000", "2"),
        ("B2", "SPY", "-5"),
    ]
    assert [p.delta for p in spy.positions] == ["+10.0", "+100.0", "-5.0"]
    # β 1 and SPY itself: β-weighted delta = delta
    assert [p.beta_delta for p in spy.positions] == ["+10.0", "+100.0", "-5.0"]
    assert (spy.delta, spy.beta_delta, spy.beta_delta_dollars) == ("+105.0", "+105.0", "+63,000")
    assert spy.price_text == "600.00" and spy.price_title == "SPY quote bid/ask mid, 3 s old"
    assert spy.beta_title == "β from tastytrade, 60 s old"
    assert (
        spy.iv_rank == "31" and spy.iv_title == "IV rank and percentile from tastytrade, 60 s old"
    )
    assert spy.positions[1].dte == "30.0" and spy.positions[1].move.startswith("±")
    # KO: no β, no IV rank: "—" and a title that says why
    assert (ko.beta_text, ko.iv_rank, ko.beta_delta) == ("—", "—", "—")
    assert ko.beta_title.startswith("β unknown")
    assert ko.price_title == "KO quote last trade, 7 min old"


def test_portfolio_line_is_unknown_while_an_underlying_lacks_beta() -> None:
    snap = snapshot(SPY={"beta": 1.0, "beta_source": "tastytrade"})
    line = portfolio_line(underlying_tables(snap, now_ms=NOW), snap)
    assert (line["text"], line["beta_delta"]) == ("—", None)
    assert line["title"] == "unknown: no β or price for KO"
    snap["metrics"]["KO"] = {"beta": 0.6, "beta_source": "regression"}
    line = portfolio_line(underlying_tables(snap, now_ms=NOW), snap)
    # KO: 0.6 * 60 * 3 / 600 = 0.18 SPY shares
    assert line["beta_delta"] == 105.18
    assert (line["text"], line["dollars_text"]) == ("+105.2", "+63,108")


def test_graph_choices_and_the_date_slider() -> None:
    snap = snapshot()
    assert [c["value"] for c in graph_choices(snap)] == ["KO", "SPY", PORTFOLIO]
    assert default_choice(snap, None) == "SPY"  # the first with options
    assert default_choice(snap, "ko") == "KO"
    assert default_choice(snap, "NFLX") == "SPY"  # not held
    assert default_choice(snap, PORTFOLIO) == PORTFOLIO
    assert last_expiration(snap, "SPY") == dt.date(2026, 12, 18)
    assert last_expiration(snap, "KO") is None  # stock only
    assert last_expiration(snap, PORTFOLIO) == dt.date(2026, 12, 18)


def test_formatting() -> None:
    assert (fmt(None), fmt(-0.001, 2), fmt(1234.5, 1, sign=True)) == ("—", "0.00", "+1,234.5")
    assert age_text(None, NOW) == "age unknown"
    assert age_text(NOW - 7_300_000, NOW) == "2 h old"


def test_strategy_rows_as_the_page_lists_them() -> None:
    snap = snapshot()
    snap["accounts"][0]["positions"][1]["average_open_price"] = 12.5
    rows = {(r["account"], r["name"]): r for r in strategy_rows(snap)}
    call = rows[("A1", "long call")]
    assert call["legs"] == "+2 SPY   261218C00600000"
    assert (call["expirations"], call["delta"]) == ("2026-12-18", "+100.0")
    assert (call["net"], call["max_profit"], call["max_loss"]) == (
        "2,500.00 debit",
        "unlimited",
        "2,500.00",
    )
    assert call["breakevens"] == "612.50"
    # a leg without a cost: no net, and "—" rather than a made-up number
    short = rows[("B2", "short stock")]
    assert (short["net"], short["max_loss"], short["breakevens"]) == ("—", "unlimited", "—")
