"""Market data shared by every process for a TTL, fetched once: Django's cache framework
(Redis when `REDIS_URL` is set, local memory otherwise) plus single-flight.

Option chain structure is market data, not a user's: it is keyed by (broker,
environment, underlying[, expiration]), so any number of tabs, users and processes
opening one chain make one broker fetch per TTL. A miss takes a lock with the cache's
atomic `add`; everyone else (in this process: one waiter per key) waits for the value
with a deadline. A failed fetch is remembered for `ERROR_TTL` seconds so the waiters
get the same answer instead of all retrying the broker at once.

A leaf module (Django's cache only): the adapters are handed the process's
`MarketDataCache` (its node's).
"""

from __future__ import annotations

import asyncio
import collections
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypedDict

from asgiref.sync import sync_to_async
from django.core.cache import cache

#: How long a failed fetch's answer is shared (rate limits carry their own retry time).
ERROR_TTL = 2.0
#: How long a fetch may hold the lock before another process may try.
LOCK_TTL = 20
POLL = 0.05


def _off_loop(name: str) -> Callable[..., Awaitable[Any]]:
    """`cache.<name>` (the cache in force: tests override it) run in the thread pool.
    Django's own `aget`/`aadd` run in the one shared sync thread (thread_sensitive),
    where they queue behind every request's middleware, database and template work: 20
    pages at once made a cache hit wait ~200 ms."""
    return sync_to_async(lambda *a, **k: getattr(cache, name)(*a, **k), thread_sensitive=False)


_get, _add, _set = _off_loop("get"), _off_loop("add"), _off_loop("set")
_delete, _delete_many = _off_loop("delete"), _off_loop("delete_many")


class FetchFailure(TypedDict):
    """A failed fetch as shared through the cache (FetchFailed's arguments)."""

    code: str
    message: str
    status: int
    retry_in: float | None


class FetchFailed(Exception):
    """An expected failure of a fetch, shared with everyone waiting for the same key.

    `code` names it for the API (docs/streaming-contract.md "Option chains"), `status`
    is the HTTP status the API answers with, `retry_in` seconds for a rate limit."""

    def __init__(self, code: str, message: str, status: int, retry_in: float | None = None):
        super().__init__(message)
        self.code, self.message, self.status, self.retry_in = code, message, status, retry_in

    def as_dict(self) -> FetchFailure:
        return {
            "code": self.code,
            "message": self.message,
            "status": self.status,
            "retry_in": self.retry_in,
        }


def cache_key(*parts: str) -> str:
    """A cache key from its parts (broker, environment, underlying, expiration)."""
    return "chain:" + ":".join(p.replace(":", "_") for p in parts)


class MarketDataCache:
    """A process's side of the cache (its node's: streaming/node.py): the fetch in flight
    per key (its futures belong to the process's one event loop) and its counts."""

    def __init__(self) -> None:
        #: Broker fetches made by this process, per cache key (tests, the bench).
        self.fetches: collections.Counter[str] = collections.Counter()
        self._inflight: dict[str, asyncio.Future[tuple[Any, int]]] = {}

    async def cached(
        self,
        key: str,
        fetch: Callable[[], Awaitable[Any]],
        *,
        ttl: float,
        wait: float = 10.0,
    ) -> tuple[Any, int]:
        """(value, fetched_at ms) for `key`: the cached value, or `fetch()` run by exactly
        one caller in the cluster while the others wait up to `wait` seconds.

        Raises FetchFailed (the fetch's, or a shared recent one) or TimeoutError."""
        pending = self._inflight.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[tuple[Any, int]] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            result = await self._cluster_fetch(key, fetch, ttl=ttl, wait=wait)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: no "never retrieved" warning without waiters
            raise
        else:
            future.set_result(result)
            return result
        finally:
            self._inflight.pop(key, None)

    async def _cluster_fetch(
        self, key: str, fetch: Callable[[], Awaitable[Any]], *, ttl: float, wait: float
    ) -> tuple[Any, int]:
        deadline = time.monotonic() + wait
        while True:
            entry = await _get(key)
            if entry is not None:
                return entry["value"], entry["at"]
            failed = await _get(key + ":error")
            if failed is not None:
                raise FetchFailed(**failed)
            token = uuid.uuid4().hex
            if await _add(key + ":lock", token, timeout=LOCK_TTL):
                try:
                    # checked again under the lock: the last holder may have stored the
                    # value (and let go) between our first look and our `add`
                    entry = await _get(key)
                    if entry is not None:
                        return entry["value"], entry["at"]
                    return await self._fetch_and_store(key, fetch, ttl)
                finally:
                    await _delete(key + ":lock")
            # another process fetches: wait for its value (or its error, or its lock to go)
            while await _get(key + ":lock") is not None:
                if time.monotonic() >= deadline:
                    raise TimeoutError(f"{key}: still being fetched elsewhere")
                await asyncio.sleep(POLL)

    async def _fetch_and_store(
        self, key: str, fetch: Callable[[], Awaitable[Any]], ttl: float
    ) -> tuple[Any, int]:
        self.fetches[key] += 1
        try:
            value = await fetch()
        except FetchFailed as exc:
            share = max(ERROR_TTL, min(exc.retry_in or 0, 60))
            await _set(key + ":error", exc.as_dict(), timeout=share)
            raise
        at = int(time.time() * 1000)
        await _set(key, {"value": value, "at": at}, timeout=ttl)
        return value, at


async def forget(key: str) -> None:
    """Drop a cached value (tests)."""
    await _delete_many([key, key + ":error", key + ":lock"])
