"""Every kind of instrument, at each broker that trades it, from the broker's documented
example through the ticket (the app's HTTP API on a real daphne) to the broker's own
client reading the order back — none of the app's code on the way back: tastytrade's SDK
(`Account.get_live_orders`), alpaca-py's `BrokerClient` (the demo's Alpaca link is a
Broker API key) and Tradier's documented REST API over httpx. The sandbox holds the demo's
accounts (`--demo-holdings`): bitcoin at tastytrade (`BTC/USD`) and Alpaca (`BTCUSD`), an
/ES Dec 26 6000 call at tastytrade.

Examples: developer.tastytrade.com "Order Submission" ("Notional Cryptocurrency Order":
$10 of BTC/USD, GTC; "Short Futures Limit Order": sell 1 future at a limit, Day),
docs.alpaca.markets "Crypto Orders" (buy 0.0001 BTC/USD at market, gtc). Tradier trades
neither: it is told so in words. docs/streaming-contract.md "Instruments", "The order",
"The price guard"."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import httpx
import pytest

from sandbox.server import SandboxServer
from streaming.api.errors import as_sentence
from tests.support.holdings import alpaca_order, tastytrade_order, tradier_order
from tests.support.live import LiveApp, read_json
from tests.support.trading_http import Trader, enable_demo_trading
from tests.support.wait import poll_until

COIN = "BTC/USD:CXTALP"
ES_CALL = "./ESZ26C6000:XCME"
#: Every market data feed of the sandbox's three brokers (its socket kinds).
MARKET_DATA = ("dxlink", "tradier-stream", "alpaca-crypto")
#: How long the stream may take to show the demo's holdings and their quotes (s): a few
#: polls of each broker's account and the first quotes; the margin is for a loaded box.
SEEN_WITHIN = 60


@pytest.fixture(scope="module")
def app(holdings_sandbox: SandboxServer, tmp_path_factory) -> Iterator[LiveApp]:
    live = LiveApp(
        holdings_sandbox.url,
        tmp_path_factory.mktemp("instruments"),
        TRADING_RATE_PER_MINUTE="1000",
        TRADING_MAX_ORDERS_PER_MINUTE="1000",
        TRADING_MAX_ORDER_NOTIONAL="10000000",
    ).start()
    enable_demo_trading(live)
    yield live
    live.stop()


@pytest.fixture(scope="module")
def trader(app: LiveApp) -> Iterator[Trader]:
    trader = Trader(app)
    yield trader
    trader.client.close()


def snapshot(trader: Trader) -> dict[str, Any]:
    return read_json(trader.client, "/api/snapshot")


def holder(trader: Trader, broker: str, contract_symbol: str) -> tuple[dict, dict]:
    """(the account of `broker` that holds the instrument, its position), once the stream
    shows it with a live quote."""

    def found() -> tuple[dict, dict] | None:
        snap = snapshot(trader)
        if contract_symbol not in snap["quotes"]:
            return None
        for account in snap["accounts"]:
            for position in account["positions"] if account["broker"] == broker else ():
                if position["streamer_symbol"] == contract_symbol:
                    return account, position
        return None

    return poll_until(found, within=SEEN_WITHIN, what=f"{contract_symbol} held at {broker}")


def mid(trader: Trader, contract_symbol: str) -> Decimal:
    quote = snapshot(trader)["quotes"][contract_symbol]
    return (Decimal(str(quote["bid"])) + Decimal(str(quote["ask"]))) / 2


def on_tick(price: Decimal, tick: str) -> str:
    step = Decimal(tick)
    return str((price / step).quantize(Decimal(1), ROUND_HALF_UP) * step)


def placed(trader: Trader, body: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Previewed and confirmed once: (the preview, the placed ticket)."""
    answer = trader.preview(body)
    assert answer.status_code == 200, answer.text
    preview = answer.json()["preview"]
    assert preview["second_confirm"] is False, preview["warnings"]
    confirmed = trader.confirm(preview["id"], uuid.uuid4().hex)
    assert confirmed.status_code == 201, confirmed.text
    ticket = confirmed.json()["ticket"]
    assert ticket["state"] == "placed" and ticket["order_id"], ticket
    return preview, ticket


