"""Alpaca's Trading API in the sandbox, driven by alpaca-py's own `TradingClient` and
`TradingStream` over real sockets (activities, which alpaca-py 0.44 has no call for, by
plain httpx with the same key headers): shapes validate against alpaca-py's models,
refusals are Alpaca's JSON, trade updates arrive in binary frames."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date
from decimal import Decimal

import httpx
import orjson
import pytest
import websockets
from alpaca.common.exceptions import APIError
from alpaca.trading.client import TradingClient
from alpaca.trading.enums import OrderSide, OrderStatus, QueryOrderStatus, TimeInForce
from alpaca.trading.models import Order, TradeActivity, TradeUpdate
from alpaca.trading.requests import (
    ClosePositionRequest,
    GetCalendarRequest,
    GetOptionContractsRequest,
    GetOrdersRequest,
    LimitOrderRequest,
    ReplaceOrderRequest,
)
from alpaca.trading.stream import TradingStream

from sandbox.core.credentials import credential_id
from tests.support import alpaca as shared
from tests.support.wait import wait_until

SECRET = "paper-secret-value"

sandbox_config = shared.sandbox_config  # orders advance only on control.step()
key_id = shared.key_id  # a fresh key (customer) per test


@pytest.fixture
def client(sandbox, key_id) -> TradingClient:
    return TradingClient(key_id, SECRET, paper=True, url_override=f"{sandbox.url}/alpaca")


def rest(sandbox, key_id: str, secret: str = SECRET) -> httpx.Client:
    headers = {"APCA-API-KEY-ID": key_id, "APCA-API-SECRET-KEY": secret}
    return httpx.Client(base_url=f"{sandbox.url}/alpaca", headers=headers, timeout=10)


def buy_schd(client: TradingClient, qty: int = 300, **extra) -> Order:
    """A marketable limit buy of SCHD (~$28): 300 shares fill in 2-3 partial fills."""
    request = LimitOrderRequest(
        symbol="SCHD",
        qty=qty,
        side=OrderSide.BUY,
        time_in_force=TimeInForce.DAY,
        limit_price=40,
        **extra,
    )
    return client.submit_order(request)


def park(client: TradingClient, **extra) -> Order:
    """A limit buy far below the market: it stays open."""
    request = LimitOrderRequest(
        symbol="SCHD", qty=5, side=OrderSide.BUY, time_in_force=TimeInForce.DAY, limit_price=1
    )
    return client.submit_order(request.model_copy(update=extra))


def step_until(control, client: TradingClient, order_id, status: OrderStatus) -> Order:
    for _ in range(8):
        control.step()
        order = client.get_order_by_id(order_id)
        if order.status == status:
            return order
    raise AssertionError(f"order never became {status}")


def api_error(call) -> APIError:
    with pytest.raises(APIError) as caught:
        call()
    return caught.value


def test_account_and_positions_validate(client, sandbox, key_id):
    """One account per key, in TradeAccount's shape, string numbers; its positions as
    Position models, each findable by symbol and by asset id."""
    account = client.get_account()
    trading = sandbox.sandbox.alpaca.customers[credential_id(key_id)]
    assert account.account_number == trading.number
    assert Decimal(account.equity) > 0 and Decimal(account.cash) > 0
    raw = rest(sandbox, key_id).get("/v2/account").json()
    assert isinstance(raw["buying_power"], str) and isinstance(raw["equity"], str)
    positions = client.get_all_positions()
    assert {p.side.value for p in positions} == {"long", "short"}
    first = positions[0]
    for key in (first.symbol, str(first.asset_id)):  # prices tick between calls
        found = client.get_open_position(key)
        assert (found.symbol, found.asset_id, found.qty) == (
            first.symbol,
            first.asset_id,
            first.qty,
        )
    error = api_error(lambda: client.get_open_position("ZZZZ"))
    assert error.status_code == 404
    assert error.code == 40410000 and error.message == "position does not exist"


def test_wrong_or_missing_key_is_alpaca_401(client, sandbox, key_id):
    """The first secret seen for a key is its secret; anything else is 401 in Alpaca's
    JSON, never plain text; a Broker API key does not trade here."""
    client.get_account()
    wrong = TradingClient(key_id, "not-the-secret", url_override=f"{sandbox.url}/alpaca")
    error = api_error(wrong.get_account)
    assert error.status_code == 401
    assert error.code == 40110000 and error.message == "request is not authorized"
    with httpx.Client(base_url=f"{sandbox.url}/alpaca") as anonymous:
        response = anonymous.get("/v2/orders")
        assert response.status_code == 401
        assert response.json() == {"code": 40110000, "message": "request is not authorized"}
        broker_key = f"CK{uuid.uuid4().hex[:12].upper()}"
        assert anonymous.get("/v1/accounts", auth=(broker_key, "s")).status_code == 200
        assert rest(sandbox, broker_key, "s").get("/v2/account").status_code == 401


def test_order_lifecycle_with_filters_replace_and_cancel(client, sandbox, key_id):
    """Place (with a client order id), look up by id and client id, list with status,
    symbols and side filters, replace (the old order says `replaced`), cancel, cancel all."""
    parked = park(client, client_order_id="my-order-1")
    assert parked.status == OrderStatus.NEW and parked.client_order_id == "my-order-1"
    assert client.get_order_by_id(parked.id).id == parked.id
    assert client.get_order_by_client_id("my-order-1").id == parked.id
    duplicate = api_error(lambda: park(client, client_order_id="my-order-1"))
    assert duplicate.status_code == 422 and duplicate.code == 40010000  # bad input
    open_schd = client.get_orders(
        GetOrdersRequest(status=QueryOrderStatus.OPEN, symbols=["SCHD"], side=OrderSide.BUY)
    )
    assert [o.id for o in open_schd] == [parked.id]
    assert client.get_orders(GetOrdersRequest(symbols=["SPY"])) == []
    assert client.get_orders(GetOrdersRequest(side=OrderSide.SELL)) == []
    assert client.get_orders(GetOrdersRequest(status=QueryOrderStatus.CLOSED)) == []

    replacement = client.replace_order_by_id(parked.id, ReplaceOrderRequest(limit_price=2))
    assert replacement.id != parked.id and replacement.replaces == parked.id
    assert Decimal(replacement.limit_price) == 2
    old = client.get_order_by_id(parked.id)
    assert old.status == OrderStatus.REPLACED and old.replaced_by == replacement.id
    assert [o.id for o in client.get_orders()] == [replacement.id]

    client.cancel_order_by_id(replacement.id)
    assert client.get_order_by_id(replacement.id).status == OrderStatus.CANCELED
    again = api_error(lambda: client.cancel_order_by_id(replacement.id))
    assert again.status_code == 422 and again.code == 42210000
    missing = api_error(lambda: client.get_order_by_id(uuid.uuid4()))
    assert missing.status_code == 404 and missing.code == 40410000

    first, second = park(client), park(client)
    cancelled = client.cancel_orders()
    assert {c.id for c in cancelled} == {first.id, second.id}
    assert {c.status for c in cancelled} == {200}
    assert client.get_orders() == []
    newest_first = client.get_orders(GetOrdersRequest(status=QueryOrderStatus.ALL, limit=2))
    assert [o.id for o in newest_first] == [second.id, first.id]
    asc = client.get_orders(GetOrdersRequest(status=QueryOrderStatus.ALL, direction="asc"))
    assert [o.id for o in asc][:2] == [parked.id, replacement.id]


def test_order_refusals_are_alpaca_json(client, sandbox, key_id):
    with rest(sandbox, key_id) as http:
        bad_body = http.post("/v2/orders", content=b"not json")
        assert bad_body.status_code == 400 and bad_body.json()["code"] == 40010000
        bad_side = http.post("/v2/orders", json={"symbol": "SPY", "qty": "1", "side": "hold"})
        assert bad_side.status_code == 422 and bad_side.json()["code"] == 40010000
        bad_status = http.get("/v2/orders", params={"status": "sometimes"})
        assert bad_status.status_code == 422 and bad_status.json()["code"] == 40010000
        unknown = http.get("/v2/no-such-thing")
        assert unknown.status_code == 404 and unknown.json()["code"] == 40410000


def test_close_position_and_close_all(client, control):
    """Closing a position is a market order on the other side for that much; closing
    all answers 207 with an order per position."""
    long = next(p for p in client.get_all_positions() if p.side.value == "long")
    order = client.close_position(long.symbol, ClosePositionRequest(qty="1"))
    assert order.side == OrderSide.SELL and Decimal(order.qty) == 1
    assert order.symbol == long.symbol and order.order_type.value == "market"
    too_many = api_error(
        lambda: client.close_position(long.symbol, ClosePositionRequest(qty="100000"))
    )
    assert too_many.status_code == 403 and too_many.code == 40310000
    control.step()
    control.step()
    assert client.get_order_by_id(order.id).status == OrderStatus.FILLED
    after = client.get_open_position(long.symbol)
    assert Decimal(after.qty) == Decimal(long.qty) - 1
    positions = client.get_all_positions()
    closing = client.close_all_positions(cancel_orders=True)
    assert sorted(c.symbol for c in closing) == sorted(p.symbol for p in positions)
    assert {c.status for c in closing} == {200}
    for result in closing:
        held = next(p for p in positions if p.symbol == result.symbol)
        assert abs(Decimal(result.body.qty)) == abs(Decimal(held.qty))
        assert result.body.side == (OrderSide.SELL if held.side.value == "long" else OrderSide.BUY)


def test_fill_activities_page_and_agree_with_the_order(client, control, sandbox, key_id):
    """FILL activities: one per execution, TradeActivity-valid, cumulative quantities
    adding up to the order's; paged with page_size/page_token in either direction."""
    order = buy_schd(client)
    filled = step_until(control, client, order.id, OrderStatus.FILLED)
    with rest(sandbox, key_id) as http:
        desc = http.get("/v2/account/activities/FILL").json()
        assert http.get("/v2/account/activities", params={"activity_types": "FILL"}).json() == desc
        assert http.get("/v2/account/activities/DIV").json() == []
        bad = http.get("/v2/account/activities/NOPE")
        assert bad.status_code == 422 and bad.json()["code"] == 40010000
        activities = [TradeActivity(**a) for a in desc]
        assert len(activities) >= 2  # 300 shares fill in parts
        assert all(a.order_id == order.id for a in activities)
        assert [a.cum_qty for a in reversed(activities)] == sorted(a.cum_qty for a in activities)
        assert activities[0].cum_qty == float(filled.filled_qty) == 300
        assert activities[0].type.value == "fill" and activities[0].leaves_qty == 0
        assert sum(a.qty for a in activities) == 300
        assert isinstance(desc[0]["price"], str) and "::" in desc[0]["id"]
        pages, token = [], None
        while True:
            params = {"page_size": 1, "direction": "asc"} | ({"page_token": token} if token else {})
            page = http.get("/v2/account/activities/FILL", params=params).json()
            if not page:
                break
            pages.extend(page)
            token = page[-1]["id"]
        assert pages == list(reversed(desc))
        later = http.get(
            "/v2/account/activities/FILL", params={"after": pages[0]["transaction_time"]}
        ).json()
        assert [a["id"] for a in later] == [a["id"] for a in desc[:-1]]


