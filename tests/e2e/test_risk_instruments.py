"""Risk for every instrument the demo holds, against an independent computation: a real
daphne over the sandbox's demo holdings (`--demo-holdings`: 0.25 BTC at tastytrade
(`BTC/USD`) and at Alpaca (`BTCUSD`), an /ES Dec 26 6000 call at tastytrade, SPY calls and
SPY shares at every broker).

With the market held still (the sandbox's ticks stopped), this test computes from the
snapshot's own positions and quotes and from tastytrade's market metrics read with
tastytrade's own SDK (not the app's metrics code): each position's β-weighted delta
(β * the underlying's price * position delta ÷ SPY's price), each underlying's delta and
notional, and the what-if curve's value at given prices — the underlying itself at price *
multiplier, an equity option by Black-Scholes-Merton and the /ES option by Black-76, both
written here on scipy's normal CDF — and compares them with `/api/snapshot`'s `beta_delta`
and `/api/risk/<U>` asked in every spelling of the underlying (docs/streaming-contract.md
"tastytrade's definitions", "Risk: the what-if curve", "Instruments").
"""

from __future__ import annotations

import asyncio
import datetime as dt
import math
import time
from collections.abc import Iterator
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from scipy.stats import norm
from tastytrade import Session
from tastytrade.metrics import get_market_metrics

from accounts.services import DEMO_LINKS
from sandbox.server import SandboxServer
from tests.support.live import LiveApp, read_json
from tests.support.wait import poll_until

NEW_YORK = ZoneInfo("America/New_York")
SECRETS = {broker: secrets for broker, _, secrets in DEMO_LINKS}
COIN = "BTC/USD:CXTALP"
FUTURE = "/ESZ26:XCME"
ES_CALL = "./ESZ26C6000:XCME"
#: tastytrade's market-metrics symbol of each underlying (as tastytrade-cli asks them).
METRICS_SYMBOL = {COIN: "BTC/USD", FUTURE: "/ES", "SPY": "SPY"}
#: The stream's accounts, quotes, greeks and metrics of the holdings (s): a few polls of
#: each broker's account, the first quotes and a metrics round; margin for a loaded box.
SEEN_WITHIN = 60.0
#: A market held still reads the same this long (s): longer than a quote frame's pace.
SETTLED = 1.0


@pytest.fixture(scope="module")
def client(holdings_sandbox: SandboxServer, tmp_path_factory) -> Iterator[httpx.Client]:
    app = LiveApp(holdings_sandbox.url, tmp_path_factory.mktemp("risk-instruments")).start()
    http = app.login("demo", "demo-sandbox")
    http.timeout = httpx.Timeout(30)
    yield http
    http.close()
    app.stop()


def ready(snap: dict[str, Any]) -> bool:
    """Every holding named, its underlying quoted, the options' greeks and the metrics in."""
    held = [p for a in snap["accounts"] for p in a["positions"]]
    underlyings = {p["underlying"] for p in held}
    return (
        {COIN, FUTURE, "SPY"} <= underlyings
        and {COIN, FUTURE, "SPY"} <= snap["quotes"].keys()
        and ES_CALL in snap["greeks"]
        and all(p["streamer_symbol"] in snap["greeks"] for p in held if is_option(p))
        and {COIN, FUTURE, "SPY"} <= snap["metrics"].keys()
    )


@pytest.fixture(scope="module")
def still(client: httpx.Client, holdings_sandbox: SandboxServer) -> dict[str, Any]:
    """The snapshot once everything is in, the market then held still (no more ticks)."""
    poll_until(
        lambda: ready(read_json(client, "/api/snapshot")),
        within=SEEN_WITHIN,
        what="the holdings' quotes, greeks and metrics",
    )
    control = holdings_sandbox.control()
    control.configure(tick_rate=0)
    # the last ticks' frames settle: the quotes and greeks read the same for a second
    since: dict[str, Any] = {"values": None, "at": 0.0}

    def settled() -> dict[str, Any] | None:
        snap = read_json(client, "/api/snapshot")
        values = (snap["quotes"], snap["greeks"])
        if values != since["values"]:
            since.update(values=values, at=time.monotonic())
            return None
        return snap if time.monotonic() - since["at"] >= SETTLED else None

    return poll_until(settled, within=SEEN_WITHIN, what="a market held still")


@pytest.fixture(scope="module")
def metrics(holdings_sandbox: SandboxServer) -> dict[str, Any]:
    """tastytrade's market metrics of the underlyings, read with tastytrade's SDK."""
    secrets = SECRETS["tastytrade"]
    session = Session(secrets["provider_secret"], secrets["refresh_token"])
    session._client.base_url = holdings_sandbox.url
    infos = asyncio.run(get_market_metrics(session, sorted(set(METRICS_SYMBOL.values()))))
    by_symbol = {i.symbol: i for i in infos}
    return {u: by_symbol[m] for u, m in METRICS_SYMBOL.items()}