def tag(ticket: dict[str, Any]) -> str:
    return f"sd-{ticket['id'].replace('-', '')}"


# -- tastytrade ----------------------------------------------------------------------------------
def test_tastytrade_closes_its_bitcoin_at_the_coins_price(trader, holdings_sandbox):
    account, position = holder(trader, "tastytrade", COIN)
    assert (position["symbol"], position["display"], position["quantity"]) == (
        "BTC/USD",
        "BTC/USD",
        0.25,
    )
    price = on_tick(mid(trader, COIN) * Decimal("1.05"), "0.01")  # works, never fills
    body = {
        "link": account["link"],
        "account": account["number"],
        "legs": [{"symbol": COIN, "action": "Sell to Close", "quantity": "0.25"}],
        "order_type": "Limit",
        "price": price,
        "time_in_force": "GTC",
    }
    preview, ticket = placed(trader, body)
    assert preview["words"].startswith(f"Sell 0.25 BTC/USD at {Decimal(price):,.2f} limit, GTC")
    # the coin's own price, never a look-alike's (a sell's net quote is negative)
    assert 90_000 < abs(preview["quote"]["bid"]) < 100_000
    held = tastytrade_order(holdings_sandbox, account["number"], ticket["order_id"])
    (leg,) = held.legs
    assert (leg.instrument_type.value, leg.symbol, leg.action.value, leg.quantity) == (
        "Cryptocurrency",
        "BTC/USD",
        "Sell to Close",
        Decimal("0.25"),
    )
    assert (held.order_type.value, held.time_in_force.value, held.price) == (
        "Limit",
        "GTC",
        Decimal(price),
    )
    assert held.external_identifier == tag(ticket)


def test_tastytrade_buys_ten_dollars_of_bitcoin(trader, holdings_sandbox):
    """The documented "Notional Cryptocurrency Order": $10 of BTC/USD, GTC."""
    account, _ = holder(trader, "tastytrade", COIN)
    body = {
        "link": account["link"],
        "account": account["number"],
        "legs": [{"symbol": "BTC/USD", "action": "Buy to Open"}],
        "order_type": "Notional Market",
        "notional": "10.00",
        "time_in_force": "GTC",
    }
    preview, ticket = placed(trader, body)
    assert preview["order"]["legs"] == [{"symbol": COIN, "action": "Buy to Open", "quantity": None}]
    held = tastytrade_order(holdings_sandbox, account["number"], ticket["order_id"])
    (leg,) = held.legs
    assert (leg.instrument_type.value, leg.symbol, held.order_type.value) == (
        "Cryptocurrency",
        "BTC/USD",
        "Notional Market",
    )
    assert (abs(held.value), held.time_in_force.value) == (Decimal("10.00"), "GTC")


def test_tastytrade_sells_a_future_on_its_tick_grid(trader, holdings_sandbox):
    """The documented "Short Futures Limit Order" on the listed /ES contract: whole
    contracts, the product's 0.25 grid, its point value (50) in the preview's amount."""
    account, _ = holder(trader, "tastytrade", ES_CALL)
    future = "/ESZ26:XCME"  # the held call's underlying: its quote streams with the call's
    poll_until(lambda: future in snapshot(trader)["quotes"], within=SEEN_WITHIN, what=future)
    price = on_tick(mid(trader, future) * Decimal("1.05"), "0.25")  # above the market: works
    body = {
        "link": account["link"],
        "account": account["number"],
        "legs": [{"symbol": "/ESZ6", "action": "Sell to Open", "quantity": 1}],
        "order_type": "Limit",
        "price": price,
        "time_in_force": "Day",
    }
    off = str(Decimal(price) + Decimal("0.10"))
    off_grid = trader.preview({**body, "price": off})
    assert (off_grid.status_code, off_grid.json()["error"]) == (
        400,
        f"{off} is off the tick grid: this price moves in 0.25.",
    )
    answer = trader.preview(body)
    assert answer.status_code == 200, answer.text
    preview = answer.json()["preview"]
    assert preview["order"]["legs"][0]["symbol"] == future
    # no cash moves for a future: its notional (price x 50) and the broker's margin are said
    assert f"notional {Decimal(price) * 50:,.2f}, margin " in preview["words"]
    assert preview["effect"]["cost"] is None and preview["effect"]["margin_change"] is not None
    assert preview["second_confirm"] is False, preview["warnings"]
    confirm = trader.confirm(preview["id"], uuid.uuid4().hex)
    assert confirm.status_code == 201, confirm.text
    ticket = confirm.json()["ticket"]
    held = tastytrade_order(holdings_sandbox, account["number"], ticket["order_id"])
    (leg,) = held.legs
    assert (leg.instrument_type.value, leg.symbol, leg.quantity, held.price) == (
        "Future",
        "/ESZ6",
        1,
        Decimal(price),
    )


