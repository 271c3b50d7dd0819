"""The Alpaca adapter against the sandbox over real sockets: snapshot, pushed trade events,
replay after drops and restarts without duplicate fills, polling fallback, backoff, watchdog."""

from __future__ import annotations

import asyncio
import uuid
from decimal import Decimal

import httpx
import pytest

from streaming.brokers.alpaca import POLLING_REASON, AlpacaAdapter
from streaming.brokers.base import MemoryCheckpoint, StreamConfig
from streaming.sandbox.config import SandboxConfig
from streaming.sandbox.credentials import credential_id
from tests.support.recording import RecordingSink, running

FAST = dict(
    handshake_timeout=5,
    watchdog_timeout=2.0,
    backoff_base=0.1,
    backoff_cap=0.5,
    rejected_retry=60,
    account_poll_interval=60,
    order_poll_interval=60,
)


@pytest.fixture
def sandbox_config() -> SandboxConfig:
    """Orders advance only on control.step(), so every test decides when fills happen."""
    return SandboxConfig(tick_rate=20.0, order_step_interval=0, alpaca_heartbeat_interval=0.25)


@pytest.fixture
def key_id() -> str:
    return f"AK{uuid.uuid4().hex[:14].upper()}"


SECRET = "sk-very-secret-value-123"


def make_adapter(settings, key_id: str, checkpoint: MemoryCheckpoint, **config) -> AlpacaAdapter:
    return AlpacaAdapter(
        link_id=3,
        key_id=key_id,
        secret_key=SECRET,
        api_url=settings.ALPACA_API_URL,
        checkpoint=checkpoint,
        config=StreamConfig(**{**FAST, **config}),
    )


def rest(settings, key_id: str) -> httpx.Client:
    return httpx.Client(base_url=settings.ALPACA_API_URL, auth=(key_id, SECRET), timeout=10)


def place(settings, key_id: str, account_id: str, qty: int = 300) -> dict:
    """A marketable limit buy of SCHD (~$28): 300 shares fill in 2-3 partial fills."""
    with rest(settings, key_id) as client:
        response = client.post(
            f"/v1/trading/accounts/{account_id}/orders",
            json={
                "symbol": "SCHD",
                "qty": str(qty),
                "side": "buy",
                "type": "limit",
                "time_in_force": "day",
                "limit_price": "40",
            },
        )
    assert response.status_code == 200, response.text
    return response.json()


def account_ids(settings, key_id: str) -> dict[str, str]:
    with rest(settings, key_id) as client:
        return {a["account_number"]: a["id"] for a in client.get("/v1/accounts").json()}


def executions(sandbox, key_id: str, order_id: str) -> set[str]:
    """The fill ids the sandbox's own event log implies (order id : cumulative filled)."""
    customer = sandbox.sandbox.alpaca.customers[credential_id(key_id)]
    return {
        f"{order_id}:{e.body['order']['filled_qty']}"
        for e in list(customer.events)
        if e.body["event"] in ("fill", "partial_fill") and e.body["order"]["id"] == order_id
    }


def fill_rows(sink: RecordingSink, order_id: str) -> list[dict]:
    """Every distinct fill row the sink saw for the order (by id, first sighting)."""
    rows: dict[str, dict] = {}
    for kind, _, _, payload in sink.events:
        if kind == "order" and payload["id"] == order_id:
            for leg in payload["legs"]:
                for fill in leg["fills"]:
                    rows.setdefault(fill["id"], fill)
    return list(rows.values())


def last_order(sink: RecordingSink, order_id: str) -> dict | None:
    found = [p for k, _, _, p in sink.events if k == "order" and p["id"] == order_id]
    return found[-1] if found else None


def step_until_filled(control, sandbox, key_id: str, order_id: str) -> None:
    for _ in range(8):
        control.step()
        customer = sandbox.sandbox.alpaca.customers[credential_id(key_id)]
        if any(
            e.body["event"] == "fill" for e in customer.events if e.body["order"]["id"] == order_id
        ):
            return
    raise AssertionError("the order never filled")


def assert_consistent(rows: list[dict], qty: int) -> None:
    """Fill rows are unique by id and add up to the order quantity exactly."""
    ids = [r["id"] for r in rows]
    assert len(ids) == len(set(ids))
    assert sum(Decimal(str(r["quantity"])) for r in rows) == qty


