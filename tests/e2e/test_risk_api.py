"""`GET /api/risk/…` against a real daphne and the sandbox's demo positions: a 200-price
curve, the expiration curve equal to intrinsic minus cost, each refusal's sentence."""

from __future__ import annotations

import datetime as dt
import itertools
import re
from collections.abc import Iterator

import httpx
import pytest

from tests.support.live import DEMO_USER, LiveApp
from tests.support.wait import poll_until

#: The stream's first snapshot arrives within the page wait (3 s) plus margin for a busy box.
SNAPSHOT_WITHIN = 15.0
OPTION = re.compile(r"^\.([A-Z]+)(\d{6})([CP])(\d+(?:\.\d+)?)$")


@pytest.fixture(scope="module")
def client(live_app: LiveApp) -> Iterator[httpx.Client]:
    http = live_app.login(*DEMO_USER)
    yield http
    http.close()


@pytest.fixture(scope="module")
def spy_positions(client: httpx.Client) -> list[dict]:
    """Every account's SPY positions (stock and options), once the stream has them."""

    def spy() -> list[dict] | None:
        snap = client.get("/api/snapshot").json()
        found = [p for a in snap["accounts"] for p in a["positions"] if p["underlying"] == "SPY"]
        has_option = any(OPTION.match(p["streamer_symbol"] or "") for p in found)
        return found if has_option else None

    return poll_until(spy, within=SNAPSHOT_WITHIN, what="SPY stock and options in the snapshot")


def intrinsic_minus_cost(positions: list[dict], price: float) -> float:
    """The positions' P&L at expiration, computed independently of the model."""
    total = 0.0
    for p in positions:
        sign = -1.0 if p["direction"] == "Short" else 1.0
        qty, cost, mult = (
            float(p["quantity"]),
            float(p["average_open_price"]),
            float(p["multiplier"]),
        )
        match = OPTION.match(p["streamer_symbol"] or "")
        if match is None:
            total += (price - cost) * qty * sign * mult
            continue
        strike = float(match[4])
        value = max(price - strike, 0.0) if match[3] == "C" else max(strike - price, 0.0)
        total += (value - cost) * qty * sign * mult
    return total


def test_a_200_price_curve(client: httpx.Client, spy_positions: list[dict]) -> None:
    prices = [round(400 + i * 1.5, 2) for i in range(200)]
    r = client.get("/api/risk/SPY", params={"prices": ",".join(map(str, prices)), "iv_shift": "5"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert [pt["price"] for pt in body["points"]] == prices
    assert body["underlying"] == "SPY" and body["iv_shift"] == 5.0
    assert body["unpriced"] == []
    assert isinstance(body["as_of"], int) and body["price"] > 0
    for b in body["breakevens"]:
        assert prices[0] <= b <= prices[-1]
    # the P&L rises with SPY: long stock and long calls only
    pnls = [pt["pnl"] for pt in body["points"]]
    assert all(b > a for a, b in itertools.pairwise(pnls))
    lo, hi = body["bands"]["1"]
    assert lo < body["price"] < hi


def test_expiration_curve_is_intrinsic_minus_cost(
    client: httpx.Client, spy_positions: list[dict]
) -> None:
    prices = [450.0, 550.0, 590.0, 601.25, 700.0]
    r = client.get(
        "/api/risk/SPY", params={"date": "expiration", "prices": ",".join(map(str, prices))}
    )
    assert r.status_code == 200, r.text
    body = r.json()
    for point, price in zip(body["points"], prices, strict=True):
        assert point["pnl"] == pytest.approx(intrinsic_minus_cost(spy_positions, price), abs=1e-9)
    expirations = {
        OPTION.match(p["streamer_symbol"])[2]
        for p in spy_positions
        if OPTION.match(p["streamer_symbol"] or "")
    }
    assert body["date"] == dt.datetime.strptime(max(expirations), "%y%m%d").date().isoformat()


def test_default_grid(client: httpx.Client, spy_positions: list[dict]) -> None:
    body = client.get("/api/risk/SPY").json()
    prices = [pt["price"] for pt in body["points"]]
    assert len(prices) == 121 and prices == sorted(prices)
    assert prices[0] < body["price"] < prices[-1]


def test_portfolio_answers(client: httpx.Client, spy_positions: list[dict]) -> None:
    r = client.get("/api/risk/portfolio", params={"prices": "500,600"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["underlying"] == "portfolio" and body["benchmark"] == "SPY"
    assert [pt["price"] for pt in body["points"]] == [500.0, 600.0]


@pytest.mark.parametrize(
    ("path", "params", "sentence"),
    [
        ("/api/risk/ZZZZ", {}, "You hold no position in ZZZZ."),
        ("/api/risk/SPY", {"date": "2027-13-01"}, "date must be YYYY-MM-DD or 'expiration'"),
        ("/api/risk/SPY", {"date": "2020-01-02"}, "date 2020-01-02 is in the past"),
        ("/api/risk/SPY", {"iv_shift": "51"}, "iv_shift must be between -50 and 50"),
        ("/api/risk/SPY", {"iv_shift": "-50.5"}, "iv_shift must be between -50 and 50"),
        ("/api/risk/SPY", {"iv_shift": "nan"}, "iv_shift must be a number"),
        ("/api/risk/SPY", {"prices": "500,abc"}, "Each price must be a number above 0"),
        ("/api/risk/SPY", {"prices": "500,-1"}, "Each price must be a number above 0"),
        ("/api/risk/SPY", {"prices": ",".join(["500"] * 201)}, "At most 200 prices, not 201."),
        ("/api/risk/AAPL", {"date": "expiration"}, "No option is held in AAPL"),
    ],
)
def test_bad_input_is_a_400_sentence(
    client: httpx.Client, spy_positions: list[dict], path: str, params: dict, sentence: str
) -> None:
    r = client.get(path, params=params)
    assert r.status_code == 400
    assert r.json()["error"].startswith(sentence)


def test_date_after_the_last_expiration(client: httpx.Client, spy_positions: list[dict]) -> None:
    last = dt.date.fromisoformat(client.get("/api/risk/SPY?date=expiration").json()["date"])
    r = client.get("/api/risk/SPY", params={"date": (last + dt.timedelta(days=1)).isoformat()})
    assert r.status_code == 400
    assert "after the last expiration held in SPY" in r.json()["error"]
    ok = client.get("/api/risk/SPY", params={"date": last.isoformat()})
    assert ok.status_code == 200 and ok.json()["date"] == last.isoformat()


def test_anonymous_is_refused(live_app: LiveApp) -> None:
    r = httpx.get(f"{live_app.url}/api/risk/SPY", timeout=10)
    assert r.status_code == 403
    assert r.json()["error"] == "not_authenticated" and r.json()["message"]
