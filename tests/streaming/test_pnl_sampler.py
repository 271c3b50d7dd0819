"""The P&L sampler and its store in-process, on the real database: rows on the grid, one
per account and a total, null (never 0) where an input is missing, only at the owner,
and a second writer of the same grid time (a restart, a failover) doubles nothing."""

from __future__ import annotations

import asyncio
import datetime as dt
from decimal import Decimal

import pytest
from channels.db import database_sync_to_async
from django.contrib.auth import get_user_model
from django.db import IntegrityError, connection
from django.test.utils import CaptureQueriesContext

from accounts.notification_settings import notification_settings_update
from streaming.models import PnlSample
from streaming.risk.pnl.sampler import PnlSampler, grid_time, sample_rows
from streaming.risk.pnl.session import NEW_YORK, in_trading_session
from streaming.risk.pnl.store import (
    PnlStore,
    SampleWrites,
    pnl_watched_users,
    samples_of_day,
)
from streaming.stream.state import LinkInfo, UserState
from tests.support.wait import wait_until

pytestmark = pytest.mark.django_db(transaction=True)

LINK = LinkInfo(1, "tastytrade", "tt", simulated=True)
ALPACA = LinkInfo(2, "alpaca", "ap", simulated=True)


class Host:
    """The part of the stream manager a listener sees (listener.StreamHost)."""

    def __init__(
        self, user_id: int, state: UserState, owner: bool = True, shown: bool = True
    ) -> None:
        self.user_id = user_id
        self.state = state
        self.owner = owner
        self.viewed = self.positions_streamed = shown  # a page shows the stream
        self.symbol_changes = 0

    async def authorized(self) -> bool:
        return self.owner

    def symbols_changed(self) -> None:
        self.symbol_changes += 1


def stock(symbol: str, qty: float, close: float | None, mark: float = 0.0) -> dict:
    return {
        "symbol": symbol,
        "streamer_symbol": symbol,
        "instrument_type": "Equity",
        "quantity": qty,
        "direction": "Long",
        "close_price": close,
        "mark_price": mark,
        "average_open_price": close,
        "multiplier": 1,
    }


def state_with(*, second_close: float | None = 90.0, second_balance: bool = True) -> UserState:
    state = UserState([LINK, ALPACA])
    state.apply_account_event("balance", 1, "TT1", {"net_liquidating_value": "1000.5"}, now_ms=0)
    state.apply_account_event("positions", 1, "TT1", [stock("AAPL", 10, 100.0)], now_ms=0)
    if second_balance:
        state.apply_account_event("balance", 2, "AP1", {"net_liquidating_value": 500}, now_ms=0)
    state.apply_account_event("positions", 2, "AP1", [stock("MSFT", 2, second_close)], now_ms=0)
    state.quotes["AAPL"] = {"bid": 101.0, "ask": 103.0, "t": 1}  # mid 102: +20 on the day
    state.quotes["MSFT"] = {"last": 95.0, "t": 1}  # +10 on the day
    return state


async def user(name: str) -> int:
    made = await database_sync_to_async(get_user_model().objects.create_user)(name, password="pw")
    return made.id


def rows_of(user_id: int) -> list[tuple[str, int, Decimal | None, Decimal | None]]:
    return [
        (s.account, int(s.at.timestamp() * 1000), s.net_liq, s.day_pnl)
        for s in PnlSample.objects.filter(user_id=user_id).order_by("at", "account")
    ]


def test_the_grid_time_is_the_start_of_the_bucket():
    assert grid_time(125_999, 60_000) == 120_000
    assert grid_time(120_000, 60_000) == 120_000
    assert grid_time(1_700, 500) == 1_500


def test_rows_per_account_and_total_from_live_marks():
    state = state_with()
    snapshot = {
        "accounts": [a.as_dict() for a in state.accounts_in_link_order()],
        "quotes": state.quotes,
        "greeks": state.greeks,
    }
    assert sample_rows(snapshot) == [
        ("TT1", 1000.5, 20.0),
        ("AP1", 500.0, 10.0),
        ("", 1500.5, 30.0),
    ]


def test_a_missing_input_is_null_never_0():
    state = state_with(second_close=None, second_balance=False)
    snapshot = {
        "accounts": [a.as_dict() for a in state.accounts_in_link_order()],
        "quotes": state.quotes,
        "greeks": {},
    }
    # AP1 has no balance and a position without a close: both its values are unknown,
    # and the total of a partly known sum is unknown too
    assert sample_rows(snapshot) == [("TT1", 1000.5, 20.0), ("AP1", None, None), ("", None, None)]


