"""Cancelling Alpaca orders: one (a linked order's member with its group: "canceling one
cancels the rest", orders.md), or every working order of the account (the 207 body).
"""

from __future__ import annotations

from typing import Any

from sandbox.alpaca.facade import Scope
from sandbox.alpaca.orders.outcomes import publish, rejection
from sandbox.alpaca.orders.query import find
from sandbox.alpaca.render import OPEN
from sandbox.alpaca.wire import WRONG_STATE, Refusal
from sandbox.core.records import OrderRejected


def cancel(scope: Scope, oid: str) -> dict[str, Any]:
    """Cancel an open order; the canceled order (or raise Refusal)."""
    order = find(scope, oid)
    status = scope.facade.render_order(order)["status"]
    if status not in OPEN:
        raise Refusal(422, WRONG_STATE, f'order is already in "{status}" state')
    assert order.id is not None
    try:
        if order.group_id is not None:
            # a bracket / oco / oto member: "canceling one cancels the rest" (orders.md)
            group = scope.facade.sandbox.brokerage.cancel_group(scope.number, order.group_id)
            publish(scope, *group)
            cancelled = next(o for o in group if o.id == order.id)
        else:
            cancelled = scope.facade.sandbox.brokerage.cancel_order(scope.number, order.id)
            publish(scope, cancelled)
    except OrderRejected as exc:
        raise rejection(exc) from None
    return scope.facade.render_order(cancelled)


def cancel_all(scope: Scope) -> list[dict[str, Any]]:
    """Every working order cancelled: one `{id, status, body}` each (the 207 body)."""
    cancelled = scope.facade.sandbox.brokerage.cancel_all(scope.number)
    publish(scope, *cancelled)
    results = []
    for record in cancelled:
        body = scope.facade.render_order(record)
        results.append({"id": body["id"], "status": 200, "body": body})
    return results
