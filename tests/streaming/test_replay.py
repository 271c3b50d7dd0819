"""Replaying a recorded day (docs/streaming.md, "Replaying a day"): the stream a live day
runs through, on a clock of its own; the same frames every time at full speed; every
account event the live stream published, and its final positions and balances."""

from __future__ import annotations

import asyncio
import datetime as dt
import gzip
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from streaming.contract.frames import ACCOUNT_FRAME_TYPES
from streaming.replay.day import ReplayError, load_day
from streaming.replay.player import DayPlayer
from streaming.runtime.clock import ReplayClock
from streaming.stream.day_file import day_path, read_day, recorded_days
from streaming.stream.flusher import SWEEP_EVERY
from streaming.stream.recording import Recorder
from tests.streaming.test_manager import Published, manager_for
from tests.streaming.test_recording import stream_spy_and_fill_dia
from tests.support.wait import wait_until

ROOT = Path(__file__).resolve().parents[2]


async def test_a_replay_clock_ends_waits_earliest_first_and_only_when_moved():
    clock = ReplayClock(1000.0)
    woke: list[tuple[str, float]] = []

    async def wait(name: str, seconds: float) -> None:
        await clock.sleep(seconds)
        woke.append((name, clock.time()))

    tasks = [asyncio.create_task(wait(n, s)) for n, s in (("b", 2.0), ("a", 1.0), ("c", 2.0))]
    await asyncio.sleep(0)
    assert clock.next_wake() == 1001.0
    assert clock.advance(1000.5) is False and clock.time() == 1000.5
    await asyncio.sleep(0)
    assert woke == []  # the machine's time passing moves nothing
    while clock.advance(1005.0):
        await asyncio.sleep(0)
    await asyncio.gather(*tasks)
    # the earliest first, ties in the order they began, each at the time it asked for
    assert woke == [("a", 1001.0), ("b", 1002.0), ("c", 1002.0)]
    assert clock.time() == 1005.0 and clock.next_wake() is None


@pytest.fixture
async def recorded(broker_at_sandbox, control, refresh_token, tmp_path: Path):
    """A real stream at the sandbox, recorded: SPY streamed, 1 DIA bought and filled.
    (the recording's root, the user, the day, what the live stream published, and its
    snapshot at the end)"""
    recorder = Recorder(tmp_path / "recordings")
    published = Published()
    manager = manager_for(refresh_token, published)
    manager.recording = recorder.for_user(manager.user_id)
    await manager.start()
    try:
        await stream_spy_and_fill_dia(manager, published, control)
        await wait_until(lambda: len(published.of("quotes")) >= 5, within=10)
        # the page closes: nothing wants quotes, none come, and the source is not stale. The
        # quiet lasts past the silence the sweep allows (its threshold, a sweep, a margin)
        manager.drop_tab("tab-1")
        await asyncio.sleep(manager.silence_threshold() + SWEEP_EVERY + 1.0)
        live_end = manager.snapshot()
    finally:
        await manager.stop()
    recorder.close()
    recorder.flush()
    (day,) = recorded_days(recorder.root, manager.user_id)
    return recorder.root, manager.user_id, day, published, live_end


async def replay(
    root: Path, user_id: int, day: dt.date, **window
) -> tuple[list[dict], bytes, DayPlayer]:
    lines: list[bytes] = []
    player = DayPlayer(user_id, load_day(root, user_id, "trader", day), emit=lines.append, **window)
    await player.play()
    data = b"".join(lines)
    return [orjson.loads(line) for line in lines], data, player


def without_times(frame: dict) -> dict:
    """An account frame apart from its stream's name and its receipt time."""
    return {k: v for k, v in frame.items() if k not in ("epoch", "t")}


