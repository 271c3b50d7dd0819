"""The Alpaca adapter in Trading API mode against the sandbox over real sockets: the
`trade_updates` WebSocket pushes fills live; what happens while it is down (or silenced)
is reconciled over REST after the reconnect, each fill exactly once; a refused key is a
credential rejection, not a retry loop."""

from __future__ import annotations

import uuid
from decimal import Decimal

import httpx
import pytest

from sandbox.core.config import SandboxConfig
from sandbox.core.credentials import credential_id
from streaming.brokers import catalog
from streaming.brokers.alpaca.trading import AlpacaTradingAdapter
from streaming.brokers.alpaca.updates import stream_url
from streaming.brokers.base import MemoryCheckpoint, StreamConfig
from streaming.brokers.errors import CredentialRejected
from tests.support.brokers import ALPACA_FAST
from tests.support.recording import RecordingSink, running

#: Polls and periodic reconciliation stay out of the way: the socket must deliver.
FAST = {**ALPACA_FAST, "reconcile_interval": 60}
SECRET = "paper-very-secret-456"


@pytest.fixture
def sandbox_config() -> SandboxConfig:
    """Orders advance only on control.step(), so every test decides when fills happen."""
    return SandboxConfig(tick_rate=20.0, order_step_interval=0)


@pytest.fixture
def key_id() -> str:
    return f"PK{uuid.uuid4().hex[:16].upper()}"


@pytest.fixture
def api_url(broker_at_sandbox, settings) -> str:
    settings.ALPACA_TRADING_PAPER_URL = settings.ALPACA_TRADING_LIVE_URL = (
        f"{broker_at_sandbox.url}/alpaca"
    )
    return settings.ALPACA_TRADING_PAPER_URL


def make_adapter(api_url: str, key_id: str, secret: str = SECRET, **config) -> AlpacaTradingAdapter:
    return AlpacaTradingAdapter(
        link_id=5,
        key_id=key_id,
        secret_key=secret,
        api_url=api_url,
        config=StreamConfig(**{**FAST, **config}),
    )


def rest(api_url: str, key_id: str) -> httpx.Client:
    headers = {"APCA-API-KEY-ID": key_id, "APCA-API-SECRET-KEY": SECRET}
    return httpx.Client(base_url=api_url, headers=headers, timeout=10)


def place(api_url: str, key_id: str, qty: int = 300) -> dict:
    """A marketable limit buy of SCHD (~$28): 300 shares fill in 2-3 partial fills."""
    body = {"symbol": "SCHD", "qty": str(qty), "side": "buy", "type": "limit"}
    with rest(api_url, key_id) as client:
        response = client.post(
            "/v2/orders", json=body | {"time_in_force": "day", "limit_price": "40"}
        )
    assert response.status_code == 200, response.text
    return response.json()


def executions(sandbox, key_id: str, order_id: str) -> list[str]:
    """The fill ids the sandbox's own trade events imply (order id : cumulative filled)."""
    customer = sandbox.sandbox.alpaca.customers[credential_id(key_id)]
    return [
        f"{order_id}:{e.body['order']['filled_qty']}"
        for e in list(customer.events)
        if e.body["event"] in ("fill", "partial_fill") and e.body["order"]["id"] == order_id
    ]


def fill_rows(sink: RecordingSink, order_id: str) -> list[dict]:
    rows: dict[str, dict] = {}
    for kind, _, _, payload in sink.events:
        if kind == "order" and payload["id"] == order_id:
            for fill in payload["legs"][0]["fills"]:
                rows.setdefault(fill["id"], fill)
    return list(rows.values())


def last_order(sink: RecordingSink, order_id: str) -> dict | None:
    found = [p for k, _, _, p in sink.events if k == "order" and p["id"] == order_id]
    return found[-1] if found else None


def step_until_filled(control, sandbox, key_id: str, order_id: str) -> None:
    for _ in range(8):
        control.step()
        if any(i.endswith(":300") for i in executions(sandbox, key_id, order_id)):
            return
    raise AssertionError("the order never filled")


def fill_prices(sandbox, key_id: str, order_id: str) -> list[Decimal]:
    customer = sandbox.sandbox.alpaca.customers[credential_id(key_id)]
    return [
        Decimal(e.body["price"])
        for e in customer.events
        if e.body["event"] in ("fill", "partial_fill") and e.body["order"]["id"] == order_id
    ]


def assert_each_fill_once(sink, sandbox, key_id: str, order_id: str) -> None:
    """One row per execution the sandbox made, at that execution's price, adding up."""
    rows = fill_rows(sink, order_id)
    assert [r["id"] for r in rows] == executions(sandbox, key_id, order_id)
    assert len(rows) >= 2
    assert sum(Decimal(str(r["quantity"])) for r in rows) == 300
    assert [Decimal(str(r["price"])) for r in rows] == fill_prices(sandbox, key_id, order_id)