async def test_a_sample_is_written_once_per_grid_time_whoever_writes_it():
    user_id = await user("pnl-once")
    first = PnlSampler(PnlStore(user_id, SampleWrites()), interval=60)
    first.attach(Host(user_id, state_with()))
    assert await first.sample_once(120_500) is True
    assert await first.sample_once(179_999) is False  # same bucket: not even tried again
    # a restarted or new owner, with other values, in the same bucket: the first stands
    moved = state_with()
    moved.quotes["AAPL"] = {"bid": 110.0, "ask": 110.0, "t": 2}
    second = PnlSampler(PnlStore(user_id, SampleWrites()), interval=60)
    second.attach(Host(user_id, moved))
    assert await second.sample_once(150_000) is True
    rows = await database_sync_to_async(rows_of)(user_id)
    assert rows == [
        ("", 120_000, Decimal("1500.5"), Decimal("30")),
        ("AP1", 120_000, Decimal("500"), Decimal("10")),
        ("TT1", 120_000, Decimal("1000.5"), Decimal("20")),
    ]
    # the next bucket is the new owner's
    assert await second.sample_once(180_000) is True
    rows = await database_sync_to_async(rows_of)(user_id)
    assert [(a, t, d) for a, t, _, d in rows[3:]] == [
        ("", 180_000, Decimal("110")),
        ("AP1", 180_000, Decimal("10")),
        ("TT1", 180_000, Decimal("100")),
    ]


async def test_the_users_of_a_process_write_a_grid_time_in_one_statement():
    """Every sampler of a process wakes at the same grid time: one INSERT for all of them,
    not one per user (docs/streaming-contract.md "P&L over the day"), and each user's rows
    are there."""
    users = [await user(f"pnl-many-{i}") for i in range(5)]
    samplers = []
    writes = SampleWrites()  # the process's, shared by its samplers
    for user_id in users:
        sampler = PnlSampler(PnlStore(user_id, writes), interval=60)
        sampler.attach(Host(user_id, state_with()))
        samplers.append(sampler)
    # the queries of the process's database thread, where every write runs
    capture = CaptureQueriesContext(connection)
    await database_sync_to_async(capture.__enter__)()
    try:
        written = await asyncio.gather(*(s.sample_once(240_000) for s in samplers))
    finally:
        await database_sync_to_async(capture.__exit__)(None, None, None)
    queries = await database_sync_to_async(lambda: list(capture.captured_queries))()
    assert written == [True] * len(users)
    inserts = [q for q in queries if q["sql"].lstrip().upper().startswith("INSERT")]
    assert len(inserts) == 1, [q["sql"][:80] for q in queries]
    for user_id in users:
        rows = await database_sync_to_async(rows_of)(user_id)
        assert [(a, t) for a, t, _, _ in rows] == [
            ("", 240_000),
            ("AP1", 240_000),
            ("TT1", 240_000),
        ]


async def test_one_users_failed_write_costs_the_others_nothing():
    """A user deleted while the stream still samples: their rows cannot be written, and the
    rows gathered with them are written all the same."""
    kept = await user("pnl-kept")
    gone = await user("pnl-gone")
    await database_sync_to_async(get_user_model().objects.filter(id=gone).delete)()
    gathered = SampleWrites()
    writes = [
        PnlStore(kept, gathered).write(300_000, [("", 1.0, 0.0)]),
        PnlStore(gone, gathered).write(300_000, [("", 2.0, 0.0)]),
    ]
    kept_write, gone_write = await asyncio.gather(*writes, return_exceptions=True)
    assert kept_write is None
    assert isinstance(gone_write, IntegrityError)
    assert await database_sync_to_async(rows_of)(kept) == [
        ("", 300_000, Decimal("1"), Decimal("0"))
    ]


async def test_only_the_owner_samples_and_only_once_there_are_accounts():
    user_id = await user("pnl-owner")
    host = Host(user_id, state_with(), owner=False)
    sampler = PnlSampler(PnlStore(user_id, SampleWrites()), interval=60)
    sampler.attach(host)
    assert await sampler.sample_once(60_000) is False
    empty = PnlSampler(PnlStore(user_id, SampleWrites()), interval=60)
    empty.attach(Host(user_id, UserState([LINK])))
    assert await empty.sample_once(60_000) is False
    assert await database_sync_to_async(rows_of)(user_id) == []
    host.owner = True  # the lease came to this process: the same bucket is sampled now
    assert await sampler.sample_once(60_000) is True
    assert len(await database_sync_to_async(rows_of)(user_id)) == 3


