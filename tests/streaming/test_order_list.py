"""The order list's rules (streaming/order_list.py), pure: the same as the browser's
(static/js/stream/orders.js, tests/js/orders.test.mjs) and as documented
(docs/streaming-contract.md "Orders"); and the snapshot's bound (streaming/stream/state.py)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from streaming.order_list import (
    ENDED_STATUSES,
    FILLED_STATUSES,
    ORDERS_KEPT,
    QueryError,
    bounded,
    format_cursor,
    newest_first,
    order_key,
    orders_panel,
    parse_cursor,
    parse_query,
    status_group,
    window_floor,
)
from streaming.stream.state import LinkInfo, UserState

DOC = (Path(__file__).resolve().parents[2] / "docs" / "streaming-contract.md").read_text()
T = 1_760_000_000_000


def order(link: int, oid, status: str, t: int | None, account: str = "A1") -> dict:
    return {"id": oid, "status": status, "updated_at": t, "link": link, "account": account}


def test_the_status_groups_are_the_documented_ones():
    def documented(group: str) -> set[str]:
        row = next(
            line.strip() for line in DOC.splitlines() if line.strip().startswith(f"| `{group}` |")
        )
        return set(re.findall(r"`([^`]+)`", row.split("|")[2]))

    assert documented("filled") == FILLED_STATUSES
    assert documented("ended") == ENDED_STATUSES
    assert status_group("Filled") == "filled" and status_group("Rejected") == "ended"
    for working in ("Received", "Live", "Partially Filled", "Cancel Requested", "Unknown", None):
        assert status_group(working) == "working"


def test_newest_first_by_time_placed_then_link_then_id_as_text():
    """An order's place is when the broker received it: a later change does not move it."""
    moved = {**order(1, "old", "Filled", T + 99), "received_at": T - 5}
    assert [o["id"] for o in newest_first([moved, order(1, "new", "Live", T)])] == ["new", "old"]
    orders = [
        order(1, 9, "Live", T),
        order(2, 1, "Live", T),
        order(1, 10, "Live", T),
        order(3, "x", "Live", None),
        order(1, 5, "Live", T + 1),
    ]
    keys = [(o["link"], o["id"]) for o in newest_first(orders)]
    # ids compare as text, as the browser compares them: "9" > "10"
    assert keys == [(1, 5), (2, 1), (1, 9), (1, 10), (3, "x")]
    assert order_key(order(4, "ab:cd", "Live", T)) == (T, 4, "ab:cd")


def test_the_bound_keeps_the_newest_and_every_working_order():
    orders = [order(1, f"f{i}", "Filled", T + i) for i in range(70)]
    orders += [order(1, "old-live", "Live", T - 10_000), order(1, "old-cxl", "Cancelled", T - 1)]
    kept = bounded(orders)
    ids = [o["id"] for o in kept]
    assert len(kept) == ORDERS_KEPT + 1 and ids[0] == "f69" and ids[-1] == "old-live"
    assert "f20" in ids and "f19" not in ids and "old-cxl" not in ids
    assert window_floor(kept) == (T + 20, 1, "f20")  # working orders below it do not count
    assert window_floor([]) is None


def test_a_cursor_round_trips_and_bad_queries_get_a_sentence():
    key = (T, 12, "60c9a8ea:7cbd")
    assert parse_cursor(format_cursor(key)) == key
    q = parse_query(
        {"account": "5WT1", "status": "ended", "before": format_cursor(key), "limit": "7"}
    )
    assert (q.account, q.status, q.before, q.limit) == ("5WT1", "ended", key, 7)
    assert parse_query({}).limit == ORDERS_KEPT and parse_query({"account": ""}).account is None
    bad = {
        "status": ("bogus", "status must be one of all, working, filled, ended (got 'bogus')"),
        "limit": ("0", "limit must be a whole number from 1 to 200 (got '0')"),
        "before": ("yesterday", "before must be a cursor"),
        "account": ("5WT1;DROP", "account must be one of your account numbers"),
    }
    for name, (value, sentence) in bad.items():
        with pytest.raises(QueryError, match=re.escape(sentence)):
            parse_query({name: value})
    for value in ("201", "-1", "1.5", "ten"):
        with pytest.raises(QueryError):
            parse_query({"limit": value})
    with pytest.raises(QueryError, match="unknown parameter 'page'"):
        parse_query({"page": "2"})


