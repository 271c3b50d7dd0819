"""The real tastytrade SDK's futures orders at the sandbox, over real sockets.

How tastytrade documents them (developer.tastytrade.com "Order Submission", copy in
tastytrade/tastytrade-mcp tastytrade-llms-txt-docs/docs/order-submission.md): a `Future`
leg names a listed contract (`/ESZ6`, from `GET /instruments/futures`), "Futures orders can
contain only 1 leg", quantities are whole, the actions are Buy to Open / Sell to Open / Buy
to Close / Sell to Close and also `Buy` / `Sell` for "single leg outright futures trades"
("tastytrade's system will convert it to the appropriate action": a Sell while long
closes, a Sell with no position opens a short); Limit, Market, Stop, Stop Limit; a Market
order's "time-in-force must not be GTC", nor a Stop's "for opening orders"; the documented
"Short Futures Limit Order" sells 1 contract at a limit, Day. A point is worth the
contract's `notional-multiplier` (50 for /ES). A future is marked to the market: no cash
changes hands at a fill, the open position is worth its profit or loss, a close realizes
it in cash, and the account keeps a margin of the contract's notional (here a flat 8 %:
docs/sandbox.md "Futures").

The market stands still (`tick_rate=0`) and orders move only on `control.step()`, so every
amount is read at one price.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

import anyio
import pytest
from tastytrade import Account
from tastytrade.account import AccountBalance, CurrentPosition
from tastytrade.instruments import Equity, Future
from tastytrade.order import (
    InstrumentType,
    Leg,
    LimitOrder,
    MarketOrder,
    OCOOrder,
    OrderAction,
    OrderStatus,
    OrderTimeInForce,
    OrderType,
    PlacedOrder,
    StopOrder,
    UnplacedOrder,
)
from tastytrade.utils import TastytradeError

from sandbox.core.config import SandboxConfig
from tests.support.sdk import alert_streamer, sdk_session

#: the sandbox's flat futures margin: a share of the contract's notional, long or short
MARGIN_RATE = Decimal("0.08")
POINT = Decimal(50)  # /ES: dollars per point (its notional multiplier)
FEE = Decimal("1.00")  # per contract
DAY, GTC = OrderTimeInForce.DAY, OrderTimeInForce.GTC


@pytest.fixture
def sandbox_config() -> SandboxConfig:
    return SandboxConfig(tick_rate=0, order_step_interval=0)


async def margin_and_cash(session) -> tuple[Account, Account]:
    accounts = await Account.get(session)
    margin = next(a for a in accounts if a.margin_or_cash == "Margin")
    cash = next(a for a in accounts if a.margin_or_cash == "Cash")
    return margin, cash


async def front_es(session) -> Future:
    """The front /ES contract, as the instruments endpoint lists it."""
    return (await Future.get(session, product_codes=["ES"], page_offset=None))[0]


def leg(future: Future | str, action: OrderAction, quantity: Decimal | int = 1) -> list[Leg]:
    symbol = future if isinstance(future, str) else future.symbol
    return [
        Leg(
            instrument_type=InstrumentType.FUTURE,
            symbol=symbol,
            action=action,
            quantity=Decimal(quantity),
        )
    ]


async def stepped(
    control, read: Callable[[], Awaitable[Any]], done: Callable[[Any], bool], steps: int = 8
) -> Any:
    """Step the brokerage until `read()` answers what `done` wants; that answer."""
    for _ in range(steps):
        found = await read()
        if done(found):
            return found
        control.step()
    found = await read()
    assert done(found), found
    return found


async def filled(control, account: Account, session, order_id: int) -> PlacedOrder:
    return await stepped(
        control,
        lambda: account.get_order(session, order_id),
        lambda o: o.status == OrderStatus.FILLED,
    )


async def es_position(account: Account, session, future: Future) -> CurrentPosition | None:
    found = await account.get_positions(session, symbol=future.symbol)
    assert len(found) <= 1, found
    return found[0] if found else None


async def raw_positions(account: Account, session) -> list[dict[str, Any]]:
    answer = await session._client.get(f"/accounts/{account.account_number}/positions")
    return answer.json()["data"]["items"]


async def test_the_documented_short_futures_limit_order_rests_is_replaced_and_fills(
    sandbox, control, refresh_token
):
    """The documented "Short Futures Limit Order": Sell to Open 1 /ES at a limit, Day. A
    dry run answers the margin it needs (8 % of the notional); above the market it rests
    Live and reads back as tastytrade writes a futures order; replaced at a marketable
    price (a new id) it fills at the bid; the short is a `Future` of `/ES`, multiplier 50,
    streamed under the instruments endpoint's streamer symbol; no cash but the fee moved."""
    async with sdk_session(sandbox, refresh_token) as session:
        account, _ = await margin_and_cash(session)
        future = await front_es(session)
        control.set_price(future.streamer_symbol, 2000.0)
        before = await account.get_balances(session)
        rest = LimitOrder(
            time_in_force=DAY, legs=leg(future, OrderAction.SELL_TO_OPEN), price=Decimal("2100")
        )

        dry = await account.place_order(session, rest, dry_run=True)
        assert isinstance(dry.order, UnplacedOrder)  # a dry run places nothing
        notional = Decimal(2000) * POINT
        requirement = dry.buying_power_effect.change_in_margin_requirement
        assert abs(requirement + MARGIN_RATE * notional) <= Decimal(1), requirement
        assert dry.fee_calculation is not None
        assert dry.fee_calculation.total_fees == -FEE

        placed = (await account.place_order(session, rest, dry_run=False)).order
        control.step()
        control.step()  # Live, and not marketable: it keeps working
        (live,) = [o for o in await account.get_live_orders(session) if o.id == placed.id]
        assert live.status == OrderStatus.LIVE
        assert (live.order_type, live.time_in_force, live.price) == (
            OrderType.LIMIT,
            DAY,
            Decimal("2100"),
        )
        assert (live.underlying_symbol, live.underlying_instrument_type) == (
            "/ES",
            InstrumentType.FUTURE,
        )
        (order_leg,) = live.legs
        assert (order_leg.instrument_type, order_leg.symbol, order_leg.action) == (
            InstrumentType.FUTURE,
            future.symbol,
            OrderAction.SELL_TO_OPEN,
        )
        assert order_leg.quantity == 1

        marketable = LimitOrder(
            time_in_force=DAY, legs=leg(future, OrderAction.SELL_TO_OPEN), price=Decimal("1990")
        )
        replaced = await account.replace_order(session, placed.id, marketable)
        assert replaced.id != placed.id
        assert (await account.get_order(session, placed.id)).status == OrderStatus.CANCELLED
        done = await filled(control, account, session, replaced.id)
        (fill,) = done.legs[0].fills
        quote = (await session._client.get(f"/market-data/Future/{future.symbol}")).json()
        assert fill.fill_price == Decimal(str(quote["data"]["bid"]))  # a sell at the bid

        position = await es_position(account, session, future)
        assert position is not None
        assert (position.instrument_type, position.underlying_symbol) == (
            InstrumentType.FUTURE,
            "/ES",
        )
        assert (position.quantity, position.quantity_direction, position.multiplier) == (
            1,
            "Short",
            POINT,
        )
        assert position.average_open_price == fill.fill_price
        assert position.expires_at == future.expires_at  # one expiry: the instrument's
        (raw,) = [p for p in await raw_positions(account, session) if p["symbol"] == future.symbol]
        assert raw["streamer-symbol"] == future.streamer_symbol  # the instruments endpoint's

        after = await account.get_balances(session)
        assert after.cash_balance == before.cash_balance - FEE  # no notional changes hands


