"""UserState (streaming/stream/state.py): pure, so tested without a loop, a broker or a clock."""

from __future__ import annotations

from typing import get_type_hints

import pytest

from streaming.contract.frames import ACCOUNT_FRAMES, SnapshotFrame
from streaming.stream.position import Position
from streaming.stream.state import MAX_LIMIT_BREACHES, MAX_ORDERS, LinkInfo, UserState

TASTY = LinkInfo(1, "tastytrade", "main", simulated=True)
TRADIER = LinkInfo(2, "tradier", "ira", simulated=False)


def state() -> UserState:
    return UserState([TASTY, TRADIER], (["SPY"], 3))


def position(symbol: str, quantity: int) -> dict:
    return {"symbol": symbol, "streamer_symbol": symbol, "quantity": quantity}


def test_account_events_are_numbered_one_by_one_with_the_documented_fields():
    s = state()
    s.continue_from(Position("E1", 7))
    frames = [
        s.apply_account_event("balance", 1, "A1", {"cash": 5}, now_ms=10),
        s.apply_account_event("position", 2, "B1", position("QQQ", 2), now_ms=11),
        s.apply_account_event("order", 1, "A1", {"id": 9, "status": "filled"}, now_ms=12),
    ]
    assert [(f["epoch"], f["seq"]) for f in frames] == [("E1", 8), ("E1", 9), ("E1", 10)]
    assert s.position == Position("E1", 10)
    for frame in frames:
        assert set(frame) == set(get_type_hints(ACCOUNT_FRAMES[frame["type"]]))
    assert [f["simulated"] for f in frames] == [True, False, True]


def test_an_unknown_kind_is_refused_and_not_numbered():
    s = state()
    with pytest.raises(ValueError, match="unknown account event kind"):
        s.apply_account_event("dividend", 1, "A1", {}, now_ms=1)
    assert s.seq == 0


def test_positions_replace_and_a_zero_quantity_closes():
    s = state()
    s.apply_account_event("positions", 1, "A1", [position("SPY", 1), position("IWM", 4)], now_ms=1)
    s.apply_account_event("position", 1, "A1", position("SPY", 0), now_ms=2)
    s.apply_account_event("position", 1, "A1", position("TLT", 3), now_ms=3)
    assert sorted(s.accounts["A1"].positions) == ["IWM", "TLT"]
    assert s.position_symbols() == {"IWM", "TLT"}


def test_orders_are_keyed_by_link_and_id_in_one_status_vocabulary_and_capped():
    s = state()
    s.apply_account_event("order", 1, "A1", {"id": 1, "status": "filled"}, now_ms=1)
    s.apply_account_event("order", 2, "B1", {"id": 1, "status": "Live"}, now_ms=2)
    assert {k: o["status"] for k, o in s.orders.items()} == {(1, 1): "Filled", (2, 1): "Live"}
    for i in range(2, MAX_ORDERS + 5):
        s.apply_account_event("order", 1, "A1", {"id": i, "status": "Live"}, now_ms=i)
    assert len(s.orders) == MAX_ORDERS
    assert (1, MAX_ORDERS + 4) in s.orders and (1, 1) not in s.orders


def test_a_watchlist_only_moves_forward():
    s = state()
    assert not s.set_watchlist(["QQQ"], 3)
    assert s.set_watchlist(["QQQ"], 4)
    assert (s.watchlist, s.watchlist_version) == (["QQQ"], 4)


def test_the_snapshot_has_the_documented_fields_and_the_wanted_quotes_only():
    s = state()
    s.quotes.update({"SPY": {"bid": 1.0, "t": 5}, "QQQ": {"bid": 2.0, "t": 5}})
    s.apply_account_event("balance", 2, "B1", {"cash": 1}, now_ms=1)
    s.apply_account_event("balance", 1, "A1", {"cash": 2}, now_ms=2)
    snapshot = s.snapshot({"SPY"}, now_ms=99)
    assert set(snapshot) == set(get_type_hints(SnapshotFrame))
    assert snapshot["quotes"] == {"SPY": {"bid": 1.0, "t": 5}}
    assert [a["number"] for a in snapshot["accounts"]] == ["A1", "B1"]  # in link order
    assert (snapshot["seq"], snapshot["t"], snapshot["simulated"]) == (2, 99, True)


def breach(breach_id: int) -> dict:
    return {
        "id": breach_id,
        "kind": "daily_loss",
        "value": -1200.0,
        "limit": 1000.0,
        "at": breach_id,
        "message": f"breach {breach_id}",
    }


def test_the_snapshot_lists_the_newest_limit_breaches_once_each_newest_first():
    """A tab that resyncs from a snapshot learns of a breach it never got as a frame."""
    s = state()
    s.set_limit_breaches([breach(i) for i in range(MAX_LIMIT_BREACHES + 5, 0, -1)])
    assert [b["id"] for b in s.snapshot(set(), now_ms=1)["limit_breaches"]] == list(
        range(MAX_LIMIT_BREACHES + 5, 5, -1)
    )
    frame = s.apply_account_event("limit", 0, "", breach(100), now_ms=2)
    again = s.apply_account_event("limit", 0, "", breach(100), now_ms=3)  # a failover's resend
    assert (frame["limit"], again["seq"]) == (breach(100), frame["seq"] + 1)
    listed = s.snapshot(set(), now_ms=4)["limit_breaches"]
    assert [b["id"] for b in listed[:3]] == [100, MAX_LIMIT_BREACHES + 5, MAX_LIMIT_BREACHES + 4]
    assert len(listed) == MAX_LIMIT_BREACHES
    assert s.snapshot(set(), now_ms=5)["alert_triggers"] == []  # a breach is not a trigger
