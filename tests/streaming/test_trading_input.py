"""A ticket's order checked (input.py), the tick grid (ticks.py), the one sentence
(words.py) and the order against the live quote (quote.py): pure, every refusal with the
contract's code and a sentence."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest

from streaming.brokers.orders.entry import OrderLeg, OrderRefused, OrderRequest, PreviewResult
from streaming.trading import price_guard
from streaming.trading.broker_rules import check_linked_supported, check_supported
from streaming.trading.input import (
    OrderInputError,
    TicketLinked,
    TicketOrder,
    parse_order,
    parse_ticket,
)
from streaming.trading.order_json import order_json
from streaming.trading.quote import (
    far_side,
    net_quote,
    notional,
    quote_moved,
    stop_at_once,
)
from streaming.trading.ticks import on_grid, round_to_tick, tick_for
from streaming.trading.words import describe, describe_linked, estimated_cost, leg_text


def body(**changes: Any) -> dict[str, Any]:
    order: dict[str, Any] = {
        "link": 3,
        "account": "5WT00001",
        "legs": [{"symbol": ".SPY270115C590", "action": "Buy to Open", "quantity": 2}],
        "order_type": "Limit",
        "price": "2.35",
        "stop_price": None,
        "trail": None,
        "time_in_force": "Day",
        "replaces": None,
    }
    order.update(changes)
    return order


def leg(symbol: str = ".SPY270115C590", action: str = "Buy to Open", quantity: int = 2) -> dict:
    return {"symbol": symbol, "action": action, "quantity": quantity}


def refused(raw: Any) -> tuple[str, str]:
    with pytest.raises(OrderInputError) as caught:
        parse_order(raw)
    return caught.value.code, caught.value.message


def test_the_contracts_example_is_taken_as_sent():
    ticket = parse_order(body())
    assert ticket.link == 3 and ticket.replaces is None
    assert ticket.order == OrderRequest(
        account="5WT00001",
        legs=(OrderLeg.of(".SPY270115C590", "Buy to Open", 2),),
        order_type="Limit",
        time_in_force="Day",
        price=Decimal("2.35"),
    )
    assert order_json(ticket) == body()


def test_symbols_and_prices_are_normalized():
    ticket = parse_order(body(legs=[leg("spy", quantity=10)], price="590.500"))
    assert ticket.order.legs[0].symbol == "SPY"
    assert order_json(ticket)["price"] == "590.5"


@pytest.mark.parametrize(
    ("raw", "code", "says"),
    [
        ([1, 2], "bad_body", "The order must be a JSON object."),
        (body(colour="red"), "bad_body", "Unknown field: colour."),
        (body(legs=[{**leg(), "note": 1}]), "bad_body", "Each leg is {symbol, action, quantity}."),
        (
            body(legs=[leg(quantity=0)]),
            "bad_quantity",
            "The quantity must be more than 0 and at most 1,000,000.",
        ),
        (
            body(legs=[leg(quantity=1.5)]),
            "bad_quantity",
            "An option's quantity is a whole number of contracts.",
        ),
        (
            body(legs=[leg(quantity=1_000_001)]),
            "bad_quantity",
            "The quantity must be more than 0 and at most 1,000,000.",
        ),
        (
            body(legs=[leg(quantity=True)]),
            "bad_quantity",
            "The quantity must be more than 0 and at most 1,000,000.",
        ),
        (body(price=None), "bad_price", "A limit order needs a price."),
        (body(order_type="Market"), "bad_price", "A market order takes no price."),
        (body(price="-1"), "bad_price", "The price must be more than 0."),
        (body(price="0"), "bad_price", "The price must be more than 0."),
        (body(price="abc"), "bad_price", 'The price must be a decimal number, such as "2.35".'),
        (body(price="NaN"), "bad_price", "The price must be more than 0."),
        (body(price="2.355"), "bad_price", "2.355 is off the tick grid: this price moves in 0.01."),
        (
            body(legs=[leg(".AAPL270115C200")], price="3.07"),
            "bad_price",
            "3.07 is off the tick grid: this price moves in 0.05.",
        ),
        (
            body(legs=[leg(action="Buy")]),
            "bad_order",
            "The action must be one of: Buy to Open, Sell to Close, Sell to Open, Buy to Close.",
        ),
        (
            body(order_type="Stop Loss"),
            "bad_order",
            "The order type must be Limit, Market, Stop, Stop Limit, Trailing Stop or "
            "Notional Market.",
        ),
        (body(order_type="Stop"), "bad_price", "A stop order takes no price."),
        (
            body(order_type="Stop", price=None),
            "bad_price",
            "A stop order needs a stop price (its trigger).",
        ),
        (
            body(order_type="Stop Limit", stop_price=None),
            "bad_price",
            "A stop limit order needs a stop price (its trigger).",
        ),
        (body(order_type="Stop Limit", price=None, stop_price="2.30"), "bad_price", None),
        (body(stop_price="2.30"), "bad_price", "A limit order takes no stop price."),
        (
            body(order_type="Stop", price=None, stop_price="0"),
            "bad_price",
            "The stop price must be more than 0.",
        ),
        (
            body(order_type="Stop", price=None, stop_price="2.333"),
            "bad_price",
            "The stop price 2.333 is off the tick grid: it moves in 0.01.",
        ),
        (
            body(order_type="Stop", price=None, stop_price=[1]),
            "bad_price",
            'The stop price must be a decimal number, such as "2.35".',
        ),
        (
            body(
                order_type="Stop",
                price=None,
                stop_price="2.30",
                legs=[leg(), leg(".SPY270115C600", "Sell to Open")],
            ),
            "bad_order",
            "A stop order has one leg.",
        ),
        (body(trail={"amount": "1.00"}), "bad_price", "A limit order takes no trail."),
        *[
            (
                body(order_type="Trailing Stop", price=None, trail=trail),
                "bad_price",
                'A trailing stop needs a trail: {"amount": "1.50"} in dollars or '
                '{"percent": "2.5"}, one of the two.',
            )
            for trail in (None, "1.50", {}, {"amount": "1", "percent": "1"}, {"points": "1"})
        ],
        (
            body(order_type="Trailing Stop", price=None, trail={"percent": "100"}),
            "bad_price",
            "The trail percent must be less than 100.",
        ),
        (
            body(order_type="Trailing Stop", price=None, trail={"amount": "-1"}),
            "bad_price",
            "The trail must be more than 0.",
        ),
        (
            body(order_type="Trailing Stop", price=None, trail={"amount": "1.005"}),
            "bad_price",
            "The trail 1.005 is off the tick grid: it moves in 0.01.",
        ),
        (body(time_in_force="GTD"), "bad_order", "The time in force must be Day, GTC or IOC."),
        (body(legs=[]), "bad_order", "An order has from 1 to 4 legs."),
        (
            body(legs=[leg(f".SPY270115C{590 + i}") for i in range(5)]),
            "bad_order",
            "An order has from 1 to 4 legs.",
        ),
        (body(legs=[leg(), leg()]), "bad_order", "Each leg must name a different symbol."),
        (body(link="3"), "bad_order", "Choose the broker link (a link id) for the order."),
        (body(account=""), "bad_order", "Choose the account for the order."),
        (body(legs=[leg("SPY!")]), "unknown_symbol", "'SPY!' is not a symbol."),
        (body(legs=[leg(".SPY271345C590")]), "unknown_symbol", "'.SPY271345C590' is not a symbol."),
        (
            body(legs=[leg("/ESZ26", quantity=1)], price="6000.10"),
            "bad_price",
            "6000.10 is off the tick grid: this price moves in 0.25.",
        ),
        (
            body(legs=[leg("BTC/USD", quantity=1)], price="95000.005"),
            "bad_price",
            "95000.005 is off the tick grid: this price moves in 0.01.",
        ),
        (
            body(legs=[leg("/ESZ26", quantity="1.5")], price="6000.25"),
            "bad_quantity",
            "A future's quantity is a whole number of contracts.",
        ),
    ],
)
def test_each_bad_input_is_refused_in_words(raw, code, says):
    got_code, message = refused(raw)
    assert got_code == code
    if says is not None:
        assert message == says


def test_a_stock_price_above_a_dollar_is_in_cents_and_below_in_hundredths_of_a_cent():
    assert refused(body(legs=[leg("AAPL")], price="190.001"))[0] == "bad_price"
    assert parse_order(body(legs=[leg("PENNY")], price="0.5123")).order.price == Decimal("0.5123")


@pytest.mark.parametrize(
    ("symbol", "price", "tick"),
    [
        ("AAPL", "190", "0.01"),
        ("AAPL", "0.99", "0.0001"),
        (".AAPL270115C200", "2.99", "0.01"),
        (".AAPL270115C200", "3.00", "0.05"),
        (".SPY270115C590", "12.00", "0.01"),
        (".QQQ270115P400", "7.00", "0.01"),
        (".IWM270115P200", "5.00", "0.01"),
    ],
)
def test_the_tick_grid(symbol, price, tick):
    legs = [OrderLeg.of(symbol, "Buy to Open", 1)]
    assert tick_for(legs, Decimal(price)) == Decimal(tick)


def test_rounding_to_the_tick():
    legs = [OrderLeg.of(".AAPL270115C200", "Buy to Open", 1)]
    assert round_to_tick(legs, Decimal("3.07")) == Decimal("3.05")
    assert round_to_tick(legs, Decimal("3.08")) == Decimal("3.10")
    assert on_grid(legs, Decimal("3.10")) and not on_grid(legs, Decimal("3.11"))
    spread = [*legs, OrderLeg.of(".AAPL270115C210", "Sell to Open", 1)]
    assert tick_for(spread, Decimal("4.00")) == Decimal("0.01")


def test_tradier_takes_a_multileg_order_of_one_underlying():
    spread = body(legs=[leg(), leg(".SPY270115C600", "Sell to Open")], price="1.20")
    check_supported("tradier", parse_order(spread).order)  # no refusal


@pytest.mark.parametrize(
    ("broker", "raw", "says"),
    [
        (
            "tradier",
            body(legs=[leg(), leg(".QQQ270115C500", "Sell to Open")], price="1.20"),
            "Tradier takes multi-leg orders of one underlying only.",
        ),
        (
            "alpaca",
            body(legs=[leg(), leg(".SPY270115C600", "Sell to Open")], price="1.20"),
            "Alpaca does not take multi-leg orders here.",
        ),
        ("alpaca", body(time_in_force="GTC"), "Alpaca takes option orders for the day only."),
        (
            "tastytrade",
            body(legs=[leg(), leg("SPY", "Sell to Open")], price="1.20"),
            "tastytrade takes multi-leg orders of options only.",
        ),
    ],
)
def test_what_a_broker_does_not_take_is_unsupported_naming_it(broker, raw, says):
    with pytest.raises(OrderInputError) as caught:
        check_supported(broker, parse_order(raw).order)
    assert (caught.value.code, caught.value.message) == ("unsupported", says)


def test_what_each_broker_takes_passes():
    four = [
        leg(f".SPY270115C{590 + 5 * i}", "Buy to Open" if i % 2 else "Sell to Open", 1)
        for i in range(4)
    ]
    check_supported("tastytrade", parse_order(body(legs=four, price="0.40")).order)
    check_supported("tradier", parse_order(body(time_in_force="GTC")).order)
    check_supported(
        "alpaca", parse_order(body(legs=[leg("AAPL")], time_in_force="GTC", price="190")).order
    )


def test_stops_and_trailing_stops_are_taken_as_sent():
    stop = parse_order(body(legs=[leg("SPY", "Sell to Close", 10)], order_type="Stop",
                            price=None, stop_price="480.50"))  # fmt: skip
    assert (stop.order.stop_price, stop.order.price) == (Decimal("480.5"), None)
    assert order_json(stop)["stop_price"] == "480.5" and order_json(stop)["trail"] is None
    stop_limit = parse_order(body(order_type="Stop Limit", stop_price="2.30", price="2.25"))
    assert (stop_limit.order.stop_price, stop_limit.order.price) == (
        Decimal("2.3"),
        Decimal("2.25"),
    )
    dollars = parse_order(body(legs=[leg("SPY")], order_type="Trailing Stop", price=None,
                               trail={"amount": "1.50"}))  # fmt: skip
    assert (dollars.order.trail_amount, dollars.order.trail_percent) == (Decimal("1.5"), None)
    assert order_json(dollars)["trail"] == {"amount": "1.5"}
    percent = parse_order(body(legs=[leg("SPY")], order_type="Trailing Stop", price=None,
                               trail={"percent": "2.50"}))  # fmt: skip
    assert order_json(percent)["trail"] == {"percent": "2.5"}
    check_supported("alpaca", dollars.order)
    for broker, name in (("tastytrade", "tastytrade"), ("tradier", "Tradier")):
        check_supported(broker, stop.order)
        check_supported(broker, stop_limit.order)
        with pytest.raises(OrderInputError) as caught:
            check_supported(broker, dollars.order)
        assert (caught.value.code, caught.value.message) == (
            "unsupported",
            f"{name} takes no trailing stops; use a Stop.",
        )
    option = parse_order(body(order_type="Trailing Stop", price=None, trail={"amount": "0.10"}))
    with pytest.raises(OrderInputError) as caught:
        check_supported("alpaca", option.order)
    assert caught.value.message == "Alpaca takes trailing stops of stock only."


def test_the_sentence_of_each_stop():
    effect = PreviewResult(checks="broker", cost=-4805.0, fees=0.0)
    stop = parse_order(body(legs=[leg("SPY", "Sell to Close", 10)], order_type="Stop", price=None,
                            stop_price="480.50", time_in_force="GTC")).order  # fmt: skip
    assert describe(stop, effect) == (
        "Sell 10 SPY at a 480.50 stop, GTC: credit about 4,805.00 + fees 0.00"
    )
    limit = parse_order(body(legs=[leg("SPY", "Sell to Close", 10)], order_type="Stop Limit",
                             price="480.00", stop_price="480.50")).order  # fmt: skip
    assert describe(limit, PreviewResult(checks="app")) == (
        "Sell 10 SPY at a 480.50 stop, limit 480.00, day: credit 4,800.00"
    )
    trailing = parse_order(body(legs=[leg("SPY", "Sell to Close", 10)],
                                order_type="Trailing Stop", price=None,
                                trail={"percent": "2.5"})).order  # fmt: skip
    assert describe(trailing, PreviewResult(checks="app")) == (
        "Sell 10 SPY at a trailing stop 2.5 % below the high, day"
    )
    buy = parse_order(body(legs=[leg("SPY")], order_type="Trailing Stop", price=None,
                           trail={"amount": "1.50"})).order  # fmt: skip
    assert describe(buy, PreviewResult(checks="app")).startswith(
        "Buy 2 SPY at a trailing stop 1.50 above the low, day"
    )


def test_a_stop_that_would_trigger_at_once_is_said():
    quote = {"bid": 480.0, "ask": 480.2, "t": 1}
    quotes = {"SPY": quote}
    sell = parse_order(body(legs=[leg("SPY", "Sell to Close", 10)], order_type="Stop",
                            price=None, stop_price="480.00")).order  # fmt: skip
    assert stop_at_once(sell, quotes) == (
        "This sell stop at 480.00 is at or above the bid 480.00: it would trigger at once."
    )
    below = parse_order(body(legs=[leg("SPY", "Sell to Close", 10)], order_type="Stop",
                             price=None, stop_price="479.99")).order  # fmt: skip
    assert stop_at_once(below, quotes) is None
    buy = parse_order(body(legs=[leg("SPY")], order_type="Stop Limit", price="481.00",
                           stop_price="480.20")).order  # fmt: skip
    assert stop_at_once(buy, quotes) == (
        "This buy stop at 480.20 is at or below the ask 480.20: it would trigger at once."
    )
    above = parse_order(body(legs=[leg("SPY")], order_type="Stop", price=None,
                             stop_price="480.21")).order  # fmt: skip
    assert stop_at_once(above, quotes) is None
    assert stop_at_once(sell, {}) is None  # no quote: nothing to tell
    assert stop_at_once(parse_order(body()).order, quotes) is None  # not a stop
    # a stop's notional is at its trigger; a trailing stop's at the far side
    assert notional(sell, {}) == Decimal("4800.00")
    trailing = parse_order(body(legs=[leg("SPY", "Sell to Close", 10)],
                                order_type="Trailing Stop", price=None,
                                trail={"amount": "1.00"})).order  # fmt: skip
    assert notional(trailing, {"SPY": quote}) == Decimal("4800.0")


def test_the_one_sentence():
    order = parse_order(body()).order
    effect = PreviewResult(checks="broker", cost=470.0, fees=2.0, buying_power_after=178846.92)
    assert describe(order, effect) == (
        "Buy 2 SPY 15 Jan 27 590 C at 2.35 limit, day: debit 470.00 + fees 2.00, "
        "buying power after 178,846.92"
    )
    # the buying power the order uses, named as the account card names it
    option = replace(effect, buying_power_kind="derivative")
    assert describe(order, option).endswith(", option buying power after 178,846.92")
    stock = parse_order(body(legs=[leg("SPY", "Buy to Open", 10)], price="480.00")).order
    equity = PreviewResult(checks="broker", cost=4800.0, buying_power_after=1000.0,
                           buying_power_kind="equity")  # fmt: skip
    assert describe(stock, equity) == (
        "Buy 10 SPY at 480.00 limit, day: debit 4,800.00, stock buying power after 1,000.00"
    )


def test_the_sentence_of_a_credit_a_market_order_and_a_spread():
    sell = parse_order(
        body(
            legs=[leg("AAPL", "Sell to Close", 10)],
            order_type="Market",
            price=None,
            time_in_force="GTC",
        )
    ).order
    assert describe(sell, PreviewResult(checks="app", cost=-1900.5)) == (
        "Sell 10 AAPL at market, GTC: credit about 1,900.50"
    )
    spread = parse_order(
        body(legs=[leg(quantity=1), leg(".SPY270115C600", "Sell to Open", 1)], price="1.20")
    ).order
    assert describe(spread, PreviewResult(checks="broker", fees=2.5)) == (
        "Buy 1 SPY 15 Jan 27 590 C / Sell to open 1 SPY 15 Jan 27 600 C at 1.20 net limit, "
        "day: fees 2.50"
    )
    assert leg_text(OrderLeg.of(".SPY270115P587.5", "Buy to Open", 1)) == (
        "Buy 1 SPY 15 Jan 27 587.5 P"
    )


QUOTES = {
    ".SPY270115C590": {"bid": 2.30, "ask": 2.40, "t": 5},
    ".SPY270115C600": {"bid": 1.10, "ask": 1.16, "t": 7},
}


def test_the_net_quote_far_side_and_notional():
    single = parse_order(body()).order
    assert net_quote(single, QUOTES) == {"bid": 2.30, "ask": 2.40, "t": 5}
    assert far_side(single, net_quote(single, QUOTES)) == Decimal("2.4")
    assert notional(single, QUOTES) == Decimal("470.00")
    spread = parse_order(
        body(legs=[leg(quantity=2), leg(".SPY270115C600", "Sell to Open", 2)], price="1.20")
    ).order
    quote = net_quote(spread, QUOTES)
    assert quote is not None
    assert (round(quote["bid"], 2), round(quote["ask"], 2), quote["t"]) == (1.14, 1.30, 7)
    # each leg at its far side: 2 x 100 x 2.40 + 2 x 100 x 1.10
    assert notional(spread, QUOTES) == Decimal("700.00")
    market = parse_order(body(order_type="Market", price=None)).order
    assert notional(market, QUOTES) == Decimal("480.00")
    assert notional(market, {}) is None
    # a market sell gets the bid: its far side (not the ask, which the net quote negates)
    sell = parse_order(body(order_type="Market", price=None,
                            legs=[leg(action="Sell to Close")])).order  # fmt: skip
    assert far_side(sell, net_quote(sell, QUOTES)) == Decimal("2.3")
    assert notional(sell, QUOTES) == Decimal("460.0")


def test_the_price_guard_and_the_band():
    quote = {"bid": 2.30, "ask": 2.40}
    quotes = {".SPY270115C590": quote}
    far = parse_order(body(price="2.80")).order
    assert price_guard.check((far,), quotes, lambda symbol: True, 0.10).confirm == [
        "The limit 2.80 is 19 % from SPY 15 Jan 27 590 C's live price 2.35: check it "
        "before you confirm."
    ]
    near = price_guard.check((parse_order(body()).order,), quotes, lambda symbol: True, 0.10)
    assert (near.confirm, near.warnings) == ([], [])
    order = parse_order(body()).order
    # the band is 1 % of the preview's mid (2.35: 0.0235)
    assert not quote_moved(order, quote, {"bid": 2.32, "ask": 2.42}, 0.01)
    assert quote_moved(order, quote, {"bid": 2.33, "ask": 2.42}, 0.01)
    # ... and at least one tick (1 % of 0.50 is half a cent)
    cheap = {"bid": 0.49, "ask": 0.51}
    assert not quote_moved(order, cheap, {"bid": 0.50, "ask": 0.52}, 0.01)
    assert quote_moved(order, cheap, {"bid": 0.50, "ask": 0.53}, 0.01)
    assert not quote_moved(order, None, {"bid": 9, "ask": 10}, 0.01)
    assert quote_moved(order, quote, None, 0.01)


# -- linked orders -----------------------------------------------------------------------
def member(action: str, order_type: str, symbol: str = "SPY", qty: int = 100, **p: Any) -> dict:
    return {
        "legs": [{"symbol": symbol, "action": action, "quantity": qty}],
        "order_type": order_type,
        "time_in_force": "GTC",
        **p,
    }


TYPES_SAID = "An OTOCO's two orders are a take-profit Limit and a stop-loss Stop or Stop Limit."
TAKE = member("Sell to Close", "Limit", price="500.00")
STOP = member("Sell to Close", "Stop", stop_price="460.00")
ENTRY = member("Buy to Open", "Limit", price="480.00")
OPTION = ".SPY270115C590"


def group(complex_: str = "OTOCO", trigger: Any = ENTRY, orders: Any = None, **more: Any) -> dict:
    body = {"link": 3, "account": "5WT00001", "complex": complex_, "trigger": trigger}
    return body | {"orders": [TAKE, STOP] if orders is None else orders} | more


def test_a_bracket_an_oco_and_an_oto_are_taken_as_sent():
    ticket = parse_ticket(group())
    assert isinstance(ticket, TicketLinked)
    bracket = ticket.group
    assert (bracket.complex, bracket.first.price, bracket.pair[1].stop_price) == (
        "OTOCO",
        Decimal("480.00"),
        Decimal("460.00"),
    )
    assert order_json(ticket) == {
        "link": 3,
        "account": "5WT00001",
        "complex": "OTOCO",
        "trigger": {**ENTRY, "price": "480", "stop_price": None, "trail": None},
        "orders": [
            {**TAKE, "price": "500", "stop_price": None, "trail": None},
            {**STOP, "price": None, "stop_price": "460", "trail": None},
        ],
    }
    assert parse_ticket(order_json(ticket)) == ticket  # what the preview keeps reads back
    oco = parse_ticket(group("OCO", trigger=None, orders=[STOP, TAKE])).group
    assert (oco.trigger, oco.first.order_type, oco.pair[0].order_type) == (None, "Stop", "Limit")
    oto = parse_ticket(group("OTO", orders=[STOP])).group
    assert [m.order_type for m in oto.members] == ["Limit", "Stop"]
    assert isinstance(parse_ticket(body()), TicketOrder)


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        (group("OCOO"), "A linked order is an OCO, an OTO or an OTOCO."),
        (group("OCO", orders=[TAKE]), "An OCO has no trigger; send its two orders."),
        (group("OCO", trigger=None, orders=[TAKE]), "An OCO has 2 orders in `orders`."),
        (group(trigger=None), "An OTOCO needs a trigger: the order it starts on."),
        (group("OTO"), "An OTO has one order in `orders` after its trigger."),
        (group(orders=[TAKE, TAKE]), TYPES_SAID),
        (group(orders=[member("Sell to Close", "Market"), STOP]), TYPES_SAID),
        (
            group(orders=[TAKE, member("Sell to Close", "Stop", symbol="QQQ", stop_price="1")]),
            "Every order of a linked order is on the same symbol.",
        ),
        (
            group(orders=[TAKE, member("Sell to Close", "Stop", qty=50, stop_price="460")]),
            "An OTOCO's two orders have the same action and quantity "
            "(Sell to Close 100, Sell to Close 50).",
        ),
        (
            group(orders=[TAKE, {**STOP, "time_in_force": "Day"}]),
            "An OTOCO's two orders have the same time in force.",
        ),
        (
            group(trigger=member("Buy to Open", "Stop", stop_price="490.00")),
            "A linked order's trigger is a Limit or a Market order.",
        ),
        (
            group(trigger=member("Sell to Close", "Limit", price="480.00")),
            "A linked order's trigger opens a position (Buy to Open or Sell to Open).",
        ),
        (
            group(trigger=member("Sell to Open", "Limit", price="480.00")),
            "The orders after the trigger close what it opens: Buy to Close 100, "
            "not Sell to Close 100.",
        ),
        (
            group(orders=[TAKE, member("Sell to Close", "Trailing Stop", trail={"amount": "5"})]),
            "The second order is a trailing stop: a linked order takes a Stop instead.",
        ),
        (
            group(orders=[{**TAKE, "legs": [*TAKE["legs"], *body()["legs"]]}, STOP]),
            "The first order has one leg (a linked order's do).",
        ),
        (
            group(orders=[{**TAKE, "price": "500.001"}, STOP]),
            "The first order: 500.001 is off the tick grid: this price moves in 0.01.",
        ),
        (
            group(orders=[{**TAKE, "replaces": "1"}, STOP]),
            "Unknown field of the first order: replaces.",
        ),
        (group(replaces="1"), "Unknown field of a linked order: replaces."),
        # a stop on the wrong side: of its take-profit, or of the entry it protects
        (
            group("OCO", trigger=None, orders=[TAKE, {**STOP, "stop_price": "510.00"}]),
            "A take-profit that sells is above its stop-loss: 500.00 is not above the 510.00 stop.",
        ),
        (
            group(orders=[{**TAKE, "price": "470.00"}, STOP]),
            "The take-profit sells above the entry: 470.00 is not above 480.00.",
        ),
        (
            group("OTO", orders=[{**STOP, "stop_price": "490.00"}]),
            "The stop-loss sells below the entry: the 490.00 stop is not below 480.00.",
        ),
        (
            group(
                trigger=member("Sell to Open", "Limit", price="480.00"),
                orders=[
                    member("Buy to Close", "Limit", price="460.00"),
                    member("Buy to Close", "Stop", stop_price="450.00"),
                ],
            ),
            "A take-profit that buys is below its stop-loss: 460.00 is not below the 450.00 stop.",
        ),
        (
            group(
                "OTO",
                trigger=member("Sell to Open", "Limit", price="480.00"),
                orders=[member("Buy to Close", "Stop", stop_price="470.00")],
            ),
            "The stop-loss buys above the entry: the 470.00 stop is not above 480.00.",
        ),
    ],
)
def test_each_bad_linked_order_is_refused_in_words(raw, says):
    with pytest.raises(OrderInputError) as refused:
        parse_ticket(raw)
    assert refused.value.message == says


@pytest.mark.parametrize(
    ("broker", "raw", "says"),
    [
        (
            "alpaca",
            group(
                trigger=member("Buy to Open", "Limit", OPTION, 1, price="2.35"),
                orders=[
                    member("Sell to Close", "Limit", OPTION, 1, price="3.00"),
                    member("Sell to Close", "Stop", OPTION, 1, stop_price="1.00"),
                ],
            ),
            "Alpaca links orders of stock only.",
        ),
        (
            "alpaca",
            group(trigger={**ENTRY, "time_in_force": "Day"}),
            "Alpaca's linked orders have one time in force for every order.",
        ),
        (
            "tradier",
            group(trigger=member("Buy to Open", "Market")),
            "Tradier's linked orders start on a Limit, not a Market order.",
        ),
    ],
)
def test_a_linked_order_a_broker_does_not_take_is_unsupported(broker, raw, says):
    ticket = parse_ticket(raw)
    assert isinstance(ticket, TicketLinked)
    with pytest.raises(OrderInputError) as refused:
        check_linked_supported(broker, ticket.group)
    assert (refused.value.code, refused.value.message) == ("unsupported", says)


def test_what_each_broker_takes_of_linked_orders_passes():
    short = member("Sell to Open", "Limit", price="480.00")
    covers = [
        member("Buy to Close", "Limit", price="460.00"),
        member("Buy to Close", "Stop", stop_price="500.00"),
    ]
    for broker in ("tastytrade", "tradier", "alpaca"):
        for raw in (
            group(),
            group("OCO", trigger=None),
            group("OTO", orders=[STOP]),
            group(trigger=short, orders=covers),  # a short's bracket: the sides turn over
        ):
            ticket = parse_ticket(raw)
            assert isinstance(ticket, TicketLinked)
            check_linked_supported(broker, ticket.group)


def test_the_sentence_of_each_linked_order():
    """Each member says its own amount; the dry run's effect (of what fills first: the
    entry) is said with the entry. An OCO has no first: no one amount is its total."""
    effect = PreviewResult(checks="broker", cost=48_000.0, fees=2.0)
    assert describe_linked(parse_ticket(group()).group, effect) == (
        "Bracket: Buy 100 SPY at 480.00 limit, GTC: debit 48,000.00 + fees 2.00; then one "
        "cancels the other: Sell 100 SPY at 500.00 limit, GTC (credit 50,000.00) / Sell 100 SPY "
        "at a 460.00 stop, GTC (credit about 46,000.00)"
    )
    oco = parse_ticket(group("OCO", trigger=None)).group
    taken = PreviewResult(checks="broker", cost=-50_000.0, fees=2.0, buying_power_after=1.0)
    assert describe_linked(oco, taken) == (
        "One cancels the other: Sell 100 SPY at 500.00 limit, GTC (credit 50,000.00) / Sell "
        "100 SPY at a 460.00 stop, GTC (credit about 46,000.00): fees 2.00"
    )
    oto = parse_ticket(group("OTO", orders=[STOP])).group
    assert describe_linked(oto, PreviewResult(checks="app")) == (
        "One triggers the other: Buy 100 SPY at 480.00 limit, GTC: debit 48,000.00; then Sell "
        "100 SPY at a 460.00 stop, GTC (credit about 46,000.00)"
    )


def test_a_future_is_said_by_its_notional_and_margin_not_a_cash_amount():
    """Selling one /ES moves no 309,762.50 of cash: its words say the notional (price x
    the point value, 50) and the margin the broker's dry run holds for it."""
    future = parse_order(
        body(legs=[leg("/ESZ6", "Sell to Open", 1)], price="6195.25", time_in_force="Day")
    ).order
    effect = PreviewResult(
        checks="broker", margin_change=-23600.76, fees=1.0, buying_power_after=66005.0
    )
    assert describe(future, effect) == (
        "Sell to open 1 /ES Dec 26 at 6,195.25 limit, day: notional 309,762.50, "
        "margin 23,600.76, fees 1.00, buying power after 66,005.00"
    )
    assert estimated_cost(future) is None


def test_an_option_on_a_future_keeps_its_tastytrade_symbol_from_preview_to_place():
    """The feed symbol of an /ES option does not carry its REST symbol (its expiration, its
    option code): the order the preview keeps names it by the REST symbol it was given, so
    the place, read again, still knows how tastytrade spells it."""
    rest = "./ESZ6 ESZ6 261218C6000"
    ticket = parse_order(body(legs=[leg(rest, "Buy to Open", 1)], price="47.25"))
    said = order_json(ticket)["legs"][0]["symbol"]
    assert said == rest
    again = parse_order(body(legs=[leg(said, "Buy to Open", 1)], price="47.25")).order.legs[0]
    assert (again.symbol, again.broker_symbol("tastytrade")) == ("./ESZ26C6000:XCME", rest)
    by_feed = parse_order(body(legs=[leg("./ESZ26C6000:XCME", "Buy to Open", 1)], price="47.25"))
    assert order_json(by_feed)["legs"][0]["symbol"] == "./ESZ26C6000:XCME"
    with pytest.raises(OrderRefused) as refused:
        by_feed.order.legs[0].broker_symbol("tastytrade")
    assert refused.value.code == "unknown_symbol"
