"""Alpaca trade events: brokerage `Order` events of Alpaca accounts become Alpaca trade
events (`new`, `partial_fill`, `fill`, `canceled`, `replaced`, `rejected`, `expired`),
kept per key for replay (`Customer.events`) and offered to the key's open streams: the
Broker API's SSE stream (`sse.py`) and the Trading API's `trade_updates` socket
(`trade_updates.py`). Each event's `order` is the one renderer's (`render.order`); a linked
order's parent (a bracket's or oto's entry, an oco's take-profit) carries its other members
in `legs`, as `nested=true` shows them.

Guesses (UNCONFIRMED at Alpaca) about what is reported, each a `SandboxConfig` switch
`alpaca_<name>` (settable at start or through `POST /_sandbox/config`; the stream's own
switches are listed in `sse.py`):

* `alpaca_event_retention`: how many events per key can be replayed.
* `alpaca_pending_new_event` (False): the brokerage's `Received` state is reported as
  `pending_new` (then `new` when live) instead of `new` at once.
* `alpaca_fill_price` ("execution"): a fill event's `price` is that execution's price; "average"
  sends the order's average fill price (the docs' single-fill examples cannot tell).
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sandbox.alpaca.customers import Customer, Customers, StoredEvent
from sandbox.alpaca.wire import (
    ZERO,
    MonotonicUlid,
    account_uuid,
    dec,
    execution_uuid,
    iso,
    iso_ns,
    s,
)
from sandbox.core.records import AccountEvent, OrderRecord
from sandbox.core.simulation import Simulation

__all__ = ["TradeEvents"]

_TERMINAL_EVENTS = ("canceled", "replaced", "rejected", "expired")


@dataclass
class _OrderTrack:
    """What was last reported for one brokerage order."""

    status: str
    filled: Decimal
    fills_seen: int


class TradeEvents:
    """Turns the brokerage's `Order` events of Alpaca accounts into stored trade events.

    `render_order(record, status)` is the façade's order renderer (with its notes and
    switches); `streams` maps a credential id to the listeners its events are offered to.
    """

    def __init__(
        self,
        sandbox: Simulation,
        customers: Customers,
        render_order: Callable[[OrderRecord, str | None], dict[str, Any]],
    ) -> None:
        self.sandbox = sandbox
        self.customers = customers
        self.render_order = render_order
        self.streams: dict[str, set[Any]] = {}
        self._tracks: dict[tuple[str, int], _OrderTrack] = {}
        self._ulids = MonotonicUlid()
        self._seq = itertools.count(1)
        sandbox.account_listeners.append(self.on_account_event)

    def option(self, name: str) -> Any:
        """The switch `SandboxConfig.alpaca_<name>` (settable through the control API)."""
        return getattr(self.sandbox.config, f"alpaca_{name}")

    def on_account_event(self, event: AccountEvent) -> None:
        """One brokerage event: for an Alpaca account's order, the trade events it implies
        (compared with what was last reported for that order)."""
        if event.kind != "Order":
            return
        customer = self.customers.owner_of(event.account_number)
        o = event.record
        if customer is None or not isinstance(o, OrderRecord) or o.id is None:
            return
        key = (event.account_number, o.id)
        track = self._tracks.get(key)
        now = o.updated_at or time.time()
        if track is None:
            track = _OrderTrack(status="", filled=ZERO, fills_seen=0)
            self._tracks[key] = track
        # a linked order's member `held` for its trigger is announced when it starts
        # working (UNCONFIRMED at Alpaca); until then its parent's events nest it
        if not track.status and ((o.working and o.status != "Contingent") or o.legs[0].fills):
            pending = self.option("pending_new_event") and o.status == "Received"
            status = "pending_new" if pending else "new"
            self.emit(customer, o.account_number, "new", self.render_order(o, status), now)
            track.status = status
        if o.status == "Live" and track.status == "pending_new":
            self.emit(customer, o.account_number, "new", self.render_order(o, "new"), now)
            track.status = "new"
        self._report_fills(customer, o, track, now)
        status = self.render_order(o, None)["status"]
        if status in _TERMINAL_EVENTS and track.status != status:
            self.emit(customer, o.account_number, status, self.render_order(o, None), now)
            track.status = status

    def _report_fills(
        self, customer: Customer, o: OrderRecord, track: _OrderTrack, now: float
    ) -> None:
        first = o.legs[0]
        ratio = first.quantity / o.size if o.size else Decimal(1)
        number = o.account_number
        for index, fill in enumerate(first.fills):
            if index < track.fills_seen:
                continue
            track.fills_seen = index + 1
            track.filled += fill.quantity
            final = track.filled >= first.quantity
            alpaca = self.render_order(o, None)
            if not final:  # a later fill of the same step may be in `o` already
                alpaca["status"] = "partially_filled"
                alpaca["filled_qty"] = s(track.filled / ratio)
                alpaca["filled_at"] = None
            price = fill.price
            if self.option("fill_price") == "average" and alpaca["filled_avg_price"]:
                price = dec(alpaca["filled_avg_price"])
            extra = {
                "price": s(price),
                "qty": s(fill.quantity / ratio),
                "position_qty": self._position_qty(number, first.symbol),
                "execution_id": execution_uuid(number, o.id, first.symbol, index),
            }
            event_name = "fill" if final else "partial_fill"
            self.emit(customer, number, event_name, alpaca, fill.filled_at or now, extra)
            track.status = alpaca["status"]

    def _position_qty(self, number: str, symbol: str) -> str:
        for p in self.sandbox.brokerage.positions(number):
            if p.symbol == symbol:
                return s(p.quantity)
        return "0"

    def emit(
        self,
        customer: Customer,
        number: str,
        name: str,
        order: dict[str, Any],
        timestamp: float,
        extra: dict[str, Any] | None = None,
    ) -> None:
        """Store one trade event for the customer and offer it to its open streams."""
        now = time.time()
        body = {
            "account_id": account_uuid(number),
            "at": iso(now),
            "event": name,
            "timestamp": iso_ns(timestamp),
            "order": order,
            **(extra or {}),
        }
        stored = StoredEvent(next(self._seq), self._ulids.new(now), now, body)
        customer.events.append(stored)
        retention = max(1, int(self.sandbox.config.alpaca_event_retention))
        while len(customer.events) > retention:
            customer.last_dropped = customer.events.popleft()
            customer.dropped += 1
        self.sandbox.counters["alpaca_events"] += 1
        for listener in list(self.streams.get(customer.cid, ())):
            listener.offer(stored)
