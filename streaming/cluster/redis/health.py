"""Whether this process can reach Redis, and what to do when it comes back.

Any part of the process that meets a Redis error reports it here (`failed`); the lease
loops report success (`ok`). Those reports only make the watch ask Redis at once: the
watch alone decides when an outage starts (logged once) and ends. Many tasks report
concurrently, and around the moment Redis dies or returns their reports arrive out of
order (a reply sent just before Redis died, processed after another task's "connection
closed"); trusting each would split one outage into several. The watch's own questions
come one at a time, so what it sees is in order. It also notices a restart (Redis's
`run_id` changes: groups, leases and logs are gone) even when no error was seen. A
recovery or a restart calls `on_recover` once: the agents then rejoin groups and
reconcile tabs. Just after trouble (`recovering`), a process takes a free lease
carefully: a live owner may not have re-claimed it yet.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Coroutine
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

#: How often the watch asks Redis for its run id (seconds), when no report wakes it.
WATCH_INTERVAL = 1.0
#: A question the watch asked and Redis has not answered after this long (a hung
#: server) counts as an outage (seconds).
PROBE_TIMEOUT = 5.0

OnRecover = Callable[[str, bool], Coroutine[Any, Any, None]]


class RedisHealth:
    def __init__(
        self, client: aioredis.Redis | None, on_recover: OnRecover, careful_for: float
    ) -> None:
        self._client = client
        self._on_recover = on_recover
        self._careful_for = careful_for
        self._down_since: float | None = None
        self._recovered_at = -1e9
        self._run_id: str | None = None
        #: A failure was reported and the watch has not asked Redis since.
        self._suspect = False
        #: Set by a report that may change the state: the watch asks Redis now.
        self._wake: asyncio.Event | None = None

    def recovering(self) -> bool:
        """Just after Redis trouble, when a live owner may not have re-claimed its lease."""
        if self._down_since is not None or self._suspect:
            return True
        return time.monotonic() - self._recovered_at < self._careful_for

    def ok(self) -> None:
        """A Redis call succeeded: during an outage, the watch checks whether it is over."""
        if self._down_since is not None:
            self._poke()

    def failed(self, exc: BaseException) -> None:
        """Redis trouble, seen anywhere in this process: the watch checks (and logs an
        outage once)."""
        if self._client is None:
            log.warning("stream lookup failed: %s", exc)
            return
        if self._down_since is None:
            self._suspect = True
            self._poke()

    def _poke(self) -> None:
        if self._wake is not None:
            self._wake.set()

    async def watch(self) -> None:
        """Ask Redis for its run id, every `WATCH_INTERVAL` or at once when a report may
        change the state; the only place an outage starts or ends."""
        assert self._client is not None
        self._wake = asyncio.Event()
        while True:
            self._wake.clear()
            try:
                await self._up(await self._ask())
            except (RedisError, OSError, TimeoutError) as exc:
                self._down(exc)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("Redis watch failed")
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(WATCH_INTERVAL):
                    await self._wake.wait()

    async def _ask(self) -> str:
        """Redis's run id. A pooled connection the server closed (a restart) fails once
        and leaves the pool: asked again at once on a fresh one, it is not an outage."""
        assert self._client is not None
        for attempt in (1, 2):
            try:
                async with asyncio.timeout(PROBE_TIMEOUT):
                    return str((await self._client.info("server"))["run_id"])
            except RedisConnectionError:
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _down(self, exc: BaseException) -> None:
        self._suspect = False
        if self._down_since is None:
            self._down_since = time.monotonic()
            log.warning("Redis unavailable (%s); keeping broker connections", exc)

    async def _up(self, run_id: str) -> None:
        if self._suspect:
            # Redis answers after all (a late report, or a blip between two questions):
            # no outage to log, but leases are still taken carefully for a while
            self._suspect = False
            self._recovered_at = time.monotonic()
        previous, self._run_id = self._run_id, run_id
        restarted = previous not in (None, run_id)
        down_since, self._down_since = self._down_since, None
        if down_since is not None:
            log.warning("Redis is back after %.1f s", time.monotonic() - down_since)
        if restarted or down_since is not None:
            self._recovered_at = time.monotonic()
            # one reconciliation covers both (an outage that was a restart)
            if restarted:
                await self._on_recover("Redis restarted", True)
            else:
                await self._on_recover("Redis connection restored", False)
