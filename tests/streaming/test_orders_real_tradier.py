"""Tradier's orders as its documentation shows them → the contract's orders
(docs/streaming-contract.md, "Objects": order): types with their stop prices, durations,
classes, and linked orders as one order per member. Pure unit tests: no network.

Sources:
- GET_ORDERS: the response example of GET /v1/accounts/{id}/orders,
  documentation.tradier.com/brokerage-api/accounts/get-account-orders (also copied in
  jcobey/asynctradier tests/test_common.py).
- LUMIBOT_OCO: a GET response of an OCO order, Lumiwealth/lumibot tests/test_tradier.py
  `test_oco_parse_broker_order` (pandas' NaN of its empty parent fields written as null).
- The place-order pages of documentation.tradier.com (place-equity-order, place-oto-order,
  place-otoco-order, place-multileg-order): the forms' documented values, written in the
  GET response's field names (`stop` → `stop_price`, `type[1]` → the member's `type`). The
  documentation shows no GET example of these, so their ids and statuses are made up.
"""

from __future__ import annotations

from typing import Any

import pytest

from streaming.brokers.orders.shape import Order
from streaming.brokers.tradier.fills import FillBook
from streaming.brokers.tradier.wire import order_payloads

ZERO_FILLS = {
    "avg_fill_price": 0.0,
    "exec_quantity": 0.0,
    "last_fill_price": 0.0,
    "last_fill_quantity": 0.0,
    "remaining_quantity": 0.0,
}

#: GET_ORDERS: an equity limit order in the pre-market session.
EQUITY_LIMIT_PRE = {
    "id": 228175, "type": "limit", "symbol": "AAPL", "side": "buy", "quantity": 50.0,
    "status": "expired", "duration": "pre", "price": 22.0, **ZERO_FILLS,
    "create_date": "2018-06-01T12:02:29.682Z", "transaction_date": "2018-06-01T12:30:02.385Z",
    "class": "equity",
}  # fmt: skip

#: GET_ORDERS: an option market order.
OPTION_MARKET = {
    "id": 228749, "type": "market", "symbol": "SPY", "side": "buy_to_open", "quantity": 1.0,
    "status": "expired", "duration": "pre", **ZERO_FILLS,
    "create_date": "2018-06-06T20:16:17.342Z", "transaction_date": "2018-06-06T20:16:17.357Z",
    "class": "option", "option_symbol": "SPY180720C00274000",
}  # fmt: skip

#: GET_ORDERS: a combo (covered call): 100 shares and one call, at a net debit.
COMBO_DEBIT = {
    "id": 229063, "type": "debit", "symbol": "SPY", "side": "buy", "quantity": 1.0,
    "status": "canceled", "duration": "pre", "price": 42.0, **ZERO_FILLS,
    "create_date": "2018-06-12T21:13:36.076Z", "transaction_date": "2018-06-12T21:18:41.604Z",
    "class": "combo", "num_legs": 2, "strategy": "covered call",
    "leg": [
        {
            "id": 229064, "type": "debit", "symbol": "SPY", "side": "buy", "quantity": 100.0,
            "status": "canceled", "duration": "pre", "price": 42.0, **ZERO_FILLS,
            "create_date": "2018-06-12T21:13:36.076Z",
            "transaction_date": "2018-06-12T21:18:41.587Z", "class": "equity",
        },
        {
            "id": 229065, "type": "debit", "symbol": "SPY", "side": "sell_to_close",
            "quantity": 1.0, "status": "canceled", "duration": "pre", "price": 42.0,
            **ZERO_FILLS, "create_date": "2018-06-12T21:13:36.076Z",
            "transaction_date": "2018-06-12T21:18:41.597Z", "class": "option",
            "option_symbol": "SPY180720C00274000",
        },
    ],
}  # fmt: skip


def condor_leg(leg_id: int, side: str, option_symbol: str) -> dict[str, Any]:
    """GET_ORDERS: one leg of the condor (order 229123)."""
    return {
        "id": leg_id, "type": "credit", "symbol": "SPY", "side": side, "quantity": 1.0,
        "status": "expired", "duration": "pre", "price": 0.8, **ZERO_FILLS,
        "create_date": "2018-06-13T16:54:39.812Z",
        "transaction_date": "2018-06-13T20:55:00.069Z", "class": "option",
        "option_symbol": option_symbol,
    }  # fmt: skip


