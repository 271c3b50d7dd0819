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
buying power), `matching` (fills), `order_book`, `margin` (balances), `ledger`,
`record_builders` and `demo_seed`, over the state of `account_state`.
"""

from __future__ import annotations

import itertools
import random
import time
from collections.abc import Callable
from decimal import Decimal

from sandbox.core import demo_orders, demo_seed, ledger, linked, margin, order_entry
from sandbox.core.account_state import CONTINGENT, WORKING, Account, Link, Order
from sandbox.core.marks import Marks, PriceSource
from sandbox.core.matching import fill_next_chunk, follow, plan_chunks
from sandbox.core.net_liq_history import TIME_BACK, NetLiqHistory
from sandbox.core.order_book import OrderBook
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
        self._marks = Marks(prices)
        self._seed = seed
        self._clock = clock
        self._rng = random.Random(f"{seed}|runtime")
        self._accounts: dict[str, Account] = {}
        self._customers: dict[str, list[str]] = {}
        # order, fill and transaction ids start at `first_order_id` (the sandbox derives it
        # from its start time, so a restart never reuses an id a client may remember)
        self._book = OrderBook(first_order_id)
        self._fill_ids = itertools.count(first_order_id)
        self._transaction_ids = itertools.count(first_order_id)
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
        now = self._clock()
        opened = demo_seed.new_accounts(
            customer_id, self._seed, now, self._marks, self._accounts, holdings
        )
        for acct in opened:
            self._open_books(acct, now)
            for request in demo_seed.holding_orders(acct, holdings, self._marks):
                if isinstance(request, LinkedRequest):
                    self.place_linked(acct.number, request)
                else:
                    self.place_order(acct.number, request)
        self._customers[customer_id] = [a.number for a in opened]
        return list(self._customers[customer_id])

    def accounts(self, customer_id: str) -> list[AccountRecord]:
        """The customer's accounts (empty if the customer was never opened)."""
        return [account_record(self._accounts[n]) for n in self._customers.get(customer_id, [])]

    def account(self, account_number: str) -> AccountRecord | None:
        """One account, or None for an unknown account."""
        acct = self._accounts.get(account_number)
        return None if acct is None else account_record(acct)

    def owner(self, account_number: str) -> str | None:
        """The customer id owning the account, so routes can refuse other customers' accounts."""
        acct = self._accounts.get(account_number)
        return None if acct is None else acct.customer_id

    # ----------------------------------------------------------------- balances & positions

    def balance(self, account_number: str) -> BalanceFigures:
        """The balance marked at current prices (KeyError for unknown accounts)."""
        return self._balance(self._accounts[account_number])

    def positions(self, account_number: str) -> list[PositionRecord]:
        """The open positions, marked now."""
        acct = self._accounts[account_number]
        return [position_record(acct, p, self._marks) for p in acct.positions.values()]

    def opening_positions(self, account_number: str) -> list[PositionRecord]:
        """The positions the account opened with, as they were then: the first lots
        before the ledger's first trade (the ledger books no trades for them)."""
        return list(self._accounts[account_number].opening)

    def position_symbols(self, account_number: str) -> list[str]:
        """Streamer symbols of the open positions, for the quote subscriptions."""
        acct = self._accounts.get(account_number)
        if acct is None:
            return []
        return [p.instrument.streamer_symbol for p in acct.positions.values()]

    def balance_events(self) -> list[AccountEvent]:
        """A fresh AccountBalance event for every open account (pushed periodically)."""
        return [
            AccountEvent("AccountBalance", n, self._balance(a)) for n, a in self._accounts.items()
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
        acct = self._require_account(account_number)
        order = self._parse(acct, request, self._clock())
        preview = order_entry.preview(acct, order, self._marks, self._clock())
        if not dry_run:
            self._accept(order)
        return PlacedOrder(order_record(order), preview)

    def cancel_order(self, account_number: str, order_id: int) -> OrderRecord:
        """Cancel a working order and return it (the caller publishes it as an Order event).
        A linked order's member is cancelled with its group (`cancel_group`), as every
        broker does it its own way: refused here."""
        order = self._find_order(account_number, order_id)
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
        self._cancel(order)
        return order_record(order)

    # ----------------------------------------------------------------- linked orders

    def place_linked(
        self, account_number: str, request: LinkedRequest, *, dry_run: bool = False
    ) -> PlacedLinked:
        """Validate and accept a linked order (sandbox/core/linked.py): every member is
        checked as an order; the buying power is that of what fills first (the trigger,
        else the first order). A dry run changes nothing. The caller publishes the
        members' `Received` / `Contingent` events (`placed.orders`)."""
        acct = self._require_account(account_number)
        kind = request.kind
        linked.shape(kind, request.trigger is not None, len(request.orders))
        now = self._clock()
        trigger_role, roles = linked.roles(kind, len(request.orders))
        parsed: list[tuple[Order, str]] = []
        if request.trigger is not None:
            parsed.append((self._parse(acct, request.trigger, now), trigger_role or "trigger"))
        for index, (member, role) in enumerate(zip(request.orders, roles, strict=True)):
            # an exit waits for its entry; an OCO's second order cannot fill with the first
            rules = request.trigger is None and index == 0
            parsed.append((self._parse(acct, member, now, account_rules=rules), role))
        preview = order_entry.preview(acct, parsed[0][0], self._marks, now)
        group_id = None if dry_run else self._book.new_group_id()
        for order, role in parsed:
            if group_id is not None:
                order.link = Link(group_id, kind, role)
            if request.trigger is not None and role != "trigger":
                order.status = CONTINGENT
            if not dry_run:
                self._accept(order)
        return PlacedLinked(group_id, kind, tuple(order_record(o) for o, _ in parsed), preview)

    def cancel_group(self, account_number: str, group_id: int) -> list[OrderRecord]:
        """Cancel every member of a linked order that is not done (each broker's way of
        cancelling one: tastytrade's complex order, Tradier's and Alpaca's parent); the
        members it cancelled (the caller publishes them). Unknown group: 404."""
        self._require_account(account_number)
        found = [
            o
            for o in linked.members(self._book.orders.values(), group_id)
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
            self._cancel(order)
        return [order_record(o) for o in cancelled]

    def group(self, account_number: str, group_id: int) -> list[OrderRecord]:
        """A linked order's members, in id order (empty: no such group of the account)."""
        return [
            order_record(o)
            for o in linked.members(self._book.orders.values(), group_id)
            if o.account_number == account_number
        ]

    def live_orders(self, account_number: str) -> list[OrderRecord]:
        """Orders working now or finished today, as GET /orders/live returns them."""
        return [order_record(o) for o in self._book.live(account_number, self._clock())]

    def order(self, account_number: str, order_id: int) -> OrderRecord | None:
        """One order of the account, or None."""
        order = self._book.get(account_number, order_id)
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
        self._require_account(account_number)

        def wanted(o: Order) -> bool:
            return (
                (not statuses or o.status in statuses)
                and (not underlying_symbol or o.underlying == underlying_symbol)
                and (not symbol or any(leg.instrument.symbol == symbol for leg in o.legs))
                and (start is None or o.received_at >= start)
                and (end is None or o.received_at < end)
            )

        return [order_record(o) for o in self._book.history(account_number, wanted)]

    def order_by_client_id(self, account_number: str, client_order_id: str) -> OrderRecord | None:
        """The newest order of the account placed with this client order id, or None."""
        order = self._book.by_client_id(account_number, client_order_id)
        return None if order is None else order_record(order)

    def replace_order(
        self, account_number: str, order_id: int, request: OrderRequest, *, member: bool = False
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
        old = self._find_order(account_number, order_id)
        if old.status not in WORKING:
            raise OrderRejected(
                "order_not_replaceable",
                f"Order {order_id} is {old.status} and cannot be replaced.",
            )
        if not member:
            _not_linked(old, "replaced")
        acct = self._accounts[account_number]
        merged = order_entry.replacement_request(old, request)
        self._book.working.pop(order_id, None)  # the old order's sells must not count twice
        try:
            order = self._parse(acct, merged, self._clock(), account_rules=old.link is None)
            preview = order_entry.preview(acct, order, self._marks, self._clock())
        except OrderRejected:
            self._book.working[order_id] = old
            raise
        waiting = old.status == CONTINGENT
        self._cancel(old)
        order.link = old.link
        if waiting:
            order.status = CONTINGENT
        self._accept(order)
        order.replaces, old.replaced_by = old.id, order.id
        return PlacedOrder(order_record(order), preview, replaced=order_record(old))

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
        """Change a working order in place (same id, `edited`), as Tradier's PUT does.

        Only what is given changes; the result is checked like a new order. A stop's
        `stop_trigger` may change (a triggered stop stays triggered). The caller publishes
        the returned order.
        """
        order = self._find_order(account_number, order_id)
        if order.status not in WORKING:
            raise OrderRejected(
                "order_not_editable", f"Order {order_id} is {order.status} and cannot be changed."
            )
        _not_linked(order, "changed")
        acct = self._accounts[account_number]
        changed = order_entry.modified_terms(order, order_type, time_in_force, price, price_effect)
        stop = order.stop
        if stop_trigger is not None:  # checked as placing checks it
            stop = order_entry.stop_trigger(changed[0], stop_trigger, order.legs)
        saved = (order.order_type, order.time_in_force, order.limit, order.stop)
        order.order_type, order.time_in_force, order.limit = changed
        order.stop = stop
        try:
            order_entry.preview(acct, order, self._marks, self._clock())
        except OrderRejected:
            order.order_type, order.time_in_force, order.limit, order.stop = saved
            raise
        order.edited = True
        order.updated_at = self._clock()
        return order_record(order)

    def cancel_all(self, account_number: str) -> list[OrderRecord]:
        """Cancel every working order of the account; the cancelled orders, oldest first."""
        self._require_account(account_number)
        working = self._book.working_of(account_number)
        for order in working:
            self._cancel(order)
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
        acct = self._require_account(account_number)
        request = order_entry.closing_request(acct, symbol, quantity, source, client_order_id)
        return self.place_order(account_number, request)

    # ----------------------------------------------------------------- books

    def transactions(self, account_number: str) -> list[TransactionRecord]:
        """The account's ledger, oldest first: the opening deposit, then one trade per fill
        of each leg (value, commission and net value)."""
        return list(self._require_account(account_number).transactions)

    def transaction(self, account_number: str, transaction_id: int) -> TransactionRecord | None:
        for t in self._require_account(account_number).transactions:
            if t.id == transaction_id:
                return t
        return None

    def net_liq_history(
        self, account_number: str, *, time_back: str | None = None, start: float | None = None
    ) -> list[NetLiqPoint]:
        """Net-liq points since `start` (or `time_back`: 1d, 1m, 3m, 6m, 1y, all), oldest
        first; the last point is the current net liquidating value."""
        acct = self._require_account(account_number)
        now = self._clock()
        if start is None:
            if time_back not in (*TIME_BACK, "all"):
                raise OrderRejected(
                    "invalid_time_back",
                    f"time-back must be one of {', '.join((*TIME_BACK, 'all'))}.",
                )
            start = None if time_back == "all" else now - TIME_BACK[time_back]
        acct.net_liq.record(now, self._balance(acct).net_liquidating_value)
        return acct.net_liq.since(start)

    def margin_requirements(self, account_number: str) -> MarginReport:
        """Maintenance requirement per underlying, with the same rates as the balance, so the
        entries add up to the balance's `maintenance_requirement`."""
        acct = self._require_account(account_number)
        return margin.margin_report(acct, self._marks, self._balance(acct))

    # ----------------------------------------------------------------- time passing

    def step(self) -> list[AccountEvent]:
        """Advance every working order one tick against current prices; return events to push.

        Per working order, in id order: `Received` -> `Live` (one Order event), or a fill
        (Order, one CurrentPosition per leg, AccountBalance). An IOC order gets one fill
        attempt: what it leaves (all of it when not marketable, the rest of a big order's
        planned fills) is cancelled in the same step (one more Order event, fills kept).
        """
        events: list[AccountEvent] = []
        for order in list(self._book.working.values()):
            if order.status == "Received":
                now = self._clock()
                order.status, order.live_at, order.updated_at = "Live", now, now
                follow(order, self._marks)  # a trailing stop's high-water mark, every step
                events.append(order_event(order))
            elif order.status == "Live":
                events.extend(self._try_fill(order))
                if order.time_in_force == "IOC" and order.status == "Live":
                    events.append(self._cancel(order))  # immediate or cancel
        return events

    def demo_order(self, account_number: str) -> list[AccountEvent]:
        """Place a small realistic order in the generator's own symbols (or cancel one of
        its own stale ones, never a trader's or a holding's): `demo_orders.py`.

        Deterministic per seed, account and call count. Returns the events to push now (the
        order's `Received` event); the order then progresses through `step()`.
        """
        acct = self._accounts.get(account_number)
        if acct is None:
            return []
        count = self._demo_counts.get(account_number, 0) + 1
        self._demo_counts[account_number] = count
        rng = random.Random(f"{self._seed}|demo|{account_number}|{count}")
        working = [
            o for o in self._book.working_of(account_number) if o.source == demo_orders.SOURCE
        ]
        if len(working) >= 3:
            return [self._cancel(working[0])]
        now = self._clock()
        for request in demo_orders.requests(acct, rng, self._marks, market_date(now)):
            try:
                order = self._parse(acct, request, now)
                order_entry.preview(acct, order, self._marks, self._clock())
            except OrderRejected:
                continue
            self._accept(order)
            return [order_event(order)]
        return []

    # ----------------------------------------------------------------- internals

    def _balance(self, acct: Account) -> BalanceFigures:
        return margin.figures(acct, self._marks, self._clock()).figures

    def _parse(
        self, acct: Account, request: OrderRequest, now: float, *, account_rules: bool = True
    ) -> Order:
        working = self._book.working.values()
        return order_entry.parse_order(
            acct, request, now, self._marks, working, account_rules=account_rules
        )

    def _open_books(self, acct: Account, now: float) -> None:
        """The opening deposit (the cash the account started with, plus what its starting
        positions cost) and a seeded back-history ending at today's net-liq."""
        acct.opening = tuple(position_record(acct, p, self._marks) for p in acct.positions.values())
        acct.transactions.append(ledger.opening_deposit(acct, next(self._transaction_ids)))
        net_liq = self._balance(acct).net_liquidating_value
        acct.net_liq = NetLiqHistory(f"{self._seed}|netliq|{acct.number}", net_liq, now)
        acct.net_liq.record(now, net_liq)

    def _accept(self, order: Order) -> None:
        """Give the order its id and fill plan, and start tracking it."""
        order.chunks = plan_chunks(order, self._rng)
        self._book.add(order)

    def _require_account(self, account_number: str) -> Account:
        acct = self._accounts.get(account_number)
        if acct is None:
            raise OrderRejected("account_not_found", f"Unknown account {account_number}.", 404)
        return acct

    def _find_order(self, account_number: str, order_id: int) -> Order:
        self._require_account(account_number)
        return self._book.find(account_number, order_id)

    def _cancel(self, order: Order) -> AccountEvent:
        self._book.finish(order, "Cancelled", self._clock())
        return order_event(order)

    def _after_complete_fill(self, order: Order, now: float) -> list[AccountEvent]:
        """A linked order's consequences of `order` filling completely: its contingent
        members start working, or the other of its cancel-each-other pair is cancelled."""
        events = []
        for member in linked.activated(order, self._book.orders.values()):
            member.status, member.updated_at = "Received", now
            events.append(order_event(member))
        for sibling in linked.siblings(order, self._book.orders.values(), WORKING):
            events.append(self._cancel(sibling))
        return events

    def _after_partial_fill(self, order: Order, now: float) -> list[AccountEvent]:
        """A partial fill of one of a cancel-each-other pair leaves the other only what is
        left (linked.shrunk): together they never close more than the position."""
        events = []
        for sibling in linked.shrunk(order, self._book.orders.values(), WORKING):
            sibling.updated_at = now
            events.append(order_event(sibling))
        return events

    def _try_fill(self, order: Order) -> list[AccountEvent]:
        """Fill the next planned chunk if the order is marketable now: the order's event, one
        CurrentPosition per leg and the account's balance."""
        acct = self._accounts[order.account_number]
        now = self._clock()
        touched = fill_next_chunk(
            order,
            acct,
            self._marks,
            now,
            fill_ids=self._fill_ids,
            transaction_ids=self._transaction_ids,
        )
        if touched is None:
            return []
        events = [order_event(order)]
        if order.filled_units >= order.size:
            self._book.finish(order, "Filled", now)
            events = [order_event(order), *self._after_complete_fill(order, now)]
        else:
            events += self._after_partial_fill(order, now)
        for pos in touched:
            record = position_record(acct, pos, self._marks)
            events.append(AccountEvent("CurrentPosition", acct.number, record))
            if pos.quantity == 0:
                acct.positions.pop(pos.instrument.symbol, None)
        balance = margin.figures(acct, self._marks, self._clock()).figures
        acct.net_liq.record(now, balance.net_liquidating_value)
        events.append(AccountEvent("AccountBalance", acct.number, balance))
        return events


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
