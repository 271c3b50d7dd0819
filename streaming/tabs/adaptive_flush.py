"""Fewer, fuller quote frames under load: each socket's flush interval, and the one task
per process that paces them (docs/streaming-contract.md, "Under load").

Lightstreamer's "max frequency", adapted: a socket (its `TabSession`) sends `quotes`
frames at most once per its interval, merging what arrives meanwhile (latest wins per
symbol, `t` kept). The interval is the manager's batch period while all is well (then
frames pass straight through: no added delay), doubles up to `MAX_INTERVAL` when the
socket's transport is backed up or the process is saturated, and halves back when not.

Two inputs, measured where they are cheap:
- the socket's backlog, which the tab reads before every frame anyway (`FlushPace`);
- the event loop's lag, measured **once per process** by `AdaptiveFlusher`'s tick (`ProcessLoad`):
  a saturated process raises every socket's floor at once, with no work per socket.

Merged values go out with the socket's next quote frame after the interval (the fan-out
already runs the tab then: no wake-up of its own, and the newest values ride along).
`AdaptiveFlusher`'s one tick per process (every `TICK`) sends what waits on sockets no frame came
to (the last values before a pause) and the held values of slow sockets once their
backlog drains: no timer or task per socket. Measured against a process-wide timer that
sends every merge when due: docs/performance.md, "Per-socket adaptive flush".
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from dataclasses import dataclass
from typing import Protocol

import orjson
from django.conf import settings

from streaming import metrics
from streaming.contract.frames import QuotesFrame

log = logging.getLogger(__name__)

#: The longest a socket's quote frames are conflated (seconds; `hello.max_flush_ms`).
MAX_INTERVAL = 1.0
#: A socket's backlog (bytes not taken by its client) above which its interval doubles...
GROW_BACKLOG = 16 * 1024
#: ...and at or below which it halves back.
SHRINK_BACKLOG = 4 * 1024
#: How often the process measures its loop lag and looks at waiting sockets (seconds).
TICK = 0.05
#: A socket's merged values wait this long past its interval for a frame to carry them
#: before the tick sends them: one batch period, so while quotes tick a frame nearly
#: always comes first and the merged frame leaves with the newest values (measured:
#: docs/performance.md); only the last values before a pause wait for the tick.
STRAGGLER_GRACE = 0.15
#: How often the tick adds the pacing's plain counts to the metrics (seconds).
PUBLISH_EVERY = 1.0


def min_interval() -> float:
    """The manager's batch period: the shortest interval (no added delay)."""
    return float(settings.STREAM_FLUSH_INTERVAL)


def saturated_lag() -> float:
    """The event loop ran this late (seconds): the process is saturated, every floor doubles..."""
    return float(settings.STREAM_LOOP_LAG_SATURATED)


def calm_lag() -> float:
    """...and under this for a whole interval, it is calm again: the floor halves."""
    return float(settings.STREAM_LOOP_LAG_CALM)


class PacingCounts:
    """What the pacing does, in plain ints the per-frame path adds to (a metric write per
    frame would cost more than the frame): `AdaptiveFlusher`'s tick publishes them once a second."""

    __slots__ = ("merged", "paced")

    def __init__(self) -> None:
        #: Streams whose own interval is above the minimum now.
        self.paced = 0
        #: Quotes frames merged into a later one, by reason (not yet published).
        self.merged = {"paced": 0, "held": 0}


class FlushPace:
    """One socket's interval and when its next quote frame may go out (plain state: the
    tab updates it as frames pass, nothing runs for it); whether it is paced counts in
    the process's `counts`."""

    __slots__ = ("asked", "counts", "floor", "interval", "next_at")

    def __init__(self, minimum: float, counts: PacingCounts) -> None:
        self.counts = counts
        self.floor = minimum
        self.interval = minimum
        self.next_at = 0.0
        #: The interval the client asked for (`pace`; seconds, 0: none).
        self.asked = 0.0

    def effective(self, process_floor: float) -> float:
        return max(self.interval, process_floor, self.asked)

    def due(self, now: float) -> bool:
        """Whether the interval since the last quote frame has passed (a quarter of the
        minimum early counts: frames come at the batch period, give or take jitter)."""
        return now >= self.next_at - self.floor / 4

    def sent(self, now: float, backlog: int, floor: float) -> None:
        """A quote frame went out: adapt the interval to the backlog, and start it."""
        was_paced = self.interval > self.floor
        if backlog > GROW_BACKLOG:
            self.interval = min(self.interval * 2, MAX_INTERVAL)
        elif backlog <= SHRINK_BACKLOG:
            self.interval = max(self.interval / 2, self.floor)
        self.next_at = now + max(self.interval, floor, self.asked)
        if (self.interval > self.floor) != was_paced:
            self.counts.paced += -1 if was_paced else 1

    def release(self) -> None:
        """The socket ended: it is not paced any more."""
        if self.interval > self.floor:
            self.counts.paced -= 1
        self.interval = self.floor


