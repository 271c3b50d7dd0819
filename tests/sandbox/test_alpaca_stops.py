"""Alpaca's stop, stop-limit and trailing-stop orders at the sandbox, placed and read back by
the official, unmodified alpaca-py 0.44 (`TradingClient`, `BrokerClient`, `TradingStream`)
over real sockets.

Sources:
- alpacahq/alpaca-docs content/trading/orders.md: "Stop Order" (`stop_price`; "once the
  order is elected, the stop order becomes a market order"), "Stop Limit Order"
  (`limit_price` and `stop_price`; a gap that elects it without a fill leaves "a limit
  order until it is executable"), "Trailing Stop Orders" (`type` "trailing_stop", one of
  `trail_price` / `trail_percent`; a sell's stop is "always `hwm - 2.00`" or
  "`hwm * 0.99`"; the Order carries `trail_price`, `trail_percent`, `hwm` and a
  `stop_price` that "continuously updates as hwm changes"; "valid time-in-force values for
  trailing stop are "day" and "gtc""; PATCH `trail` changes the amount, not its kind).
- alpaca-py trading/requests.py: `StopOrderRequest` (stop_price), `StopLimitOrderRequest`
  (stop_price, limit_price), `TrailingStopOrderRequest` (trail_price or trail_percent,
  exactly one), `ReplaceOrderRequest(trail=…)`; trading/models.py `Order` (stop_price,
  trail_price, trail_percent, hwm as strings).

The sandbox's market keeps walking between `control.set_price` and a step, so prices here
leave a few dollars of room; every stop is checked against the hwm the order itself shows.
"""

from __future__ import annotations

import asyncio
from decimal import ROUND_HALF_UP, Decimal

import httpx
import pytest
from alpaca.broker import BrokerClient
from alpaca.broker.requests import StopLimitOrderRequest as BrokerStopLimitOrderRequest
from alpaca.common.exceptions import APIError
from alpaca.trading.client import TradingClient
from alpaca.trading.enums import OrderSide, OrderStatus, OrderType, TimeInForce
from alpaca.trading.models import Order, TradeUpdate
from alpaca.trading.requests import (
    LimitOrderRequest,
    ReplaceOrderRequest,
    StopLimitOrderRequest,
    StopOrderRequest,
    TrailingStopOrderRequest,
)
from alpaca.trading.stream import TradingStream

from tests.support import alpaca as shared
from tests.support.wait import wait_until

SECRET = "paper-secret-value"
SYMBOL = "AAPL"  # every demo margin account holds 50 (sandbox/core/demo_seed.py)

sandbox_config = shared.sandbox_config  # orders advance only on control.step()
key_id = shared.key_id  # a fresh key (customer) per test


@pytest.fixture
def client(sandbox, key_id) -> TradingClient:
    return TradingClient(key_id, SECRET, paper=True, url_override=f"{sandbox.url}/alpaca")


def dec(value) -> Decimal:
    return Decimal(str(value))


