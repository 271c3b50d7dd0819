"""Alpaca's notional (dollar) orders, fractional quantities and crypto orders at the sandbox,
placed, filled and read back by the official, unmodified alpaca-py 0.44 (`TradingClient`,
`BrokerClient`) over real sockets.

Sources:
- alpacahq/alpaca-docs content/trading/fractional-trading.md ("Fractional Trading"): "You
  can pass either a fractional amount (`qty`), or a notional value (`notional`)"; "Both
  `notional` and `qty` fields can take up to 9 decimal point values"; "buy as little as $1
  worth of shares"; "We do not support short sales in fractional orders"; and
  content/trading/orders.md (fractional orders: market, limit, stop, stop_limit, `day`).
- alpacahq/alpaca-docs content/trading/crypto-trading.md: `BTC/USD` ("previously referred
  to as `BTCUSD`. Our API has made proper changes to support the legacy convention"); "Market,
  Limit and Stop Limit orders are supported while the supported `time_in_force` values are
  `gtc`, and `ioc`"; "fractional orders as well with either `notional` or `qty`";
  "Cryptocurrencies are not shortable"; the crypto Asset (`class` crypto, `fractionable`,
  `min_order_size`, `min_trade_increment`, `price_increment`).
- Alpaca's API reference, `DELETE /v2/positions/{symbol_or_asset_id}`: `qty` "Can accept
  up to 9 decimal points"; `percentage` "Would only sell fractional if position is
  originally fractional".
- alpaca-py trading/requests.py: `MarketOrderRequest`/`LimitOrderRequest` (`qty` or
  `notional`: "Fractional qty for stocks only with market orders", notional "For stocks,
  only works with MarketOrders"), `GetAssetsRequest(asset_class=AssetClass.CRYPTO)`;
  trading/models.py `Order` (`notional`, `qty` null for a notional order, `filled_qty`),
  `Asset`, `Position`.

Prices stand still here (`tick_rate=0`; orders advance only on `control.step()`), so a
fill's price is the quote read just before the step: a buy fills at the ask, a sell at the
bid. A market order is `new` after one step and filled after the next.
"""

from __future__ import annotations

import uuid
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

import httpx
import pytest
from alpaca.broker import BrokerClient
from alpaca.common.exceptions import APIError
from alpaca.trading.client import TradingClient
from alpaca.trading.enums import (
    AssetClass,
    AssetExchange,
    OrderSide,
    OrderStatus,
    OrderType,
    QueryOrderStatus,
    TimeInForce,
)
from alpaca.trading.models import Order
from alpaca.trading.requests import (
    ClosePositionRequest,
    GetAssetsRequest,
    GetOrdersRequest,
    LimitOrderRequest,
    MarketOrderRequest,
    ReplaceOrderRequest,
)

from sandbox.core.brokerage import Brokerage
from sandbox.core.config import SandboxConfig
from sandbox.core.records import LegRequest, OrderRejected, OrderRequest
from tests.support import alpaca as shared
from tests.support import core_market

SECRET = "paper-secret-value"
STOCK = "AAPL"  # every plain margin account holds some (sandbox/core/demo_seed.py)
BTC_FEED = "BTC/USD:CXTALP"  # the market's bitcoin (sandbox/core/market/listings.py)
NINE = Decimal("0.000000001")

key_id = shared.key_id  # a fresh key (customer) per test


@pytest.fixture
def sandbox_config() -> SandboxConfig:
    """Prices stand still; orders advance only on control.step()."""
    return SandboxConfig(tick_rate=0.0, order_step_interval=0)


@pytest.fixture
def client(sandbox, key_id) -> TradingClient:
    return TradingClient(key_id, SECRET, paper=True, url_override=f"{sandbox.url}/alpaca")


def dec(value) -> Decimal:
    return Decimal(str(value))


