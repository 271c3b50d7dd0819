"""What an order call leaves behind: the core's refusal in Alpaca's words and codes, the
changed orders told to every stream (so the trade events follow), and the order as it
stands now.
"""

from __future__ import annotations

from typing import Any

from sandbox.alpaca.facade import Scope
from sandbox.alpaca.wire import FORBIDDEN, NOT_FOUND, WRONG_STATE, Refusal, bad
from sandbox.core.records import AccountEvent, OrderRecord, OrderRejected


def rejection(exc: OrderRejected) -> Refusal:
    """The brokerage's refusal in Alpaca's words and codes."""
    if exc.code == "insufficient_buying_power":
        return Refusal(403, FORBIDDEN, "insufficient buying power")
    if exc.code == "short_not_allowed":
        return Refusal(403, FORBIDDEN, "account is not allowed to short")
    if exc.status == 404:
        return Refusal(404, NOT_FOUND, exc.message)
    if exc.code.startswith("order_not_"):
        return Refusal(422, WRONG_STATE, exc.message)
    return bad(exc.message)


def publish(scope: Scope, *records: OrderRecord) -> None:
    """Tell every stream (Alpaca's trade events included) what changed, in this order."""
    scope.facade.sandbox.publish([AccountEvent("Order", scope.number, r) for r in records])


def rendered(scope: Scope, record: OrderRecord) -> dict[str, Any]:
    """The order as it stands now (fresh from the brokerage)."""
    brokerage = scope.facade.sandbox.brokerage
    current = brokerage.order(scope.number, record.id) if record.id is not None else None
    return scope.facade.render_order(current or record)