def test_query_matches_account_status_and_strictly_older():
    q = parse_query({"account": "A2", "status": "filled", "before": f"{T}:2:b"})
    assert q.matches(order(2, "a", "Filled", T, "A2"))  # same time, same link, "a" < "b"
    assert not q.matches(order(2, "b", "Filled", T, "A2"))  # the cursor's own order
    assert not q.matches(order(2, "a", "Filled", T, "A1"))
    assert not q.matches(order(2, "a", "Live", T - 1, "A2"))


def test_the_snapshot_lists_the_bound_newest_first():
    """UserState keeps up to MAX_ORDERS, a snapshot the newest 50 (by the time placed),
    every working one and the 10 changed last."""
    s = UserState([LinkInfo(1, "tastytrade", "TT", True)])
    s.apply_account_event(
        "order", 1, "A1", {"id": "gtc", "status": "Live", "updated_at": 1}, now_ms=1
    )
    for i in range(60):
        payload = {"id": i, "status": "filled", "updated_at": T + i}
        s.apply_account_event("order", 1, "A1", payload, now_ms=2)
    listed = s.snapshot(set(), now_ms=3)["orders"]
    assert len(s.orders) == 61 and len(listed) == ORDERS_KEPT + 1
    assert [o["id"] for o in listed[:2]] == [59, 58] and listed[-1]["id"] == "gtc"
    assert {o["status"] for o in listed[:-1]} == {"Filled"}  # the contract's vocabulary
    # an old order that changes now is listed too (one of the 10 changed last)
    s.apply_account_event(
        "order", 1, "A1", {"id": 0, "status": "Cancelled", "updated_at": T}, now_ms=4
    )
    assert [o["id"] for o in s.snapshot(set(), now_ms=5)["orders"]][-2:] == [0, "gtc"]


def test_the_panel_names_broker_and_account_as_the_cards_do():
    snapshot = {
        "accounts": [{"number": "A1", "link": 1, "broker": "tastytrade", "label": "Margin"}],
        "links": [{"id": 2, "broker": "alpaca", "label": "Paper"}],
        "orders": [order(1, 7, "Filled", T), order(2, 8, "Live", T - 1, "B9")],
    }
    panel = orders_panel(snapshot)
    rows = [(o["key"], o["broker"], o["account_label"], o["status_group"]) for o in panel["orders"]]
    assert rows == [
        ("1:7", "tastytrade", "Margin", "filled"),
        ("2:8", "alpaca", "Paper", "working"),
    ]
    assert panel["accounts"] == [{"number": "A1", "broker": "tastytrade", "label": "Margin"}]


def test_the_panel_lists_a_linked_orders_members_together_entry_first():
    """The same rows and order as the browser's `linkedTogether` (tests/js/orders.test.mjs)."""

    def member(link, id_, t, role, gid="B1"):
        return {
            **order(link, id_, "Live", t),
            "group": {"id": gid, "class": "bracket", "role": role},
        }

    snapshot = {
        "orders": [
            order(1, 9, "Live", T + 9),
            member(1, "sl", T + 8, "stop_loss"),
            order(1, 7, "Filled", T + 7),
            member(1, "tp", T + 6, "take_profit"),
            member(1, "en", T + 5, "trigger"),
            member(2, "en", T + 4, "trigger"),
        ]
    }
    rows = orders_panel(snapshot)["orders"]
    assert [(o["key"], o.get("member", False)) for o in rows] == [
        ("1:9", False),
        ("1:en", False),
        ("1:tp", True),
        ("1:sl", True),
        ("1:7", False),
        ("2:en", False),
    ]
