"""The real tastytrade SDK against the sandbox's REST API, over real sockets."""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal

import httpx2
import pytest
from tastytrade import Account
from tastytrade.account import AccountBalance, CurrentPosition
from tastytrade.instruments import NestedOptionChain, get_option_chain
from tastytrade.market_data import get_market_data, get_market_data_by_type
from tastytrade.order import (
    InstrumentType,
    Leg,
    LimitOrder,
    OrderAction,
    OrderStatus,
    OrderTimeInForce,
)
from tastytrade.utils import TastytradeError

from tests.support.sdk import cred, sdk_session


async def test_refresh_gets_a_token_and_lists_accounts(sandbox, control, refresh_token):
    """The first request refreshes the OAuth token; accounts, balances and positions parse."""
    async with sdk_session(sandbox, refresh_token) as session:
        accounts = await Account.get(session)
        assert session.session_token.startswith("sbx-at-")
        assert session.session_expiration > time.time() + 800
        assert len(accounts) == 2
        numbers = {a.account_number for a in accounts}
        one = await Account.get(session, accounts[0].account_number)
        assert one.account_number == accounts[0].account_number
        for account in accounts:
            balance = await account.get_balances(session)
            assert isinstance(balance, AccountBalance)
            assert balance.account_number == account.account_number
            assert balance.net_liquidating_value > 0
            positions = await account.get_positions(session)
            assert positions and all(isinstance(p, CurrentPosition) for p in positions)
            assert {p.account_number for p in positions} == {account.account_number}
    state = control.state()["credentials"][cred(refresh_token)]
    assert state["refreshes"] == 1
    assert set(state["accounts"]) == numbers


async def test_short_token_lifetime_refreshes_before_every_request(sandbox, control, refresh_token):
    """With expires_in ≤ 60 s the SDK refreshes before each call, and the sandbox sees each."""
    control.configure(token_lifetime=30)
    async with sdk_session(sandbox, refresh_token) as session:
        accounts = await Account.get(session)
        first = session.session_token
        for _ in range(3):
            await accounts[0].get_balances(session)
        assert session.session_token != first
    assert control.state()["credentials"][cred(refresh_token)]["refreshes"] == 4


async def test_expired_access_token_fails_until_forced_refresh(sandbox, control, refresh_token):
    """An access token the server expired early gives TastytradeError; refresh(force) heals."""
    async with sdk_session(sandbox, refresh_token) as session:
        accounts = await Account.get(session)
        assert control.fault("expire_tokens", credential=cred(refresh_token))["affected"] == 1
        with pytest.raises(TastytradeError, match="token_expired"):
            await accounts[0].get_balances(session)
        await session.refresh(force=True)
        assert (await accounts[0].get_balances(session)).account_number
        # a token that was never issued is rejected too
        session._client.headers["Authorization"] = "Bearer not-a-token"
        with pytest.raises(TastytradeError, match="invalid_token"):
            await accounts[0].get_positions(session)


async def test_revoked_refresh_token_is_refused(sandbox, control, refresh_token):
    """A revoked refresh token gets a 401 in the object error shape the SDK parses."""
    async with sdk_session(sandbox, refresh_token) as session:
        await Account.get(session)
        control.fault("revoke", credential=cred(refresh_token))
        with pytest.raises(TastytradeError, match="invalid_grant"):
            await session.refresh(force=True)
    control.fault("revoke", credential=cred(refresh_token), revoked=False)
    async with sdk_session(sandbox, refresh_token) as session:
        assert await Account.get(session)


async def test_wrong_client_secret_is_refused(sandbox, control, refresh_token):
    """With a required provider secret configured, another secret is invalid_client."""
    control.configure(client_secret="the-right-one")
    async with sdk_session(sandbox, refresh_token) as session:
        with pytest.raises(TastytradeError, match="invalid_client"):
            await Account.get(session)