#: GET_ORDERS: a multileg condor at a net credit.
MULTILEG_CREDIT = {
    "id": 229123, "type": "credit", "symbol": "SPY", "side": "buy", "quantity": 1.0,
    "status": "expired", "duration": "pre", "price": 0.8, **ZERO_FILLS,
    "create_date": "2018-06-13T16:54:39.812Z", "transaction_date": "2018-06-13T20:55:00.069Z",
    "class": "multileg", "num_legs": 4, "strategy": "condor",
    "leg": [
        condor_leg(229124, "buy_to_open", "SPY180720C00274000"),
        condor_leg(229125, "sell_to_open", "SPY180720C00275000"),
        condor_leg(229126, "sell_to_open", "SPY180720C00276000"),
        condor_leg(229127, "buy_to_open", "SPY180720C00277000"),
    ],
}  # fmt: skip

#: LUMIBOT_OCO: the take-profit filled, the stop was cancelled; the parent's own order
#: fields are empty.
OCO: dict[str, Any] = {
    "avg_fill_price": None, "class": "oco", "create_date": "2025-02-26T20:52:33.982Z",
    "duration": None, "exec_quantity": None, "id": 16710952, "last_fill_price": None,
    "last_fill_quantity": None,
    "leg": [
        {
            "avg_fill_price": 3.34, "class": "option", "create_date": "2025-02-26T20:52:33.982Z",
            "duration": "gtc", "exec_quantity": 1.0, "id": 16710953, "last_fill_price": 3.34,
            "last_fill_quantity": 1.0, "option_symbol": "SPY200101C00150000", "price": 3.34,
            "quantity": 1.0, "remaining_quantity": 0.0, "side": "sell_to_close",
            "status": "filled", "symbol": "SPY", "transaction_date": "2025-02-26T20:58:31.116Z",
            "type": "limit",
        },
        {
            "avg_fill_price": 0.0, "class": "option", "create_date": "2025-02-26T20:52:33.982Z",
            "duration": "gtc", "exec_quantity": 0.0, "id": 16710954, "last_fill_price": 0.0,
            "last_fill_quantity": 0.0, "option_symbol": "SPY200101C00150000", "quantity": 1.0,
            "remaining_quantity": 0.0, "side": "sell_to_close", "status": "canceled",
            "stop_price": 2.78, "symbol": "SPY", "transaction_date": "2025-02-26T20:58:31.259Z",
            "type": "stop",
        },
    ],
    "option_symbol": None, "quantity": None, "remaining_quantity": None, "side": None,
    "status": "filled", "stop_price": None, "symbol": None, "tag": "StressStrat",
    "transaction_date": "2025-02-26T20:58:31.266Z", "type": None,
}  # fmt: skip


def member(member_id: int, side: str, order_type: str, status: str, **prices: Any) -> dict:
    """One AAPL order of the documented OTO/OTOCO forms (10 shares, duration day)."""
    return {
        "id": member_id, "type": order_type, "symbol": "AAPL", "side": side, "quantity": 10.0,
        "status": status, "duration": "day", **prices, **ZERO_FILLS,
        "remaining_quantity": 10.0, "create_date": "2018-06-01T12:02:29.682Z",
        "transaction_date": "2018-06-01T12:02:29.682Z", "class": "equity",
    }  # fmt: skip


def one(o: dict[str, Any]) -> Order:
    [order] = order_payloads(o, FillBook())
    return order


def test_a_limit_order_in_the_pre_market_session():
    """GET_ORDERS, order 228175."""
    assert one(EQUITY_LIMIT_PRE) == {
        "id": 228175,
        "status": "Expired",
        "order_type": "Limit",
        "broker_type": "limit",
        "time_in_force": "Pre",
        "good_till": None,
        "extended_hours": True,
        "price": 22.0,
        "price_effect": "Debit",
        "stop_price": None,
        "trail": None,
        "notional": None,
        "order_class": "simple",
        "group": None,
        "underlying": "AAPL",
        "legs": [
            {
                "symbol": "AAPL",
                "instrument_type": "Equity",
                "action": "buy",
                "quantity": 50,
                "remaining_quantity": 0,
                "fills": [],
            }
        ],
        "received_at": 1527854549682,
        "updated_at": 1527856202385,
        "unsupported": None,
    }