# -- the independent computation -------------------------------------------------------------
def is_option(p: dict[str, Any]) -> bool:
    return "Option" in p["instrument_type"]


def mid(snap: dict[str, Any], symbol: str) -> float:
    q = snap["quotes"][symbol]
    return (q["bid"] + q["ask"]) / 2


def signed(p: dict[str, Any]) -> float:
    return float(p["quantity"]) * (-1.0 if p["direction"] == "Short" else 1.0)


def delta_units(snap: dict[str, Any], p: dict[str, Any]) -> float:
    """Greek delta * multiplier * signed quantity for an option, multiplier * quantity else."""
    size = float(p["multiplier"]) * signed(p)
    return snap["greeks"][p["streamer_symbol"]]["delta"] * size if is_option(p) else size


def held_in(snap: dict[str, Any], underlying: str) -> list[dict[str, Any]]:
    return [p for a in snap["accounts"] for p in a["positions"] if p["underlying"] == underlying]


def expiry(p: dict[str, Any]) -> dt.datetime:
    """16:00 New York on the option's expiration date, read from the broker's symbol: OCC's
    `SPY270115C00590000`, tastytrade's `./ESZ6 ESZ6 261218C6000`."""
    tail = p["symbol"].split()[-1] if p["symbol"].startswith("./") else p["symbol"][-15:]
    day = dt.datetime.strptime(tail[:6], "%y%m%d").date()
    return dt.datetime.combine(day, dt.time(16), tzinfo=NEW_YORK)


def strike_right(p: dict[str, Any]) -> tuple[float, bool]:
    tail = p["symbol"].split()[-1] if p["symbol"].startswith("./") else p["symbol"][-15:]
    return float(tail[7:]) / (1 if p["symbol"].startswith("./") else 1000), tail[6] == "C"


def merton(call: bool, s: float, k: float, t: float, vol: float, r: float, q: float) -> float:
    d1 = (math.log(s / k) + (r - q + vol * vol / 2) * t) / (vol * math.sqrt(t))
    d2 = d1 - vol * math.sqrt(t)
    if call:
        return s * math.exp(-q * t) * norm.cdf(d1) - k * math.exp(-r * t) * norm.cdf(d2)
    return k * math.exp(-r * t) * norm.cdf(-d2) - s * math.exp(-q * t) * norm.cdf(-d1)


def pnl(snap: dict[str, Any], metric: Any, p: dict[str, Any], price: float, at_ms: int, r: float):
    """One position's P&L at `price` against its average open price, at `at_ms`."""
    size = signed(p) * float(p["multiplier"])
    cost = float(p["average_open_price"])
    if not is_option(p):
        return (price - cost) * size
    strike, call = strike_right(p)
    years = (expiry(p).timestamp() * 1000 - at_ms) / (365 * 86_400_000)
    vol = snap["greeks"][p["streamer_symbol"]]["iv"]
    # an option on a future: Black-76, the formula with q = r; on SPY: its dividend yield
    q = r if p["instrument_type"] == "Future Option" else float(metric.dividend_yield or 0)
    return (merton(call, price, strike, years, vol, r, q) - cost) * size


SPELLINGS = [
    (COIN, "BTC/USD"),
    (COIN, "BTCUSD"),  # Alpaca holds the coin by this name: never a look-alike ticker
    (COIN, "BTC%2FUSD%3ACXTALP"),
    (FUTURE, "/ESZ6"),
    (FUTURE, "%2FESZ6"),
    (FUTURE, "/ESZ26:XCME"),
    ("SPY", "spy"),
]


