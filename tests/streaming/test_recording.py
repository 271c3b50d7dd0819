"""Every user's stream recorded by day (streaming/stream/recording.py, day_file.py): what the
links report, in order, with the time it was received; account events never left out;
a damaged file read up to its damage; old days removed."""

from __future__ import annotations

import asyncio
import datetime as dt
import gzip
import os
from pathlib import Path

from streaming.contract.frames import ACCOUNT_FRAME_TYPES
from streaming.stream.day_file import DayFiles, day_path, market_date, read_day, recorded_days
from streaming.stream.recording import Recorder
from tests.streaming.test_manager import Published, manager_for
from tests.support.orders import market_buy
from tests.support.wait import poll_until, wait_until

#: 2026-11-27 15:30 New York (20:30 UTC), in epoch ms.
AFTERNOON = int(dt.datetime(2026, 11, 27, 20, 30, tzinfo=dt.UTC).timestamp() * 1000)


class Clock:
    """A clock the test moves (epoch ms)."""

    def __init__(self, now: int) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


def test_what_a_stream_reports_is_read_back_in_order_with_its_times(tmp_path: Path):
    clock = Clock(AFTERNOON)
    recorder = Recorder(tmp_path, clock=clock)
    user = recorder.for_user(5)
    assert user is not None
    user.market("quote", 1, "SPY", {"bid": 590.1, "ask": 590.2, "t": AFTERNOON - 40})
    clock.now += 1
    user.account("order", 1, "5WT1", {"id": "9", "status": "Filled", "size": 1})
    clock.now += 1
    user.status(1, "live", "", "quotes", {})
    user.market("greeks", 1, ".SPY261218C600", {"delta": 0.5})
    user.status(1, "live", "", "account", {"expect_every": 5.0})
    user.fresh(1, "account")
    recorder.flush()
    read = read_day(day_path(tmp_path, 5, dt.date(2026, 11, 27)))
    assert read.damage is None
    assert read.records == [
        {
            "k": "quote",
            "link": 1,
            "sym": "SPY",
            "d": {"bid": 590.1, "ask": 590.2, "t": AFTERNOON - 40},
            "t": AFTERNOON,
        },
        {
            "k": "order",
            "link": 1,
            "acct": "5WT1",
            "d": {"id": "9", "status": "Filled", "size": 1},
            "t": AFTERNOON + 1,
        },
        {
            "k": "status",
            "link": 1,
            "d": {"state": "live", "reason": "", "kind": "quotes"},
            "t": AFTERNOON + 2,
        },
        {
            "k": "greeks",
            "link": 1,
            "sym": ".SPY261218C600",
            "d": {"delta": 0.5},
            "t": AFTERNOON + 2,
        },
        {
            "k": "status",
            "link": 1,
            "d": {"state": "live", "reason": "", "kind": "account", "extra": {"expect_every": 5.0}},
            "t": AFTERNOON + 2,
        },
        {"k": "fresh", "link": 1, "d": "account", "t": AFTERNOON + 2},
    ]
    # another user's stream is another folder
    assert recorded_days(tmp_path, 5) == [dt.date(2026, 11, 27)]
    assert recorded_days(tmp_path, 6) == []


def test_under_pressure_quotes_are_left_out_and_counted_never_an_account_event(tmp_path: Path):
    recorder = Recorder(tmp_path, quote_room=10, clock=Clock(AFTERNOON))
    user = recorder.for_user(5)
    assert user is not None
    for i in range(100):
        user.market("quote", 1, "SPY", {"last": 590 + i / 100})
        if i % 20 == 0:
            user.account("balance", 1, "5WT1", {"cash": i})
    recorder.flush()
    records = read_day(day_path(tmp_path, 5, dt.date(2026, 11, 27))).records
    # every account event, in order among the quotes kept
    assert [r["k"] for r in records[:3]] == ["quote", "balance", "quote"]
    assert [r["d"]["cash"] for r in records if r["k"] == "balance"] == [0, 20, 40, 60, 80]
    # the quotes that came while fewer than 10 records waited (the first and a balance, then
    # eight more); every other is counted
    assert [r["d"]["last"] for r in records if r["k"] == "quote"] == [
        590 + i / 100 for i in range(9)
    ]
    assert [r["left_out"] for r in records if r["k"] == "sampled"] == [91]
    assert recorder.left_out == 91 and recorder.written == 5 + 9 + 1


