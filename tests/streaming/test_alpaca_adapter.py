"""The Alpaca adapter against the sandbox over real sockets: snapshot, pushed trade events,
replay after drops and restarts without duplicate fills, polling fallback, backoff, watchdog."""

from __future__ import annotations

import time
import uuid
from decimal import Decimal

import httpx
import pytest

from sandbox.core.config import SandboxConfig
from sandbox.core.credentials import credential_id
from streaming.brokers.alpaca.adapter import AlpacaAdapter
from streaming.brokers.alpaca.events import POLLING_REASON
from streaming.brokers.backoff import Backoff
from streaming.brokers.base import MemoryCheckpoint, StreamConfig
from tests.support.brokers import ALPACA_FAST
from tests.support.recording import RecordingSink, running

FAST = ALPACA_FAST
#: How long what the sandbox sent may take to reach the sink (or the sandbox to see the
#: adapter's stream): milliseconds on a quiet box, the rest is the margin of a loaded one
#: (the live-process phase runs beside these tests). Well under the order poll interval
#: (60 s, ALPACA_FAST), so an order event seen within it was pushed, not polled.
SEEN_WITHIN = 15.0


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


def margin_account(settings, key_id: str) -> tuple[str, str]:
    """(number, id) of the key's margin account, picked by its trading type: Alpaca lists
    accounts newest first, which says nothing about which one can trade on margin."""
    with rest(settings, key_id) as client:
        accounts = client.get("/v1/accounts").json()
    margin = next(a for a in accounts if a["trading_type"] == "margin")
    return margin["account_number"], margin["id"]


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


async def stream_open(sink: RecordingSink, control, key_id: str) -> None:
    """The adapter's event stream is open at the sandbox: events from now on reach it (it
    opens the stream right after reporting "live", live-only the first time: an order
    placed before it is open would be missed)."""

    def open_streams() -> list:
        entry = control.state()["credentials"].get(credential_id(key_id), {})
        return entry.get("alpaca-sse", [])

    await sink.wait_for(open_streams, SEEN_WITHIN)


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
        await sink.wait_for(lambda: sink.state("account") == "live")
    assert sink.statuses[0][:2] == ("quotes", "idle")
    assert sink.kind_states("account")[0] == "connecting"
    assert sink.kind_states("quotes") == ["idle"]
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
    """new → partial fill → fill arrive after each step, well within the order poll
    interval (a minute: SEEN_WITHIN); each fill refreshes the account's positions."""
    sink = RecordingSink()
    adapter = make_adapter(settings, key_id, MemoryCheckpoint())
    async with running(adapter, sink):
        await sink.wait_for(lambda: sink.state("account") == "live")
        await stream_open(sink, control, key_id)
        number, account_id = margin_account(settings, key_id)
        order = place(settings, key_id, account_id)
        await sink.wait_for(lambda: last_order(sink, order["id"]), SEEN_WITHIN)
        assert last_order(sink, order["id"])["status"] == "new"
        control.step()  # Received → Live
        control.step()  # first partial fill
        await sink.wait_for(lambda: fill_rows(sink, order["id"]), SEEN_WITHIN)
        assert last_order(sink, order["id"])["status"] == "partially_filled"
        step_until_filled(control, broker_at_sandbox, key_id, order["id"])
        await sink.wait_for(
            lambda: last_order(sink, order["id"])["status"] == "filled", SEEN_WITHIN
        )
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
        await sink.wait_for(lambda: sink.state("account") == "live")
        await stream_open(sink, control, key_id)
        _, account_id = margin_account(settings, key_id)
        order = place(settings, key_id, account_id)
        await sink.wait_for(lambda: checkpoint.cursor is not None, SEEN_WITHIN)
        control.fault("drop", target="alpaca-sse", credential=credential_id(key_id))
        await sink.wait_for(lambda: "reconnecting" in sink.states, SEEN_WITHIN)
        step_until_filled(control, broker_at_sandbox, key_id, order["id"])  # while down
        assert not fill_rows(sink, order["id"])
        await sink.wait_for(
            lambda: last_order(sink, order["id"])["status"] == "filled", SEEN_WITHIN
        )
    rows = fill_rows(sink, order["id"])
    assert {r["id"] for r in rows} == executions(broker_at_sandbox, key_id, order["id"])
    assert len(rows) >= 2
    assert_consistent(rows, 300)


def last_event_id(sandbox, key_id: str) -> str:
    return sandbox.sandbox.alpaca.customers[credential_id(key_id)].events[-1].ulid