class CountingStore(PnlStore):
    """The real store, counting the grid times written (the test waits on them) and saying
    whether a write is under way (its database work runs in a thread, which cancelling
    the sampler would not stop: the test stops it between writes)."""

    def __init__(self, user_id: int) -> None:
        super().__init__(user_id, SampleWrites())
        self.times: list[int] = []
        self.writing = False

    async def write(self, at_ms, rows):
        self.writing = True
        try:
            await super().write(at_ms, rows)
            self.times.append(at_ms)
        finally:
            self.writing = False


async def test_the_running_sampler_follows_the_grid_and_the_day_reads_back():
    user_id = await user("pnl-run")
    store = CountingStore(user_id)
    sampler = PnlSampler(store, interval=0.2)
    sampler.attach(Host(user_id, state_with()))
    task = asyncio.create_task(sampler.run())
    try:
        await wait_until(
            lambda: len(store.times) >= 4 and not store.writing, what="4 grid times sampled"
        )
    finally:
        task.cancel()  # no await in between: the sampler is not inside a write
    rows = await database_sync_to_async(rows_of)(user_id)
    found = sorted({t for _, t, _, _ in rows})
    assert found == sorted(set(store.times))
    assert all(t % 200 == 0 for t in found)  # on the grid
    assert len(rows) == 3 * len(found)  # one per account and the total, per grid time
    # the samples' trading day is New York's (in UTC it is the next day from 19:00 or 20:00
    # New York on: the clean clone CI21 ran at 00:15 UTC and read an empty day)
    day = dt.datetime.fromtimestamp(found[0] / 1000, NEW_YORK).date()
    by_account = await database_sync_to_async(samples_of_day)(user_id, day)
    assert sorted(by_account) == ["", "AP1", "TT1"]
    assert by_account[""][0] == {"t": found[0], "net_liq": 1500.5, "day_pnl": 30.0}


async def test_no_total_until_every_link_has_streamed_its_accounts():
    user_id = await user("pnl-partial")
    state = UserState([LINK, ALPACA])  # Alpaca's accounts are not in yet
    state.apply_account_event("balance", 1, "TT1", {"net_liquidating_value": 10}, now_ms=0)
    sampler = PnlSampler(PnlStore(user_id, SampleWrites()), interval=60)
    sampler.attach(Host(user_id, state))
    assert await sampler.sample_once(60_000) is True
    assert await database_sync_to_async(rows_of)(user_id) == [
        ("", 60_000, None, None),
        ("TT1", 60_000, Decimal("10"), Decimal("0")),
    ]


async def test_no_sample_from_marks_nobody_streams_and_all_day_streams_them_in_session():
    """A stream run only for an alert (no page, no "P&L all day") writes no sample: its
    positions' marks do not stream. "P&L all day" on makes the sampler watch them, in the
    trading session only."""
    user_id = await user("pnl-watch")
    host = Host(user_id, state_with(), shown=False)
    sampler = PnlSampler(PnlStore(user_id, SampleWrites()), interval=60)
    sampler.attach(host)
    assert await sampler.sample_once(60_000) is False
    assert await database_sync_to_async(rows_of)(user_id) == []

    await database_sync_to_async(notification_settings_update)(
        user_id=user_id, changes={"pnl_all_day": True}
    )
    in_session = dt.datetime(2026, 11, 30, 10, 0, tzinfo=NEW_YORK).timestamp()  # a Monday
    sampler.clock = lambda: in_session
    await sampler._read_setting()
    assert sampler.watches_positions() is True
    assert host.symbol_changes == 1  # the stream subscribes the positions again
    sampler.clock = lambda: in_session + 7 * 3600  # 17:00: the session is over
    assert sampler.watches_positions() is False
    assert await database_sync_to_async(pnl_watched_users)(in_session) == {user_id}
    assert await database_sync_to_async(pnl_watched_users)(in_session + 7 * 3600) == set()


def test_the_trading_session_is_new_yorks_regular_one_on_weekdays():
    at = lambda *hm, day=30: dt.datetime(2026, 11, day, *hm, tzinfo=NEW_YORK).timestamp()  # noqa: E731
    assert [in_trading_session(at(9, 29)), in_trading_session(at(9, 30))] == [False, True]
    assert [in_trading_session(at(15, 59)), in_trading_session(at(16, 0))] == [True, False]
    assert in_trading_session(at(12, 0, day=28)) is False  # a Saturday
    # summer time: 09:30 New York is 13:30 UTC in July, 14:30 in November
    july = dt.datetime(2026, 7, 1, 13, 30, tzinfo=dt.UTC).timestamp()
    assert in_trading_session(july) is True