def test_clock_calendar_and_assets(client):
    clock = client.get_clock()
    assert clock.next_open > clock.timestamp and clock.next_close > clock.timestamp
    assert clock.is_open == (clock.next_close < clock.next_open)
    days = client.get_calendar(GetCalendarRequest(start=date(2025, 1, 1), end=date(2025, 1, 12)))
    assert [d.date.day for d in days] == [2, 3, 6, 7, 8, 9, 10]  # New Year's Day is a holiday
    assert days[0].open.hour == 9 and days[0].open.minute == 30 and days[0].close.hour == 16
    thanksgiving = client.get_calendar(
        GetCalendarRequest(start=date(2025, 11, 24), end=date(2025, 11, 30))
    )
    assert [d.date.day for d in thanksgiving] == [24, 25, 26, 28]
    assert [d.close.hour for d in thanksgiving] == [16, 16, 16, 13]  # the early close
    spy = client.get_asset("SPY")
    assert spy.symbol == "SPY" and spy.tradable and spy.asset_class.value == "us_equity"
    assert client.get_asset(str(spy.id)).symbol == "SPY"
    assert "SPY" in {a.symbol for a in client.get_all_assets()}
    missing = api_error(lambda: client.get_asset("not a ticker"))
    assert missing.status_code == 404 and missing.code == 40410000