def test_a_day_is_new_yorks(tmp_path: Path):
    """A record after midnight in New York goes to the next day's file (UTC's midnight
    is 7 or 8 p.m. there)."""
    clock = Clock(int(dt.datetime(2026, 11, 28, 4, 59, tzinfo=dt.UTC).timestamp() * 1000))
    recorder = Recorder(tmp_path, clock=clock)
    user = recorder.for_user(5)
    assert user is not None
    user.account("balance", 1, "A", {"cash": 1})
    clock.now += 60_000  # 05:00 UTC: midnight in New York
    user.account("balance", 1, "A", {"cash": 2})
    recorder.flush()
    assert recorded_days(tmp_path, 5) == [dt.date(2026, 11, 27), dt.date(2026, 11, 28)]
    assert market_date(clock.now) == dt.date(2026, 11, 28)


def test_a_damaged_file_keeps_what_precedes_the_damage_and_says_where(tmp_path: Path):
    clock = Clock(AFTERNOON)
    recorder = Recorder(tmp_path, clock=clock)
    user = recorder.for_user(5)
    assert user is not None
    path = day_path(tmp_path, 5, dt.date(2026, 11, 27))
    user.account("balance", 1, "A", {"cash": 1})
    recorder.flush()
    whole = path.stat().st_size
    user.account("balance", 1, "A", {"cash": 2})
    recorder.flush()
    data = path.read_bytes()
    # a crash in the middle of the second batch
    path.write_bytes(data[: whole + (len(data) - whole) // 2])
    read = read_day(path)
    assert [r["d"]["cash"] for r in read.records] == [1]
    assert read.damage is not None
    assert read.damage.startswith(f"{path.name} is damaged at byte {whole:,} of ")
    # bytes that are not gzip after a whole batch
    path.write_bytes(data[:whole] + b"not a batch")
    read = read_day(path)
    assert [r["d"]["cash"] for r in read.records] == [1]
    assert read.damage is not None and f"at byte {whole:,} of {whole + 11:,}" in read.damage
    # a batch whose line is not a record
    path.write_bytes(data[:whole] + gzip.compress(b'{"k": "balance"}\n[1, 2]\n'))
    read = read_day(path)
    assert len(read.records) == 2 and read.records[1] == {"k": "balance"}
    assert read.damage == (
        f"{path.name} is damaged at byte {whole:,} of {path.stat().st_size:,} "
        "(line 2 of its batch is not a record)."
    )
    # zcat reads the whole file as one stream
    path.write_bytes(data)
    assert gzip.decompress(data).count(b"\n") == 2


def open_files() -> set[str]:
    """The files this process holds open."""
    held = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            held.add(os.readlink(f"/proc/self/fd/{fd}"))
        except OSError:  # the listing's own descriptor, closed meanwhile
            continue
    return held


def test_a_day_file_stays_open_while_written_made_again_if_removed_closed_with_the_recorder(
    tmp_path: Path,
):
    """The writer appends each batch to a descriptor it keeps (an open and a close per user
    per write was a fifth of its CPU): the file is whole after each write, a file removed
    meanwhile is made again with the next batch, and nothing stays open after `close`."""
    recorder = Recorder(tmp_path, clock=Clock(AFTERNOON), writer=False)
    user = recorder.for_user(5)
    assert user is not None
    path = day_path(tmp_path, 5, dt.date(2026, 11, 27))
    user.account("balance", 1, "A", {"cash": 1})
    recorder.flush()
    assert str(path) in open_files()
    assert [r["d"]["cash"] for r in read_day(path).records] == [1]  # written through
    path.unlink()
    user.account("balance", 1, "A", {"cash": 2})
    recorder.flush()
    assert [r["d"]["cash"] for r in read_day(path).records] == [2]
    recorder.close()
    assert not {f for f in open_files() if f.startswith(str(tmp_path))}


def test_a_day_file_not_written_for_a_while_is_closed(tmp_path: Path):
    files = DayFiles(idle_close=0.2)
    path = tmp_path / "5" / "2026-11-27.jsonl.gz"
    assert files.append(path, [b'{"k":"stop","t":1}\n']) > 0
    assert str(path) in open_files()

    def closed() -> bool:
        files.close_idle()
        return str(path) not in open_files()

    poll_until(closed, within=0.2 + 5.0, what="the idle day file closed")  # + a busy box's margin
    assert gzip.decompress(path.read_bytes()) == b'{"k":"stop","t":1}\n'
    files.close()


def test_days_past_their_keep_are_removed(tmp_path: Path):
    clock = Clock(AFTERNOON)
    for days_ago in (0, 2, 3, 10):
        day = dt.date(2026, 11, 27) - dt.timedelta(days=days_ago)
        path = day_path(tmp_path, 5, day)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(gzip.compress(b'{"k": "balance"}\n'))
    (tmp_path / "5" / "notes.txt").write_text("not a day")
    recorder = Recorder(tmp_path, keep_days=3, clock=clock)
    user = recorder.for_user(5)
    assert user is not None
    user.account("balance", 1, "A", {"cash": 1})
    recorder.flush()
    assert recorded_days(tmp_path, 5) == [dt.date(2026, 11, 25), dt.date(2026, 11, 27)]
    assert (tmp_path / "5" / "notes.txt").exists()


def test_recording_off_records_nothing(tmp_path: Path):
    assert Recorder(None).for_user(5) is None


async def stream_spy_and_fill_dia(manager, published: Published, control) -> None:
    """A tab streams SPY; once every link is live, 1 DIA is bought and filled."""
    manager.set_tab_symbols("tab-1", {"SPY"})
    assert await manager.wait_ready(within=10)
    account = manager.snapshot()["accounts"][0]["number"]
    await asyncio.to_thread(control.place_order, account, market_buy("DIA", 1))
    await wait_until(
        lambda: any(f["order"]["status"] == "Filled" for f in published.of("order")),
        within=20,
    )


async def test_a_stream_records_every_account_event_it_published(
    broker_at_sandbox, control, refresh_token, tmp_path: Path
):
    """A real stream at the sandbox, an order filled: every order event the stream
    published is in the recording, in the same order, and so are its quotes and its link's
    statuses."""
    recorder = Recorder(tmp_path)
    published = Published()
    manager = manager_for(refresh_token, published)
    manager.recording = recorder.for_user(manager.user_id)
    await manager.start()
    try:
        await stream_spy_and_fill_dia(manager, published, control)
    finally:
        await manager.stop()
    recorder.flush()
    recorder.close()
    (day,) = recorded_days(tmp_path, manager.user_id)
    read = read_day(day_path(tmp_path, manager.user_id, day))
    assert read.damage is None
    recorded = [r for r in read.records if r["k"] == "order"]
    sent = [f["order"] for f in published.frames if f["type"] == "order"]
    assert [(o["id"], o["status"]) for o in sent] == [
        (r["d"]["id"], r["d"]["status"]) for r in recorded
    ]
    # every account frame the stream published came from one recorded account event, in
    # the same order (a replay of the record has them all); an event recorded as the stream
    # stopped may not have been published yet (a clean clone's last balance was not)
    frames = [f["type"] for f in published.frames if f["type"] in ACCOUNT_FRAME_TYPES]
    events = [r["k"] for r in read.records if r["k"] in ACCOUNT_FRAME_TYPES]
    assert frames == events[: len(frames)] and "order" in frames and "balance" in frames
    assert any(r["k"] == "quote" and r["sym"] == "SPY" for r in read.records)
    assert any(r["k"] == "status" and r["d"]["state"] == "live" for r in read.records)
    times = [r["t"] for r in read.records]
    assert times == sorted(times)
