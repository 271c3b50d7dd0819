"""An order's terms and legs as the page first renders them (streaming/order_terms.py) are
the words its script writes once it runs (static/js/stream/order-terms.js): the row does not
change under the trader's eyes. Unit cases of the words are in tests/js/order-terms.test.mjs;
every documented broker example is compared too (tests/streaming/test_orders_real_on_the_page.py
carries them onto the page)."""

from __future__ import annotations

from typing import Any

from streaming.order_terms import fill_text, group_text, leg_filled_text, leg_text, order_terms
from tests.streaming.test_orders_real_on_the_page import CASES, documented_orders
from tests.support.node import node_tool


def order(**fields: Any) -> dict[str, Any]:
    base = {
        "order_type": "Market",
        "price": None,
        "price_effect": None,
        "stop_price": None,
        "trail": None,
        "notional": None,
        "time_in_force": "Day",
        "good_till": None,
        "extended_hours": False,
        "group": None,
        "unsupported": None,
    }
    return {**base, **fields}


ORDERS = [
    order(order_type="Limit", price=1.25, price_effect="Debit"),
    order(order_type="Limit", price=1234.5, price_effect="Credit", time_in_force="GTC"),
    order(order_type="Stop", stop_price=180),
    order(order_type="Stop Limit", price=179.5, price_effect="Credit", stop_price=180.125),
    order(
        order_type="Trailing Stop",
        stop_price=97.5,
        trail={"amount": None, "percent": 2.5, "high_water_mark": 100},
    ),
    order(
        order_type="Trailing Stop", trail={"amount": 0.5, "percent": None, "high_water_mark": None}
    ),
    order(order_type="Notional Market", notional=1500, time_in_force="IOC"),
    order(order_type="Limit", price=12, time_in_force="GTD", good_till="2026-12-31"),
    order(order_type="Limit", price=12, extended_hours=True),
    order(order_type="Limit", price=0.0125, time_in_force="Post", extended_hours=True),
    order(
        order_type="Unsupported",
        unsupported={"kind": "order_type", "name": "pegged", "fields": {}},
    ),
    order(
        order_type="Limit",
        price=3,
        underlying="SPY",
        group={"id": "55", "class": "otoco", "role": "take_profit"},
        size=3,
    ),
    order(
        order_type="Stop",
        stop_price=2,
        underlying="/ESZ26:XCME",
        group={"id": "b1", "class": "bracket", "role": "stop_loss"},
        size=1,
    ),
    order(order_type="Market", group={"id": "9", "class": "oto", "role": "member"}),
    order(order_type="Stop", unsupported={"kind": "order_type", "name": "x", "fields": {}}),
    order(order_type="Stop Limit", stop_price=5, unsupported={"kind": "order_type", "name": "y"}),
]


def words(o: dict[str, Any]) -> dict[str, Any]:
    """The server's words for an order, as tests/js/tools/order-terms.mjs gives the script's."""
    return {
        "terms": order_terms(o),
        "link": group_text(o, o.get("size")),  # the panel's count of the group's orders
        "legs": [
            {
                "desc": leg_text(leg),
                "filled": leg_filled_text(leg),
                "fills": [fill_text(f) for f in leg.get("fills") or []],
            }
            for leg in o.get("legs") or []
        ],
    }


def test_the_page_and_its_script_say_the_same_terms():
    script = node_tool("order-terms.mjs", ORDERS)
    server = [words(o) for o in ORDERS]
    assert server == script
    # a half rounds away from zero, as Intl.NumberFormat does (Python's own would give .12)
    assert server[3]["terms"] == "Stop 180.13, limit 179.50 Credit Day"
    assert [w["link"] for w in server[-5:-2]] == [
        "OTOCO on SPY: 3 orders · take profit",
        "Bracket on /ES Dec 26: 1 order · stop loss",
        "OTO · member",
    ]


def test_every_documented_broker_example_reads_the_same_in_the_browser():
    """Each order of every documented tastytrade, Tradier and Alpaca example, as the
    stream's state holds it (test_orders_real_on_the_page.py: the same orders it puts on the
    page): the script writes the same terms, link and leg words as the page."""
    orders = documented_orders()
    assert len(orders) == sum(len(case.entries) for case in CASES)
    assert node_tool("order-terms.mjs", orders) == [words(o) for o in orders]
