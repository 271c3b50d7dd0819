"""`GET /api/risk/strategies` at a real daphne against the sandbox (the demo user's six
accounts at tastytrade, Tradier and Alpaca): a vertical made at the sandbox by selling a
call above the seeded long one is named with its net, max profit, max loss and
break-even from the brokers' own average open prices; every position of the snapshot is
in exactly one strategy; the filter, a read-only token, anonymous and bad input
(docs/streaming-contract.md, "Risk: strategies")."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
import pytest

from sandbox.core.instruments import option
from streaming.api.errors import as_sentence
from streaming.instruments.symbols import OPTION_STREAMER_RE, option_date
from tests.e2e.test_api_tokens import bearer, create_token
from tests.support.live import read_json as read
from tests.support.wait import poll_until

#: How long the stream may take to show what the sandbox did (its order step is 1 s,
#: Tradier is polled every 2 s; margin for a loaded box).
SEEN_WITHIN = 30.0
#: How far above the seeded long call the short call is sold (SPY's strikes are 5 apart).
WIDTH = 5


#: A strategy's live values: its greeks, and its odds (at the live price and the clock's
#: time, docs/streaming-contract.md "The odds"): two reads may see different ones.
LIVE = {"greeks", "probability_of_profit", "pop_inputs", "pop_note", "p50", "p50_note", "touch"}


def without_live_values(strategies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in s.items() if k not in LIVE} for s in strategies]


def is_option(p: dict[str, Any]) -> bool:
    return OPTION_STREAMER_RE.match(p.get("streamer_symbol") or "") is not None


def signed(p: dict[str, Any]) -> float:
    return float(p["quantity"]) * (-1 if p["direction"] == "Short" else 1)


def spy_long_call(snapshot: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """A tastytrade account's seeded long SPY call (every margin account has one)."""
    for account in snapshot["accounts"]:
        for p in account["positions"]:
            code = OPTION_STREAMER_RE.match(p.get("streamer_symbol") or "")
            is_spy_call = code is not None and code.group(1, 3) == ("SPY", "C")
            if account["broker"] == "tastytrade" and is_spy_call and p["direction"] == "Long":
                return account["number"], p
    raise AssertionError("the demo seed gives each margin account a long SPY call")


def test_a_vertical_made_at_the_sandbox_is_named_with_its_payoff(live_sandbox, demo):
    account, long_call = spy_long_call(read(demo, "/api/snapshot"))
    code = OPTION_STREAMER_RE.match(long_call["streamer_symbol"])
    assert code is not None
    strike = Decimal(code.group(4))
    expiry = option_date(code.group(2))
    assert expiry is not None
    n = int(float(long_call["quantity"]))
    short = option("SPY", expiry, "C", strike + WIDTH)
    control = live_sandbox.control()
    control.place_order(
        account,
        {
            "time-in-force": "Day",
            "order-type": "Market",
            "legs": [
                {
                    "instrument-type": "Equity Option",
                    "symbol": short.symbol,
                    "action": "Sell to Open",
                    "quantity": n,
                }
            ],
        },
    )
    control.close()

    def positions() -> dict[str, dict[str, Any]]:
        snap = read(demo, "/api/snapshot")
        (acct,) = [a for a in snap["accounts"] if a["number"] == account]
        return {p["streamer_symbol"]: p for p in acct["positions"]}

    held = poll_until(
        lambda: (p := positions()).get(short.streamer_symbol) and p,
        within=SEEN_WITHIN,
        what="the short call in the stream",
    )
    c1 = float(held[long_call["streamer_symbol"]]["average_open_price"])
    c2 = float(held[short.streamer_symbol]["average_open_price"])
    answer = read(demo, "/api/risk/strategies", underlying="SPY")
    mine = [s for s in answer["strategies"] if s["account"] == account]
    # the account's SPY: 10 seeded shares and the vertical (sorted: options' expiration
    # first, stock alone last)
    assert [(s["name"], s["quantity"]) for s in mine] == [
        ("call debit vertical", n),
        ("long stock", 10),
    ]
    vertical = mine[0]
    assert [(leg["symbol"], leg["quantity"]) for leg in vertical["legs"]] == [
        (long_call["symbol"], n),
        (short.symbol, -n),
    ]
    # bought at c1, sold at c2: debit (c1 - c2) x 100 x n; at/above the short strike worth
    # WIDTH x 100 x n; break-even the long strike + (c1 - c2)
    net = -(c1 - c2) * 100 * n
    assert vertical["net"] == pytest.approx(net, abs=1e-6)
    assert vertical["net_kind"] == "debit"
    assert vertical["max_profit"] == pytest.approx(WIDTH * 100 * n + net, abs=1e-6)
    assert vertical["max_loss"] == pytest.approx(-net, abs=1e-6)
    assert vertical["breakevens"] == pytest.approx([float(strike) + c1 - c2], abs=1e-6)
    assert vertical["expirations"] == [expiry.isoformat()]
    assert isinstance(answer["as_of"], int)


def test_every_position_is_in_exactly_one_strategy(demo):
    snapshot = read(demo, "/api/snapshot")
    everything = read(demo, "/api/risk/strategies")["strategies"]
    used: dict[tuple[str, str], float] = {}
    for s in everything:
        for leg in s["legs"]:
            key = (s["account"], leg["symbol"])
            used[key] = used.get(key, 0.0) + leg["quantity"]
    # positions do not move here (no demo orders): both reads see the same ones
    held = {
        (a["number"], p["symbol"]): signed(p)
        for a in snapshot["accounts"]
        for p in a["positions"]
        if is_option(p) or p["instrument_type"] == "Equity"
    }
    assert used == pytest.approx(held)
    order = [(s["underlying"], s["account"]) for s in everything]
    assert order == sorted(order)
    # the filter keeps one underlying's, in the same order; lower case is read as upper
    spy = [s for s in everything if s["underlying"] == "SPY"]
    # (greeks and odds are live values: two reads may see different ones; the rest is the
    # positions')
    filtered = read(demo, "/api/risk/strategies", underlying="spy")["strategies"]
    assert spy and without_live_values(filtered) == without_live_values(spy)


def test_a_token_reads_and_bad_input_gets_a_sentence(live_app, demo):
    raw = create_token(live_app, demo, "strategies")
    with httpx.Client(base_url=live_app.url, timeout=30) as script:
        response = script.get("/api/risk/strategies?underlying=SPY", headers=bearer(raw))
        assert response.status_code == 200
        assert {s["underlying"] for s in response.json()["strategies"]} == {"SPY"}
        anonymous = script.get("/api/risk/strategies")
        assert (anonymous.status_code, anonymous.json()["error"]) == (403, "not_authenticated")
    symbol_error = (
        "underlying must be a stock, ETF, future or coin symbol, e.g. SPY, /ESZ6 or BTC/USD"
    )
    bad = {
        "underlying=SP%3BY": symbol_error,
        "underlying=.SPY261218C600": symbol_error,
        "underlying=%C3%9F": symbol_error,
        "underlying=SPY&limit=5": "unknown parameter 'limit' (only 'underlying' is read)",
    }
    for query, sentence in bad.items():
        response = demo.get(f"/api/risk/strategies?{query}")
        body = {"error": sentence, "message": as_sentence(sentence)}
        assert (response.status_code, response.json()) == (400, body), query
