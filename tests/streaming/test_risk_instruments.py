"""Risk for every kind of instrument (docs/streaming-contract.md "tastytrade's definitions",
"Risk: the what-if curve", "The /risk page"): positions as the stream names them
(streaming/instruments/naming.py) — a coin at tastytrade (`BTC/USD`) and at Alpaca
(`BTCUSD`), an /ES future and an /ES option, an SPY option, SPY stock and a fractional
share — priced from each underlying's own quote (`BTC/USD:CXTALP`, `/ESZ26:XCME`), with the
metrics stored under the contract symbols.

Every expected number is computed here from the inputs by plain arithmetic, and the option
values by a Black-Scholes / Black-76 written in this file on scipy's normal CDF.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from scipy.stats import norm

from streaming.instruments.naming import name_position
from streaming.risk.exposure import position_exposure, underlying_rows
from streaming.risk.legs import legs_from_snapshot
from streaming.risk.names import quantity_text, resolve_underlying
from streaming.risk.page.rows import (
    default_choice,
    graph_choices,
    portfolio_line,
    strategy_rows,
    underlying_tables,
)
from streaming.risk.strategies.grouping import strategies_of
from streaming.risk.whatif.answer import portfolio_answer, underlying_answer
from streaming.risk.whatif.curve import Scenario, pnl_at
from streaming.risk.whatif.input import RiskQuery

NEW_YORK = ZoneInfo("America/New_York")
NOW = dt.datetime(2026, 11, 18, 15, 0, tzinfo=dt.UTC)
NOW_MS = int(NOW.timestamp() * 1000)
ES_EXPIRES = dt.datetime(2026, 12, 18, 16, 0, tzinfo=NEW_YORK)
SPY_EXPIRES = dt.datetime(2027, 1, 15, 16, 0, tzinfo=NEW_YORK)
RATE = 0.04

COIN = "BTC/USD:CXTALP"
FUTURE = "/ESZ26:XCME"
ES_CALL = "./ESZ26C6000:XCME"
SPY_CALL = ".SPY270115C590"

SPY_MID, BTC_MID, ES_MID = 590.0, 95_000.0, 6_000.0
BTC_BETA, ES_BETA = 1.81, 1.0
ES_CALL_DELTA, ES_CALL_IV = 0.34, 0.15
SPY_CALL_DELTA, SPY_CALL_IV = 0.55, 0.18


def mid_quote(mid: float, half: float = 0.5) -> dict[str, Any]:
    return {"bid": mid - half, "ask": mid + half, "t": NOW_MS - 1000}


def tastytrade_positions() -> list[dict[str, Any]]:
    """As the tastytrade adapter hands them to the stream's sink (its REST symbols)."""
    return [
        {
            "symbol": "BTC/USD",
            "streamer_symbol": COIN,
            "underlying": "BTC/USD",
            "instrument_type": "Cryptocurrency",
            "quantity": 0.25,
            "direction": "Long",
            "multiplier": 1,
            "average_open_price": 81_268.04,
        },
        {
            "symbol": "./ESZ6 ESZ6 261218C6000",
            "streamer_symbol": ES_CALL,
            "underlying": "/ESZ6",
            "instrument_type": "Future Option",
            "quantity": 1,
            "direction": "Long",
            "multiplier": 50,
            "average_open_price": 35.67,
            "expires_at": int(ES_EXPIRES.timestamp() * 1000),
        },
        {
            "symbol": "/ESZ6",
            "streamer_symbol": FUTURE,
            "underlying": "/ESZ6",
            "instrument_type": "Future",
            "quantity": 1,
            "direction": "Short",
            "multiplier": 50,
            "average_open_price": 6_010.0,
        },
        {
            "symbol": "SPY   270115C00590000",
            "streamer_symbol": SPY_CALL,
            "underlying": "SPY",
            "instrument_type": "Equity Option",
            "quantity": 8,
            "direction": "Long",
            "multiplier": 100,
            "average_open_price": 14.2089,
            "expires_at": int(SPY_EXPIRES.timestamp() * 1000),
        },
        {
            "symbol": "SPY",
            "streamer_symbol": "SPY",
            "underlying": "SPY",
            "instrument_type": "Equity",
            "quantity": 10,
            "direction": "Long",
            "multiplier": 1,
            "average_open_price": 588.94,
        },
    ]


