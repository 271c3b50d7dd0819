"""Price alerts in a real stream manager: the sandbox's quotes (real DXLink) cross levels,
the store (the real database) decides, and each crossing becomes one numbered, logged
`alert` frame; a restart neither fires a crossing again nor loses a committed trigger."""

from __future__ import annotations

import asyncio

import orjson
import pytest
from channels.db import database_sync_to_async
from django.contrib.auth import get_user_model

from streaming.alerts import store as alert_store
from streaming.alerts.runner import AlertRunner
from streaming.alerts.store import AlertStore
from streaming.brokers.tastytrade.adapter import StreamConfig, TastytradeAdapter
from streaming.cluster.eventlog import LocalEventLog
from streaming.contract.frames import ACCOUNT_FRAME_TYPES
from streaming.models import Alert, AlertTrigger
from streaming.push.sender import PushSender
from streaming.stream.manager import LinkInfo, UserStreamManager
from streaming.stream.position import Position
from tests.streaming.test_manager import Published
from tests.support.sdk import SECRET
from tests.support.wait import wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def manager_for(user_id, refresh_token, published, event_log) -> UserStreamManager:
    adapter = TastytradeAdapter(
        link_id=7,
        provider_secret=SECRET,
        refresh_token=refresh_token,
        config=StreamConfig(watchdog_timeout=5, backoff_base=0.1, backoff_cap=0.5),
    )
    info = LinkInfo(7, "tastytrade", "sandbox link", simulated=True)
    return UserStreamManager(
        user_id,
        links=[(info, adapter)],
        publish=published,
        flush_interval=0.1,
        event_log=event_log,
        listeners=[AlertRunner(AlertStore(user_id, PushSender()))],
    )


def last_price(manager, symbol):
    return (manager.state.quotes.get(symbol) or {}).get("last")


def near(manager, symbol, price):
    """The stream's last trade is at the jump (the walk may have traded a cent or two on)."""
    last = last_price(manager, symbol)
    return last is not None and abs(last - price) < price * 0.005


