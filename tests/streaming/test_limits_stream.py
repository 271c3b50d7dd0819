"""Portfolio limits in a real stream manager: the sandbox's account (real SDK, real
DXLink quotes) moves the day P&L and the β-weighted delta, the store (the real database)
decides, and each crossing becomes one numbered, logged `limit` frame; a restart while
the value stays outside sends nothing again, and a breach committed but never logged is
sent at start."""

from __future__ import annotations

import asyncio

import pytest
from channels.db import database_sync_to_async
from django.contrib.auth import get_user_model

from streaming.brokers.tastytrade.adapter import StreamConfig, TastytradeAdapter
from streaming.cluster.eventlog import LocalEventLog
from streaming.contract.frames import ACCOUNT_FRAME_TYPES
from streaming.models import LimitBreach, LimitState
from streaming.push.sender import PushSender
from streaming.risk.limits import store as limits_store
from streaming.risk.limits.rules import BETA_DELTA_ABOVE, DAILY_LOSS, trading_day
from streaming.risk.limits.runner import LimitRunner, portfolio_values
from streaming.risk.limits.store import LimitStore
from streaming.stream.manager import LinkInfo, UserStreamManager
from tests.streaming.test_manager import Published
from tests.support.sdk import SECRET
from tests.support.wait import wait_until

pytestmark = pytest.mark.django_db(transaction=True)

#: Evaluations at most this often (the setting's default is 0.5 s).
INTERVAL = 0.2
#: The daily loss limit: far below the demo portfolio's usual day P&L (a few hundred
#: dollars either way), far above what AAPL at $1 costs its 50 shares.
LOSS_LIMIT = 3000.0


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
        listeners=[LimitRunner(LimitStore(user_id, PushSender()), INTERVAL)],
    )


def values(manager: UserStreamManager):
    runner = manager.listener(LimitRunner)
    return portfolio_values(runner.manager.state.portfolio(), 1_800_000_000_000)


async def save(manager: UserStreamManager, user_id: int, **limits) -> None:
    await database_sync_to_async(limits_store.limits_save)(user_id, limits)
    manager.user_changed("limits")  # what `limits.changed` does at the owner


async def test_a_daily_loss_crossing_is_one_frame_and_a_restart_sends_nothing_again(
    broker_at_sandbox, control, refresh_token
):
    user = await database_sync_to_async(get_user_model().objects.create_user)("li", password="p")
    log = LocalEventLog(100)
    published = Published()
    manager = manager_for(user.id, refresh_token, published, log)
    await manager.start()
    runner = manager.listener(LimitRunner)
    try:
        await runner.loaded.wait()
        await wait_until(lambda: values(manager).day_pnl is not None, what="a whole day P&L")
        assert values(manager).beta_delta is None  # no metrics on this stream: not evaluated
        assert values(manager).day_pnl > -LOSS_LIMIT
        held = manager.state.position_symbols()
        assert held and not held & manager.wanted_symbols()  # no page, no limit: not streamed
        assert runner.evaluations == 0  # nothing set: the portfolio is not even computed
        await save(manager, user.id, daily_loss=LOSS_LIMIT)
        # a limit set: the positions' quotes stream though no page shows them
        await wait_until(lambda: held <= manager.wanted_symbols(), what="the positions streamed")
        control.set_price("AAPL", 1.0)
        await wait_until(lambda: published.of("limit"), what="the daily loss crossing")
        before = runner.evaluations
        await wait_until(lambda: runner.evaluations >= before + 5, what="more evaluations")
    finally:
        await manager.stop()
    (frame,) = published.of("limit")
    breach = frame["limit"]
    assert (breach["kind"], breach["limit"]) == (DAILY_LOSS, LOSS_LIMIT)
    assert breach["value"] <= -LOSS_LIMIT
    assert breach["message"].startswith("Day P&L -")
    assert (frame["account"], frame["link"]) == ("", 0)
    seqs = [f["seq"] for f in published.frames if f["type"] in ACCOUNT_FRAME_TYPES]
    assert seqs == list(range(1, len(seqs) + 1))  # one numbering with the account frames
    rows = await database_sync_to_async(
        lambda: list(LimitBreach.objects.values_list("kind", "crossing", "delivered"))
    )()
    assert rows == [(DAILY_LOSS, 1, True)]

    # restarted while the loss stays past the limit: nothing again; a breach committed
    # while no manager ran (its owner died before logging it) is sent at start
    await database_sync_to_async(limits_store.limits_save)(user.id, {"beta_delta_max": 5.0})
    lost = await database_sync_to_async(limits_store.limit_fire)(
        user.id, BETA_DELTA_ABOVE, 9.5, 5.0, 1_800_000_000_000, trading_day(1_800_000_000_000)
    )
    published2 = Published()
    manager = manager_for(user.id, refresh_token, published2, log)
    await manager.start()
    runner = manager.listener(LimitRunner)
    try:
        await wait_until(lambda: published2.of("limit"), what="the undelivered breach")
        await wait_until(lambda: values(manager).day_pnl is not None)
        assert values(manager).day_pnl <= -LOSS_LIMIT
        before = runner.evaluations
        await wait_until(lambda: runner.evaluations >= before + 5, what="more evaluations")
    finally:
        await manager.stop()
    assert [f["limit"] for f in published2.of("limit")] == [lost]
    assert await database_sync_to_async(LimitBreach.objects.count)() == 2


