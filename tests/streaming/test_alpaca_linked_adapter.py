"""The Alpaca adapter (Broker API mode) against the sandbox's brackets over real sockets: a
bracket's three orders reach the sink as three contract orders sharing one group, and each
follows its own life — the entry fills, the take-profit works then fills, the stop-loss is
canceled.

The path: the sandbox's trade events (sandbox/alpaca/trade_events/feed.py; a parent's
event carries its members in `legs`) and REST reads (streaming/brokers/alpaca/events.py
`_poll_orders` asks `nested=true`) → streaming/brokers/alpaca/wire.py `linked_members`
(the parent and each child with its `Group`) → `order_payload(group=…)`; a child that
comes alone later keeps the group the nesting told (streaming/brokers/alpaca/book.py,
the book's `groups`).

Sources: alpacahq/alpaca-docs content/trading/orders.md ("Bracket Orders"; `nested=true`
"will nest the result to include child orders under the parent order with an array field
legs"); alpaca-py trading/requests.py (`TakeProfitRequest`, `StopLossRequest`); the
contract's group (streaming/brokers/orders/shape.py `Group`, `exit_role`).
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from decimal import Decimal

import httpx
import pytest

from sandbox.core.config import SandboxConfig
from streaming.brokers.base import MemoryCheckpoint
from streaming.brokers.orders.entry import OrderLeg, OrderRefused, OrderRequest
from streaming.brokers.values import order_status
from streaming.trading.owner import cancel_every
from tests.streaming.test_alpaca_adapter import (
    SECRET,
    SEEN_WITHIN,
    last_order,
    make_adapter,
    margin_account,
    stream_open,
)
from tests.support.recording import RecordingSink, running

SYMBOL = "AAPL"


@pytest.fixture
def sandbox_config() -> SandboxConfig:
    """Orders advance only on control.step(), so every test decides when fills happen."""
    return SandboxConfig(tick_rate=20.0, order_step_interval=0, alpaca_heartbeat_interval=0.25)


@pytest.fixture
def key_id() -> str:
    return f"AK{uuid.uuid4().hex[:14].upper()}"


def place_bracket(settings, key_id: str, account_id: str, **entry: str) -> dict:
    """orders.md's bracket: a market buy (or `entry`'s terms), take profit at 215, stop
    the loss at 185."""
    with httpx.Client(
        base_url=settings.ALPACA_API_URL, auth=(key_id, SECRET), timeout=10
    ) as client:
        response = client.post(
            f"/v1/trading/accounts/{account_id}/orders",
            json={
                "symbol": SYMBOL,
                "qty": "2",
                "side": "buy",
                "type": "market",
                "time_in_force": "gtc",
                "order_class": "bracket",
                "take_profit": {"limit_price": "215"},
                "stop_loss": {"stop_price": "185"},
                **entry,
            },
        )
    assert response.status_code == 200, response.text
    return response.json()


def members(placed: dict) -> dict[str, str]:
    """Order id → the role the contract gives it."""
    tp, sl = placed["legs"]
    return {placed["id"]: "trigger", tp["id"]: "take_profit", sl["id"]: "stop_loss"}


def seen(sink: RecordingSink, roles: dict[str, str]) -> dict[str, tuple]:
    """Each member's last frame as (role in its group, group id, class, status)."""
    found = {}
    for oid in roles:
        frame = last_order(sink, oid)
        if frame is not None:
            group = frame["group"] or {}
            found[oid] = (group.get("role"), group.get("id"), group.get("class"), frame["status"])
    return found


async def run_bracket(sink, control, placed: dict) -> None:
    """Drive the bracket to its end at the sandbox, checking the sink at each stage."""
    roles = members(placed)
    parent = placed["id"]
    expect = {oid: (role, parent, "bracket", "held") for oid, role in roles.items()}
    expect[parent] = ("trigger", parent, "bracket", "new")
    await sink.wait_for(lambda: seen(sink, roles) == expect, SEEN_WITHIN)

    for _ in range(12):  # the entry fills; its exits start working
        control.step()
        if seen(sink, roles).get(parent, ())[-1:] == ("filled",):
            break
    expect = {oid: (role, parent, "bracket", "new") for oid, role in roles.items()}
    expect[parent] = ("trigger", parent, "bracket", "filled")
    await sink.wait_for(lambda: seen(sink, roles) == expect, SEEN_WITHIN)

    control.set_price(SYMBOL, 235.0)  # through the take-profit
    tp, sl = placed["legs"][0]["id"], placed["legs"][1]["id"]
    for _ in range(12):
        control.step()
        if seen(sink, roles).get(tp, ())[-1:] == ("filled",):
            break
    expect[tp] = ("take_profit", parent, "bracket", "filled")
    expect[sl] = ("stop_loss", parent, "bracket", "canceled")
    await sink.wait_for(lambda: seen(sink, roles) == expect, SEEN_WITHIN)
    statuses = {order_status(v[-1]) for v in seen(sink, roles).values()}
    assert statuses == {"Filled", "Cancelled"}
    final = last_order(sink, tp)
    assert (final["order_type"], final["price"], final["order_class"]) == ("Limit", 215, "bracket")
    assert last_order(sink, sl)["stop_price"] == 185


