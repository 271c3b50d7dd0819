"""Playing a recorded day through the live stream's path (docs/streaming.md, "Replaying a
day").

Each run of the day gets a `UserStreamManager` as a live stream does, on a `ReplayClock`,
with a `ReplayAdapter` per recorded link where a live one has a broker's adapter; each
record goes into its link's sink as the adapter reported it. Between two records the
player moves the clock to every wait that ends before the next one (the flush interval,
the sweeps), earliest first, and lets the woken task run: with nothing else deciding the
order, a day played twice at full speed publishes the same frames.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from streaming.brokers.base import AdapterSink
from streaming.contract.frames import SnapshotFrame
from streaming.replay.day import RecordedDay, Run
from streaming.runtime.clock import ReplayClock
from streaming.stream.health import QuoteWaits
from streaming.stream.listener import QuietHooks, StreamHost, StreamListener
from streaming.stream.manager import UserStreamManager
from streaming.stream.outbox import Frame

#: The speeds a day plays at (None: as fast as the machine goes).
SPEEDS: dict[str, float | None] = {"1": 1.0, "10": 10.0, "60": 60.0, "max": None}
#: Turns of the event loop given to the stream after each wake of its clock and each record
#: that sends a frame: enough for the woken task to run and the sender to publish (three or
#: four hops). A fixed number, so the order of what happens never depends on the machine.
SETTLE_TURNS = 8
#: Records that only change the state and the next batch (no task wakes for them): played
#: without turns of the loop, most of a day's records.
STATE_ONLY = frozenset({"quote", "greeks"})
#: The account event kinds a sink takes (brokers/base.py, `AccountKind`).
ACCOUNT_KINDS = frozenset({"balance", "position", "positions", "order"})


class ReplayDemand(QuietHooks):
    """What the day's pages and listeners asked the stream for (its `wanted` records), asked
    again: the replayed stream is subscribed to what the live one was, so a quote source
    whose quotes stopped because nothing wanted them is not shown stale in the replay."""

    def __init__(self) -> None:
        self.wanted: set[str] = set()
        self._stream: StreamHost | None = None

    def attach(self, stream: StreamHost) -> None:
        self._stream = stream

    async def run(self) -> None:
        await asyncio.get_running_loop().create_future()  # until the run is stopped

    def symbols(self) -> set[str]:
        return self.wanted

    def asked(self, symbols: list[str]) -> None:
        self.wanted = set(symbols)
        if self._stream is not None:
            self._stream.symbols_changed()


class ReplayAdapter:
    """A recorded link, where a live stream runs a broker's adapter: it hands the player
    its sink and then waits, as an adapter streams until it is stopped."""

    def __init__(self, link_id: int) -> None:
        self.link_id = link_id
        self.sink: AdapterSink | None = None

    async def run(self, sink: AdapterSink) -> None:
        self.sink = sink
        await asyncio.get_running_loop().create_future()  # until the run is stopped

    def set_symbols(self, symbols: set[str]) -> None:
        """The recorded day streamed what it streamed: nothing to subscribe."""

    def stopping(self) -> None:
        """Nothing reconnects."""


@dataclass
class Played:
    """What a replay did: frames written, records played, quotes the recording left out."""

    frames: int = 0
    records: int = 0
    left_out: int = 0
    runs: int = 0
    #: The stream's state when the last run played ended (its snapshot).
    final: SnapshotFrame | None = None


class DayPlayer:
    """Plays a `RecordedDay` to one tab: `emit` gets each frame the tab would have received
    in the window (`from_ms`, `to_ms`; None: the day's start, its end), as a JSON line with
    sorted keys, and `frames` the frame itself (a replay page's socket)."""

    def __init__(
        self,
        user_id: int,
        day: RecordedDay,
        *,
        emit: Callable[[bytes], object] | None = None,
        frames: Callable[[dict[str, Any]], object] | None = None,
        speed: float | None = None,
        from_ms: int | None = None,
        to_ms: int | None = None,
        flush_interval: float = 0.15,
        quote_waits: QuoteWaits | None = None,
        listeners: Callable[[], Sequence[StreamListener]] | None = None,
    ) -> None:
        self.user_id = user_id
        self.day = day
        self._emit = emit
        self._frames = frames
        #: Times real time once the tab's window is open (None: as fast as it goes); a
        #: replay page changes it while the day plays.
        self.speed = speed
        #: False: the day stands still at the next wait (a replay page's pause:
        #: `set_playing`); `_changed` wakes it for a play or a jump.
        self._playing = True
        self._changed = asyncio.Event()
        self.from_ms = from_ms if from_ms is not None else day.first_ms
        self.to_ms = to_ms
        self.flush_interval = flush_interval
        self.quote_waits = quote_waits
        #: Listeners beside the day's demand for each run (a replay page's alerts).
        self._listeners = listeners
        self.clock = ReplayClock(day.first_ms / 1000)
        self.played = Played()
        self._manager: UserStreamManager | None = None
        self._open = False

    async def play(self) -> Played:
        for number, run in enumerate(self.day.runs, 1):
            if self._past_window(run.started_ms):
                break
            await self._play_run(number, run)
        return self.played

    # -- one run ----------------------------------------------------------------------------
    async def _play_run(self, number: int, run: Run) -> None:
        await self._advance_to(run.started_ms)
        adapters = {info.id: ReplayAdapter(info.id) for info in run.links}
        epoch = f"r{self.day.day:%Y%m%d}n{number}"
        options: dict[str, Any] = {}
        if self.quote_waits is not None:
            options["quote_waits"] = self.quote_waits
        demand = ReplayDemand()
        manager = UserStreamManager(
            self.user_id,
            links=[(info, adapters[info.id]) for info in run.links],
            listeners=[demand, *(self._listeners() if self._listeners else ())],
            publish=self._publish,
            flush_interval=self.flush_interval,
            watchlist=(list(run.watchlist), run.version),
            clock=self.clock,
            epoch=epoch,
            **options,
        )
        self._manager = manager
        self.played.runs += 1
        await manager.start()
        await _settle()
        if self._open:
            self._snapshot()  # the tab's stream started again: a new epoch, a snapshot
        try:
            for record in run.records:
                t = int(record.get("t", 0))
                if self._past_window(t):
                    break
                await self._advance_to(t)
                await self._play(manager, adapters, demand, record)
                if record.get("k") not in STATE_ONLY:
                    await _settle()
            else:
                # the last batch goes out one flush interval after the run's last record
                await self._advance_to(self._last_ms(run) + int(self.flush_interval * 1000))
        finally:
            self.played.final = manager.snapshot()
            self._manager = None
            await manager.stop()

    async def _play(
        self,
        manager: UserStreamManager,
        adapters: dict[int, ReplayAdapter],
        demand: ReplayDemand,
        record: dict,
    ) -> None:
        kind = record.get("k")
        d = record.get("d")
        self.played.records += 1
        if kind == "stop":
            return  # the clock has come to it: the run ends
        if kind == "sampled":
            self.played.left_out += int(record.get("left_out", 0))
            return
        if kind == "watchlist" and isinstance(d, dict):
            manager.set_watchlist(list(d.get("symbols", [])), int(d.get("version", 0)))
            return
        if kind == "wanted" and isinstance(d, list):
            demand.asked([str(s) for s in d])
            return
        adapter = adapters.get(int(record.get("link", -1)))
        sink = adapter.sink if adapter is not None else None
        if sink is None:
            return  # a link the run did not start with: nothing streams it
        link_id = adapter.link_id if adapter else 0
        if kind == "quote":
            sink.quote(str(record["sym"]), d)  # type: ignore[arg-type]
        elif kind == "greeks":
            sink.greeks(str(record["sym"]), d)  # type: ignore[arg-type]
        elif kind == "fresh":
            sink.fresh(link_id, str(d))
        elif kind == "status" and isinstance(d, dict):
            extra = d.get("extra") or {}
            reason = str(d.get("reason", ""))
            await sink.status(link_id, str(d["state"]), reason, kind=str(d["kind"]), **extra)
        elif kind in ACCOUNT_KINDS:
            await sink.account_event(kind, link_id, str(record["acct"]), d)  # type: ignore[arg-type]

    # -- the clock ----------------------------------------------------------------------------
    async def _advance_to(self, t_ms: int) -> None:
        """Move the clock to `t_ms`, through every wait that ends before it; the tab's
        window opens on the way (its snapshot)."""
        if not self._open and self.from_ms <= t_ms:
            await self._advance_plain(self.from_ms / 1000)
            await _settle()  # what was sent before the window is published before it opens
            self._open = True
            self._snapshot()
        await self._advance_plain(t_ms / 1000)

    async def _advance_plain(self, to: float) -> None:
        """The clock to `to`; at the player's speed once the tab's window is open (what
        comes before it is caught up at full speed)."""
        clock = self.clock
        while True:
            wake = clock.next_wake()
            step = wake if wake is not None and wake <= to else to
            if self._open and step > clock.time():  # the day moves on: as fast as it plays
                await self._stand()
                if self._open and self.speed is not None:
                    await asyncio.sleep((step - clock.time()) / self.speed)
            if not clock.advance(to):
                return
            await _settle()

    async def _stand(self) -> None:
        """While the tab's window is open and the day paused: wait for a play or a jump."""
        while self._open and not self._playing:
            self._changed.clear()
            await self._changed.wait()

    def set_playing(self, playing: bool) -> None:
        """Play on, or stand still at the next wait (a replay page's play and pause)."""
        self._playing = playing
        self._changed.set()

    def jump_ahead(self, at_ms: int) -> None:
        """The tab's window opens again at `at_ms`, later than now: what comes before it
        is caught up at full speed, then a snapshot (a replay page's jump forward: the day
        goes on from where it is instead of from its start)."""
        if at_ms <= self.clock.now_ms():
            raise ValueError("a jump ahead goes forward")
        self.from_ms = at_ms
        self._open = False
        self._changed.set()

    def _past_window(self, t_ms: int) -> bool:
        return self.to_ms is not None and t_ms >= self.to_ms

    @staticmethod
    def _last_ms(run: Run) -> int:
        return int(run.records[-1]["t"]) if run.records else run.started_ms

    # -- the tab ------------------------------------------------------------------------------
    async def _publish(self, frame: Frame, text: str) -> None:
        if frame["type"] == "head" or not self._open:
            return  # `head` is between processes, not a tab's
        self._write(orjson.loads(text))

    def _snapshot(self) -> None:
        if self._manager is not None:
            self._write(dict(self._manager.snapshot()))

    def _write(self, frame: dict[str, Any]) -> None:
        # serialized now: a snapshot's values are the state's own objects, which the day
        # goes on changing (a page's socket sends it later)
        line = orjson.dumps(frame, option=orjson.OPT_SORT_KEYS)
        if self._frames is not None:
            self._frames(orjson.loads(line))
        if self._emit is not None:
            self._emit(line + b"\n")
        self.played.frames += 1

    @property
    def opened(self) -> bool:
        """Whether the tab's window is open (its snapshot sent)."""
        return self._open


async def _settle() -> None:
    for _ in range(SETTLE_TURNS):
        await asyncio.sleep(0)


def day_window(day: dt.date, hhmm: str | None, zone: dt.tzinfo) -> int | None:
    """`HH:MM` of `day` in `zone` as epoch ms (None: not given); a `ValueError` saying why
    when it is not a time of day."""
    if hhmm is None:
        return None
    try:
        at = dt.time.fromisoformat(hhmm)
    except ValueError:
        raise ValueError(f"{hhmm!r} is not a time of day (HH:MM, New York time).") from None
    return int(dt.datetime.combine(day, at, zone).timestamp() * 1000)
