"""Linked orders: OCO (one cancels the other), OTO (one triggers the others) and OTOCO (a
trigger, then an OCO pair) — tastytrade's complex orders, Tradier's oto/oco/otoco classes
and Alpaca's bracket/oco/oto order classes, in one lifecycle every façade renders its way.

Each member is an order of its own in the book (its own id, type, prices, fills and
status) with a `Link` to its group:
- a member under a trigger waits `Contingent`: not worked and not counted against the
  account, until the trigger has filled completely; then it works (`Received`, then Live);
- when a member of the pair that cancel each other has filled completely, the other is
  cancelled; a partial fill cancels nothing, but leaves the other only the quantity still
  unfilled (Alpaca: a partly filled take profit reduces the stop loss), so the pair never
  closes more than the position;
- cancelling the group, or its trigger before it fills, cancels every member not done.
"""

from __future__ import annotations

from collections.abc import Iterable

from sandbox.core.account_state import CONTINGENT, Order
from sandbox.core.records import OrderRejected

__all__ = ["KINDS", "activated", "exposure", "members", "roles", "shape", "shrunk", "siblings"]

KINDS = ("OCO", "OTO", "OTOCO")
#: How many orders each kind links besides its trigger, and whether it has one.
_SHAPES = {"OCO": (2, 2, False), "OTO": (1, 3, True), "OTOCO": (2, 2, True)}


def shape(kind: str, has_trigger: bool, orders: int) -> None:
    """Refuse a group whose kind, trigger or number of orders is not what it links."""
    if kind not in _SHAPES:
        raise OrderRejected("invalid_complex_order", f"Unknown linked order type {kind!r}.")
    least, most, trigger = _SHAPES[kind]
    if has_trigger != trigger:
        needs = "needs a trigger order" if trigger else "has no trigger order"
        raise OrderRejected("invalid_complex_order", f"An {kind} order {needs}.")
    if not least <= orders <= most:
        count = str(least) if least == most else f"{least} to {most}"
        raise OrderRejected("invalid_complex_order", f"An {kind} order links {count} orders.")


def roles(kind: str, orders: int) -> tuple[str | None, list[str]]:
    """The trigger's role (None without one) and the linked orders' roles."""
    linked = "member" if kind == "OTO" else "oco"
    return ("trigger" if _SHAPES[kind][2] else None), [linked] * orders


def members(book: Iterable[Order], group_id: int) -> list[Order]:
    """Every order of the group, in id order."""
    found = [o for o in book if o.link is not None and o.link.group_id == group_id]
    return sorted(found, key=lambda o: o.id or 0)


def activated(filled: Order, book: Iterable[Order]) -> list[Order]:
    """The orders a complete fill of `filled` starts working (its group's contingent
    members, when it is the trigger)."""
    link = filled.link
    if link is None or link.role != "trigger":
        return []
    return [o for o in members(book, link.group_id) if o.status == CONTINGENT]


def siblings(order: Order, book: Iterable[Order], working: tuple[str, ...]) -> list[Order]:
    """The other members of `order`'s cancel-each-other pair that still work."""
    link = order.link
    if link is None or link.role != "oco":
        return []
    return [
        o
        for o in members(book, link.group_id)
        if o is not order and o.link is not None and o.link.role == "oco" and o.status in working
    ]


def shrunk(order: Order, book: Iterable[Order], working: tuple[str, ...]) -> list[Order]:
    """After a partial fill of `order`: each other member of its pair that has not filled
    and is larger than what `order` has left, resized to that (its legs by their ratio,
    one fill planned); the orders resized."""
    left = order.size - order.filled_units
    resized = []
    for other in siblings(order, book, working):
        if other.filled_units == 0 and other.size > left:
            other.size = left
            for leg in other.legs:
                leg.quantity = leg.ratio * left
            other.chunks = [left]
            resized.append(other)
    return resized


def exposure(working: Iterable[Order]) -> list[Order]:
    """The working orders that can fill now and count against an account: no contingent
    member, and one order of each cancel-each-other pair (they cannot both fill)."""
    seen: set[int] = set()
    counted = []
    for o in working:
        if o.status == CONTINGENT:
            continue
        if o.link is not None and o.link.role == "oco":
            if o.link.group_id in seen:
                continue
            seen.add(o.link.group_id)
        counted.append(o)
    return counted