def ws_url(sandbox) -> str:
    return f"ws://{sandbox.host}:{sandbox.port}/alpaca/stream"


async def test_trading_stream_receives_fills(client, control, sandbox, key_id):
    """alpaca-py's TradingStream authenticates, listens and receives new → partial
    fills → fill, each a valid TradeUpdate with execution id, price and position qty."""
    updates: list[TradeUpdate] = []

    async def on_update(update: TradeUpdate) -> None:
        updates.append(update)

    stream = TradingStream(key_id, SECRET, url_override=ws_url(sandbox))
    stream.subscribe_trade_updates(on_update)
    runner = asyncio.create_task(stream._run_forever())
    try:
        await wait_until(lambda: sandbox.sandbox.hub.find("alpaca-ws"), what="socket open")
        session = sandbox.sandbox.hub.find("alpaca-ws")[0]
        await wait_until(lambda: session.listening, what="listening")
        before = Decimal(
            next((p.qty for p in client.get_all_positions() if p.symbol == "SCHD"), "0")
        )
        order = await asyncio.to_thread(buy_schd, client)
        for _ in range(8):
            await asyncio.to_thread(control.step)
            if any(u.event == "fill" for u in updates):
                break
        await wait_until(lambda: any(u.event == "fill" for u in updates), what="fill update")
    finally:
        await stream.stop_ws()
        await asyncio.wait_for(runner, 10)
    assert updates[0].event == "new"
    fills = [u for u in updates if u.event in ("partial_fill", "fill")]
    assert len(fills) >= 2 and fills[-1].event == "fill"
    assert all(u.order.id == order.id for u in updates)
    assert len({u.execution_id for u in fills}) == len(fills)
    assert sum(u.qty for u in fills) == 300
    assert fills[-1].position_qty == float(before + 300)
    assert fills[-1].order.status == OrderStatus.FILLED


