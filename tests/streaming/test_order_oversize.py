"""An exit larger than its position, said on the dashboard's panel as the page is first
rendered (streaming/order_list.py `oversized_exits`) and as its script says it
(static/js/stream/orders.js `oversizedExits`, run through node): the same orders flagged,
in the same words (docs/streaming-contract.md "The dashboard's panel")."""

from __future__ import annotations

from typing import Any

import pytest

from streaming.order_list import orders_panel, oversized_exits
from tests.support.node import node_tool


def leg(symbol: str, action: str, quantity: float, **extra: Any) -> dict[str, Any]:
    return {
        "symbol": symbol,
        "action": action,
        "quantity": quantity,
        "remaining_quantity": quantity,
        "fills": [],
        **extra,
    }


def order(key: str, status: str, legs: list[dict], account: str = "A1", **extra: Any) -> dict:
    return {"id": key, "link": 1, "account": account, "status": status, "legs": legs, **extra}


def held(symbol: str, quantity: float, **extra: Any) -> dict[str, Any]:
    base = {"symbol": symbol, "streamer_symbol": symbol, "instrument_type": "Equity"}
    return {**base, "direction": "Long", "quantity": quantity, **extra}


def accounts(*positions: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"number": "A1", "positions": list(positions)}]


def oco(role: str) -> dict[str, Any]:
    return {"id": "g", "class": "otoco", "role": role}


TP = order("tp", "Live", [leg("MSFT", "Sell to Close", 10)], group=oco("take_profit"))
SL = order("sl", "Live", [leg("MSFT", "Sell to Close", 10)], group=oco("stop_loss"))
ENTRY = order("en", "Filled", [leg("MSFT", "Buy to Open", 10)], group=oco("trigger"))
STOP = order("st", "Live", [leg("MSFT", "Sell to Close", 5)])
COIN = order(
    "c",
    "Live",
    [
        leg(
            "BTC/USD",
            "sell",
            0.5,
            streamer_symbol="BTC/USD:CXTALP",
            display="BTC/USD",
            instrument_type="Cryptocurrency",
        )
    ],
)
BTC = held("BTCUSD", 0.25, streamer_symbol="BTC/USD:CXTALP", instrument_type="Cryptocurrency")
PARTLY = order(
    "pf", "Partially Filled", [{**leg("MSFT", "Sell to Close", 10), "remaining_quantity": 4}]
)
WAITING = order("w", "Contingent", [leg("MSFT", "Sell to Close", 10)], group=oco("stop_loss"))
SHORT_QQQ = held("QQQ", 3, direction="Short")

#: (orders, accounts, what is said of which order)
CASES: list[tuple[list[dict], list[dict], dict[str, str]]] = [
    (
        [TP, SL, ENTRY],
        accounts(held("MSFT", 2)),
        {k: "Exits for 10 MSFT, but 2 are held." for k in ("1:tp", "1:sl")},
    ),
    ([TP, SL, ENTRY], accounts(held("MSFT", 10)), {}),
    ([TP], accounts(), {"1:tp": "Exits for 10 MSFT, but none are held."}),
    (
        [TP, SL, STOP],
        accounts(held("MSFT", 12)),
        {k: "Exits for 15 MSFT, but 12 are held." for k in ("1:tp", "1:sl", "1:st")},
    ),
    ([TP, SL, STOP], accounts(held("MSFT", 15)), {}),
    ([PARTLY], accounts(held("MSFT", 4)), {}),
    ([PARTLY], accounts(held("MSFT", 1)), {"1:pf": "Exits for 4 MSFT, but 1 is held."}),
    ([order("x", "Cancelled", [leg("MSFT", "Sell to Close", 10)])], accounts(), {}),
    ([WAITING], accounts(), {}),
    ([order("s", "Live", [leg("AAPL", "sell", 5)])], accounts(), {}),
    (
        [order("s", "Live", [leg("AAPL", "sell", 5)])],
        accounts(held("AAPL", 3)),
        {"1:s": "Exits for 5 AAPL, but 3 are held."},
    ),
    ([COIN], accounts(BTC), {"1:c": "Exits for 0.5 BTC/USD, but 0.25 are held."}),
    (
        [{**TP, "account": "B2"}],
        accounts(held("MSFT", 10)),
        {"1:tp": "Exits for 10 MSFT, but none are held."},
    ),
    ([order("bc", "Live", [leg("QQQ", "Buy to Close", 3)])], accounts(SHORT_QQQ), {}),
    (
        [order("bc", "Live", [leg("QQQ", "Buy to Close", 3)])],
        accounts(held("QQQ", 3)),
        {"1:bc": "Exits for 3 QQQ, but none are held."},
    ),
]


@pytest.mark.parametrize(("orders", "held_by", "said"), CASES)
def test_an_exit_larger_than_its_position_is_said(orders, held_by, said):
    assert oversized_exits(orders, held_by) == said


def test_the_page_and_its_script_flag_the_same_exits_in_the_same_words():
    for orders, held_by, said in CASES:
        assert node_tool("order-oversize.mjs", {"orders": orders, "accounts": held_by}) == said


def test_the_panel_rendered_first_carries_the_sentence_and_the_names():
    panel = orders_panel(
        {
            "accounts": [{"number": "A1", "broker": "tastytrade", "positions": [held("MSFT", 2)]}],
            "orders": [TP, SL, ENTRY, COIN],
            "links": [],
        }
    )
    by_key = {row["key"]: row for row in panel["orders"]}
    assert by_key["1:tp"]["oversize"] == "Exits for 10 MSFT, but 2 are held."
    assert by_key["1:en"]["oversize"] is None
    assert by_key["1:c"]["oversize"] is None  # a plain sell of what is not held closes nothing
    assert by_key["1:c"]["leg_lines"][0]["desc"] == "sell 0.5 BTC/USD"