async def test_every_account_event_the_live_stream_published_is_replayed(recorded):
    root, user_id, day, published, live_end = recorded
    frames, _, player = await replay(root, user_id, day)
    assert frames[0]["type"] == "snapshot"
    live = [without_times(f) for f in published.frames if f["type"] in ACCOUNT_FRAME_TYPES]
    replayed = [without_times(f) for f in frames if f["type"] in ACCOUNT_FRAME_TYPES]
    assert replayed == live
    assert any(f["type"] == "order" and f["order"]["status"] == "Filled" for f in frames)
    assert any(f["type"] == "quotes" and "SPY" in f["quotes"] for f in frames)
    # the replayed stream ends where the live one did: the same positions and balances
    final = player.played.final
    assert final is not None
    assert final["accounts"] == live_end["accounts"]
    # a frame's time is the replayed day's, never the machine's now
    assert max(f["t"] for f in frames if "t" in f) <= player.day.last_ms + 1000


def link_states(frames: list[dict]) -> list[tuple]:
    """The link states a tab was shown, in order, each once until it changed."""
    seen: list[tuple] = []
    for f in frames:
        if f["type"] == "status":
            link = f["link"]
            state = (
                link["id"],
                link["state"],
                link["kinds"]["quotes"]["state"],
                link["quote_source"],
            )
            if not seen or seen[-1] != state:
                seen.append(state)
    return seen


async def test_the_replayed_links_go_through_the_states_the_live_ones_did(recorded):
    """The page closed and the quotes stopped: the live source was not stale (nothing wanted
    quotes), and neither is the replay's, which wants what the day wanted."""
    root, user_id, day, published, _ = recorded
    frames, _, _ = await replay(root, user_id, day, flush_interval=0.2)
    assert link_states(frames) == link_states(published.frames)
    assert "stale" not in {s[2] for s in link_states(frames)}


async def test_two_replays_at_full_speed_write_the_same_bytes(recorded):
    root, user_id, day, *_ = recorded
    _, first, _ = await replay(root, user_id, day)
    _, second, _ = await replay(root, user_id, day)
    assert first and first == second


async def test_a_replay_at_10x_takes_a_tenth_of_the_day_and_writes_the_same_frames(recorded):
    root, user_id, day, *_ = recorded
    _, at_max, player = await replay(root, user_id, day)
    span = (player.day.last_ms - player.day.first_ms) / 1000
    started = time.monotonic()
    _, at_10, _ = await replay(root, user_id, day, speed=10.0)
    took = time.monotonic() - started
    assert span > 1.0, span  # a day long enough to tell
    assert took >= span / 10 * 0.95, (took, span)
    assert at_10 == at_max


async def test_a_window_at_1x_plays_only_the_window_at_its_speed(recorded):
    """What comes before the window is caught up at full speed: `--from 10:30 --speed 1`
    shows 10:30 at once, not after the morning played in real time."""
    root, user_id, day, *_ = recorded
    _, _, player = await replay(root, user_id, day)
    span = (player.day.last_ms - player.day.first_ms) / 1000
    from_ms = player.day.last_ms - 1000
    started = time.monotonic()
    await replay(root, user_id, day, speed=1.0, from_ms=from_ms)
    took = time.monotonic() - started
    assert span > 5.0, span  # a day long enough to tell the window from the day
    # the window's second at 1x, plus a busy box's margin for the catching up (at max speed
    # the whole day plays in well under a second alone)
    assert 0.95 <= took <= 1.0 + 3.0, (took, span)


PLAY_IN_A_PROCESS = """
import asyncio, datetime as dt, sys
from pathlib import Path
import django
django.setup()
from streaming.replay.day import load_day
from streaming.replay.player import DayPlayer
root, user, day = Path(sys.argv[1]), int(sys.argv[2]), dt.date.fromisoformat(sys.argv[3])
player = DayPlayer(user, load_day(root, user, "trader", day), emit=sys.stdout.buffer.write)
asyncio.run(player.play())
"""


#: The subprocess imports Django and the app: ~4 s of CPU at half speed, many times that on
#: a box whose cores are taken (the in-process phase is niced in CI).
PROCESS_TIMEOUT = 300


