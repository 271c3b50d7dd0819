"""The one task per process that keeps every tab known to its owner.

Every `SNAPSHOT_RETRY` after it began, a tab repeats its snapshot request while it is
unanswered (a message to the owner can be lost while the owner changes or Redis
recovers), and every `SYMBOLS_HEARTBEAT` it re-sends its symbols (the owner forgets silent
tabs after 90 s). A task per tab cost ~1.5-2 KiB per socket at rest (docs/performance.md,
"Memory per socket and per user"); here a tab is two times, and a task runs only while a tab has
something to send. The same pattern as adaptive_flush.AdaptiveFlusher (one task per
process while it has tabs), another concept: seconds apart, for the owner, not the client.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Protocol

log = logging.getLogger(__name__)

#: How often a tab re-sends its symbols to the owner (who forgets silent tabs after 90 s).
SYMBOLS_HEARTBEAT = 30.0
#: How often an unanswered snapshot request is repeated (and a tab's counts are added to
#: the metrics).
SNAPSHOT_RETRY = 2.0


class BeatingTab(Protocol):
    """What the heartbeat needs of a tab (tabs/session.TabSession is one)."""

    @property
    def user_id(self) -> int | None: ...

    @property
    def awaiting_snapshot(self) -> bool: ...

    async def request_snapshot(self) -> None: ...

    async def announce_symbols(self) -> None: ...

    def publish_counts(self) -> None:
        """Add what the tab sent since the last beat to the metrics."""


@dataclass
class _Beats:
    """One tab's times, and its beat while one is in flight."""

    tab: BeatingTab
    next_look: float
    next_announce: float
    task: asyncio.Task[None] | None = None


class Heartbeat:
    """Looks at the tabs four times per `SNAPSHOT_RETRY` (a beat is at most a quarter of
    it late); its task ends when no tab is left. One per process: its node's
    (streaming/node.py), handed to every tab."""

    def __init__(self) -> None:
        self._tabs: dict[int, _Beats] = {}
        self._task: asyncio.Task[None] | None = None

    def __len__(self) -> int:
        return len(self._tabs)

    def join(self, tab: BeatingTab) -> None:
        """`tab` began: its first beat is `SNAPSHOT_RETRY` from now."""
        now = time.monotonic()
        self._tabs[id(tab)] = _Beats(tab, now + SNAPSHOT_RETRY, now + SYMBOLS_HEARTBEAT)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name="tab-heartbeat")

    async def leave(self, tab: BeatingTab) -> None:
        """`tab` ended: no more beats, and the one in flight (if any) is cancelled."""
        beats = self._tabs.pop(id(tab), None)
        if beats is not None and beats.task is not None:
            beats.task.cancel()
            await asyncio.gather(beats.task, return_exceptions=True)

    async def _run(self) -> None:
        while self._tabs:
            await asyncio.sleep(SNAPSHOT_RETRY / 4)
            now = time.monotonic()
            for beats in list(self._tabs.values()):
                try:
                    if self._due(beats, now) and (beats.task is None or beats.task.done()):
                        beats.task = asyncio.create_task(self._send(beats, now))
                except Exception:  # one broken tab must not stop the others' beats
                    log.exception("a tab's heartbeat failed")

    @staticmethod
    def _due(beats: _Beats, now: float) -> bool:
        """A look at the tab (every `SNAPSHOT_RETRY`): add its counts to the metrics; True
        if it has something to send."""
        if now < beats.next_look:
            return False
        beats.next_look = now + SNAPSHOT_RETRY
        beats.tab.publish_counts()
        return beats.tab.awaiting_snapshot or now >= beats.next_announce

    @staticmethod
    async def _send(beats: _Beats, now: float) -> None:
        """Repeat an unanswered snapshot request; re-send the symbols now and then."""
        tab = beats.tab
        try:
            if tab.awaiting_snapshot:
                await tab.request_snapshot()
            if now >= beats.next_announce:
                beats.next_announce = now + SYMBOLS_HEARTBEAT
                await tab.announce_symbols()
        except Exception:
            log.exception("user %s: a tab's heartbeat failed", tab.user_id)
        finally:
            beats.task = None
