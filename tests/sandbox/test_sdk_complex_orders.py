"""tastytrade's complex orders (OCO, OTO, OTOCO) through the real, unmodified SDK.

How tastytrade documents them (developer.tastytrade.com order-management, "Complex Orders";
copy in tastytrade/tastytrade-mcp, tastytrade-llms-txt-docs/docs/order-management.md):
- an OTOCO's two orders "sit dormant in Contingent status waiting for the trigger order to
  be filled"; an OTO routes up to 3 orders when its trigger fills; in an OCO "when one order
  fills, the other order gets cancelled";
- the answer is `data.complex-order` {id, account-number, type, trigger-order, orders}, each
  component carrying `complex-order-id` and a `complex-order-tag` (`OTOCO::trigger-order`,
  `OTOCO::oco-1-order`, `OTO::trigger-order`, `OTO::order`, `OCO::order`);
- a complex order is cancelled with its own id ("not the trigger order id or any of the
  nested complex order ids"), every non-terminal component with it;
- an OCO pair is one Limit and one Stop or Stop Limit, else 422
  `invalid_oco_order_type_combo` (tastytrade/tastytrade-mcp PR #33).
The SDK (tastytrade 13.x): `OTOCOOrder`, `OCOOrder`, `OTOOrder`,
`Account.place_complex_order` (dry_run defaults to True), `get_complex_order`,
`get_live_complex_orders`, `get_complex_order_history`, `delete_complex_order`.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

import anyio
import pytest
from tastytrade import Account
from tastytrade.order import (
    InstrumentType,
    Leg,
    LimitOrder,
    OCOOrder,
    OrderAction,
    OrderStatus,
    OrderTimeInForce,
    OTOCOOrder,
    OTOOrder,
    PlacedOrder,
    StopOrder,
)
from tastytrade.utils import TastytradeError

from tests.support.sdk import alert_streamer, sdk_session

SYMBOL = "DIA"  # never held by the demo accounts
GTC = OrderTimeInForce.GTC


def _leg(action: OrderAction, quantity: int = 1, symbol: str = SYMBOL) -> list[Leg]:
    return [
        Leg(
            instrument_type=InstrumentType.EQUITY,
            symbol=symbol,
            action=action,
            quantity=Decimal(quantity),
        )
    ]


def entry(price: str, quantity: int = 1) -> LimitOrder:
    """A limit buy (the SDK signs a debit negative)."""
    return LimitOrder(
        time_in_force=GTC, legs=_leg(OrderAction.BUY_TO_OPEN, quantity), price=-Decimal(price)
    )


def take_profit(price: str, quantity: int = 1, symbol: str = SYMBOL) -> LimitOrder:
    return LimitOrder(
        time_in_force=GTC,
        legs=_leg(OrderAction.SELL_TO_CLOSE, quantity, symbol),
        price=Decimal(price),
    )


def stop_loss(trigger: str, quantity: int = 1, symbol: str = SYMBOL) -> StopOrder:
    return StopOrder(
        time_in_force=GTC,
        legs=_leg(OrderAction.SELL_TO_CLOSE, quantity, symbol),
        stop_trigger=Decimal(trigger),
    )


def bracket(entry_price: str = "401") -> OTOCOOrder:
    """Buy DIA (at 400) at a limit; then take profit at 420 or stop the loss at 380."""
    return OTOCOOrder(
        trigger_order=entry(entry_price), take_profit=take_profit("420"), stop_loss=stop_loss("380")
    )


def statuses(complex_order) -> list[OrderStatus]:
    members = [complex_order.trigger_order] if complex_order.trigger_order else []
    return [o.status for o in members + complex_order.orders]


async def stepped_until(control, account, session, complex_id, wanted, steps=12):
    """Step the brokerage until the complex order's statuses are `wanted`."""
    for _ in range(steps):
        found = await account.get_complex_order(session, complex_id)
        if statuses(found) == wanted:
            return found
        control.step()
    found = await account.get_complex_order(session, complex_id)
    assert statuses(found) == wanted
    return found