@pytest.mark.parametrize(
    ("status", "plain_text", "expected"),
    [
        (401, False, "invalid_token: This token is invalid"),
        (429, False, "rate_limit_exceeded"),
        (500, False, "internal_server_error"),
        (502, True, "Couldn't parse response"),
        (503, False, "service_unavailable"),
    ],
)
async def test_injected_http_errors_surface_as_the_sdk_parses_them(
    sandbox, control, refresh_token, status, plain_text, expected
):
    """Injected 401/429/5xx answer exactly `count` requests, then the API works again."""
    async with sdk_session(sandbox, refresh_token) as session:
        accounts = await Account.get(session)
        control.fault(
            "http_error", status=status, path_prefix="/accounts/", count=2, plain_text=plain_text
        )
        for _ in range(2):
            with pytest.raises(TastytradeError, match=expected):
                await accounts[0].get_balances(session)
        assert (await accounts[0].get_balances(session)).account_number


async def test_429_carries_retry_after(sandbox, control, refresh_token):
    """A rate-limit fault sends Retry-After, as a client's back-off needs."""
    control.fault("http_error", status=429, path_prefix="/api-quote-tokens", retry_after=7)
    async with sdk_session(sandbox, refresh_token) as session:
        await session.refresh()
        response = await session._client.get("/api-quote-tokens")
    assert response.status_code == 429
    assert response.headers["retry-after"] == "7"
    assert response.json()["error"]["code"] == "rate_limit_exceeded"


async def test_delay_fault_trips_the_client_timeout(sandbox, control, refresh_token):
    """A slow API (delay fault) makes the SDK's httpx client time out as configured."""
    async with sdk_session(sandbox, refresh_token, timeout=0.5) as session:
        accounts = await Account.get(session)
        control.fault("delay", seconds=1.0)
        started = time.monotonic()
        with pytest.raises(httpx2.TimeoutException):
            await accounts[0].get_balances(session)
        assert time.monotonic() - started >= 0.5
        control.clear_faults()
        assert await accounts[0].get_balances(session)


async def test_accounts_of_another_customer_are_not_found(sandbox, refresh_token):
    """One credential can never read another credential's accounts."""
    async with (
        sdk_session(sandbox, refresh_token) as alice,
        sdk_session(sandbox, refresh_token + "-bob") as bob,
    ):
        alice_accounts = await Account.get(alice)
        bob_accounts = await Account.get(bob)
        assert not {a.account_number for a in alice_accounts} & {
            a.account_number for a in bob_accounts
        }
        with pytest.raises(TastytradeError, match="record_not_found"):
            await Account.get(bob, alice_accounts[0].account_number)
        with pytest.raises(TastytradeError, match="record_not_found"):
            await alice_accounts[0].get_balances(bob)


