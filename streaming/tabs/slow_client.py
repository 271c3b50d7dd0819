"""Slow clients (docs/streaming-contract.md "Slow clients"): the thresholds, one tab's
account frames not yet taken, and the one task per process that watches them.

A fill never waits for a socket that stopped reading until a keepalive gives up on it:
an account frame not taken (acknowledged by the client's TCP) within
`ACCOUNT_WAIT_LIMIT` ends the tab with 4408, and the client reconnects with its position.
A task and a timer per tab and account frame cost about as much as sending the frame
(docs/performance.md, "Why the hot path looks as it does"); `TakenWatch` looks at every
tab with frames not yet taken every `DRAIN_POLL`, and a healthy connection's frames are
taken at the first look.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from typing import Protocol

log = logging.getLogger(__name__)

#: Above this backlog quotes and statuses wait (conflated, latest wins)...
HOLD_QUOTES_ABOVE = 64 * 1024
#: ...and an account frame that would have to wait behind this much ends the tab (4408).
CLOSE_SLOW_ABOVE = 256 * 1024
#: ...and so does an account frame not taken within this long (seconds). Where
#: acknowledgements cannot be read: one sent while quotes are held, the backlog still over
#: HOLD_QUOTES_ABOVE after this long.
ACCOUNT_WAIT_LIMIT = 5.0
#: How often a slow socket's backlog is looked at while an account frame waits (seconds).
DRAIN_POLL = 0.1


class WatchedTab(Protocol):
    """What the watch needs of a tab (tabs/session.TabSession is one)."""

    @property
    def user_id(self) -> int | None: ...

    @property
    def closing(self) -> bool: ...

    def backlog(self) -> int:
        """Bytes sent that the network has not taken yet (0 if unknown)."""

    def written(self) -> int | None:
        """The connection's offset after everything sent so far (None if unknown)."""

    def taken(self) -> int | None:
        """Bytes the client has acknowledged (None if unknown)."""

    async def too_slow(self) -> None:
        """End the tab with 4408."""


class AccountWaits:
    """One tab's account frames sent and not yet taken, watched by the process's `watch`."""

    def __init__(self, tab: WatchedTab, watch: TakenWatch) -> None:
        self.tab = tab
        self.watch = watch
        #: (the connection's offset after the frame, when it must have been taken),
        #: oldest first.
        self._untaken: deque[tuple[int, float]] = deque()
        #: Where acknowledgements cannot be read: when the backlog an account frame was
        #: sent behind must have drained.
        self._backlog_deadline: float | None = None

    def sent(self) -> None:
        """An account frame went out: it must be taken within ACCOUNT_WAIT_LIMIT, however
        little waited in front of it. Where the acknowledged bytes are unknown: only one
        sent behind HOLD_QUOTES_ABOVE is bound, by the backlog."""
        if self.tab.closing:
            return
        written = self.tab.written()
        now = time.monotonic()
        if written is not None:
            self._untaken.append((written, now + ACCOUNT_WAIT_LIMIT))
        elif self.tab.backlog() <= HOLD_QUOTES_ABOVE:
            return
        elif self._backlog_deadline is None:
            self._backlog_deadline = now + ACCOUNT_WAIT_LIMIT
        self.watch.watch(self)

    def _clear(self) -> None:
        self._untaken.clear()
        self._backlog_deadline = None

    async def check(self, now: float) -> bool:
        """The watch's look: drop the frames taken since; 4408 when one is late. True
        when nothing is left to watch."""
        if self.tab.closing:
            self._clear()
            return True
        untaken = self._untaken
        if untaken:
            taken = self.tab.taken()
            if taken is None:  # the connection went away
                untaken.clear()
            while untaken and taken is not None and untaken[0][0] <= taken:
                untaken.popleft()
            if untaken and now >= untaken[0][1]:
                self._clear()
                await self.tab.too_slow()
                return True
        if self._backlog_deadline is not None:
            if self.tab.backlog() <= HOLD_QUOTES_ABOVE:
                self._backlog_deadline = None
            elif now >= self._backlog_deadline:
                self._backlog_deadline = None
                await self.tab.too_slow()
                return True
        return not untaken and self._backlog_deadline is None


class TakenWatch:
    """The one task per process that holds every account frame to ACCOUNT_WAIT_LIMIT:
    every DRAIN_POLL it looks at the tabs with frames not yet taken, and ends when none
    is left. The process's node holds it (streaming/node.py)."""

    def __init__(self) -> None:
        self._tabs: dict[int, AccountWaits] = {}
        self._task: asyncio.Task[None] | None = None

    def watch(self, waits: AccountWaits) -> None:
        self._tabs[id(waits.tab)] = waits
        if self._task is None or self._task.done():
            loop = asyncio.get_running_loop()
            self._task = loop.create_task(self._run(), name="account-taken-watch")

    def forget(self, tab: WatchedTab) -> None:
        self._tabs.pop(id(tab), None)

    def watching(self, tab: WatchedTab) -> bool:
        return id(tab) in self._tabs

    async def _run(self) -> None:
        while self._tabs:
            await asyncio.sleep(DRAIN_POLL)
            now = time.monotonic()
            for key, waits in list(self._tabs.items()):
                try:
                    done = await waits.check(now)
                except Exception:  # one broken tab must not stop the others' watch
                    log.exception(
                        "user %s: watching a tab's account frames failed", waits.tab.user_id
                    )
                    done = True
                if done:
                    self._tabs.pop(key, None)
