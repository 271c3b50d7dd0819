"""The demo accounts hold what real accounts hold (`SandboxConfig.demo_holdings`,
sandbox/core/demo_seed.py), each as its broker offers it, read by the official clients
over real sockets:

- tastytrade (SDK): an OTOCO complex order (developer.tastytrade.com order-submission,
  "OTOCO"; SDK `Account.get_live_complex_orders`), a Stop under SPY, a `BTC/USD`
  Cryptocurrency position and a call on the /ES future (api-guides/instruments);
- Tradier (its documented REST API): an otoco order with its `leg` array and a stop
  (docs.tradier.com "OTOCO Order", "Get an account's orders"); no crypto;
- Alpaca (alpaca-py): a bracket read with `nested=true`, a stop, a trailing stop with
  `trail_percent` and `hwm` (alpaca-docs content/trading/orders.md), and a crypto
  position spelled `BTCUSD` with `asset_class` crypto (alpaca-py #537).

With the flag off (every other test), a customer starts with no working order.

The demo's order generator (`--demo-orders`) trades symbols of its own (docs/sandbox.md,
"Demo orders"), never what a demo account holds, and cancels only its own orders.
"""

from __future__ import annotations

import asyncio
import uuid
from decimal import Decimal

import anyio
import pytest
from alpaca.trading.client import TradingClient
from alpaca.trading.enums import AssetClass, OrderClass, OrderStatus, OrderType, QueryOrderStatus
from alpaca.trading.requests import GetOrdersRequest
from tastytrade import Account
from tastytrade.order import (
    InstrumentType,
    Leg,
    LimitOrder,
    OrderAction,
    OrderTimeInForce,
    PlacedOrder,
)
from tastytrade.order import OrderStatus as TTStatus
from tastytrade.order import OrderType as TTType

from sandbox.core import demo_seed
from sandbox.core.brokerage import Brokerage
from sandbox.core.config import SandboxConfig
from sandbox.core.records import WORKING_STATUSES
from tests.support.core_market import Clock, Market
from tests.support.sdk import alert_streamer, sdk_session
from tests.support.tradier import tradier_client

#: Orders advance only on `control.step()`: a bracket's entry is Live after the first,
#: filled after the second.
HOLDINGS = SandboxConfig(tick_rate=20.0, order_step_interval=0, demo_holdings=True)


@pytest.fixture
def sandbox_config() -> SandboxConfig:
    return HOLDINGS


def alpaca_client(sandbox) -> TradingClient:
    key = f"AK{uuid.uuid4().hex[:14].upper()}"
    return TradingClient(key, "paper-secret", paper=True, url_override=f"{sandbox.url}/alpaca")


def test_alpaca_holds_a_bracket_a_stop_a_trailing_stop_and_bitcoin(sandbox, control):
    client = alpaca_client(sandbox)
    coin = next(p for p in client.get_all_positions() if p.asset_class == AssetClass.CRYPTO)
    assert (coin.symbol, Decimal(coin.qty), coin.exchange) == ("BTCUSD", Decimal("0.25"), "CRYPTO")
    assert 50_000 < float(coin.current_price) < 200_000
    control.step()  # Received → Live
    control.step()  # the bracket's market entry fills; its exits then work
    orders = client.get_orders(GetOrdersRequest(status=QueryOrderStatus.ALL, nested=True))
    by_type = {(o.symbol, o.order_class, o.type): o for o in orders}
    bracket = by_type[("MSFT", OrderClass.BRACKET, OrderType.MARKET)]
    assert bracket.status == OrderStatus.FILLED
    take_profit, stop_loss = bracket.legs
    assert (take_profit.type, take_profit.status) == (OrderType.LIMIT, OrderStatus.NEW)
    assert (stop_loss.type, stop_loss.status) == (OrderType.STOP, OrderStatus.NEW)
    assert Decimal(stop_loss.stop_price) < Decimal(take_profit.limit_price)
    stop = by_type[("SPY", OrderClass.SIMPLE, OrderType.STOP)]
    assert (stop.side, stop.status, Decimal(stop.qty)) == ("sell", OrderStatus.NEW, 10)
    trailing = by_type[("AAPL", OrderClass.SIMPLE, OrderType.TRAILING_STOP)]
    assert (Decimal(trailing.trail_percent), Decimal(trailing.qty)) == (4, 50)
    high, stop_price = Decimal(trailing.hwm), Decimal(trailing.stop_price)
    assert abs(stop_price - high * Decimal("0.96")) <= Decimal("0.01")


def test_tastytrade_holds_an_otoco_a_stop_and_bitcoin(sandbox, control, refresh_token):
    async def read():
        async with sdk_session(sandbox, refresh_token) as session:
            margin = (await Account.get(session))[0]
            positions = await margin.get_positions(session)
            control.step()  # Received → Live
            control.step()  # the OTOCO's entry: Live, then filled
            return (
                positions,
                await margin.get_live_orders(session),
                await margin.get_live_complex_orders(session),
            )

    positions, orders, complex_orders = asyncio.run(read())
    coin = next(p for p in positions if p.instrument_type == InstrumentType.CRYPTOCURRENCY)
    assert (coin.symbol, coin.quantity) == ("BTC/USD", Decimal("0.25"))
    [call] = [p for p in positions if p.instrument_type == InstrumentType.FUTURE_OPTION]
    assert call.symbol.startswith("./ES") and call.underlying_symbol.startswith("/ES")
    assert (call.quantity, call.multiplier) == (1, 50)
    [otoco] = complex_orders
    assert otoco.type == "OTOCO" and otoco.trigger_order.status == TTStatus.FILLED
    assert sorted(o.order_type for o in otoco.orders) == [TTType.LIMIT, TTType.STOP]
    assert {o.status for o in otoco.orders} == {TTStatus.LIVE}
    stops = [o for o in orders if o.legs[0].symbol == "SPY" and o.order_type == TTType.STOP]
    assert [(o.status, o.stop_trigger > 0) for o in stops] == [(TTStatus.LIVE, True)]