async def test_the_beta_weighted_delta_band_crosses_once_and_rearms_inside(
    broker_at_sandbox, control, refresh_token
):
    """With β known (the snapshot's `metrics`, put into the state here: the metrics
    engineer's stream fills it), the band is evaluated on the live positions."""
    user = await database_sync_to_async(get_user_model().objects.create_user)("lb", password="p")
    published = Published()
    manager = manager_for(user.id, refresh_token, published, LocalEventLog(100))
    await manager.start()
    runner = manager.listener(LimitRunner)
    try:
        await runner.loaded.wait()
        await asyncio.wait_for(manager.ready.wait(), 15)  # every account's positions
        underlyings = {
            p.get("underlying") or p["symbol"]
            for a in manager.state.accounts.values()
            for p in a.positions.values()
        }
        manager.state.metrics = {u: {"beta": 1.0} for u in underlyings | {"SPY"}}
        manager.set_tab_symbols("tab", sorted(underlyings), 60.0)  # an option's underlying
        await wait_until(
            lambda: values(manager).beta_delta is not None,
            what="a whole β-weighted delta",
        )
        now = values(manager).beta_delta
        # the band's top 5 SPY shares under the portfolio (AAPL's 50 shares are ~20 of it):
        # crossed as soon as it is saved
        await save(manager, user.id, beta_delta_max=round(now - 5))
        await wait_until(lambda: published.of("limit"), what="the band's crossing")
        await asyncio.sleep(INTERVAL * 3)  # evaluations while outside: nothing more
        assert len(published.of("limit")) == 1
        control.set_price("AAPL", 1.0)  # 50 AAPL shares worth ~nothing: back inside
        armed = LimitState.objects.filter(user=user, kind=BETA_DELTA_ABOVE, armed=True)
        for _ in range(100):  # the re-arm is written by the runner's task: up to 10 s
            if await database_sync_to_async(armed.exists)():
                break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError("the band was not re-armed in the database within 10 s")
    finally:
        await manager.stop()
    (frame,) = published.of("limit")
    assert frame["limit"]["kind"] == BETA_DELTA_ABOVE
    assert frame["limit"]["limit"] == round(now - 5)
    assert frame["limit"]["value"] > frame["limit"]["limit"]


async def test_a_starting_stream_lists_the_recent_breaches_in_its_snapshot_once_each():
    """A tab that resyncs from a snapshot learns of a breach it never got as a frame: the
    stream lists the stored ones from its start, newest first, also one a previous owner
    committed but did not log (sent now as a frame, listed once)."""
    user = await database_sync_to_async(get_user_model().objects.create_user)("lr", password="p")
    bounds = {"beta_delta_max": 5.0, "daily_loss": LOSS_LIMIT}
    await database_sync_to_async(limits_store.limits_save)(user.id, bounds)
    at = 1_800_000_000_000
    fire = database_sync_to_async(limits_store.limit_fire)
    logged = await fire(user.id, BETA_DELTA_ABOVE, 9.5, 5.0, at, trading_day(at))
    lost = await fire(user.id, DAILY_LOSS, -3200.0, LOSS_LIMIT, at + 1000, trading_day(at))
    assert logged is not None and lost is not None
    await database_sync_to_async(limits_store.limit_breach_mark_delivered)([logged["id"]])
    published = Published()
    manager = UserStreamManager(
        user.id,
        links=[],
        publish=published,
        listeners=[LimitRunner(LimitStore(user.id, PushSender()), INTERVAL)],
    )
    await manager.start()
    try:
        await wait_until(lambda: published.of("limit"), what="the undelivered breach")
        listed = manager.snapshot()["limit_breaches"]
    finally:
        await manager.stop()
    assert [f["limit"] for f in published.of("limit")] == [lost]
    assert listed == [lost, logged]
