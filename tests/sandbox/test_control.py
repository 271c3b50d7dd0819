"""The sandbox's control API: loopback-only, validated, and reporting live state."""

from __future__ import annotations

import time

import httpx
import pytest

from sandbox.app import Sandbox, build_app


@pytest.fixture
def app():
    return build_app(Sandbox())


async def test_control_api_refuses_non_loopback_clients(app):
    """A client from another address gets 403; loopback gets the state."""
    remote = httpx.ASGITransport(app=app, client=("192.0.2.10", 5555))
    async with httpx.AsyncClient(transport=remote, base_url="http://sandbox") as client:
        response = await client.get("/_sandbox/state")
        assert response.status_code == 403
        response = await client.post("/_sandbox/faults", json={"kind": "drop"})
        assert response.status_code == 403
    local = httpx.ASGITransport(app=app, client=("127.0.0.1", 5555))
    async with httpx.AsyncClient(transport=local, base_url="http://sandbox") as client:
        response = await client.get("/_sandbox/state")
    assert response.status_code == 200
    assert response.json()["totals"]["dxlink_sessions"] == 0


@pytest.mark.parametrize(
    ("path", "body", "message"),
    [
        ("/_sandbox/faults", {"kind": "explode"}, "unknown fault kind"),
        ("/_sandbox/faults", {"kind": "drop", "target": "everything"}, "target must be"),
        ("/_sandbox/faults", {"kind": "http_error", "status": 200}, "4xx or 5xx"),
        ("/_sandbox/faults", {"kind": "revoke"}, "needs a credential"),
        ("/_sandbox/faults", {"kind": "blackout"}, "seconds is required"),
        ("/_sandbox/faults", {"kind": "blackout", "seconds": -1}, "seconds must be"),
        ("/_sandbox/faults", {"kind": "drop", "broker": "nyse"}, "broker must be"),
        (
            "/_sandbox/faults",
            {"kind": "silence", "broker": "tradier", "target": "dxlink"},
            "not one of tradier's",
        ),
        (
            "/_sandbox/faults",
            {"kind": "refuse_sessions", "target": "streamer", "credential": "abc"},
            "can be refused per credential",
        ),
        ("/_sandbox/faults", {"kind": "http_error", "path_prefix": "v1"}, "must start with /"),
        ("/_sandbox/config", {"order_id_base": 5}, "can only be set when the sandbox starts"),
        ("/_sandbox/config", {"start_time": 1.8e9}, "can only be set when the sandbox starts"),
        ("/_sandbox/config", {"tick_rat": 3}, "unknown config keys"),
        ("/_sandbox/config", {"tick_rate": "fast"}, "could not convert"),
        ("/_sandbox/tick", {"n": 0}, "between 1 and"),
        ("/_sandbox/orders", {"account_number": "5WT00001"}, "order must be an object"),
    ],
)
async def test_bad_control_requests_get_clear_errors(app, path, body, message):
    """Every malformed control request is a 400 naming what is wrong."""
    local = httpx.ASGITransport(app=app, client=("127.0.0.1", 5555))
    async with httpx.AsyncClient(transport=local, base_url="http://sandbox") as client:
        response = await client.post(path, json=body)
        bad_json = await client.post("/_sandbox/faults", content=b"{nope")
    assert response.status_code == 400
    assert message in response.json()["error"]["message"]
    assert bad_json.status_code == 400


def test_state_reports_sessions_per_credential(sandbox, control):
    """Config, faults and totals are reported; secrets never are."""
    control.configure(client_secret="hunter2", tick_rate=3)
    control.fault("http_error", status=500, count=3, path_prefix="/accounts/")
    state = control.state()
    assert state["config"]["client_secret"] == "***"
    assert state["config"]["tick_rate"] == 3.0
    assert state["faults"]["http"][0]["count"] == 3
    assert "hunter2" not in str(state)
    control.clear_faults()
    assert control.state()["faults"]["http"] == []


def test_ticks_move_the_market(sandbox, control):
    """Forced ticks are counted in the totals."""
    before = control.state()["totals"].get("ticks", 0)
    control.tick(50)
    assert control.state()["totals"]["ticks"] >= before + 50


