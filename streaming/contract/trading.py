"""Order entry in the contract (docs/streaming-contract.md "Trading"): one step's call to
the owner of the user's stream, and its answer."""

from __future__ import annotations

from typing import Any, Literal, NotRequired, TypedDict

from streaming.contract.layer import OwnerCall

#: An order-entry step: those that send an order (with its quote band and second factor)…
EntryStep = Literal["preview", "place", "replace"]
#: …and those that manage what the broker holds (no quote, no band).
ManageStep = Literal["cancel", "working", "cancel_all", "find"]
OrderStep = EntryStep | ManageStep


class _OrderCallBase(OwnerCall):
    link: int
    account: NotRequired[str | None]
    accounts: NotRequired[list[str]]


class EntryCall(_OrderCallBase):
    """Preview, place or replace one order (or a linked group): `order` is the contract's
    order JSON as previewed; `client_order_id` tags a place; `quote` is the preview's (the
    band); `order_id`: the order a replace replaces; `reconcile`: the ticket was claimed
    before, so the broker is asked first."""

    op: EntryStep
    order: dict[str, Any]
    client_order_id: NotRequired[str]
    quote: NotRequired[dict[str, Any] | None]
    order_id: NotRequired[str]
    reconcile: NotRequired[bool]


class CancelCall(_OrderCallBase):
    """Cancel one order (`account` None: the stream's, else the link's only one)."""

    op: Literal["cancel"]
    order_id: str


class CancelAllCall(_OrderCallBase):
    """Cancel every working order of `accounts`."""

    op: Literal["cancel_all"]


class WorkingCall(_OrderCallBase):
    """The ids of `account`'s working orders."""

    op: Literal["working"]


class FindCall(_OrderCallBase):
    """What the broker holds under a client order id (a ticket's reconcile)."""

    op: Literal["find"]
    client_order_id: str


#: `ToOwner.ORDER_REQUEST`: one order-entry step at the owner (streaming/trading/owner.py),
#: a request kind per step, answered with an `OrderReply`.
OrderCall = EntryCall | CancelCall | CancelAllCall | WorkingCall | FindCall


class OrderReply(TypedDict):
    """The owner's answer to an `OrderCall`: `status` (HTTP), `text` (the JSON body)."""

    type: str
    status: int
    text: str