async def test_an_otoco_bracket_waits_fills_then_one_exit_cancels_the_other(
    sandbox, control, refresh_token
):
    """Placed: the entry Received, both exits Contingent (tagged as the docs show); the
    entry fills and the exits work; the price crosses the take profit: it fills and the stop
    loss is cancelled — at `GET complex-orders/{id}` and on the account streamer."""
    control.set_price(SYMBOL, 400.0)
    async with sdk_session(sandbox, refresh_token) as session:
        account = (await Account.get(session))[0]
        async with alert_streamer(session, sandbox) as streamer:
            await streamer.subscribe_accounts([account])
            response = await account.place_complex_order(session, bracket(), dry_run=False)
            placed = response.complex_order
            assert response.buying_power_effect.change_in_buying_power < 0  # the entry's cost
            trigger, (tp, sl) = placed.trigger_order, placed.orders
            assert placed.type == "OTOCO" and placed.account_number == account.account_number
            assert [trigger.status, tp.status, sl.status] == [
                "Received",
                "Contingent",
                "Contingent",
            ]
            assert (placed.take_profit.id, placed.stop_loss.id) == (tp.id, sl.id)
            assert {o.complex_order_id for o in (trigger, tp, sl)} == {placed.id}
            assert [o.complex_order_tag for o in (trigger, tp, sl)] == [
                "OTOCO::trigger-order",
                "OTOCO::oco-1-order",
                "OTOCO::oco-1-order",
            ]
            assert tp.contingent_status == "Pending Order" and trigger.contingent_status is None
            # each component is an order of its own
            assert (await account.get_order(session, sl.id)).stop_trigger == Decimal("380")

            await stepped_until(control, account, session, placed.id, ["Filled", "Live", "Live"])
            control.set_price(SYMBOL, 405.0)  # between the exits: both keep working
            control.step()
            assert statuses(await account.get_complex_order(session, placed.id)) == [
                "Filled",
                "Live",
                "Live",
            ]
            control.set_price(SYMBOL, 421.0)
            done = await stepped_until(
                control, account, session, placed.id, ["Filled", "Filled", "Cancelled"]
            )
            assert done.orders[0].legs[0].fills[0].fill_price >= Decimal("420")
            assert not done.orders[1].legs[0].fills
            assert done.terminal_at is not None

            pushed: dict[int, list[str]] = defaultdict(list)
            with anyio.fail_after(5):
                async for order in streamer.listen(PlacedOrder):
                    assert order.complex_order_id == placed.id
                    pushed[order.id].append(order.status)
                    if pushed[tp.id][-1:] == ["Filled"] and pushed[sl.id][-1:] == ["Cancelled"]:
                        break
            assert pushed[trigger.id][0] == "Received" and pushed[trigger.id][-1] == "Filled"
            for exit_id in (tp.id, sl.id):
                assert pushed[exit_id][:2] == ["Contingent", "Received"]
                assert "Live" in pushed[exit_id]

        live = await account.get_live_complex_orders(session)
        assert [c.id for c in live] == [placed.id]
        history = await account.get_complex_order_history(session, page_offset=None)
        assert [c.id for c in history] == [placed.id]


async def test_the_stop_loss_side_fills_and_cancels_the_take_profit(
    sandbox, control, refresh_token
):
    control.set_price(SYMBOL, 400.0)
    async with sdk_session(sandbox, refresh_token) as session:
        account = (await Account.get(session))[0]
        placed = (
            await account.place_complex_order(session, bracket(), dry_run=False)
        ).complex_order
        await stepped_until(control, account, session, placed.id, ["Filled", "Live", "Live"])
        control.set_price(SYMBOL, 379.0)
        await stepped_until(control, account, session, placed.id, ["Filled", "Cancelled", "Filled"])