def cents(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def set_coin_price(sandbox, feed_symbol: str, price: float) -> None:
    """Jump a coin's price through the control API (`/_sandbox/price`); the market stands
    still, so nothing races it."""
    control = sandbox.control()
    try:
        control.set_price(feed_symbol, price)
    finally:
        control.close()


def quote(sandbox, symbol: str) -> tuple[Decimal, Decimal]:
    """The market's (bid, ask) now: what a fill at the next step trades at."""
    q = sandbox.sandbox.market.quote(symbol)
    return dec(q["bidPrice"]), dec(q["askPrice"])


def two_steps(control, client: TradingClient, order_id) -> Order:
    """Two steps (`new`, then the fill) and the order as it then reads."""
    control.step()
    control.step()
    return client.get_order_by_id(order_id)


def held(client: TradingClient, symbol: str) -> Decimal:
    return next((dec(p.qty) for p in client.get_all_positions() if p.symbol == symbol), Decimal(0))


def refused(call, *args, **kwargs) -> APIError:
    with pytest.raises(APIError) as caught:
        call(*args, **kwargs)
    return caught.value


def test_a_notional_buy_fills_the_fractional_quantity_the_dollars_buy(sandbox, client, control):
    """fractional-trading.md's "Notional Request": `notional` 500 on a market day order;
    the order shows `notional` "500" and `qty` null; it fills at the ask with `filled_qty`
    = 500 / fill price to 9 decimals (rounded down: never more than the notional), the
    position grows by that fraction and the cash falls by its cost, to the cent."""
    control.set_price(STOCK, 201.37)
    before, cash = held(client, STOCK), dec(client.get_account().cash)
    placed = client.submit_order(
        MarketOrderRequest(
            symbol=STOCK, notional=500, side=OrderSide.BUY, time_in_force=TimeInForce.DAY
        )
    )
    assert (placed.notional, placed.qty, placed.type) == ("500", None, OrderType.MARKET)
    assert placed.status == OrderStatus.NEW and placed.asset_class == AssetClass.US_EQUITY
    _, ask = quote(sandbox, STOCK)
    done = two_steps(control, client, placed.id)
    qty = (Decimal(500) / ask).quantize(NINE, rounding=ROUND_DOWN)
    assert qty != qty.to_integral_value()  # a fraction of a share
    assert done.status == OrderStatus.FILLED and dec(done.filled_avg_price) == ask
    assert dec(done.filled_qty) == qty and (done.notional, done.qty) == ("500", None)
    assert held(client, STOCK) == before + qty
    assert dec(client.get_account().cash) == cash - cents(qty * ask)


def test_a_notional_sell_sells_that_many_dollars_of_a_holding(sandbox, client, control):
    """A sell `notional` 250 of a long position sells 250 / bid (9 decimals) at the bid,
    leaving a fractional position; a notional sell worth more than is held is refused as
    Alpaca refuses a sell over the quantity available (403 `40310000`): no short sales in
    fractional orders (fractional-trading.md). Closing 50 % of the now fractional position
    sells half of it to 9 decimals."""
    control.set_price(STOCK, 198.43)
    before = held(client, STOCK)
    bid, _ = quote(sandbox, STOCK)
    placed = client.submit_order(
        MarketOrderRequest(
            symbol=STOCK, notional=250, side=OrderSide.SELL, time_in_force=TimeInForce.DAY
        )
    )
    assert (placed.notional, placed.qty, placed.side) == ("250", None, OrderSide.SELL)
    done = two_steps(control, client, placed.id)
    qty = (Decimal(250) / bid).quantize(NINE, rounding=ROUND_DOWN)
    assert done.status == OrderStatus.FILLED and dec(done.filled_avg_price) == bid
    assert dec(done.filled_qty) == qty
    left = held(client, STOCK)
    assert left == before - qty and left != left.to_integral_value()

    too_much = cents(left * bid) + 100
    error = refused(
        client.submit_order,
        MarketOrderRequest(
            symbol=STOCK, notional=too_much, side=OrderSide.SELL, time_in_force=TimeInForce.DAY
        ),
    )
    asked = (too_much / bid).quantize(NINE, rounding=ROUND_DOWN)
    assert (error.status_code, error.code) == (403, 40310000)
    assert error.message == (
        f"insufficient qty available for order (requested: {asked.normalize():f}, "
        f"available: {left.normalize():f})"
    )
    # closing half of a fractional position sells a fraction: "Would only sell fractional
    # if position is originally fractional" (Alpaca's API reference, DELETE
    # /v2/positions/{symbol_or_asset_id} `percentage`; alpaca-py `close_position`)
    half = (left / 2).quantize(NINE, rounding=ROUND_DOWN)
    closing = client.close_position(STOCK, ClosePositionRequest(percentage="50"))
    assert dec(closing.qty) == half and closing.side == OrderSide.SELL
    assert two_steps(control, client, closing.id).status == OrderStatus.FILLED
    assert held(client, STOCK) == left - half


def test_a_fractional_limit_day_order_rests_then_fills_its_fraction(sandbox, client, control):
    """orders.md: a fractional `qty` "0.5" on a limit day order. Below the market it rests
    (`new`, `qty` "0.5"); once the ask falls to the limit it fills half a share at the ask.
    Replacing a resting fractional order with `time_in_force` gtc is refused (fractional
    orders are day orders)."""
    control.set_price(STOCK, 210.0)
    before = held(client, STOCK)
    placed = client.submit_order(
        LimitOrderRequest(
            symbol=STOCK,
            qty=0.5,
            side=OrderSide.BUY,
            time_in_force=TimeInForce.DAY,
            limit_price=200,
        )
    )
    assert (placed.qty, placed.notional, dec(placed.limit_price)) == ("0.5", None, 200)
    resting = two_steps(control, client, placed.id)  # two steps: not marketable
    assert resting.status == OrderStatus.NEW and dec(resting.filled_qty) == 0
    error = refused(
        client.replace_order_by_id, placed.id, ReplaceOrderRequest(time_in_force=TimeInForce.GTC)
    )
    assert (error.status_code, error.code) == (422, 40010000)
    assert error.message == "fractional orders must be day orders"

    control.set_price(STOCK, 195.0)
    _, ask = quote(sandbox, STOCK)
    control.step()
    done = client.get_order_by_id(placed.id)
    assert done.status == OrderStatus.FILLED and dec(done.filled_qty) == Decimal("0.5")
    assert dec(done.filled_avg_price) == ask
    assert held(client, STOCK) == before + Decimal("0.5")


def test_a_crypto_market_buy_fills_at_the_ask_and_holds_a_fractional_coin(sandbox, client, control):
    """crypto-trading.md's example: `BTC/USD`, `qty` 0.01, market, gtc. The order is
    `asset_class` crypto, `symbol` BTC/USD; it fills at the ask; the position reads as
    Alpaca spells coin positions, `BTCUSD` (class crypto, exchange CRYPTO, qty "0.01"),
    with the asset id of `get_asset("BTC/USD")`; the cash pays for it."""
    set_coin_price(sandbox, BTC_FEED, 61234.5)
    cash = dec(client.get_account().cash)
    placed = client.submit_order(
        MarketOrderRequest(
            symbol="BTC/USD", qty=0.01, side=OrderSide.BUY, time_in_force=TimeInForce.GTC
        )
    )
    assert (placed.symbol, placed.asset_class, placed.qty) == ("BTC/USD", AssetClass.CRYPTO, "0.01")
    assert placed.time_in_force == TimeInForce.GTC and placed.status == OrderStatus.NEW
    _, ask = quote(sandbox, BTC_FEED)
    done = two_steps(control, client, placed.id)
    assert done.status == OrderStatus.FILLED and dec(done.filled_avg_price) == ask
    assert dec(done.filled_qty) == Decimal("0.01")
    (coin,) = [p for p in client.get_all_positions() if p.asset_class == AssetClass.CRYPTO]
    assert (coin.symbol, coin.exchange, dec(coin.qty)) == ("BTCUSD", "CRYPTO", Decimal("0.01"))
    assert dec(coin.avg_entry_price) == ask
    assert coin.asset_id == client.get_asset("BTC/USD").id == placed.asset_id
    assert dec(client.get_account().cash) == cash - cents(Decimal("0.01") * ask)


def test_crypto_by_the_legacy_symbol_limit_and_notional(sandbox, client, control):
    """The legacy `BTCUSD` places a `BTC/USD` order (crypto-trading.md); a marketable
    crypto limit gtc order fills at the ask; a crypto `notional` (here ioc) buys
    notional / ask to 9 decimals."""
    set_coin_price(sandbox, BTC_FEED, 58000.0)
    set_coin_price(sandbox, "ETH/USD:CXTALP", 3123.45)
    limit = client.submit_order(
        LimitOrderRequest(
            symbol="BTCUSD",
            qty=0.002,
            side=OrderSide.BUY,
            time_in_force=TimeInForce.GTC,
            limit_price=60000,
        )
    )
    assert (limit.symbol, limit.asset_class, dec(limit.limit_price)) == (
        "BTC/USD",
        AssetClass.CRYPTO,
        60000,
    )
    _, btc_ask = quote(sandbox, BTC_FEED)
    _, eth_ask = quote(sandbox, "ETH/USD:CXTALP")
    dollars = client.submit_order(
        MarketOrderRequest(
            symbol="ETH/USD", notional=100, side=OrderSide.BUY, time_in_force=TimeInForce.IOC
        )
    )
    assert (dollars.notional, dollars.qty, dollars.asset_class) == ("100", None, AssetClass.CRYPTO)
    done = two_steps(control, client, limit.id)
    assert done.status == OrderStatus.FILLED and dec(done.filled_avg_price) == btc_ask
    assert dec(done.filled_qty) == Decimal("0.002")
    eth = client.get_order_by_id(dollars.id)
    assert eth.status == OrderStatus.FILLED and dec(eth.filled_avg_price) == eth_ask
    assert dec(eth.filled_qty) == (Decimal(100) / eth_ask).quantize(NINE, rounding=ROUND_DOWN)
    listed = client.get_orders(GetOrdersRequest(status=QueryOrderStatus.ALL, symbols=["BTCUSD"]))
    assert [o.id for o in listed] == [limit.id]


def test_a_coin_sells_what_is_held_and_no_more(sandbox, client, control):
    """crypto-trading.md: "Cryptocurrencies are not shortable". After buying 0.01 BTC, a
    sell of 0.004 fills and 0.006 is left; a sell of 0.01 is refused (403 `40310000`,
    Alpaca's "insufficient balance" words), and nothing is placed. The rest closes by the
    position's own spelling, `DELETE /v2/positions/BTCUSD` (alpaca-py `close_position`)."""
    set_coin_price(sandbox, BTC_FEED, 60000.0)
    bought = client.submit_order(
        MarketOrderRequest(
            symbol="BTC/USD", qty=0.01, side=OrderSide.BUY, time_in_force=TimeInForce.GTC
        )
    )
    assert two_steps(control, client, bought.id).status == OrderStatus.FILLED
    sold = client.submit_order(
        MarketOrderRequest(
            symbol="BTC/USD", qty=0.004, side=OrderSide.SELL, time_in_force=TimeInForce.GTC
        )
    )
    assert two_steps(control, client, sold.id).status == OrderStatus.FILLED
    assert held(client, "BTCUSD") == Decimal("0.006")
    error = refused(
        client.submit_order,
        MarketOrderRequest(
            symbol="BTC/USD", qty=0.01, side=OrderSide.SELL, time_in_force=TimeInForce.GTC
        ),
    )
    assert (error.status_code, error.code) == (403, 40310000)
    assert error.message == "insufficient balance for BTC (requested: 0.01, available: 0.006)"
    assert len(client.get_orders(GetOrdersRequest(status=QueryOrderStatus.ALL))) == 2
    # the rest closes by the position's own spelling (DELETE /v2/positions/BTCUSD)
    assert dec(client.get_open_position("BTCUSD").qty) == Decimal("0.006")
    closing = client.close_position("BTCUSD")
    assert (closing.symbol, closing.qty, closing.side) == ("BTC/USD", "0.006", OrderSide.SELL)
    assert two_steps(control, client, closing.id).status == OrderStatus.FILLED
    assert held(client, "BTCUSD") == 0


def test_a_crypto_day_order_is_refused(sandbox, client):
    """crypto-trading.md: "We only support `gtc` and `ioc` time in force options for crypto
    orders" — alpaca-py's `MarketOrderRequest(time_in_force=DAY)` for BTC/USD gets 422."""
    set_coin_price(sandbox, BTC_FEED, 60000.0)
    error = refused(
        client.submit_order,
        MarketOrderRequest(
            symbol="BTC/USD", qty=0.01, side=OrderSide.BUY, time_in_force=TimeInForce.DAY
        ),
    )
    assert (error.status_code, error.code) == (422, 40010000)
    assert error.message == "invalid crypto time_in_force: day (gtc or ioc)"


ORDER = {"symbol": STOCK, "side": "buy", "type": "market", "time_in_force": "day"}
COIN = {"symbol": "BTC/USD", "side": "buy", "type": "market", "time_in_force": "gtc"}


@pytest.mark.parametrize(
    ("body", "status", "code", "message"),
    [
        (
            {**ORDER, "qty": "1", "notional": "500"},
            422,
            40010000,
            "qty and notional cannot both be given",
        ),
        (
            {**ORDER, "notional": "500", "type": "limit", "limit_price": "100"},
            422,
            40010000,
            "notional orders must be market orders",
        ),
        (
            {**ORDER, "notional": "500", "type": "stop", "stop_price": "300"},
            422,
            40010000,
            "notional orders must be market orders",
        ),
        (
            {**ORDER, "notional": "500", "time_in_force": "gtc"},
            422,
            40010000,
            "notional orders of stocks must be day orders",
        ),
        ({**ORDER, "notional": "0.99"}, 422, 40010000, "notional must be >= 1"),
        (
            {**ORDER, "symbol": "NOT-A-TICKER!", "side": "sell", "notional": "50"},
            422,
            40010000,
            "asset NOT-A-TICKER! not found",
        ),
        (
            {**ORDER, "qty": "0.5", "time_in_force": "gtc"},
            422,
            40010000,
            "fractional orders must be day orders",
        ),
        (
            {**ORDER, "qty": "0.5", "side": "sell", "type": "trailing_stop", "trail_percent": "2"},
            422,
            40010000,
            "fractional orders are not supported for trailing_stop orders",
        ),
        (
            {**ORDER, "qty": "0.0000000001"},
            422,
            40010000,
            "qty must have at most 9 decimal places",
        ),
        (
            {**ORDER, "symbol": "AAPL261218C00200000", "qty": "0.5"},
            422,
            40010000,
            "fractional orders are not supported for options: qty must be whole",
        ),
        (
            {**ORDER, "qty": "0.5", "order_class": "bracket", "take_profit": {"limit_price": "300"}}
            | {"stop_loss": {"stop_price": "100"}},
            422,
            40010000,
            "fractional qty is not supported for bracket orders: give whole shares",
        ),
        (
            {**COIN, "qty": "0.01", "time_in_force": "day"},
            422,
            40010000,
            "invalid crypto time_in_force: day (gtc or ioc)",
        ),
        (
            {**COIN, "qty": "0.01", "time_in_force": "fok"},
            422,
            40010000,
            "invalid crypto time_in_force: fok (gtc or ioc)",
        ),
        (
            {**COIN, "qty": "0.01", "type": "stop", "stop_price": "70000"},
            422,
            40010000,
            "stop orders are not supported for crypto (market, limit or stop_limit)",
        ),
        (
            {**COIN, "qty": "0.01", "side": "sell"},
            403,
            40310000,
            "insufficient balance for BTC (requested: 0.01, available: 0)",
        ),
        ({**COIN, "notional": "0.5"}, 422, 40010000, "notional must be >= 1"),
    ],
)
def test_refusals_in_alpacas_shape(sandbox, client, control, key_id, body, status, code, message):
    """What Alpaca refuses (fractional-trading.md, crypto-trading.md, orders.md), sent raw
    (alpaca-py refuses qty with notional before sending): Alpaca's `{"code", "message"}`,
    and no order is placed."""
    control.set_price(STOCK, 200.0)
    set_coin_price(sandbox, BTC_FEED, 60000.0)
    client.get_account()  # the key's first use opens its customer
    headers = {"APCA-API-KEY-ID": key_id, "APCA-API-SECRET-KEY": SECRET}
    with httpx.Client(base_url=f"{sandbox.url}/alpaca", headers=headers, timeout=10) as raw:
        answer = raw.post("/v2/orders", json=body)
        assert answer.status_code == status, answer.text
        assert answer.json() == {"code": code, "message": message}
        assert raw.get("/v2/orders", params={"status": "all"}).json() == []


def test_the_market_coins_are_crypto_assets_of_both_apis(sandbox, client):
    """crypto-trading.md "Supported Assets": `GET /v2/assets?asset_class=crypto`
    (alpaca-py `get_all_assets(GetAssetsRequest(asset_class=AssetClass.CRYPTO))`) lists the
    market's coins as crypto Assets — class crypto, exchange CRYPTO, fractionable, neither
    marginable nor shortable, with `min_order_size` (about $1 of the coin),
    `min_trade_increment` (9 decimals) and `price_increment`; `get_asset` finds one by
    `BTC/USD`, by the legacy `BTCUSD` and by its id; the Broker API's `/v1/assets` is the
    same list."""
    coins = client.get_all_assets(GetAssetsRequest(asset_class=AssetClass.CRYPTO))
    assert [a.symbol for a in coins] == ["BTC/USD", "ETH/USD", "SOL/USD"]
    assert {(a.asset_class, a.exchange) for a in coins} == {
        (AssetClass.CRYPTO, AssetExchange.CRYPTO)
    }
    assert all(a.fractionable and a.tradable for a in coins)
    assert not any(a.marginable or a.shortable for a in coins)
    assert [a.min_order_size for a in coins] == [0.000011, 0.0003, 0.0056]
    assert {(a.min_trade_increment, a.price_increment) for a in coins} == {(1e-9, 0.01)}
    btc = client.get_asset("BTC/USD")
    assert btc == coins[0] == client.get_asset("BTCUSD") == client.get_asset(btc.id)
    assert btc.name == "Bitcoin / US Dollar"
    stocks = client.get_all_assets(GetAssetsRequest(asset_class=AssetClass.US_EQUITY))
    assert "BTC/USD" not in {a.symbol for a in stocks}
    broker = BrokerClient(  # a Broker key of its own (a key serves one API)
        f"AK{uuid.uuid4().hex[:14].upper()}",
        SECRET,
        sandbox=True,
        url_override=f"{sandbox.url}/alpaca",
    )
    assert broker.get_all_assets(GetAssetsRequest(asset_class=AssetClass.CRYPTO)) == coins
    assert broker.get_asset("BTCUSD") == btc


def test_only_a_fractional_request_takes_parts_of_a_unit_in_the_core():
    """docs/sandbox.md "The core brokerage": tastytrade's and Tradier's façades build
    requests without `fractional`, so the core refuses a fractional quantity and a notional
    order for them exactly as before (422 `invalid_quantity` / `invalid_notional`), and a
    coin (it trades in parts of a unit: `unsupported_instrument_type`); the same request
    marked `fractional` (Alpaca's) is taken, sized to 9 decimals, and a notional order is
    sized again at the price it fills at."""
    market, clock = core_market.Market(), core_market.Clock()
    core = Brokerage(market, clock=clock)
    number = core.open_customer("fractional")[0]  # the margin account
    half = (LegRequest("AAPL", "Buy to Open", Decimal("0.5"), "Equity"),)
    with pytest.raises(OrderRejected) as whole_only:
        core.place_order(number, OrderRequest("Market", half))
    assert (whole_only.value.code, whole_only.value.message) == (
        "invalid_quantity",
        "Fractional quantities are not supported.",
    )
    dollars = (LegRequest("AAPL", "Buy to Open", Decimal(0), "Equity"),)
    with pytest.raises(OrderRejected) as no_notional:
        core.place_order(number, OrderRequest("Market", dollars, notional=Decimal(500)))
    assert no_notional.value.code == "invalid_notional"
    coin = (LegRequest("BTC/USD", "Buy to Open", Decimal(1), "Cryptocurrency"),)
    with pytest.raises(OrderRejected) as no_coin:
        core.place_order(number, OrderRequest("Market", coin))
    assert no_coin.value.code == "unsupported_instrument_type"

    taken = core.place_order(number, OrderRequest("Market", half, fractional=True)).order
    assert taken.legs[0].quantity == Decimal("0.5")
    market.prices["AAPL"] = 200.0  # ask 200.01 when placed
    notional = OrderRequest("Market", dollars, fractional=True, notional=Decimal(500))
    placed = core.place_order(number, notional).order
    assert placed.legs[0].quantity == Decimal("2.499875006")  # 500 / 200.01, rounded down
    market.prices["AAPL"] = 250.0  # the fill's ask: 250.01
    core.step()
    core.step()
    done = core.order(number, placed.id)
    assert done is not None and done.status == "Filled"
    assert done.legs[0].quantity == done.legs[0].filled_quantity == Decimal("1.999920003")