def test_tastytrade_closes_the_es_call_by_its_own_symbol(trader, holdings_sandbox):
    account, position = holder(trader, "tastytrade", ES_CALL)
    assert (position["display"], position["multiplier"], position["underlying"]) == (
        "/ES Dec 26 6000 C",
        50,
        "/ESZ26:XCME",
    )
    price = on_tick(mid(trader, ES_CALL) * Decimal("1.05"), "0.25")
    body = {
        "link": account["link"],
        "account": account["number"],
        "legs": [{"symbol": ES_CALL, "action": "Sell to Close", "quantity": 1}],
        "order_type": "Limit",
        "price": price,
        "time_in_force": "Day",
    }
    preview, ticket = placed(trader, body)
    assert preview["words"].startswith(f"Sell 1 /ES Dec 26 6000 C at {Decimal(price):,.2f} limit")
    held = tastytrade_order(holdings_sandbox, account["number"], ticket["order_id"])
    (leg,) = held.legs
    assert (leg.instrument_type.value, leg.symbol, leg.action.value) == (
        "Future Option",
        "./ESZ6 ESZ6 261218C6000",
        "Sell to Close",
    )


# -- Alpaca --------------------------------------------------------------------------------------
def test_alpaca_buys_bitcoin_at_market_as_documented(trader, holdings_sandbox):
    """docs.alpaca.markets "Crypto Orders": BTC/USD, qty 0.0001, buy, market, gtc."""
    account, _ = holder(trader, "alpaca", COIN)
    body = {
        "link": account["link"],
        "account": account["number"],
        "legs": [{"symbol": "BTC/USD", "action": "Buy to Open", "quantity": "0.0001"}],
        "order_type": "Market",
        "time_in_force": "GTC",
    }
    _, ticket = placed(trader, body)
    held = alpaca_order(holdings_sandbox, account["number"], ticket["order_id"])
    assert (held.symbol, held.side, held.type, held.time_in_force) == (
        "BTC/USD",
        "buy",
        "market",
        "gtc",
    )
    assert (Decimal(str(held.qty)), held.client_order_id) == (Decimal("0.0001"), tag(ticket))


def test_alpaca_closes_btcusd_as_the_coin_it_holds(trader, holdings_sandbox):
    """A script that names the position as Alpaca does (`BTCUSD`) closes the coin: the
    order resolves against the holdings, is priced at the coin's quote, and GTC is taken
    (Alpaca's crypto orders are GTC or IOC, never Day: said in words)."""
    account, position = holder(trader, "alpaca", COIN)
    assert (position["symbol"], position["display"]) == ("BTCUSD", "BTC/USD")
    price = on_tick(mid(trader, COIN) * Decimal("1.05"), "0.01")
    body = {
        "link": account["link"],
        "account": account["number"],
        "legs": [{"symbol": "BTCUSD", "action": "Sell to Close", "quantity": "0.25"}],
        "order_type": "Limit",
        "price": price,
        "time_in_force": "Day",
    }
    day = trader.preview(body)
    assert (day.status_code, day.json()) == (
        400,
        {
            "error": "Alpaca takes crypto orders GTC or IOC only, not Day.",
            "code": "unsupported",
            "message": "Alpaca takes crypto orders GTC or IOC only, not Day.",
        },
    )
    preview, ticket = placed(trader, {**body, "time_in_force": "GTC"})
    assert preview["order"]["legs"][0]["symbol"] == COIN
    assert 90_000 < abs(preview["quote"]["bid"]) < 100_000
    held = alpaca_order(holdings_sandbox, account["number"], ticket["order_id"])
    assert (held.symbol, held.side, held.type, held.time_in_force) == (
        "BTC/USD",
        "sell",
        "limit",
        "gtc",
    )
    assert (Decimal(str(held.qty)), Decimal(str(held.limit_price))) == (
        Decimal("0.25"),
        Decimal(price),
    )