def cents(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def step(control, client: TradingClient, order_id, n: int = 1) -> Order:
    for _ in range(n):
        control.step()
    return client.get_order_by_id(order_id)


def sell_trailing(client: TradingClient, **trail) -> Order:
    return client.submit_order(
        TrailingStopOrderRequest(
            symbol=SYMBOL, qty=1, side=OrderSide.SELL, time_in_force=TimeInForce.GTC, **trail
        )
    )


def test_a_sell_trailing_percent_follows_a_rising_price_and_fills_when_it_falls_through(
    client, control
):
    """orders.md's `trail_percent`: the stop is hwm x (1 - percent/100), the hwm the highest
    price since the order was placed; it waits above the stop and fills, as a market order,
    once the price falls through it."""
    control.set_price(SYMBOL, 200.0)
    placed = sell_trailing(client, trail_percent=4)
    assert placed.type == OrderType.TRAILING_STOP and placed.order_type == OrderType.TRAILING_STOP
    assert (placed.trail_percent, placed.trail_price, placed.limit_price) == ("4", None, None)
    first = dec(placed.hwm)
    assert abs(first - 200) < 3
    assert dec(placed.stop_price) == cents(first * Decimal("0.96"))

    control.set_price(SYMBOL, 250.0)
    risen = step(control, client, placed.id, 2)
    high = dec(risen.hwm)
    assert high > 245 and dec(risen.stop_price) == cents(high * Decimal("0.96"))  # ~240
    assert risen.status == OrderStatus.NEW and dec(risen.filled_qty) == 0

    control.set_price(SYMBOL, 246.0)  # down from the high, still above the stop
    waiting = step(control, client, placed.id, 2)
    assert waiting.status == OrderStatus.NEW, "above its stop, a trailing stop waits"
    assert dec(waiting.hwm) >= high and dec(waiting.stop_price) >= dec(risen.stop_price)
    assert dec(waiting.filled_qty) == 0

    control.set_price(SYMBOL, 225.0)
    filled = step(control, client, placed.id)
    assert filled.status == OrderStatus.FILLED and dec(filled.filled_qty) == 1
    assert dec(filled.filled_avg_price) < dec(waiting.stop_price)
    assert filled.type == OrderType.TRAILING_STOP and filled.trail_percent == "4"


async def test_a_trailing_price_stop_streams_its_hwm_and_stop(client, control, sandbox, key_id):
    """orders.md's `trail_price` example (stop = hwm - trail), read by alpaca-py's
    `TradingStream`: the `new` and `fill` trade updates carry `trail_price`, `hwm` and the
    stop as it stood (`TradeUpdate.order`, alpaca-py trading/models.py)."""
    updates: list[TradeUpdate] = []

    async def on_update(update: TradeUpdate) -> None:
        updates.append(update)

    stream = TradingStream(
        key_id, SECRET, url_override=f"ws://{sandbox.host}:{sandbox.port}/alpaca/stream"
    )
    stream.subscribe_trade_updates(on_update)
    runner = asyncio.create_task(stream._run_forever())
    try:
        await wait_until(lambda: sandbox.sandbox.hub.find("alpaca-ws"), what="socket open")
        session = sandbox.sandbox.hub.find("alpaca-ws")[0]
        await wait_until(lambda: session.listening, what="listening")
        await asyncio.to_thread(control.set_price, SYMBOL, 200.0)
        placed = await asyncio.to_thread(sell_trailing, client, trail_price=6.15)
        assert (placed.trail_price, placed.trail_percent) == ("6.15", None)
        assert dec(placed.stop_price) == cents(dec(placed.hwm) - Decimal("6.15"))
        await asyncio.to_thread(control.set_price, SYMBOL, 230.0)
        for _ in range(2):
            await asyncio.to_thread(control.step)
        risen = await asyncio.to_thread(client.get_order_by_id, placed.id)
        assert dec(risen.hwm) > 225 and risen.status == OrderStatus.NEW
        await asyncio.to_thread(control.set_price, SYMBOL, 210.0)
        await asyncio.to_thread(control.step)
        await wait_until(lambda: any(u.event == "fill" for u in updates), what="fill update")
    finally:
        await stream.stop_ws()
        await asyncio.wait_for(runner, 10)
    assert [u.event for u in updates] == ["new", "fill"]
    new, fill = updates
    assert new.order.type == OrderType.TRAILING_STOP and new.order.trail_price == "6.15"
    assert new.order.hwm == placed.hwm and new.order.stop_price == placed.stop_price
    high = dec(fill.order.hwm)
    assert high >= dec(risen.hwm)
    assert dec(fill.order.stop_price) == cents(high - Decimal("6.15"))
    assert fill.order.status == OrderStatus.FILLED and fill.price < float(fill.order.stop_price)


def test_a_sell_stop_waits_above_its_trigger_then_fills_at_the_market(client, control):
    """orders.md "Stop Order": a sell stop is elected at or below its `stop_price`, then is a
    market order (sell stops are not converted into stop-limits); PATCH may move its
    `stop_price` (alpaca-py `ReplaceOrderRequest`: "required if type of order being
    replaced is stop or stop_limit")."""
    control.set_price(SYMBOL, 200.0)
    placed = client.submit_order(
        StopOrderRequest(
            symbol=SYMBOL, qty=2, side=OrderSide.SELL, time_in_force=TimeInForce.DAY, stop_price=190
        )
    )
    assert placed.type == OrderType.STOP and dec(placed.stop_price) == 190
    assert (placed.limit_price, placed.trail_price, placed.hwm) == (None, None, None)
    waiting = step(control, client, placed.id, 3)
    assert waiting.status == OrderStatus.NEW and dec(waiting.filled_qty) == 0
    # PATCH `stop_price` (alpaca-py `ReplaceOrderRequest`): a new stop order, same type
    moved = client.replace_order_by_id(placed.id, ReplaceOrderRequest(stop_price=192))
    assert moved.type == OrderType.STOP and dec(moved.stop_price) == 192
    assert moved.replaces == placed.id and dec(moved.qty) == 2

    control.set_price(SYMBOL, 185.0)
    filled = step(control, client, moved.id, 2)
    assert filled.status == OrderStatus.FILLED and dec(filled.filled_qty) == 2
    assert dec(filled.filled_avg_price) < 192 and dec(filled.stop_price) == 192


def test_a_buy_stop_limit_is_elected_at_its_stop_then_fills_within_its_limit(client, control):
    """orders.md "Stop Limit Order" (alpaca-py `StopLimitOrderRequest`): a buy is elected
    at or above `stop_price`, then buys at `limit_price` or better; elected above its
    limit it waits (`new`), and it stays elected when the price falls back under the
    stop."""
    control.set_price(SYMBOL, 200.0)
    placed = client.submit_order(
        StopLimitOrderRequest(
            symbol=SYMBOL,
            qty=1,
            side=OrderSide.BUY,
            time_in_force=TimeInForce.DAY,
            stop_price=210,
            limit_price=214,
        )
    )
    assert placed.type == OrderType.STOP_LIMIT and placed.order_type == OrderType.STOP_LIMIT
    assert (dec(placed.stop_price), dec(placed.limit_price)) == (210, 214)
    assert step(control, client, placed.id, 3).status == OrderStatus.NEW  # under its stop
    control.set_price(SYMBOL, 225.0)  # elected; the ask is over the limit
    assert step(control, client, placed.id, 2).status == OrderStatus.NEW
    control.set_price(SYMBOL, 205.0)  # under the stop again, under the limit
    filled = step(control, client, placed.id)
    assert filled.status == OrderStatus.FILLED and dec(filled.filled_avg_price) <= 214


def test_a_stop_limit_through_the_broker_api_is_elected_then_waits_for_its_limit(
    sandbox, control, key_id
):
    """orders.md "Stop Limit Order", through the Broker API's orders endpoint
    (`BrokerClient.submit_order_for_account`): once elected it is a limit order, and one
    the gap left unmarketable stays open until the price comes back to its limit."""
    broker = BrokerClient(key_id, SECRET, sandbox=True, url_override=f"{sandbox.url}/alpaca")
    account_id = next(
        str(a.id)
        for a in broker.list_accounts()
        if broker.get_trade_account_by_id(a.id).multiplier == "2"
    )
    control.set_price(SYMBOL, 200.0)
    placed = broker.submit_order_for_account(
        account_id,
        BrokerStopLimitOrderRequest(
            symbol=SYMBOL,
            qty=1,
            side=OrderSide.SELL,
            time_in_force=TimeInForce.GTC,
            stop_price=190,
            limit_price=188,
        ),
    )
    assert placed.type == OrderType.STOP_LIMIT
    assert (dec(placed.stop_price), dec(placed.limit_price)) == (190, 188)

    def read(n: int = 1):
        for _ in range(n):
            control.step()
        return broker.get_order_for_account_by_id(account_id, placed.id)

    assert read(3).status == OrderStatus.NEW  # above the stop: not elected
    control.set_price(SYMBOL, 180.0)  # elected, but the bid is under the limit
    assert read(2).status == OrderStatus.NEW
    control.set_price(SYMBOL, 195.0)  # above the stop again: elected stays elected
    filled = read()
    assert filled.status == OrderStatus.FILLED and dec(filled.filled_avg_price) >= 188


def test_a_trailing_stops_trail_is_replaced_in_kind(client, control):
    """orders.md: PATCH `trail` sets "the new value of the `trail_price` or `trail_percent`"
    of an untriggered trailing stop (alpaca-py `ReplaceOrderRequest(trail=…)`); a new order
    replaces the old one, as every Alpaca replace does. `trail` on a limit order and
    `stop_price` on a trailing stop are refused."""
    control.set_price(SYMBOL, 200.0)
    placed = sell_trailing(client, trail_price=5)
    control.step()
    replaced = client.replace_order_by_id(placed.id, ReplaceOrderRequest(trail=3))
    assert replaced.replaces == placed.id and replaced.type == OrderType.TRAILING_STOP
    assert (replaced.trail_price, replaced.trail_percent) == ("3", None)
    assert dec(replaced.stop_price) == cents(dec(replaced.hwm) - 3)
    assert client.get_order_by_id(placed.id).status == OrderStatus.REPLACED
    with pytest.raises(APIError) as caught:
        client.replace_order_by_id(replaced.id, ReplaceOrderRequest(stop_price=150))
    assert caught.value.status_code == 422 and "stop_price" in caught.value.message
    limit = client.submit_order(
        LimitOrderRequest(
            symbol=SYMBOL, qty=1, side=OrderSide.BUY, time_in_force=TimeInForce.DAY, limit_price=1
        )
    )
    with pytest.raises(APIError) as caught:
        client.replace_order_by_id(limit.id, ReplaceOrderRequest(trail=1))
    assert caught.value.status_code == 422 and "trail" in caught.value.message


BASE = {"symbol": SYMBOL, "qty": "1", "side": "sell", "time_in_force": "gtc"}


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"type": "trailing_stop"}, "trail_price or trail_percent is required"),
        (
            {"type": "trailing_stop", "trail_price": "1", "trail_percent": "1"},
            "only one of trail_price and trail_percent",
        ),
        ({"type": "trailing_stop", "trail_percent": "0"}, "trail_percent must be > 0"),
        (
            {"type": "trailing_stop", "trail_price": "1", "time_in_force": "ioc"},
            "not allowed for trailing_stop",
        ),
        ({"type": "stop"}, "stop_price is required"),
        ({"type": "stop_limit", "stop_price": "190"}, "limit_price is required"),
        ({"type": "stop_limit", "limit_price": "189"}, "stop_price is required"),
        ({"type": "limit", "limit_price": "1", "trail_price": "1"}, "not allowed for limit"),
        ({"type": "market", "stop_price": "190"}, "stop_price is not allowed for market"),
    ],
)
def test_bad_stop_bodies_are_refused_in_alpacas_shape(sandbox, client, key_id, body, words):
    """What alpaca-py's request models refuse before sending, the sandbox refuses when a
    client sends it anyway: 422 with Alpaca's `{"code": 40010000, "message"}`, and no
    order is placed."""
    client.get_account()  # the key's first use opens its customer
    headers = {"APCA-API-KEY-ID": key_id, "APCA-API-SECRET-KEY": SECRET}
    with httpx.Client(base_url=f"{sandbox.url}/alpaca", headers=headers, timeout=10) as raw:
        answer = raw.post("/v2/orders", json={**BASE, **body})
        assert answer.status_code == 422, answer.text
        assert answer.json()["code"] == 40010000 and words in answer.json()["message"]
        assert raw.get("/v2/orders", params={"status": "all"}).json() == []
