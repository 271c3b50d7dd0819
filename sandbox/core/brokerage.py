"""The sandbox's simulated brokerage: customers, accounts, positions, balances, orders, fills.

It is the state behind the fake tastytrade REST routes and account streamer. Prices come from
a `PriceSource` (the sandbox market); everything else is simulated here, deterministically:
the same seed, the same calls, the same clock and the same prices give the same events.

Life of an order: `place_order` accepts it as `Received`; the next `step()` makes it `Live`;
later steps fill it against the current quotes (a Market order at once, at the ask for buys
and the bid for sells; a Limit order once marketable, a larger one in 2-3 partial fills on
consecutive steps; an IOC order only at its first fill attempt, the rest cancelled there).
Every fill moves cash and positions and yields, in this order, an `Order`
event, one `CurrentPosition` event per leg and an `AccountBalance` event, ready for the account
streamer. Orders placed or cancelled through `place_order`/`cancel_order` come back as records:
the caller (the REST route) publishes those `Order` events itself; `step()` does not repeat them.

Everything leaves as a typed record (`records.py`); each broker façade renders them in its
own wire format, and builds the `OrderRequest` it places from its own wire input. Nothing
here knows a broker protocol. This class composes the concepts: `order_entry` (checks and
buying power), `lifecycle` (time passing: fills, with `matching`), `amendments` (replace,
modify), `order_book`, `margin` (balances), `ledger`, `record_builders` and `demo_seed`,
over the state of `account_state`, which its `Desk` holds.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from decimal import Decimal

from sandbox.core import (
    amendments,
    demo_orders,
    demo_seed,
    ledger,
    lifecycle,
    linked,
    margin,
    order_entry,
)
from sandbox.core.account_state import CONTINGENT, WORKING, Account, Link, Order
from sandbox.core.desk import Desk
from sandbox.core.marks import PriceSource
from sandbox.core.net_liq_history import TIME_BACK, NetLiqHistory
from sandbox.core.record_builders import (
    account_record,
    order_event,
    order_record,
    position_record,
)
from sandbox.core.records import (
    AccountEvent,
    AccountRecord,
    BalanceFigures,
    LinkedRequest,
    MarginReport,
    NetLiqPoint,
    OrderRecord,
    OrderRejected,
    OrderRequest,
    PlacedLinked,
    PlacedOrder,
    PositionRecord,
    TransactionRecord,
)
from sandbox.core.trading_calendar import market_date

__all__ = ["Brokerage"]

_FIRST_ORDER_ID = 100001


class Brokerage:
    """A deterministic simulated broker behind the sandbox's REST and account-streamer routes.

    Usage::

        broker = Brokerage(market, seed=7)
        numbers = broker.open_customer("u1")
        placed = broker.place_order(numbers[0], order_request)
        for event in broker.step():        # call periodically
            push(event.kind, event.record)
    """

    def __init__(
        self,
        prices: PriceSource,
        seed: int = 7,
        clock: Callable[[], float] = time.time,
        first_order_id: int = _FIRST_ORDER_ID,
    ) -> None:
        self._desk = Desk(prices, seed, clock, first_order_id)
        self._customers: dict[str, list[str]] = {}
        self._demo_counts: dict[str, int] = {}

    # ----------------------------------------------------------------- customers & accounts

    def open_customer(
        self, customer_id: str, holdings: demo_seed.Holdings = demo_seed.PLAIN
    ) -> list[str]:
        """Create (once) the customer's demo accounts and return their numbers.

        Everything is derived from the seed and the customer id, so a customer sees the same
        accounts every time the sandbox starts with the same seed and prices. `holdings`:
        what the margin account also holds (its broker's, with `demo_holdings` on): its
        orders are placed here, before anyone can listen, so they need no publishing.
        """
        if customer_id in self._customers:
            return list(self._customers[customer_id])
        now = self._desk.clock()
        opened = demo_seed.new_accounts(
            customer_id, self._desk.seed, now, self._desk.marks, self._desk.accounts, holdings
        )
        for acct in opened:
            self._open_books(acct, now)
            for request in demo_seed.holding_orders(acct, holdings, self._desk.marks):
                if isinstance(request, LinkedRequest):
                    self.place_linked(acct.number, request)
                else:
                    self.place_order(acct.number, request)
        self._customers[customer_id] = [a.number for a in opened]
        return list(self._customers[customer_id])

    def accounts(self, customer_id: str) -> list[AccountRecord]:
        """The customer's accounts (empty if the customer was never opened)."""
        return [
            account_record(self._desk.accounts[n]) for n in self._customers.get(customer_id, [])
        ]

    def account(self, account_number: str) -> AccountRecord | None:
        """One account, or None for an unknown account."""
        acct = self._desk.accounts.get(account_number)
        return None if acct is None else account_record(acct)

    def owner(self, account_number: str) -> str | None:
        """The customer id owning the account, so routes can refuse other customers' accounts."""
        acct = self._desk.accounts.get(account_number)
        return None if acct is None else acct.customer_id

    # ----------------------------------------------------------------- balances & positions

    def balance(self, account_number: str) -> BalanceFigures:
        """The balance marked at current prices (KeyError for unknown accounts)."""
        return self._desk.balance(self._desk.accounts[account_number])

    def positions(self, account_number: str) -> list[PositionRecord]:
        """The open positions, marked now."""
        acct = self._desk.accounts[account_number]
        return [position_record(acct, p, self._desk.marks) for p in acct.positions.values()]

    def opening_positions(self, account_number: str) -> list[PositionRecord]:
        """The positions the account opened with, as they were then: the first lots
        before the ledger's first trade (the ledger books no trades for them)."""
        return list(self._desk.accounts[account_number].opening)

    def position_symbols(self, account_number: str) -> list[str]:
        """Streamer symbols of the open positions, for the quote subscriptions."""
        acct = self._desk.accounts.get(account_number)
        if acct is None:
            return []
        return [p.instrument.streamer_symbol for p in acct.positions.values()]

    def balance_events(self) -> list[AccountEvent]:
        """A fresh AccountBalance event for every open account (pushed periodically)."""
        return [
            AccountEvent("AccountBalance", n, self._desk.balance(a))
            for n, a in self._desk.accounts.items()
        ]

    # ----------------------------------------------------------------- orders

    def place_order(
        self, account_number: str, request: OrderRequest, *, dry_run: bool = False
    ) -> PlacedOrder:
        """Validate and accept an order; return it with its buying-power effect and fees.

        Raises OrderRejected for anything the broker refuses. A dry run changes nothing and
        returns an order without an `id`. The caller publishes the accepted order's
        `Received` event (`placed.order`).
        """
        acct = self._desk.require_account(account_number)
        order = self._desk.parse(acct, request, self._desk.clock())
        preview = order_entry.preview(acct, order, self._desk.marks, self._desk.clock())
        if not dry_run:
            self._desk.accept(order)
        return PlacedOrder(order_record(order), preview)

    def cancel_order(self, account_number: str, order_id: int) -> OrderRecord:
        """Cancel a working order and return it (the caller publishes it as an Order event).
        A linked order's member is cancelled with its group (`cancel_group`), as every
        broker does it its own way: refused here."""
        order = self._desk.find_order(account_number, order_id)
        if order.status not in WORKING:
            raise OrderRejected(
                "order_not_cancellable",
                f"Order {order_id} is {order.status} and cannot be cancelled.",
            )
        if order.link is not None:
            raise OrderRejected(
                "order_linked",
                f"Order {order_id} is part of {order.link.kind} order {order.link.group_id}: "
                "cancel that one.",
            )
        self._desk.cancel(order)
        return order_record(order)

    # ----------------------------------------------------------------- linked orders

    def place_linked(
        self, account_number: str, request: LinkedRequest, *, dry_run: bool = False
    ) -> PlacedLinked:
        """Validate and accept a linked order (sandbox/core/linked.py): every member is
        checked as an order; the buying power is that of what fills first (the trigger,
        else the first order). A dry run changes nothing. The caller publishes the
        members' `Received` / `Contingent` events (`placed.orders`)."""
        acct = self._desk.require_account(account_number)
        kind = request.kind
        linked.shape(kind, request.trigger is not None, len(request.orders))
        now = self._desk.clock()
        trigger_role, roles = linked.roles(kind, len(request.orders))
        parsed: list[tuple[Order, str]] = []
        if request.trigger is not None:
            parsed.append((self._desk.parse(acct, request.trigger, now), trigger_role or "trigger"))
        for index, (member, role) in enumerate(zip(request.orders, roles, strict=True)):
            # an exit waits for its entry; an OCO's second order cannot fill with the first
            rules = request.trigger is None and index == 0
            parsed.append((self._desk.parse(acct, member, now, account_rules=rules), role))
        preview = order_entry.preview(acct, parsed[0][0], self._desk.marks, now)
        group_id = None if dry_run else self._desk.book.new_group_id()
        for order, role in parsed:
            if group_id is not None:
                order.link = Link(group_id, kind, role)
            if request.trigger is not None and role != "trigger":
                order.status = CONTINGENT
            if not dry_run:
                self._desk.accept(order)
        return PlacedLinked(group_id, kind, tuple(order_record(o) for o, _ in parsed), preview)

    def cancel_group(self, account_number: str, group_id: int) -> list[OrderRecord]:
        """Cancel every member of a linked order that is not done (each broker's way of
        cancelling one: tastytrade's complex order, Tradier's and Alpaca's parent); the
        members it cancelled (the caller publishes them). Unknown group: 404."""
        self._desk.require_account(account_number)
        found = [
            o
            for o in linked.members(self._desk.book.orders.values(), group_id)
            if o.account_number == account_number
        ]
        if not found:
            raise OrderRejected("order_not_found", f"Linked order {group_id} not found.", 404)
        cancelled = [o for o in found if o.status in WORKING]
        if not cancelled:
            raise OrderRejected(
                "order_not_cancellable", f"Linked order {group_id} has no order left working."
            )
        for order in cancelled:
            self._desk.cancel(order)
        return [order_record(o) for o in cancelled]

    def group(self, account_number: str, group_id: int) -> list[OrderRecord]:
        """A linked order's members, in id order (empty: no such group of the account)."""
        return [
            order_record(o)
            for o in linked.members(self._desk.book.orders.values(), group_id)
            if o.account_number == account_number
        ]

    def live_orders(self, account_number: str) -> list[OrderRecord]:
        """Orders working now or finished today, as GET /orders/live returns them."""
        return [order_record(o) for o in self._desk.book.live(account_number, self._desk.clock())]

    def order(self, account_number: str, order_id: int) -> OrderRecord | None:
        """One order of the account, or None."""
        order = self._desk.book.get(account_number, order_id)
        return None if order is None else order_record(order)

    def order_history(
        self,
        account_number: str,
        *,
        statuses: set[str] | None = None,
        underlying_symbol: str | None = None,
        symbol: str | None = None,
        start: float | None = None,
        end: float | None = None,
    ) -> list[OrderRecord]:
        """Every remembered order of the account, terminal ones included, newest first;
        `start`/`end` bound the time it was received (end exclusive)."""
        self._desk.require_account(account_number)

        def wanted(o: Order) -> bool:
            return (
                (not statuses or o.status in statuses)
                and (not underlying_symbol or o.underlying == underlying_symbol)
                and (not symbol or any(leg.instrument.symbol == symbol for leg in o.legs))
                and (start is None or o.received_at >= start)
                and (end is None or o.received_at < end)
            )

        return [order_record(o) for o in self._desk.book.history(account_number, wanted)]

    def order_by_client_id(self, account_number: str, client_order_id: str) -> OrderRecord | None:
        """The newest order of the account placed with this client order id, or None."""
        order = self._desk.book.by_client_id(account_number, client_order_id)
        return None if order is None else order_record(order)

    def replace_order(
        self, account_number: str, order_id: int, request: OrderRequest, *, member: bool = False
    ) -> PlacedOrder:
        """Cancel a working order and place its replacement in one step (new id; a linked
        order's `member` only where the façade's broker does it): `amendments.py`."""
        return amendments.replace_order(
            self._desk, account_number, order_id, request, member=member
        )

    def modify_order(
        self,
        account_number: str,
        order_id: int,
        *,
        order_type: str | None = None,
        time_in_force: str | None = None,
        price: Decimal | None = None,
        price_effect: str | None = None,
        stop_trigger: Decimal | None = None,
    ) -> OrderRecord:
        """Change a working order in place (same id, `edited`), as Tradier's PUT does:
        `amendments.py`."""
        return amendments.modify_order(
            self._desk,
            account_number,
            order_id,
            order_type=order_type,
            time_in_force=time_in_force,
            price=price,
            price_effect=price_effect,
            stop_trigger=stop_trigger,
        )

    def cancel_all(self, account_number: str) -> list[OrderRecord]:
        """Cancel every working order of the account; the cancelled orders, oldest first."""
        self._desk.require_account(account_number)
        working = self._desk.book.working_of(account_number)
        for order in working:
            self._desk.cancel(order)
        return [order_record(o) for o in working]

    def close_position(
        self,
        account_number: str,
        symbol: str,
        quantity: Decimal | None = None,
        *,
        source: str | None = None,
        client_order_id: str | None = None,
    ) -> PlacedOrder:
        """Place a Market order closing all (or `quantity`) of a position."""
        acct = self._desk.require_account(account_number)
        request = order_entry.closing_request(acct, symbol, quantity, source, client_order_id)
        return self.place_order(account_number, request)

    # ----------------------------------------------------------------- books

    def transactions(self, account_number: str) -> list[TransactionRecord]:
        """The account's ledger, oldest first: the opening deposit, then one trade per fill
        of each leg (value, commission and net value)."""
        return list(self._desk.require_account(account_number).transactions)

    def transaction(self, account_number: str, transaction_id: int) -> TransactionRecord | None:
        for t in self._desk.require_account(account_number).transactions:
            if t.id == transaction_id:
                return t
        return None

    def net_liq_history(
        self, account_number: str, *, time_back: str | None = None, start: float | None = None
    ) -> list[NetLiqPoint]:
        """Net-liq points since `start` (or `time_back`: 1d, 1m, 3m, 6m, 1y, all), oldest
        first; the last point is the current net liquidating value."""
        acct = self._desk.require_account(account_number)
        now = self._desk.clock()
        if start is None:
            if time_back not in (*TIME_BACK, "all"):
                raise OrderRejected(
                    "invalid_time_back",
                    f"time-back must be one of {', '.join((*TIME_BACK, 'all'))}.",
                )
            start = None if time_back == "all" else now - TIME_BACK[time_back]
        acct.net_liq.record(now, self._desk.balance(acct).net_liquidating_value)
        return acct.net_liq.since(start)

    def margin_requirements(self, account_number: str) -> MarginReport:
        """Maintenance requirement per underlying, with the same rates as the balance, so the
        entries add up to the balance's `maintenance_requirement`."""
        acct = self._desk.require_account(account_number)
        return margin.margin_report(acct, self._desk.marks, self._desk.balance(acct))

    # ----------------------------------------------------------------- time passing

    def step(self) -> list[AccountEvent]:
        """Advance every working order one tick against current prices; return events to
        push (`lifecycle.py`: Received -> Live, fills, IOC cancels, linked consequences)."""
        return lifecycle.step(self._desk)

    def demo_order(self, account_number: str) -> list[AccountEvent]:
        """Place a small realistic order in the generator's own symbols (or cancel one of
        its own stale ones, never a trader's or a holding's): `demo_orders.py`.

        Deterministic per seed, account and call count. Returns the events to push now (the
        order's `Received` event); the order then progresses through `step()`.
        """
        acct = self._desk.accounts.get(account_number)
        if acct is None:
            return []
        count = self._demo_counts.get(account_number, 0) + 1
        self._demo_counts[account_number] = count
        rng = random.Random(f"{self._desk.seed}|demo|{account_number}|{count}")
        working = [
            o for o in self._desk.book.working_of(account_number) if o.source == demo_orders.SOURCE
        ]
        if len(working) >= 3:
            return [self._desk.cancel(working[0])]
        now = self._desk.clock()
        for request in demo_orders.requests(acct, rng, self._desk.marks, market_date(now)):
            try:
                order = self._desk.parse(acct, request, now)
                order_entry.preview(acct, order, self._desk.marks, self._desk.clock())
            except OrderRejected:
                continue
            self._desk.accept(order)
            return [order_event(order)]
        return []

    # ----------------------------------------------------------------- internals

    def _open_books(self, acct: Account, now: float) -> None:
        """The opening deposit (the cash the account started with, plus what its starting
        positions cost) and a seeded back-history ending at today's net-liq."""
        desk = self._desk
        acct.opening = tuple(position_record(acct, p, desk.marks) for p in acct.positions.values())
        acct.transactions.append(ledger.opening_deposit(acct, next(desk.transaction_ids)))
        net_liq = desk.balance(acct).net_liquidating_value
        acct.net_liq = NetLiqHistory(f"{desk.seed}|netliq|{acct.number}", net_liq, now)
        acct.net_liq.record(now, net_liq)
