"""A working order keeps the user's stream watched with no page open (fills are pushed only
if a stream sees them): the owner's stream writes whether the user has one, from the real
SDK's orders at the sandbox, and the watch reads it with the user's notification settings
(docs/streaming-contract.md "Push and e-mail")."""

from __future__ import annotations

import asyncio

import pytest
from channels.db import database_sync_to_async
from django.contrib.auth import get_user_model

from accounts.notification_settings import notification_settings_update
from streaming.brokers.tastytrade.adapter import StreamConfig, TastytradeAdapter
from streaming.models import WorkingOrders
from streaming.push.working import WorkingOrdersMark, working_orders_set, working_watched_users
from streaming.stream.manager import LinkInfo, UserStreamManager
from streaming.stream.state import UserState
from tests.streaming.test_manager import Published
from tests.support.brokers import TASTYTRADE_FAST
from tests.support.order_entry import limit_buy
from tests.support.sdk import SECRET
from tests.support.wait import wait_until

pytestmark = pytest.mark.django_db(transaction=True)

#: How often the mark looks at the stream's orders here (the default is 5 s).
EVERY = 0.1


def working_of(user_id: int) -> bool | None:
    row = WorkingOrders.objects.filter(user_id=user_id).first()
    return None if row is None else row.working


async def test_the_stream_writes_whether_an_order_works_and_the_watch_reads_it(
    broker_at_sandbox, refresh_token
):
    user = await database_sync_to_async(get_user_model().objects.create_user)("wo", password="p")
    adapter = TastytradeAdapter(
        link_id=7,
        provider_secret=SECRET,
        refresh_token=refresh_token,
        config=StreamConfig(**TASTYTRADE_FAST),
    )
    mark = WorkingOrdersMark(user.id, every=EVERY)
    info = LinkInfo(7, "tastytrade", "sandbox link", simulated=True)
    manager = UserStreamManager(
        user.id, links=[(info, adapter)], publish=Published(), flush_interval=0.1, listeners=[mark]
    )
    read = database_sync_to_async(working_of)
    await manager.start()
    try:
        assert await manager.wait_ready(within=20)
        await wait_until(lambda: mark.written is False, what="no working order recorded")
        assert await read(user.id) is False
        account = next(iter(manager.state.accounts.values())).number
        placed = await adapter.place_order(limit_buy(account, client_order_id="sd-working-1"))
        await wait_until(lambda: mark.written is True, what="the working order recorded")
        assert await read(user.id) is True
        assert await database_sync_to_async(working_watched_users)() == {user.id}
        await adapter.cancel_order(account, placed.order_id)
        await wait_until(lambda: mark.written is False, what="the cancel recorded")
        assert await read(user.id) is False
    finally:
        await manager.stop()
    assert await database_sync_to_async(working_watched_users)() == set()


class Host:
    """The part of the stream a listener sees: orders, whether the accounts are in, owner."""

    def __init__(self, user_id: int, *, known: bool, owner: bool = True) -> None:
        self.user_id = user_id
        self.state = UserState([LinkInfo(3, "tradier", "t", simulated=True)])
        self.known = known
        self.owner = owner

    def accounts_known(self) -> bool:
        return self.known

    async def authorized(self) -> bool:
        return self.owner


async def test_none_is_written_only_once_every_account_is_in_and_only_by_the_owner():
    """Before the links' snapshots no order listed is not "none": a watched stream that just
    started must not release itself; a process that is not the owner writes nothing."""
    user = await database_sync_to_async(get_user_model().objects.create_user)("wn", password="p")
    await database_sync_to_async(working_orders_set)(user.id, True)
    host = Host(user.id, known=False)
    mark = WorkingOrdersMark(user.id)
    mark.attach(host)  # type: ignore[arg-type]
    assert await mark.check() is None
    assert await database_sync_to_async(working_of)(user.id) is True
    host.known, host.owner = True, False
    assert await mark.check() is None  # not the owner
    host.owner = True
    assert await mark.check() is False
    assert await database_sync_to_async(working_of)(user.id) is False
    order = {"id": "9", "status": "Live", "legs": []}
    host.state.apply_account_event("order", 3, "T1", order, now_ms=1)
    assert await mark.check() is True  # "working" needs no snapshot: it is seen


async def test_a_working_order_is_watched_only_while_its_fills_notify_somewhere():
    make = get_user_model().objects.create_user
    default, off, no_channel, email_only = [
        (await database_sync_to_async(make)(name, password="p")).id
        for name in ("wd", "woff", "wnone", "wmail")
    ]
    set_ = database_sync_to_async(notification_settings_update)
    await set_(user_id=off, changes={"fills": False})
    await set_(user_id=no_channel, changes={"push": False})
    await set_(user_id=email_only, changes={"push": False, "email": True})
    for user_id in (default, off, no_channel, email_only):
        await database_sync_to_async(working_orders_set)(user_id, True)
    assert await database_sync_to_async(working_watched_users)() == {default, email_only}


async def test_a_market_order_that_fills_within_the_settle_writes_nothing():
    """Looked at a settle after the order's events, not at each: a market order's
    Received → Filled is no change to write (one per event was 5 % of a busy daphne); an
    order still working after the settle is written."""
    user = await database_sync_to_async(get_user_model().objects.create_user)("wm", password="p")
    host = Host(user.id, known=True)
    mark = WorkingOrdersMark(user.id, every=60, settle=0.2)
    mark.attach(host)  # type: ignore[arg-type]
    assert await mark.check() is False and mark.writes == 1  # none, once the accounts are in
    task = asyncio.create_task(mark.run())
    try:
        looks = mark.looks
        for status in ("Received", "Filled"):  # a market order, within the settle
            order = {"id": "1", "status": status, "legs": []}
            host.state.apply_account_event("order", 3, "T1", order, now_ms=1)
            mark.on_order(3, "T1", order)
        # looked at once the settle passed (every= 60 s: this look is the order's)
        await wait_until(lambda: mark.looks > looks, within=0.2 + 5, what="the settled look")
        assert (mark.written, mark.writes) == (False, 1)  # nothing changed: nothing written
        order = {"id": "2", "status": "Live", "legs": []}  # a limit order that works
        host.state.apply_account_event("order", 3, "T1", order, now_ms=2)
        mark.on_order(3, "T1", order)
        await wait_until(lambda: mark.written is True, within=0.2 + 5, what="working written")
        assert mark.writes == 2
    finally:
        task.cancel()
    assert await database_sync_to_async(working_of)(user.id) is True