#: place-equity-order's durations, and the contract's time in force of each.
DURATIONS = [("pre", "Pre"), ("post", "Post"), ("day", "Day")]


@pytest.mark.parametrize(("duration", "session"), DURATIONS)
def test_pre_and_post_are_extended_hours(duration, session):
    """GET_ORDERS, order 228175, in each duration of the place-equity-order page."""
    order = one({**EQUITY_LIMIT_PRE, "duration": duration})
    assert (order["time_in_force"], order["extended_hours"]) == (session, duration != "day")


def test_an_option_market_order_has_no_price():
    """GET_ORDERS, order 228749."""
    order = one(OPTION_MARKET)
    assert (order["order_type"], order["price"], order["price_effect"]) == ("Market", None, None)
    assert order["legs"][0]["symbol"] == "SPY180720C00274000"
    assert order["legs"][0]["instrument_type"] == "Equity Option"
    assert order["underlying"] == "SPY"


def test_a_stop_order():
    """LUMIBOT_OCO's stop (16710954) listed alone, as an option order of its own."""
    order = one(OCO["leg"][1])
    assert (order["order_type"], order["broker_type"]) == ("Stop", "stop")
    assert (order["stop_price"], order["price"], order["price_effect"]) == (2.78, None, None)
    assert (order["status"], order["time_in_force"], order["order_class"]) == (
        "Cancelled",
        "GTC",
        "simple",
    )


#: place-equity-order: SPY, buy 10, type stop_limit, price 1.00, stop 1.00, day.
STOP_LIMIT = {**member(1, "buy", "stop_limit", "open", price=1.0, stop_price=1.0), "symbol": "SPY"}


def test_a_stop_limit_order():
    """place-equity-order: SPY, buy 10, type stop_limit, price 1.00, stop 1.00, day."""
    order = one(STOP_LIMIT)
    assert (order["order_type"], order["broker_type"]) == ("Stop Limit", "stop_limit")
    assert (order["price"], order["price_effect"], order["stop_price"]) == (1.0, "Debit", 1.0)
    assert (order["status"], order["time_in_force"]) == ("Live", "Day")


#: place-equity-order's stop order, its trigger under the form's name `stop`.
STOP_FORM = member(1, "sell", "stop", "open", stop=120.0)


def test_the_stop_price_is_also_read_as_the_forms_stop():
    """place-equity-order names the trigger `stop`; GET names it `stop_price`."""
    order = one(STOP_FORM)
    assert order["stop_price"] == 120.0


def test_a_combo_keeps_its_shares_and_its_option():
    """GET_ORDERS, order 229063 (covered call)."""
    order = one(COMBO_DEBIT)
    assert (order["order_type"], order["broker_type"], order["order_class"]) == (
        "Limit",
        "debit",
        "combo",
    )
    assert (order["price"], order["price_effect"], order["status"]) == (42.0, "Debit", "Cancelled")
    assert [
        (leg["symbol"], leg["instrument_type"], leg["action"], leg["quantity"])
        for leg in order["legs"]
    ] == [
        ("SPY", "Equity", "buy", 100),
        ("SPY180720C00274000", "Equity Option", "sell_to_close", 1),
    ]
    assert (order["received_at"], order["updated_at"]) == (1528838016076, 1528838321604)


def test_a_multileg_credit():
    """GET_ORDERS, order 229123 (condor)."""
    order = one(MULTILEG_CREDIT)
    assert (order["order_type"], order["price"], order["price_effect"]) == ("Limit", 0.8, "Credit")
    assert order["order_class"] == "multileg"
    assert [leg["symbol"] for leg in order["legs"]] == [
        "SPY180720C00274000",
        "SPY180720C00275000",
        "SPY180720C00276000",
        "SPY180720C00277000",
    ]