async def test_crossings_fire_once_each_as_numbered_frames_and_survive_a_restart(
    broker_at_sandbox, control, refresh_token
):
    user = await database_sync_to_async(get_user_model().objects.create_user)("al", password="pw")
    control.set_price("NFLX", 100)
    once = await database_sync_to_async(Alert.objects.create)(
        user=user, symbol="NFLX", condition="above", level=150
    )
    again = await database_sync_to_async(Alert.objects.create)(
        user=user, symbol="NFLX", condition="below", level=90, rearm=True
    )
    log = LocalEventLog(100)
    published = Published()
    manager = manager_for(user.id, refresh_token, published, log)
    await manager.start()

    async def jump(price: float) -> None:
        control.set_price("NFLX", price)
        await wait_until(lambda: near(manager, "NFLX", price), what=f"NFLX at {price}")
        await asyncio.sleep(0.3)  # the background write, and any second frame, would be here

    def alerts():
        return published.of("alert")

    try:
        await manager.listener(AlertRunner).loaded.wait()
        assert "NFLX" in manager.wanted_symbols()  # no tab wants it: the alert does
        await wait_until(lambda: near(manager, "NFLX", 100))
        await jump(160)
        await wait_until(lambda: len(alerts()) == 1)
        await jump(170)  # still above: nothing
        await jump(80)
        await wait_until(lambda: len(alerts()) == 2)
        await jump(100)  # back across: the re-arming alert arms again
        await wait_until(lambda: manager.snapshot()["alerts"][0]["armed"])
        await jump(85)
        await wait_until(lambda: len(alerts()) == 3)
        snapshot = manager.snapshot()
    finally:
        await manager.stop()
    first, second, third = (f["alert"] for f in alerts())
    assert first["message"] == f"NFLX rose to {first['price']:.2f}, above 150.00"
    assert (first["alert_id"], second["alert_id"], third["alert_id"]) == (
        once.id,
        again.id,
        again.id,
    )
    assert [round(second["price"]), round(third["price"])] == [80, 85]
    assert {f["account"] for f in alerts()} == {""} and {f["link"] for f in alerts()} == {0}
    seqs = [f["seq"] for f in published.frames if f["type"] in ACCOUNT_FRAME_TYPES]
    assert seqs == list(range(1, len(seqs) + 1))  # one numbering with the account frames
    logged = [
        orjson.loads(text) for text in await log.since(user.id, Position(alerts()[0]["epoch"], 0))
    ]
    assert [f["alert"]["id"] for f in logged if f["type"] == "alert"] == [
        first["id"],
        second["id"],
        third["id"],
    ]
    assert [t["id"] for t in snapshot["alert_triggers"]] == [third["id"], second["id"], first["id"]]
    assert [a["id"] for a in snapshot["alerts"]] == [again.id]  # the once alert is done
    rows = await database_sync_to_async(
        lambda: list(AlertTrigger.objects.order_by("id").values_list("crossing", "delivered"))
    )()
    assert rows == [(1, True), (1, True), (2, True)]

    # restarted: the price is still beyond the level, so nothing fires again; a trigger
    # committed while no manager ran (its owner died before logging it) is sent at start
    gap = await database_sync_to_async(Alert.objects.create)(
        user=user, symbol="NFLX", condition="above", level=10
    )
    lost = await database_sync_to_async(alert_store.alert_fire)(
        gap.id, 85.0, 1_800_000_000_000, None
    )
    published2 = Published()
    manager = manager_for(user.id, refresh_token, published2, log)
    await manager.start()
    try:
        await wait_until(lambda: published2.of("alert"), what="the undelivered trigger")
        await wait_until(lambda: last_price(manager, "NFLX") is not None)
        await asyncio.sleep(1.0)  # quotes beyond the level keep coming: no second trigger
    finally:
        await manager.stop()
    assert [f["alert"] for f in published2.of("alert")] == [lost]
    count = await database_sync_to_async(AlertTrigger.objects.count)()
    assert count == 4


class FlakyStore(AlertStore):
    """The real store, whose first trigger write fails (the database went away)."""

    def __init__(self, user_id: int) -> None:
        super().__init__(user_id, PushSender())
        self.failures = 1

    async def fire(self, alert_id, price, at_ms, pct):
        if self.failures:
            self.failures -= 1
            raise OSError("connection to the database lost")
        return await super().fire(alert_id, price, at_ms, pct)


async def test_a_trigger_whose_write_failed_fires_once_after_the_database_is_back(monkeypatch):
    monkeypatch.setattr("streaming.alerts.runner.RETRY_FIRST", 0.05)
    user = await database_sync_to_async(get_user_model().objects.create_user)("al2", password="p")
    await database_sync_to_async(Alert.objects.create)(
        user=user, symbol="NFLX", condition="above", level=150
    )
    published = Published()
    store = FlakyStore(user.id)
    manager = UserStreamManager(
        user.id, links=[], publish=published, listeners=[AlertRunner(store)]
    )
    await manager.start()
    try:
        await manager.listener(AlertRunner).loaded.wait()
        manager.quote("NFLX", {"last": 160.0})
        await wait_until(lambda: store.failures == 0)
        # the book reads the alert again (still armed in the store): the next quote fires it
        await wait_until(lambda: all(r.armed for r in manager.listener(AlertRunner).book.rules()))
        manager.quote("NFLX", {"last": 161.0})
        await wait_until(lambda: published.of("alert"))
        manager.quote("NFLX", {"last": 162.0})
        await asyncio.sleep(0.3)
    finally:
        await manager.stop()
    assert [f["alert"]["price"] for f in published.of("alert")] == [161.0]
    assert await database_sync_to_async(AlertTrigger.objects.count)() == 1