def alpaca_positions() -> list[dict[str, Any]]:
    return [
        {
            "symbol": "BTCUSD",
            "streamer_symbol": COIN,
            "underlying": "BTCUSD",
            "instrument_type": "Cryptocurrency",
            "quantity": 0.25,
            "direction": "Long",
            "multiplier": 1,
            "average_open_price": 84_052.6,
        },
        {
            "symbol": "AAPL",
            "streamer_symbol": "AAPL",
            "underlying": "AAPL",
            "instrument_type": "Equity",
            "quantity": 0.5,
            "direction": "Long",
            "multiplier": 1,
            "average_open_price": 240.0,
        },
    ]


def snapshot() -> dict[str, Any]:
    """The user's snapshot, each position named by the stream as it arrived."""
    return {
        "accounts": [
            {
                "number": "5WT1",
                "broker": "tastytrade",
                "positions": [name_position(p, "tastytrade") for p in tastytrade_positions()],
            },
            {
                "number": "PA2",
                "broker": "alpaca",
                "positions": [name_position(p, "alpaca") for p in alpaca_positions()],
            },
        ],
        "quotes": {
            "SPY": mid_quote(SPY_MID, 0.05),
            COIN: mid_quote(BTC_MID, 5.0),
            FUTURE: mid_quote(ES_MID, 0.125),
            "AAPL": mid_quote(240.0, 0.05),
        },
        "greeks": {
            ES_CALL: {"delta": ES_CALL_DELTA, "iv": ES_CALL_IV, "t": NOW_MS - 500},
            SPY_CALL: {"delta": SPY_CALL_DELTA, "iv": SPY_CALL_IV, "t": NOW_MS - 500},
        },
        "metrics": {
            "SPY": {"beta": 1.0, "beta_source": "tastytrade", "dividend_yield": 0.012},
            COIN: {"beta": BTC_BETA, "beta_source": "tastytrade", "iv_index": 0.5},
            FUTURE: {"beta": ES_BETA, "beta_source": "tastytrade", "iv_index": 0.15},
            "AAPL": {"beta": 0.85, "beta_source": "tastytrade"},
        },
        "t": NOW_MS,
    }


def position(snap: dict[str, Any], account: str, symbol: str) -> dict[str, Any]:
    (acct,) = [a for a in snap["accounts"] if a["number"] == account]
    (found,) = [p for p in acct["positions"] if p["symbol"] == symbol]
    return found


def exposure_of(snap: dict[str, Any], account: str, symbol: str) -> Any:
    p = position(snap, account, symbol)
    metrics = snap["metrics"].get(p["underlying"]) or {}
    return position_exposure(p, snap["quotes"], snap["greeks"], metrics, SPY_MID, now_ms=NOW_MS)


# -- β-weighted delta: tastytrade's definition, for every kind --------------------------------
def test_a_coin_counts_its_quantity_at_its_coin_feeds_price():
    snap = snapshot()
    for account, symbol in (("5WT1", "BTC/USD"), ("PA2", "BTCUSD")):
        e = exposure_of(snap, account, symbol)
        assert e.underlying == COIN
        assert e.delta_shares == 0.25
        # β * price * delta ÷ SPY: 1.81 * 95,000 * 0.25 / 590 ≈ 72.86 SPY shares
        assert e.beta_delta == pytest.approx(BTC_BETA * BTC_MID * 0.25 / SPY_MID, rel=1e-12)
        assert e.beta_delta == pytest.approx(72.86, abs=0.01)


def test_a_future_counts_its_point_value_and_a_future_option_its_futures():
    snap = snapshot()
    future = exposure_of(snap, "5WT1", "/ESZ6")
    assert future.underlying == FUTURE
    assert future.delta_shares == -50.0  # 50 * -1
    assert future.beta_delta == pytest.approx(ES_BETA * ES_MID * -50.0 / SPY_MID, rel=1e-12)
    call = exposure_of(snap, "5WT1", "./ESZ6 ESZ6 261218C6000")
    assert call.underlying == FUTURE
    assert call.delta_shares == pytest.approx(ES_CALL_DELTA * 50 * 1)
    assert call.beta_delta == pytest.approx(
        ES_BETA * ES_MID * ES_CALL_DELTA * 50 / SPY_MID, rel=1e-12
    )
    # the expected move is the future's: price * IV * √(DTE/365)
    days = (ES_EXPIRES.timestamp() * 1000 - NOW_MS) / 86_400_000
    assert call.expected_move == pytest.approx(ES_MID * ES_CALL_IV * math.sqrt(days / 365))