async def test_a_future_is_worth_its_profit_and_loss_and_its_margin_is_of_its_notional(
    sandbox, control, refresh_token
):
    """Bought at the ask: the account is worth what it was, less the fee and the spread;
    the balance counts the contract's notional (mark x 50) as a long futures value and 8 %
    of it as margin (the margin report's /ES group too); the price moves 40 points and the
    net liquidating value moves 40 x 50; a Market Sell to Close realizes it in cash."""
    async with sdk_session(sandbox, refresh_token) as session:
        account, _ = await margin_and_cash(session)
        future = await front_es(session)
        control.set_price(future.streamer_symbol, 2000.0)
        before = await account.get_balances(session)
        buy = MarketOrder(time_in_force=DAY, legs=leg(future, OrderAction.BUY_TO_OPEN))
        placed = (await account.place_order(session, buy, dry_run=False)).order
        (bought,) = (await filled(control, account, session, placed.id)).legs[0].fills

        position = await es_position(account, session, future)
        assert position is not None and position.mark_price is not None
        mark = position.mark_price
        balance = await account.get_balances(session)
        assert balance.cash_balance == before.cash_balance - FEE
        assert balance.long_futures_value == mark * POINT
        assert balance.short_futures_value == 0
        margin = (MARGIN_RATE * mark * POINT).quantize(Decimal("0.01"))
        assert balance.futures_margin_requirement == margin
        assert balance.maintenance_requirement == before.maintenance_requirement + margin
        open_pnl = ((mark - bought.fill_price) * POINT).quantize(Decimal("0.01"))
        assert balance.net_liquidating_value == before.net_liquidating_value - FEE + open_pnl
        report = await account.get_margin_requirements(session)
        (group,) = [g for g in report.groups if g.underlying_symbol == "/ES"]
        assert (group.maintenance_requirement, group.underlying_type) == (-margin, "Future")

        control.set_price(future.streamer_symbol, 2040.0)
        moved = await es_position(account, session, future)
        assert moved is not None and moved.mark_price is not None
        later = await account.get_balances(session)
        assert later.net_liquidating_value - balance.net_liquidating_value == (
            (moved.mark_price - mark) * POINT
        )
        assert later.cash_balance == balance.cash_balance

        sell = MarketOrder(time_in_force=DAY, legs=leg(future, OrderAction.SELL_TO_CLOSE))
        closing = (await account.place_order(session, sell, dry_run=False)).order
        (sold,) = (await filled(control, account, session, closing.id)).legs[0].fills
        assert await es_position(account, session, future) is None
        gain = (sold.fill_price - bought.fill_price) * POINT
        closed = await account.get_balances(session)
        assert closed.cash_balance == balance.cash_balance + gain - FEE
        assert closed.futures_margin_requirement == 0
        trades = [
            t
            for t in await account.get_history(session, symbol=future.symbol)
            if t.transaction_type == "Trade"
        ]
        by_action = {t.action: t for t in trades}
        assert by_action[OrderAction.BUY_TO_OPEN].value == 0  # opening moves no cash
        assert by_action[OrderAction.SELL_TO_CLOSE].value == gain  # closing realizes it
        assert by_action[OrderAction.SELL_TO_CLOSE].net_value == gain - FEE


