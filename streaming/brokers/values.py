"""Broker values in the contract's terms: numbers, times, quantities, order statuses.

Every adapter reads its broker's values through these, so a number, a time or an order
status means the same whichever broker sent it (docs/streaming-contract.md). A missing
or unreadable value is None (null), never 0. Pure functions, no I/O.
"""

from __future__ import annotations

import datetime as dt
import math
import time
from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any, overload

#: Epoch numbers below this are seconds, from it on milliseconds (10**11 s is the year
#: 5138, 10**11 ms is 1973: no real time of either kind is on the wrong side).
EPOCH_MS_FROM = 10**11


def now_ms() -> int:
    """The current time as epoch milliseconds."""
    return int(time.time() * 1000)


# -- numbers ---------------------------------------------------------------------------------
def num(value: Any) -> float | int | None:
    """A broker number as a JSON number, or None.

    Ints and floats stay what they are; a Decimal is an int when it is whole (and exact
    in a double), else a float; a number in a string keeps its spelling (`"5"` → 5,
    `"5.0"` → 5.0, `"5.25"` → 5.25). NaN, infinities, booleans and anything that is not
    a number are None.
    """
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Decimal):
        if not value.is_finite():
            return None
        whole = value == value.to_integral_value() and abs(value) < 2**53
        return int(value) if whole else float(value)
    if isinstance(value, str):
        try:
            parsed = float(value)
        except ValueError:
            return None
        if not math.isfinite(parsed):
            return None
        return int(parsed) if parsed.is_integer() and "." not in value else parsed
    return None


def decimal(value: Any) -> Decimal | None:
    """A broker number (often a string) as an exact Decimal, for arithmetic on
    quantities and prices; None when absent or not a finite number."""
    if value is None or isinstance(value, bool):
        return None
    try:
        result = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return result if result.is_finite() else None


def quantity_text(value: Decimal | float | int) -> str:
    """A quantity in one canonical spelling (`300`, never `300.0`; `2.5`): fill ids are
    built from it, so the same fill has the same id whichever way the broker wrote it."""
    text = format(Decimal(str(value)).normalize(), "f")
    return text if text != "-0" else "0"


@overload
def without(payload: Mapping[str, object], *fields: str) -> dict[str, object]: ...


@overload
def without(payload: Sequence[Mapping[str, object]], *fields: str) -> list[dict[str, object]]: ...


def without(payload: Any, *fields: str) -> Any:
    """A payload (or a list of them) without its volatile fields (a timestamp, a mark),
    to tell a real change from a re-read."""
    if isinstance(payload, list):
        return [without(item, *fields) for item in payload]
    return {k: v for k, v in payload.items() if k not in fields}


# -- times -----------------------------------------------------------------------------------
def time_ms(value: Any, *, zone: dt.tzinfo = dt.UTC) -> int | None:
    """A broker time as epoch milliseconds, or None.

    Takes a datetime; epoch seconds or milliseconds, as a number or in a string (told
    apart by size, `EPOCH_MS_FROM`); or ISO 8601 / RFC 3339 text (`Z` or an offset, any
    number of fractional digits). A time without a zone is in `zone` (UTC unless the
    broker says otherwise). Zero, negative and unreadable times are None.
    """
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, dt.datetime):
        moment = value if value.tzinfo is not None else value.replace(tzinfo=zone)
        return int(moment.timestamp() * 1000)
    if isinstance(value, str):
        text = value.strip()
        epoch = num(text)
        if epoch is None:
            try:
                moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
            except ValueError:
                return None
            return time_ms(moment, zone=zone)
        value = epoch
    if not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
        return None
    return int(value if value >= EPOCH_MS_FROM else value * 1000)


# -- order statuses --------------------------------------------------------------------------
#: Order statuses of Tradier and Alpaca (snake case) in the contract's vocabulary, which is
#: tastytrade's (the browser knows which of these are final) plus "Partially Filled".
ORDER_STATUSES = {
    "pending": "Received",
    "pending_new": "Received",
    "accepted": "Received",
    "accepted_for_bidding": "Received",
    "calculated": "Received",
    "new": "Live",
    "open": "Live",
    "held": "Contingent",
    "partially_filled": "Partially Filled",
    "filled": "Filled",
    "pending_cancel": "Cancel Requested",
    "pending_replace": "Replace Requested",
    "canceled": "Cancelled",
    "cancelled": "Cancelled",
    "expired": "Expired",
    "done_for_day": "Done For Day",
    "replaced": "Replaced",
    "rejected": "Rejected",
    "error": "Rejected",
    "stopped": "Stopped",
    "suspended": "Suspended",
}


def order_status(raw: str | None) -> str:
    """A broker's order status in the contract's vocabulary (tastytrade's passes as is)."""
    if not raw:
        return "Unknown"
    return ORDER_STATUSES.get(
        raw.lower(), raw if " " in raw or raw[:1].isupper() else raw.replace("_", " ").title()
    )
