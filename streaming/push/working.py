"""Whether a user has a working order, kept in the database for the watch: one of the
stream's listeners, at the owner (docs/streaming-contract.md "Push and e-mail").

A fill is pushed only if a stream sees it, so a user with a working order (and fill
notifications on) has their stream watched with no page open. The broker's orders are
known only to a running stream: this listener writes `WorkingOrders.working` when what the
stream holds says otherwise: `ORDER_SETTLE` seconds after an order event, and every
`CHECK_EVERY` seconds. Not at the event itself: a market order works for milliseconds, and
a write per order event (two per market order) was 5 % of a busy daphne's CPU in
bench.cluster's profile; after the settle it has filled, and nothing changed. Soon after
the event all the same: the page that placed the order may close at once, and the stream
then runs only the idle grace.
"Working" is written at the first look that sees it; "none" only once every link's
account snapshot is in (`accounts_known`: before it, no order listed is not "no order"), so
a watched stream that just started does not release itself before it has read the orders.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable

from channels.db import database_sync_to_async

from streaming.brokers.orders.shape import Order
from streaming.order_list import status_group
from streaming.stream.listener import QuietHooks, StreamHost

log = logging.getLogger(__name__)

#: How often the stream's orders are looked at without an order event (seconds): the
#: account snapshots coming in, an order leaving the state's bound.
CHECK_EVERY = 5.0
#: How long after an order event its orders are looked at (a market order has filled).
ORDER_SETTLE = 1.0


def working_orders_set(user_id: int, working: bool) -> None:
    from streaming.models import WorkingOrders

    WorkingOrders.objects.update_or_create(user_id=user_id, defaults={"working": working})


def working_watched_users() -> set[int]:
    """The users with a working order whose fills notify on a channel: `fills` on and
    `push` or `email` on (the defaults, for a user without settings, are all three on)."""
    from accounts.models import NotificationSettings
    from streaming.models import WorkingOrders

    users = set(WorkingOrders.objects.filter(working=True).values_list("user_id", flat=True))
    if not users:
        return set()
    keys = ("fills", "push", "email")
    for user_id, fills, push, email in NotificationSettings.objects.filter(
        user_id__in=users
    ).values_list("user_id", *keys):
        if not (fills and (push or email)):
            users.discard(user_id)
    return users  # a user without settings has the defaults: watched


def has_working(orders: Iterable[Order]) -> bool:
    """Whether any of the state's orders can still change."""
    return any(status_group(order.get("status")) == "working" for order in orders)


class WorkingOrdersMark(QuietHooks):
    """Writes whether the user has a working order when that changes."""

    def __init__(
        self, user_id: int, *, every: float = CHECK_EVERY, settle: float = ORDER_SETTLE
    ) -> None:
        self.user_id = user_id
        self.every = every
        self.settle = settle
        self._manager: StreamHost | None = None
        self._order_seen = asyncio.Event()
        #: What this process last wrote (None: nothing yet); its looks and its writes.
        self.written: bool | None = None
        self.looks = 0
        self.writes = 0

    # -- the listener's hooks ---------------------------------------------------------------
    def attach(self, stream: StreamHost) -> None:
        self._manager = stream

    def on_order(self, link_id: int, account: str, order: Order) -> None:
        self._order_seen.set()

    # -- the task ---------------------------------------------------------------------------
    async def run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.every):
                    await self._order_seen.wait()
            if self._order_seen.is_set():
                await asyncio.sleep(self.settle)  # the events of that second, looked at once
                self._order_seen.clear()
            try:
                await self.check()
            except Exception as exc:  # the database away: the next look writes it
                log.warning("user %s: working orders not recorded (%s)", self.user_id, exc)

    async def check(self) -> bool | None:
        """Write what the stream's orders say if it changed and this process owns the
        stream; what is written now (None: nothing known yet)."""
        manager = self._manager
        assert manager is not None, "attached when the manager is built"
        self.looks += 1
        working = has_working(manager.state.orders.values())
        if working == self.written:
            return working
        if not working and not manager.accounts_known():
            return self.written
        if not await manager.authorized():
            return self.written
        await database_sync_to_async(working_orders_set)(self.user_id, working)
        self.written = working
        self.writes += 1
        return working
