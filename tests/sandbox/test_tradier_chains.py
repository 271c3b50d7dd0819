"""Tradier's option chain (`GET /v1/markets/options/chains?symbol=&expiration=&greeks=`)
over real sockets, called with httpx as Tradier's documentation shows it: its three
parameters are honoured, what has no chain answers `{"options": null}`, and bad input is
refused in Tradier's error shape."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import httpx
import pytest

from tests.support.tradier import tradier_client

GREEKS = {"delta", "gamma", "theta", "vega", "rho", "phi",
          "bid_iv", "mid_iv", "ask_iv", "smv_vol", "updated_at"}  # fmt: skip


@pytest.fixture
def api(sandbox, control) -> Iterator[httpx.Client]:
    control.configure(tick_rate=0.0)
    with tradier_client(sandbox) as client:
        yield client


def dates_of(api: httpx.Client, symbol: str, **params: str) -> list[str]:
    body = api.get("/v1/markets/options/expirations", params={"symbol": symbol, **params})
    dates = body.json()["expirations"]["date"]
    return dates if isinstance(dates, list) else [dates]


def chain(api: httpx.Client, **params: str) -> httpx.Response:
    return api.get("/v1/markets/options/chains", params=params)


def test_chain_honours_symbol_expiration_and_greeks(api):
    expiry = dates_of(api, "AAPL")[1]
    plain = chain(api, symbol="aapl", expiration=expiry).json()["options"]["option"]
    assert plain and all("greeks" not in row for row in plain)
    assert {row["underlying"] for row in plain} == {"AAPL"}
    assert {row["expiration_date"] for row in plain} == {expiry}
    assert {row["option_type"] for row in plain} == {"call", "put"}
    strikes = api.get(
        "/v1/markets/options/strikes", params={"symbol": "AAPL", "expiration": expiry}
    ).json()["strikes"]["strike"]
    assert sorted({row["strike"] for row in plain}) == sorted(strikes)
    with_greeks = chain(api, symbol="AAPL", expiration=expiry, greeks="true").json()
    rows = with_greeks["options"]["option"]
    assert [r["symbol"] for r in rows] == [r["symbol"] for r in plain]
    assert all(set(r["greeks"]) == GREEKS for r in rows)
    no_greeks = chain(api, symbol="AAPL", expiration=expiry, greeks="false").json()
    assert all("greeks" not in r for r in no_greeks["options"]["option"])


def test_what_has_no_chain_answers_options_null(api):
    """An unlisted expiration, a symbol that is no underlying (malformed, an option, none):
    `{"options": null}` as Tradier answers, with 200."""
    listed = dates_of(api, "SPY")
    unlisted = dt.date.fromisoformat(listed[0]) - dt.timedelta(days=400)
    option = chain(api, symbol="SPY", expiration=listed[0]).json()["options"]["option"][0]
    for params in (
        {"symbol": "SPY", "expiration": unlisted.isoformat()},
        {"symbol": "ZZZZ$", "expiration": listed[0]},
        {"symbol": option["symbol"], "expiration": listed[0]},
        {"symbol": "", "expiration": listed[0]},
    ):
        answer = chain(api, **params)
        assert answer.status_code == 200, params
        assert answer.json() == {"options": None}, params


def test_a_bad_expiration_is_refused_in_tradiers_error_shape(api):
    for params in ({"symbol": "SPY"}, {"symbol": "SPY", "expiration": "next friday"}):
        answer = chain(api, **params)
        assert answer.status_code == 400, params
        assert answer.json()["errors"]["error"][0], params
    xml = api.get(
        "/v1/markets/options/chains",
        params={"symbol": "SPY", "expiration": "2026-13-01"},
        headers={"Accept": "*/*"},
    )
    assert xml.status_code == 400 and "<errors><error>" in xml.text


def test_an_index_weekly_chain_lists_the_weekly_root(api):
    """SPX weeklies trade under SPXW: the chain of a weekly date lists the SPXW symbols
    the option look-up lists, with `underlying` SPX and `root_symbol` SPXW."""
    standard = set(dates_of(api, "SPX"))
    weekly = next(d for d in dates_of(api, "SPX", includeAllRoots="true") if d not in standard)
    rows = chain(api, symbol="SPX", expiration=weekly).json()["options"]["option"]
    assert {r["underlying"] for r in rows} == {"SPX"}
    assert {r["root_symbol"] for r in rows} == {"SPXW"}
    assert all(r["symbol"].startswith("SPXW") for r in rows)
    lookup = api.get("/v1/markets/options/lookup", params={"underlying": "SPX"}).json()
    listed = {o for group in lookup["symbols"] for o in group["options"]}
    assert {r["symbol"] for r in rows} <= listed
    monthly = chain(api, symbol="SPX", expiration=sorted(standard)[0]).json()
    assert {r["root_symbol"] for r in monthly["options"]["option"]} == {"SPX"}
