"""Pacing one token's requests within one of Tradier's rate-limit windows.

Tradier announces each group's window on every answer (`X-Ratelimit-Available`, `-Expiry`
in epoch ms). An answer only tells what the server had counted when it answered, so the
calls still in flight are counted here: a call goes out only while the window has room
for it beside them. Before the first answer the window is unknown, so one call goes
alone; once the known window has expired, a new one is assumed (`Allowed` minus the
calls in flight, which may land in it).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from dataclasses import dataclass

log = logging.getLogger(__name__)

#: Longest a request waits for a rate window to reset (Tradier's windows last a minute).
MAX_RATE_WAIT = 65.0
#: Past the announced Expiry before the next window is assumed open (clock granularity).
EXPIRY_MARGIN = 0.05


@dataclass
class RateState:
    """The newest `X-Ratelimit-*` headers seen for one group."""

    allowed: int | None = None
    used: int | None = None
    available: int | None = None
    expiry_ms: int | None = None

    def room(self, now: float) -> float:
        """Calls the server would take now (ignoring the ones in flight); inf: no limit told."""
        if self.available is None:
            return math.inf
        if self.expiry_ms is not None and now >= self.expiry_ms / 1000 + EXPIRY_MARGIN:
            return math.inf if self.allowed is None else self.allowed  # a new window
        return self.available

    def newer_than(self, other: RateState) -> bool:
        """Whether these headers may replace `other`'s (answers can arrive out of order:
        an older window's, or an earlier count of the same window, never wins)."""
        if self.expiry_ms is None or other.expiry_ms is None:
            return True
        if self.expiry_ms != other.expiry_ms:
            return self.expiry_ms > other.expiry_ms
        return other.available is None or (
            self.available is not None and self.available <= other.available
        )


class RateWindow:
    """One group's window: reserve before a call, answer after it (always, even on error)."""

    def __init__(self, group: str) -> None:
        self.group = group
        self.state: RateState | None = None  # None: no answer yet
        self.in_flight = 0
        self.waits = 0  # times a call waited for the window to reset
        self._lock = asyncio.Lock()  # reservations in order, one at a time
        self._answered = asyncio.Event()

    async def reserve(self) -> None:
        """Wait until the window has room for one more call beside those in flight."""
        async with self._lock:
            while (wait := self._wait_needed(time.time())) > 0:
                if wait < math.inf:
                    self.waits += 1
                    log.info("tradier %s rate window exhausted: waiting %.1f s", self.group, wait)
                self._answered.clear()
                # an answer may widen the room (or tell of a new window) before then
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(
                        self._answered.wait(), None if wait == math.inf else wait
                    )
            self.in_flight += 1

    def answered(self, state: RateState | None) -> None:
        """A call reserved here is over; `state`: its answer's headers, if it had any."""
        self.in_flight -= 1
        if state is not None and (self.state is None or state.newer_than(self.state)):
            self.state = state
        elif self.state is None:
            self.state = RateState()  # answered without headers: nothing to pace by
        self._answered.set()

    def _wait_needed(self, now: float) -> float:
        """Seconds until a call may go (0: now; inf: until a call in flight is answered)."""
        if self.state is None:
            return 0.0 if self.in_flight == 0 else math.inf
        if self.state.room(now) - self.in_flight > 0:
            return 0.0
        expiry_ms = self.state.expiry_ms
        if expiry_ms is not None and now < expiry_ms / 1000 + EXPIRY_MARGIN:
            return min(expiry_ms / 1000 + EXPIRY_MARGIN - now, MAX_RATE_WAIT)
        return math.inf if self.in_flight else 0.0
