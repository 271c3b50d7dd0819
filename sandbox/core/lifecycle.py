"""An order's life as time passes: each step makes a `Received` order `Live`, fills a live
one's next planned chunk when it is marketable, and carries a linked order's consequences.

Per working order, in id order: `Received` -> `Live` (one Order event), or a fill (Order, one
CurrentPosition per leg, AccountBalance). An IOC order gets one fill attempt: what it leaves
(all of it when not marketable, the rest of a big order's planned fills) is cancelled in the
same step (one more Order event, fills kept). A linked order's member filling completely
starts its contingent members or cancels the other of its pair (`linked.py`).
"""

from __future__ import annotations

from sandbox.core import linked
from sandbox.core.account_state import WORKING, Order
from sandbox.core.desk import Desk
from sandbox.core.matching import fill_next_chunk, follow
from sandbox.core.record_builders import order_event, position_record
from sandbox.core.records import AccountEvent

__all__ = ["step"]


def step(desk: Desk) -> list[AccountEvent]:
    """Advance every working order one tick against current prices; the events to push."""
    events: list[AccountEvent] = []
    for order in list(desk.book.working.values()):
        if order.status == "Received":
            now = desk.clock()
            order.status, order.live_at, order.updated_at = "Live", now, now
            follow(order, desk.marks)  # a trailing stop's high-water mark, every step
            events.append(order_event(order))
        elif order.status == "Live":
            events.extend(_try_fill(desk, order))
            if order.time_in_force == "IOC" and order.status == "Live":
                events.append(desk.cancel(order))  # immediate or cancel
    return events


def _after_complete_fill(desk: Desk, order: Order, now: float) -> list[AccountEvent]:
    """A linked order's consequences of `order` filling completely: its contingent
    members start working, or the other of its cancel-each-other pair is cancelled."""
    events = []
    for member in linked.activated(order, desk.book.orders.values()):
        member.status, member.updated_at = "Received", now
        events.append(order_event(member))
    for sibling in linked.siblings(order, desk.book.orders.values(), WORKING):
        events.append(desk.cancel(sibling))
    return events


def _after_partial_fill(desk: Desk, order: Order, now: float) -> list[AccountEvent]:
    """A partial fill of one of a cancel-each-other pair leaves the other only what is
    left (linked.shrunk): together they never close more than the position."""
    events = []
    for sibling in linked.shrunk(order, desk.book.orders.values(), WORKING):
        sibling.updated_at = now
        events.append(order_event(sibling))
    return events


def _try_fill(desk: Desk, order: Order) -> list[AccountEvent]:
    """Fill the next planned chunk if the order is marketable now: the order's event, one
    CurrentPosition per leg and the account's balance."""
    acct = desk.accounts[order.account_number]
    now = desk.clock()
    touched = fill_next_chunk(
        order,
        acct,
        desk.marks,
        now,
        fill_ids=desk.fill_ids,
        transaction_ids=desk.transaction_ids,
    )
    if touched is None:
        return []
    events = [order_event(order)]
    if order.filled_units >= order.size:
        desk.book.finish(order, "Filled", now)
        events = [order_event(order), *_after_complete_fill(desk, order, now)]
    else:
        events += _after_partial_fill(desk, order, now)
    for pos in touched:
        record = position_record(acct, pos, desk.marks)
        events.append(AccountEvent("CurrentPosition", acct.number, record))
        if pos.quantity == 0:
            acct.positions.pop(pos.instrument.symbol, None)
    balance = desk.balance(acct)
    acct.net_liq.record(now, balance.net_liquidating_value)
    events.append(AccountEvent("AccountBalance", acct.number, balance))
    return events
