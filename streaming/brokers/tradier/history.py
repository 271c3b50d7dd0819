"""Tradier's order history: `GET /v1/accounts/{n}/orders?filter=all` (what Tradier keeps:
the last 31 days, in one answer), fills synthesized from the cumulative executed
quantity as the adapter does (brokers/orders/history.py cuts the page)."""

from __future__ import annotations

from typing import cast

from django.conf import settings

from streaming.brokers.orders.history import HISTORY_TIMEOUT, HistoryLink
from streaming.brokers.orders.shape import Order
from streaming.brokers.tradier import client as tradier_client
from streaming.brokers.tradier.fills import FillBook
from streaming.brokers.tradier.payloads import TradierOrder
from streaming.brokers.tradier.wire import order_payloads as tradier_orders


async def order_history(
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
    # the edge: Tradier's JSON objects as the orders they are
    orders = [
        o for r in rows if isinstance(r, dict) for o in tradier_orders(cast(TradierOrder, r), book)
    ]
    return orders, True