async def test_buy_and_sell_are_converted_by_the_position(sandbox, control, refresh_token):
    """An outright `Sell` with no position opens a short (read back Sell to Open); a `Buy`
    while short closes it (Buy to Close). `Buy` / `Sell` are for futures only."""
    async with sdk_session(sandbox, refresh_token) as session:
        account, _ = await margin_and_cash(session)
        future = await front_es(session)
        control.set_price(future.streamer_symbol, 2000.0)
        sell = MarketOrder(time_in_force=DAY, legs=leg(future, OrderAction.SELL))
        opened = (await account.place_order(session, sell, dry_run=False)).order
        assert opened.legs[0].action == OrderAction.SELL_TO_OPEN
        await filled(control, account, session, opened.id)
        short = await es_position(account, session, future)
        assert short is not None and (short.quantity, short.quantity_direction) == (1, "Short")

        buy = MarketOrder(time_in_force=DAY, legs=leg(future, OrderAction.BUY))
        closing = (await account.place_order(session, buy, dry_run=False)).order
        assert closing.legs[0].action == OrderAction.BUY_TO_CLOSE
        await filled(control, account, session, closing.id)
        assert await es_position(account, session, future) is None

        spy = await Equity.get(session, "SPY")
        stock = MarketOrder(time_in_force=DAY, legs=[spy.build_leg(1, OrderAction.BUY)])
        with pytest.raises(TastytradeError, match="invalid_action"):
            await account.place_order(session, stock, dry_run=True)