async def test_handshake_in_binary_frames(sandbox, client, key_id):
    """Listen before auth is refused; both auth forms work, a wrong secret does not;
    every server message is a binary frame of JSON."""
    client.get_account()  # the key's secret is now known

    async def ask(ws, message: dict) -> dict:
        await ws.send(orjson.dumps(message).decode())
        frame = await asyncio.wait_for(ws.recv(), 5)
        assert isinstance(frame, bytes)
        return orjson.loads(frame)

    listen = {"action": "listen", "data": {"streams": ["trade_updates", "bogus"]}}
    async with websockets.connect(ws_url(sandbox)) as ws:
        assert await ask(ws, listen) == {
            "stream": "authorization",
            "data": {"status": "unauthorized", "action": "listen"},
        }
        wrong = await ask(ws, {"action": "auth", "key": key_id, "secret": "wrong"})
        assert wrong["data"]["status"] == "unauthorized"
        right = await ask(ws, {"action": "auth", "key": key_id, "secret": SECRET})
        assert right == {
            "stream": "authorization",
            "data": {"status": "authorized", "action": "authenticate"},
        }
        assert await ask(ws, listen) == {
            "stream": "listening",
            "data": {"streams": ["trade_updates"]},
        }
        assert (await ask(ws, {"action": "dance"}))["stream"] == "error"


async def test_socket_faults_and_http_faults_apply(sandbox, control, client, key_id):
    """The socket is an `alpaca-ws` session (drop closes it); an http_error aimed at
    the key's credential answers the Trading API in Alpaca's shape."""
    client.get_account()
    async with websockets.connect(ws_url(sandbox)) as ws:
        auth = {"action": "authenticate", "data": {"key_id": key_id, "secret_key": SECRET}}
        await ws.send(orjson.dumps(auth).decode())
        await asyncio.wait_for(ws.recv(), 5)
        cid = credential_id(key_id)
        await wait_until(lambda: sandbox.sandbox.hub.find("alpaca-ws", cid), what="registered")
        dropped = await asyncio.to_thread(control.fault, "drop", target="alpaca-ws", credential=cid)
        assert dropped["affected"] == 1
        with pytest.raises(websockets.ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 5)
    await asyncio.to_thread(
        control.fault, "http_error", status=503, broker="alpaca", credential=credential_id(key_id)
    )
    error = api_error(client.get_account)
    assert error.status_code == 503 and error.code == 50310000
    assert client.get_account().account_number  # one use only