@pytest.mark.timeout(PROCESS_TIMEOUT + 60)
async def test_another_process_writes_the_same_bytes(recorded):
    """Sets and dicts iterate by their strings' hashes, salted per process: a process with
    another salt (this one's is random, the other's fixed) writes the same frames."""
    root, user_id, day, *_ = recorded
    _, here, _ = await replay(root, user_id, day)
    env = {**os.environ, "PYTHONHASHSEED": "0", "DJANGO_SETTINGS_MODULE": "config.settings"}
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-c", PLAY_IN_A_PROCESS, str(root), str(user_id), day.isoformat()],
        capture_output=True,
        env=env,
        cwd=ROOT,
        timeout=PROCESS_TIMEOUT,
    )
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    assert here and done.stdout == here
    assert os.environ.get("PYTHONHASHSEED") != "0"  # the salts differ


async def test_a_window_starts_with_the_state_at_its_start(recorded):
    root, user_id, day, *_ = recorded
    whole, _, player = await replay(root, user_id, day)
    # the window opens at the fill: its snapshot already holds everything before it
    fill = next(f for f in whole if f["type"] == "order" and f["order"]["status"] == "Filled")
    start = min(r["t"] for r in player.day.runs[0].records if r["k"] == "order")
    frames, _, _ = await replay(root, user_id, day, from_ms=start)
    assert frames[0]["type"] == "snapshot"
    assert all(f.get("seq", 10**9) > 0 for f in frames[1:])
    assert fill["seq"] in [f.get("seq") for f in frames]
    assert len(frames) < len(whole)


def test_a_day_not_recorded_says_which_days_are(tmp_path: Path):
    (tmp_path / "5").mkdir()
    (tmp_path / "5" / "2026-11-26.jsonl.gz").write_bytes(gzip.compress(b'{"k":"start"}\n'))
    with pytest.raises(
        ReplayError,
        match=r"^trader has no recording of 2026-11-27; the days recorded are: 2026-11-26\.$",
    ):
        load_day(tmp_path, 5, "trader", dt.date(2026, 11, 27))


def test_a_day_recorded_before_starts_were_says_so(tmp_path: Path):
    path = day_path(tmp_path, 5, dt.date(2026, 11, 27))
    path.parent.mkdir()
    path.write_bytes(gzip.compress(b'{"t": 1, "k": "balance", "link": 1, "acct": "A", "d": {}}\n'))
    with pytest.raises(ReplayError, match="has no start of the stream in it"):
        load_day(tmp_path, 5, "trader", dt.date(2026, 11, 27))


async def test_a_damaged_day_plays_up_to_the_damage_and_says_where(recorded):
    root, user_id, day, *_ = recorded
    path = day_path(root, user_id, day)
    whole = path.read_bytes()
    path.write_bytes(whole + gzip.compress(b'{"t": 1, "k": "quote"}\n')[:-9])
    frames, _, player = await replay(root, user_id, day)
    assert player.day.damage is not None and "is damaged at byte" in player.day.damage
    assert any(f["type"] == "order" for f in frames)


@pytest.mark.django_db
def test_the_command_refuses_bad_input_in_sentences(tmp_path: Path, settings, django_user_model):
    settings.STREAM_RECORD_DIR = str(tmp_path)
    django_user_model.objects.create_user("trader", password="x")
    cases = {
        ("--user", "nobody", "--date", "2026-11-27"): "There is no user 'nobody'.",
        ("--user", "trader", "--date", "2026-11-27", "--speed", "5"): (
            "--speed 5 is not one of 1, 10, 60 or max."
        ),
        (
            "--user",
            "trader",
            "--date",
            "27/11/2026",
        ): "--date 27/11/2026 is not a date (YYYY-MM-DD).",
        ("--user", "trader", "--date", "2026-11-27", "--from", "25:00"): (
            "'25:00' is not a time of day (HH:MM, New York time)."
        ),
        ("--user", "trader", "--date", "2026-11-27", "--from", "11:00", "--to", "10:00"): (
            "--to 10:00 is not after --from 11:00."
        ),
        ("--user", "trader", "--date", "2026-11-27"): (
            "trader has no recording of 2026-11-27; the days recorded are: none."
        ),
        ("--user-id", "99", "--date", "2026-11-27"): (
            "user 99 has no recording of 2026-11-27; the days recorded are: none."
        ),
    }
    for args, sentence in cases.items():
        with pytest.raises(CommandError) as raised:
            call_command("replay", *args, "--frames-out", str(tmp_path / "out.jsonl"))
        assert str(raised.value) == sentence
        assert raised.value.returncode == 2