class ProcessLoad:
    """The process's floor under every socket's interval, from its event loop's lag: a
    number of doublings of the batch period (0: no floor), so it follows the setting."""

    def __init__(self, minimum: float | None = None) -> None:
        self._minimum = minimum
        self.reset()

    def reset(self) -> None:
        self.level = 0
        self.lag = 0.0
        self._changed_at = float("-inf")
        self._calm_since: float | None = None

    @property
    def interval(self) -> float:
        base = self._minimum if self._minimum is not None else min_interval()
        return min(base * 2**self.level, MAX_INTERVAL)

    def floor(self) -> float:
        """What every socket's interval is at least now (0.0: the process is not
        saturated, each socket paces by its own backlog)."""
        return self.interval if self.level else 0.0

    def report_lag(self, lag: float, now: float | None = None) -> None:
        """One measurement of how late the loop ran: double the floor when saturated (at
        most once per floor), halve it after a whole floor of calm."""
        now = time.monotonic() if now is None else now
        self.lag = lag
        if lag > saturated_lag():
            self._calm_since = None
            if now - self._changed_at >= self.interval and self.interval < MAX_INTERVAL:
                self.level += 1
                self._changed_at = now
            return
        if lag >= calm_lag():
            self._calm_since = None
            return
        if self._calm_since is None:
            self._calm_since = now
        if self.level and now - max(self._calm_since, self._changed_at) >= self.interval:
            self.level -= 1
            self._changed_at = now


class FlushPolicy(Protocol):
    """When a socket's merged quotes leave: production sends them with the next frame
    that arrives once the interval has passed (`ArrivalFlush`); bench/adaptive_flush.py
    hands the session its alternative (only from the tick) to measure against it."""

    def with_arriving_frame(self, pace: FlushPace, now: float) -> bool:
        """Whether a frame arriving now carries the merged values out."""
        ...

    def by_tick(self, pace: FlushPace, now: float) -> bool:
        """Whether the process's tick sends them now (no frame came to carry them)."""
        ...


@dataclass(frozen=True)
class ArrivalFlush:
    """Merged values leave with the next frame after the interval; the tick sends them
    only `grace` later (the last values before a pause). A value: every tab shares it."""

    grace: float = STRAGGLER_GRACE

    def with_arriving_frame(self, pace: FlushPace, now: float) -> bool:
        return pace.due(now)

    def by_tick(self, pace: FlushPace, now: float) -> bool:
        return pace.due(now - self.grace)


#: What every tab uses.
ON_ARRIVAL = ArrivalFlush()


class Waiting(Protocol):
    """A socket with values waiting (a tab's `QuotePacing`)."""

    async def flush_waiting(self, now: float) -> bool:
        """Send what waits if it is time; True when nothing waits any more."""
        ...


class AdaptiveFlusher:
    """The one task per process: measures the loop lag every `TICK` and sends what waits
    on sockets whose interval passed without a frame (or whose backlog drained). Runs
    while the process has open tabs. The process's node holds it (streaming/node.py),
    and with it the process's load and pacing counts, which every tab reads and adds to."""

    def __init__(self) -> None:
        #: The floor under every socket's interval, from this process's loop lag.
        self.load = ProcessLoad()
        #: What the tabs' pacing did since the last publish.
        self.counts = PacingCounts()
        self._open = 0
        self._waiting: dict[int, Waiting] = {}
        self._task: asyncio.Task[None] | None = None
        #: How merged values left: with a frame ("arrival") or by the tick ("tick").
        self.sent = {"arrival": 0, "tick": 0}
        #: The floor and the paced count last written to the metrics.
        self._shown: tuple[float, int] | None = None

    def opened(self) -> None:
        """A tab opened: the process measures its load while it has any."""
        self._open += 1
        self._ensure_running()

    def closed(self, tab: Waiting) -> None:
        self._open = max(0, self._open - 1)
        self._waiting.pop(id(tab), None)

    def wait(self, tab: Waiting) -> None:
        """`tab` has values waiting: the tick looks at it until it says none wait."""
        self._waiting[id(tab)] = tab
        self._ensure_running()

    def done(self, tab: Waiting) -> None:
        self._waiting.pop(id(tab), None)

    def _ensure_running(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name="quote-flusher")

    async def _run(self) -> None:
        load = self.load
        expected = time.monotonic() + TICK
        published_at = expected
        while self._open or self._waiting:
            await asyncio.sleep(max(0.0, expected - time.monotonic()))
            now = time.monotonic()
            lag = max(0.0, now - expected)
            load.report_lag(lag, now)
            metrics.LOOP_LAG.observe(lag)
            expected = now + TICK
            floor_shown = self._shown[0] if self._shown else None
            if load.floor() != floor_shown or now - published_at >= PUBLISH_EVERY:
                self.publish()  # once a second, and a floor change at once
                published_at = now
            for key, tab in list(self._waiting.items()):
                try:
                    if await tab.flush_waiting(now):
                        self._waiting.pop(key, None)
                except Exception:  # one broken tab must not stop the others' flushes
                    log.exception("flushing a tab's waiting values failed")
                    self._waiting.pop(key, None)
        load.reset()
        self.publish()

    def publish(self) -> None:
        """Add the pacing's counts to the metrics; show the floor and the paced streams."""
        counts = self.counts
        for reason, n in counts.merged.items():
            if n:
                metrics.QUOTE_FRAMES_MERGED.labels(reason).inc(n)
                counts.merged[reason] = 0
        shown = (self.load.floor(), counts.paced)
        if shown != self._shown:
            metrics.FLUSH_FLOOR.set(shown[0])
            metrics.STREAMS_PACED.set(shown[1])
            self._shown = shown

    async def stop(self) -> None:
        """For tests: end the task now."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


@functools.lru_cache(maxsize=1)
def parsed(text: str) -> QuotesFrame:
    """A `quotes` frame's JSON, parsed once for all the tabs the fan-out hands the same
    text to in turn (read only: callers copy what they keep)."""
    frame: QuotesFrame = orjson.loads(text)
    return frame
