"""Tradier's company search (`GET /v1/markets/search`) and easy-to-borrow list
(`GET /v1/markets/etb`) over real sockets, called with httpx as Tradier's documentation
shows them. Both list the securities the simulated market knows by name, described as
its quotes describe them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import httpx
import pytest

from sandbox.core.fundamentals import fundamentals
from sandbox.core.market.listings import listed_symbols
from sandbox.core.market.walk import Market
from tests.support.tradier import tradier_client

SECURITY_KEYS = {"symbol", "exchange", "type", "description"}


@pytest.fixture
def api(sandbox) -> Iterator[httpx.Client]:
    with tradier_client(sandbox) as client:
        yield client


def as_list(value: list | dict) -> list:
    """Tradier's one-element collapse undone."""
    return value if isinstance(value, list) else [value]


def search(api: httpx.Client, **params: str) -> list[dict]:
    answer = api.get("/v1/markets/search", params=params)
    assert answer.status_code == 200, answer.text
    body = answer.json()["securities"]
    return [] if body is None else as_list(body["security"])


def quotes(api: httpx.Client, symbols: list[str]) -> dict[str, dict]:
    body = api.get("/v1/markets/quotes", params={"symbols": ",".join(symbols)}).json()
    return {q["symbol"]: q for q in as_list(body["quotes"]["quote"])}


def test_search_finds_apple_by_company_name_as_one_object(api):
    """A company-name search; one match is a bare object, as Tradier's JSON collapses it."""
    answer = api.get("/v1/markets/search", params={"q": "apple"}).json()
    security = answer["securities"]["security"]
    assert isinstance(security, dict)
    quote = quotes(api, ["AAPL"])["AAPL"]
    assert security == {
        "symbol": "AAPL",
        "exchange": "Q",
        "type": "stock",
        "description": "Apple Inc. - Common Stock",
    }
    assert security["description"] == quote["description"]


def test_search_matches_symbols_and_names_busiest_first(api, control):
    """Partial symbol or name, case-insensitive; descending by average volume (the quotes'
    `average_volume`); ETFs say etf, indexes index, as the quotes say."""
    control.configure(tick_rate=0.0)
    goog = search(api, q="goog")
    assert {s["symbol"] for s in goog} == {"GOOG", "GOOGL"}
    vanguard = search(api, q="VANGUARD")
    symbols = [s["symbol"] for s in vanguard]
    assert set(symbols) == {"VOO", "VTI", "VXUS", "BND"}
    by_quote = quotes(api, symbols)
    volumes = [by_quote[s]["average_volume"] for s in symbols]
    assert volumes == sorted(volumes, reverse=True)
    for item in vanguard:
        assert set(item) == SECURITY_KEYS
        assert item["type"] == by_quote[item["symbol"]]["type"] == "etf"
        assert item["description"] == by_quote[item["symbol"]]["description"]


def test_search_includes_indexes_unless_told_not_to(api):
    """`indexes=false` leaves indexes out; nothing found is `{"securities": null}`."""
    with_indexes = {s["symbol"]: s["type"] for s in search(api, q="s&p 500")}
    assert with_indexes == {"SPY": "etf", "VOO": "etf", "SPX": "index"}
    without = {s["symbol"] for s in search(api, q="s&p 500", indexes="false")}
    assert without == {"SPY", "VOO"}
    assert {s["type"] for s in search(api, q="index", indexes="true")} == {"index"}
    assert api.get("/v1/markets/search", params={"q": "index", "indexes": "false"}).json() == {
        "securities": None
    }
    assert api.get("/v1/markets/search", params={"q": "no such company"}).json() == {
        "securities": None
    }


def test_search_refuses_bad_input_in_tradiers_error_shape(api):
    """No query, or an `indexes` that is not a boolean: 400 with Tradier's error body, in
    JSON when asked for and XML otherwise; never text, never a 500."""
    for params in ({}, {"q": " "}, {"q": "apple", "indexes": "maybe"}):
        answer = api.get("/v1/markets/search", params=params)
        assert answer.status_code == 400, params
        errors = answer.json()["errors"]["error"]
        assert isinstance(errors, list) and errors[0], params
    xml = api.get("/v1/markets/search", headers={"Accept": "application/xml"})
    assert xml.status_code == 400
    assert xml.headers["content-type"].startswith("application/xml")
    assert "<errors><error>" in xml.text


def test_search_answers_xml_by_default(api):
    answer = api.get("/v1/markets/search", params={"q": "apple"}, headers={"Accept": "*/*"})
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/xml")
    assert "<securities><security><symbol>AAPL</symbol>" in answer.text


def test_etb_lists_what_can_be_sold_short(api):
    """Every listed stock and ETF the market's lendability calls easy to borrow (the same
    facts tastytrade's `lendability` reports), never an index, never a locate-required
    name; described as the quotes describe them."""
    answer = api.get("/v1/markets/etb")
    assert answer.status_code == 200, answer.text
    items = as_list(answer.json()["securities"]["security"])
    market = Market(seed=7)  # the sandbox's default seed
    today = dt.date.today()
    expected, hard = set(), set()
    for symbol, _description, index in listed_symbols():
        facts = fundamentals(market, symbol, today)
        assert facts is not None
        if index:
            continue
        (expected if facts.lendability == "Easy To Borrow" else hard).add(symbol)
    assert hard, "the seed should make at least one stock locate-required"
    assert {i["symbol"] for i in items} == expected
    by_quote = quotes(api, sorted(expected))
    for item in items:
        assert set(item) == SECURITY_KEYS
        assert item["type"] in ("stock", "etf")
        assert item["type"] == by_quote[item["symbol"]]["type"]
        assert item["description"] == by_quote[item["symbol"]]["description"]
        assert item["exchange"] == "Q"
    symbols = [i["symbol"] for i in items]
    assert symbols == sorted(symbols)