async def test_snapshot_then_fills_arrive_live(broker_at_sandbox, api_url, control, key_id):
    """One account: balance and positions, then live; new → partial fills → fill pushed
    over the socket (order polls and reconciliation are a minute away)."""
    sink = RecordingSink()
    adapter = make_adapter(api_url, key_id)
    async with running(adapter, sink):
        await sink.wait_for(lambda: sink.state("account") == "live")
        accounts = {a for k, _, a, _ in sink.events if k in ("balance", "positions")}
        number = broker_at_sandbox.sandbox.alpaca.customers[credential_id(key_id)].number
        assert accounts == {number}
        order = place(api_url, key_id)
        await sink.wait_for(lambda: last_order(sink, order["id"]), 2)
        assert last_order(sink, order["id"])["status"] == "new"
        step_until_filled(control, broker_at_sandbox, key_id, order["id"])
        await sink.wait_for(lambda: last_order(sink, order["id"])["status"] == "filled", 2)
        await sink.wait_for(
            lambda: any(
                p["symbol"] == "SCHD" and p["quantity"] >= 300
                for k, _, _, ps in sink.events
                if k == "positions"
                for p in ps
            ),
            2,
        )
    assert_each_fill_once(sink, broker_at_sandbox, key_id, order["id"])
    assert "reconnecting" not in sink.states
    account = adapter.account
    assert account.reconciliations == 1 and account.gaps == 0  # the connect's own only


async def test_fills_while_the_socket_is_down_arrive_once_after_reconnect(
    broker_at_sandbox, api_url, control, key_id
):
    """The socket is dropped and new ones refused while the order fills: nothing arrives
    meanwhile; after the reconnect the REST reconciliation reports every execution once."""
    sink = RecordingSink()
    adapter = make_adapter(api_url, key_id)
    async with running(adapter, sink):
        await sink.wait_for(lambda: sink.state("account") == "live")
        order = place(api_url, key_id)
        await sink.wait_for(lambda: last_order(sink, order["id"]), 2)
        control.fault("refuse_sessions", target="alpaca-ws", status=503)
        control.fault("drop", target="alpaca-ws", credential=credential_id(key_id))
        await sink.wait_for(lambda: "reconnecting" in sink.states, 2)
        step_until_filled(control, broker_at_sandbox, key_id, order["id"])  # while down
        assert not fill_rows(sink, order["id"])
        control.fault("refuse_sessions", target="alpaca-ws", status=0)
        await sink.wait_for(lambda: last_order(sink, order["id"])["status"] == "filled", 5)
        await sink.wait_for(lambda: sink.state("account") == "live", 2)
    assert_each_fill_once(sink, broker_at_sandbox, key_id, order["id"])
    assert adapter.account.reconciliations >= 2


async def test_a_missed_fill_is_reconciled_before_the_next(
    broker_at_sandbox, api_url, control, key_id
):
    """A silenced socket loses the first partial fill; the next update shows the gap
    and a reconciliation fills it in first: every execution once, at its own price."""
    sink = RecordingSink()
    adapter = make_adapter(api_url, key_id)
    async with running(adapter, sink):
        await sink.wait_for(lambda: sink.state("account") == "live")
        order = place(api_url, key_id)
        await sink.wait_for(lambda: last_order(sink, order["id"]), 2)
        control.step()  # Received -> Live
        control.fault("silence", target="alpaca-ws", credential=credential_id(key_id))
        control.step()  # the first partial fill, sent into the void
        assert len(executions(broker_at_sandbox, key_id, order["id"])) == 1
        control.clear_faults()
        step_until_filled(control, broker_at_sandbox, key_id, order["id"])
        await sink.wait_for(lambda: last_order(sink, order["id"])["status"] == "filled", 3)
    assert_each_fill_once(sink, broker_at_sandbox, key_id, order["id"])
    assert adapter.account.gaps == 1 and "reconnecting" not in sink.states


async def test_a_refused_key_is_a_credential_rejection(broker_at_sandbox, api_url, key_id):
    """A wrong secret is refused over REST (401) and on the socket (`unauthorized`):
    the link reports `error`, once, and does not reconnect."""
    with rest(api_url, key_id) as client:
        assert client.get("/v2/account").status_code == 200  # the key's secret is SECRET
    sink = RecordingSink()
    adapter = make_adapter(api_url, key_id, secret="not-the-secret")
    async with running(adapter, sink):
        await sink.wait_for(lambda: sink.state("account") == "error")
        assert sink.reason("account", "error").startswith("credential rejected")
    assert sink.kind_states("account") == ["connecting", "error"]
    assert adapter.reconnects == 0 and adapter.account.stream_attempts == 0
    with pytest.raises(CredentialRejected):
        await (await adapter.account._open_stream()).close()


async def test_catalog_builds_the_trading_mode(api_url, key_id):
    """A link in a Trading API mode gets this adapter at that mode's URL, and verifying it
    lists the key's one account."""
    secrets = {"key_id": key_id, "secret_key": SECRET}
    adapter = catalog.make_adapter(
        link_id=1,
        broker="alpaca",
        credentials=secrets,
        account_numbers=[],
        config=StreamConfig(),
        checkpoint=MemoryCheckpoint(),
        alpaca_api="paper",
    )
    assert isinstance(adapter, AlpacaTradingAdapter)
    assert (
        adapter.account.stream_url
        == stream_url(api_url)
        == api_url.replace("http", "ws") + "/stream"
    )
    numbers = await catalog.fetch_account_numbers("alpaca", secrets, alpaca_api="live")
    with rest(api_url, key_id) as client:
        assert numbers == [client.get("/v2/account").json()["account_number"]]
    broker_mode = catalog.make_adapter(
        link_id=1,
        broker="alpaca",
        credentials=secrets,
        account_numbers=[],
        config=StreamConfig(),
        checkpoint=MemoryCheckpoint(),
    )
    assert not isinstance(broker_mode, AlpacaTradingAdapter)
