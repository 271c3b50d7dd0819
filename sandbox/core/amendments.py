"""Changing a working order: replaced by a new one (tastytrade's and Alpaca's replace), or
changed in place (Tradier's modify). Either way the result is checked like a new order, and
a refusal leaves the old order as it was.
"""

from __future__ import annotations

from decimal import Decimal

from sandbox.core import order_entry
from sandbox.core.account_state import CONTINGENT, WORKING, Order
from sandbox.core.desk import Desk
from sandbox.core.record_builders import order_record
from sandbox.core.records import OrderRecord, OrderRejected, OrderRequest, PlacedOrder

__all__ = ["modify_order", "replace_order"]


def replace_order(
    desk: Desk, account_number: str, order_id: int, request: OrderRequest, *, member: bool = False
) -> PlacedOrder:
    """Cancel a working order and place its replacement in one step (new id).

    The replacement keeps the old order's legs (what is left of them) unless `request`
    names legs of its own; it takes the request's type, time in force and price. The old
    order ends `Cancelled` and points at its replacement. The caller publishes both
    (`placed.replaced` then `placed.order`).

    A linked order's member is replaced only where the façade's broker does it
    (`member`: Alpaca's PATCH of a bracket's exit): the replacement takes its place in
    the group, waiting (`Contingent`) while the old one did, and the account's rules
    (checked when the group was placed) are not checked again beside its sibling.
    """
    old = desk.find_order(account_number, order_id)
    if old.status not in WORKING:
        raise OrderRejected(
            "order_not_replaceable",
            f"Order {order_id} is {old.status} and cannot be replaced.",
        )
    if not member:
        _not_linked(old, "replaced")
    acct = desk.accounts[account_number]
    merged = order_entry.replacement_request(old, request)
    desk.book.working.pop(order_id, None)  # the old order's sells must not count twice
    try:
        order = desk.parse(acct, merged, desk.clock(), account_rules=old.link is None)
        preview = order_entry.preview(acct, order, desk.marks, desk.clock())
    except OrderRejected:
        desk.book.working[order_id] = old
        raise
    waiting = old.status == CONTINGENT
    desk.cancel(old)
    order.link = old.link
    if waiting:
        order.status = CONTINGENT
    desk.accept(order)
    order.replaces, old.replaced_by = old.id, order.id
    return PlacedOrder(order_record(order), preview, replaced=order_record(old))


def modify_order(
    desk: Desk,
    account_number: str,
    order_id: int,
    *,
    order_type: str | None = None,
    time_in_force: str | None = None,
    price: Decimal | None = None,
    price_effect: str | None = None,
    stop_trigger: Decimal | None = None,
) -> OrderRecord:
    """Change a working order in place (same id, `edited`), as Tradier's PUT does.

    Only what is given changes; the result is checked like a new order. A stop's
    `stop_trigger` may change (a triggered stop stays triggered). The caller publishes
    the returned order.
    """
    order = desk.find_order(account_number, order_id)
    if order.status not in WORKING:
        raise OrderRejected(
            "order_not_editable", f"Order {order_id} is {order.status} and cannot be changed."
        )
    _not_linked(order, "changed")
    acct = desk.accounts[account_number]
    changed = order_entry.modified_terms(order, order_type, time_in_force, price, price_effect)
    stop = order.stop
    if stop_trigger is not None:  # checked as placing checks it
        stop = order_entry.stop_trigger(changed[0], stop_trigger, order.legs)
    saved = (order.order_type, order.time_in_force, order.limit, order.stop)
    order.order_type, order.time_in_force, order.limit = changed
    order.stop = stop
    try:
        order_entry.preview(acct, order, desk.marks, desk.clock())
    except OrderRejected:
        order.order_type, order.time_in_force, order.limit, order.stop = saved
        raise
    order.edited = True
    order.updated_at = desk.clock()
    return order_record(order)


def _not_linked(order: Order, done: str) -> None:
    """A linked order's member is not replaced or changed on its own (Alpaca: "order
    replacement is not supported yet" for OTO; tastytrade has no replace for a complex
    order): refused in words."""
    if order.link is not None:
        raise OrderRejected(
            "order_linked",
            f"Order {order.id} is part of {order.link.kind} order {order.link.group_id} and "
            f"cannot be {done} on its own: cancel the group and place it again.",
        )
