"""The app's TastytradeAdapter shows a tastytrade complex order (an OTOCO bracket) placed at
the in-process sandbox as its members, each an order of its own linked by its `group`.

tastytrade pushes a complex order's components as `Order` messages on the account
streamer, each with `complex-order-id` and `complex-order-tag` (`OTOCO::trigger-order`,
`OTOCO::oco-1-order`); the OTOCO's two orders wait `Contingent` until the trigger fills,
then one fills and the other is cancelled (developer.tastytrade.com order-management and
streaming-account-data; copies in tastytrade/tastytrade-mcp,
tastytrade-llms-txt-docs/docs/order-management.md and streaming-account-data.md). The
adapter maps each by its tag (streaming/brokers/tastytrade/wire.py `order_payload`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal

import pytest
from tastytrade import Account
from tastytrade.order import (
    InstrumentType,
    Leg,
    LimitOrder,
    OrderAction,
    OrderTimeInForce,
    OTOCOOrder,
    StopOrder,
)

from streaming.brokers.tastytrade.adapter import StreamConfig, TastytradeAdapter
from streaming.trading.owner import cancel_every
from tests.support.brokers import TASTYTRADE_FAST
from tests.support.order_entry import margin_account
from tests.support.recording import RecordingSink, running
from tests.support.sdk import SECRET, sdk_session

SYMBOL = "DIA"  # never held by the demo accounts


def _legs(action: OrderAction) -> list[Leg]:
    return [
        Leg(
            instrument_type=InstrumentType.EQUITY, symbol=SYMBOL, action=action, quantity=Decimal(1)
        )
    ]


def bracket() -> OTOCOOrder:
    """Buy DIA (at 400) at 401; then take profit at 420 or stop the loss at 380."""
    gtc = OrderTimeInForce.GTC
    return OTOCOOrder(
        trigger_order=LimitOrder(
            time_in_force=gtc, legs=_legs(OrderAction.BUY_TO_OPEN), price=Decimal("-401")
        ),
        take_profit=LimitOrder(
            time_in_force=gtc, legs=_legs(OrderAction.SELL_TO_CLOSE), price=Decimal("420")
        ),
        stop_loss=StopOrder(
            time_in_force=gtc, legs=_legs(OrderAction.SELL_TO_CLOSE), stop_trigger=Decimal("380")
        ),
    )


@pytest.fixture
async def streaming(
    broker_at_sandbox, refresh_token
) -> AsyncIterator[tuple[RecordingSink, str, TastytradeAdapter]]:
    """The adapter streaming the account into a RecordingSink, its margin account, and the
    adapter."""
    adapter = TastytradeAdapter(
        link_id=1,
        provider_secret=SECRET,
        refresh_token=refresh_token,
        config=StreamConfig(**TASTYTRADE_FAST),
    )
    sink = RecordingSink()
    async with running(adapter, sink):
        await sink.wait_for(lambda: sink.state("account") == "live")
        yield sink, margin_account(sink), adapter


def history(sink: RecordingSink, order_id: int) -> list[dict]:
    """Every payload the adapter reported for one order, in order."""
    return [p for k, _, _, p in sink.events if k == "order" and p["id"] == order_id]


def statuses(sink: RecordingSink, order_id: int) -> list[str]:
    """The order's statuses as reported, repeats folded."""
    seen: list[str] = []
    for payload in history(sink, order_id):
        if not seen or seen[-1] != payload["status"]:
            seen.append(payload["status"])
    return seen


def last(sink: RecordingSink, order_id: int) -> str | None:
    found = history(sink, order_id)
    return found[-1]["status"] if found else None


async def stepped_until(sink: RecordingSink, control, condition, steps: int = 12) -> None:
    """Step the brokerage until the sink shows `condition` (each step's pushes awaited)."""
    for _ in range(steps):
        try:
            await sink.wait_for(condition, 1.0)
            return
        except AssertionError:
            control.step()
    await sink.wait_for(condition, 2.0)


async def test_an_otoco_reaches_the_sink_as_its_linked_members(
    streaming, sandbox, control, refresh_token
):
    """Placed: the trigger and both exits, each with the group {id, "otoco", role}, the exits
    Contingent; the entry fills and the exits go Live; the take profit fills and the stop
    loss is cancelled."""
    sink, number, _ = streaming
    control.set_price(SYMBOL, 400.0)
    async with sdk_session(sandbox, refresh_token) as session:
        account = next(a for a in await Account.get(session) if a.account_number == number)
        placed = (
            await account.place_complex_order(session, bracket(), dry_run=False)
        ).complex_order
    trigger, (tp, sl) = placed.trigger_order.id, [o.id for o in placed.orders]
    roles = {trigger: "trigger", tp: "take_profit", sl: "stop_loss"}
    await sink.wait_for(lambda: all(history(sink, i) for i in roles))
    for order_id, role in roles.items():
        first = history(sink, order_id)[0]
        assert first["group"] == {"id": str(placed.id), "class": "otoco", "role": role}
        assert first["order_class"] == "otoco"
        assert first["unsupported"] is None
    assert history(sink, tp)[0]["price"] == 420.0
    assert history(sink, sl)[0]["stop_price"] == 380.0
    assert [statuses(sink, i)[0] for i in (trigger, tp, sl)] == [
        "Received",
        "Contingent",
        "Contingent",
    ]

    await stepped_until(
        sink,
        control,
        lambda: [last(sink, i) for i in (trigger, tp, sl)] == ["Filled", "Live", "Live"],
    )
    control.set_price(SYMBOL, 421.0)
    await stepped_until(
        sink, control, lambda: last(sink, tp) == "Filled" and last(sink, sl) == "Cancelled"
    )
    assert statuses(sink, trigger) == ["Received", "Live", "Filled"]
    assert statuses(sink, tp) == ["Contingent", "Received", "Live", "Filled"]
    assert statuses(sink, sl) == ["Contingent", "Received", "Live", "Cancelled"]
    for order_id, role in roles.items():  # every update keeps the member in its group
        assert {p["group"]["role"] for p in history(sink, order_id)} == {role}


async def test_cancel_all_cancels_the_complex_order_once_and_names_each_member(
    streaming, sandbox, control, refresh_token
):
    """tastytrade cancels a complex order by its complex id only ("cancellation for all
    non terminal components", order-management): cancel-all (and the kill switch) cancels
    it once and reports every member, the contingent exits included."""
    sink, number, adapter = streaming
    control.set_price(SYMBOL, 400.0)
    waiting = bracket().model_copy(
        update={
            "trigger_order": bracket().trigger_order.model_copy(update={"price": Decimal("-300")})
        }
    )  # the entry waits under the market
    async with sdk_session(sandbox, refresh_token) as session:
        account = next(a for a in await Account.get(session) if a.account_number == number)
        placed = (await account.place_complex_order(session, waiting, dry_run=False)).complex_order
    ids = [str(placed.trigger_order.id), *(str(o.id) for o in placed.orders)]
    assert sorted(await adapter.working_orders(number)) == sorted(ids)
    result = await cancel_every(adapter, [number])
    assert (sorted(result["cancelled"]), result["failed"], result["error"]) == (
        sorted(ids),
        [],
        None,
    )
    assert len(result["cancelled"]) == 3
    await sink.wait_for(lambda: [last(sink, int(i)) for i in ids] == ["Cancelled"] * 3)
