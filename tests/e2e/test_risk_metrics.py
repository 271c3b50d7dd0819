"""Done when (issue 32, item 1): the β-weighted delta and IV rank of each position equal
tastytrade's own definitions on the sandbox, computed here independently.

A real daphne and the sandbox: a user with a tastytrade link holding stock and options,
and a user with only a Tradier link. `GET /api/snapshot` is read once per check, and
every time-dependent input (SPY's and the underlying's quote, an option's greeks) is
taken from that same snapshot: the server computed `beta_delta` from exactly those
values when it answered, so the comparison is exact up to float rounding (relative
1e-9). β and IV rank come from the sandbox's market metrics fetched here with the real
SDK (`get_market_metrics`), and, for the Tradier user, from this test's own numpy
regression of Tradier's daily closes (called as Tradier documents it), to 1e-9.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import numpy as np
import pytest
from tastytrade.metrics import get_market_metrics

from sandbox.server import SandboxServer
from streaming.brokers.bars import DAY_MS, date_ms, day_start_ms
from tests.support.live import LiveApp
from tests.support.sdk import sdk_session
from tests.support.tradier import tradier_client
from tests.support.wait import poll_until

PASSWORD = "risk-pw"
#: The stream connects, loads positions and fetches metrics (one year of daily history
#: per underlying for the Tradier user); margin for a loaded 2-core box.
SEEN_WITHIN = 60.0
TAB = "risk-metrics-e2e"
#: Float rounding only: the server and this test use the same inputs.
REL = 1e-9


@pytest.fixture(scope="module")
def tokens() -> dict[str, str]:
    suffix = uuid.uuid4().hex[:8]
    return {"tt": f"risk-tt-{suffix}", "tr": f"risk-tr-{suffix}"}


@pytest.fixture(scope="module")
def users(live_app: LiveApp, tokens: dict[str, str]) -> Iterator[dict[str, httpx.Client]]:
    links = {
        "risk-tt": (
            "tastytrade",
            {"provider_secret": "sandbox-provider-secret", "refresh_token": tokens["tt"]},
        ),
        "risk-tr": ("tradier", {"access_token": tokens["tr"]}),
    }
    live_app.python(
        "from django.contrib.auth import get_user_model\n"
        "from accounts.services import broker_link_create\n"
        "from streaming.links.verify import broker_link_verify\n"
        f"for name, (broker, secrets) in {links!r}.items():\n"
        f"    user = get_user_model().objects.create_user(name, password={PASSWORD!r})\n"
        "    link = broker_link_create(user=user, broker=broker, label=broker, **secrets)\n"
        "    broker_link_verify(link=link)\n",
    )
    clients = {name: live_app.login(name, PASSWORD) for name in links}
    for client in clients.values():
        client.timeout = httpx.Timeout(30)
    yield clients
    for client in clients.values():
        client.close()


def snapshot(client: httpx.Client) -> dict[str, Any]:
    response = client.get("/api/snapshot", params={"tab": TAB})
    assert response.status_code == 200, response.text
    return response.json()


def positions(snap: dict[str, Any]) -> list[dict[str, Any]]:
    return [p for a in snap["accounts"] for p in a["positions"]]


def underlying(p: dict[str, Any]) -> str:
    return str(p.get("underlying") or p["symbol"])


def is_option(p: dict[str, Any]) -> bool:
    return str(p["streamer_symbol"]).startswith(".")


def mid(snap: dict[str, Any], symbol: str) -> float:
    q = snap["quotes"][symbol]
    return (q["bid"] + q["ask"]) / 2


def complete(snap: dict[str, Any]) -> bool:
    """Metrics for every underlying and SPY, quotes of them, greeks of every option."""
    ps = positions(snap)
    wanted = {underlying(p) for p in ps} | {"SPY"}
    return (
        bool(ps)
        and all(
            u in snap["metrics"]
            and snap["quotes"].get(u, {}).get("bid") is not None
            and snap["quotes"].get(u, {}).get("ask") is not None
            for u in wanted
        )
        and all(
            snap["greeks"].get(p["streamer_symbol"], {}).get("delta") is not None
            for p in ps
            if is_option(p)
        )
    )


def complete_snapshot(client: httpx.Client) -> dict[str, Any]:
    """The first snapshot with metrics, quotes and greeks of every position."""

    def ready() -> dict[str, Any] | None:
        snap = snapshot(client)
        return snap if complete(snap) else None

    return poll_until(
        ready, within=SEEN_WITHIN, what="metrics, quotes and greeks of every position"
    )


def expected_beta_delta(snap: dict[str, Any], p: dict[str, Any], beta: float) -> float:
    """tastytrade's definition, from this snapshot's quotes and greeks."""
    sign = -1.0 if p["direction"] == "Short" else 1.0
    qty = float(p["quantity"]) * sign
    if is_option(p):
        mult = 100.0 if p.get("multiplier") is None else float(p["multiplier"])
        delta = snap["greeks"][p["streamer_symbol"]]["delta"] * mult * qty
    else:
        delta = qty
    return beta * mid(snap, underlying(p)) * delta / mid(snap, "SPY")


def test_tastytrade_beta_delta_and_iv_rank_are_tastytrades_definitions(
    users, tokens, live_sandbox: SandboxServer
):
    client = users["risk-tt"]
    snap = complete_snapshot(client)
    ps = positions(snap)
    assert any(is_option(p) for p in ps) and any(not is_option(p) for p in ps), "stock and options"
    symbols = sorted({underlying(p) for p in ps} | {"SPY"})
    session = sdk_session(live_sandbox, tokens["tt"])
    theirs = {i.symbol: i for i in asyncio.run(get_market_metrics(session, symbols))}
    assert set(symbols) <= theirs.keys()
    for u in symbols:
        m, info = snap["metrics"][u], theirs[u]
        assert m["beta"] == float(info.beta) and m["beta_source"] == "tastytrade", u
        assert m["iv_rank"] == pytest.approx(
            float(info.tos_implied_volatility_index_rank) * 100, rel=REL
        )
        assert m["iv_percentile"] == pytest.approx(
            float(info.implied_volatility_percentile) * 100, rel=REL
        )
        assert m["iv_source"] == "tastytrade"
        assert 0 <= snap["t"] - m["t"] <= SEEN_WITHIN * 1000  # fetched by this stream, its age
    for p in ps:
        beta = float(theirs[underlying(p)].beta)
        assert p["beta_delta"] == pytest.approx(expected_beta_delta(snap, p, beta), rel=REL), p[
            "symbol"
        ]


def tradier_closes(sandbox: SandboxServer, token: str, symbol: str, start: str) -> dict[int, float]:
    """Tradier's daily closes of the days that have ended (its last day is still forming)."""
    with tradier_client(sandbox, token) as client:
        body = client.get(
            "/v1/markets/history", params={"symbol": symbol, "interval": "daily", "start": start}
        ).json()
    return {
        date_ms(dt.date.fromisoformat(d["date"])): float(d["close"])
        for d in body["history"]["day"][:-1]
    }