async def test_a_bracket_placed_while_streaming_is_three_orders_in_one_group(
    broker_at_sandbox, settings, control, key_id
):
    """Placed while the adapter listens: the entry's `new` event nests its held exits, so
    all three reach the sink at once with `group == {"id": <entry>, "class": "bracket",
    "role": …}`; the fills and the cancel arrive as events, each member keeping its group."""
    sink = RecordingSink()
    adapter = make_adapter(settings, key_id, MemoryCheckpoint())
    async with running(adapter, sink):
        await sink.wait_for(lambda: sink.state("account") == "live")
        await stream_open(sink, control, key_id)
        _, account_id = margin_account(settings, key_id)
        control.set_price(SYMBOL, 200.0)
        placed = place_bracket(settings, key_id, account_id)
        await run_bracket(sink, control, placed)


async def test_a_bracket_placed_before_the_adapter_starts_is_read_nested(
    broker_at_sandbox, settings, control, key_id
):
    """Placed before the adapter runs: its REST baseline (`_poll_orders`, `nested=true`)
    finds the entry with its exits under `legs` and emits the three members with their
    group; the events that follow move them on."""
    _, account_id = margin_account(settings, key_id)
    control.set_price(SYMBOL, 200.0)
    placed = place_bracket(settings, key_id, account_id)
    sink = RecordingSink()
    adapter = make_adapter(settings, key_id, MemoryCheckpoint())
    async with running(adapter, sink):
        await sink.wait_for(lambda: sink.state("account") == "live")
        await stream_open(sink, control, key_id)
        await run_bracket(sink, control, placed)


async def test_cancel_all_cancels_a_bracket_once_and_names_each_member(
    broker_at_sandbox, settings, control, key_id
):
    """Alpaca: "canceling one cancels the rest" (orders.md, bracket orders). Cancel-all
    (and the kill switch) lists every member, the held exits too, cancels the group once
    and reports all three."""
    sink = RecordingSink()
    adapter = make_adapter(settings, key_id, MemoryCheckpoint())
    async with running(adapter, sink):
        await sink.wait_for(lambda: sink.state("account") == "live")
        number, account_id = margin_account(settings, key_id)
        control.set_price(SYMBOL, 200.0)
        placed = place_bracket(settings, key_id, account_id, type="limit", limit_price="190")
        ids = list(members(placed))
        assert sorted(await adapter.working_orders(number)) == sorted(ids)
        result = await cancel_every(adapter, [number])
        assert (sorted(result["cancelled"]), result["failed"], result["error"]) == (
            sorted(ids),
            [],
            None,
        )
        assert len(result["cancelled"]) == 3
        await sink.wait_for(
            lambda: (
                {order_status(v[-1]) for v in seen(sink, members(placed)).values()} == {"Cancelled"}
            ),
            SEEN_WITHIN,
        )


def place_trailing_stop(settings, key_id: str, account_id: str) -> dict:
    """orders.md's trailing stop: sell 1 AAPL 5 % under its high, GTC."""
    with httpx.Client(
        base_url=settings.ALPACA_API_URL, auth=(key_id, SECRET), timeout=10
    ) as client:
        response = client.post(
            f"/v1/trading/accounts/{account_id}/orders",
            json={
                "symbol": SYMBOL, "qty": "1", "side": "sell", "type": "trailing_stop",
                "trail_percent": "5", "time_in_force": "gtc",
            },
        )  # fmt: skip
    assert response.status_code == 200, response.text
    return response.json()


#: How often the accounts (and with them a working trailing stop) are read again here.
TRAIL_POLL = 0.5


async def test_a_trailing_stops_high_and_stop_are_read_again_with_the_account(
    broker_at_sandbox, settings, control, key_id
):
    """orders.md "Trailing Stop Orders": the high-water mark and the stop move with the
    price at Alpaca, and no trade event says so (the events are new, fill, canceled, …:
    broker-api events.md). While the account holds a working trailing stop the adapter
    reads its open orders again with the account (every `account_poll_interval`), so the
    stop the screen shows is the one the broker holds; the fill comes as an event."""
    sink = RecordingSink()
    adapter = make_adapter(settings, key_id, MemoryCheckpoint(), account_poll_interval=TRAIL_POLL)
    async with running(adapter, sink):
        await sink.wait_for(lambda: sink.state("account") == "live")
        await stream_open(sink, control, key_id)
        _, account_id = margin_account(settings, key_id)
        control.configure(tick_rate=0.0)  # quotes hold still: only set_price moves them
        control.set_price(SYMBOL, 200.0)
        oid = place_trailing_stop(settings, key_id, account_id)["id"]
        await sink.wait_for(lambda: last_order(sink, oid) is not None, SEEN_WITHIN)
        control.set_price(SYMBOL, 220.0)
        control.step()  # the sandbox follows the new high on its order step

        # read again within one account poll (and its margin), not pushed by any event
        def high() -> float:
            return (last_order(sink, oid)["trail"] or {}).get("high_water_mark") or 0

        # the new high is the mark: the mid of the quote set_price made (the market holds)
        mark = broker_at_sandbox.sandbox.market.mid(SYMBOL)
        await sink.wait_for(lambda: high() == mark, TRAIL_POLL + SEEN_WITHIN)
        assert last_order(sink, oid)["stop_price"] == 209  # 5 % under, to the cent
        assert order_status(last_order(sink, oid)["status"]) == "Live"


