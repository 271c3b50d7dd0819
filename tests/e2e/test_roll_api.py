"""`GET /api/roll/candidates` and `preview.odds` at a real daphne against the sandbox's
three brokers (docs/streaming-contract.md, "The roll picker"): the demo trader's seeded
long SPY call rolls to the next four expirations, three rows each, each row's POP
recomputed here by N(d2) over its break-even from its `pop_inputs` and its legs' mids;
the buying-power effect from the broker's dry run at tastytrade and Tradier, a note at
Alpaca; every refusal of the contract's table in words; a short put's preview odds and a
stock order's none."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from scipy.stats import norm

from sandbox.server import SandboxServer
from streaming.instruments.symbols import OPTION_STREAMER_RE
from tests.support.live import LiveApp
from tests.support.live import read_json as read
from tests.support.trading_http import Trader, enable_demo_trading

BROKERS = ("tastytrade", "tradier", "alpaca")
CHOICES = ["same", "delta", "credit"]


@pytest.fixture(scope="module")
def trader(live_app: LiveApp, demo: httpx.Client) -> Iterator[Trader]:
    enable_demo_trading(live_app)
    yield Trader(live_app, demo)


def long_call(snapshot: dict[str, Any], broker: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The broker's first margin account with the seeded long SPY call, and that call."""
    for account in snapshot["accounts"]:
        for p in account["positions"]:
            code = OPTION_STREAMER_RE.match(p.get("streamer_symbol") or "")
            if (
                account["broker"] == broker
                and code is not None
                and code.group(1, 3) == ("SPY", "C")
                and p["direction"] == "Long"
            ):
                return account, p
    raise AssertionError(f"the demo seed gives each {broker} margin account a long SPY call")


def pop_above(level: float, inputs: dict[str, float]) -> float:
    """P(S_T > level): N(d2) under the lognormal, from a row's `pop_inputs`."""
    t = inputs["days"] / 365
    sigma = inputs["iv"]
    d2 = (math.log(inputs["price"] / level) + (inputs["rate"] - sigma**2 / 2) * t) / (
        sigma * math.sqrt(t)
    )
    return float(norm.cdf(d2))