async def test_market_data_and_option_chains(sandbox, refresh_token):
    """Market data by type (equities and options) and both option-chain shapes parse."""
    async with sdk_session(sandbox, refresh_token) as session:
        chain = (await NestedOptionChain.get(session, "SPY"))[0]
        assert chain.underlying_symbol == "SPY"
        expiration = chain.expirations[0]
        strike = expiration.strikes[len(expiration.strikes) // 2]
        assert strike.call_streamer_symbol.startswith(".SPY")
        data = await get_market_data_by_type(
            session, equities=["SPY", "AAPL"], options=[strike.call, strike.put]
        )
        assert [d.symbol for d in data] == ["SPY", "AAPL", strike.call, strike.put]
        for item in data:
            assert item.bid is not None and item.ask is not None
            assert Decimal(0) <= item.bid < item.ask
        one = await get_market_data(session, "QQQ", InstrumentType.EQUITY)
        assert one.symbol == "QQQ" and one.mark and one.mark > 0
        flat = await get_option_chain(session, "AAPL")
        options = [o for day in flat.values() for o in day]
        assert options and all(o.underlying_symbol == "AAPL" for o in options)
        assert all(o.streamer_symbol.startswith(".AAPL") for o in options)
        with pytest.raises(TastytradeError, match="too_many_symbols"):
            await get_market_data_by_type(session, equities=[f"S{i}" for i in range(101)])


async def test_orders_placed_through_the_sdk_fill_over_time(sandbox, control, refresh_token):
    """A marketable limit order is Received, then Live, then Filled as the sandbox steps."""
    async with sdk_session(sandbox, refresh_token) as session:
        account = (await Account.get(session))[0]
        quote = (await get_market_data_by_type(session, equities=["MSFT"]))[0]
        order = LimitOrder(
            time_in_force=OrderTimeInForce.DAY,
            legs=[
                Leg(
                    instrument_type=InstrumentType.EQUITY,
                    symbol="MSFT",
                    action=OrderAction.BUY_TO_OPEN,
                    quantity=Decimal(5),
                )
            ],
            price=-(quote.ask + Decimal(5)),
        )
        dry = await account.place_order(session, order, dry_run=True)
        assert dry.order.status == OrderStatus.RECEIVED
        assert not await account.get_live_orders(session)
        placed = await account.place_order(session, order, dry_run=False)
        order_id = placed.order.id
        assert placed.order.status == OrderStatus.RECEIVED
        for _ in range(5):
            control.step()
            current = await account.get_order(session, order_id)
            if current.status == OrderStatus.FILLED:
                break
        assert current.status == OrderStatus.FILLED
        fills = [f for leg in current.legs for f in leg.fills or []]
        assert sum(f.quantity for f in fills) == 5
        positions = await account.get_positions(session, symbol="MSFT")
        assert positions and positions[0].quantity >= 5


async def test_sessions_are_closed_cleanly_by_concurrent_clients(sandbox, control, refresh_token):
    """Ten concurrent SDK sessions of one credential refresh independently and all succeed."""

    async def one(i: int) -> int:
        async with sdk_session(sandbox, refresh_token) as session:
            return len(await Account.get(session))

    assert await asyncio.gather(*(one(i) for i in range(10))) == [2] * 10
    assert control.state()["credentials"][cred(refresh_token)]["refreshes"] == 10


async def test_ioc_fills_what_it_can_at_once_and_cancels_the_rest(sandbox, control, refresh_token):
    """A marketable IOC limit buy of 300 shares: its first fill attempt fills the first of
    the 2-3 fills a big order takes, and the rest is cancelled there (filled part kept); a
    small marketable IOC fills whole."""
    async with sdk_session(sandbox, refresh_token) as session:
        account = (await Account.get(session))[0]
        quote = (await get_market_data_by_type(session, equities=["SCHD"]))[0]

        def held() -> Decimal:
            return next((p.quantity for p in positions if p.symbol == "SCHD"), Decimal(0))

        positions = await account.get_positions(session)
        before = held()

        def ioc(quantity: int) -> LimitOrder:
            leg = Leg(
                instrument_type=InstrumentType.EQUITY,
                symbol="SCHD",
                action=OrderAction.BUY_TO_OPEN,
                quantity=Decimal(quantity),
            )
            return LimitOrder(
                time_in_force=OrderTimeInForce.IOC, legs=[leg], price=-(quote.ask + Decimal(5))
            )

        big = (await account.place_order(session, ioc(300), dry_run=False)).order
        for _ in range(5):
            control.step()
            current = await account.get_order(session, big.id)
            if current.status not in (OrderStatus.RECEIVED, OrderStatus.LIVE):
                break
        assert current.status == OrderStatus.CANCELLED
        filled = sum(f.quantity for f in current.legs[0].fills or [])
        assert 0 < filled < 300 and current.legs[0].remaining_quantity == 300 - filled
        positions = await account.get_positions(session)
        assert held() == before + filled

        small = (await account.place_order(session, ioc(3), dry_run=False)).order
        for _ in range(5):
            control.step()
            current = await account.get_order(session, small.id)
            if current.status not in (OrderStatus.RECEIVED, OrderStatus.LIVE):
                break
        assert current.status == OrderStatus.FILLED
        assert sum(f.quantity for f in current.legs[0].fills or []) == 3