async def test_snapshot_in_contract_shapes_then_live(broker_at_sandbox, settings, key_id):
    """connecting → balance, positions of both accounts in contract shapes (numbers, not
    strings; unsigned quantity with a direction) → live."""
    sink = RecordingSink()
    adapter = make_adapter(settings, key_id, MemoryCheckpoint())
    async with running(adapter, sink):
        await sink.wait_for(lambda: "live" in sink.states)
    assert sink.states[0] == "connecting"
    balances = {a: p for k, _, a, p in sink.events if k == "balance"}
    positions = {a: p for k, _, a, p in sink.events if k == "positions"}
    assert len(balances) == 2 and balances.keys() == positions.keys()
    for balance in balances.values():
        assert isinstance(balance["net_liquidating_value"], int | float)
        assert balance["cash"] > 0 and balance["buying_power"] > 0
        assert balance["long_derivative_value"] is None  # Alpaca does not split it
    rows = [p for ps in positions.values() for p in ps]
    short = [p for p in rows if p["direction"] == "Short"]
    assert short and all(p["quantity"] > 0 for p in rows)
    options = [p for p in rows if p["instrument_type"] == "Equity Option"]
    assert options and all(p["streamer_symbol"].startswith(".") for p in options)
    assert all(p["multiplier"] == 100 for p in options)
    assert {p["multiplier"] for p in rows if p["instrument_type"] == "Equity"} == {1}


async def test_order_events_are_pushed_not_polled(broker_at_sandbox, settings, control, key_id):
    """new → partial fill → fill arrive within a second of each step although the order
    poll interval is a minute; each fill refreshes the account's positions."""
    sink = RecordingSink()
    adapter = make_adapter(settings, key_id, MemoryCheckpoint())
    async with running(adapter, sink):
        await sink.wait_for(lambda: "live" in sink.states)
        await asyncio.sleep(0.3)  # the stream opens right after "live"
        number, account_id = next(iter(account_ids(settings, key_id).items()))
        order = place(settings, key_id, account_id)
        await sink.wait_for(lambda: last_order(sink, order["id"]), 1.5)
        assert last_order(sink, order["id"])["status"] == "new"
        control.step()  # Received → Live
        control.step()  # first partial fill
        await sink.wait_for(lambda: fill_rows(sink, order["id"]), 1.5)
        assert last_order(sink, order["id"])["status"] == "partially_filled"
        step_until_filled(control, broker_at_sandbox, key_id, order["id"])
        await sink.wait_for(lambda: last_order(sink, order["id"])["status"] == "filled", 1.5)
        await sink.wait_for(
            lambda: any(
                p["symbol"] == "SCHD" and p["quantity"] >= 300
                for k, _, a, ps in sink.events
                if k == "positions" and a == number
                for p in ps
            ),
            2,
        )
    final = last_order(sink, order["id"])
    assert final["legs"][0]["remaining_quantity"] == 0 and final["price"] == 40
    rows = fill_rows(sink, order["id"])
    assert {r["id"] for r in rows} == executions(broker_at_sandbox, key_id, order["id"])
    assert_consistent(rows, 300)
    assert "reconnecting" not in sink.states


async def test_replay_after_a_drop_delivers_every_fill_once(
    broker_at_sandbox, settings, control, key_id
):
    """Fills that happen while the stream is down arrive after the reconnect (replayed from
    the checkpoint), each exactly once."""
    sink = RecordingSink()
    checkpoint = MemoryCheckpoint()
    adapter = make_adapter(settings, key_id, checkpoint, backoff_base=1.0, backoff_cap=1.0)
    async with running(adapter, sink):
        await sink.wait_for(lambda: "live" in sink.states)
        await asyncio.sleep(0.3)
        account_id = next(iter(account_ids(settings, key_id).values()))
        order = place(settings, key_id, account_id)
        await sink.wait_for(lambda: checkpoint.cursor is not None, 2)
        control.fault("drop", target="alpaca-sse", credential=credential_id(key_id))
        await sink.wait_for(lambda: "reconnecting" in sink.states, 2)
        step_until_filled(control, broker_at_sandbox, key_id, order["id"])  # while down
        assert not fill_rows(sink, order["id"])
        await sink.wait_for(lambda: last_order(sink, order["id"])["status"] == "filled", 5)
    rows = fill_rows(sink, order["id"])
    assert {r["id"] for r in rows} == executions(broker_at_sandbox, key_id, order["id"])
    assert len(rows) >= 2
    assert_consistent(rows, 300)


