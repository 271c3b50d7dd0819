"""Whether an order reading is older than the one already sent (docs/streaming-contract.md,
the `order` frame: an order never goes back).

An adapter hears of an order from two sides: the broker's push and its REST reads
(reconciliation, the reconnect's snapshot). A read can be answered after a push that is
newer than it (the list was read, then the order filled and the fill was pushed, then the
read's answer was handled): sent on, it would show a filled order as working again, until
the next reconciliation a minute later. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from streaming.brokers.values import order_status, time_ms
from streaming.order_list import status_group

__all__ = ["superseded"]


def superseded(known: Mapping[str, Any] | None, reading: Mapping[str, Any]) -> bool:
    """Whether `reading` is older than `known` (the same order's state already sent): its
    broker time (`updated_at`) is earlier, or at the same time (or with either time
    unknown) it is working where `known` is final: a final status is never left."""
    if known is None:
        return False
    then, now = time_ms(known.get("updated_at")), time_ms(reading.get("updated_at"))
    if then is not None and now is not None and now != then:
        return now < then
    final = status_group(order_status(known.get("status"))) != "working"
    return final and status_group(order_status(reading.get("status"))) == "working"