async def test_an_oco_protects_a_held_position(sandbox, control, refresh_token):
    """Two closing orders on shares the account holds: no trigger, both work at once; the
    stop triggers and fills, and the take profit is cancelled."""
    async with sdk_session(sandbox, refresh_token) as session:
        account = (await Account.get(session))[0]
        held = next(
            p
            for p in await account.get_positions(session)
            if p.instrument_type == InstrumentType.EQUITY and p.quantity > 0
        )
        symbol, quantity = held.symbol, int(held.quantity)
        control.set_price(symbol, 100.0)
        oco = OCOOrder(
            take_profit=take_profit("110", quantity, symbol),
            stop_loss=stop_loss("90", quantity, symbol),
        )
        placed = (await account.place_complex_order(session, oco, dry_run=False)).complex_order
        assert placed.type == "OCO" and placed.trigger_order is None
        assert [o.complex_order_tag for o in placed.orders] == ["OCO::order", "OCO::order"]
        assert "Contingent" not in statuses(placed)
        await stepped_until(control, account, session, placed.id, ["Live", "Live"])
        control.set_price(symbol, 89.0)
        done = await stepped_until(control, account, session, placed.id, ["Cancelled", "Filled"])
        assert done.orders[1].legs[0].fills[0].quantity == quantity
        positions = await account.get_positions(session)
        assert all(p.symbol != symbol for p in positions), "the position is closed"


async def test_an_oto_routes_its_orders_once_the_trigger_fills(sandbox, control, refresh_token):
    control.set_price(SYMBOL, 400.0)
    async with sdk_session(sandbox, refresh_token) as session:
        account = (await Account.get(session))[0]
        oto = OTOOrder(
            trigger_order=entry("401", 2),
            orders=[take_profit("430"), take_profit("440")],  # they do not cancel each other
        )
        placed = (await account.place_complex_order(session, oto, dry_run=False)).complex_order
        assert placed.type == "OTO"
        assert placed.trigger_order.complex_order_tag == "OTO::trigger-order"
        assert [o.complex_order_tag for o in placed.orders] == ["OTO::order"] * 2
        assert statuses(placed) == ["Received", "Contingent", "Contingent"]
        await stepped_until(control, account, session, placed.id, ["Filled", "Live", "Live"])
        control.set_price(SYMBOL, 435.0)  # over the first only: the other keeps working
        await stepped_until(control, account, session, placed.id, ["Filled", "Filled", "Live"])


async def test_a_dry_run_prices_the_order_and_places_nothing(sandbox, refresh_token):
    async with sdk_session(sandbox, refresh_token) as session:
        account = (await Account.get(session))[0]
        response = await account.place_complex_order(session, bracket())  # dry_run=True
        dry = response.complex_order
        assert dry.type == "OTOCO" and dry.trigger_order.status == "Received"
        assert [o.status for o in dry.orders] == ["Contingent", "Contingent"]
        assert dry.orders[1].complex_order_tag == "OTOCO::oco-1-order"
        assert response.fee_calculation is not None
        assert await account.get_live_complex_orders(session) == []
        assert await account.get_live_orders(session) == []


async def test_deleting_the_complex_order_cancels_every_working_component(
    sandbox, control, refresh_token
):
    """Not a component on its own (`DELETE /orders/{id}` is refused in words), but the
    complex order by its id: every component not terminal is cancelled and pushed."""
    control.set_price(SYMBOL, 400.0)
    async with sdk_session(sandbox, refresh_token) as session:
        account = (await Account.get(session))[0]
        placed = (
            await account.place_complex_order(session, bracket("300"), dry_run=False)
        ).complex_order  # the entry waits far under the market
        control.step()
        with pytest.raises(TastytradeError, match="order_linked") as refused:
            await account.delete_order(session, placed.orders[0].id)
        assert f"OTOCO order {placed.id}" in str(refused.value)
        with pytest.raises(TastytradeError, match="order_linked"):
            await account.replace_order(session, placed.trigger_order.id, entry("301"))

        async with alert_streamer(session, sandbox) as streamer:
            await streamer.subscribe_accounts([account])
            await account.delete_complex_order(session, placed.id)
            cancelled = set()
            with anyio.fail_after(5):
                async for order in streamer.listen(PlacedOrder):
                    if order.status == OrderStatus.CANCELLED:
                        cancelled.add(order.id)
                    if len(cancelled) == 3:
                        break
        members = [placed.trigger_order.id, *(o.id for o in placed.orders)]
        assert cancelled == set(members)
        gone = await account.get_complex_order(session, placed.id)
        assert statuses(gone) == ["Cancelled"] * 3
        assert gone.terminal_at is not None
        with pytest.raises(TastytradeError, match="order_not_cancellable"):
            await account.delete_complex_order(session, placed.id)
        assert await account.get_live_orders(session) != []  # cancelled today: still listed


