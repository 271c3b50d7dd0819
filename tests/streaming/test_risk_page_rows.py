"""The /risk page's server-rendered values (streaming/risk/page/rows.py): one table per
underlying across accounts, "—" where an input lacks (never 0), a title naming each
value's source and age, the graph's choices and the date slider's end."""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path
from typing import Any

import pytest

from streaming.pages.dashboard import pop_cells
from streaming.risk.legs import legs_from_snapshot
from streaming.risk.limits.runner import portfolio_values
from streaming.risk.odds.answer import UNLIMITED_PROFIT, rows_with_odds
from streaming.risk.odds.inputs import NO_OPTION
from streaming.risk.page.odds_text import half_up, odds_cells, percent
from streaming.risk.page.rows import (
    PORTFOLIO,
    age_text,
    band_status,
    default_choice,
    fmt,
    graph_choices,
    last_expiration,
    limits_line,
    loss_status,
    portfolio_line,
    strategy_rows,
    underlying_tables,
)
from streaming.risk.strategies.grouping import strategies_of
from tests.support.node import node_tool

FIXTURE = json.loads(
    (Path(__file__).resolve().parents[1] / "fixtures" / "exposure-snapshot.json").read_text()
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
    assert default_choice(snap, None) == PORTFOLIO  # the whole portfolio's view first
    assert default_choice(snap, "ko") == "KO"
    assert default_choice(snap, "NFLX") == PORTFOLIO  # not held
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
    rows = {(r["account"], r["name"]): r for r in strategy_rows(snap, now_ms=NOW, rate=0.04)}
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
    # the odds, as the API answers them (risk/odds/answer.py), in whole percentages; the
    # inputs in POP's title; "—" with the note (title, and for a screen reader) where null
    odds = rows_with_odds(
        strategies_of(legs_from_snapshot(snap)),
        snap["quotes"],
        now=dt.datetime.fromtimestamp(NOW / 1000, dt.UTC),
        rate=0.04,
    )
    (api,) = [o for o in odds if o["name"] == "long call"]
    assert api["probability_of_profit"] is not None
    assert call["pop"] == f"{math.floor(api['probability_of_profit'] * 100 + 0.5)}%"
    assert call["pop_title"] == "price 600.00, IV 20.0%, rate 4.0%, 30.0 days"
    assert call["pop_why"] == "" and call["p50"] == "—"
    assert call["p50_title"] == call["p50_why"] == UNLIMITED_PROFIT
    assert (short["pop"], short["pop_title"], short["pop_why"]) == ("—", NO_OPTION, NO_OPTION)


def test_the_browser_writes_the_strategies_rows_as_the_server() -> None:
    """The server's rows (strategy_rows) and the browser's from the API's answer
    (static/js/risk/strategy-rows.js `strategyCells`, through node): the same texts, the
    odds included: a long call with POP, a vertical with P50, stock without odds."""
    snap = snapshot()
    a1 = snap["accounts"][0]["positions"]
    a1[1]["average_open_price"] = 12.5
    short = {**a1[1], "symbol": "SPY   261218C00610000", "streamer_symbol": ".SPY261218C610"}
    snap["accounts"][1]["positions"].append(
        {**a1[1], "quantity": 1, "average_open_price": 12.5},
    )
    snap["accounts"][1]["positions"].append(
        {**short, "quantity": 1, "direction": "Short", "average_open_price": 7.25}
    )
    snap["greeks"][".SPY261218C610"] = {"delta": 0.4, "iv": 0.18}
    server = strategy_rows(snap, now_ms=NOW, rate=0.04)
    api = rows_with_odds(
        strategies_of(legs_from_snapshot(snap)),
        snap["quotes"],
        now=dt.datetime.fromtimestamp(NOW / 1000, dt.UTC),
        rate=0.04,
    )
    browser = node_tool("strategy-rows.mjs", {"strategies": api})
    names = [r["name"] for r in server]
    assert {"long call", "call debit vertical", "short stock"} <= set(names), names
    assert any(r["p50"] != "—" for r in server), server
    for mine, theirs in zip(server, browser, strict=True):
        assert {k: v for k, v in mine.items() if k != "display"} == theirs


def test_odds_texts_round_half_up() -> None:
    """A tie rounds up (Python's format rounds half to even; the browser's the same way)."""
    assert (half_up(590.125, 2), half_up(45.25, 1), half_up(1234.5, 0)) == (
        "590.13",
        "45.3",
        "1,235",
    )
    assert (percent(0.745), percent(0.0), percent(1.0), percent(0.00499)) == (
        "75%",
        "0%",
        "100%",
        "0%",
    )
    cells = odds_cells(
        {
            "probability_of_profit": 0.7412,
            "pop_inputs": {"price": 590.12, "iv": 0.24, "rate": 0.04, "days": 45.312345},
            "pop_note": None,
            "p50": 0.5,
            "p50_note": None,
        }
    )
    assert cells == {
        "pop": "74%",
        "pop_title": "price 590.12, IV 24.0%, rate 4.0%, 45.3 days",
        "pop_why": "",
        "p50": "50%",
        "p50_title": "price 590.12, IV 24.0%, rate 4.0%, 45.3 days",
        "p50_why": "",
    }


def test_the_limits_row_against_the_values_they_are_evaluated_on() -> None:
    limits = {"beta_delta_min": -50.0, "beta_delta_max": 100.0, "daily_loss": 1000.0}
    row = limits_line(limits, 105.18, -1204.5)
    assert row["set"] and row["band_text"] == "-50.0 … +100.0"
    assert (row["beta_delta_text"], row["band_state"]) == ("+105.2", "above")
    assert row["band_status"] == "above the band by 5.2 SPY shares"
    assert (row["loss_text"], row["day_pnl_text"], row["loss_state"]) == (
        "1,000.00",
        "-1,204.50",
        "outside",
    )
    assert row["loss_status"] == "past the limit by 204.50 $"
    inside = limits_line(limits, 20.0, -300.0)
    assert (inside["band_state"], inside["band_status"]) == (
        "inside",
        "inside, 70.0 SPY shares from the edge",
    )
    assert (inside["loss_state"], inside["loss_status"]) == ("inside", "700.00 $ before the limit")
    # unknown values are not evaluated (as the stream's owner does not), never 0
    unknown = limits_line(limits, None, None)
    assert (unknown["band_state"], unknown["loss_state"]) == ("unknown", "unknown")
    assert (unknown["beta_delta_text"], unknown["day_pnl_text"]) == ("—", "—")
    none = limits_line({"beta_delta_min": None, "beta_delta_max": None, "daily_loss": None}, 1, 2)
    assert not none["set"] and none["band_state"] == "off" and none["loss_state"] == "off"
    assert limits_line({"beta_delta_min": -10.0}, -11.0, None)["band_text"] == "≥ -10.0"


BANDS = [
    [105.18, -50.0, 100.0],
    [-60.0, -50.0, 100.0],
    [-50.0, -50.0, 100.0],  # on the edge: inside (crossed only past it)
    [20.0, None, 100.0],
    [20.0, -50.0, None],
    [None, -50.0, 100.0],
    [1.0, None, None],
]
LOSSES = [[-1204.5, 1000.0], [-1000.0, 1000.0], [250.0, 1000.0], [None, 1000.0], [5.0, None]]


def test_the_browser_computes_the_limits_row_as_the_server() -> None:
    """One snapshot and one table of cases, fed to risk/page/rows.py / risk/limits/runner.py and to
    static/js/risk/limits.js (through node): the same values, states and sentences."""
    snapshot = json.loads(json.dumps(FIXTURE))
    now = snapshot["now_ms"]
    values = portfolio_values(snapshot, now)
    # NOQ has no β, no position a close: both unknown, not partial sums
    assert (values.beta_delta, values.day_pnl) == (None, None)
    snapshot["metrics"]["NOQ"] = {"beta": 0.8}
    for i, p in enumerate(p for a in snapshot["accounts"] for p in a["positions"]):
        p["close_price"], p["mark_price"] = 10.0 + i, 12.5 + i  # options: no quote of their own
    values = portfolio_values(snapshot, now)
    assert values.beta_delta is not None and values.day_pnl is not None
    browser = node_tool("risk-limits.mjs", {"snapshot": snapshot, "bands": BANDS, "losses": LOSSES})
    assert browser["beta_delta"] == pytest.approx(values.beta_delta, rel=1e-12)
    assert browser["day_pnl"] == pytest.approx(values.day_pnl, rel=1e-12)
    assert [list(band_status(*c)) for c in BANDS] == browser["bands"]
    assert [list(loss_status(*c)) for c in LOSSES] == browser["losses"]


def test_the_dashboard_shows_each_option_positions_pop_as_the_browser() -> None:
    """The positions panel's POP cells (streaming/pages/dashboard.py `pop_cells`, the first
    paint) and the browser's from the API's answer (static/js/stream/odds.js `positionPops`,
    through node): the same cells, keyed by account and the position's symbol; an option
    position's is its strategy's (a long call's, each leg of a vertical the vertical's), the
    first listed where a position is split (two short calls against 100 shares: a covered
    call and a short call); stock has none."""
    snap = snapshot()
    a1 = snap["accounts"][0]["positions"]
    a1[1]["average_open_price"] = 12.5
    short = {**a1[1], "symbol": "SPY   261218C00610000", "streamer_symbol": ".SPY261218C610"}
    b2 = snap["accounts"][1]["positions"]
    b2.append({**a1[1], "quantity": 1, "average_open_price": 12.5})
    b2.append({**short, "quantity": 1, "direction": "Short", "average_open_price": 7.25})
    split = {**short, "quantity": 2, "direction": "Short", "average_open_price": 7.25}
    snap["accounts"].append(
        {
            "number": "C3",
            "positions": [{"symbol": "SPY", "quantity": 100, "direction": "Long"}, split],
        }
    )
    snap["greeks"][".SPY261218C610"] = {"delta": 0.4, "iv": 0.18}
    now = dt.datetime.fromtimestamp(NOW / 1000, dt.UTC)
    server = pop_cells(snap, now, 0.04)
    api = rows_with_odds(
        strategies_of(legs_from_snapshot(snap)), snap["quotes"], now=now, rate=0.04
    )
    assert node_tool("position-pops.mjs", {"strategies": api}) == server
    long_call = f"A1|{a1[1]['symbol']}"
    assert set(server) == {
        long_call,
        f"B2|{a1[1]['symbol']}",
        f"B2|{short['symbol']}",
        f"C3|{short['symbol']}",
    }
    (call,) = [r for r in api if r["account"] == "A1" and r["name"] == "long call"]
    assert server[long_call] == {
        "text": percent(call["probability_of_profit"]),
        "title": "price 600.00, IV 20.0%, rate 4.0%, 30.0 days",
        "why": "",
    }
    (vertical,) = [r for r in api if r["account"] == "B2" and r["name"] == "call debit vertical"]
    assert server[f"B2|{short['symbol']}"]["text"] == percent(vertical["probability_of_profit"])
    holding = [r for r in api if r["account"] == "C3" and r["family"] != "stock"]
    assert [r["name"] for r in holding] == ["covered call", "short call"]
    assert server[f"C3|{short['symbol']}"]["title"] == odds_cells(holding[0])["pop_title"]
    assert server[f"C3|{short['symbol']}"]["text"] == odds_cells(holding[0])["pop"]
