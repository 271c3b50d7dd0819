"""Alpaca account activities for both APIs, from the core's transactions ledger: every
trade (one fill of one leg) is a `FILL` activity, every money movement a `CSD` (deposit)
or `CSW` (withdrawal). The ledger carries no dividends, interest or fees: asking for
those types gives `[]`.

A FILL activity's id is `<time>::<execution id>` with the same execution id the trade
event of that fill carries (`wire.execution_uuid`), so a client can match the two.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sandbox.alpaca import render
from sandbox.alpaca.wire import as_sent, bad, query_time
from sandbox.core.records import TransactionRecord
from sandbox.core.simulation import Simulation

#: Activity types Alpaca documents; FILL, CSD and CSW are simulated, the others list empty.
ACTIVITY_TYPES = {
    "FILL", "TRANS", "MISC", "ACATC", "ACATS", "CSD", "CSW", "DIV", "DIVCGL", "DIVCGS",
    "DIVFEE", "DIVFT", "DIVNRA", "DIVROC", "DIVTW", "DIVTXEX", "INT", "INTNRA", "INTTW",
    "JNL", "JNLC", "JNLS", "MA", "NC", "OPASN", "OPEXP", "OPXRC", "PTC", "PTR", "REORG",
    "SC", "SSO", "SSP", "FEE", "CFEE",
}  # fmt: skip
PAGE_MAX = 100


def ledger_activities(sandbox: Simulation, number: str) -> list[tuple[float, dict[str, Any]]]:
    """(time, activity) for every ledger entry of the account, oldest first."""
    brokerage = sandbox.brokerage
    items = []
    seen: dict[tuple[int, str], tuple[int, Decimal]] = {}  # (order, symbol) -> (count, cum)
    totals: dict[tuple[int, str], Decimal] = {}
    for t in brokerage.transactions(number):
        if t.transaction_type != "Trade":
            items.append((as_sent(t.executed_at), render.cash_activity(t)))
            continue
        if t.order_id is None or t.symbol is None or t.quantity is None:
            continue
        key = (t.order_id, t.symbol)
        count, cumulative = seen.get(key, (0, Decimal(0)))
        cumulative += t.quantity
        seen[key] = (count + 1, cumulative)
        if key not in totals:
            totals[key] = _leg_total(sandbox, t) or cumulative
        activity = render.fill_activity(t, count, cumulative, totals[key])
        items.append((as_sent(t.executed_at), activity))
    return items


def _leg_total(sandbox: Simulation, t: TransactionRecord) -> Decimal | None:
    """The quantity of the leg a trade filled (None when the order is forgotten)."""
    assert t.order_id is not None
    order = sandbox.brokerage.order(t.account_number, t.order_id)
    if order is None:
        return None
    return next((leg.quantity for leg in order.legs if leg.symbol == t.symbol), None)


def select(
    sandbox: Simulation, numbers: list[str], params: Any, path_type: str | None = None
) -> list[dict[str, Any]]:
    """The accounts' activities: `activity_types` (or one type in the path), `date` (that
    UTC day), `after`/`until` (exclusive), `direction` (desc), `page_size` (100, at most
    100), `page_token` (the id of the last activity seen)."""
    listed = {t for t in params.get("activity_types", "").split(",") if t}
    if path_type and listed:
        raise bad("activity_types cannot be used with a type in the path")
    wanted = {path_type} if path_type else listed
    if not wanted <= ACTIVITY_TYPES:
        raise bad(f"invalid activity type: {','.join(sorted(wanted - ACTIVITY_TYPES))}")
    direction = params.get("direction", "desc")
    if direction not in ("asc", "desc"):
        raise bad("direction must be asc or desc")
    try:
        size = int(params.get("page_size", PAGE_MAX))
    except ValueError:
        raise bad("page_size must be an integer") from None
    if not 0 < size <= PAGE_MAX:
        raise bad(f"page_size must be between 1 and {PAGE_MAX}")
    if params.get("date") and (params.get("after") or params.get("until")):
        raise bad("date cannot be combined with after or until")
    day = query_time(params.get("date"), "date")
    after = query_time(params.get("after"), "after")
    until = query_time(params.get("until"), "until")
    chosen = []
    for number in numbers:
        for at, item in ledger_activities(sandbox, number):
            if wanted and item["activity_type"] not in wanted:
                continue
            if day is not None and not day <= at < day + 86400:
                continue
            if (after is not None and not at > after) or (until is not None and not at < until):
                continue
            chosen.append(item)
    chosen.sort(key=lambda item: item["id"], reverse=direction == "desc")
    token = params.get("page_token")
    if token:
        chosen = [
            i for i in chosen if (i["id"] < token if direction == "desc" else i["id"] > token)
        ]
    return chosen[:size]
