"""The real SDK's AlertStreamer against the sandbox's account streamer."""

from __future__ import annotations

from decimal import Decimal

import anyio
import pytest
from tastytrade import Account
from tastytrade.account import AccountBalance, CurrentPosition
from tastytrade.order import (
    InstrumentType,
    Leg,
    LimitOrder,
    MarketOrder,
    OrderAction,
    OrderStatus,
    OrderTimeInForce,
    PlacedOrder,
)
from tastytrade.utils import TastytradeError

from tests.support.sdk import alert_streamer, cred, leaves, sdk_session


def market_buy(symbol: str, quantity: int) -> MarketOrder:
    return MarketOrder(
        time_in_force=OrderTimeInForce.DAY,
        legs=[
            Leg(
                instrument_type=InstrumentType.EQUITY,
                symbol=symbol,
                action=OrderAction.BUY_TO_OPEN,
                quantity=Decimal(quantity),
            )
        ],
    )


async def test_balances_positions_and_orders_are_pushed(sandbox, control, refresh_token):
    """After subscribe_accounts: balance pushes, and an order's life (Received → Filled)
    with the position and balance it changes, in that order."""
    async with sdk_session(sandbox, refresh_token) as session:
        accounts = await Account.get(session)
        async with alert_streamer(session, sandbox) as streamer:
            await streamer.subscribe_accounts(accounts)
            assert control.push_balances()["pushed"] == 2
            with anyio.fail_after(5):
                balances = {}
                async for balance in streamer.listen(AccountBalance):
                    balances[balance.account_number] = balance
                    if len(balances) == 2:
                        break
            assert set(balances) == {a.account_number for a in accounts}

            account = accounts[0]
            placed = await account.place_order(session, market_buy("DIA", 7), dry_run=False)
            statuses = []
            with anyio.fail_after(10):
                async for order in streamer.listen(PlacedOrder):
                    assert order.id == placed.order.id
                    statuses.append(order.status)
                    if order.status == OrderStatus.FILLED:
                        break
                    control.step()
            assert statuses[0] == OrderStatus.RECEIVED
            assert statuses[-1] == OrderStatus.FILLED
            with anyio.fail_after(5):
                # one push per (partial) fill: the last one holds the whole quantity
                quantities = []
                async for position in streamer.listen(CurrentPosition):
                    assert position.symbol == "DIA"  # never held by the demo accounts
                    quantities.append(position.quantity)
                    if position.quantity >= 7:
                        break
                # periodic pushes (every 5 s, both accounts) may come first under load
                async for balance in streamer.listen(AccountBalance):
                    if balance.account_number == account.account_number:
                        break
            assert quantities == sorted(quantities) and quantities[-1] == 7
    state = control.state()["credentials"][cred(refresh_token)]
    assert state["streamer"] == []  # closed cleanly


async def test_subscription_is_tracked_in_state(sandbox, control, refresh_token):
    """The control API reports the streamer session and its accounts per credential."""
    async with sdk_session(sandbox, refresh_token) as session:
        accounts = await Account.get(session)
        async with alert_streamer(session, sandbox) as streamer:
            await streamer.subscribe_accounts(accounts)
            await streamer.subscribe_quote_alerts()
            sessions = control.state()["credentials"][cred(refresh_token)]["streamer"]
    assert len(sessions) == 1
    assert sessions[0]["accounts"] == sorted(a.account_number for a in accounts)
    assert sessions[0]["messages_received"] == 2


async def test_foreign_account_subscription_is_an_error(sandbox, refresh_token):
    """Subscribing to another customer's account kills the stream with the server's error."""
    async with (
        sdk_session(sandbox, refresh_token) as alice,
        sdk_session(sandbox, refresh_token + "-bob") as bob,
    ):
        alice_accounts = await Account.get(alice)
        await Account.get(bob)
        with pytest.raises(BaseException) as info:
            async with alert_streamer(bob, sandbox) as streamer:
                await streamer.subscribe_accounts(alice_accounts)
                await anyio.sleep(5)
    errors = [e for e in leaves(info.value) if isinstance(e, TastytradeError)]
    assert errors and "account-not-authorized" in str(errors[0])


async def test_expired_token_on_subscribe_is_an_error(sandbox, control, refresh_token):
    """An access token the server expired early makes the subscribe ack an error."""
    async with sdk_session(sandbox, refresh_token) as session:
        accounts = await Account.get(session)
        control.fault("expire_tokens", credential=cred(refresh_token))
        with pytest.raises(BaseException) as info:
            async with alert_streamer(session, sandbox) as streamer:
                await streamer.subscribe_accounts(accounts)
                await anyio.sleep(5)
    assert any("Alert streamer error" in str(e) for e in leaves(info.value))


async def test_an_ioc_that_cannot_fill_is_cancelled_on_the_stream(sandbox, control, refresh_token):
    """An IOC limit buy far under the ask: Received, Live, then Cancelled at its first fill
    attempt (nothing filled), pushed as Order events like any other cancel."""
    async with sdk_session(sandbox, refresh_token) as session:
        accounts = await Account.get(session)
        async with alert_streamer(session, sandbox) as streamer:
            await streamer.subscribe_accounts(accounts)
            order = LimitOrder(
                time_in_force=OrderTimeInForce.IOC,
                legs=[
                    Leg(
                        instrument_type=InstrumentType.EQUITY,
                        symbol="DIA",
                        action=OrderAction.BUY_TO_OPEN,
                        quantity=Decimal(4),
                    )
                ],
                price=Decimal("-1.00"),
            )
            placed = await accounts[0].place_order(session, order, dry_run=False)
            statuses = []
            with anyio.fail_after(10):
                async for pushed in streamer.listen(PlacedOrder):
                    assert pushed.id == placed.order.id
                    statuses.append(pushed.status)
                    if pushed.status not in (OrderStatus.RECEIVED, OrderStatus.LIVE):
                        break
                    control.step()
            assert statuses == [OrderStatus.RECEIVED, OrderStatus.LIVE, OrderStatus.CANCELLED]
            assert pushed.legs[0].remaining_quantity == 4 and not pushed.legs[0].fills
            for _ in range(3):  # a later step does not work it again
                control.step()
            final = await accounts[0].get_order(session, placed.order.id)
            assert final.status == OrderStatus.CANCELLED and not final.legs[0].fills
