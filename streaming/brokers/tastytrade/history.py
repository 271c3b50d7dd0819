"""tastytrade's order history: the SDK's `Account.get_order_history` (one page, newest
first, bounded by `end-at`), on a session of the link's own credentials
(brokers/orders/history.py cuts the page)."""

from __future__ import annotations

from tastytrade import Account

from streaming.brokers.orders.history import HISTORY_TIMEOUT, HistoryLink, utc
from streaming.brokers.orders.shape import Order
from streaming.brokers.tastytrade import client as tastytrade_client
from streaming.brokers.tastytrade.wire import order_payload as tastytrade_order


async def order_history(
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
        end_at = utc(before_ms + 1) if before_ms is not None else None
        placed = await acct.get_order_history(
            session, per_page=size, page_offset=0, sort="Desc", end_at=end_at
        )
    return [tastytrade_order(o) for o in placed], len(placed) < size
