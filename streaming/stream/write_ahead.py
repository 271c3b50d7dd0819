"""Account frames written ahead to the user's event log, by the stream's owner only.

Every account frame is numbered by the state and written to the log before it is
published: a tab that resumes from a position then finds every frame after it there.
The log itself lives in the cluster (streaming/cluster/eventlog.py) and is handed in as
a `WriteAheadLog`; a write the log refuses (`Fenced`) means another process owns the
user now, and this stream must stop speaking for them.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Sequence
from typing import Any, Protocol

from streaming import metrics
from streaming.stream.position import Fenced, Position

log = logging.getLogger(__name__)

#: The newest account frames an owner keeps, to put back into a store that lost them (a
#: Redis restart, or writes that failed while it was away): relays then fill their gaps
#: from the log instead of resyncing (about 0.5 KiB each).
RECENT_FRAMES = 200


class WriteAheadLog(Protocol):
    """What the stream's owner needs from the event log."""

    async def open(self, user_id: int, owner: str) -> Position:
        """The head a new owner continues from; starts a new epoch if there is none."""
        ...

    def append_soon(
        self, user_id: int, owner: str, position: Position, text: str
    ) -> asyncio.Future[None]:
        """The frame's append, sent now (writes leave in the order they are made); the
        future is done once the frame is in the log (Fenced if not ours)."""
        ...

    async def restore(
        self, user_id: int, owner: str, head: Position, frames: Sequence[tuple[int, str]] = ()
    ) -> None:
        """Put the owner's head back if the store lost it, with the newest `frames`
        ((seq, frame), oldest first) it still holds (Fenced if not ours)."""
        ...


def _count_write(written: asyncio.Future[Any]) -> None:
    """A frame's write to the event log ended: counted if it worked. Reading its exception
    also marks it seen (a stopped sender never reads it; asyncio would log it)."""
    if not written.cancelled() and written.exception() is None:
        metrics.ACCOUNT_EVENTS_LOGGED.inc()


class WriteAhead:
    """One user's writes to the event log (none without a log), and whether it fenced us."""

    def __init__(self, user_id: int, owner: str, event_log: WriteAheadLog | None) -> None:
        self.user_id = user_id
        self.owner = owner
        self._log = event_log
        #: Set when the event log refused a write: another process owns this user now.
        self.fenced = False
        self._recent: deque[tuple[Position, str]] = deque(maxlen=RECENT_FRAMES)

    async def open(self) -> Position | None:
        """The head to continue from (None without a log)."""
        if self._log is None:
            return None
        return await self._log.open(self.user_id, self.owner)

    def write(self, position: Position, text: str) -> asyncio.Future[None] | None:
        """The frame's write, sent now (a user's writes leave in seq order); None without
        a log. Its outcome is read by whoever awaits it (`wait`)."""
        self._recent.append((position, text))
        if self._log is None or self.fenced:
            return None
        written = self._log.append_soon(self.user_id, self.owner, position, text)
        written.add_done_callback(_count_write)
        return written

    async def wait(self, written: asyncio.Future[None]) -> None:
        """Wait for a frame's write to the log; a fenced write means we are not the owner
        any more; any other failure (Redis away) leaves a hole in the log: the frame still
        goes out, and a socket that needs it from the log takes a fresh snapshot."""
        try:
            await written
        except Fenced:
            if not self.fenced:
                log.warning("user %s: another process owns the stream; stopping", self.user_id)
            self.fenced = True
        except Exception as exc:
            log.debug("user %s: event log write failed: %s", self.user_id, exc)

    async def restore(self, head: Position) -> None:
        """After the store lost our head or frames (a Redis restart, writes that failed
        while it was away): put back the head and the newest frames we hold, so that
        relays and resuming clients fill their gaps; if another owner started an epoch,
        stop."""
        if self._log is None or self.fenced:
            return
        frames = [(p.seq, text) for p, text in self._recent if p.epoch == head.epoch]
        try:
            await self._log.restore(self.user_id, self.owner, head, frames)
        except Fenced:
            log.warning("user %s: another process owns the stream; stopping", self.user_id)
            self.fenced = True
