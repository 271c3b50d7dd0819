"""One replay page's day: the player run for its socket, and the trader's controls.

The page plays, pauses, changes speed (1, 10 or 60 times real time) and jumps to a time
of the day. A jump plays the day again from its start, caught up at full speed to the time
asked, and opens the tab's window there (a snapshot of the stream as it was): the state at 10:31 is
what the stream held at 10:31, never a guess. Every frame the page gets says it is a
replay (`replay`: the replayed time, epoch ms), and a `replay` frame says where the day
stands (docs/streaming-contract.md, "Replay page").
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Protocol

from streaming.instruments.symbols import NEW_YORK
from streaming.replay.day import RecordedDay
from streaming.replay.player import DayPlayer
from streaming.stream.health import QuoteWaits
from streaming.stream.listener import StreamListener

log = logging.getLogger(__name__)

#: The speeds a page offers (times real time).
PAGE_SPEEDS: dict[str, float] = {"1": 1.0, "10": 10.0, "60": 60.0}
#: How often a playing day's `replay` frame says the replayed time (wall seconds).
TICK_EVERY = 0.25
#: What a replay refuses, in the sentence the page shows.
OFF_IN_REPLAY = (
    "Order entry, the kill switch and push are off in a replay: nothing is sent to a "
    "broker or a device."
)


class ReplayRules(Protocol):
    """Rules a page sets in a replay, evaluated against it by listeners of the replayed
    stream (the alerts feature's `ReplayAlerts`, handed in at the composition root)."""

    def listeners(self) -> Sequence[StreamListener]:
        """The listeners of a new run of the day."""
        ...

    def restart(self) -> None:
        """The day plays again from its start."""
        ...

    def add(self, asked: Mapping[str, Any]) -> str:
        """A rule the page set: its sentence, or a ValueError saying what is wrong."""
        ...


class ReplaySession:
    """The day played to one socket (`send`: a frame to it, in order)."""

    def __init__(
        self,
        user_id: int,
        day: RecordedDay,
        send: Callable[[dict[str, Any]], Awaitable[None]],
        *,
        flush_interval: float,
        quote_waits: QuoteWaits | None = None,
        rules: ReplayRules | None = None,
    ) -> None:
        self.user_id = user_id
        self.rules = rules
        self.day = day
        self._send = send
        self._flush_interval = flush_interval
        self._quote_waits = quote_waits
        self.speed = "1"
        self.paused = True
        self.state = "ready"
        self._player: DayPlayer | None = None
        self._task: asyncio.Task[None] | None = None
        self._queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._sender: asyncio.Task[None] | None = None
        self._ticker: asyncio.Task[None] | None = None
        self._generation = 0

    # -- the socket's life ------------------------------------------------------------------
    async def start(self, at_ms: int | None = None) -> None:
        """Open the day (paused) at `at_ms` (None: its start) and say where it stands."""
        self._sender = asyncio.create_task(self._send_frames())
        self._ticker = asyncio.create_task(self._tick())
        if at_ms is not None and not self.day.first_ms <= at_ms <= self.day.last_ms:
            self._refuse(self._outside(at_ms) + " The day opens at its start.")
            at_ms = None
        await self.seek(at_ms)

    async def stop(self) -> None:
        for task in (self._task, self._ticker, self._sender):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

    # -- the controls -----------------------------------------------------------------------
    async def control(self, message: dict[str, Any]) -> None:
        """One of the page's commands: `play`, `pause`, `speed` (`speed`: "1", "10" or
        "60"), `seek` (`at`: epoch ms within the day), `alert` (a rule of `rules`).
        Anything else is refused in a sentence; the day goes on."""
        op = message.get("op")
        if op == "play":
            self._set_paused(False)
        elif op == "pause":
            self._set_paused(True)
        elif op == "speed":
            speed = str(message.get("speed"))
            if speed not in PAGE_SPEEDS:
                self._refuse(f"A replay plays at 1, 10 or 60 times real time, not {speed[:10]!r}.")
                return
            self.speed = speed
            if self._player is not None:
                self._player.speed = PAGE_SPEEDS[speed]
        elif op == "seek":
            at = message.get("at")
            if not isinstance(at, int) or isinstance(at, bool):
                self._refuse("A jump names a time of the day (epoch ms).")
                return
            if not self.day.first_ms <= at <= self.day.last_ms:
                self._refuse(self._outside(at))
                return
            await self.seek(at)
            return
        elif op == "alert":
            self._set_rule(message)
            return
        elif op in ("order", "place", "preview", "cancel", "kill_switch", "push"):
            self._refuse(OFF_IN_REPLAY)
            return
        else:
            self._refuse(
                f"A replay knows play, pause, speed, seek and alert, not {str(op)[:20]!r}."
            )
            return
        self._status()

    async def seek(self, at_ms: int | None) -> None:
        """The day at `at_ms`, standing there as the page stood (playing or paused): a
        time ahead of the running day is caught up from where it is; any other, by playing
        the day again from its start."""
        player, task = self._player, self._task
        if (
            at_ms is not None
            and player is not None
            and task is not None
            and not task.done()
            and player.opened
            and at_ms > player.clock.now_ms()
        ):
            self._drop_queued()  # what the page has not drawn yet is before the jump
            self.state = "seeking"
            self._status()
            player.jump_ahead(at_ms)
            return
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        self._generation += 1
        self._drop_queued()
        if self.rules is not None:
            self.rules.restart()
        player = DayPlayer(
            self.user_id,
            self.day,
            frames=self._frame_for(self._generation),
            speed=PAGE_SPEEDS[self.speed],
            from_ms=at_ms,
            flush_interval=self._flush_interval,
            quote_waits=self._quote_waits,
            listeners=self.rules.listeners if self.rules is not None else None,
        )
        if self.paused:
            player.set_playing(False)
        self._player = player
        self.state = "seeking"
        self._status()
        self._task = asyncio.create_task(self._play(player))

    # -- inside -----------------------------------------------------------------------------
    async def _play(self, player: DayPlayer) -> None:
        try:
            await player.play()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("user %s: replay of %s failed", self.user_id, self.day.day)
            self._refuse("The replay stopped on a record it could not play.")
            return
        if player is self._player:  # the day is over: a jump back stands there, paused
            self.state = "ended"
            self.paused = True
            self._status()

    def _set_paused(self, paused: bool) -> None:
        self.paused = paused
        if self._player is not None:
            self._player.set_playing(not paused)

    def _frame_for(self, generation: int) -> Callable[[dict[str, Any]], None]:
        def frame(f: dict[str, Any]) -> None:
            if generation != self._generation:
                return  # a player a jump replaced
            f["replay"] = self.at_ms()
            self._queue.put_nowait(f)
            if f.get("type") == "snapshot":  # the window is open: the day stands there
                self.state = "playing"
                self._status()

        return frame

    def at_ms(self) -> int:
        """The replayed time now (epoch ms)."""
        return self._player.clock.now_ms() if self._player is not None else self.day.first_ms

    def _status(self) -> None:
        state = self.state
        if state == "playing" and self.paused:
            state = "paused"
        self._queue.put_nowait(
            {
                "type": "replay",
                "replay": self.at_ms(),
                "day": self.day.day.isoformat(),
                "state": state,
                "speed": self.speed,
                "first": self.day.first_ms,
                "last": self.day.last_ms,
            }
        )

    def _set_rule(self, message: dict[str, Any]) -> None:
        if self.rules is None:
            self._refuse("Alerts cannot be set in this replay.")
            return
        try:
            said = self.rules.add(message)
        except ValueError as exc:
            self._refuse(f"No alert set: {exc}.")
            return
        self._queue.put_nowait({"type": "replay_said", "replay": self.at_ms(), "message": said})

    def _refuse(self, message: str) -> None:
        self._queue.put_nowait(
            {"type": "replay_refused", "replay": self.at_ms(), "message": message}
        )

    def _outside(self, at: int) -> str:
        def hms(ms: int) -> str:
            return f"{dt.datetime.fromtimestamp(ms / 1000, NEW_YORK):%H:%M:%S}"

        return (
            f"{self.day.day.isoformat()} was recorded from {hms(self.day.first_ms)} to "
            f"{hms(self.day.last_ms)} New York; {hms(at)} is outside it."
        )

    def _drop_queued(self) -> None:
        while not self._queue.empty():
            self._queue.get_nowait()

    async def _send_frames(self) -> None:
        while True:
            frame = await self._queue.get()
            await self._send(frame)

    async def _tick(self) -> None:
        """The replayed time, every TICK_EVERY while the day plays."""
        while True:
            await asyncio.sleep(TICK_EVERY)
            if self.state == "playing" and not self.paused:
                self._status()