async def test_replay_after_a_restart_delivers_only_missed_fills(
    broker_at_sandbox, settings, control, key_id
):
    """A new adapter with the old checkpoint gets the fills it missed exactly once, and
    none of those the previous process already reported."""
    checkpoint = MemoryCheckpoint()
    first = RecordingSink()
    async with running(make_adapter(settings, key_id, checkpoint), first):
        await first.wait_for(lambda: "live" in first.states)
        await asyncio.sleep(0.3)
        account_id = next(iter(account_ids(settings, key_id).values()))
        order = place(settings, key_id, account_id, qty=400)
        control.step()
        control.step()  # the first partial fill
        await first.wait_for(lambda: fill_rows(first, order["id"]), 2)
    before = {r["id"] for r in fill_rows(first, order["id"])}
    step_until_filled(control, broker_at_sandbox, key_id, order["id"])  # nobody listening
    second = RecordingSink()
    async with running(make_adapter(settings, key_id, checkpoint), second):
        await second.wait_for(
            lambda: (
                (last_order(second, order["id"]) or {}).get("status") == "filled"
                and fill_rows(second, order["id"])
            ),
            5,
        )
        await asyncio.sleep(0.3)  # anything duplicated would arrive now
    after = {r["id"] for r in fill_rows(second, order["id"])}
    assert after and not before & after
    assert before | after == executions(broker_at_sandbox, key_id, order["id"])
    assert_consistent(fill_rows(first, order["id"]) + fill_rows(second, order["id"]), 400)


class FlakyCheckpoint(MemoryCheckpoint):
    """Fails the n-th save once: the process 'crashed' after applying, before saving."""

    def __init__(self, fail_on: int) -> None:
        super().__init__()
        self.fail_on = fail_on
        self.failed = False

    async def save(self, cursor: str) -> None:
        if self.saves + 1 == self.fail_on and not self.failed:
            self.failed = True
            raise RuntimeError("database went away")
        await super().save(cursor)


async def test_crash_between_apply_and_save_does_not_duplicate(
    broker_at_sandbox, settings, control, key_id
):
    """The event applied but not checkpointed is replayed; it adds no second fill row."""
    sink = RecordingSink()
    checkpoint = FlakyCheckpoint(fail_on=2)  # 1: new, 2: the first partial fill
    async with running(make_adapter(settings, key_id, checkpoint), sink):
        await sink.wait_for(lambda: "live" in sink.states)
        await asyncio.sleep(0.3)
        account_id = next(iter(account_ids(settings, key_id).values()))
        order = place(settings, key_id, account_id)
        await sink.wait_for(lambda: checkpoint.saves == 1, 2)
        control.step()
        control.step()
        await sink.wait_for(lambda: checkpoint.failed, 2)
        await sink.wait_for(lambda: checkpoint.saves >= 2, 5)  # replayed and saved this time
        step_until_filled(control, broker_at_sandbox, key_id, order["id"])
        await sink.wait_for(lambda: last_order(sink, order["id"])["status"] == "filled", 5)
    assert "reconnecting" in sink.states
    rows = fill_rows(sink, order["id"])
    assert {r["id"] for r in rows} == executions(broker_at_sandbox, key_id, order["id"])
    assert_consistent(rows, 300)
    for kind, _, _, payload in sink.events:  # no order frame ever carried a duplicate
        if kind == "order" and payload["id"] == order["id"]:
            ids = [f["id"] for f in payload["legs"][0]["fills"]]
            assert len(ids) == len(set(ids))


