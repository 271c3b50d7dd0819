"""A page of past orders from a broker's own REST history, in the contract's order shape.

What the stream keeps is the newest orders only; older ones are the broker's record
(docs/streaming-contract.md, "Orders"). One call per (link, account), made where the
request is served, with the link's credentials, like the admin's verify: a person asked
for it ("older…", an export), so it is rare and bounded.

Each broker reads its own (`order_history` in tastytrade/history.py, tradier/history.py,
alpaca/history.py; the catalog names which serves a link); the page is cut here the same
way for all: each order carries `link`, `account` and `broker`, and its status in the
contract's vocabulary, exactly like the stream's (so the same order from either is the
same row), and the cursor is the contract's order key.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from streaming.brokers.orders.shape import Order
from streaming.brokers.values import order_status
from streaming.instruments.naming import name_order
from streaming.order_list import Key, newest_first, order_key

#: Seconds one history request may take (a person waits for it).
HISTORY_TIMEOUT = 10.0
#: Most orders asked of a broker at once (tastytrade's and Alpaca's page sizes allow it).
MAX_FETCH = 200


@dataclass(frozen=True)
class HistoryLink:
    """What a history request needs of a broker link (secrets included: never logged)."""

    id: int
    broker: str
    label: str
    secrets: Mapping[str, str]
    alpaca_api: str = "broker"

    def __repr__(self) -> str:  # never the secrets
        return f"HistoryLink(id={self.id}, broker={self.broker!r})"


@dataclass(frozen=True)
class HistoryPage:
    """A broker's orders before a time, newest first; `complete`: it has none older
    than the last of them (False: ask again before the last one's time)."""

    orders: list[dict[str, Any]]
    complete: bool


#: One broker's read of an account's history: (link, account, the cursor's time in ms or
#: None for the newest, at most how many) -> (orders newest first, whether none is older).
BrokerHistory = Callable[[HistoryLink, str, int | None, int], Awaitable[tuple[list[Order], bool]]]


async def history_page(
    read: BrokerHistory, link: HistoryLink, account: str, *, before: Key | None, size: int
) -> HistoryPage:
    """The page `read` (the link's broker's history) answers: at most `size` of the
    account's orders strictly older than the order key `before`
    (None: the newest), newest first by the time the broker received them — the order
    every broker lists its history in, so a page holds every order placed between its
    oldest and the cursor. The broker is asked by time (at or before the key's millisecond:
    many orders can share one); the key cuts exactly here. Raises the broker client's
    errors (errors.describe says them)."""
    size = max(1, min(size, MAX_FETCH))
    before_ms = before[0] if before is not None else None
    orders, complete = await read(link, account, before_ms, size)
    stamped = [
        {
            **name_order(o, link.broker),  # named as the stream names its orders
            "status": order_status(o.get("status")),
            "link": link.id,
            "account": account,
            "broker": link.broker,
        }
        for o in orders
    ]
    if before is not None:
        stamped = [o for o in stamped if order_key(o) < before]
    stamped = newest_first(stamped)
    return HistoryPage(stamped[:size], complete and len(stamped) <= size)


def utc(ms: int) -> dt.datetime:
    """An epoch-ms time as an aware UTC datetime (a broker's `end-at`, `until`)."""
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC)
