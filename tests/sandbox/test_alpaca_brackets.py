"""Alpaca's linked order classes at the sandbox — bracket, oco, oto — placed, read back,
filled and cancelled by the official, unmodified alpaca-py 0.44 (`TradingClient`,
`BrokerClient`) over real sockets. The core simulates them (sandbox/core/linked.py); the
façade (sandbox/alpaca/orders/brackets.py, orders/submit.py, render.py) speaks Alpaca.

Sources:
- alpacahq/alpaca-docs content/trading/orders.md, "Bracket Orders": an entry with
  `take_profit{limit_price}` and `stop_loss{stop_price, limit_price?}`; the exits
  "activate only after the entry is completely filled"; TIF day or gtc, no extended hours;
  "canceling one cancels the rest"; "Each order of the group is reported as an independent
  order in GET /v2/orders endpoint. But if you specify additional parameter nested=true,
  the order response will nest the result to include child orders under the parent order
  with an array field legs". "OCO Orders": the exit pair of a position held, `type`
  limit, the take-profit the parent. "OTO Orders": an entry with one of take-profit /
  stop-loss.
- alpaca-py trading/requests.py: `MarketOrderRequest`/`LimitOrderRequest(order_class=…,
  take_profit=TakeProfitRequest(limit_price), stop_loss=StopLossRequest(stop_price,
  limit_price?))`, `_validate_advanced_order_class_requirements`, `GetOrdersRequest(nested)`,
  `GetOrderByIdRequest(nested)`; trading/models.py `Order.legs` ("When querying non-simple
  order_class orders in a nested style, an array of Order entities"); enums.py
  `OrderClass`, `OrderStatus.HELD`.
- forum.alpaca.markets/t/bracket-order-exit-trades-not-executing/3697: a bracket's exits are
  `held` until the entry fills. The sandbox shows a working exit `new` (see docs/sandbox.md).

AAPL is held (50 shares) by every demo margin account (sandbox/core/demo_seed.py). The
market keeps walking between `control.set_price` and a step, so prices leave room.
"""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest
from alpaca.broker import BrokerClient
from alpaca.common.exceptions import APIError
from alpaca.trading.client import TradingClient
from alpaca.trading.enums import (
    OrderClass,
    OrderSide,
    OrderStatus,
    OrderType,
    QueryOrderStatus,
    TimeInForce,
)
from alpaca.trading.models import Order
from alpaca.trading.requests import (
    GetOrderByIdRequest,
    GetOrdersRequest,
    LimitOrderRequest,
    MarketOrderRequest,
    ReplaceOrderRequest,
    StopLossRequest,
    TakeProfitRequest,
)

from sandbox.core.credentials import credential_id
from tests.support import alpaca as shared

SECRET = "paper-secret-value"
SYMBOL = "AAPL"

sandbox_config = shared.sandbox_config  # orders advance only on control.step()
key_id = shared.key_id  # a fresh key (customer) per test

NESTED = GetOrdersRequest(status=QueryOrderStatus.ALL, nested=True)
FLAT = GetOrdersRequest(status=QueryOrderStatus.ALL)


@pytest.fixture
def client(sandbox, key_id) -> TradingClient:
    return TradingClient(key_id, SECRET, paper=True, url_override=f"{sandbox.url}/alpaca")


def dec(value) -> Decimal:
    return Decimal(str(value))


def step_until(control, read, done, n: int = 12):
    """Step the brokerage until `done(read())`; the last reading."""
    for _ in range(n):
        control.step()
        seen = read()
        if done(seen):
            return seen
    raise AssertionError(f"not reached after {n} steps: {seen}")


def market_bracket(client: TradingClient, qty: int = 2, **exits) -> Order:
    return client.submit_order(
        MarketOrderRequest(
            symbol=SYMBOL,
            qty=qty,
            side=OrderSide.BUY,
            time_in_force=TimeInForce.GTC,
            order_class=OrderClass.BRACKET,
            take_profit=TakeProfitRequest(limit_price=exits.get("tp", 215)),
            stop_loss=StopLossRequest(stop_price=exits.get("sl", 185)),
        )
    )


