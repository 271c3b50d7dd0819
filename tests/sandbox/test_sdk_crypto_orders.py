"""The real tastytrade SDK's crypto and future-option orders at the sandbox, over real sockets.

tastytrade trades coins 24/7 in parts of a unit ("decimals only for crypto"), and a
`Notional Market` order is "one leg without quantity" with a `value` and `value-effect`,
"only crypto and equities whose instrument has `is-fractional-quantity-eligible: true`";
sending both a price and a value is refused (developer.tastytrade.com order-submission,
copy in tastytrade/tastytrade-mcp tastytrade-llms-txt-docs/docs/order-submission.md). The
SDK's classes: `NotionalOrder` (a signed `value`, negative = debit), `LimitOrder`, and
`Cryptocurrency.build_leg(None, …)` for a notional leg (tastytrade 13.x order.py,
instruments.py); its own docs place crypto notional orders IOC (tastyware/tastytrade
docs/orders.rst).
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from tastytrade import Account
from tastytrade.instruments import Cryptocurrency, Equity, Future, FutureOption
from tastytrade.order import (
    InstrumentType,
    Leg,
    LimitOrder,
    MarketOrder,
    NotionalOrder,
    OrderAction,
    OrderStatus,
    OrderTimeInForce,
    OrderType,
    PlacedNotionalOrder,
)
from tastytrade.utils import TastytradeError

from tests.support.sdk import sdk_session

PAIR = "BTC/USD"


async def margin_account(session) -> Account:
    accounts = await Account.get(session)
    return next(a for a in accounts if a.margin_or_cash == "Margin")


async def btc_held(account: Account, session) -> Decimal:
    positions = await account.get_positions(session, symbol=PAIR)
    return sum((p.quantity for p in positions), Decimal(0))


async def test_a_notional_order_buys_dollars_of_a_coin(sandbox, control, refresh_token):
    """$1,000 of BTC at 50,000: the leg has no quantity until it fills, then 0.02 BTC is
    held; the order reads back as a Notional Market order of a $1,000 debit."""
    control.set_price(f"{PAIR}:CXTALP", 50_000.0)
    async with sdk_session(sandbox, refresh_token) as session:
        account = await margin_account(session)
        btc = await Cryptocurrency.get(session, PAIR)
        order = NotionalOrder(
            time_in_force=OrderTimeInForce.IOC,
            legs=[btc.build_leg(None, OrderAction.BUY_TO_OPEN)],
            value=Decimal("-1000"),
        )
        before = await btc_held(account, session)
        placed = (await account.place_order(session, order, dry_run=False)).order
        assert isinstance(placed, PlacedNotionalOrder)
        assert (placed.order_type, placed.value) == (OrderType.NOTIONAL_MARKET, Decimal("-1000"))
        assert placed.legs[0].instrument_type == InstrumentType.CRYPTOCURRENCY
        for _ in range(3):
            control.step()
        filled = await account.get_order(session, placed.id)
        assert filled.status == OrderStatus.FILLED
        assert filled.value == Decimal("-1000")
        (fill,) = filled.legs[0].fills
        spent = fill.quantity * fill.fill_price
        assert Decimal("999") < spent <= Decimal("1000"), (fill.quantity, fill.fill_price)
        assert fill.quantity != fill.quantity.to_integral_value()  # a part of a coin
        assert await btc_held(account, session) == before + fill.quantity


async def test_a_coin_trades_in_parts_of_a_unit(sandbox, control, refresh_token):
    """A limit buy of 0.015 BTC fills as 0.015; a stock's 0.5 share is still refused."""
    control.set_price(f"{PAIR}:CXTALP", 50_000.0)
    async with sdk_session(sandbox, refresh_token) as session:
        account = await margin_account(session)
        btc = await Cryptocurrency.get(session, PAIR)
        order = LimitOrder(
            time_in_force=OrderTimeInForce.GTC,
            legs=[btc.build_leg(Decimal("0.015"), OrderAction.BUY_TO_OPEN)],
            price=Decimal("-50500"),
        )
        before = await btc_held(account, session)
        placed = (await account.place_order(session, order, dry_run=False)).order
        assert placed.legs[0].quantity == Decimal("0.015")
        for _ in range(3):
            control.step()
        filled = await account.get_order(session, placed.id)
        assert filled.status == OrderStatus.FILLED
        assert await btc_held(account, session) == before + Decimal("0.015")

        spy = await Equity.get(session, "SPY")
        half = LimitOrder(
            time_in_force=OrderTimeInForce.DAY,
            legs=[spy.build_leg(Decimal("0.5"), OrderAction.BUY_TO_OPEN)],
            price=Decimal("-500"),
        )
        with pytest.raises(TastytradeError, match="invalid_quantity"):
            await account.place_order(session, half, dry_run=True)


