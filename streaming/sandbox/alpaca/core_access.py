"""Every call the Alpaca endpoint modules (accounts, positions, orders, ...) make into the
core brokerage, in one place: the brokerage is moving from tastytrade wire dicts to typed
records, and that change should touch this module (and the façade's renderers) only.

Reads come back already rendered in Alpaca's shape (through `AlpacaSandbox.position` /
`.order`); writes publish the brokerage's `Order` event, so every stream (Alpaca trade
events included) hears of them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..core.brokerage import AccountEvent, OrderRejected
from .broker_api import AlpacaSandbox, order_uuid, parse_time

__all__ = [
    "AccountFacts",
    "OrderRejected",
    "account_facts",
    "cancel",
    "order",
    "orders",
    "place",
    "positions",
]


@dataclass(frozen=True)
class AccountFacts:
    opened_at: float
    margin: bool
    roth: bool


def account_facts(facade: AlpacaSandbox, number: str) -> AccountFacts:
    account = facade.sandbox.brokerage.account(number) or {}
    return AccountFacts(
        opened_at=parse_time(account.get("opened-at")) or 0.0,
        margin=account.get("margin-or-cash") == "Margin",
        roth="Roth" in str(account.get("account-type-name", "")),
    )


def positions(facade: AlpacaSandbox, number: str) -> list[dict[str, Any]]:
    """The open positions, rendered."""
    return [facade.position(p) for p in facade.sandbox.brokerage.positions(number)]


def orders(facade: AlpacaSandbox, number: str) -> list[dict[str, Any]]:
    """Working orders and those finished today, rendered."""
    return [facade.order(o) for o in facade.sandbox.brokerage.live_orders(number)]


def order(facade: AlpacaSandbox, number: str, oid: str) -> dict[str, Any] | None:
    """One of the account's orders by Alpaca id, rendered (None if unknown)."""
    ref = facade._order_ids.get(oid)
    if ref is None or ref[0] != number:
        return None
    o = facade.sandbox.brokerage.order(number, ref[1])
    return None if o is None else facade.order(o)


def place(
    facade: AlpacaSandbox,
    number: str,
    request: dict[str, Any],
    *,
    client_id: str | None = None,
    dry_run: bool = False,
    before_publish: Callable[[str], None] | None = None,
) -> str | None:
    """Place a brokerage request; the new order's Alpaca id (None for a dry run). Its
    client order id is known, and `before_publish(id)` has run, before the order is
    published (its `new` trade event comes after anything that hook reports).
    Raises OrderRejected as the brokerage does."""
    placed = facade.sandbox.brokerage.place_order(number, request, dry_run=dry_run)["order"]
    if dry_run:
        return None
    oid = order_uuid(number, placed["id"])
    facade._order_ids[oid] = (number, placed["id"])
    if client_id:
        facade._client_ids[oid] = client_id
    if before_publish is not None:
        before_publish(oid)
    facade.sandbox.publish([AccountEvent("Order", number, placed)])
    return oid


def cancel(facade: AlpacaSandbox, number: str, oid: str, *, quiet: bool = False) -> float:
    """Cancel a working order; when it was cancelled. `quiet`: no `canceled` trade event
    (the caller reports the order's end itself, e.g. as `replaced`)."""
    brokerage_id = facade._order_ids[oid][1]
    if quiet and (track := facade._tracks.get((number, brokerage_id))) is not None:
        track.status = "canceled"
    cancelled = facade.sandbox.brokerage.cancel_order(number, brokerage_id)
    facade.sandbox.publish([AccountEvent("Order", number, cancelled)])
    return parse_time(cancelled.get("updated-at")) or time.time()