@pytest.mark.parametrize(("underlying", "spelling"), SPELLINGS)
def test_risk_answers_every_underlying_in_any_spelling(
    client: httpx.Client, still: dict[str, Any], metrics: dict[str, Any], underlying, spelling
):
    price = mid(still, underlying)
    prices = [round(price * 0.9, 2), round(price * 1.1, 2)]

    def priced() -> tuple[dict[str, Any], httpx.Response] | None:
        """The answer with the snapshot it was priced from: the market stands still, but
        the sandbox's greeks are recomputed as time passes (an IV moves in its 7th digit),
        so the snapshots read just before and just after the answer must agree."""
        before = read_json(client, "/api/snapshot")
        answer = client.get(f"/api/risk/{spelling}", params={"prices": ",".join(map(str, prices))})
        after = read_json(client, "/api/snapshot")
        same = (before["quotes"], before["greeks"]) == (after["quotes"], after["greeks"])
        return (after, answer) if same else None

    snap, r = poll_until(priced, within=SEEN_WITHIN, what="an answer priced from a still snapshot")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/json"
    body = r.json()
    assert body["underlying"] == underlying
    assert body["display"] == {COIN: "BTC/USD", FUTURE: "/ES Dec 26", "SPY": "SPY"}[underlying]
    assert body["price"] == pytest.approx(price, rel=1e-12)
    assert body["unpriced"] == []
    held = held_in(snap, underlying)
    beta = float(metrics[underlying].beta)
    delta = sum(delta_units(snap, p) for p in held)
    assert body["beta"] == beta
    assert body["delta"] == pytest.approx(delta, rel=1e-9)
    assert body["notional"] == pytest.approx(delta * price, rel=1e-9)
    assert body["beta_delta"] == pytest.approx(beta * price * delta / mid(snap, "SPY"), rel=1e-9)
    for point, at in zip(body["points"], prices, strict=True):
        expected = sum(
            pnl(snap, metrics[underlying], p, at, body["at"], body["rate"]) for p in held
        )
        assert point["price"] == at
        assert point["pnl"] == pytest.approx(expected, rel=1e-7, abs=1e-6), (spelling, at)


def test_each_positions_beta_delta_is_tastytrades_definition(
    still: dict[str, Any], metrics: dict[str, Any]
):
    snap = still
    spy = mid(snap, "SPY")
    checked = set()
    for account in snap["accounts"]:
        for p in account["positions"]:
            u = p["underlying"]
            if u not in METRICS_SYMBOL:
                continue
            beta = float(metrics[u].beta)
            expected = beta * mid(snap, u) * delta_units(snap, p) / spy
            assert p["beta_delta"] == pytest.approx(expected, rel=1e-9), p["symbol"]
            checked.add((account["broker"], p["display"]))
    assert {
        ("tastytrade", "BTC/USD"),
        ("alpaca", "BTC/USD"),
        ("tastytrade", "/ES Dec 26 6000 C"),
        ("tastytrade", "SPY 15 Jan 27 590 C"),
        ("tastytrade", "SPY"),
    } <= checked
    # 0.25 BTC at β 1.81: about 73 SPY shares, at each broker
    coins = [p for a in snap["accounts"] for p in a["positions"] if p["underlying"] == COIN]
    assert [float(p["quantity"]) for p in coins] == [0.25, 0.25]
    for p in coins:
        assert p["beta_delta"] == pytest.approx(
            float(metrics[COIN].beta) * mid(snap, COIN) * 0.25 / spy, rel=1e-9
        )


def test_metrics_are_keyed_by_the_contract_symbol(still: dict[str, Any], metrics: dict):
    for underlying, info in metrics.items():
        m = still["metrics"][underlying]
        assert (m["beta"], m["beta_source"]) == (float(info.beta), "tastytrade"), underlying
        assert m["iv_index"] == float(info.implied_volatility_index), underlying


@pytest.mark.parametrize(
    "path", ["/api/risk/", "/api/risk/strategies/x", "/api/risk/portfolio/x", "/api/risk/a%20b"]
)
def test_an_unknown_path_under_the_api_is_a_json_404(client: httpx.Client, path: str):
    r = client.get(path)
    assert r.status_code == 404
    assert r.headers["content-type"] == "application/json"
    assert r.json()["code"] == "not_found"


def test_an_option_or_a_symbol_not_held_is_a_400_sentence(client: httpx.Client, still):
    r = client.get("/api/risk/.SPY270115C590")
    assert r.status_code == 400
    assert r.json()["error"] == "SPY 15 Jan 27 590 C is an option, not an underlying: ask for SPY."
    r = client.get("/api/risk/ETH/USD")
    sentence = "You hold no position in ETH/USD."
    assert (r.status_code, r.json()) == (400, {"error": sentence, "message": sentence})


@pytest.mark.parametrize("spelling", ["spy", "SPY", "BTCUSD", "/ESZ6", "BTC/USD:CXTALP"])
def test_strategies_take_any_spelling(client: httpx.Client, still, spelling: str):
    r = client.get("/api/risk/strategies", params={"underlying": spelling})
    assert r.status_code == 200, r.text
    found = r.json()["strategies"]
    if spelling.upper() != "SPY":
        assert found == []  # a coin, a future and its options are in no strategy
        return
    assert found and {s["underlying"] for s in found} == {"SPY"}
    legs = {leg["display"] for s in found for leg in s["legs"]}
    assert "SPY 15 Jan 27 590 C" in legs


def test_strategies_refuse_an_option_for_an_underlying(client: httpx.Client, still):
    r = client.get("/api/risk/strategies", params={"underlying": ".SPY270115C590"})
    assert r.status_code == 400
    assert r.json()["error"] == (
        "underlying must be a stock, ETF, future or coin symbol, e.g. SPY, /ESZ6 or BTC/USD"
    )