def statuses(client: TradingClient, *ids) -> list[OrderStatus]:
    return [client.get_order_by_id(i).status for i in ids]


def test_a_bracket_holds_its_exits_until_the_entry_fills_then_one_exit_cancels_the_other(
    client, control
):
    """orders.md "Bracket Orders": placed, the entry is the parent with the take-profit
    limit and stop-loss stop nested in `legs`, both `held`; once the entry has filled they
    work (`new`); when the price crosses the take-profit it fills and the stop-loss is
    canceled — read through `get_orders(nested=True)` and `get_order_by_id`."""
    control.set_price(SYMBOL, 200.0)
    placed = market_bracket(client)
    assert placed.order_class == OrderClass.BRACKET and placed.type == OrderType.MARKET
    assert [leg.status for leg in placed.legs] == [OrderStatus.HELD, OrderStatus.HELD]
    tp, sl = placed.legs
    assert (tp.type, dec(tp.limit_price), tp.side) == (OrderType.LIMIT, 215, OrderSide.SELL)
    assert (sl.type, dec(sl.stop_price), sl.limit_price) == (OrderType.STOP, 185, None)
    assert {tp.order_class, sl.order_class} == {OrderClass.BRACKET}

    nested = client.get_orders(NESTED)
    assert [o.id for o in nested] == [placed.id]
    assert [leg.id for leg in nested[0].legs] == [tp.id, sl.id]
    flat = client.get_orders(FLAT)  # each member alone, none with legs
    assert {o.id for o in flat} == {placed.id, tp.id, sl.id}
    assert all(o.legs is None and o.order_class == OrderClass.BRACKET for o in flat)
    assert client.get_order_by_id(placed.id).legs is None
    by_id = client.get_order_by_id(placed.id, GetOrderByIdRequest(nested=True))
    assert [leg.status for leg in by_id.legs] == [OrderStatus.HELD, OrderStatus.HELD]
    assert client.get_order_by_id(tp.id).status == OrderStatus.HELD

    step_until(
        control,
        lambda: client.get_order_by_id(placed.id),
        lambda o: o.status == OrderStatus.FILLED,
    )
    assert statuses(client, tp.id, sl.id) == [OrderStatus.NEW, OrderStatus.NEW]

    control.set_price(SYMBOL, 235.0)
    step_until(
        control,
        lambda: client.get_order_by_id(tp.id),
        lambda o: o.status == OrderStatus.FILLED,
    )
    assert client.get_order_by_id(sl.id).status == OrderStatus.CANCELED
    (done,) = client.get_orders(NESTED)
    assert done.status == OrderStatus.FILLED and dec(done.filled_qty) == 2
    assert [leg.status for leg in done.legs] == [OrderStatus.FILLED, OrderStatus.CANCELED]
    assert dec(done.legs[0].filled_avg_price) >= 215
    assert client.get_orders(GetOrdersRequest(nested=True)) == []  # nothing open


def test_a_bracket_stop_loss_fills_when_the_price_falls_and_the_events_follow(
    client, control, sandbox, key_id
):
    """A limit entry: when the price falls through the stop-loss it fills and the
    take-profit is canceled. Each member's trade events are a single order's (`new` once
    it works, `fill`, `canceled`); the parent's carry its members in `legs`."""
    control.set_price(SYMBOL, 200.0)
    placed = client.submit_order(
        LimitOrderRequest(
            symbol=SYMBOL,
            qty=1,
            side=OrderSide.BUY,
            time_in_force=TimeInForce.DAY,
            limit_price=210,
            order_class=OrderClass.BRACKET,
            take_profit=TakeProfitRequest(limit_price=240),
            stop_loss=StopLossRequest(stop_price=190),
        )
    )
    tp, sl = placed.legs
    step_until(
        control,
        lambda: client.get_order_by_id(placed.id),
        lambda o: o.status == OrderStatus.FILLED,
    )
    control.set_price(SYMBOL, 175.0)
    step_until(
        control,
        lambda: client.get_order_by_id(sl.id),
        lambda o: o.status == OrderStatus.FILLED,
    )
    assert client.get_order_by_id(tp.id).status == OrderStatus.CANCELED
    events = sandbox.sandbox.alpaca.customers[credential_id(key_id)].events
    seen = [(e.body["order"]["id"], e.body["event"]) for e in events]
    assert [name for oid, name in seen if oid == str(placed.id)] == ["new", "fill"]
    assert [name for oid, name in seen if oid == str(sl.id)] == ["new", "fill"]
    assert [name for oid, name in seen if oid == str(tp.id)] == ["new", "canceled"]
    # a held exit is announced when it starts working: after its entry's fill
    assert seen.index((str(tp.id), "new")) > seen.index((str(placed.id), "fill"))
    first = next(e.body["order"] for e in events if e.body["order"]["id"] == str(placed.id))
    assert [(leg["id"], leg["status"]) for leg in first["legs"]] == [
        (str(tp.id), "held"),
        (str(sl.id), "held"),
    ]


