"""The sandbox's control API: loopback-only, validated, and reporting live state."""

from __future__ import annotations

import httpx
import pytest

from streaming.sandbox.app import Sandbox, build_app


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