# -- equity options, at every broker -------------------------------------------------------------
SPY_CALL = ".SPY270115C590"


@pytest.mark.parametrize("broker", ["tastytrade", "tradier", "alpaca"])
def test_each_broker_closes_the_spy_call_by_its_own_option_symbol(trader, holdings_sandbox, broker):
    """The demo's SPY Jan 27 590 call, held at every broker: a limit close above its mid
    (it works) reaches each broker in its own spelling — tastytrade's padded OCC symbol,
    Tradier's and Alpaca's unpadded one (developer.tastytrade.com "Order Submission";
    docs.tradier.com "Option order"; docs.alpaca.markets "Options Trading": day only)."""
    account, position = holder(trader, broker, SPY_CALL)
    assert position["display"] == "SPY 15 Jan 27 590 C"
    price = on_tick(mid(trader, SPY_CALL) * Decimal("1.05"), "0.01")  # SPY's: a penny grid
    body = {
        "link": account["link"],
        "account": account["number"],
        "legs": [{"symbol": SPY_CALL, "action": "Sell to Close", "quantity": 1}],
        "order_type": "Limit",
        "price": price,
        "time_in_force": "Day",
    }
    preview, ticket = placed(trader, body)
    assert preview["words"].startswith(f"Sell 1 SPY 15 Jan 27 590 C at {price} limit, day")
    if broker == "tastytrade":
        held = tastytrade_order(holdings_sandbox, account["number"], ticket["order_id"])
        (leg,) = held.legs
        assert (leg.instrument_type.value, leg.symbol, held.price) == (
            "Equity Option",
            "SPY   270115C00590000",
            Decimal(price),
        )
    elif broker == "tradier":
        held = tradier_order(holdings_sandbox, account["number"], ticket["order_id"])
        assert (held["class"], held["option_symbol"], held["side"], held["type"]) == (
            "option",
            "SPY270115C00590000",
            "sell_to_close",
            "limit",
        )
        assert Decimal(str(held["price"])) == Decimal(price)
    else:
        held = alpaca_order(holdings_sandbox, account["number"], ticket["order_id"])
        assert (held.symbol, held.side, held.type, held.time_in_force) == (
            "SPY270115C00590000",
            "sell",
            "limit",
            "day",
        )
        assert Decimal(str(held.limit_price)) == Decimal(price)


# -- what a broker does not trade, in words ------------------------------------------------------
@pytest.mark.parametrize(
    ("broker", "symbol", "sentence"),
    [
        (
            "tradier",
            "BTC/USD",
            "Tradier trades stocks and options only: it takes no crypto orders.",
        ),
        ("tradier", "/ESZ6", "Tradier trades stocks and options only: it takes no futures orders."),
        (
            "alpaca",
            "/ESZ6",
            "Alpaca trades stocks, options and crypto: it takes no futures orders.",
        ),
        (
            "alpaca",
            ES_CALL,
            "Alpaca trades stocks, options and crypto: it takes no future options orders.",
        ),
    ],
)
def test_a_broker_that_does_not_trade_a_kind_says_so(trader, broker, symbol, sentence):
    account = trader.accounts()[broker]
    answer = trader.preview(
        {
            "link": account["link"],
            "account": account["number"],
            "legs": [{"symbol": symbol, "action": "Buy to Open", "quantity": 1}],
            "order_type": "Market",
            "time_in_force": "GTC",
        }
    )
    body = {"error": sentence, "code": "unsupported", "message": as_sentence(sentence)}
    assert (answer.status_code, answer.json()) == (400, body)