def test_an_oco_exits_a_held_position_the_stop_cancelling_the_limit(client, control):
    """orders.md "OCO Orders": `type` limit with `take_profit` and `stop_loss`, for a
    position held; nested, the take-profit is the parent and the stop-loss its child, both
    working at once; when the stop-loss fills the take-profit is canceled."""
    control.set_price(SYMBOL, 200.0)
    held = dec(client.get_open_position(SYMBOL).qty)
    placed = client.submit_order(
        LimitOrderRequest(
            symbol=SYMBOL,
            qty=5,
            side=OrderSide.SELL,
            time_in_force=TimeInForce.GTC,
            order_class=OrderClass.OCO,
            take_profit=TakeProfitRequest(limit_price=230),
            stop_loss=StopLossRequest(stop_price=185, limit_price=180),
        )
    )
    assert placed.order_class == OrderClass.OCO and placed.type == OrderType.LIMIT
    assert dec(placed.limit_price) == 230 and placed.status == OrderStatus.NEW
    (sl,) = placed.legs
    assert (sl.type, dec(sl.stop_price), dec(sl.limit_price)) == (OrderType.STOP_LIMIT, 185, 180)
    assert sl.status == OrderStatus.NEW and sl.order_class == OrderClass.OCO
    (listed,) = client.get_orders(GetOrdersRequest(nested=True))  # the take-profit is parent
    assert listed.id == placed.id and [leg.id for leg in listed.legs] == [sl.id]

    control.set_price(SYMBOL, 183.0)
    step_until(
        control,
        lambda: client.get_order_by_id(sl.id),
        lambda o: o.status == OrderStatus.FILLED,
    )
    assert client.get_order_by_id(placed.id).status == OrderStatus.CANCELED
    assert dec(client.get_open_position(SYMBOL).qty) == held - 5


def test_an_oto_entry_triggers_its_one_exit(client, control):
    """orders.md "OTO Orders": an entry with a stop-loss only; the stop-loss is `held`
    until the entry fills, then works; cancelling it is cancelling what is left of the
    group (the filled entry stays filled)."""
    control.set_price(SYMBOL, 200.0)
    placed = client.submit_order(
        MarketOrderRequest(
            symbol=SYMBOL,
            qty=1,
            side=OrderSide.BUY,
            time_in_force=TimeInForce.DAY,
            order_class=OrderClass.OTO,
            stop_loss=StopLossRequest(stop_price=180),
        )
    )
    assert placed.order_class == OrderClass.OTO
    (sl,) = placed.legs
    assert (sl.type, sl.status, sl.order_class) == (OrderType.STOP, OrderStatus.HELD, "oto")
    step_until(
        control,
        lambda: client.get_order_by_id(sl.id),
        lambda o: o.status == OrderStatus.NEW,
    )
    assert client.get_order_by_id(placed.id).status == OrderStatus.FILLED
    (listed,) = client.get_orders(GetOrdersRequest(nested=True))  # open: its stop works
    assert listed.id == placed.id and [leg.id for leg in listed.legs] == [sl.id]
    client.cancel_order_by_id(sl.id)
    assert statuses(client, placed.id, sl.id) == [OrderStatus.FILLED, OrderStatus.CANCELED]


