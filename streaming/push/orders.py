"""Fills and rejected orders as pushes: one of the stream's listeners, at the owner.

Per order event (`on_order`, no I/O) it finds the fills it has not seen and a status that
became `Rejected`, and queues them; its task writes each to the outbox (outbox.py) and wakes
the sender. The event ids are the browser's notification keys (`fill:<link>:<order
id>:<fill id>`, `rejected:<link>:<order id>`), unique in the outbox, so a new owner that
reads the same orders again after a failover writes nothing twice. Only what happened
within `RECENT` is pushed: an owner's first read of the day's orders is history, not news,
but a fill made while the owner was changing hands still is.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from channels.db import database_sync_to_async
from django.db import transaction

from streaming.brokers.orders.shape import Order
from streaming.brokers.values import decimal, quantity_text
from streaming.order_terms import leg_text
from streaming.push import outbox
from streaming.push.sender import PushSender
from streaming.stream.listener import QuietHooks, StreamHost

log = logging.getLogger(__name__)

#: How old a fill or a rejection may be and still be pushed (seconds).
RECENT = 600.0


def _number(value: Any) -> str:
    """A quantity or price exactly as the broker sent it (`0.25`, `0.123456789`)."""
    exact = decimal(value)
    return str(value) if exact is None else quantity_text(exact)


def legs_text(order: Order) -> str:
    """`Buy to Open 10 SPY`, the legs joined (each as the orders panel says it)."""
    return " / ".join(leg_text(leg) for leg in order.get("legs") or ()) or str(order.get("id", ""))


class OrderPushes(QuietHooks):
    """The fills and rejections of the user's orders, written to the outbox."""

    def __init__(self, user_id: int, push: PushSender, *, recent: float = RECENT) -> None:
        self.user_id = user_id
        #: The process's push sender, woken after each write.
        self.push = push
        self.recent = recent
        self._seen_fills: set[str] = set()
        self._rejected: set[str] = set()
        self._work: asyncio.Queue[dict[str, str]] = asyncio.Queue()
        self._manager: StreamHost | None = None
        self.handled = 0  # events taken from the queue (written, or found written)
        self.written = 0  # outbox rows written

    # -- the listener's hooks ---------------------------------------------------------------
    def attach(self, stream: StreamHost) -> None:
        self._manager = stream

    def on_order(self, link_id: int, account: str, order: Order) -> None:
        """Queue the order's new fills and its rejection (no I/O)."""
        now_ms = time.time() * 1000
        since = now_ms - self.recent * 1000
        order_id = str(order.get("id", ""))
        for leg in order.get("legs") or ():
            for fill in leg.get("fills") or ():
                event = f"fill:{link_id}:{order_id}:{fill.get('id')}"
                if event in self._seen_fills:
                    continue
                self._seen_fills.add(event)
                if (fill.get("at") or 0) < since:
                    continue  # history: filled before this owner could tell anyone
                price = fill.get("price")
                at = "" if price is None else f" at {_number(price)}"
                done = "Filled" if order.get("status") == "Filled" else "Partly filled"
                body = f"{leg.get('action', '')} {_number(fill.get('quantity'))} "
                body += f"{leg.get('display') or leg.get('symbol', '')}{at} ({account})"
                self._work.put_nowait(outbox.message(event, "fill", done, body, "/"))
        if order.get("status") == "Rejected":
            event = f"rejected:{link_id}:{order_id}"
            if event not in self._rejected:
                self._rejected.add(event)
                if (order.get("updated_at") or now_ms) >= since:
                    body = f"{legs_text(order)} ({account}) was rejected by the broker."
                    self._work.put_nowait(
                        outbox.message(event, "rejected", "Order rejected", body, "/")
                    )

    async def run(self) -> None:
        """Write what was queued, in order; wake the sender after each."""
        while True:
            said = await self._work.get()
            try:
                written = await database_sync_to_async(self._write)(said)
            except Exception:
                log.exception("user %s: %s not written to the outbox", self.user_id, said["id"])
                continue
            finally:
                self.handled += 1
            if written:  # nothing to send (no device, no e-mail, the kind off): no wake
                self.push.kick()

    def _write(self, said: dict[str, str]) -> int:
        with transaction.atomic():
            written = outbox.enqueue(self.user_id, said)
        self.written += written
        return written