def test_a_tradier_user_gets_a_regression_beta_and_no_iv_rank(
    users, tokens, live_sandbox: SandboxServer
):
    client = users["risk-tr"]
    snap = complete_snapshot(client)
    today = day_start_ms(snap["metrics"]["SPY"]["t"])
    start = today - 365 * DAY_MS
    first = dt.datetime.fromtimestamp(start / 1000, dt.UTC).date().isoformat()
    spy = tradier_closes(live_sandbox, tokens["tr"], "SPY", first)
    ps = positions(snap)
    assert ps, "the sandbox's Tradier customer holds positions"
    for u in sorted({underlying(p) for p in ps} | {"SPY"}):
        m = snap["metrics"][u]
        assert m["beta_source"] == "regression" and m["beta_window"] == "1y daily closes vs SPY", u
        assert m["iv_rank"] is None and m["iv_source"] is None
        closes = tradier_closes(live_sandbox, tokens["tr"], u, first)
        days = sorted(d for d in closes.keys() & spy.keys() if start <= d < today)
        y, x = np.array([closes[d] for d in days]), np.array([spy[d] for d in days])
        slope = float(np.polyfit(np.diff(x) / x[:-1], np.diff(y) / y[:-1], 1)[0])
        assert m["beta"] == pytest.approx(slope, rel=REL, abs=1e-12), u
        assert m["beta_as_of"] == days[-1]
    for p in ps:
        beta = snap["metrics"][underlying(p)]["beta"]
        assert p["beta_delta"] == pytest.approx(expected_beta_delta(snap, p, beta), rel=REL), p[
            "symbol"
        ]