def test_cancelling_one_member_cancels_the_whole_bracket(client, control):
    """orders.md: "canceling one cancels the rest" — DELETE of the take-profit of a bracket
    whose entry has not filled cancels the entry and the stop-loss; its entry cannot be
    replaced (422 in words)."""
    control.set_price(SYMBOL, 200.0)
    placed = client.submit_order(
        LimitOrderRequest(
            symbol=SYMBOL,
            qty=1,
            side=OrderSide.BUY,
            time_in_force=TimeInForce.GTC,
            limit_price=150,
            order_class=OrderClass.BRACKET,
            take_profit=TakeProfitRequest(limit_price=170),
            stop_loss=StopLossRequest(stop_price=140),
        )
    )
    tp, sl = placed.legs
    with pytest.raises(APIError) as caught:
        client.replace_order_by_id(placed.id, ReplaceOrderRequest(limit_price=151))
    assert caught.value.status_code == 422 and "bracket" in caught.value.message
    client.cancel_order_by_id(tp.id)
    assert statuses(client, placed.id, tp.id, sl.id) == [OrderStatus.CANCELED] * 3


def test_a_brackets_exit_price_is_replaced_and_the_new_exit_takes_its_place(client, control):
    """orders.md lets PATCH move a bracket's exit prices: the stop-loss, held, is replaced
    by its `stop_price` (a new order, the old one `replaced` and out of the group); the new
    stop waits for the entry like the old one, is nested in its place, and is what cancels
    the take-profit when the price falls through it. Anything else of a member is refused
    in words: its quantity, its entry, an OTO's exit."""
    control.set_price(SYMBOL, 200.0)
    placed = market_bracket(client, tp=215, sl=185)
    tp, sl = placed.legs
    moved = client.replace_order_by_id(sl.id, ReplaceOrderRequest(stop_price=192))
    assert moved.id != sl.id and str(moved.replaces) == str(sl.id)
    assert (moved.status, dec(moved.stop_price), moved.order_class) == (
        OrderStatus.HELD, 192, OrderClass.BRACKET,
    )  # fmt: skip
    old = client.get_order_by_id(sl.id)
    assert (old.status, str(old.replaced_by)) == (OrderStatus.REPLACED, str(moved.id))
    nested = client.get_order_by_id(placed.id, GetOrderByIdRequest(nested=True))
    assert [leg.id for leg in nested.legs] == [tp.id, moved.id]
    for refused, body, says in (
        (tp.id, ReplaceOrderRequest(qty=1), "limit exit is replaced by its limit_price only"),
        (placed.id, ReplaceOrderRequest(limit_price=151), "only a bracket's take-profit"),
    ):
        with pytest.raises(APIError) as caught:
            client.replace_order_by_id(refused, body)
        assert caught.value.status_code == 422 and says in caught.value.message
    step_until(
        control, lambda: client.get_order_by_id(placed.id), lambda o: o.status == OrderStatus.FILLED
    )
    control.set_price(SYMBOL, 188.0)  # through the new stop (192), above the old one (185)
    step_until(
        control, lambda: client.get_order_by_id(moved.id), lambda o: o.status == OrderStatus.FILLED
    )
    assert statuses(client, tp.id, sl.id) == [OrderStatus.CANCELED, OrderStatus.REPLACED]


def test_cancel_all_cancels_every_member(client, control):
    """`DELETE /v2/orders` (alpaca-py `cancel_orders`) cancels a bracket's entry and its
    held exits, one 207 entry each."""
    control.set_price(SYMBOL, 200.0)
    placed = market_bracket(client)
    answers = client.cancel_orders()
    ids = {placed.id, *(leg.id for leg in placed.legs)}
    assert {a.id for a in answers} == ids and {a.status for a in answers} == {200}
    assert {o.status for o in client.get_orders(FLAT)} == {OrderStatus.CANCELED}


