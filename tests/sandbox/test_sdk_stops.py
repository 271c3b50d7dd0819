"""The real tastytrade SDK's stop orders at the sandbox, over real sockets.

tastytrade documents a Stop as "a market order armed at `stop-trigger`" (no price) and a
Stop Limit as a limit order (`price` + `price-effect`) armed at `stop-trigger`; there is no
"triggered" status: the order stays Live until it fills (developer.tastytrade.com,
order-submission and order-flow; copies in tastytrade/tastytrade-mcp,
tastytrade-llms-txt-docs/docs/order-submission.md and order-flow.md). The SDK's classes
are `StopOrder` and `StopLimitOrder` (tastytrade 13.x, tastytrade/order.py).
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from tastytrade import Account
from tastytrade.order import (
    InstrumentType,
    Leg,
    OrderAction,
    OrderStatus,
    OrderTimeInForce,
    OrderType,
    StopLimitOrder,
    StopOrder,
)
from tastytrade.utils import TastytradeError

from sandbox.core.config import SandboxConfig
from tests.support.sdk import sdk_session

SYMBOL = "DIA"


@pytest.fixture
def sandbox_config() -> SandboxConfig:
    """The market stands still and orders move on `control.step()` only: a price the test set is
    the price the order meets (at the default 20 ticks/s, a buy stop set off at 411 once filled
    at 410.99, the walk's next tick, in the project's CI)."""
    return SandboxConfig(tick_rate=0.0, order_step_interval=0)


def buy(quantity: int = 1) -> list[Leg]:
    return [
        Leg(
            instrument_type=InstrumentType.EQUITY,
            symbol=SYMBOL,
            action=OrderAction.BUY_TO_OPEN,
            quantity=Decimal(quantity),
        )
    ]


def steps(control, n: int = 3) -> None:
    for _ in range(n):
        control.step()


async def test_a_buy_stop_waits_for_its_trigger_then_fills_at_the_market(
    sandbox, control, refresh_token
):
    control.set_price(SYMBOL, 400.0)
    async with sdk_session(sandbox, refresh_token) as session:
        account = (await Account.get(session))[0]
        order = StopOrder(
            time_in_force=OrderTimeInForce.DAY, legs=buy(), stop_trigger=Decimal("410")
        )
        placed = (await account.place_order(session, order, dry_run=False)).order
        assert placed.order_type == OrderType.STOP and placed.stop_trigger == Decimal("410")
        assert placed.price is None
        steps(control)
        armed = await account.get_order(session, placed.id)
        assert armed.status == OrderStatus.LIVE, "under its trigger, a buy stop waits"
        assert not armed.legs[0].fills and armed.stop_trigger == Decimal("410")

        control.set_price(SYMBOL, 411.0)
        steps(control, 1)
        filled = await account.get_order(session, placed.id)
        assert filled.status == OrderStatus.FILLED
        (fill,) = filled.legs[0].fills
        assert fill.quantity == 1 and fill.fill_price >= Decimal("411")


async def test_a_stop_limit_triggers_once_then_works_as_its_limit(sandbox, control, refresh_token):
    control.set_price(SYMBOL, 400.0)
    async with sdk_session(sandbox, refresh_token) as session:
        account = (await Account.get(session))[0]
        order = StopLimitOrder(
            time_in_force=OrderTimeInForce.GTC,
            legs=buy(),
            stop_trigger=Decimal("410"),
            price=Decimal("-410.50"),  # the SDK's sign: negative pays (a debit)
        )
        placed = (await account.place_order(session, order, dry_run=False)).order
        assert placed.order_type == OrderType.STOP_LIMIT
        assert (placed.stop_trigger, placed.price) == (Decimal("410"), Decimal("-410.5"))
        steps(control)  # the limit is marketable at 400, but the trigger is not reached
        assert (await account.get_order(session, placed.id)).status == OrderStatus.LIVE

        control.set_price(SYMBOL, 415.0)  # triggered, but the ask is above the limit
        steps(control)
        assert (await account.get_order(session, placed.id)).status == OrderStatus.LIVE

        control.set_price(SYMBOL, 405.0)  # under the trigger again: triggered stays triggered
        steps(control, 1)
        filled = await account.get_order(session, placed.id)
        assert filled.status == OrderStatus.FILLED
        assert filled.legs[0].fills[0].fill_price <= Decimal("410.50")


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"order-type": "Stop"}, "stop_trigger_required"),
        ({"order-type": "Stop", "stop-trigger": "-1"}, "invalid_stop_trigger"),
        (
            {"order-type": "Limit", "price": "1.00", "price-effect": "Debit", "stop-trigger": "5"},
            "invalid_stop_trigger",
        ),
    ],
)
async def test_a_stop_without_a_good_trigger_is_refused_in_words(
    sandbox, refresh_token, body, code
):
    async with sdk_session(sandbox, refresh_token) as session:
        account = (await Account.get(session))[0]
        json = {
            "time-in-force": "Day",
            "legs": [
                {
                    "instrument-type": "Equity",
                    "symbol": SYMBOL,
                    "action": "Buy to Open",
                    "quantity": 1,
                }
            ],
            **body,
        }
        with pytest.raises(TastytradeError, match=code):
            await session._post(f"/accounts/{account.account_number}/orders", json=json)
