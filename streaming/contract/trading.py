"""Order entry in the contract (docs/streaming-contract.md "Trading"): one step's call to
the owner of the user's stream, and its answer."""

from __future__ import annotations

from typing import Any, NotRequired, TypedDict

from streaming.contract.layer import OwnerCall


class OrderCall(OwnerCall):
    """`ToOwner.ORDER_REQUEST`: one order-entry step at the owner (streaming/trading/
    owner.py), answered with an `OrderReply`. `order` is the contract's order JSON as
    previewed; `client_order_id` tags a place; `quote` is the preview's (the band);
    `reconcile`: the ticket was claimed before, so the broker is asked first."""

    op: str
    link: int
    account: NotRequired[str | None]
    accounts: NotRequired[list[str]]
    order: NotRequired[dict[str, Any]]
    order_id: NotRequired[str]
    client_order_id: NotRequired[str]
    quote: NotRequired[dict[str, Any] | None]
    reconcile: NotRequired[bool]


class OrderReply(TypedDict):
    """The owner's answer to an `OrderCall`: `status` (HTTP), `text` (the JSON body)."""

    type: str
    status: int
    text: str
