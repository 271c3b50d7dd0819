"""The real tastytrade SDK reading account history from the sandbox over real sockets:
transactions (filters, paging, one by id, fees of a day), net-liq history, the margin
report, order history, replacing and cancelling orders.

Prices stand still (`tick_rate=0`) and orders step only when the test says so, so every
number can be checked against the balance and the fills it came from.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from tastytrade import Account
from tastytrade.order import (
    InstrumentType,
    Leg,
    LimitOrder,
    MarketOrder,
    OrderAction,
    OrderStatus,
    OrderTimeInForce,
)
from tastytrade.utils import TastytradeError

from sandbox.core.config import SandboxConfig
from tests.support.sdk import sdk_session


@pytest.fixture
def sandbox_config() -> SandboxConfig:
    return SandboxConfig(tick_rate=0.0, order_step_interval=0)


def equity_leg(symbol: str, quantity: int, action=OrderAction.BUY_TO_OPEN) -> Leg:
    return Leg(
        instrument_type=InstrumentType.EQUITY,
        symbol=symbol,
        action=action,
        quantity=Decimal(quantity),
    )


async def fill_all(session, account: Account, control, order_ids: list[int]) -> None:
    """Step the sandbox until every one of the orders is Filled (a few steps at most)."""
    for _ in range(6):
        control.step()
        statuses = {(await account.get_order(session, i)).status for i in order_ids}
        if statuses == {OrderStatus.FILLED}:
            return
    raise AssertionError(f"orders not filled: {statuses}")


async def test_transactions_filter_page_and_add_up(sandbox, control, refresh_token):
    """Each fill is one Trade transaction (value = fill price x quantity, commission on
    options only), next to the opening deposit; the SDK's paging, filters and
    get_transaction / get_total_fees agree with the fills."""
    async with sdk_session(sandbox, refresh_token) as session:
        account = (await Account.get(session))[0]
        option = next(
            p
            for p in await account.get_positions(session)
            if p.instrument_type == InstrumentType.EQUITY_OPTION and p.quantity_direction == "Long"
        )
        orders = [
            MarketOrder(time_in_force=OrderTimeInForce.DAY, legs=[equity_leg("AAPL", 1)]),
            MarketOrder(time_in_force=OrderTimeInForce.DAY, legs=[equity_leg("MSFT", 2)]),
            MarketOrder(time_in_force=OrderTimeInForce.DAY, legs=[equity_leg("AAPL", 3)]),
            MarketOrder(
                time_in_force=OrderTimeInForce.DAY,
                legs=[
                    Leg(
                        instrument_type=InstrumentType.EQUITY_OPTION,
                        symbol=option.symbol,
                        action=OrderAction.SELL_TO_CLOSE,
                        quantity=Decimal(1),
                    )
                ],
            ),
        ]
        ids = [(await account.place_order(session, o, dry_run=False)).order.id for o in orders]
        await fill_all(session, account, control, ids)

        everything = await account.get_history(session, per_page=2, page_offset=None)
        assert len(everything) == 5  # the deposit and four trades, over three pages
        assert [t.executed_at for t in everything] == sorted(
            (t.executed_at for t in everything), reverse=True
        )
        first_page = await account.get_history(session, per_page=2, page_offset=0)
        assert [t.id for t in first_page] == [t.id for t in everything[:2]]

        deposits = await account.get_history(session, types=["Money Movement"], page_offset=None)
        assert [(d.transaction_sub_type, d.value > 0) for d in deposits] == [("Deposit", True)]

        aapl = await account.get_history(session, symbol="AAPL", sort="Asc")
        assert [t.quantity for t in aapl] == [1, 3]
        for t in aapl:
            order = await account.get_order(session, t.order_id)
            fill = order.legs[0].fills[0]
            assert t.price == fill.fill_price
            assert t.value == -(fill.fill_price * fill.quantity)  # a buy is a debit
            assert t.net_value == t.value and t.commission == 0
            assert t.action == OrderAction.BUY_TO_OPEN and t.transaction_type == "Trade"

        sold = (await account.get_history(session, underlying_symbol=option.underlying_symbol))[0]
        assert sold.value > 0 and sold.commission == Decimal("-1.00")
        assert sold.net_value == sold.value - 1

        today = dt.datetime.now(dt.UTC).date()
        assert len(await account.get_history(session, start_date=today)) == 4
        one = await account.get_transaction(session, sold.id)
        assert one == sold
        fees = await account.get_total_fees(session, today)
        assert fees.total_fees == Decimal("-1.00")
        with pytest.raises(TastytradeError, match="record_not_found"):
            await account.get_transaction(session, 1)


async def test_net_liq_history_ends_at_the_current_net_liq(sandbox, refresh_token):
    """A fresh account has a year of seeded history; the last point is the balance's
    net-liq; `time_back` and `start_time` bound the points."""
    async with sdk_session(sandbox, refresh_token) as session:
        account = (await Account.get(session))[0]
        year = await account.get_net_liquidating_value_history(session, time_back="1y")
        balance = await account.get_balances(session)
        assert len(year) > 250
        assert year[-1].close == year[-1].total_close == balance.net_liquidating_value
        times = [dt.datetime.fromisoformat(p.time) for p in year]
        assert times == sorted(times)
        now = dt.datetime.now(dt.UTC)
        assert now - times[0] <= dt.timedelta(days=367)
        assert all(p.low <= min(p.open, p.close) and p.high >= max(p.open, p.close) for p in year)

        start = now - dt.timedelta(days=10)
        recent = await account.get_net_liquidating_value_history(session, start_time=start)
        assert 8 <= len(recent) <= 12
        assert dt.datetime.fromisoformat(recent[0].time) >= start.replace(microsecond=0)
        everything = await account.get_net_liquidating_value_history(session, time_back="all")
        assert len(everything) > len(year)
        with pytest.raises(TastytradeError, match="invalid_time_back"):
            await account.get_net_liquidating_value_history(session, time_back="2w")


async def test_margin_report_adds_up_to_the_balance(sandbox, refresh_token):
    """One group per underlying held; the groups' requirements sum to the balance's
    maintenance requirement (a cash account requires nothing)."""
    async with sdk_session(sandbox, refresh_token) as session:
        margin_account, cash_account = await Account.get(session)
        report = await margin_account.get_margin_requirements(session)
        balance = await margin_account.get_balances(session)
        positions = await margin_account.get_positions(session)
        assert {g.underlying_symbol for g in report.groups} == {
            p.underlying_symbol for p in positions
        }
        assert balance.maintenance_requirement > 0
        assert report.maintenance_requirement == -balance.maintenance_requirement
        assert sum(g.maintenance_requirement for g in report.groups) == (
            report.maintenance_requirement
        )
        assert report.margin_equity == balance.net_liquidating_value
        assert report.maintenance_excess == balance.maintenance_excess
        cash = await cash_account.get_margin_requirements(session)
        assert cash.maintenance_requirement == 0 and cash.groups
        assert all(g.maintenance_requirement == 0 for g in cash.groups)


async def test_replace_cancel_and_order_history(sandbox, control, refresh_token):
    """replace_order gives a new id and cancels the old order (which points at it); the
    history lists every order, terminal ones included, with filters and paging."""
    async with sdk_session(sandbox, refresh_token) as session:
        account = (await Account.get(session))[0]
        resting = LimitOrder(
            time_in_force=OrderTimeInForce.DAY,
            legs=[equity_leg("AAPL", 2)],
            price=Decimal("-1.00"),
        )
        old = (await account.place_order(session, resting, dry_run=False)).order
        control.step()
        assert (await account.get_order(session, old.id)).status == OrderStatus.LIVE
        changed = LimitOrder(
            time_in_force=OrderTimeInForce.GTC,
            legs=[equity_leg("AAPL", 2)],
            price=Decimal("-1.50"),
        )
        new = await account.replace_order(session, old.id, changed)
        assert new.id != old.id and new.replaces_order_id == old.id
        assert new.status == OrderStatus.RECEIVED and new.price == Decimal("-1.50")
        assert new.time_in_force == OrderTimeInForce.GTC and new.legs[0].quantity == 2
        replaced = await account.get_order(session, old.id)
        assert replaced.status == OrderStatus.CANCELLED
        assert replaced.replacing_order_id == new.id
        live = {o.id: o.status for o in await account.get_live_orders(session)}
        assert live == {old.id: OrderStatus.CANCELLED, new.id: OrderStatus.RECEIVED}
        with pytest.raises(TastytradeError, match="order_not_replaceable"):
            await account.replace_order(session, old.id, changed)

        await account.delete_order(session, new.id)
        assert (await account.get_order(session, new.id)).status == OrderStatus.CANCELLED
        with pytest.raises(TastytradeError, match="order_not_cancellable"):
            await account.delete_order(session, new.id)

        market = MarketOrder(time_in_force=OrderTimeInForce.DAY, legs=[equity_leg("MSFT", 1)])
        filled = (await account.place_order(session, market, dry_run=False)).order
        await fill_all(session, account, control, [filled.id])

        history = await account.get_order_history(session, per_page=1, page_offset=None)
        assert [o.id for o in history] == [filled.id, new.id, old.id]
        page = await account.get_order_history(session, per_page=1, page_offset=1)
        assert [o.id for o in page] == [new.id]
        cancelled = await account.get_order_history(session, statuses=[OrderStatus.CANCELLED])
        assert {o.id for o in cancelled} == {old.id, new.id}
        msft = await account.get_order_history(session, underlying_symbol="MSFT")
        assert [o.id for o in msft] == [filled.id]
        tomorrow = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=1)
        assert await account.get_order_history(session, start_date=tomorrow) == []
        oldest_first = await account.get_order_history(session, sort="Asc")
        assert [o.id for o in oldest_first] == [old.id, new.id, filled.id]
