"""Pacing one token's requests within one of Tradier's rate-limit windows.

Tradier announces each group's window on every answer (`X-Ratelimit-Available`, `-Expiry`
in epoch ms). An answer only tells what the server had counted when it answered, so the
calls still in flight are counted here: a call goes out only while the window has room
for it beside them. Before the first answer the window is unknown, so one call goes
alone; once the known window has expired, a new one is assumed (`Allowed` minus the
calls in flight, which may land in it).

Calls are not equally urgent. Tradier has no order push, so the order poll is how a fill or
a triggered stop reaches the page within its interval, while balances and positions are
re-read for what an account is worth. A less urgent call says what room it leaves for the
others (a `Reserve`: the calls the order schedule will make before the window ends); it
waits for the next window rather than take that room, and it never holds an urgent call
behind it while it waits.
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
#: A window's length until one was seen begin (Tradier's are a minute).
DEFAULT_WINDOW = 60.0
#: The most of a window a reserve keeps: less urgent calls always get the rest.
MAX_KEPT_SHARE = 0.5


@dataclass(frozen=True)
class Reserve:
    """Room a less urgent call leaves in the window: `base` calls (those an order call may
    wake at any time) plus `per_second` for each second the window has left (the order
    schedule's), at most `MAX_KEPT_SHARE` of the window."""

    per_second: float = 0.0
    base: int = 0

    def calls(self, seconds_left: float, *, allowed: int) -> int:
        due = self.base + math.ceil(self.per_second * max(0.0, seconds_left) - 1e-9)
        return min(due, int(allowed * MAX_KEPT_SHARE))


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
        self.waits = 0  # calls that waited for the window to reset
        self.urgent_waits = 0  # of them, calls that kept no room (the order polls')
        #: Seconds from a window's first answer to its Expiry, as last seen.
        self.length = DEFAULT_WINDOW
        #: Set (and replaced) at every answer: waiters look at the window again.
        self._answered = asyncio.Event()

    async def reserve(self, keep: Reserve | None = None) -> None:
        """Wait until the window has room for one more call beside those in flight and
        the room `keep` leaves for more urgent calls."""
        counted = False
        while (wait := self._wait_needed(time.time(), keep)) > 0:
            if wait < math.inf and not counted:
                counted = True
                self.waits += 1
                self.urgent_waits += keep is None
                log.info("tradier %s rate window exhausted: waiting %.1f s", self.group, wait)
            answered = self._answered  # an answer may widen the room (or tell of a new window)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(answered.wait(), None if wait == math.inf else wait)
        self.in_flight += 1  # no await since the look: no other call took the room

    def answered(self, state: RateState | None) -> None:
        """A call reserved here is over; `state`: its answer's headers, if it had any."""
        self.in_flight -= 1
        if state is not None and (self.state is None or state.newer_than(self.state)):
            previous = self.state
            if state.expiry_ms is not None and (
                previous is None or previous.expiry_ms != state.expiry_ms
            ):  # a window's first answer: its length, for the room a reserve keeps
                self.length = max(EXPIRY_MARGIN, state.expiry_ms / 1000 - time.time())
            self.state = state
        elif self.state is None:
            self.state = RateState()  # answered without headers: nothing to pace by
        self._answered.set()
        self._answered = asyncio.Event()

    def _wait_needed(self, now: float, keep: Reserve | None = None) -> float:
        """Seconds until a call may go (0: now; inf: until a call in flight is answered)."""
        if self.state is None:
            return 0.0 if self.in_flight == 0 else math.inf
        room = self.state.room(now) - self.in_flight
        expiry_ms = self.state.expiry_ms
        current = expiry_ms is not None and now < expiry_ms / 1000 + EXPIRY_MARGIN
        if keep is not None and room < math.inf and self.state.allowed is not None:
            left = expiry_ms / 1000 - now if current and expiry_ms is not None else self.length
            room -= keep.calls(left, allowed=self.state.allowed)
        if room > 0:
            return 0.0
        if current and expiry_ms is not None:
            return min(expiry_ms / 1000 + EXPIRY_MARGIN - now, MAX_RATE_WAIT)
        return math.inf if self.in_flight else 0.0
