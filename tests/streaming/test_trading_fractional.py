"""Parts of a share and dollar amounts in a ticket (input.py, words.py, quote.py): taken
where the broker takes them, refused in words where it does not. Pure."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from streaming.brokers.orders.entry import OrderLeg, OrderRequest, PreviewResult
from streaming.trading.broker_rules import check_linked_supported, check_supported
from streaming.trading.input import (
    OrderInputError,
    TicketLinked,
    parse_order,
    parse_ticket,
)
from streaming.trading.order_json import order_json
from streaming.trading.quote import notional
from streaming.trading.words import describe, estimated_cost


def body(quantity: Any = "0.5", **changes: Any) -> dict[str, Any]:
    order: dict[str, Any] = {
        "link": 3,
        "account": "PA0001",
        "legs": [{"symbol": "SPY", "action": "Buy to Open", "quantity": quantity}],
        "order_type": "Market",
        "price": None,
        "stop_price": None,
        "trail": None,
        "time_in_force": "Day",
        "replaces": None,
    }
    order.update(changes)
    return order


def dollars(amount: Any = "250.00", action: str = "Buy to Open", **changes: Any) -> dict:
    order = body(order_type="Notional Market", notional=amount, **changes)
    order["legs"] = [{"symbol": "SPY", "action": action}]
    return order


def refused(raw: Any, broker: str | None = None) -> tuple[str, str]:
    with pytest.raises(OrderInputError) as caught:
        ticket = parse_ticket(raw)
        if broker is not None:
            if isinstance(ticket, TicketLinked):
                check_linked_supported(broker, ticket.group)
            else:
                check_supported(broker, ticket.order)
    return caught.value.code, caught.value.message


def test_a_fractional_quantity_is_taken_exactly_and_said_back_as_its_decimal_string():
    ticket = parse_order(body("0.125000"))
    assert ticket.order.legs == (OrderLeg.of("SPY", "Buy to Open", Decimal("0.125")),)
    assert order_json(ticket)["legs"][0]["quantity"] == "0.125"
    assert parse_order(body(0.5)).order.legs[0].quantity == Decimal("0.5")
    whole = parse_order(body("3.0"))
    assert order_json(whole)["legs"][0]["quantity"] == 3  # whole: a number, as before
    assert parse_order(body("0.123456789")).order.legs[0].quantity == Decimal("0.123456789")
    check_supported("alpaca", ticket.order)  # no refusal


def test_a_dollar_amount_is_a_notional_market_order():
    ticket = parse_order(dollars("250.5"))
    order = ticket.order
    assert (order.order_type, order.notional, order.legs[0].quantity) == (
        "Notional Market",
        Decimal("250.50"),
        None,
    )
    said = order_json(ticket)
    assert said["notional"] == "250.50" and said["legs"][0]["quantity"] is None
    assert parse_order(said) == ticket  # what the preview keeps is read back the same
    for broker in ("alpaca", "tastytrade"):
        check_supported(broker, order)
    sell = parse_order(dollars("100", "Sell to Close")).order
    assert describe(sell, PreviewResult(checks="app")) == (
        "Sell $100.00 of SPY at market, day: credit about 100.00"
    )
    assert describe(order, PreviewResult(checks="app", buying_power_after=1000)) == (
        "Buy $250.50 of SPY at market, day: debit about 250.50, buying power after 1,000.00"
    )
    assert estimated_cost(order) == Decimal("250.50")
    assert estimated_cost(sell) == Decimal("-100.00")
    assert notional(order, {}) == Decimal("250.50")  # the limits' amount, quote or none


def test_the_words_of_a_fractional_order():
    order = parse_order(body("0.5", order_type="Limit", price="480.00")).order
    assert describe(order, PreviewResult(checks="app")) == (
        "Buy 0.5 SPY at 480.00 limit, day: debit 240.00"
    )
    assert notional(order, {}) == Decimal("240.000")


@pytest.mark.parametrize(
    ("raw", "code", "says"),
    [
        (body(0), "bad_quantity", "The quantity must be more than 0 and at most 1,000,000."),
        (body("-1"), "bad_quantity", "The quantity must be more than 0 and at most 1,000,000."),
        (body("abc"), "bad_quantity", "The quantity must be more than 0 and at most 1,000,000."),
        (body(True), "bad_quantity", "The quantity must be more than 0 and at most 1,000,000."),
        (body(None), "bad_quantity", "The quantity must be more than 0 and at most 1,000,000."),
        (body("NaN"), "bad_quantity", "The quantity must be more than 0 and at most 1,000,000."),
        (body("1e400"), "bad_quantity", "The quantity must be more than 0 and at most 1,000,000."),
        (body("0.0000000001"), "bad_quantity", "The quantity has at most 9 decimals."),
        (
            body(
                "1.5",
                legs=[{"symbol": ".SPY270115C590", "action": "Buy to Open", "quantity": "1.5"}],
            ),
            "bad_quantity",
            "An option's quantity is a whole number of contracts.",
        ),
        (dollars(None), "bad_price", "A notional market order needs a dollar amount."),
        (dollars("0.5"), "bad_price", "The dollar amount must be at least 1.00."),
        (dollars("10.005"), "bad_price", "The dollar amount is in cents: 10.005 is not."),
        (
            dollars("abc"),
            "bad_price",
            'The dollar amount must be a decimal number, such as "2.35".',
        ),
        (body(notional="100"), "bad_price", "A market order takes no dollar amount."),
        (
            {**dollars(), "legs": [{"symbol": "SPY", "action": "Buy to Open", "quantity": 1}]},
            "bad_order",
            "A notional market order has a dollar amount, not a quantity.",
        ),
        (dollars(price="480"), "bad_price", "A notional market order takes no price."),
        (
            dollars(action="Sell to Open"),
            "bad_order",
            "A notional market order buys (Buy to Open) or sells what is held (Sell to Close).",
        ),
        (
            dollars(time_in_force="GTC"),
            "bad_order",
            "A notional market order of stock is for the day (Day).",
        ),
        (
            {**dollars(), "legs": [{"symbol": ".SPY270115C590", "action": "Buy to Open"}]},
            "bad_order",
            "A notional market order buys or sells stock or a coin.",
        ),
    ],
)
def test_bad_quantities_and_dollar_amounts_are_refused_in_words(raw, code, says):
    assert refused(raw) == (code, says)


@pytest.mark.parametrize(
    ("broker", "raw", "says"),
    [
        ("tradier", body("0.5"), "Tradier takes whole shares only."),
        ("tradier", dollars(), "Tradier takes no dollar amounts; give a number of shares."),
        (
            "tastytrade",
            body("0.5"),
            "tastytrade takes part of a share as a dollar amount (Notional Market) only.",
        ),
        (
            "alpaca",
            body("0.5", time_in_force="GTC"),
            "Alpaca takes a part of a share for the day only.",
        ),
        (
            "alpaca",
            body("0.5", legs=[{"symbol": "SPY", "action": "Sell to Open", "quantity": "0.5"}]),
            "Alpaca does not sell short a part of a share.",
        ),
        (
            "alpaca",
            body("0.5", order_type="Trailing Stop", trail={"percent": "2"}),
            "Alpaca takes a part of a share in a Market, Limit, Stop or Stop Limit order.",
        ),
        (
            "alpaca",
            {
                "link": 3,
                "account": "PA0001",
                "complex": "OCO",
                "trigger": None,
                "orders": [
                    {
                        "legs": [{"symbol": "SPY", "action": "Sell to Close", "quantity": "0.5"}],
                        "order_type": "Limit",
                        "price": "600.00",
                        "time_in_force": "Day",
                    },
                    {
                        "legs": [{"symbol": "SPY", "action": "Sell to Close", "quantity": "0.5"}],
                        "order_type": "Stop",
                        "stop_price": "400.00",
                        "time_in_force": "Day",
                    },
                ],
            },
            "Alpaca links orders of whole shares only.",
        ),
    ],
)
def test_what_a_broker_does_not_take_of_parts_and_dollars_is_said_naming_it(broker, raw, says):
    assert refused(raw, broker) == ("unsupported", says)


def test_a_linked_order_takes_no_dollar_amount():
    oco = {
        "link": 3,
        "account": "PA0001",
        "complex": "OCO",
        "trigger": None,
        "orders": [dollars("100", "Sell to Close"), dollars("100", "Sell to Close")],
    }
    for member in oco["orders"]:
        for key in ("link", "account", "replaces"):
            member.pop(key)
    code, says = refused(oco)
    assert code == "bad_order" and says.startswith("The first order: a linked order's")


def test_the_contracts_request_type_carries_the_dollar_amount():
    order = OrderRequest(
        account="A",
        legs=(OrderLeg.of("SPY", "Buy to Open", None),),
        order_type="Notional Market",
        time_in_force="Day",
        notional=Decimal("10.00"),
    )
    assert order.estimated_price is None and order.notional == Decimal("10.00")