async def test_restart_with_a_checkpoint_shows_every_fill_once_with_its_price(
    broker_at_sandbox, settings, control, key_id
):
    """A new process with the old checkpoint, after the order filled while nobody listened:
    its baseline reports the order with all it filled as one fill at the average price
    (`<id>:400`), and the replayed older events change nothing (they are behind it)."""
    checkpoint = MemoryCheckpoint()
    first = RecordingSink()
    async with running(make_adapter(settings, key_id, checkpoint), first):
        await first.wait_for(lambda: first.state("account") == "live")
        await stream_open(first, control, key_id)
        _, account_id = margin_account(settings, key_id)
        order = place(settings, key_id, account_id, qty=400)
        control.step()
        control.step()  # the first partial fill
        await first.wait_for(lambda: fill_rows(first, order["id"]), SEEN_WITHIN)
        # the first process applied the partial fill's event, not only read the order: the
        # re-read right after the stream opens can show the fill first (then exiting here
        # would leave no checkpoint, and the next process nothing to replay)
        seen = last_event_id(broker_at_sandbox, key_id)
        await first.wait_for(lambda: checkpoint.cursor == seen, SEEN_WITHIN)
    step_until_filled(control, broker_at_sandbox, key_id, order["id"])  # nobody listening
    with rest(settings, key_id) as client:
        avg = client.get(f"/v1/trading/accounts/{account_id}/orders/{order['id']}").json()[
            "filled_avg_price"
        ]
    second = RecordingSink()
    adapter = make_adapter(settings, key_id, checkpoint)
    async with running(adapter, second):
        await second.wait_for(
            lambda: (last_order(second, order["id"]) or {}).get("status") == "filled", SEEN_WITHIN
        )
        final = last_order(second, order["id"])
        try:
            await second.wait_for(
                lambda: checkpoint.cursor == last_event_id(broker_at_sandbox, key_id),
                SEEN_WITHIN,
            )  # the replay is through
        except AssertionError as exc:  # a loaded run once missed it: say where it stood
            cid = credential_id(key_id)
            streams = control.state()["credentials"].get(cid, {}).get("alpaca-sse", [])
            last = last_event_id(broker_at_sandbox, key_id)
            raise AssertionError(
                f"{exc}: cursor {checkpoint.cursor} (last {last}),"
                f" mode {adapter.account.mode}, {adapter.account.stream_attempts} stream attempts,"
                f" statuses {second.statuses[-4:]}, sandbox streams {streams}"
            ) from exc
    frames = [p for k, _, _, p in second.events if k == "order" and p["id"] == order["id"]]
    assert frames == [final]  # the replayed partial fills added nothing, changed nothing
    fills = final["legs"][0]["fills"]
    assert [f["id"] for f in fills] == [f"{order['id']}:400"]
    assert fills[0]["quantity"] == 400 and Decimal(str(fills[0]["price"])) == Decimal(avg)


async def test_baseline_shows_the_price_of_an_order_filled_before_the_checkpoint(
    broker_at_sandbox, settings, control, key_id
):
    """An order that filled (and was checkpointed) under a previous process: nothing is
    replayed for it, yet the next process's snapshot shows its fill "@ price"."""
    checkpoint = MemoryCheckpoint()
    first = RecordingSink()
    async with running(make_adapter(settings, key_id, checkpoint), first):
        await first.wait_for(lambda: first.state("account") == "live")
        await stream_open(first, control, key_id)
        _, account_id = margin_account(settings, key_id)
        order = place(settings, key_id, account_id)
        step_until_filled(control, broker_at_sandbox, key_id, order["id"])
        await first.wait_for(
            lambda: checkpoint.cursor == last_event_id(broker_at_sandbox, key_id), SEEN_WITHIN
        )
    second = RecordingSink()
    async with running(make_adapter(settings, key_id, checkpoint), second):
        await second.wait_for(lambda: second.state("account") == "live")
    final = last_order(second, order["id"])
    fills = final["legs"][0]["fills"]
    assert final["status"] == "filled"
    assert [(f["id"], f["quantity"]) for f in fills] == [(f"{order['id']}:300", 300)]
    assert fills[0]["price"] and 20 < fills[0]["price"] <= 40


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
        await sink.wait_for(lambda: sink.state("account") == "live")
        await stream_open(sink, control, key_id)
        _, account_id = margin_account(settings, key_id)
        order = place(settings, key_id, account_id)
        await sink.wait_for(lambda: checkpoint.saves == 1, SEEN_WITHIN)
        control.step()
        control.step()
        await sink.wait_for(lambda: checkpoint.failed, SEEN_WITHIN)
        await sink.wait_for(
            lambda: checkpoint.saves >= 2, SEEN_WITHIN
        )  # replayed and saved this time
        step_until_filled(control, broker_at_sandbox, key_id, order["id"])
        await sink.wait_for(
            lambda: last_order(sink, order["id"])["status"] == "filled", SEEN_WITHIN
        )
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
        await sink.wait_for(lambda: sink.state("account") == "live")
        await stream_open(sink, control, key_id)
        _, account_id = margin_account(settings, key_id)
        order = place(settings, key_id, account_id)
        await sink.wait_for(lambda: checkpoint.cursor is not None, SEEN_WITHIN)
        control.fault("http_error", status=503, path_prefix="/alpaca/v2/events", count=None)
        control.fault("drop", target="alpaca-sse", credential=credential_id(key_id))
        await sink.wait_for(
            lambda: any(r == POLLING_REASON for _, r, _ in sink.of_kind("account")), SEEN_WITHIN
        )
        assert adapter.account.mode == "polling"
        control.step()
        control.step()  # a partial fill, seen only by polling
        await sink.wait_for(lambda: fill_rows(sink, order["id"]), SEEN_WITHIN)
        control.clear_faults()
        await sink.wait_for(lambda: adapter.account.mode == "stream", SEEN_WITHIN)
        step_until_filled(control, broker_at_sandbox, key_id, order["id"])
        await sink.wait_for(
            lambda: last_order(sink, order["id"])["status"] == "filled", SEEN_WITHIN
        )
        # the stream back: the account is live again, with no polling reason
        await sink.wait_for(lambda: sink.statuses[-1][:3] == ("account", "live", ""), SEEN_WITHIN)
    rows = fill_rows(sink, order["id"])
    assert {r["id"] for r in rows} == executions(broker_at_sandbox, key_id, order["id"])
    assert_consistent(rows, 300)


