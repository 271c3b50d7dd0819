"""The Alpaca façade's state, one for both APIs: its customers (keys → accounts), its trade
events, and the little it knows about orders that the brokerage does not (an order's
notional amount and extended-hours flag).

Everything else about an order (client order id, replacement links, fills) is the core's
`OrderRecord`; this module adds the façade's notes and switches when rendering it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from sandbox.alpaca import render
from sandbox.alpaca.customers import Customer, Customers
from sandbox.alpaca.trade_events.feed import TradeEvents
from sandbox.alpaca.watchlists import WatchlistBook
from sandbox.alpaca.wire import NOT_FOUND, UNAUTHORIZED, alpaca_error, order_uuid
from sandbox.core.records import AccountRecord, OrderRecord
from sandbox.core.simulation import Simulation

__all__ = ["AlpacaSandbox", "OrderNotes", "Scope", "facade_of"]


@dataclass
class OrderNotes:
    """What Alpaca knows about orders and the brokerage does not, by (number, order id)."""

    notional: dict[tuple[str, int], str]
    extended_hours: set[tuple[str, int]]


class AlpacaSandbox:
    """Customers, notes and trade events of the Alpaca façade (Broker and Trading API)."""

    def __init__(self, sandbox: Simulation) -> None:
        self.sandbox = sandbox
        self.keys = Customers(sandbox)
        self.notes = OrderNotes({}, set())
        self.events = TradeEvents(sandbox, self.keys, self.render_event_order)
        self._order_ids: dict[str, tuple[str, int]] = {}  # Alpaca id -> (number, id), seen
        self.watchlists = WatchlistBook()
        #: Account configuration set through PATCH, by account number (over the defaults).
        self.configurations: dict[str, dict[str, Any]] = {}

    @property
    def customers(self) -> dict[str, Customer]:
        return self.keys.by_cid

    def credential_states(self) -> dict[str, dict[str, Any]]:
        return self.keys.credential_states()

    def render_order(
        self, o: OrderRecord, status: str | None = None, *, nested: bool = False
    ) -> dict[str, Any]:
        """The one rendering of an order, with the façade's notes and switches. `nested`:
        a linked order's parent carries its other members, as they stand now, in `legs`
        (Alpaca's `nested=true`; `legs` is null otherwise)."""
        key = (o.account_number, o.id or 0)
        self._order_ids[order_uuid(*key)] = key
        data = render.order(
            o,
            status=status,
            pending_new=bool(self.sandbox.config.alpaca_pending_new_event),
            notional=self.notes.notional.get(key),
            extended_hours=key in self.notes.extended_hours,
        )
        if nested and o.group_id is not None:
            members = self.group(o)
            parent = render.linked_parent(members)
            if parent is not None and parent.id == o.id:
                data["legs"] = [self.render_order(m) for m in members if m.id != o.id]
        return data

    def render_event_order(self, o: OrderRecord, status: str | None = None) -> dict[str, Any]:
        """A trade event's order: a linked order's parent with its members nested, so a
        listener learns the group from the parent's events (UNCONFIRMED at Alpaca)."""
        return self.render_order(o, status, nested=True)

    def group(self, o: OrderRecord) -> list[OrderRecord]:
        """The members of `o`'s linked order, as they stand now (id order); [] if none. An
        exit that was replaced has left it: its replacement took its place."""
        if o.group_id is None:
            return []
        members = self.sandbox.brokerage.group(o.account_number, o.group_id)
        return [m for m in members if m.replaced_by_order_id is None]

    def is_child(self, o: OrderRecord) -> bool:
        """A linked order's member that Alpaca nests under another (its parent)."""
        if o.group_id is None:
            return False
        parent = render.linked_parent(self.group(o))
        return parent is not None and parent.id != o.id

    def find_order(self, number: str, oid: str) -> OrderRecord | None:
        """One of the account's orders by its Alpaca id (a uuid5 of number and id)."""
        wanted = oid.strip().lower()
        seen = self._order_ids.get(wanted)
        if seen is not None:
            return self.sandbox.brokerage.order(number, seen[1]) if seen[0] == number else None
        for o in self.sandbox.brokerage.order_history(number):
            if order_uuid(number, o.id) == wanted:
                return o
        return None

    def account(self, number: str) -> AccountRecord:
        found = self.sandbox.brokerage.account(number)
        assert found is not None  # a customer's accounts exist
        return found


@dataclass(frozen=True)
class Scope:
    """What an account endpoint works on: the façade, the customer, one account."""

    facade: AlpacaSandbox
    customer: Customer
    number: str


def facade_of(request: Request) -> AlpacaSandbox:
    return request.app.state.alpaca


def authenticate(request: Request, api: str) -> Customer | Response:
    """The request's customer for `api`, or Alpaca's 401."""
    customer = facade_of(request).keys.from_request(api, request)
    if customer is None:
        return alpaca_error(401, UNAUTHORIZED, "request is not authorized")
    return customer


def account_scope(request: Request, api: str, account_id: str | None) -> Scope | Response:
    """The customer and account a request works on: the path's account id (Broker API,
    404 if it is not the key's) or the key's only account (Trading API)."""
    customer = authenticate(request, api)
    if isinstance(customer, Response):
        return customer
    facade = facade_of(request)
    if account_id is None:
        return Scope(facade, customer, customer.number)
    number = facade.keys.account_of(customer, account_id)
    if number is None:
        return alpaca_error(404, NOT_FOUND, "account not found")
    return Scope(facade, customer, number)
