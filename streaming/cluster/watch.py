"""Users watched with no page open: a user with something to evaluate (an alert, a limit)
has their stream run in the cluster though no tab holds it, so a crossing is found and
pushed (docs/streaming.md "Managers without tabs").

Every process that runs managers keeps the watched users held by a `watch` holder, looked
up every `STREAM_WATCH_INTERVAL` seconds (and at once when asked): the lease decides which
process owns each stream, as it does for tabs, and exactly one evaluates it. A user no
longer watched is released, and their stream stops after the idle grace unless a tab
holds it. Who is watched is handed in by the composition root (streaming/apps.py): the
cluster knows no feature.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Protocol

log = logging.getLogger(__name__)

#: The holder name of a stream run for nobody's page.
WATCH_HOLDER = "watch"

Watched = Callable[[], Awaitable[set[int]]]


class Holders(Protocol):
    """What the watch needs of this process's agents (cluster/agents.py)."""

    async def attach(self, user_id: int, holder: str) -> object: ...

    def detach(self, user_id: int, holder: str, grace: float | None = None) -> None: ...


class Watch:
    """This process's watched users, kept held."""

    def __init__(self, agents: Holders, watched: Watched, every: float) -> None:
        self._agents = agents
        self._watched = watched
        self._every = every
        self.held: set[int] = set()
        self._wake = asyncio.Event()
        self.looks = 0

    def look_now(self) -> None:
        """Someone's alerts or limits changed: look again without waiting."""
        self._wake.set()

    async def run(self) -> None:
        while True:
            self._wake.clear()
            await self.look()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._every):
                    await self._wake.wait()

    async def look(self) -> None:
        """Hold the users watched now, release the others."""
        self.looks += 1
        try:
            wanted = await self._watched()
        except Exception as exc:  # the database away: keep what is held
            log.warning("watched users not read (%s); kept as they were", exc)
            return
        started, stopped = sorted(wanted - self.held), sorted(self.held - wanted)
        for user_id in started:
            await self._agents.attach(user_id, WATCH_HOLDER)
            self.held.add(user_id)
        for user_id in stopped:
            self._agents.detach(user_id, WATCH_HOLDER)
            self.held.discard(user_id)
        if started or stopped:
            log.info(
                "watching %d users with no page open (+%d, -%d)",
                len(self.held),
                len(started),
                len(stopped),
            )