async def test_a_working_future_order_is_cancelled(sandbox, control, refresh_token):
    async with sdk_session(sandbox, refresh_token) as session:
        account, _ = await margin_and_cash(session)
        future = await front_es(session)
        control.set_price(future.streamer_symbol, 2000.0)
        low = LimitOrder(
            time_in_force=GTC, legs=leg(future, OrderAction.BUY_TO_OPEN), price=Decimal("-1900")
        )
        placed = (await account.place_order(session, low, dry_run=False)).order
        control.step()
        await account.delete_order(session, placed.id)
        cancelled = await account.get_order(session, placed.id)
        assert cancelled.status == OrderStatus.CANCELLED
        assert not cancelled.legs[0].fills


@pytest.mark.parametrize(
    ("body", "code", "words"),
    [
        ({"symbol": "years ahead"}, "invalid_symbol", "not a listed future"),
        ({"symbol": "last year"}, "invalid_symbol", "expired"),
        ({"symbol": "/ESZ26:XCME"}, "invalid_symbol", "not a listed future"),
        ({"symbol": "/XXZ6"}, "invalid_symbol", "not a listed future"),
        ({"quantity": "0.5"}, "invalid_quantity", "Fractional"),
        ({"order-type": "Market", "time-in-force": "GTC"}, "invalid_time_in_force", "GTC"),
        ({"order-type": "Stop", "time-in-force": "GTC"}, "invalid_time_in_force", "opening"),
        ({"time-in-force": "Ext"}, "invalid_time_in_force", "equities"),
        ({"two legs": True}, "invalid_legs", "one leg"),
    ],
)
async def test_what_tastytrade_refuses_of_a_future_is_refused_in_its_words(
    sandbox, refresh_token, body, code, words
):
    """Unlisted, expired or misspelled contracts; parts of a contract; a Market order GTC,
    an opening Stop GTC, an equities-only time in force; two legs."""
    async with sdk_session(sandbox, refresh_token) as session:
        account, _ = await margin_and_cash(session)
        future = await front_es(session)
        year = future.expiration_date.year
        symbol = {
            "years ahead": f"/ESZ{(year + 3) % 10}",  # four contracts are listed, a year
            "last year": f"/ESH{(year - 1) % 10}",
        }.get(body.get("symbol", ""), body.get("symbol", future.symbol))
        order_type = body.get("order-type", "Limit")
        order: dict[str, Any] = {
            "time-in-force": body.get("time-in-force", "Day"),
            "order-type": order_type,
            "legs": [
                {
                    "instrument-type": "Future",
                    "symbol": symbol,
                    "quantity": body.get("quantity", "1"),
                    "action": "Sell to Open",
                }
            ],
        }
        if order_type == "Limit":
            order.update({"price": "2000", "price-effect": "Credit"})
        if order_type == "Stop":
            order["stop-trigger"] = "1900"
        if body.get("two legs"):
            later = (await Future.get(session, product_codes=["ES"], page_offset=None))[1]
            order["legs"].append({**order["legs"][0], "symbol": later.symbol})
        answer = await session._client.post(
            f"/accounts/{account.account_number}/orders/dry-run", json=order
        )
        assert answer.status_code == 422, answer.text
        error = answer.json()["error"]
        assert error["code"] == code
        assert words in error["message"]