def test_every_account_s_coin_is_one_underlying_row():
    rows = {r.underlying: r for r in underlying_rows(snapshot(), now_ms=NOW_MS)}
    assert set(rows) == {"AAPL", COIN, FUTURE, "SPY"}
    btc = rows[COIN]
    assert (btc.price, btc.beta, btc.accounts) == (BTC_MID, BTC_BETA, ["5WT1", "PA2"])
    assert btc.delta_shares == 0.5
    assert btc.beta_delta == pytest.approx(BTC_BETA * BTC_MID * 0.5 / SPY_MID)
    assert rows[FUTURE].delta_shares == pytest.approx(-50 + ES_CALL_DELTA * 50)


# -- the page: display names, exact quantities, any spelling ----------------------------------
def test_tables_are_named_by_display_and_quantities_are_exact():
    snap = snapshot()
    tables = {t.underlying: t for t in underlying_tables(snap, now_ms=NOW_MS)}
    assert {u: t.display for u, t in tables.items()} == {
        "AAPL": "AAPL",
        COIN: "BTC/USD",
        FUTURE: "/ES Dec 26",
        "SPY": "SPY",
    }
    assert tables[COIN].price == BTC_MID and tables[COIN].price_text == "95,000.00"
    assert [(p.account, p.symbol, p.display, p.qty) for p in tables[COIN].positions] == [
        ("5WT1", "BTC/USD", "BTC/USD", "0.25"),
        ("PA2", "BTCUSD", "BTC/USD", "0.25"),
    ]
    assert [(p.display, p.qty) for p in tables[FUTURE].positions] == [
        ("/ES Dec 26", "-1"),
        ("/ES Dec 26 6000 C", "1"),
    ]
    assert [p.display for p in tables["SPY"].positions] == ["SPY", "SPY 15 Jan 27 590 C"]
    assert [p.qty for p in tables["AAPL"].positions] == ["0.5"]
    assert tables[COIN].positions[0].beta_delta == "+72.9"
    assert tables[COIN].price_title.startswith("BTC/USD quote bid/ask mid")
    line = portfolio_line(list(tables.values()), snap)
    assert line["beta_delta"] is not None and line["beta_delta"] > 140  # both coins count


def test_quantity_text_is_exact():
    cases = [(0.25, "0.25"), (-1000.0, "-1,000"), (10, "10"), (1e-9, "0.000000001"), (0.0, "0")]
    assert [quantity_text(q) for q, _ in cases] == [text for _, text in cases]
    assert quantity_text(0.5, sign=True) == "+0.5" and quantity_text(None) == "—"
    assert quantity_text(123456.123456789) == "123,456.123456789"


def test_graph_choices_are_labelled_by_display_and_any_spelling_opens_one():
    snap = snapshot()
    choices = graph_choices(snap)
    assert [(c["value"], c["label"]) for c in choices] == [
        (FUTURE, "/ES Dec 26"),
        ("AAPL", "AAPL"),
        (COIN, "BTC/USD"),
        ("SPY", "SPY"),
        ("portfolio", "Portfolio (β-weighted to SPY)"),
    ]
    for spelling in ("btc/usd", "BTCUSD", "BTC/USD:CXTALP"):
        assert default_choice(snap, spelling) == COIN, spelling
    for spelling in ("/ESZ6", "/esz26:xcme"):
        assert default_choice(snap, spelling) == FUTURE, spelling


def test_an_underlying_resolves_from_any_spelling_through_the_holdings():
    snap = snapshot()
    found = {raw: resolve_underlying(snap, raw) for raw in ("BTCUSD", "BTC/USD", "/ESZ6", "spy")}
    assert {raw: i.symbol if i else None for raw, i in found.items()} == {
        "BTCUSD": COIN,  # Alpaca holds it: the coin, not a look-alike ticker
        "BTC/USD": COIN,
        "/ESZ6": FUTURE,
        "spy": "SPY",
    }
    without_alpaca = {**snap, "accounts": snap["accounts"][:1]}
    assert resolve_underlying(without_alpaca, "BTCUSD").symbol == "BTCUSD"  # a ticker
    assert resolve_underlying(snap, "not a symbol!") is None


# -- the what-if curve ------------------------------------------------------------------------
def black_scholes(call: bool, s: float, k: float, t: float, vol: float, r: float, q: float):
    """Merton's formula, written here; Black-76 is q = r (a future's forward is itself)."""
    d1 = (math.log(s / k) + (r - q + vol * vol / 2) * t) / (vol * math.sqrt(t))
    d2 = d1 - vol * math.sqrt(t)
    if call:
        return s * math.exp(-q * t) * norm.cdf(d1) - k * math.exp(-r * t) * norm.cdf(d2)
    return k * math.exp(-r * t) * norm.cdf(-d2) - s * math.exp(-q * t) * norm.cdf(-d1)


