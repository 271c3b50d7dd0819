"""The scenario grid (docs/streaming-contract.md "GET /api/risk/<UNDERLYING>/scenarios")
against QuantLib's analytic European engine: every cell of a short put's, a vertical's and
the whole underlying's grid is the legs' QuantLib value at that price and IV, less cost,
within 1e-6 of the notional; and each refusal is a sentence."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import QuantLib as ql

from streaming.instruments.naming import name_position
from streaming.risk.legs import legs_from_snapshot
from streaming.risk.strategies.grouping import strategies_of
from streaming.risk.whatif.answer import NoPriceError
from streaming.risk.whatif.grid import (
    IV_SHIFTS,
    MOVES,
    GridAnswer,
    parse_grid_query,
    scenario_grid,
)
from streaming.risk.whatif.input import RiskInputError

NEW_YORK = ZoneInfo("America/New_York")
#: 16:00 New York, so every horizon is whole days (QuantLib's dates are days).
NOW = dt.datetime(2026, 11, 18, 16, 0, tzinfo=NEW_YORK).astimezone(dt.UTC)
NOW_MS = int(NOW.timestamp() * 1000)
RATE, DIVIDEND, PRICE = 0.04, 0.012, 590.0
PUT_EXPIRES, CALL_EXPIRES = ql.Date(15, ql.January, 2027), ql.Date(19, ql.February, 2027)
#: (OCC symbol, feed symbol, right, strike, expiration, signed contracts, cost, IV)
OPTIONS = [
    ("SPY   270115P00560000", ".SPY270115P560", "put", 560.0, PUT_EXPIRES, -2, 6.10, 0.21),
    ("SPY   270219C00590000", ".SPY270219C590", "call", 590.0, CALL_EXPIRES, 1, 17.40, 0.18),
    ("SPY   270219C00600000", ".SPY270219C600", "call", 600.0, CALL_EXPIRES, -1, 12.05, 0.17),
]


def snapshot() -> dict[str, Any]:
    positions = [
        {
            "symbol": occ,
            "streamer_symbol": feed,
            "underlying": "SPY",
            "instrument_type": "Equity Option",
            "quantity": abs(qty),
            "direction": "Long" if qty > 0 else "Short",
            "multiplier": 100,
            "average_open_price": cost,
        }
        for occ, feed, *_, qty, cost, _iv in OPTIONS
    ]
    return {
        "accounts": [
            {
                "number": "5WT1",
                "broker": "tastytrade",
                "positions": [name_position(p, "tastytrade") for p in positions],
            }
        ],
        "quotes": {"SPY": {"bid": PRICE - 0.05, "ask": PRICE + 0.05, "t": NOW_MS - 1000}},
        "greeks": {o[1]: {"iv": o[7], "t": NOW_MS - 500} for o in OPTIONS},
        "metrics": {"SPY": {"beta": 1.0, "dividend_yield": DIVIDEND, "t": NOW_MS - 2000}},
        "t": NOW_MS,
    }


def quantlib_value(
    right: str, s: float, k: float, expires: ql.Date, vol: float, today: ql.Date
) -> float:
    """QuantLib's AnalyticEuropeanEngine on a BlackScholesMertonProcess, flat curves."""
    ql.Settings.instance().evaluationDate = today
    dc = ql.Actual365Fixed()
    process = ql.BlackScholesMertonProcess(
        ql.QuoteHandle(ql.SimpleQuote(s)),
        ql.YieldTermStructureHandle(ql.FlatForward(today, DIVIDEND, dc)),
        ql.YieldTermStructureHandle(ql.FlatForward(today, RATE, dc)),
        ql.BlackVolTermStructureHandle(ql.BlackConstantVol(today, ql.NullCalendar(), vol, dc)),
    )
    kind = ql.Option.Call if right == "call" else ql.Option.Put
    option = ql.VanillaOption(ql.PlainVanillaPayoff(kind, k), ql.EuropeanExercise(expires))
    option.setPricingEngine(ql.AnalyticEuropeanEngine(process))
    return float(option.NPV())


def expected_grid(options: list[tuple[Any, ...]], today: ql.Date) -> list[list[float]]:
    return [
        [
            sum(
                (quantlib_value(right, PRICE * (1 + move / 100), k, exp, iv + shift / 100, today)
                 - cost) * qty * 100
                for _, _, right, k, exp, qty, cost, iv in options
            )
            for move in MOVES
        ]
        for shift in IV_SHIFTS
    ]  # fmt: skip


def key_of(name: str) -> str:
    (found,) = [s for s in strategies_of(legs_from_snapshot(snapshot(), "SPY")) if s.name == name]
    return found.key


def assert_grid(answer: GridAnswer, options: list[tuple[Any, ...]], today: ql.Date) -> None:
    notional = PRICE * 100 * sum(abs(o[5]) for o in options)
    expected = expected_grid(options, today)
    assert len(answer["pnl"]) == 5 and all(len(row) == 7 for row in answer["pnl"])
    for row, want in zip(answer["pnl"], expected, strict=True):
        assert row == pytest.approx(want, abs=1e-6 * notional)


@pytest.mark.parametrize(
    ("name", "options"),
    [("short put", OPTIONS[:1]), ("call debit vertical", OPTIONS[1:]), (None, OPTIONS)],
)
def test_every_cell_is_quantlibs_value_less_cost(name: str | None, options: list) -> None:
    params = {"date": "2026-12-18"} | ({"strategy": key_of(name)} if name else {})
    answer = scenario_grid(snapshot(), "SPY", parse_grid_query(params), now=NOW, rate=RATE)
    assert (answer["date"], answer["price"], answer["strategy"]) == (
        "2026-12-18",
        PRICE,
        params.get("strategy"),
    )
    assert answer["moves"] == [-10, -5, -2.5, 0, 2.5, 5, 10]
    assert answer["iv_shifts"] == [-10, -5, 0, 5, 10]
    assert answer["prices"] == pytest.approx([PRICE * (1 + m / 100) for m in MOVES])
    assert (answer["unpriced"], answer["as_of"]) == ([], NOW_MS - 2000)
    assert_grid(answer, options, ql.Date(18, ql.December, 2026))


def test_without_a_date_the_grid_is_now() -> None:
    answer = scenario_grid(snapshot(), "SPY", parse_grid_query({}), now=NOW, rate=RATE)
    assert answer["at"] == NOW_MS
    assert_grid(answer, OPTIONS, ql.Date(18, ql.November, 2026))


@pytest.mark.parametrize(
    ("params", "sentence"),
    [
        ({"date": "18/12/2026"}, "date must be YYYY-MM-DD"),
        ({"date": "2026-11-01"}, "is in the past"),
        ({"date": "2027-03-01"}, "after the last expiration held"),
        ({"strategy": "0123456789ab"}, "No strategy '0123456789ab' in SPY"),
        ({"iv_shift": "5"}, "Unknown parameter 'iv_shift'"),
    ],
)
def test_bad_input_is_a_sentence(params: dict[str, str], sentence: str) -> None:
    with pytest.raises(RiskInputError, match=sentence):
        scenario_grid(snapshot(), "SPY", parse_grid_query(params), now=NOW, rate=RATE)


def test_no_legs_and_no_price_are_refused() -> None:
    with pytest.raises(RiskInputError, match="You hold no position in QQQ"):
        scenario_grid(snapshot(), "QQQ", parse_grid_query({}), now=NOW, rate=RATE)
    no_quote = snapshot() | {"quotes": {}}
    with pytest.raises(NoPriceError, match="no price for SPY"):
        scenario_grid(no_quote, "SPY", parse_grid_query({}), now=NOW, rate=RATE)
