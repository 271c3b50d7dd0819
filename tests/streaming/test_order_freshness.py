"""An order never goes back (streaming/brokers/orders/freshness.py): a REST reading that
raced the stream's newer push is not sent. Pure, then through the tastytrade adapter's
two paths (the push and the reconciliation's read)."""

from __future__ import annotations

from typing import Any

import pytest

from streaming.brokers.orders.freshness import superseded
from streaming.brokers.tastytrade.adapter import TastytradeAdapter
from tests.streaming.test_tastytrade_adapter import make_adapter
from tests.support.recording import RecordingSink


def order(status: str, updated_at: Any) -> dict[str, Any]:
    return {"id": "7", "status": status, "updated_at": updated_at, "legs": []}


@pytest.mark.parametrize(
    ("known", "reading", "older"),
    [
        (None, order("Live", 1_000), False),
        (order("Filled", 2_000), order("Live", 1_000), True),  # the race: read, fill, pushed
        (order("Live", 1_000), order("Filled", 2_000), False),
        (order("Live", 2_000), order("Received", 1_000), True),  # earlier, though working too
        (order("Live", 1_000), order("Cancelled", 1_000), False),
        (order("Filled", 1_000), order("Live", 1_000), True),  # same ms: final is never left
        (order("filled", None), order("open", None), True),  # no times: the same rule
        (order("Filled", 1_000), order("Filled", 1_000), False),  # the same state again
        (order("Live", 1_000), order("Live", 1_000), False),
        (order("Cancelled", 1_000), order("Live", 3_000), False),  # newer is newer
        (order("Filled", "2026-11-27T22:06:15.120Z"), order("Live", "2026-11-27T22:06:14Z"), True),
    ],
)
def test_a_reading_older_than_what_was_sent_is_superseded(known, reading, older):
    assert superseded(known, reading) is older


def tastytrade() -> TastytradeAdapter:
    return make_adapter("no-token-needed")


async def test_a_reconciliation_read_that_raced_a_pushed_fill_is_not_sent():
    """The stop-loss filled and was pushed; the reconciliation's list, read a moment
    before, still says Live: the screen keeps Filled (a clean clone showed it Live)."""
    adapter, sink = tastytrade(), RecordingSink()
    filled = order("Filled", 2_000)
    await adapter.account._emit_order("5WT1", filled, sink)
    for full in (False, True):  # a reconciliation, a reconnect's snapshot
        await adapter.account._emit_read_order(sink, "5WT1", order("Live", 1_000), full=full)
    assert [(k, p["status"]) for k, _, _, p in sink.events] == [("order", "Filled")]
    assert adapter.account.stale_orders == 2


async def test_a_newer_read_is_sent_and_an_unchanged_one_only_on_a_snapshot():
    adapter, sink = tastytrade(), RecordingSink()
    await adapter.account._emit_order("5WT1", order("Live", 1_000), sink)
    await adapter.account._emit_read_order(sink, "5WT1", order("Live", 1_000), full=False)
    await adapter.account._emit_read_order(sink, "5WT1", order("Live", 1_000), full=True)
    await adapter.account._emit_read_order(sink, "5WT1", order("Cancelled", 2_000), full=False)
    assert [p["status"] for _, _, _, p in sink.events] == ["Live", "Live", "Cancelled"]
    assert adapter.account.stale_orders == 0