#: GET_ORDERS' condor placed as place-multileg-order's `debit` at price 1.00.
MULTILEG_DEBIT = {**MULTILEG_CREDIT, "type": "debit", "price": 1.0}
#: GET_ORDERS' condor placed as place-multileg-order's `even` (no price is sent).
MULTILEG_EVEN = {
    **{key: value for key, value in MULTILEG_CREDIT.items() if key != "price"},
    "type": "even",
}
#: GET_ORDERS' condor with one leg, which Tradier writes as the bare leg object.
SINGLE_LEG = {**MULTILEG_CREDIT, "num_legs": 1, "leg": MULTILEG_CREDIT["leg"][0]}


def test_a_multileg_debit():
    """GET_ORDERS' condor placed as place-multileg-order's `debit` at price 1.00."""
    order = one(MULTILEG_DEBIT)
    assert (order["order_type"], order["broker_type"]) == ("Limit", "debit")
    assert (order["price"], order["price_effect"]) == (1.0, "Debit")


def test_a_multileg_even_is_a_limit_at_zero():
    """GET_ORDERS' condor placed as place-multileg-order's `even` (no price is sent)."""
    order = one(MULTILEG_EVEN)
    assert (order["order_type"], order["broker_type"]) == ("Limit", "even")
    assert (order["price"], order["price_effect"]) == (0, None)


def test_a_single_leg_comes_as_a_bare_object():
    """Tradier writes a one-element list as the element: GET_ORDERS' condor with one leg."""
    order = one(SINGLE_LEG)
    assert [(leg["symbol"], leg["action"]) for leg in order["legs"]] == [
        ("SPY180720C00274000", "buy_to_open")
    ]


#: GET_ORDERS' order 228175 with an empty field written as "null" (reference, pitfall 1).
NULL_STRING = {**EQUITY_LIMIT_PRE, "option_symbol": "null"}


def test_a_null_string_is_no_value():
    """Tradier writes an empty field as "null" (reference, pitfall 1)."""
    order = one(NULL_STRING)
    assert (order["legs"][0]["symbol"], order["legs"][0]["instrument_type"]) == ("AAPL", "Equity")


#: place-otoco-order: AAPL buy 10 limit 130 (filled), then sell 10 limit 150 or stop 120.
OTOCO = {
    "id": 500, "type": "limit", "symbol": "AAPL", "status": "open", "duration": "day",
    "create_date": "2018-06-01T12:02:29.682Z", "class": "otoco",
    "leg": [
        {
            **member(501, "buy", "limit", "filled", price=130.0), "exec_quantity": 10.0,
            "last_fill_price": 130.0, "last_fill_quantity": 10.0, "avg_fill_price": 130.0,
            "remaining_quantity": 0.0,
        },
        member(502, "sell", "limit", "open", price=150.0),
        member(503, "sell", "stop", "open", stop_price=120.0),
    ],
}  # fmt: skip


def test_an_otoco_is_three_orders_in_one_group():
    """place-otoco-order: AAPL buy 10 limit 130, then sell 10 limit 150 or stop 120."""
    orders = order_payloads(OTOCO, FillBook())
    assert [
        (o["id"], o["order_type"], o["price"], o["price_effect"], o["stop_price"], o["status"])
        for o in orders
    ] == [
        (501, "Limit", 130.0, "Debit", None, "Filled"),
        (502, "Limit", 150.0, "Credit", None, "Live"),
        (503, "Stop", None, None, 120.0, "Live"),
    ]
    assert [o["group"] for o in orders] == [
        {"id": "500", "class": "otoco", "role": "trigger"},
        {"id": "500", "class": "otoco", "role": "take_profit"},
        {"id": "500", "class": "otoco", "role": "stop_loss"},
    ]
    assert {o["order_class"] for o in orders} == {"otoco"}
    assert orders[0]["legs"][0]["fills"] == [
        {"id": "501:10", "quantity": 10, "price": 130.0, "at": 1527854549682}
    ]
    assert [o["legs"][0]["remaining_quantity"] for o in orders] == [0, 10, 10]


