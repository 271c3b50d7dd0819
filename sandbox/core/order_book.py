"""The order book: every order still remembered, the working ones apart, and their ids."""

from __future__ import annotations

import itertools
from collections.abc import Callable

from sandbox.core.account_state import WORKING, Order, snapshot_date
from sandbox.core.records import OrderRejected

__all__ = ["OrderBook"]

_MAX_ORDERS = 20_000


class OrderBook:
    """Orders by id; `working` holds the Received and Live ones, in acceptance order."""

    def __init__(self, first_order_id: int) -> None:
        self.orders: dict[int, Order] = {}
        self.working: dict[int, Order] = {}
        self._ids = itertools.count(first_order_id)

    def new_group_id(self) -> int:
        """An id for a linked order's group, from the same counter as the orders'."""
        return next(self._ids)

    def add(self, order: Order) -> None:
        """Give an accepted order its id and start working it."""
        order.id = next(self._ids)
        self.orders[order.id] = order
        self.working[order.id] = order
        if len(self.orders) > _MAX_ORDERS:
            self._forget_old_orders()

    def _forget_old_orders(self) -> None:
        """Bound memory for a long-running demo: drop the oldest finished orders."""
        excess = len(self.orders) - _MAX_ORDERS
        for order_id in [i for i, o in self.orders.items() if o.status not in WORKING][:excess]:
            del self.orders[order_id]

    def find(self, account_number: str, order_id: int) -> Order:
        """The account's order, or OrderRejected (404)."""
        order = self.orders.get(order_id)
        if order is None or order.account_number != account_number:
            raise OrderRejected("order_not_found", f"Order {order_id} not found.", 404)
        return order

    def get(self, account_number: str, order_id: int) -> Order | None:
        order = self.orders.get(order_id)
        if order is None or order.account_number != account_number:
            return None
        return order

    def finish(self, order: Order, status: str, now: float) -> None:
        """End a working order (`Filled` or `Cancelled`) at `now`."""
        order.status, order.terminal_at = status, now
        if status == "Cancelled":
            order.cancelled_at = order.updated_at = now
        self.working.pop(order.id or 0, None)

    def working_of(self, account_number: str) -> list[Order]:
        return [o for o in self.working.values() if o.account_number == account_number]

    def live(self, account_number: str, now: float) -> list[Order]:
        """Orders working now or finished today, as GET /orders/live returns them."""
        today = snapshot_date(now)
        return [
            o
            for o in self.orders.values()
            if o.account_number == account_number
            and (o.status in WORKING or snapshot_date(o.updated_at) == today)
        ]

    def history(self, account_number: str, wanted: Callable[[Order], bool]) -> list[Order]:
        """Every remembered order of the account that is `wanted`, newest first."""
        found = [
            o for o in self.orders.values() if o.account_number == account_number and wanted(o)
        ]
        found.sort(key=lambda o: (o.received_at, o.id or 0), reverse=True)
        return found

    def by_client_id(self, account_number: str, client_order_id: str) -> Order | None:
        """The newest order of the account placed with this client order id, or None."""
        for o in sorted(self.orders.values(), key=lambda o: o.id or 0, reverse=True):
            if o.account_number == account_number and o.client_order_id == client_order_id:
                return o
        return None
