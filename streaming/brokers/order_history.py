"""Past orders from a broker's own REST history, in the contract's order shape.

What the stream keeps is the newest orders only; older ones are the broker's record
(docs/streaming-contract.md, "Orders"). One call per (link, account), made where the
request is served, with the link's credentials, like the admin's verify: a person asked
for it ("older…", an export), so it is rare and bounded.

- tastytrade: `Account.get_order_history` of the SDK (one page, newest first, `end-at`).
- Tradier: `GET /v1/accounts/{n}/orders?filter=all` (what Tradier keeps: the last 31
  days), fills synthesized from the cumulative executed quantity as the adapter does.
- Alpaca: `GET …/orders?status=all&direction=desc&until=` (Broker or Trading API), one
  fill per order for what filled, at the average price, with the adapter's fill id.

Each order carries `link`, `account` and `broker`, and its status in the contract's
vocabulary, exactly like the stream's (so the same order from either is the same row).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from tastytrade import Account

from streaming.brokers.alpaca import client as alpaca_client
from streaming.brokers.alpaca.wire import linked_members
from streaming.brokers.alpaca.wire import order_payload as alpaca_order
from streaming.brokers.catalog import alpaca_trading_url
from streaming.brokers.orders.shape import Fill, Group, Order
from streaming.brokers.tastytrade import client as tastytrade_client
from streaming.brokers.tastytrade.wire import order_payload as tastytrade_order
from streaming.brokers.tradier import client as tradier_client
from streaming.brokers.tradier.fills import FillBook
from streaming.brokers.tradier.wire import order_payloads as tradier_orders
from streaming.brokers.values import decimal, num, order_status, quantity_text, time_ms
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


async def order_history(
    link: HistoryLink, account: str, *, before: Key | None, size: int
) -> HistoryPage:
    """At most `size` of the account's orders strictly older than the order key `before`
    (None: the newest), newest first by the time the broker received them — the order
    every broker lists its history in, so a page holds every order placed between its
    oldest and the cursor. The broker is asked by time (at or before the key's millisecond:
    many orders can share one); the key cuts exactly here. Raises the broker client's
    errors (errors.describe says them)."""
    size = max(1, min(size, MAX_FETCH))
    before_ms = before[0] if before is not None else None
    if link.broker == "tastytrade":
        orders, complete = await _tastytrade(link, account, before_ms, size)
    elif link.broker == "tradier":
        orders, complete = await _tradier(link, account, before_ms, size)
    elif link.broker == "alpaca":
        orders, complete = await _alpaca(link, account, before_ms, size)
    else:
        raise ValueError(f"no order history for broker {link.broker!r}")
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


def _utc(ms: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC)


async def _tastytrade(
    link: HistoryLink, account: str, before_ms: int | None, size: int
) -> tuple[list[Order], bool]:
    session = tastytrade_client.make_session(
        link.secrets.get("provider_secret", ""),
        link.secrets.get("refresh_token", ""),
        timeout=HISTORY_TIMEOUT,
    )
    async with session:
        acct = await Account.get(session, account)
        # `end-at` bounds the time an order was received: the key's time
        end_at = _utc(before_ms + 1) if before_ms is not None else None
        placed = await acct.get_order_history(
            session, per_page=size, page_offset=0, sort="Desc", end_at=end_at
        )
    return [tastytrade_order(o) for o in placed], len(placed) < size


async def _tradier(
    link: HistoryLink, account: str, before_ms: int | None, size: int
) -> tuple[list[Order], bool]:
    async with tradier_client.TradierClient(
        access_token=link.secrets.get("access_token", ""),
        api_url=settings.TRADIER_API_URL,
        timeout=HISTORY_TIMEOUT,
        max_retries=0,
    ) as client:
        body = await client.get(
            f"/v1/accounts/{account}/orders", {"filter": "all", "includeTags": "true"}
        )
    wrapper = (body or {}).get("orders") if isinstance(body, dict) else None
    rows = tradier_client.as_list(wrapper.get("order") if isinstance(wrapper, dict) else None)
    book = FillBook()
    # everything Tradier keeps came in one answer: complete once cut to `size`
    orders = [o for r in rows if isinstance(r, dict) for o in tradier_orders(r, book)]
    return orders, True


async def _alpaca(
    link: HistoryLink, account: str, before_ms: int | None, size: int
) -> tuple[list[Order], bool]:
    key_id = link.secrets.get("key_id", "")
    secret_key = link.secrets.get("secret_key", "")
    trading_url = alpaca_trading_url(link.alpaca_api)
    client: alpaca_client.AlpacaClient
    if trading_url:
        client = alpaca_client.AlpacaTradingClient(
            key_id=key_id,
            secret_key=secret_key,
            api_url=trading_url,
            timeout=HISTORY_TIMEOUT,
            max_retries=0,
        )
    else:
        client = alpaca_client.AlpacaClient(
            key_id=key_id,
            secret_key=secret_key,
            api_url=settings.ALPACA_API_URL,
            timeout=HISTORY_TIMEOUT,
            max_retries=0,
        )
    async with client:
        account_id = ""
        if not trading_url:  # the Broker API names accounts by id in its paths
            listed = await client.get("/v1/accounts", {"query": account})
            found = [a for a in listed or [] if str(a.get("account_number")) == account]
            if not found:
                raise ValueError(f"Alpaca does not list account {account} for this key")
            account_id = str(found[0]["id"])
        # `until` bounds the submission time: the key's time (Alpaca's `submitted_at`)
        until = _utc(before_ms + 1).isoformat() if before_ms is not None else None
        raw = await client.orders(
            account_id, status="all", direction="desc", limit=size, until=until, nested="true"
        )
    rows = [o for o in raw or [] if isinstance(o, dict) and o.get("id")]
    orders = []
    for row in rows:  # a linked order (nested): each member is an order of its own
        members: list[tuple[dict[str, Any], Group | None]] = [*linked_members(row)]
        members = members or [(row, None)]
        orders += [alpaca_order(o, _alpaca_fills(o), group=group) for o, group in members]
    return orders, len(rows) < size


def _alpaca_fills(order: dict[str, Any]) -> list[Fill]:
    """What filled, as one fill at the average price: the adapter's baseline row (same
    id, `<order id>:<filled quantity>`), so the stream's copy and this one agree."""
    filled = decimal(order.get("filled_qty")) or Decimal(0)
    if filled <= 0:
        return []
    return [
        {
            "id": f"{order['id']}:{quantity_text(filled)}",
            "quantity": num(filled),
            "price": num(decimal(order.get("filled_avg_price"))),
            "at": time_ms(order.get("filled_at")) or time_ms(order.get("updated_at")),
        }
    ]
