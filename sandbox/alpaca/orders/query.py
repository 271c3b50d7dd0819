"""Reading Alpaca orders: one by id (`nested` under its parent) or by client order id, and
Alpaca's order query over every order the brokerage remembers, with every filter.
"""

from __future__ import annotations

from typing import Any

from sandbox.alpaca.facade import Scope
from sandbox.alpaca.render import OPEN, coin_pair
from sandbox.alpaca.wire import (
    NOT_FOUND,
    Refusal,
    alpaca_symbol,
    as_sent,
    bad,
    query_time,
    tasty_symbol,
)
from sandbox.core.records import OrderRecord


def find(scope: Scope, oid: str) -> OrderRecord:
    found = scope.facade.find_order(scope.number, oid)
    if found is None:
        raise Refusal(404, NOT_FOUND, "order not found")
    return found


def get(scope: Scope, oid: str, nested: str | None = None) -> dict[str, Any]:
    """One order; `nested=true` nests a linked order's other members under its parent
    (alpaca-py `GetOrderByIdRequest(nested=…)`)."""
    return scope.facade.render_order(find(scope, oid), nested=bool(_flag(nested, "nested")))


def by_client_id(scope: Scope, client_order_id: str | None) -> dict[str, Any]:
    if not client_order_id:
        raise bad("client_order_id is required")
    found = scope.facade.sandbox.brokerage.order_by_client_id(scope.number, client_order_id)
    if found is None:
        raise Refusal(404, NOT_FOUND, "order not found")
    return scope.facade.render_order(found)


def _flag(text: str | None, name: str) -> bool | None:
    if text is None:
        return None
    if text.lower() not in ("true", "false"):
        raise bad(f"{name} must be true or false")
    return text.lower() == "true"


def select(scope: Scope, params: Any) -> list[dict[str, Any]]:
    """Alpaca's order query over every order the brokerage remembers: `status` (open),
    `limit` (50, at most 500), `after`/`until` (submission time, exclusive), `direction`
    (desc), `nested`, `symbols`, `side`."""
    status = params.get("status", "open")
    if status not in ("open", "closed", "all"):
        raise bad("status must be open, closed or all")
    try:
        limit = int(params.get("limit", "50"))
    except ValueError:
        raise bad("limit must be an integer") from None
    if limit <= 0:
        raise bad("limit must be > 0")
    after = query_time(params.get("after"), "after")
    until = query_time(params.get("until"), "until")
    direction = params.get("direction", "desc")
    if direction not in ("asc", "desc"):
        raise bad("direction must be asc or desc")
    # multi-leg orders always carry their legs; with `nested`, a linked order is listed
    # once, as its parent with the other members under `legs` ("otherwise each is listed
    # alone", orders.md), open while any member is
    nested = bool(_flag(params.get("nested"), "nested"))
    side = params.get("side") or None
    if side not in (None, "buy", "sell"):
        raise bad("side must be buy or sell")
    symbols = {
        coin_pair(x) or alpaca_symbol(tasty_symbol(x))
        for x in params.get("symbols", "").split(",")
        if x
    }
    history = scope.facade.sandbox.brokerage.order_history(scope.number)  # newest first
    if direction == "asc":
        history.reverse()
    chosen = []
    for record in history:
        submitted = as_sent(record.received_at)  # as `submitted_at` says
        if (after is not None and not submitted > after) or (
            until is not None and not submitted < until
        ):
            continue
        if nested and scope.facade.is_child(record):
            continue
        order = scope.facade.render_order(record, nested=nested)
        statuses = [order["status"]]
        if nested and record.group_id is not None:
            statuses += [child["status"] for child in order["legs"] or ()]
        is_open = any(x in OPEN for x in statuses)
        if (status == "open" and not is_open) or (status == "closed" and is_open):
            continue
        if side and order["side"] != side:
            continue
        names = {order["symbol"]} | {leg["symbol"] for leg in order["legs"] or ()}
        if symbols and not names & symbols:
            continue
        chosen.append(order)
        if len(chosen) >= min(limit, 500):
            break
    return chosen