# -- the price guard at every broker -------------------------------------------------------------
@pytest.mark.parametrize(
    ("broker", "symbol", "tick"),
    [("tastytrade", COIN, "0.01"), ("tradier", "AAPL", "0.01"), ("alpaca", COIN, "0.01")],
)
def test_a_fat_finger_needs_the_second_confirm(trader, broker, symbol, tick):
    """A limit at half the instrument's own price: said, and a single confirm places
    nothing; the second confirm places it."""
    account = trader.accounts()[broker]
    quantity = "0.001" if symbol == COIN else 1
    half = on_tick(mid(trader, symbol) / 2, tick)
    answer = trader.preview(
        {
            "link": account["link"],
            "account": account["number"],
            "legs": [{"symbol": symbol, "action": "Buy to Open", "quantity": quantity}],
            "order_type": "Limit",
            "price": half,
            "time_in_force": "GTC",
        }
    )
    assert answer.status_code == 200, answer.text
    preview = answer.json()["preview"]
    assert preview["second_confirm"] is True
    warning = next(
        w for w in preview["warnings"] if w.startswith(f"The limit {Decimal(half):,.2f}")
    )
    assert "% from " in warning and "'s live price" in warning
    once = trader.confirm(preview["id"], uuid.uuid4().hex)
    assert (once.status_code, once.json()["code"]) == (409, "second_confirm")
    twice = trader.post(
        "/api/orders",
        {"preview_id": preview["id"], "second_confirm": True},
        **{"Idempotency-Key": uuid.uuid4().hex},
    )
    assert twice.status_code == 201, twice.text


def test_no_live_price_a_market_order_is_refused_a_limit_is_said(trader, holdings_sandbox):
    """With every market data feed down (dropped, and no new one let in), each link's
    quotes stop being live; a market order at each broker is refused in words and a limit
    order previews with a warning. Kept last: the feeds come back after it."""
    accounts = trader.accounts()
    # first every feed live with what is ordered below (run alone, the links may still be
    # connecting: not live, yet about to be), then silenced
    holder(trader, "alpaca", COIN)
    poll_until(
        lambda: (
            "AAPL" in (snap := snapshot(trader))["quotes"]
            and any(link["quote_source"] for link in snap["links"])
            and all(link["kinds"]["quotes"]["state"] in ("live", "idle") for link in snap["links"])
        ),
        within=SEEN_WITHIN,
        what="every link's quotes live",
    )
    control = f"{holdings_sandbox.url}/_sandbox/faults"
    for target in MARKET_DATA:  # new handshakes refused, the open feeds dropped: no data
        refused = httpx.post(
            control, json={"kind": "refuse_sessions", "target": target, "status": 503}
        )
        assert refused.status_code == 200, refused.text
        dropped = httpx.post(control, json={"kind": "drop", "target": target})
        assert dropped.status_code == 200, dropped.text
    try:
        poll_until(
            lambda: all(
                link["kinds"]["quotes"]["state"] != "live"
                for link in snapshot(trader)["links"]
                if link["kinds"]["quotes"]["state"] != "idle"
            ),
            within=20,  # a dropped feed says so at once; a margin for a loaded box
            what="no link's quotes live",
        )
        for broker, symbol, quantity, tif in (
            ("tastytrade", COIN, "0.001", "IOC"),  # tastytrade's coin market orders: IOC
            ("tradier", "AAPL", 1, "Day"),
            ("alpaca", COIN, "0.001", "GTC"),
        ):
            account = accounts[broker]
            body = {
                "link": account["link"],
                "account": account["number"],
                "legs": [{"symbol": symbol, "action": "Buy to Open", "quantity": quantity}],
                "order_type": "Market",
                "time_in_force": tif,
            }
            refused = trader.preview(body)
            assert refused.status_code == 409, (broker, refused.text)
            assert refused.json()["code"] == "stale_quote"
            assert refused.json()["error"].startswith("A market order needs a live price")
            limit = trader.preview({**body, "order_type": "Limit", "price": "1.00"})
            assert limit.status_code == 200, limit.text
            assert any(
                w.startswith("No live price of") for w in limit.json()["preview"]["warnings"]
            )
    finally:
        httpx.delete(control)
