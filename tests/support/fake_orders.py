"""An in-memory broker that takes orders (`SupportsOrders`) and the owner around it, for
in-process tests of tickets, the owner's place-once and reconcile, and the cancels: the
outside edge (a broker) is all that is faked; the app's code runs as in production."""

from __future__ import annotations

import asyncio
import itertools
from collections import OrderedDict
from dataclasses import replace
from typing import Any

from streaming.brokers.orders.entry import (
    LinkedOrder,
    OrderRefused,
    OrderRequest,
    PlaceResult,
    PreviewResult,
    SupportsOrders,
)
from streaming.cluster.agents import Agents
from streaming.instruments.resolve import InstrumentBook
from streaming.stream.state import LinkInfo

_ids = itertools.count(1000)


class FakeBroker:
    """Orders kept by client order id; `gate` holds a place until it is set (so that
    parallel confirms overlap); `lose_answer` places, then raises as a lost socket would;
    `fail_before` raises without placing."""

    def __init__(self) -> None:
        self.orders: dict[str, dict[str, Any]] = {}
        self.preview_calls = 0
        self.place_calls = 0
        self.cancel_calls: list[str] = []
        self.gate: asyncio.Event | None = None
        self.lose_answer = False
        self.fail_before = False
        self.refuse: OrderRefused | None = None
        self.failing_cancels: set[str] = set()
        self.linked_previews: list[LinkedOrder] = []
        self.linked_placed: list[LinkedOrder] = []

    async def preview_order(self, order: OrderRequest) -> PreviewResult:
        self.preview_calls += 1
        if self.refuse is not None:
            raise self.refuse
        leg = order.legs[0]
        price = order.price or order.reference_price or 0
        cost = float(price) * float(leg.size) * float(leg.multiplier)
        return PreviewResult(
            checks="broker",
            cost=cost if leg.buys else -cost,
            fees=2.0,
            buying_power_before=180_000.0,
            buying_power_after=180_000.0 - cost - 2.0,
            said={"dry_run": True},
        )

    async def place_order(self, order: OrderRequest) -> PlaceResult:
        self.place_calls += 1
        if self.gate is not None:
            await self.gate.wait()
        if self.fail_before:
            raise ConnectionError("connection reset before the broker read the order")
        if self.refuse is not None:
            raise self.refuse
        if order.client_order_id in self.orders:  # Alpaca refuses a repeated client id
            raise OrderRefused("rejected", "client_order_id must be unique")
        order_id = str(next(_ids))
        self.orders[order.client_order_id] = {
            "id": order_id,
            "account": order.account,
            "working": True,
        }
        if self.lose_answer:
            raise ConnectionError("connection reset after the broker took the order")
        return PlaceResult(order_id=order_id, status="Received", said={"id": order_id})

    async def preview_linked(self, group: LinkedOrder) -> PreviewResult:
        """A dry run of what fills first (as tastytrade's and Tradier's answer)."""
        self.linked_previews.append(group)
        return await self.preview_order(group.first)

    async def place_linked(self, group: LinkedOrder) -> PlaceResult:
        """The group kept as one order under its tag (members not kept apart)."""
        self.linked_placed.append(group)
        return await self.place_order(replace(group.first, client_order_id=group.client_order_id))

    async def find_order(self, account: str, client_order_id: str) -> PlaceResult | None:
        found = self.orders.get(client_order_id)
        if found is None or found["account"] != account:
            return None
        return PlaceResult(order_id=found["id"], status="Live", said={"found": True})

    async def replace_order(self, order_id: str, order: OrderRequest) -> PlaceResult:
        return await self.place_order(order)

    async def cancel_order(self, account: str, order_id: str) -> PlaceResult:
        if order_id in self.failing_cancels:
            raise OrderRefused("rejected", f"order {order_id} is not cancellable")
        for found in self.orders.values():
            if found["id"] == order_id and found["account"] == account:
                found["working"] = False
                self.cancel_calls.append(order_id)
                return PlaceResult(order_id=order_id, status="Cancel Requested")
        raise OrderRefused("not_found", f"No order {order_id}.")

    async def working_orders(self, account: str) -> list[str]:
        return [o["id"] for o in self.orders.values() if o["account"] == account and o["working"]]

    def add_working(self, account: str, client_order_id: str) -> str:
        order_id = str(next(_ids))
        self.orders[client_order_id] = {"id": order_id, "account": account, "working": True}
        return order_id


class FakeState:
    def __init__(self) -> None:
        self.quotes: dict[str, dict[str, Any]] = {}
        self.orders: OrderedDict[tuple[int, Any], dict[str, Any]] = OrderedDict()
        #: (broker, position) the user holds: what the owner resolves symbols against.
        self.holdings: list[tuple[str, dict[str, Any]]] = []

    def instrument_book(self) -> InstrumentBook:
        return InstrumentBook(self.holdings)


class FakeFeed:
    """The quote feed's freshness: a quote in the state is live unless named `stale`."""

    def __init__(self, state: FakeState) -> None:
        self.state = state
        self.stale: set[str] = set()

    def quote_live(self, symbol: str) -> bool:
        return symbol in self.state.quotes and symbol not in self.stale


class FakeOwner:
    """The owner's side a handler sees: the user's adapters by link, and the live state."""

    def __init__(
        self, user_id: int, adapters: dict[int, Any], brokers: dict[int, str] | None = None
    ) -> None:
        self.user_id = user_id
        self.adapters = adapters
        #: Each link's broker (tastytrade unless named): what the owner checks orders by.
        self.links = {
            link_id: LinkInfo(link_id, (brokers or {}).get(link_id, "tastytrade"), "", True)
            for link_id in adapters
        }
        self.state = FakeState()
        self.feed = FakeFeed(self.state)
        self.tabs: dict[str, list[str]] = {}

    async def wait_ready(self, within: float) -> bool:
        return True

    def set_tab_symbols(self, tab: str, symbols: Any, ttl: float = 0.0) -> list[str]:
        self.tabs[tab] = list(symbols)
        return []


def own_here(agents: Agents, monkeypatch: Any, owner: FakeOwner) -> None:
    """This process owns the user's stream: `agents.ask_owner` answers with the real
    handler, here (nothing else runs the stream, so holding it is a no-op)."""
    monkeypatch.setattr(agents, "get", lambda user_id: owner if user_id == owner.user_id else None)

    async def attach(user_id: int, holder: str, tab: Any = None) -> None:
        return None

    monkeypatch.setattr(agents, "attach", attach)
    monkeypatch.setattr(agents, "detach", lambda user_id, holder, grace=None: None)


assert isinstance(FakeBroker(), SupportsOrders)
