"""Order (and fill) ids never repeat across sandbox restarts: by default numbering starts
from the start time (`order_id_base`), so a client that remembers ids from the previous
run never mistakes a new order for an old one."""

from __future__ import annotations

import time

import httpx
import pytest

from sandbox.app import Sandbox
from sandbox.core.config import SandboxConfig
from sandbox.tastytrade.orders import order_request

ORDER = {
    "time-in-force": "Day",
    "order-type": "Market",
    "legs": [
        {"instrument-type": "Equity", "symbol": "AAPL", "action": "Buy to Open", "quantity": 1}
    ],
}


def run(sandbox: Sandbox, orders: int) -> tuple[list[int], list[str]]:
    """Place and fill some orders as one sandbox run; their order ids and fill ids."""
    account = sandbox.brokerage.open_customer("restart-customer")[0]
    request = order_request(ORDER)
    ids = [sandbox.brokerage.place_order(account, request).order.id for _ in range(orders)]
    sandbox.brokerage.step()  # Received -> Live
    fills = [
        f.fill_id
        for e in sandbox.brokerage.step()
        if e.kind == "Order"
        for leg in e.record.legs
        for f in leg.fills
    ]
    return ids, fills


def test_a_restarted_sandbox_never_reuses_order_or_fill_ids():
    """Two runs one right after the other (same seed, same customer): the second run's ids
    are all above the first run's, even though the first placed several orders."""
    first_ids, first_fills = run(Sandbox(SandboxConfig()), 5)
    second_ids, second_fills = run(Sandbox(SandboxConfig()), 5)
    assert len(set(first_ids)) == 5 and len(first_fills) == 5
    assert min(second_ids) > max(first_ids)
    assert not set(first_fills) & set(second_fills)


def test_a_restart_with_the_same_config_object_gets_a_new_base():
    """The derived base is the run's own: the config object handed in is left as it was, so
    a restart that reuses it does not reuse the previous run's ids."""
    config = SandboxConfig()
    first_ids, _ = run(Sandbox(config), 3)
    assert config.order_id_base == 0
    second_ids, _ = run(Sandbox(config), 3)
    assert min(second_ids) > max(first_ids)


def test_default_base_comes_from_the_start_time():
    """The default base is the start time in microseconds (so more than a million orders a
    second would be needed to catch up with the next run); the state reports it."""
    before = int(time.time() * 1_000_000)
    sandbox = Sandbox(SandboxConfig())
    after = int(time.time() * 1_000_000)
    assert before <= sandbox.config.order_id_base <= after
    assert sandbox.state()["config"]["order_id_base"] == sandbox.config.order_id_base
    ids, _ = run(sandbox, 2)
    assert ids == [sandbox.config.order_id_base, sandbox.config.order_id_base + 1]
    assert ids[1] < 2**53  # still exact in a browser's JSON numbers


@pytest.fixture
def sandbox_config() -> SandboxConfig:
    return SandboxConfig(tick_rate=0.0, order_step_interval=0, order_id_base=700_000)


def test_configured_base_is_used_over_the_wire_and_fixed_while_running(sandbox, control):
    """`order_id_base` set at start numbers the orders the clients see; changing it on a
    running sandbox is refused (it could hand out ids again)."""
    state = control.state()
    assert state["config"]["order_id_base"] == 700_000
    grant = {"grant_type": "refresh_token", "client_secret": "s", "refresh_token": "ids"}
    with httpx.Client(base_url=sandbox.url, timeout=10) as client:
        token = client.post("/oauth/token", json=grant).json()["access_token"]
        client.headers["Authorization"] = f"Bearer {token}"
        items = client.get("/customers/me/accounts").json()["data"]["items"]
        number = items[0]["account"]["account-number"]
        placed = client.post(f"/accounts/{number}/orders", json=ORDER).json()["data"]["order"]
        assert placed["id"] == 700_000
        assert control.place_order(number, ORDER)["order"]["id"] == 700_001
        refused = client.post(f"{sandbox.url}/_sandbox/config", json={"order_id_base": 1})
    assert refused.status_code == 400
    assert "order_id_base" in refused.json()["error"]["message"]
    assert control.state()["config"]["order_id_base"] == 700_000