@pytest.mark.django_db
def test_the_command_writes_the_same_file_twice_and_says_what_it_played(
    recorded, settings, django_user_model, tmp_path: Path, capsys
):
    root, user_id, day, *_ = recorded
    settings.STREAM_RECORD_DIR = str(root)
    django_user_model.objects.create_user("trader", password="x", id=user_id)
    files = [tmp_path / "first.jsonl", tmp_path / "second.jsonl"]
    for out in files:
        call_command("replay", "--user", "trader", "--date", day.isoformat(), "--frames-out", out)
    first = files[0].read_bytes()
    assert first and first == files[1].read_bytes()
    frames = [orjson.loads(line) for line in first.splitlines()]
    said = capsys.readouterr().err
    assert f"trader's {day.isoformat()}: " in said
    assert f"{len(frames):,} frames written to {files[1]}." in said


#: A day recorded from a real stream at the sandbox (SPY streamed, 1 DIA bought and filled)
#: and the frames its replay wrote, reviewed: what a change to the stream changes in them
#: shows in the diff. `STREAMDESK_RECORD_REPLAY_FIXTURE=1` records both again.
FIXTURE = ROOT / "tests" / "fixtures" / "replay"


def test_the_stored_day_replays_to_its_reviewed_frames(request):
    if os.environ.get("STREAMDESK_RECORD_REPLAY_FIXTURE") == "1":
        root, user_id, day, *_ = request.getfixturevalue("recorded")
        shutil.rmtree(FIXTURE, ignore_errors=True)
        shutil.copytree(root, FIXTURE)
        lines: list[bytes] = []
        asyncio.run(
            DayPlayer(user_id, load_day(FIXTURE, user_id, "trader", day), emit=lines.append).play()
        )
        (FIXTURE / "frames.jsonl").write_bytes(b"".join(lines))
    (folder,) = [p for p in FIXTURE.iterdir() if p.is_dir()]
    (day,) = recorded_days(FIXTURE, int(folder.name))
    lines = []
    played = DayPlayer(
        int(folder.name), load_day(FIXTURE, int(folder.name), "trader", day), emit=lines.append
    )
    asyncio.run(played.play())
    assert b"".join(lines) == (FIXTURE / "frames.jsonl").read_bytes()
    assert played.played.frames > 20 and played.day.damage is None


def test_a_loaded_day_holds_its_records_as_their_lines_not_as_dicts():
    """A replay page holds its day while it is open: a day of the bench's size (1.2 M
    records) as dicts took ~680 bytes a record (~800 MB); as its JSON lines, read into a
    dict when played, it is what the lines weigh. The records read back are the file's."""
    import tracemalloc

    (folder,) = [p for p in FIXTURE.iterdir() if p.is_dir()]
    (day,) = recorded_days(FIXTURE, int(folder.name))
    path = day_path(FIXTURE, int(folder.name), day)
    as_read = read_day(path).records
    tracemalloc.start()
    try:
        loaded = load_day(FIXTURE, int(folder.name), "trader", day)
        held, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    played = [r for run in loaded.runs for r in run.records]
    assert [r for r in as_read if r["k"] != "start"] == played
    lines = sum(len(orjson.dumps(r)) for r in as_read)
    # the lines, their objects' overhead and the lists: well under twice what they weigh
    assert held < 2 * lines + 64 * len(as_read), (held, lines, len(as_read))
