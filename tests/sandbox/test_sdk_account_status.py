"""The real tastytrade SDK reading who the customer is and what an account may do, and the
account's daily balance snapshots, from the sandbox over real sockets.

Prices stand still (`tick_rate=0`), so today's snapshot can be compared with the live
balance number for number.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import httpx
import pytest
from tastytrade import Account
from tastytrade.utils import TastytradeError

from sandbox.core.config import SandboxConfig
from tests.support.sdk import sdk_session


@pytest.fixture
def sandbox_config() -> SandboxConfig:
    return SandboxConfig(tick_rate=0.0, order_step_interval=0)


def _today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


async def test_customer_is_plausible_and_stable_per_credential(sandbox, refresh_token):
    """get_customer validates, names the same customer on every call and matches the
    email the session validation reports; another credential is another customer."""
    async with sdk_session(sandbox, refresh_token) as session:
        first = await session.get_customer()
        again = await session.get_customer()
        assert first == again
        assert first.email.endswith("@sandbox.invalid")
        assert first.first_name and first.last_name and first.id
        assert first.address.country == "USA" and first.mailing_address == first.address
        names = {t.name for t in first.permitted_account_types}
        assert {"Individual", "Roth IRA"} <= names
        accounts = await Account.get(session)
        assert first.created_at <= min(a.opened_at for a in accounts)
    async with sdk_session(sandbox, refresh_token + "-other") as other:
        stranger = await other.get_customer()
    assert stranger.id != first.id and stranger.email != first.email


async def test_trading_status_follows_the_account(sandbox, refresh_token):
    """A margin account trades on Reg T margin with its options level, and futures; the
    IRA is a cash account, without futures; neither says it is crypto-enabled."""
    async with sdk_session(sandbox, refresh_token) as session:
        margin, ira = await Account.get(session)
        status = await margin.get_trading_status(session)
        assert status.account_number == margin.account_number
        assert status.equities_margin_calculation_type == "Reg T"
        assert status.options_level == margin.suitable_options_level
        assert status.is_futures_enabled and not status.is_cryptocurrency_enabled
        assert not status.is_closed and not status.is_frozen and not status.is_in_margin_call
        assert status.day_trade_count == 0
        cash = await ira.get_trading_status(session)
        assert cash.equities_margin_calculation_type == "Cash"
        assert not cash.is_futures_enabled
        assert cash.options_level == ira.suitable_options_level
        assert cash.id != status.id
        assert await margin.get_trading_status(session) == status


async def test_trading_status_of_someone_elses_account_is_not_found(sandbox, refresh_token):
    async with sdk_session(sandbox, refresh_token) as session:
        mine = (await Account.get(session))[0]
    async with sdk_session(sandbox, refresh_token + "-other") as other:
        with pytest.raises(TastytradeError, match="record_not_found"):
            await mine.get_trading_status(other)
        with pytest.raises(TastytradeError, match="record_not_found"):
            await mine.get_balance_snapshots(other)


async def test_todays_snapshot_is_the_live_balance(sandbox, refresh_token):
    """EOD today is the balance as it stands (one truth); BOD today is yesterday's EOD."""
    today = _today()
    async with sdk_session(sandbox, refresh_token) as session:
        account = (await Account.get(session))[0]
        live = await account.get_balances(session)
        (eod,) = await account.get_balance_snapshots(session, snapshot_date=today)
        assert eod.snapshot_date == today and eod.time_of_day == "EOD"
        for field in (
            "cash_balance",
            "long_equity_value",
            "long_derivative_value",
            "short_derivative_value",
            "net_liquidating_value",
            "equity_buying_power",
            "derivative_buying_power",
            "maintenance_requirement",
        ):
            assert getattr(eod, field) == getattr(live, field), field
        (bod,) = await account.get_balance_snapshots(
            session, snapshot_date=today, time_of_day="BOD"
        )
        (yesterday,) = await account.get_balance_snapshots(
            session, snapshot_date=today - dt.timedelta(days=1)
        )
        assert bod.time_of_day == "BOD" and bod.snapshot_date == today
        assert bod.net_liquidating_value == yesterday.net_liquidating_value
        assert bod.net_liquidating_value != eod.net_liquidating_value


async def test_snapshots_follow_the_net_liq_history(sandbox, refresh_token):
    """Each past day's EOD net-liq is that day's last net-liq history close, and the
    positions' values add up with cash to it, as a live balance's do."""
    today = _today()
    start = today - dt.timedelta(days=20)
    async with sdk_session(sandbox, refresh_token) as session:
        account = (await Account.get(session))[0]
        snapshots = await account.get_balance_snapshots(
            session, start_date=start, end_date=today, page_offset=None
        )
        history = await account.get_net_liquidating_value_history(session, time_back="1m")
    assert [s.snapshot_date for s in snapshots] == [
        start + dt.timedelta(days=i) for i in range((today - start).days + 1)
    ]
    closes: dict[dt.date, Decimal] = {}
    for point in history:
        closes[dt.datetime.fromisoformat(point.time).astimezone(dt.UTC).date()] = point.close
    for snap in snapshots[:-1]:
        assert snap.net_liquidating_value == closes[snap.snapshot_date], snap.snapshot_date
        assert (
            snap.cash_balance
            + snap.long_equity_value
            - snap.short_equity_value
            + (snap.long_derivative_value - snap.short_derivative_value)
            == snap.net_liquidating_value
        )
    assert len({s.net_liquidating_value for s in snapshots}) > 10  # a walk, not a constant


async def test_snapshot_paging_as_the_sdk_reads_it(sandbox, refresh_token):
    """page_offset=None follows every page; a given page is that page only; without a
    range there are a few recent snapshots ending today."""
    today = _today()
    start = today - dt.timedelta(days=9)
    async with sdk_session(sandbox, refresh_token) as session:
        account = (await Account.get(session))[0]
        everything = await account.get_balance_snapshots(
            session, start_date=start, end_date=today, per_page=3, page_offset=None
        )
        second = await account.get_balance_snapshots(
            session, start_date=start, end_date=today, per_page=3, page_offset=1
        )
        recent = await account.get_balance_snapshots(session)
    assert len(everything) == 10
    assert [s.snapshot_date for s in second] == [s.snapshot_date for s in everything[3:6]]
    assert recent and recent[-1].snapshot_date == today
    assert all(s.snapshot_date <= today for s in recent)


async def test_bad_snapshot_parameters_answer_400(sandbox, refresh_token):
    async with sdk_session(sandbox, refresh_token) as session:
        account = (await Account.get(session))[0]
        token = session._client.headers["Authorization"]
    path = f"{sandbox.url}/accounts/{account.account_number}/balance-snapshots"
    async with httpx.AsyncClient(headers={"Authorization": token}) as client:
        for params in ({"time-of-day": "NOON"}, {"start-date": "yesterday"}):
            response = await client.get(path, params=params)
            assert response.status_code == 400, params
            assert response.json()["error"]["code"] == "invalid_parameter"
