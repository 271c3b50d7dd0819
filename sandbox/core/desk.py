"""The brokerage's working parts: its accounts, its order book, the marks, the clock and
the id counters, and the few steps every order change takes (parse, accept, find, cancel).

`Brokerage` (brokerage.py) holds one desk and hands it to the modules that change orders:
as time passes (`lifecycle.py`) and when a working order is replaced or changed
(`amendments.py`). One state, which those modules change only through it.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable

from sandbox.core import margin, order_entry
from sandbox.core.account_state import Account, Order
from sandbox.core.marks import Marks, PriceSource
from sandbox.core.matching import plan_chunks
from sandbox.core.order_book import OrderBook
from sandbox.core.record_builders import order_event
from sandbox.core.records import AccountEvent, BalanceFigures, OrderRejected, OrderRequest

__all__ = ["Desk"]


class Desk:
    """What the brokerage's order work shares, and the steps it repeats.

    Order, fill and transaction ids start at `first_order_id` (the sandbox derives it from
    its start time, so a restart never reuses an id a client may remember).
    """

    def __init__(
        self, prices: PriceSource, seed: int, clock: Callable[[], float], first_order_id: int
    ) -> None:
        self.marks = Marks(prices)
        self.seed = seed
        self.clock = clock
        self.rng = random.Random(f"{seed}|runtime")
        self.accounts: dict[str, Account] = {}
        self.book = OrderBook(first_order_id)
        self.fill_ids = itertools.count(first_order_id)
        self.transaction_ids = itertools.count(first_order_id)

    def balance(self, acct: Account) -> BalanceFigures:
        """The account's balance marked at current prices."""
        return margin.figures(acct, self.marks, self.clock()).figures

    def parse(
        self, acct: Account, request: OrderRequest, now: float, *, account_rules: bool = True
    ) -> Order:
        """The request checked as an order of the account (OrderRejected if refused)."""
        working = self.book.working.values()
        return order_entry.parse_order(
            acct, request, now, self.marks, working, account_rules=account_rules
        )

    def accept(self, order: Order) -> None:
        """Give the order its id and fill plan, and start tracking it."""
        order.chunks = plan_chunks(order, self.rng)
        self.book.add(order)

    def require_account(self, account_number: str) -> Account:
        acct = self.accounts.get(account_number)
        if acct is None:
            raise OrderRejected("account_not_found", f"Unknown account {account_number}.", 404)
        return acct

    def find_order(self, account_number: str, order_id: int) -> Order:
        self.require_account(account_number)
        return self.book.find(account_number, order_id)

    def cancel(self, order: Order) -> AccountEvent:
        """End a working order `Cancelled` now; its Order event."""
        self.book.finish(order, "Cancelled", self.clock())
        return order_event(order)