async def test_a_cash_account_is_not_approved_for_futures(sandbox, refresh_token):
    """Only the margin account trades futures, and the accounts say so."""
    async with sdk_session(sandbox, refresh_token) as session:
        margin, cash = await margin_and_cash(session)
        assert (margin.is_futures_approved, cash.is_futures_approved) == (True, False)
        assert (await margin.get_trading_status(session)).is_futures_enabled
        assert not (await cash.get_trading_status(session)).is_futures_enabled
        future = await front_es(session)
        buy = MarketOrder(time_in_force=DAY, legs=leg(future, OrderAction.BUY_TO_OPEN))
        with pytest.raises(TastytradeError, match="futures_not_approved"):
            await cash.place_order(session, buy, dry_run=True)


async def test_the_account_streamer_carries_a_future_as_the_sdk_parses_it(
    sandbox, control, refresh_token
):
    """The fill's Order, CurrentPosition and AccountBalance pushes validate against the
    SDK's models (a push that does not would end the stream)."""
    async with sdk_session(sandbox, refresh_token) as session:
        account, _ = await margin_and_cash(session)
        future = await front_es(session)
        control.set_price(future.streamer_symbol, 2000.0)
        async with alert_streamer(session, sandbox) as streamer:
            await streamer.subscribe_accounts([account])
            buy = MarketOrder(time_in_force=DAY, legs=leg(future, OrderAction.BUY_TO_OPEN))
            placed = (await account.place_order(session, buy, dry_run=False)).order
            await filled(control, account, session, placed.id)
            with anyio.fail_after(5):
                async for order in streamer.listen(PlacedOrder):
                    if order.id == placed.id and order.status == OrderStatus.FILLED:
                        break
                async for position in streamer.listen(CurrentPosition):
                    if position.symbol == future.symbol:
                        break
                async for balance in streamer.listen(AccountBalance):
                    if balance.long_futures_value > 0:
                        break
            assert order.legs[0].instrument_type == InstrumentType.FUTURE
            assert (position.instrument_type, position.quantity, position.multiplier) == (
                InstrumentType.FUTURE,
                1,
                POINT,
            )
            assert balance.futures_margin_requirement > 0


async def test_an_oco_protects_a_held_future(sandbox, control, refresh_token):
    """A long /ES protected by an OCO, both Sell to Close: a take-profit Limit above and a
    stop-loss Stop below. The price reaches the take profit: it fills, the stop is
    cancelled, the position is closed and its gain is in cash."""
    async with sdk_session(sandbox, refresh_token) as session:
        account, _ = await margin_and_cash(session)
        future = await front_es(session)
        control.set_price(future.streamer_symbol, 2000.0)
        buy = MarketOrder(time_in_force=DAY, legs=leg(future, OrderAction.BUY_TO_OPEN))
        placed = (await account.place_order(session, buy, dry_run=False)).order
        (bought,) = (await filled(control, account, session, placed.id)).legs[0].fills
        cash = (await account.get_balances(session)).cash_balance

        oco = OCOOrder(
            take_profit=LimitOrder(
                time_in_force=GTC,
                legs=leg(future, OrderAction.SELL_TO_CLOSE),
                price=Decimal("2050"),
            ),
            stop_loss=StopOrder(
                time_in_force=GTC,
                legs=leg(future, OrderAction.SELL_TO_CLOSE),
                stop_trigger=Decimal("1950"),
            ),
        )
        complex_order = (
            await account.place_complex_order(session, oco, dry_run=False)
        ).complex_order

        async def statuses() -> list[OrderStatus]:
            found = await account.get_complex_order(session, complex_order.id)
            return [o.status for o in found.orders]

        await stepped(control, statuses, lambda s: s == [OrderStatus.LIVE, OrderStatus.LIVE])
        control.set_price(future.streamer_symbol, 2060.0)
        await stepped(control, statuses, lambda s: s == [OrderStatus.FILLED, OrderStatus.CANCELLED])
        take_profit = await account.get_order(session, complex_order.orders[0].id)
        (sold,) = take_profit.legs[0].fills
        assert sold.fill_price >= Decimal("2050")
        assert await es_position(account, session, future) is None
        gain = (sold.fill_price - bought.fill_price) * POINT
        assert (await account.get_balances(session)).cash_balance == cash + gain - FEE