def test_an_oco_reads_its_members_not_its_empty_parent():
    """LUMIBOT_OCO: the take-profit filled (3.34), the stop (2.78) was cancelled."""
    take_profit, stop_loss = order_payloads(OCO, FillBook())
    assert take_profit == {
        "id": 16710953,
        "status": "Filled",
        "order_type": "Limit",
        "broker_type": "limit",
        "time_in_force": "GTC",
        "good_till": None,
        "extended_hours": False,
        "price": 3.34,
        "price_effect": "Credit",
        "stop_price": None,
        "trail": None,
        "notional": None,
        "order_class": "oco",
        "group": {"id": "16710952", "class": "oco", "role": "take_profit"},
        "underlying": "SPY",
        "legs": [
            {
                "symbol": "SPY200101C00150000",
                "instrument_type": "Equity Option",
                "action": "sell_to_close",
                "quantity": 1,
                "remaining_quantity": 0,
                "fills": [{"id": "16710953:1", "quantity": 1, "price": 3.34, "at": 1740603511116}],
            }
        ],
        "received_at": 1740603153982,
        "updated_at": 1740603511116,
        "unsupported": None,
    }
    assert (stop_loss["id"], stop_loss["order_type"], stop_loss["stop_price"]) == (
        16710954,
        "Stop",
        2.78,
    )
    assert (stop_loss["status"], stop_loss["time_in_force"], stop_loss["legs"][0]["fills"]) == (
        "Cancelled",
        "GTC",
        [],
    )
    assert stop_loss["group"] == {"id": "16710952", "class": "oco", "role": "stop_loss"}


def oto() -> dict[str, Any]:
    """place-oto-order: AAPL buy 10 limit 130, then sell 10 stop 120, the duration sent once
    for both (the form's top-level `duration`)."""
    first = member(601, "buy", "limit", "open", price=130.0)
    second = member(602, "sell", "stop", "open", stop_price=120.0)
    del first["duration"], second["duration"]
    return {"id": 600, "class": "oto", "status": "open", "duration": "day", "leg": [first, second]}


def test_an_oto_triggers_its_second_order():
    """place-oto-order: AAPL buy 10 limit 130, then sell 10 stop 120; the duration sent
    once for both (the form's top-level `duration`) is read from the parent."""
    orders = order_payloads(oto(), FillBook())
    assert [(o["id"], o["order_type"], o["time_in_force"], o["group"]) for o in orders] == [
        (601, "Limit", "Day", {"id": "600", "class": "oto", "role": "trigger"}),
        (602, "Stop", "Day", {"id": "600", "class": "oto", "role": "stop_loss"}),
    ]


#: GET_ORDERS' order 228175 with a type Tradier does not document (lumibot tradier.py).
TRAILING = {**EQUITY_LIMIT_PRE, "type": "trailing_stop"}
#: GET_ORDERS' condor under a class this adapter does not know.
SPREAD = {**MULTILEG_CREDIT, "class": "spread"}
#: GET_ORDERS' order 228175 with a duration Tradier does not document (no GTD).
GTD = {**EQUITY_LIMIT_PRE, "duration": "gtd"}


def test_an_unknown_type_is_kept_and_said():
    """GET_ORDERS' order 228175 with a type Tradier does not document (no trailing stop:
    lumibot tradier.py)."""
    trailing = TRAILING
    order = one(trailing)
    assert (order["order_type"], order["broker_type"]) == ("Unsupported", "trailing_stop")
    assert order["unsupported"] == {
        "kind": "order_type",
        "name": "trailing_stop",
        "fields": trailing,
    }
    assert (order["id"], order["price"], order["legs"][0]["quantity"]) == (228175, 22.0, 50)


def test_an_unknown_class_is_kept_as_one_order():
    """GET_ORDERS' condor under a class this adapter does not know."""
    unknown = SPREAD
    order = one(unknown)
    assert order["order_class"] == "Unsupported"
    assert order["unsupported"] == {"kind": "order_class", "name": "spread", "fields": unknown}
    assert len(order["legs"]) == 4 and order["order_type"] == "Limit"


def test_an_unknown_duration_is_kept_and_said():
    """GET_ORDERS' order 228175 with a duration Tradier does not document (no GTD)."""
    unknown = GTD
    order = one(unknown)
    assert (order["time_in_force"], order["extended_hours"]) == ("Unsupported", False)
    assert order["unsupported"] == {"kind": "time_in_force", "name": "gtd", "fields": unknown}
