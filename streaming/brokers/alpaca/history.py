"""Alpaca's order history: `GET …/orders?status=all&direction=desc&until=` (Broker or
Trading API, by the link's mode), one fill per order for what filled, at the average
price, with the adapter's fill id (brokers/orders/history.py cuts the page)."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from django.conf import settings

from streaming.brokers.alpaca import client as alpaca_client
from streaming.brokers.alpaca.client import alpaca_trading_url
from streaming.brokers.alpaca.payloads import AlpacaOrder
from streaming.brokers.alpaca.wire import linked_members
from streaming.brokers.alpaca.wire import order_payload as alpaca_order
from streaming.brokers.orders.history import HISTORY_TIMEOUT, HistoryLink, utc
from streaming.brokers.orders.shape import Fill, Group, Order
from streaming.brokers.values import decimal, num, quantity_text, time_ms


async def order_history(
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
        until = utc(before_ms + 1).isoformat() if before_ms is not None else None
        raw = await client.orders(
            account_id, status="all", direction="desc", limit=size, until=until, nested="true"
        )
    rows = [o for o in raw or [] if isinstance(o, dict) and o.get("id")]
    orders = []
    for row in rows:  # a linked order (nested): each member is an order of its own
        members: list[tuple[AlpacaOrder, Group | None]] = [*linked_members(row)]
        members = members or [(row, None)]
        orders += [alpaca_order(o, _alpaca_fills(o), group=group) for o, group in members]
    return orders, len(rows) < size


def _alpaca_fills(order: Mapping[str, object]) -> list[Fill]:
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
