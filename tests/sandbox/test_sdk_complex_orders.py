"""Complex orders (OCO, OTO, OTOCO) through the real SDK: the sandbox refuses to place them,
in tastytrade's error shape, because it simulates no stop triggers and no fill-triggered
orders; the read endpoints answer as for an account that has none."""

from __future__ import annotations

from decimal import Decimal

import pytest
from tastytrade import Account
from tastytrade.order import (
    InstrumentType,
    Leg,
    LimitOrder,
    OCOOrder,
    OrderAction,
    OrderTimeInForce,
    OTOCOOrder,
    OTOOrder,
    StopOrder,
)
from tastytrade.utils import TastytradeError

from tests.support.sdk import sdk_session


def _leg(action: OrderAction) -> Leg:
    return Leg(
        instrument_type=InstrumentType.EQUITY, symbol="AAPL", action=action, quantity=Decimal(1)
    )


def _orders() -> dict[str, object]:
    buy = LimitOrder(
        time_in_force=OrderTimeInForce.GTC,
        legs=[_leg(OrderAction.BUY_TO_OPEN)],
        price=Decimal("-100"),
    )
    take_profit = LimitOrder(
        time_in_force=OrderTimeInForce.GTC,
        legs=[_leg(OrderAction.SELL_TO_CLOSE)],
        price=Decimal("500"),
    )
    stop_loss = StopOrder(
        time_in_force=OrderTimeInForce.GTC,
        legs=[_leg(OrderAction.SELL_TO_CLOSE)],
        stop_trigger=Decimal("50"),
    )
    return {
        "OCO": OCOOrder(take_profit=take_profit, stop_loss=stop_loss),
        "OTO": OTOOrder(trigger_order=buy, orders=[take_profit]),
        "OTOCO": OTOCOOrder(trigger_order=buy, take_profit=take_profit, stop_loss=stop_loss),
    }


@pytest.mark.parametrize("kind", ["OCO", "OTO", "OTOCO"])
async def test_complex_orders_are_refused_in_tastytrades_shape(sandbox, refresh_token, kind):
    """Dry run or not, the refusal is a 422 preflight failure naming why, and nothing is
    placed: no live order appears."""
    order = _orders()[kind]
    async with sdk_session(sandbox, refresh_token) as session:
        account = (await Account.get(session))[0]
        for dry_run in (True, False):
            with pytest.raises(TastytradeError, match="complex_order_not_supported"):
                await account.place_complex_order(session, order, dry_run=dry_run)
        response = await session._client.post(
            f"/accounts/{account.account_number}/complex-orders",
            content=order.model_dump_json(exclude_none=True, by_alias=True),
        )
        assert response.status_code == 422
        error = response.json()["error"]
        assert error["code"] == "preflight_check_failure"
        assert kind in error["errors"][0]["message"]
        assert await account.get_live_orders(session) == []
        assert await account.get_live_complex_orders(session) == []
        assert await account.get_complex_order_history(session, page_offset=None) == []


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
    async with sdk_session(sandbox, refresh_token + "-other") as other:
        with pytest.raises(TastytradeError, match="record_not_found"):
            await mine.place_complex_order(other, _orders()["OCO"], dry_run=True)
        with pytest.raises(TastytradeError, match="record_not_found"):
            await mine.get_live_complex_orders(other)