@pytest.mark.parametrize("broker", BROKERS)
def test_a_long_call_rolls_to_four_expirations_three_rows_each(demo, trader, live_sandbox, broker):
    account, call = long_call(read(demo, "/api/snapshot"), broker)
    answer = demo.get(
        "/api/roll/candidates",
        params={"account": account["number"], "symbol": call["streamer_symbol"]},
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    rows = body["candidates"]
    days = sorted({r["expiration"] for r in rows})
    listed = read(demo, "/api/chain/SPY/expirations")["expirations"]
    later = [e["date"] for e in listed if e["date"] > body["position"]["expiration"]]
    # the sandbox lists 4 weeklies and 3 monthlies: a call 30-60 days out has 1 to 3 after it
    assert days == later[:4] and days, body
    assert [r["choice"] for r in rows] == CHOICES * len(days)
    assert body["delta"] == 0.3 and body["position"]["broker"] == broker
    for row in rows:
        close, opened = row["legs"]
        assert (close["symbol"], close["action"]) == (call["streamer_symbol"], "Sell to Close")
        assert opened["action"] == "Buy to Open" and opened["right"] == "call"
        assert row["net"] == round(close["mid"] - opened["mid"], 2), row
        breakeven = opened["strike"] + opened["mid"]
        assert row["breakevens"] == [pytest.approx(breakeven, abs=1e-6)], row
        assert row["pop"] == round(pop_above(breakeven, row["pop_inputs"]), 4), row
        if broker == "alpaca":
            assert row["buying_power_effect"] is None
            assert row["buying_power_note"] == (
                "Alpaca previews no order: its buying-power effect is known once it is placed."
            )
        else:
            assert isinstance(row["buying_power_effect"], float), row["buying_power_note"]
    if broker == "tradier":
        assert_tradiers_effect_is_its_dry_runs(demo, trader, live_sandbox, account, call)
    same = [r for r in rows if r["choice"] == "same"]
    assert all(r["legs"][1]["strike"] == same[0]["legs"][0]["strike"] for r in same)
    print("example row:", rows[1])


def assert_tradiers_effect_is_its_dry_runs(
    demo: httpx.Client,
    trader: Trader,
    sandbox: SandboxServer,
    account: dict[str, Any],
    call: dict[str, Any],
) -> None:
    """Tradier's dry run states no buying power: the row's effect is what its cost, fees and
    margin change take, as the ticket's own preview of that order says them. The market
    holds still between the two dry runs (the margin change moves with the marks)."""
    control = sandbox.control()
    ticking = control.configure()["tick_rate"]
    control.configure(tick_rate=0.0)
    try:
        answer = demo.get(
            "/api/roll/candidates",
            params={"account": account["number"], "symbol": call["streamer_symbol"]},
        )
        assert answer.status_code == 200, answer.text
        row = answer.json()["candidates"][0]
        order = trader.order(
            account,
            legs=[
                {"symbol": leg["symbol"], "action": leg["action"], "quantity": leg["quantity"]}
                for leg in row["legs"]
            ],
            price=f"{max(abs(row['net']), 0.01):.2f}",
        )
        preview = trader.preview(order)
    finally:
        control.configure(tick_rate=ticking)
        control.close()
    assert preview.status_code == 200, preview.text
    effect = preview.json()["preview"]["effect"]
    assert effect["buying_power_before"] is None, effect
    taken = effect["cost"] + effect["fees"] + effect["margin_change"]
    assert row["buying_power_effect"] == pytest.approx(-taken, abs=0.005), (row, effect)


BAD = [
    ({"symbol": "SPY"}, 400, "not_an_option", "SPY is not an option: there is nothing to roll."),
    (
        {"symbol": "BTC/USD"},
        400,
        "not_an_option",
        "BTC/USD is not an option: there is nothing to roll.",
    ),
    ({"account": "NOPE1"}, 404, "no_account", "You have no account NOPE1."),
    (
        {"symbol": ".SPY261218P580"},
        404,
        "no_position",
        "No position in SPY 18 Dec 26 580 P in account {account}.",
    ),
    (
        {"delta": "0.01"},
        400,
        "bad_parameter",
        "delta must be a number from 0.05 to 0.95, e.g. 0.30 (got '0.01').",
    ),
    (
        {"delta": "x"},
        400,
        "bad_parameter",
        "delta must be a number from 0.05 to 0.95, e.g. 0.30 (got 'x').",
    ),
    (
        {"strategy": "abc"},
        400,
        "bad_parameter",
        "Name one position: symbol=<option symbol> or strategy=<strategy key>.",
    ),
    (
        {"symbol": None},
        400,
        "bad_parameter",
        "Name one position: symbol=<option symbol> or strategy=<strategy key>.",
    ),
    (
        {"colour": "red"},
        400,
        "bad_parameter",
        "unknown parameter 'colour' (only account, symbol, strategy and delta are read).",
    ),
]


@pytest.mark.parametrize(("changes", "status", "code", "sentence"), BAD)
def test_bad_input_is_refused_in_words(demo, changes, status, code, sentence):
    account, call = long_call(read(demo, "/api/snapshot"), "tastytrade")
    params = {"account": account["number"], "symbol": call["streamer_symbol"], **changes}
    answer = demo.get(
        "/api/roll/candidates", params={k: v for k, v in params.items() if v is not None}
    )
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert (body["code"], body["error"]) == (code, sentence.format(account=account["number"]))


def test_an_account_of_another_user_is_no_account(live_app: LiveApp, demo):
    account, call = long_call(read(demo, "/api/snapshot"), "tastytrade")
    assert (
        demo.get(
            "/api/roll/candidates",
            params={"account": account["number"], "symbol": call["streamer_symbol"]},
        ).status_code
        == 200
    )
    anonymous = httpx.get(
        f"{live_app.url}/api/roll/candidates",
        params={"account": account["number"], "symbol": call["streamer_symbol"]},
    )
    assert anonymous.status_code == 403


def test_a_short_put_preview_says_its_pop_and_a_stock_order_none(trader):
    account, call = long_call(read(trader.client, "/api/snapshot"), "tastytrade")
    code = OPTION_STREAMER_RE.match(call["streamer_symbol"])
    assert code is not None
    put, strike = f".SPY{code.group(2)}P{code.group(4)}", float(code.group(4))
    preview = trader.preview(
        trader.order(
            account, legs=[{"symbol": put, "action": "Sell to Open", "quantity": 1}], price="0.50"
        )
    )
    assert preview.status_code == 200, preview.text
    odds = preview.json()["preview"]["odds"]
    assert odds["pop_note"] is None, odds
    [breakeven] = odds["breakevens"]  # the strike less the put's mid, the credit
    assert 0 < strike - breakeven < strike / 10, odds
    assert odds["probability_of_profit"] == round(pop_above(breakeven, odds["pop_inputs"]), 4)
    stock = trader.preview(trader.order(account))
    assert stock.status_code == 200, stock.text
    assert stock.json()["preview"]["odds"] is None