def test_tradier_holds_an_otoco_and_a_stop_and_no_crypto(sandbox, control):
    with tradier_client(sandbox) as api:
        profile = api.get("/v1/user/profile").json()["profile"]["account"]
        margin = next(a for a in profile if a["type"] == "margin")["account_number"]
        held = api.get(f"/v1/accounts/{margin}/positions").json()["positions"]["position"]
        assert "BTC/USD" not in {p["symbol"] for p in held}
        control.step()  # pending → open
        control.step()  # the otoco's entry: open, then filled
        items = api.get(f"/v1/accounts/{margin}/orders").json()["orders"]["order"]
    [otoco] = [o for o in items if o["class"] == "otoco"]
    legs = otoco["leg"]
    assert [(leg["type"], leg["status"]) for leg in legs] == [
        ("market", "filled"),
        ("limit", "open"),
        ("stop", "open"),
    ]
    [stop] = [o for o in items if o["class"] == "equity" and o["type"] == "stop"]
    assert (stop["symbol"], stop["side"], stop["status"]) == ("SPY", "sell", "open")
    assert stop["stop_price"] > 0


def test_without_the_flag_a_customer_starts_with_no_working_order(sandbox, control):
    control.configure(demo_holdings=False)
    client = alpaca_client(sandbox)
    assert client.get_orders(GetOrdersRequest(status=QueryOrderStatus.ALL)) == []
    assert AssetClass.CRYPTO not in {p.asset_class for p in client.get_all_positions()}


def test_the_demos_own_orders_never_cancel_a_holding():
    """The demo's random orders cancel their own stale ones (three working at most), never
    a holding's stop or trailing stop (core brokerage, a market the test holds still)."""
    broker = Brokerage(Market(), seed=7, clock=Clock())
    margin, _ = broker.open_customer("alpaca-demo", demo_seed.ALPACA)

    def working() -> set[int | None]:
        return {o.id for o in broker.live_orders(margin) if o.status in WORKING_STATUSES}

    held = working()
    assert len(held) == 5  # the bracket's three, the stop, the trailing stop
    for _ in range(12):
        broker.demo_order(margin)
    assert held <= working()


#: The generator at full speed (an order per account every 20 ms) over a market that stands
#: still, so its marketable orders fill and its resting ones wait.
GENERATOR = SandboxConfig(
    tick_rate=0, order_step_interval=0.02, demo_order_interval=0.02, demo_holdings=True
)
#: What the generator's orders carry as their `source`, and the symbols it trades
#: (docs/sandbox.md "Demo orders").
DEMO_SOURCE = "streamdesk-sandbox-demo"
GENERATOR_SYMBOLS = {"AMZN", "GOOGL", "DIA", "IWM"}


def _underlying(order: PlacedOrder) -> str:
    return order.underlying_symbol or order.legs[0].symbol.split()[0]


@pytest.mark.parametrize("sandbox_config", [GENERATOR])
async def test_the_demo_order_generator_never_trades_what_the_demo_holds(sandbox, refresh_token):
    async with sdk_session(sandbox, refresh_token) as session:
        accounts = await Account.get(session)
        margin = accounts[0]
        with anyio.fail_after(10):  # the holdings' bracket entry fills on the first steps
            while "MSFT" not in {p.symbol for p in await margin.get_positions(session)}:
                await anyio.sleep(0.02)
        held = {a.account_number: await a.get_positions(session) for a in accounts}
        seeded = {n: {p.symbol: p.quantity for p in ps} for n, ps in held.items()}
        underlyings = {p.underlying_symbol for ps in held.values() for p in ps}
        # the trader's own resting order: the generator must leave it working
        leg = Leg(
            instrument_type=InstrumentType.EQUITY,
            symbol="SPY",
            action=OrderAction.BUY_TO_OPEN,
            quantity=Decimal(1),
        )
        own = LimitOrder(time_in_force=OrderTimeInForce.GTC, legs=[leg], price=Decimal("-1.00"))
        mine = (await margin.place_order(session, own, dry_run=False)).order
        generated: dict[int, PlacedOrder] = {}
        async with alert_streamer(session, sandbox) as streamer:
            await streamer.subscribe_accounts(accounts)  # the generator trades watched ones
            with anyio.fail_after(60):
                async for order in streamer.listen(PlacedOrder):
                    if order.source == DEMO_SOURCE:
                        generated[order.id] = order
                    sold = [
                        o
                        for o in generated.values()
                        if o.status == TTStatus.FILLED
                        and o.legs[0].action == OrderAction.SELL_TO_CLOSE
                    ]
                    if len(generated) >= 60 and sold:
                        break
        after = {a.account_number: await a.get_positions(session) for a in accounts}
        [otoco] = await margin.get_live_complex_orders(session)
        live = {o.id: o for o in await margin.get_live_orders(session)}
    traded = {_underlying(o) for o in generated.values()}
    assert traded <= GENERATOR_SYMBOLS and not traded & underlyings, traded
    for number, symbols in seeded.items():
        now = {p.symbol: p.quantity for p in after[number]}
        assert {s: now.get(s) for s in symbols} == symbols, number
    assert {o.status for o in otoco.orders} == {TTStatus.LIVE}
    assert live[mine.id].status == TTStatus.LIVE
    stops = [o for o in live.values() if o.order_type == TTType.STOP and o.legs[0].symbol == "SPY"]
    assert [o.status for o in stops] == [TTStatus.LIVE]
