"""The stream's time: the machine's, or a replayed day's (docs/streaming.md, "Replaying a day").

Everything the stream tier stamps or waits on reads the clock its manager was built with:
a frame's `t`, a link's `since`, an account event's receipt time, the flush interval's
wait, the staleness sweeps. A live stream runs on `SYSTEM`. A replay builds its stream on a
`ReplayClock` that moves only when the replay moves it, so a day played twice at full
speed writes the same frames, byte for byte.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from dataclasses import dataclass
from typing import Protocol


class Clock(Protocol):
    """A source of time: wall-clock seconds, monotonic seconds and waits on them."""

    def time(self) -> float:
        """Seconds since the epoch."""

    def monotonic(self) -> float:
        """Seconds that never go back (for intervals)."""

    async def sleep(self, seconds: float) -> None:
        """Wait `seconds` of this clock's time."""

    def now_ms(self) -> int:
        """Whole milliseconds since the epoch (a frame's `t`)."""


@dataclass(frozen=True)
class SystemClock:
    """The machine's time: what a live stream runs on."""

    def time(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)

    def now_ms(self) -> int:
        return int(time.time() * 1000)


SYSTEM = SystemClock()


class ReplayClock:
    """A replayed day's time: it stands still until `advance` moves it. A wait ends when the
    replay moves the clock past its end, the earliest first (ties in the order they began).
    Its monotonic time is its wall time: a replay never goes back."""

    def __init__(self, start: float) -> None:
        self._now = start
        self._waits: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    def time(self) -> float:
        return self._now

    def monotonic(self) -> float:
        return self._now

    def now_ms(self) -> int:
        return int(self._now * 1000)

    async def sleep(self, seconds: float) -> None:
        future = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waits, (self._now + max(seconds, 0.0), next(self._order), future))
        await future

    def next_wake(self) -> float | None:
        """When the earliest wait ends (None: nothing waits)."""
        while self._waits and self._waits[0][2].done():  # a cancelled wait
            heapq.heappop(self._waits)
        return self._waits[0][0] if self._waits else None

    def advance(self, to: float) -> bool:
        """Move the clock to the earliest wait ending at or before `to` and end it (True),
        or to `to` if none does (False). The replay lets the woken task run before it
        advances again, so each wait sees the time it asked for."""
        wake = self.next_wake()
        if wake is not None and wake <= to:
            at, _, future = heapq.heappop(self._waits)
            self._now = max(self._now, at)
            future.set_result(None)
            return True
        self._now = max(self._now, to)
        return False
