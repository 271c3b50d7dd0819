"""Whether this process can reach Redis, and what to do when it comes back.

Any part of the process that meets a Redis error reports it here (`failed`, logged once
per outage); the lease loops report success (`ok`). A watch notices a restart (Redis's
`run_id` changes: groups, leases and logs are gone) even when no error was seen. Both a
recovery and a restart call `on_recover`: the agents then rejoin groups and
reconcile tabs. Just after trouble (`recovering`), a process takes a free lease
carefully: a live owner may not have re-claimed it yet.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

#: How often the watch asks Redis for its run id (seconds).
WATCH_INTERVAL = 1.0

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
        self._background: set[asyncio.Task[None]] = set()

    def recovering(self) -> bool:
        """Just after Redis trouble, when a live owner may not have re-claimed its lease."""
        if self._down_since is not None:
            return True
        return time.monotonic() - self._recovered_at < self._careful_for

    def ok(self) -> None:
        if self._down_since is None:
            return
        log.warning("Redis is back after %.1f s", time.monotonic() - self._down_since)
        self._down_since = None
        self._recovered_at = time.monotonic()
        task: asyncio.Task[None] = asyncio.get_running_loop().create_task(
            self._on_recover("Redis connection restored", False)
        )
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def failed(self, exc: BaseException) -> None:
        """Redis trouble, seen anywhere in this process: logged once per outage."""
        if self._client is None:
            log.warning("stream lookup failed: %s", exc)
            return
        if self._down_since is None:
            self._down_since = time.monotonic()
            log.warning("Redis unavailable (%s); keeping broker connections", exc)

    async def watch(self) -> None:
        """Notice a Redis restart (its run_id changes): groups and logs are gone then."""
        assert self._client is not None
        while True:
            try:
                run_id = (await self._client.info("server"))["run_id"]
                previous, self._run_id = self._run_id, run_id
                if previous not in (None, run_id):
                    self._down_since = None  # this recovery covers the outage too
                    self._recovered_at = time.monotonic()
                    await self._on_recover("Redis restarted", True)
                self.ok()
            except (RedisError, OSError) as exc:
                self.failed(exc)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("Redis watch failed")
            await asyncio.sleep(WATCH_INTERVAL)