async def test_a_partly_filled_take_profit_shrinks_the_stop_loss_on_the_screen(
    broker_at_sandbox, settings, control, key_id
):
    """orders.md "Bracket Orders": when the take profit fills in part, the stop loss is
    reduced to what is left. No trade event announces the smaller stop loss; the fill
    refreshes the account, and with it the open orders, so the sink holds the quantity the
    broker holds."""
    sink = RecordingSink()
    adapter = make_adapter(settings, key_id, MemoryCheckpoint())
    async with running(adapter, sink):
        await sink.wait_for(lambda: sink.state("account") == "live")
        await stream_open(sink, control, key_id)
        _, account_id = margin_account(settings, key_id)
        control.configure(tick_rate=0.0)  # quotes hold still: only set_price moves them
        control.set_price(SYMBOL, 200.0)
        placed = place_bracket(settings, key_id, account_id, qty="300")
        parent, (tp, sl) = placed["id"], (leg["id"] for leg in placed["legs"])
        for _ in range(4):  # Received → Live → the entry fills
            control.step()
        await sink.wait_for(lambda: status_of(sink, parent) == "filled", SEEN_WITHIN)
        control.set_price(SYMBOL, 216.0)
        control.step()  # the take profit fills its first part only (300 shares in parts)

        def sold() -> float:
            leg = last_order(sink, tp)["legs"][0]
            return leg["quantity"] - leg["remaining_quantity"]

        def partly() -> bool:
            return last_order(sink, tp) is not None and 0 < sold() < 300

        await sink.wait_for(partly, SEEN_WITHIN)
        await sink.wait_for(
            lambda: last_order(sink, sl)["legs"][0]["quantity"] == 300 - sold(), SEEN_WITHIN
        )
        assert order_status(last_order(sink, sl)["status"]) == "Live"


def status_of(sink: RecordingSink, order_id: str) -> str | None:
    """The order's last status the sink holds (None before its first frame)."""
    frame = last_order(sink, order_id)
    return None if frame is None else frame["status"]


async def test_a_brackets_stop_moved_from_the_app_takes_its_place_in_the_group(
    broker_at_sandbox, settings, control, key_id
):
    """Replace… of a bracket's stop-loss (its stop price only: Alpaca's PATCH of an exit):
    the broker's new order reaches the sink in the group, as the stop-loss, held like the
    old one, which ends Replaced; a change of its quantity is refused in words, nothing
    sent; the moved stop is what fills when the price falls through it."""
    sink = RecordingSink()
    adapter = make_adapter(settings, key_id, MemoryCheckpoint())
    async with running(adapter, sink):
        await sink.wait_for(lambda: sink.state("account") == "live")
        await stream_open(sink, control, key_id)
        number, account_id = margin_account(settings, key_id)
        control.set_price(SYMBOL, 200.0)
        placed = place_bracket(settings, key_id, account_id)
        parent, sl = placed["id"], placed["legs"][1]["id"]
        await sink.wait_for(lambda: last_order(sink, sl) is not None, SEEN_WITHIN)
        stop = OrderRequest(
            account=number,
            legs=(OrderLeg.of(SYMBOL, "Sell to Close", Decimal(2)),),
            order_type="Stop",
            time_in_force="GTC",
            stop_price=Decimal("192"),
        )
        more = replace(stop, legs=(replace(stop.legs[0], quantity=Decimal(3)),))
        with pytest.raises(OrderRefused) as refused:
            await adapter.replace_order(sl, more)
        assert refused.value.code == "unsupported" and "by its price only" in str(refused.value)
        moved = await adapter.replace_order(sl, stop)
        assert moved.order_id != sl
        await sink.wait_for(
            lambda: (
                (f := last_order(sink, moved.order_id)) is not None
                and (f["group"], f["status"], f["stop_price"])
                == ({"id": parent, "class": "bracket", "role": "stop_loss"}, "held", 192)
            ),
            SEEN_WITHIN,
        )
        await sink.wait_for(lambda: last_order(sink, sl)["status"] == "replaced", SEEN_WITHIN)
        for _ in range(12):  # the entry fills
            control.step()
            if (last_order(sink, parent) or {}).get("status") == "filled":
                break
        control.set_price(SYMBOL, 188.0)  # through the moved stop (192), not the old (185)
        for _ in range(12):
            control.step()
            if (last_order(sink, moved.order_id) or {}).get("status") == "filled":
                break
        await sink.wait_for(
            lambda: (
                last_order(sink, moved.order_id)["status"] == "filled"
                and last_order(sink, placed["legs"][0]["id"])["status"] == "canceled"
            ),
            SEEN_WITHIN,
        )
