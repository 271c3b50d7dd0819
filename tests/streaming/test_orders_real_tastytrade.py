"""tastytrade's orders as its docs show them, parsed by the SDK's models and mapped to the
contract's order (streaming/brokers/tastytrade/wire.py; docs/streaming-contract.md,
"Objects": order), and a `ComplexOrder` account-streamer message reaching the sink as its
member orders. Pure unit tests: no network.

Sources (copies of developer.tastytrade.com in repo tastytrade/tastytrade-mcp @ff4313c,
tastytrade-llms-txt-docs/docs/):
- ORDER_MANAGEMENT: order-management.md ("Submit Order", "Submit Complex Order": the
  OTOCO, OTO and OCO responses).
- ORDER_SUBMISSION: order-submission.md (the order examples, the time-in-force table).
- API_OVERVIEW: api-overview.md ("tastytrade Symbology").
An order body from ORDER_SUBMISSION is a request: it is completed with the fields tastytrade
adds when it accepts an order (`PLACED`, from ORDER_MANAGEMENT's "Submit Order" response).
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import time
from types import SimpleNamespace
from typing import Any

import pytest
from tastytrade.order import PlacedComplexOrder, PlacedOrder
from tastytrade.streamer import AlertStreamer

from streaming.brokers.tastytrade import streamers
from streaming.brokers.tastytrade.adapter import StreamConfig, TastytradeAdapter
from streaming.brokers.tastytrade.wire import (
    complex_order_payloads,
    complex_orders_from_json,
    order_from_json,
    order_payload,
)
from tests.support.brokers import TASTYTRADE_FAST
from tests.support.recording import RecordingSink

#: What tastytrade adds to an accepted order: ORDER_MANAGEMENT, "Submit Order" response
#: (`data.order`), less its own order's fields.
PLACED = {
    "id": 771043,
    "account-number": "5WT0001",
    "status": "Routed",
    "cancellable": False,
    "editable": False,
    "edited": False,
    "received-at": "2019-10-01T18:26:52.513+00:00",
    "updated-at": 1569954412572,
}
RECEIVED_AT = 1569954412513
UPDATED_AT = 1569954412572


def placed(body: dict[str, Any], underlying: str, underlying_type: str) -> PlacedOrder:
    """A documented order body as tastytrade lists it once accepted, parsed by the SDK.
    Each leg gets its `remaining-quantity` (all of it: nothing filled yet) and `fills`."""
    legs = [{**leg, "remaining-quantity": leg.get("quantity"), "fills": []} for leg in body["legs"]]
    return PlacedOrder.model_validate(
        {
            **PLACED,
            **copy.deepcopy(body),
            "underlying-symbol": underlying,
            "underlying-instrument-type": underlying_type,
            "legs": legs,
        }
    )


def leg(symbol: str, kind: str, action: str, quantity: Any) -> dict[str, Any]:
    """A mapped leg with nothing filled (the contract's `legs` item)."""
    return {
        "symbol": symbol,
        "instrument_type": kind,
        "action": action,
        "quantity": quantity,
        "remaining_quantity": quantity,
        "fills": [],
    }


def mapped(**fields: Any) -> dict[str, Any]:
    """The contract's order for one of the `placed` bodies: a Routed simple Day order
    unless `fields` says otherwise."""
    return {
        "id": 771043,
        "status": "Routed",
        "order_type": "Limit",
        "broker_type": "Limit",
        "time_in_force": "Day",
        "good_till": None,
        "extended_hours": False,
        "price": None,
        "price_effect": None,
        "stop_price": None,
        "trail": None,
        "notional": None,
        "order_class": "simple",
        "group": None,
        "underlying": "AAPL",
        "legs": [],
        "received_at": RECEIVED_AT,
        "updated_at": UPDATED_AT,
        "unsupported": None,
        **fields,
    }


AAPL_100_SELL_TO_CLOSE = leg("AAPL", "Equity", "Sell to Close", 100)
AAPL_1_BUY_TO_OPEN = leg("AAPL", "Equity", "Buy to Open", 1)


# -- single orders ----------------------------------------------------------------------------
#: ORDER_SUBMISSION, "Closing Stop Market Order Example".
STOP_BODY = {
    "time-in-force": "GTC",
    "order-type": "Stop",
    "stop-trigger": 105,
    "legs": [
        {
            "instrument-type": "Equity",
            "symbol": "AAPL",
            "quantity": 100,
            "action": "Sell to Close",
        }
    ],
}


def test_a_stop_is_a_market_order_armed_at_its_stop_trigger():
    """ORDER_SUBMISSION, "Closing Stop Market Order Example"."""
    assert order_payload(placed(STOP_BODY, "AAPL", "Equity")) == mapped(
        order_type="Stop",
        broker_type="Stop",
        time_in_force="GTC",
        stop_price=105,
        legs=[AAPL_100_SELL_TO_CLOSE],
    )


#: ORDER_SUBMISSION, "Stop Limit Order Example".
STOP_LIMIT_BODY = {
    "time-in-force": "GTC",
    "order-type": "Stop Limit",
    "stop-trigger": 110,
    "price": 115,
    "price-effect": "Debit",
    "legs": [
        {
            "instrument-type": "Equity",
            "symbol": "AAPL",
            "quantity": 100,
            "action": "Buy to Open",
        }
    ],
}


def test_a_stop_limit_has_its_limit_price_and_its_stop_trigger():
    """ORDER_SUBMISSION, "Stop Limit Order Example" (the page spells its type "Stop" there
    and "Limit" in "Stop Limit Order" further down; the type it describes, and the SDK's
    `OrderType.STOP_LIMIT`, is "Stop Limit")."""
    assert order_payload(placed(STOP_LIMIT_BODY, "AAPL", "Equity")) == mapped(
        order_type="Stop Limit",
        broker_type="Stop Limit",
        time_in_force="GTC",
        price=115,
        price_effect="Debit",
        stop_price=110,
        legs=[leg("AAPL", "Equity", "Buy to Open", 100)],
    )


#: ORDER_SUBMISSION, "Notional Cryptocurrency Order".
NOTIONAL_CRYPTO_BODY = {
    "time-in-force": "GTC",
    "order-type": "Notional Market",
    "value": 10.0,
    "value-effect": "Debit",
    "legs": [{"instrument-type": "Cryptocurrency", "symbol": "BTC/USD", "action": "Buy to Open"}],
}


def test_a_notional_crypto_order_is_a_dollar_amount_without_a_quantity():
    """ORDER_SUBMISSION, "Notional Cryptocurrency Order": `value` 10.0 Debit, a leg with
    no quantity. The SDK signs `value` (negative: a debit); `notional` is the amount, and
    `price_effect` stays about `price` (there is none)."""
    order = placed(NOTIONAL_CRYPTO_BODY, "BTC/USD", "Cryptocurrency")
    assert order.value is not None and order.value < 0  # the SDK's sign
    assert order_payload(order) == mapped(
        order_type="Notional Market",
        broker_type="Notional Market",
        time_in_force="GTC",
        notional=10,
        underlying="BTC/USD",
        legs=[leg("BTC/USD", "Cryptocurrency", "Buy to Open", None)],
    )


#: ORDER_SUBMISSION, "AAPL GTD Order".
GTD_BODY = {
    "time-in-force": "GTD",
    "gtc-date": "2022-12-01",
    "price": 0.85,
    "price-effect": "Credit",
    "order-type": "Limit",
    "legs": [
        {"instrument-type": "Equity", "symbol": "AAPL", "quantity": 1, "action": "Buy to Open"}
    ],
}


def test_a_gtd_order_is_good_till_its_gtc_date():
    """ORDER_SUBMISSION, "AAPL GTD Order" (`gtc-date`, which the docs apologise for)."""
    assert order_payload(placed(GTD_BODY, "AAPL", "Equity")) == mapped(
        time_in_force="GTD",
        good_till="2022-12-01",
        price=0.85,
        price_effect="Credit",
        legs=[AAPL_1_BUY_TO_OPEN],
    )


#: ORDER_SUBMISSION's "Time In Force" table, and IOC (the SDK's `OrderTimeInForce`, not in
#: the table): whether each may fill outside regular hours.
TIMES_IN_FORCE = [
    ("Ext", True),
    ("Ext Overnight", True),
    ("GTC Ext", True),
    ("GTC Ext Overnight", True),
    ("Day", False),
    ("GTC", False),
    ("IOC", False),
]


def limit_body(time_in_force: str) -> dict[str, Any]:
    """ORDER_SUBMISSION, "Limit Order Example" with the time in force `time_in_force`."""
    return {
        "time-in-force": time_in_force,
        "order-type": "Limit",
        "price": 5,
        "price-effect": "Debit",
        "legs": [
            {
                "instrument-type": "Equity",
                "symbol": "AAPL",
                "quantity": 100,
                "action": "Buy to Open",
            }
        ],
    }


@pytest.mark.parametrize(("time_in_force", "extended"), TIMES_IN_FORCE)
def test_the_ext_sessions_may_fill_outside_regular_hours(time_in_force, extended):
    """ORDER_SUBMISSION, "Limit Order Example" with each time in force of its "Time In
    Force" table (the Ext ones: single-leg equity orders in the extended or 24-hour
    session) and IOC (the SDK's `OrderTimeInForce`, not in the table)."""
    assert order_payload(placed(limit_body(time_in_force), "AAPL", "Equity")) == mapped(
        time_in_force=time_in_force,
        extended_hours=extended,
        price=5,
        price_effect="Debit",
        legs=[leg("AAPL", "Equity", "Buy to Open", 100)],
    )


#: ORDER_SUBMISSION, "Short Futures Limit Order".
FUTURE_BODY = {
    "time-in-force": "Day",
    "price": 90.03,
    "price-effect": "Credit",
    "order-type": "Limit",
    "legs": [
        {
            "instrument-type": "Future",
            "symbol": "/CLZ2",
            "quantity": 1,
            "action": "Sell to Open",
        }
    ],
}


def test_a_futures_order():
    """ORDER_SUBMISSION, "Short Futures Limit Order" (/CLZ2)."""
    assert order_payload(placed(FUTURE_BODY, "/CL", "Future")) == mapped(
        price=90.03,
        price_effect="Credit",
        underlying="/CL",
        legs=[leg("/CLZ2", "Future", "Sell to Open", 1)],
    )


#: API_OVERVIEW's future option in ORDER_SUBMISSION's "Short Futures Limit Order".
FUTURE_OPTION_BODY = {
    "time-in-force": "Day",
    "price": 1.25,
    "price-effect": "Debit",
    "order-type": "Limit",
    "legs": [
        {
            "instrument-type": "Future Option",
            "symbol": "./CLZ2 LO1X2 221104C91",
            "quantity": 2,
            "action": "Buy to Open",
        }
    ],
}


def test_a_future_option_leg():
    """A future option of API_OVERVIEW's symbology (`./CLZ2 LO1X2 221104C91`: a CL weekly
    call settling into /CLZ2) in ORDER_SUBMISSION's "Short Futures Limit Order" (future
    options: up to 4 legs, whole quantities)."""
    assert order_payload(placed(FUTURE_OPTION_BODY, "/CL", "Future")) == mapped(
        price=1.25,
        price_effect="Debit",
        underlying="/CL",
        legs=[leg("./CLZ2 LO1X2 221104C91", "Future Option", "Buy to Open", 2)],
    )


#: ORDER_SUBMISSION, "Quantity": a crypto limit order for 0.001 BTC.
CRYPTO_QUANTITY_BODY = {
    "time-in-force": "GTC",
    "order-type": "Limit",
    "price": 95000.5,
    "price-effect": "Debit",
    "legs": [
        {
            "instrument-type": "Cryptocurrency",
            "symbol": "BTC/USD",
            "quantity": "0.001",
            "action": "Buy to Open",
        }
    ],
}


def test_a_crypto_quantity_is_exact():
    """ORDER_SUBMISSION, "Quantity": "For cryptocurrency orders, the quantity can have a
    decimal value" — its "Notional Cryptocurrency Order" leg (BTC/USD) as a limit order for
    0.001 BTC (a string, as its "Iron Condor Order" sends quantities)."""
    assert order_payload(placed(CRYPTO_QUANTITY_BODY, "BTC/USD", "Cryptocurrency")) == mapped(
        time_in_force="GTC",
        price=95000.5,
        price_effect="Debit",
        underlying="BTC/USD",
        legs=[leg("BTC/USD", "Cryptocurrency", "Buy to Open", 0.001)],
    )


#: ORDER_MANAGEMENT, "Submit Order" response (`data.order`), less `PLACED`.
SUBMITTED_SPREAD = {
    "time-in-force": "Day",
    "order-type": "Limit",
    "size": 1,
    "underlying-symbol": "SPY",
    # not in this response, required by the SDK: as in the page's "Cancel Order" response
    "underlying-instrument-type": "Equity",
    "price": "3.0",
    "price-effect": "Credit",
    "legs": [
        {
            "instrument-type": "Equity Option",
            "symbol": "SPY   191018C00295000",
            "quantity": 1,
            "remaining-quantity": 1,
            "action": "Sell to Open",
            "fills": [],
        },
        {
            "instrument-type": "Equity Option",
            "symbol": "SPY   191018C00298000",
            "quantity": 1,
            "remaining-quantity": 1,
            "action": "Buy to Open",
            "fills": [],
        },
    ],
}


def test_an_options_spread_is_multileg():
    """ORDER_MANAGEMENT, "Submit Order" response: a two-leg SPY call spread, 3.0 Credit."""
    order = PlacedOrder.model_validate({**PLACED, **copy.deepcopy(SUBMITTED_SPREAD)})
    assert order_payload(order) == mapped(
        price=3,
        price_effect="Credit",
        order_class="multileg",
        underlying="SPY",
        legs=[
            leg("SPY   191018C00295000", "Equity Option", "Sell to Open", 1),
            leg("SPY   191018C00298000", "Equity Option", "Buy to Open", 1),
        ],
    )


# -- complex orders ---------------------------------------------------------------------------
def component(
    order_id: int,
    complex_id: int,
    tag: str,
    fields: dict[str, Any],
    legs: list[dict[str, Any]],
    *,
    received_at: str,
    updated_at: int,
) -> dict[str, Any]:
    """One component of a complex order as ORDER_MANAGEMENT's responses show it."""
    return {
        "id": order_id,
        "account-number": "5WT00001",
        "size": legs[0]["quantity"],
        "underlying-instrument-type": "Equity",
        "status": "Contingent",
        "contingent-status": "Pending Order",
        "cancellable": True,
        "editable": True,
        "edited": False,
        "received-at": received_at,
        "updated-at": updated_at,
        "complex-order-id": complex_id,
        "complex-order-tag": tag,
        **fields,
        "legs": [{**x, "remaining-quantity": x["quantity"], "fills": []} for x in legs],
    }


UA_BUY = [{"instrument-type": "Equity", "symbol": "UA", "quantity": 100, "action": "Buy to Open"}]
UA_SELL = [
    {"instrument-type": "Equity", "symbol": "UA", "quantity": 100, "action": "Sell to Close"}
]
#: ORDER_MANAGEMENT, "Submit Complex Order", OTOCO: the response's `data.complex-order`.
OTOCO: dict[str, Any] = {
    "id": 2000010530,
    "account-number": "5WT00001",
    "type": "OTOCO",
    "trigger-order": component(
        2002750870,
        2000010530,
        "OTOCO::trigger-order",
        {
            "time-in-force": "Day",
            "order-type": "Limit",
            "underlying-symbol": "UA",
            "price": "6.5",
            "price-effect": "Debit",
            "preflight-id": 0,
        },
        UA_BUY,
        received_at="2023-07-31T16:13:56.326+00:00",
        updated_at=1690820036326,
    ),
    "orders": [
        component(
            2002750871,
            2000010530,
            "OTOCO::oco-1-order",
            {
                "time-in-force": "Day",
                "order-type": "Limit",
                "underlying-symbol": "UA",
                "price": "8.0",
                "price-effect": "Credit",
                "preflight-id": 1,
            },
            UA_SELL,
            received_at="2023-07-31T16:13:56.356+00:00",
            updated_at=1690820036356,
        ),
        component(
            2002750872,
            2000010530,
            "OTOCO::oco-1-order",
            {
                "time-in-force": "Day",
                "order-type": "Stop",
                "underlying-symbol": "UA",
                "stop-trigger": "6.0",
                "preflight-id": 2,
            },
            UA_SELL,
            received_at="2023-07-31T16:13:56.381+00:00",
            updated_at=1690820036381,
        ),
    ],
}


def member(order: dict[str, Any], group_id: str, order_class: str, role: str) -> dict[str, Any]:
    """The contract's order for a Contingent complex-order component."""
    fields = {
        "id": order["id"],
        "status": "Contingent",
        "order_type": order["order-type"],
        "broker_type": order["order-type"],
        "time_in_force": order["time-in-force"],
        "good_till": None,
        "extended_hours": False,
        "price": None,
        "price_effect": None,
        "stop_price": None,
        "trail": None,
        "notional": None,
        "order_class": order_class,
        "group": {"id": group_id, "class": order_class, "role": role},
        "underlying": order["underlying-symbol"],
        "legs": [
            leg(x["symbol"], x["instrument-type"], x["action"], x["quantity"])
            for x in order["legs"]
        ],
        "received_at": None,
        "updated_at": order["updated-at"],
        "unsupported": None,
    }
    return fields


OTOCO_MEMBERS = [
    {
        **member(OTOCO["trigger-order"], "2000010530", "otoco", "trigger"),
        "price": 6.5,
        "price_effect": "Debit",
        "received_at": 1690820036326,
    },
    {
        **member(OTOCO["orders"][0], "2000010530", "otoco", "take_profit"),
        "price": 8,
        "price_effect": "Credit",
        "received_at": 1690820036356,
    },
    {
        **member(OTOCO["orders"][1], "2000010530", "otoco", "stop_loss"),
        "stop_price": 6,
        "received_at": 1690820036381,
    },
]


def test_an_otoco_is_three_linked_orders():
    """ORDER_MANAGEMENT, OTOCO response: the trigger and its OCO pair, each an order of its
    own (its type, prices, status Contingent), all in the complex order's group."""
    complex_order = PlacedComplexOrder.model_validate(copy.deepcopy(OTOCO))
    assert complex_order_payloads(complex_order) == OTOCO_MEMBERS


def test_an_otoco_component_listed_alone_is_the_same_member():
    """The same components as live orders or an `Order` message list them (each with its
    `complex-order-id` and `complex-order-tag`): the same members as from the group."""
    components = [OTOCO["trigger-order"], *OTOCO["orders"]]
    parsed = [PlacedOrder.model_validate(copy.deepcopy(c)) for c in components]
    assert [order_payload(o) for o in parsed] == OTOCO_MEMBERS


#: ORDER_MANAGEMENT, "Submit Complex Order", OCO: the response's `data.complex-order`.
AAPL_SELL = [
    {"instrument-type": "Equity", "symbol": "AAPL", "quantity": 100, "action": "Sell to Close"}
]
OCO: dict[str, Any] = {
    "id": 2000010529,
    "account-number": "5WT00001",
    "type": "OCO",
    "orders": [
        component(
            2002750868,
            2000010529,
            "OCO::order",
            {
                "time-in-force": "GTC",
                "order-type": "Limit",
                "underlying-symbol": "AAPL",
                "price": "200.5",
                "price-effect": "Credit",
                "preflight-id": 0,
            },
            AAPL_SELL,
            received_at="2023-07-31T15:57:55.245+00:00",
            updated_at=1690819075245,
        ),
        component(
            2002750869,
            2000010529,
            "OCO::order",
            {
                "time-in-force": "GTC",
                "order-type": "Stop",
                "underlying-symbol": "AAPL",
                "stop-trigger": "150.25",
                "preflight-id": 1,
            },
            AAPL_SELL,
            received_at="2023-07-31T15:57:55.289+00:00",
            updated_at=1690819075289,
        ),
    ],
}


def test_an_oco_is_a_take_profit_and_a_stop_loss():
    """ORDER_MANAGEMENT, "Submit Complex Order", OCO response (AAPL, GTC)."""
    expected = [
        {
            **member(OCO["orders"][0], "2000010529", "oco", "take_profit"),
            "price": 200.5,
            "price_effect": "Credit",
            "received_at": 1690819075245,
        },
        {
            **member(OCO["orders"][1], "2000010529", "oco", "stop_loss"),
            "stop_price": 150.25,
            "received_at": 1690819075289,
        },
    ]
    complex_order = PlacedComplexOrder.model_validate(copy.deepcopy(OCO))
    assert complex_order_payloads(complex_order) == expected
    alone = [PlacedOrder.model_validate(copy.deepcopy(o)) for o in OCO["orders"]]
    assert [order_payload(o) for o in alone] == expected


#: ORDER_MANAGEMENT, "Submit Complex Order", OTO: the response's `data.complex-order`.
OTO: dict[str, Any] = {
    "id": 2000054627,
    "account-number": "5WT05674",
    "type": "OTO",
    "trigger-order": {
        "id": 4007362691,
        "account-number": "5WT05674",
        "cancellable": True,
        "complex-order-id": 2000054627,
        "complex-order-tag": "OTO::trigger-order",
        "contingent-status": "Pending Order",
        "editable": True,
        "edited": False,
        "global-request-id": "e2905f39e30d832b45595dd752341642",
        "order-type": "Limit",
        "preflight-id": 0,
        "price": "1.5",
        "price-effect": "Debit",
        "received-at": "2025-01-28T15:43:09.626+00:00",
        "size": 1,
        "status": "Contingent",
        "time-in-force": "Day",
        "underlying-instrument-type": "Equity",
        "underlying-symbol": "AAPL",
        "updated-at": 1738078989626,
        "legs": [
            {
                "action": "Buy to Close",
                "instrument-type": "Equity Option",
                "quantity": 1,
                "remaining-quantity": 1,
                "symbol": "AAPL  250214C00240000",
                "fills": [],
            },
            {
                "action": "Buy to Close",
                "instrument-type": "Equity Option",
                "quantity": 1,
                "remaining-quantity": 1,
                "symbol": "AAPL  250214P00235000",
                "fills": [],
            },
        ],
    },
    "orders": [
        {
            "id": order_id,
            "account-number": "5WT05674",
            "cancellable": True,
            "complex-order-id": 2000054627,
            "complex-order-tag": "OTO::order",
            "contingent-status": "Pending Order",
            "editable": True,
            "edited": False,
            "global-request-id": "e2905f39e30d832b45595dd752341642",
            "order-type": "Market",
            "preflight-id": preflight,
            "received-at": received_at,
            "size": 1,
            "status": "Contingent",
            "time-in-force": "Day",
            "underlying-instrument-type": "Equity",
            "underlying-symbol": "AAPL",
            "updated-at": updated_at,
            "legs": [
                {
                    "action": "Sell to Close",
                    "instrument-type": "Equity Option",
                    "quantity": 1,
                    "remaining-quantity": 1,
                    "symbol": symbol,
                    "fills": [],
                }
            ],
        }
        for order_id, preflight, received_at, updated_at, symbol in [
            (
                4007362692,
                1,
                "2025-01-28T15:43:09.644+00:00",
                1738078989644,
                "AAPL  250214C00242500",
            ),
            (
                4007362693,
                2,
                "2025-01-28T15:43:09.654+00:00",
                1738078989654,
                "AAPL  250214P00232500",
            ),
        ]
    ],
}


def test_an_oto_is_a_trigger_and_the_orders_it_routes():
    """ORDER_MANAGEMENT, "Submit Complex Order", OTO response: a two-leg option trigger
    (an OTO member, not `multileg`) and two market orders it routes (`member`: neither
    takes profit nor stops a loss)."""
    expected = [
        {
            **member(OTO["trigger-order"], "2000054627", "oto", "trigger"),
            "price": 1.5,
            "price_effect": "Debit",
            "received_at": 1738078989626,
        },
        {
            **member(OTO["orders"][0], "2000054627", "oto", "member"),
            "received_at": 1738078989644,
        },
        {
            **member(OTO["orders"][1], "2000054627", "oto", "member"),
            "received_at": 1738078989654,
        },
    ]
    complex_order = PlacedComplexOrder.model_validate(copy.deepcopy(OTO))
    assert complex_order_payloads(complex_order) == expected
    components = [OTO["trigger-order"], *OTO["orders"]]
    alone = [PlacedOrder.model_validate(copy.deepcopy(c)) for c in components]
    assert [order_payload(o) for o in alone] == expected


#: ORDER_MANAGEMENT's OCO limit component tagged `PAIRS::order` (the SDK's `ComplexOrderType`
#: knows PAIRS; the contract has no class for it).
PAIRS_COMPONENT = component(
    2002750868,
    2000010529,
    "PAIRS::order",
    {
        "time-in-force": "GTC",
        "order-type": "Limit",
        "underlying-symbol": "AAPL",
        "price": "200.5",
        "price-effect": "Credit",
        "preflight-id": 0,
    },
    [
        {
            "instrument-type": "Equity",
            "symbol": "AAPL",
            "quantity": 100,
            "action": "Sell to Close",
        }
    ],
    received_at="2023-07-31T15:57:55.245+00:00",
    updated_at=1690819075245,
)


def test_a_component_of_an_unknown_complex_order_type_is_kept_and_said():
    """The SDK's `ComplexOrderType` also knows PAIRS, which the contract has no class for:
    ORDER_MANAGEMENT's OCO limit component tagged `PAIRS::order` is kept, its class
    `Unsupported`, its group still the complex order's with the role `member` (a PAIRS
    component is no take profit: the app does not guess exits of an unknown type), the tag
    reported."""
    payload = order_payload(PlacedOrder.model_validate(copy.deepcopy(PAIRS_COMPONENT)))
    assert payload["order_class"] == "Unsupported"
    assert payload["group"] == {"id": "2000010529", "class": "Unsupported", "role": "member"}
    unknown = payload["unsupported"]
    assert unknown is not None
    assert (unknown["kind"], unknown["name"]) == ("order_class", "PAIRS::order")
    assert unknown["fields"]["complex-order-tag"] == "PAIRS::order"
    assert unknown["fields"]["id"] == 2002750868
    assert (payload["order_type"], payload["price"], payload["status"]) == (
        "Limit",
        200.5,
        "Contingent",
    )


# -- the account streamer's ComplexOrder -----------------------------------------------------
@pytest.mark.parametrize("streamer", ["queued", "plain"])
async def test_a_complex_order_message_reaches_the_sink_as_its_member_orders(streamer):
    """A `ComplexOrder` message (the SDK's `MAP_ALERTS` maps it to `PlacedComplexOrder`;
    its `data` is ORDER_MANAGEMENT's OTOCO) fed to the account streamer's hook as its
    reader does: each member reaches the sink as an `order` of the complex order's account
    and is known to the reconciliation. The one queue (`QueuedAlertStreamer` and the one
    pump) and the SDK's queue per type (an SDK the hook does not know) alike."""
    adapter = TastytradeAdapter(
        link_id=1,
        provider_secret="unused",
        refresh_token="unused",
        config=StreamConfig(**TASTYTRADE_FAST),
    )
    adapter.account.last_account_message = time.monotonic()
    session = SimpleNamespace(is_test=True)  # the streamers' constructors read only this
    sink = RecordingSink()
    if streamer == "queued":
        queued = streamers.QueuedAlertStreamer(session)
        await queued._map_message("ComplexOrder", copy.deepcopy(OTOCO))
        task = asyncio.create_task(adapter.account._pump_account(queued, sink))
    else:
        plain = AlertStreamer(session)
        await plain._map_message("ComplexOrder", copy.deepcopy(OTOCO))
        task = asyncio.create_task(adapter.account._pump_complex_orders(plain, sink))
    try:
        await sink.wait_for(lambda: len(sink.events) >= 3, 5)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert sink.events == [("order", 1, "5WT00001", payload) for payload in OTOCO_MEMBERS]
    for payload in OTOCO_MEMBERS:
        assert adapter._known[("order", str(payload["id"]))] == payload


# -- what the SDK's models cannot read -------------------------------------------------------
#: tastytrade's OpenAPI orders spec (api-evangelist/tastytrade openapi/_original/orders.json)
#: lists the leg action `Allocate` and the complex order type `BLAST`, which the SDK's enums
#: (13.2.3 `OrderAction`, `ComplexOrderType`) lack: its models refuse such an order.
ALLOCATE = {
    **PLACED,
    "time-in-force": "Day",
    "order-type": "Market",
    "underlying-symbol": "AAPL",
    "underlying-instrument-type": "Equity",
    "legs": [
        {
            "instrument-type": "Equity",
            "symbol": "AAPL",
            "quantity": "100",
            "remaining-quantity": "40",
            "action": "Allocate",
            "fills": [
                {
                    "fill-id": "f-1",
                    "quantity": "60",
                    "fill-price": "190.25",
                    "filled-at": "2019-10-01T18:26:53.000+00:00",
                }
            ],
        }
    ],
}


def test_an_order_the_sdk_cannot_read_is_shown_as_sent_and_said():
    with pytest.raises(ValueError):  # pydantic's ValidationError: the SDK refuses it
        PlacedOrder.model_validate(copy.deepcopy(ALLOCATE))
    payload = order_from_json(copy.deepcopy(ALLOCATE))
    fill = {"id": "f-1", "quantity": 60, "price": 190.25, "at": 1569954413000}
    assert payload == mapped(
        order_type="Market",
        broker_type="Market",
        legs=[
            {
                **leg("AAPL", "Equity", "Allocate", 100),
                "remaining_quantity": 40,
                "fills": [fill],
            }
        ],
        unsupported={"kind": "action", "name": "Allocate", "fields": ALLOCATE},
    )
    # an order the SDK reads takes the SDK's path: the same payload as order_payload
    readable = {**ALLOCATE, "legs": [{**ALLOCATE["legs"][0], "action": "Sell to Close"}]}
    assert order_from_json(copy.deepcopy(readable)) == order_payload(
        PlacedOrder.model_validate(copy.deepcopy(readable))
    )


#: ORDER_MANAGEMENT's OTOCO as a complex order of the OpenAPI's type `BLAST`.
BLAST = {**OTOCO, "type": "BLAST"}


def test_a_complex_order_of_a_type_the_sdk_lacks_is_kept_as_its_members():
    blast = copy.deepcopy(BLAST)
    with pytest.raises(ValueError):
        PlacedComplexOrder.model_validate(copy.deepcopy(blast))
    members = complex_orders_from_json(blast)
    assert [m["id"] for m in members] == [m["id"] for m in OTOCO_MEMBERS]
    # the trigger as its message says; the rest members, not exits guessed by type
    assert [m["group"] for m in members] == [
        {"id": str(OTOCO["id"]), "class": "Unsupported", "role": role}
        for role in ("trigger", "member", "member")
    ]
    assert {(m["unsupported"]["kind"], m["unsupported"]["name"]) for m in members} == {
        ("order_class", "BLAST")
    }
    for got, want in zip(members, OTOCO_MEMBERS, strict=True):
        kept = ("order_type", "price", "stop_price", "status", "legs", "time_in_force")
        assert {k: got[k] for k in kept} == {k: want[k] for k in kept}


async def test_an_order_message_the_sdk_cannot_read_does_not_end_the_stream():
    """Before, the SDK's ValidationError escaped the streamer's reader and ended the
    account stream; now the order reaches the sink, and the next message too."""
    adapter = TastytradeAdapter(
        link_id=1,
        provider_secret="unused",
        refresh_token="unused",
        config=StreamConfig(**TASTYTRADE_FAST),
    )
    adapter.account.last_account_message = time.monotonic()
    queued = streamers.QueuedAlertStreamer(SimpleNamespace(is_test=True))
    await queued._map_message("Order", copy.deepcopy(ALLOCATE))
    await queued._map_message("ComplexOrder", copy.deepcopy(BLAST))
    sink = RecordingSink()
    task = asyncio.create_task(adapter.account._pump_account(queued, sink))
    try:
        await sink.wait_for(lambda: len(sink.events) >= 4, 5)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert [(k, a, p["id"]) for k, _, a, p in sink.events] == [
        ("order", "5WT0001", 771043),
        *[("order", "5WT00001", m["id"]) for m in OTOCO_MEMBERS],
    ]