def years(until: dt.datetime) -> float:
    return (until - NOW).total_seconds() / (365 * 86_400)


def test_coins_and_futures_are_worth_price_times_multiplier():
    snap = snapshot()
    scenario = Scenario(at=NOW, rate=RATE)
    coin = legs_from_snapshot(snap, COIN)
    assert [(leg.symbol, leg.kind, leg.quantity, leg.multiplier) for leg in coin] == [
        ("BTC/USD", "stock", 0.25, 1.0),
        ("BTCUSD", "stock", 0.25, 1.0),
    ]
    [value] = pnl_at(coin, np.array([100_000.0]), scenario)
    assert value == pytest.approx((100_000 - 81_268.04) * 0.25 + (100_000 - 84_052.6) * 0.25)
    future = [leg for leg in legs_from_snapshot(snap, FUTURE) if leg.kind == "stock"]
    [value] = pnl_at(future, np.array([6_100.0]), scenario)
    assert value == pytest.approx((6_100 - 6_010) * -1 * 50)


def test_an_option_on_a_future_is_black_76_on_the_futures_price():
    snap = snapshot()
    (call,) = [leg for leg in legs_from_snapshot(snap, FUTURE) if leg.kind == "call"]
    assert (call.strike, call.expiration, call.multiplier, call.asset) == (
        6000.0,
        dt.date(2026, 12, 18),
        50.0,
        "future",
    )
    assert call.display == "/ES Dec 26 6000 C"
    [value] = pnl_at([call], np.array([6_100.0]), Scenario(at=NOW, rate=RATE))
    model = black_scholes(True, 6_100.0, 6_000.0, years(ES_EXPIRES), ES_CALL_IV, RATE, RATE)
    assert value == pytest.approx((model - 35.67) * 50, rel=1e-9)


def test_an_underlyings_answer_is_named_and_carries_its_exposure():
    snap = snapshot()
    query = RiskQuery(day=None, at_expiration=False, iv_shift=0.0, prices=[5_900.0, 6_100.0])
    answer = underlying_answer(snap, FUTURE, query, now=NOW, rate=RATE)
    assert (answer["underlying"], answer["display"], answer["price"]) == (
        FUTURE,
        "/ES Dec 26",
        ES_MID,
    )
    delta = -50 + ES_CALL_DELTA * 50
    assert answer["delta"] == pytest.approx(delta)
    assert answer["notional"] == pytest.approx(delta * ES_MID)
    assert answer["beta"] == ES_BETA
    assert answer["beta_delta"] == pytest.approx(ES_BETA * ES_MID * delta / SPY_MID)
    t = years(ES_EXPIRES)
    for point in answer["points"]:
        s = point["price"]
        call = black_scholes(True, s, 6_000.0, t, ES_CALL_IV, RATE, RATE)
        expected = (call - 35.67) * 50 + (s - 6_010.0) * -50
        assert point["pnl"] == pytest.approx(expected, rel=1e-9)
    coin = underlying_answer(snap, COIN, query, now=NOW, rate=RATE)
    assert (coin["display"], coin["delta"], coin["unpriced"]) == ("BTC/USD", 0.5, [])
    assert coin["notional"] == pytest.approx(0.5 * BTC_MID)
    portfolio = portfolio_answer(snap, query, now=NOW, rate=RATE)
    assert portfolio["display"] == "Portfolio"
    assert portfolio["beta_delta"] == pytest.approx(
        sum(r.beta_delta for r in underlying_rows(snap, now_ms=NOW_MS))
    )


# -- strategies: equities only, named by display ----------------------------------------------
def test_strategies_hold_equities_only_and_list_legs_by_display():
    snap = snapshot()
    found = strategies_of(legs_from_snapshot(snap))
    assert {s.underlying for s in found} == {"SPY", "AAPL"}
    rows = {(r["account"], r["name"]): r for r in strategy_rows(snap, now_ms=NOW_MS, rate=RATE)}
    assert rows[("5WT1", "long call")]["legs"] == "+8 SPY 15 Jan 27 590 C"
    assert rows[("PA2", "long stock")]["legs"] == "+0.5 AAPL"
    as_dict = next(s.as_dict() for s in found if s.name == "long call")
    assert as_dict["display"] == "SPY"
    assert as_dict["legs"][0]["display"] == "SPY 15 Jan 27 590 C"
    assert as_dict["legs"][0]["symbol"] == "SPY   270115C00590000"