def _body(kind: str, orders: list, trigger: dict | None = None) -> dict:
    body: dict = {"type": kind, "orders": orders}
    if trigger is not None:
        body["trigger-order"] = trigger
    return body


def _wire(order) -> dict:
    return order.model_dump(mode="json", exclude_none=True, by_alias=True)


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (_body("PAIRS", [_wire(take_profit("420"))] * 2), 422, "complex_order_not_supported"),
        (
            _body("OCO", [_wire(take_profit("420")), _wire(take_profit("430"))]),
            422,
            "invalid_oco_order_type_combo",
        ),
        (
            _body("OTOCO", [_wire(stop_loss("380")), _wire(stop_loss("370"))], _wire(entry("1"))),
            422,
            "invalid_oco_order_type_combo",
        ),
        (_body("OTOCO", [_wire(take_profit("420")), _wire(stop_loss("380"))]), 422, "needs a"),
        (_body("OCO", "not a list"), 422, "invalid_complex_order"),
        (_body("OTO", [{"order-type": "Limit"}], _wire(entry("1"))), 422, "invalid_legs"),
        (_body("BRACKET", []), 400, "invalid_complex_order"),
    ],
)
async def test_a_complex_order_it_cannot_take_is_refused_in_tastytrades_shape(
    sandbox, refresh_token, body, status, code
):
    """Refused in tastytrade's error shape, dry run or not, and nothing is placed."""
    async with sdk_session(sandbox, refresh_token) as session:
        account = (await Account.get(session))[0]
        for path in ("complex-orders", "complex-orders/dry-run"):
            response = await session._client.post(
                f"/accounts/{account.account_number}/{path}", json=body
            )
            assert response.status_code == status
            assert code in response.text
            assert set(response.json()) == {"error"}
        assert await account.get_live_orders(session) == []
        assert await account.get_live_complex_orders(session) == []


async def test_a_body_that_is_not_json_is_400(sandbox, refresh_token):
    async with sdk_session(sandbox, refresh_token) as session:
        account = (await Account.get(session))[0]
        with pytest.raises(TastytradeError, match="invalid_json"):
            await session._post(f"/accounts/{account.account_number}/complex-orders", data="{")


async def test_unknown_complex_order_is_not_found(sandbox, refresh_token):
    async with sdk_session(sandbox, refresh_token) as session:
        account = (await Account.get(session))[0]
        with pytest.raises(TastytradeError, match="record_not_found"):
            await account.get_complex_order(session, 123456)
        with pytest.raises(TastytradeError, match="record_not_found"):
            await account.delete_complex_order(session, 123456)


async def test_someone_elses_account_is_not_found(sandbox, refresh_token):
    async with sdk_session(sandbox, refresh_token) as session:
        mine = (await Account.get(session))[0]
        placed = (
            await mine.place_complex_order(session, bracket("300"), dry_run=False)
        ).complex_order
    async with sdk_session(sandbox, refresh_token + "-other") as other:
        with pytest.raises(TastytradeError, match="record_not_found"):
            await mine.place_complex_order(other, bracket(), dry_run=True)
        with pytest.raises(TastytradeError, match="record_not_found"):
            await mine.get_live_complex_orders(other)
        with pytest.raises(TastytradeError, match="record_not_found"):
            await mine.delete_complex_order(other, placed.id)
        theirs = (await Account.get(other))[0]
        with pytest.raises(TastytradeError, match="record_not_found"):
            await theirs.get_complex_order(other, placed.id)