async def test_ioc_orders_fill_at_once_or_are_canceled(client, control, sandbox, key_id):
    """`ioc`: at the order's first fill attempt what cannot fill is canceled. A limit under
    the market: new → canceled, nothing filled. A marketable 300 shares (2-3 fills when
    worked): new → partial_fill → canceled, the filled part kept. Each a TradeUpdate."""
    updates: list[TradeUpdate] = []

    async def on_update(update: TradeUpdate) -> None:
        updates.append(update)

    def ioc(qty: int, limit_price: float) -> Order:
        return client.submit_order(
            LimitOrderRequest(
                symbol="SCHD",
                qty=qty,
                side=OrderSide.BUY,
                time_in_force=TimeInForce.IOC,
                limit_price=limit_price,
            )
        )

    stream = TradingStream(key_id, SECRET, url_override=ws_url(sandbox))
    stream.subscribe_trade_updates(on_update)
    runner = asyncio.create_task(stream._run_forever())
    try:
        await wait_until(lambda: sandbox.sandbox.hub.find("alpaca-ws"), what="socket open")
        session = sandbox.sandbox.hub.find("alpaca-ws")[0]
        await wait_until(lambda: session.listening, what="listening")
        resting = await asyncio.to_thread(ioc, 5, 1)
        big = await asyncio.to_thread(ioc, 300, 40)
        assert resting.time_in_force == TimeInForce.IOC
        await asyncio.to_thread(control.step)  # both Live
        await asyncio.to_thread(control.step)  # the first fill attempt
        for _ in range(3):  # nothing is left to work
            await asyncio.to_thread(control.step)

        def events(order: Order) -> list[str]:
            return [u.event for u in updates if u.order.id == order.id]

        await wait_until(
            lambda: "canceled" in events(resting) and "canceled" in events(big),
            what="canceled updates",
        )
    finally:
        await stream.stop_ws()
        await asyncio.wait_for(runner, 10)
    assert events(resting) == ["new", "canceled"]
    assert events(big) == ["new", "partial_fill", "canceled"]
    partial = next(u for u in updates if u.order.id == big.id and u.event == "partial_fill")
    canceled = client.get_order_by_id(big.id)
    assert canceled.status == OrderStatus.CANCELED and canceled.canceled_at is not None
    assert 0 < float(canceled.filled_qty) < 300 and float(canceled.filled_qty) == partial.qty
    nothing = client.get_order_by_id(resting.id)
    assert nothing.status == OrderStatus.CANCELED and float(nothing.filled_qty) == 0


def test_ioc_is_refused_for_options(client):
    """Alpaca's options take `day` and `gtc` only: an `ioc` option order, new or as a
    replacement, is bad input (422), nothing placed."""
    contract = client.get_option_contracts(
        GetOptionContractsRequest(underlying_symbols=["SPY"])
    ).option_contracts[0]
    order = LimitOrderRequest(
        symbol=contract.symbol, qty=1, side=OrderSide.BUY, time_in_force=TimeInForce.IOC,
        limit_price=0.01,
    )  # fmt: skip
    refused = api_error(lambda: client.submit_order(order))
    assert refused.status_code == 422 and refused.code == 40010000
    assert "not supported for options" in refused.message
    assert client.get_orders(GetOrdersRequest(status=QueryOrderStatus.ALL)) == []
    day = client.submit_order(order.model_copy(update={"time_in_force": TimeInForce.DAY}))
    replace = ReplaceOrderRequest(time_in_force=TimeInForce.IOC)
    refused = api_error(lambda: client.replace_order_by_id(day.id, replace))
    assert refused.status_code == 422 and refused.code == 40010000
    assert client.get_order_by_id(day.id).status == OrderStatus.NEW