async def test_polling_fallback_then_stream_returns_without_duplicates(
    broker_at_sandbox, settings, control, key_id
):
    """With the event stream answering 503, fills still arrive by polling (status live with
    the polling reason); when it returns, the replay adds nothing twice."""
    sink = RecordingSink()
    checkpoint = MemoryCheckpoint()
    adapter = make_adapter(settings, key_id, checkpoint, order_poll_interval=0.2)
    async with running(adapter, sink):
        await sink.wait_for(lambda: "live" in sink.states)
        await asyncio.sleep(0.3)
        account_id = next(iter(account_ids(settings, key_id).values()))
        order = place(settings, key_id, account_id)
        await sink.wait_for(lambda: checkpoint.cursor is not None, 2)
        control.fault("http_error", status=503, path_prefix="/alpaca/v2/events", count=None)
        control.fault("drop", target="alpaca-sse", credential=credential_id(key_id))
        await sink.wait_for(lambda: any(r == POLLING_REASON for _, r, _ in sink.statuses), 3)
        assert adapter.mode == "polling"
        control.step()
        control.step()  # a partial fill, seen only by polling
        await sink.wait_for(lambda: fill_rows(sink, order["id"]), 2)
        control.clear_faults()
        await sink.wait_for(lambda: adapter.mode == "stream", 3)
        step_until_filled(control, broker_at_sandbox, key_id, order["id"])
        await sink.wait_for(lambda: last_order(sink, order["id"])["status"] == "filled", 3)
        await asyncio.sleep(0.3)
    assert sink.statuses[-1][0] == "live" and sink.statuses[-1][1] == ""
    rows = fill_rows(sink, order["id"])
    assert {r["id"] for r in rows} == executions(broker_at_sandbox, key_id, order["id"])
    assert_consistent(rows, 300)


async def test_second_connection_429_backs_off_instead_of_storming(
    broker_at_sandbox, settings, control, key_id
):
    """While another client holds the key's one stream, the adapter gets 429s: it polls and
    retries with backoff (a handful of attempts, not alpaca-py #740's 10 ms storm), and takes
    the stream once it is free."""
    sink = RecordingSink()
    adapter = make_adapter(settings, key_id, MemoryCheckpoint(), order_poll_interval=0.5)
    async with httpx.AsyncClient(auth=(key_id, SECRET), timeout=None) as holder:
        url = f"{settings.ALPACA_API_URL}/v2/events/trades"
        async with holder.stream("GET", url) as held:
            assert held.status_code == 200
            async with running(adapter, sink):
                await sink.wait_for(lambda: adapter.mode == "polling", 3)
                await asyncio.sleep(2.0)
                entry = control.state()["credentials"][credential_id(key_id)]
                assert 2 <= entry["connections_refused"] <= 12
                assert entry["connection_attempts"] <= 13
                await held.aclose()
                await sink.wait_for(lambda: adapter.mode == "stream", 3)
    reasons = [
        extra.get("stream_error", "") for s, r, extra in sink.statuses if r == POLLING_REASON
    ]
    assert reasons and "429" in reasons[0]


async def test_silent_stream_is_caught_by_the_watchdog(
    broker_at_sandbox, settings, control, key_id
):
    """A stream that stops sending (heartbeats too) is abandoned after the watchdog timeout
    and reopened; the silent one is closed, not leaked."""
    sink = RecordingSink()
    adapter = make_adapter(settings, key_id, MemoryCheckpoint(), watchdog_timeout=1.0)
    async with running(adapter, sink):
        await sink.wait_for(lambda: "live" in sink.states)
        await asyncio.sleep(0.5)
        cid = credential_id(key_id)
        control.fault("silence", target="alpaca-sse", credential=cid)
        await sink.wait_for(lambda: "reconnecting" in sink.states, 4)
        assert "watchdog" in next(r for s, r, _ in sink.statuses if s == "reconnecting")
        await sink.wait_for(lambda: adapter.mode == "stream", 3)

        def sessions() -> list:
            return control.state()["credentials"][cid].get("alpaca-sse", [])

        await sink.wait_for(lambda: len(sessions()) == 1 and not sessions()[0]["silent"], 3)


async def test_rejected_key_is_an_error_without_the_secret(
    broker_at_sandbox, settings, control, key_id
):
    """401 (revoked key) → status error, once, and the reason never contains the secret."""
    control.fault("revoke", credential=credential_id(key_id))
    sink = RecordingSink()
    async with running(make_adapter(settings, key_id, MemoryCheckpoint()), sink):
        await sink.wait_for(lambda: "error" in sink.states)
        await asyncio.sleep(0.5)
    state, reason, _ = sink.statuses[-1]
    assert state == "error" and "401" in reason and "not authorized" in reason
    assert SECRET not in reason and sink.states.count("connecting") == 1
