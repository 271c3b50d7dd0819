"""Pages of a user's orders: the stream's newest, then the brokers' own history.

`GET /api/orders` ("older…" on the dashboard, scripts) and the CSV exports read through
here (docs/streaming-contract.md, "Orders"). The snapshot holds the newest orders (the
bound of order_list.py) with their freshest state; every order at or above its window
floor is in it. A page that reaches below the floor asks the brokers of the accounts in
question for their history before the cursor, and merges: an order both list is the
stream's copy. A broker that fails is named in `incomplete` with a sentence, and the
pages go on with the others.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypedDict

from channels.db import database_sync_to_async

from streaming.brokers.catalog import order_history
from streaming.brokers.errors import describe
from streaming.brokers.orders.history import HistoryLink
from streaming.order_list import (
    Key,
    OrderQuery,
    format_cursor,
    newest_first,
    order_key,
    window_floor,
)

log = logging.getLogger(__name__)


class UnknownAccount(LookupError):
    """The account is not one of the user's: the message says so in a sentence."""


@dataclass
class UserLinks:
    """The user's enabled links (with secrets) and which accounts each holds."""

    links: list[HistoryLink]
    accounts: dict[str, HistoryLink] = field(default_factory=dict)

    def owns(self, account: str) -> bool:
        return account in self.accounts


class IncompleteLink(TypedDict):
    """A link whose order history could not be read, and the sentence saying so."""

    link: int
    broker: str
    label: str
    error: str


@dataclass
class OrdersPage:
    orders: list[dict[str, Any]]
    next: str | None
    #: Links whose history could not be read.
    incomplete: list[IncompleteLink]


def _load_links(user_id: int) -> list[tuple[HistoryLink, list[str]]]:
    from accounts.crypto import SecretsUnreadable
    from accounts.selectors import broker_link_credentials_get, broker_link_list

    loaded = []
    for link in broker_link_list(user_id=user_id):
        try:
            secrets = broker_link_credentials_get(link=link)
        except SecretsUnreadable:
            secrets = {}
        info = HistoryLink(link.id, link.broker, link.label, secrets, link.alpaca_api)
        loaded.append((info, [str(n) for n in link.account_numbers or []]))
    return loaded


async def user_links(user_id: int, snapshot: Mapping[str, Any]) -> UserLinks:
    """The user's links and accounts: those verified in the database and those the stream
    reports (both are the user's own; nobody else's ever reaches them)."""
    loaded = await database_sync_to_async(_load_links)(user_id)
    result = UserLinks([info for info, _ in loaded])
    by_id = {info.id: info for info in result.links}
    for info, numbers in loaded:
        for number in numbers:
            result.accounts[number] = info
    for acct in snapshot.get("accounts") or []:
        link = (
            by_id.get(acct["link"])
            if isinstance(acct, dict) and isinstance(acct.get("link"), int)
            else None
        )
        if link is not None:
            result.accounts.setdefault(str(acct["number"]), link)
    return result


def check_account(links: UserLinks, account: str | None) -> None:
    if account is not None and not links.owns(account):
        raise UnknownAccount(f"No account {account} is linked to you.")


async def orders_page(
    snapshot: Mapping[str, Any], links: UserLinks, query: OrderQuery
) -> OrdersPage:
    """One page of `query` (its account already checked: check_account)."""
    stream = [o for o in snapshot.get("orders") or [] if isinstance(o, dict) and "id" in o]
    brokers = {link.id: link.broker for link in links.links}
    floor = window_floor(stream)
    served = [o for o in newest_first(stream) if query.matches(o)]
    above = [o for o in served if floor is not None and order_key(o) >= floor]
    if len(above) >= query.limit:
        page = [{**o, "broker": brokers.get(o["link"], "")} for o in above[: query.limit]]
        return OrdersPage(page, format_cursor(order_key(page[-1])), [])
    wanted = sorted(
        (number, link)
        for number, link in links.accounts.items()
        if query.account is None or number == query.account
    )
    results = await asyncio.gather(
        *(
            order_history(link, number, before=query.before, size=query.limit)
            for number, link in wanted
        ),
        return_exceptions=True,
    )
    merged = {(o["link"], str(o["id"])): o for o in served}
    incomplete: list[IncompleteLink] = []
    horizon: Key | None = None  # below it some broker may hold orders not read yet
    failed: set[int] = set()
    for (_number, link), result in zip(wanted, results, strict=True):
        if isinstance(result, BaseException):
            if link.id not in failed:
                failed.add(link.id)
                reason = describe(result)
                log.warning(
                    "order history of link %s (%s) failed: %s",
                    link.id,
                    link.broker,
                    reason,
                    exc_info=result if reason.startswith("unexpected") else None,
                )
                incomplete.append(
                    {
                        "link": link.id,
                        "broker": link.broker,
                        "label": link.label,
                        "error": f"{link.label}: the order history could not be read ({reason})",
                    }
                )
            continue
        for order in result.orders:
            merged.setdefault((order["link"], str(order["id"])), order)
        if not result.complete and result.orders:
            oldest = order_key(result.orders[-1])
            horizon = oldest if horizon is None else max(horizon, oldest)
    ordered = [
        o
        for o in newest_first(merged.values())
        if query.matches(o) and (horizon is None or order_key(o) >= horizon)
    ]
    page = [
        {**o, "broker": brokers.get(o["link"], o.get("broker", ""))} for o in ordered[: query.limit]
    ]
    if len(page) == query.limit:
        cursor: str | None = format_cursor(order_key(page[-1]))
    elif horizon is not None:
        cursor = format_cursor(horizon)
    else:
        cursor = None
    return OrdersPage(page, cursor, incomplete)
