"""A replay page's socket, `/ws/replay/<day>/`, through the real ASGI stack
(docs/streaming-contract.md, "Replay page"): the stored day (tests/fixtures/replay/) played
to it alone, its controls, and what it refuses in a sentence."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import orjson
import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth import get_user_model
from django.test import Client

from config.asgi import application
from streaming.contract.frames import ACCOUNT_FRAME_TYPES
from streaming.replay.session import OFF_IN_REPLAY

pytestmark = pytest.mark.django_db(transaction=True)

FIXTURE = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "replay"
#: The stored day's user (its folder's name) and day.
OWNER_ID = 42
DAY = "2026-11-29"
#: How long a frame may take on a loaded box: the day's flush interval and a margin.
WITHIN = 10.0


@pytest.fixture
def recordings(settings, tmp_path: Path) -> Path:
    root = tmp_path / "recordings"
    shutil.copytree(FIXTURE, root, ignore=shutil.ignore_patterns("*.jsonl"))
    settings.STREAM_RECORD_DIR = str(root)
    return root


def stored_frames() -> list[dict]:
    lines = (FIXTURE / "frames.jsonl").read_bytes().splitlines()
    return [orjson.loads(line) for line in lines]


@database_sync_to_async
def cookie_of(username: str, user_id: int) -> bytes:
    user = get_user_model().objects.create_user(username, password="pw", id=user_id)
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}".encode()


def socket(cookie: bytes | None, path: str = f"/ws/replay/{DAY}/") -> WebsocketCommunicator:
    headers = [(b"host", b"localhost"), (b"origin", b"http://localhost")]
    if cookie:
        headers.append((b"cookie", cookie))
    return WebsocketCommunicator(application, path, headers=headers)


async def receive(comm: WebsocketCommunicator, within: float = WITHIN) -> dict:
    return orjson.loads(await comm.receive_from(timeout=within))


async def until(comm: WebsocketCommunicator, predicate, seen: list[dict] | None = None) -> dict:
    deadline = asyncio.get_running_loop().time() + WITHIN
    while True:
        frame = await receive(comm, max(0.1, deadline - asyncio.get_running_loop().time()))
        if seen is not None:
            seen.append(frame)
        if predicate(frame):
            return frame


def without_tag(frame: dict) -> dict:
    return {k: v for k, v in frame.items() if k != "replay"}


async def test_the_day_opens_paused_at_its_start_and_plays_every_account_event(recordings):
    comm = socket(await cookie_of("trader", OWNER_ID))
    connected, _ = await comm.connect(timeout=WITHIN)
    assert connected
    try:
        seen: list[dict] = []
        snap = await until(comm, lambda f: f["type"] == "snapshot", seen)
        stored = stored_frames()
        # the snapshot the command writes first, tagged with the replayed time: the start
        assert without_tag(snap) == stored[0]
        assert snap["replay"] == stored[0]["t"]
        paused = await until(comm, lambda f: f["type"] == "replay" and f["state"] == "paused")
        assert paused["day"] == DAY and paused["speed"] == "1"
        assert paused["first"] <= snap["replay"] <= paused["last"]
        # nothing plays while paused: the next frame the page gets is what it asks for
        await comm.send_to(text_data=orjson.dumps({"op": "speed", "speed": "60"}).decode())
        said = await until(comm, lambda f: f["type"] == "replay")
        assert said["state"] == "paused" and said["speed"] == "60"
        await comm.send_to(text_data=orjson.dumps({"op": "play"}).decode())
        played: list[dict] = []
        await until(comm, lambda f: f["type"] == "replay" and f["state"] == "ended", played)
        frames = [f for f in played if f["type"] != "replay"]
        # every frame says it is a replay, at its replayed time, in order
        assert all(isinstance(f["replay"], int) for f in frames)
        assert [f["replay"] for f in frames] == sorted(f["replay"] for f in frames)
        # nothing lost: the account events are the command's, in its order, each once
        accounts = [without_tag(f) for f in frames if f["type"] in ACCOUNT_FRAME_TYPES]
        assert accounts == [f for f in stored if f["type"] in ACCOUNT_FRAME_TYPES]
        assert len(accounts) >= 10
    finally:
        await comm.disconnect()


async def test_a_jump_plays_the_day_to_that_time_and_shows_the_state_there(recordings):
    stored = stored_frames()
    orders = [f for f in stored if f["type"] == "order"]
    # a time after the first order event and before the last
    at = (orders[0]["t"] + orders[-1]["t"]) // 2
    comm = socket(await cookie_of("trader", OWNER_ID))
    await comm.connect(timeout=WITHIN)
    try:
        first = await until(comm, lambda f: f["type"] == "snapshot")
        await comm.send_to(text_data=orjson.dumps({"op": "seek", "at": at}).decode())
        snap = await until(comm, lambda f: f["type"] == "snapshot")
        assert snap["epoch"] == first["epoch"] and snap["replay"] == at and snap["t"] == at
        # the state there holds what the day did until then, not what came after
        ids = {o["id"] for o in snap["orders"]}
        assert orders[0]["order"]["id"] in ids
        later = [f for f in stored if f["type"] == "order" and f["t"] > at]
        assert later and all(
            o["status"] != later[-1]["order"]["status"]
            for o in snap["orders"]
            if o["id"] == later[-1]["order"]["id"]
        )
        stands = await until(comm, lambda f: f["type"] == "replay" and f["state"] == "paused")
        assert stands["replay"] == at
    finally:
        await comm.disconnect()


@pytest.mark.parametrize(
    ("command", "sentence"),
    [
        ({"op": "order", "symbol": "SPY"}, OFF_IN_REPLAY),
        ({"op": "kill_switch"}, OFF_IN_REPLAY),
        ({"op": "push"}, OFF_IN_REPLAY),
        (
            {"op": "speed", "speed": "1000"},
            "A replay plays at 1, 10 or 60 times real time, not '1000'.",
        ),
        ({"op": "seek", "at": 1}, "is outside it."),
        ({"op": "seek", "at": "10:31"}, "A jump names a time of the day (epoch ms)."),
        ({"op": "dance"}, "A replay knows play, pause, speed, seek and alert, not 'dance'."),
        ("not json", "A replay's command is a JSON object under 1 KiB"),
    ],
)
async def test_what_a_replay_refuses_gets_a_sentence_and_the_day_goes_on(
    recordings, command, sentence
):
    comm = socket(await cookie_of("trader", OWNER_ID))
    await comm.connect(timeout=WITHIN)
    try:
        await until(comm, lambda f: f["type"] == "replay" and f["state"] == "paused")
        text = command if isinstance(command, str) else orjson.dumps(command).decode()
        await comm.send_to(text_data=text)
        refused = await until(comm, lambda f: f["type"] == "replay_refused")
        assert sentence in refused["message"]
        await comm.send_to(text_data=orjson.dumps({"op": "play"}).decode())
        playing = await until(comm, lambda f: f["type"] == "replay")
        assert playing["state"] == "playing"
    finally:
        await comm.disconnect()


async def test_another_user_cannot_replay_the_day_and_is_told_which_days_are_theirs(
    recordings,
):
    comm = socket(await cookie_of("someone", OWNER_ID + 1))
    await comm.connect(timeout=WITHIN)
    error = await receive(comm)
    assert error == {
        "type": "replay_error",
        "message": f"someone has no recording of {DAY}; the days recorded are: none.",
    }
    assert (await comm.receive_output(timeout=WITHIN))["type"] == "websocket.close"


async def test_not_a_day_is_said_and_anonymous_sockets_are_closed_4401(recordings):
    comm = socket(await cookie_of("trader", OWNER_ID), "/ws/replay/yesterday/")
    await comm.connect(timeout=WITHIN)
    assert await receive(comm) == {
        "type": "replay_error",
        "message": "'yesterday' is not a day (YYYY-MM-DD).",
    }
    await comm.disconnect()
    anonymous = socket(None)
    connected, code = await anonymous.connect(timeout=WITHIN)
    assert not connected and code == 4401


def test_a_jump_ahead_shows_the_state_a_replay_from_the_start_shows_there():
    """A jump forward goes on from where the day stands (catching up at full speed); its
    snapshot there is the one the day played from its start gives at that time, field
    for field."""
    import datetime as dt

    from streaming.replay.day import load_day
    from streaming.replay.player import DayPlayer

    day = load_day(FIXTURE, OWNER_ID, "trader", dt.date.fromisoformat(DAY))
    orders = [f for f in stored_frames() if f["type"] == "order"]
    at = (orders[0]["t"] + orders[-1]["t"]) // 2

    async def from_the_start() -> dict:
        snaps: list[dict] = []
        player = DayPlayer(OWNER_ID, day, frames=snaps.append, from_ms=at)
        await player.play()
        return next(f for f in snaps if f["type"] == "snapshot")

    async def jumped() -> dict:
        seen: list[dict] = []
        player = DayPlayer(OWNER_ID, day, frames=seen.append, speed=1.0)
        player.set_playing(False)
        task = asyncio.create_task(player.play())
        while not seen:  # the day opens at its start (a snapshot), then stands
            await asyncio.sleep(0.01)
        player.jump_ahead(at)
        while len([f for f in seen if f["type"] == "snapshot"]) < 2:
            await asyncio.sleep(0.01)
        task.cancel()
        return [f for f in seen if f["type"] == "snapshot"][1]

    expected = asyncio.run(from_the_start())
    got = asyncio.run(jumped())
    assert got["t"] == expected["t"] == at
    assert got == expected


@database_sync_to_async
def deliveries_of(user_id: int) -> int:
    from streaming.models import AlertTrigger, PushDelivery

    return (
        PushDelivery.objects.filter(user_id=user_id).count()
        + AlertTrigger.objects.filter(user_id=user_id).count()
    )


async def test_an_alert_set_in_a_replay_fires_on_the_replayed_quotes_and_reaches_no_device(
    recordings,
):
    """Set on the replay's socket, the alert is the live stream's own runner's to evaluate
    (attached to the replayed manager): it fires at the replayed quote's time, as an
    `alert` frame tagged with the replayed time, and nothing of it reaches the database,
    a push or an e-mail."""
    stored = stored_frames()
    comm = socket(await cookie_of("trader", OWNER_ID))
    await comm.connect(timeout=WITHIN)
    try:
        await until(comm, lambda f: f["type"] == "replay" and f["state"] == "paused")
        ask = {"op": "alert", "symbol": "SPY", "condition": "above", "level": "1"}
        await comm.send_to(text_data=orjson.dumps(ask).decode())
        said = await until(comm, lambda f: f["type"] == "replay_said")
        assert said["message"] == (
            "Alert set in this replay: SPY above 1.00. It is evaluated against the replayed "
            "day and never reaches a device."
        )
        bad = {"op": "alert", "symbol": "SPY", "condition": "sideways", "level": "1"}
        await comm.send_to(text_data=orjson.dumps(bad).decode())
        refused = await until(comm, lambda f: f["type"] == "replay_refused")
        assert refused["message"] == (
            "No alert set: condition must be one of above, below, move_up, move_down."
        )
        await comm.send_to(text_data=orjson.dumps({"op": "speed", "speed": "60"}).decode())
        await comm.send_to(text_data=orjson.dumps({"op": "play"}).decode())
        fired = await until(comm, lambda f: f["type"] == "alert")
        alert = fired["alert"]
        assert alert["symbol"] == "SPY" and alert["condition"] == "above"
        assert alert["message"].startswith("SPY rose to ") and alert["message"].endswith(
            ", above 1.00"
        )
        # when it would have fired: the replayed quote's time, within the day
        assert stored[0]["t"] <= alert["at"] <= fired["replay"]
        await until(comm, lambda f: f["type"] == "replay" and f["state"] == "ended")
    finally:
        await comm.disconnect()
    assert await deliveries_of(OWNER_ID) == 0