async def test_a_notional_order_of_a_stock_or_with_a_price_is_refused(sandbox, refresh_token):
    """No sandbox equity is fractional-quantity eligible; a value with a price is refused."""
    async with sdk_session(sandbox, refresh_token) as session:
        account = await margin_account(session)
        spy = await Equity.get(session, "SPY")
        stock = NotionalOrder(
            time_in_force=OrderTimeInForce.DAY,
            legs=[spy.build_leg(None, OrderAction.BUY_TO_OPEN)],
            value=Decimal("-100"),
        )
        with pytest.raises(TastytradeError, match=r"invalid_notional.*cryptocurrency"):
            await account.place_order(session, stock, dry_run=True)
        btc = await Cryptocurrency.get(session, PAIR)
        both = {
            "time-in-force": "IOC",
            "order-type": "Notional Market",
            "value": "100",
            "value-effect": "Debit",
            "price": "50000",
            "price-effect": "Debit",
            "legs": [
                {
                    "instrument-type": "Cryptocurrency",
                    "symbol": btc.symbol,
                    "action": "Buy to Open",
                }
            ],
        }
        answer = await session._client.post(
            f"/accounts/{account.account_number}/orders/dry-run", json=both
        )
        assert answer.status_code == 422
        assert "has a value, no price" in answer.text


async def test_a_future_option_is_bought_and_sold_with_its_multiplier(
    sandbox, control, refresh_token
):
    """A quarterly /ES call (`FutureOption.get`; developer.tastytrade.com order-submission:
    future options take up to 4 legs, Limit with price and price-effect) fills at its mark
    and is held as a Future Option of the future, its multiplier 50; selling it to close
    leaves nothing. A symbol that is not a listed option is refused."""
    async with sdk_session(sandbox, refresh_token) as session:
        account = await margin_account(session)
        front = (await Future.get(session, product_codes=["ES"], page_offset=None))[0]
        code = front.symbol.removeprefix("/")
        option = await FutureOption.get(
            session, f"./{code} {code} {front.expiration_date:%y%m%d}C6000"
        )
        buy = MarketOrder(
            time_in_force=OrderTimeInForce.DAY,
            legs=[option.build_leg(Decimal(1), OrderAction.BUY_TO_OPEN)],
        )
        placed = (await account.place_order(session, buy, dry_run=False)).order
        assert placed.underlying_symbol == front.symbol
        assert placed.underlying_instrument_type == InstrumentType.FUTURE
        for _ in range(3):
            control.step()
        filled = await account.get_order(session, placed.id)
        assert filled.status == OrderStatus.FILLED
        (position,) = await account.get_positions(session, symbol=option.symbol)
        assert position.instrument_type == InstrumentType.FUTURE_OPTION
        assert (position.quantity, position.multiplier) == (1, 50)
        assert position.underlying_symbol == front.symbol

        sell = MarketOrder(
            time_in_force=OrderTimeInForce.DAY,
            legs=[option.build_leg(Decimal(1), OrderAction.SELL_TO_CLOSE)],
        )
        closing = (await account.place_order(session, sell, dry_run=False)).order
        for _ in range(3):
            control.step()
        assert (await account.get_order(session, closing.id)).status == OrderStatus.FILLED
        assert await account.get_positions(session, symbol=option.symbol) == []

        unlisted = MarketOrder(
            time_in_force=OrderTimeInForce.DAY,
            legs=[
                Leg(
                    instrument_type=InstrumentType.FUTURE_OPTION,
                    symbol=option.symbol.replace(code, "ESZ9", 1),
                    action=OrderAction.BUY_TO_OPEN,
                    quantity=Decimal(1),
                )
            ],
        )
        with pytest.raises(TastytradeError, match="not a listed future option"):
            await account.place_order(session, unlisted, dry_run=True)