#: Refusals the 429 test waits for: the adapter tried again, more than once.
REFUSALS_SEEN = 3
#: They come within the backoff's first delays (base 0.1 s doubling to the 0.5 s cap: ~0.8
#: s), plus each attempt's round trip; the rest is a loaded box's margin.
REFUSALS_WITHIN = 5.0


def backoff_attempts(window: float) -> int:
    """The most stream connection attempts the adapter's backoff (FAST: `backoff_base`
    doubling to `backoff_cap`, each delay shortened by at most its jitter) lets it
    start within `window` seconds: a storm (alpaca-py #740: every 10 ms) exceeds it."""
    attempts, spent, attempt = 1, 0.0, 0
    while True:
        delay = min(FAST["backoff_cap"], FAST["backoff_base"] * 2**attempt) * (1 - Backoff.jitter)
        if spent + delay > window:
            return attempts
        attempts, spent, attempt = attempts + 1, spent + delay, attempt + 1


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
            started = time.monotonic()
            async with running(adapter, sink):
                await sink.wait_for(lambda: adapter.account.mode == "polling", SEEN_WITHIN)

                def refused() -> dict | None:
                    entry = control.state()["credentials"][credential_id(key_id)]
                    return entry if entry["connections_refused"] >= REFUSALS_SEEN else None

                # it tries again (refused each time), no faster than its backoff allows
                entry = await sink.wait_for(refused, REFUSALS_WITHIN)
                elapsed = time.monotonic() - started
                assert entry["connection_attempts"] <= backoff_attempts(elapsed), (entry, elapsed)
                await held.aclose()
                await sink.wait_for(lambda: adapter.account.mode == "stream", SEEN_WITHIN)
    reasons = [
        extra.get("stream_error", "")
        for s, r, extra in sink.of_kind("account")
        if r == POLLING_REASON
    ]
    assert reasons and "429" in reasons[0]


async def test_an_order_state_older_than_the_known_one_is_ignored(settings, key_id):
    """Order states arrive out of order (a replayed event behind a newer REST read): one
    with an older `updated_at` than the state already applied changes nothing."""
    adapter = make_adapter(settings, key_id, MemoryCheckpoint())
    sink = RecordingSink()
    order = {
        "id": "o-1", "symbol": "SCHD", "side": "buy", "qty": "300", "order_type": "limit",
        "limit_price": "40", "time_in_force": "day", "status": "filled", "filled_qty": "300",
        "filled_avg_price": "28.01", "updated_at": "2025-01-02T15:00:02.5Z",
    }  # fmt: skip
    assert await adapter.book.apply_order(sink, "A1", order, synthesize=True)
    older = {**order, "status": "partially_filled", "filled_qty": "100",
             "updated_at": "2025-01-02T15:00:01Z"}  # fmt: skip
    assert not await adapter.book.apply_order(
        sink, "A1", older, execution=(Decimal(100), None, None)
    )
    assert adapter.book.stale_updates == 1
    frames = [p for k, _, _, p in sink.events if k == "order"]
    assert len(frames) == 1 and frames[0]["status"] == "filled"
    assert frames[0]["legs"][0]["fills"] == [
        {"id": "o-1:300", "quantity": 300, "price": 28.01, "at": frames[0]["updated_at"]}
    ]