def test_a_price_jump_moves_quote_and_last_trade_and_bad_input_is_refused(sandbox, control):
    """`/_sandbox/price`: the quote is around the new price and the last trade at it."""
    import httpx

    control.configure(tick_rate=0)  # no tick between the jump and the reads (CI: 321.49)
    assert control.set_price("NFLX", 321.5) == {"changed": 1}
    market = sandbox.sandbox.market
    assert market.last("NFLX") == 321.5
    assert abs(market.mid("NFLX") - 321.5) < 0.2
    for body in ({"symbol": "NFLX", "price": 0}, {"symbol": ".SPY250221C590", "price": 1}):
        with pytest.raises(httpx.HTTPStatusError):
            control._post("/_sandbox/price", body)


def test_blackout_is_listed_and_ends_by_itself_or_when_lifted(sandbox, control):
    """A blackout shows in the state with its scope and remaining time; `seconds: 0` lifts
    the one with the same scope; an expired one is gone from the list."""
    answer = control.fault("blackout", seconds=30, broker="alpaca", credential="c0ffee")
    assert answer == {"affected": 0, "seconds": 30.0}
    (blackout,) = control.state()["faults"]["blackouts"]
    assert blackout["broker"] == "alpaca" and blackout["credential"] == "c0ffee"
    assert 29 < blackout["remaining"] <= 30
    assert control.fault("blackout", seconds=0, broker="alpaca")["affected"] == 0  # other scope
    lifted = control.fault("blackout", seconds=0, broker="alpaca", credential="c0ffee")
    assert lifted["affected"] == 1 and control.state()["faults"]["blackouts"] == []
    control.fault("blackout", seconds=0.05)
    assert httpx.get(f"{sandbox.url}/customers/me/accounts", timeout=5).status_code == 401
    assert control.state()["faults"]["blackouts"] == []


def test_faults_aimed_at_a_broker_or_a_credential(sandbox, control):
    """Delays and http errors can name a broker; a path relative to the broker is mounted
    under it; refusals can name a credential for the HTTP streams."""
    # the delay is long enough that a request it held cannot be mistaken for one it did
    # not: a loopback round trip takes far less, even on a loaded box
    delay = 2.0
    control.fault("delay", seconds=delay, broker="tradier")
    control.fault("http_error", status=503, broker="alpaca", path_prefix="/v2/events", count=None)
    control.fault("refuse_sessions", target="tradier-stream", credential="c0ffee", status=429)
    faults = control.state()["faults"]
    assert faults["broker_delay"] == {"tradier": delay} and faults["rest_delay"] == 0
    assert faults["http"][0]["path_prefix"] == "/alpaca/v2/events"
    assert faults["http"][0]["broker"] == "alpaca" and faults["http"][0]["count"] is None
    assert faults["refuse_sessions_by_credential"] == {"c0ffee": {"tradier-stream": 429}}
    assert faults["refuse_sessions"] == {}
    started = time.monotonic()
    assert httpx.get(f"{sandbox.url}/tradier/v1/user/profile").status_code == 401
    assert time.monotonic() - started >= delay  # held: a sleep never ends early
    started = time.monotonic()
    assert httpx.get(f"{sandbox.url}/customers/me/accounts").status_code == 401
    assert time.monotonic() - started < delay  # not held: held, it would take the delay
    control.fault("delay", seconds=0, broker="tradier")
    control.fault("refuse_sessions", target="tradier-stream", credential="c0ffee", status=0)
    faults = control.state()["faults"]
    assert faults["broker_delay"] == {} and faults["refuse_sessions_by_credential"] == {}


def test_an_idle_connection_outlives_its_clients_pools(app):
    """The sandbox keeps an idle keep-alive connection open longer than httpx's pools keep
    it (their 5 s `keepalive_expiry`): with uvicorn's 5 s default the server closed it as a
    test's control client sent its next request on it, and the request died with
    "Connection reset by peer" (a clean clone's chain test). A broker's API keeps them
    about a minute behind its load balancer."""
    from sandbox.server import uvicorn_config

    kept = uvicorn_config(app).timeout_keep_alive
    assert kept > httpx.Limits().keepalive_expiry
    assert kept >= 60