def test_the_broker_api_lists_a_bracket_nested(sandbox, control, key_id):
    """The Broker API's orders list (`BrokerClient.get_orders_for_account` with
    `GetOrdersRequest(nested=True)`) is the same order model: one parent, two legs."""
    broker = BrokerClient(key_id, SECRET, sandbox=True, url_override=f"{sandbox.url}/alpaca")
    account_id = next(
        str(a.id)
        for a in broker.list_accounts()
        if broker.get_trade_account_by_id(a.id).multiplier == "2"
    )
    control.set_price(SYMBOL, 200.0)
    placed = broker.submit_order_for_account(
        account_id,
        MarketOrderRequest(
            symbol=SYMBOL,
            qty=1,
            side=OrderSide.BUY,
            time_in_force=TimeInForce.DAY,
            order_class=OrderClass.BRACKET,
            take_profit=TakeProfitRequest(limit_price=220),
            stop_loss=StopLossRequest(stop_price=180),
        ),
    )
    (listed,) = broker.get_orders_for_account(account_id, GetOrdersRequest(nested=True))
    assert listed.id == placed.id and listed.order_class == OrderClass.BRACKET
    assert [leg.status for leg in listed.legs] == [OrderStatus.HELD, OrderStatus.HELD]
    assert len(broker.get_orders_for_account(account_id, GetOrdersRequest())) == 3


BRACKET = {
    "symbol": SYMBOL,
    "qty": "1",
    "side": "buy",
    "type": "market",
    "time_in_force": "gtc",
    "order_class": "bracket",
    "take_profit": {"limit_price": "250"},
    "stop_loss": {"stop_price": "150"},
}


@pytest.mark.parametrize(
    ("body", "status", "code", "words"),
    [
        ({"time_in_force": "ioc"}, 422, 40010000, "time_in_force must be day or gtc"),
        ({"extended_hours": True}, 422, 40010000, "extended_hours is not supported"),
        ({"stop_loss": None}, 422, 40010000, "require take_profit.limit_price and stop_loss"),
        ({"take_profit": {"limit_price": "-1"}}, 422, 40010000, "must be > 0"),
        ({"type": "stop", "stop_price": "210"}, 422, 40010000, "market or limit entry"),
        ({"qty": None, "notional": "500"}, 422, 40010000, "notional is not supported"),
        ({"symbol": "AAPL261218C00200000"}, 422, 40010000, "stocks only"),
        (
            {"type": "limit", "limit_price": "200", "take_profit": {"limit_price": "195"}},
            422,
            42210000,
            "take_profit.limit_price must be >= base_price + 0.01",
        ),
        (
            {"type": "limit", "limit_price": "200", "stop_loss": {"stop_price": "200"}},
            422,
            42210000,
            "stop_loss.stop_price must be <= base_price - 0.01",
        ),
        ({"order_class": "oco"}, 422, 40010000, "oco orders must be limit orders"),
        (
            {"order_class": "oco", "side": "sell", "type": "limit", "limit_price": "240"},
            422,
            40010000,
            "must equal take_profit.limit_price",
        ),
        ({"order_class": "oto"}, 422, 40010000, "either take_profit or stop_loss"),
    ],
)
def test_bad_linked_bodies_are_refused_in_alpacas_shape(
    sandbox, client, control, key_id, body, status, code, words
):
    """What alpaca-py refuses before sending, and what Alpaca refuses (orders.md: TIF day or
    gtc, no extended hours, the stop-loss a cent beyond the base price), sent raw: Alpaca's
    `{"code", "message"}`, and no order is placed."""
    control.set_price(SYMBOL, 200.0)
    client.get_account()  # the key's first use opens its customer
    headers = {"APCA-API-KEY-ID": key_id, "APCA-API-SECRET-KEY": SECRET}
    with httpx.Client(base_url=f"{sandbox.url}/alpaca", headers=headers, timeout=10) as raw:
        answer = raw.post("/v2/orders", json={**BRACKET, **body})
        assert answer.status_code == status, answer.text
        assert answer.json()["code"] == code and words in answer.json()["message"]
        assert raw.get("/v2/orders", params={"status": "all"}).json() == []
