"""Broker REST calls paced under a per-minute limit, across every process.

A bucket is one broker rate limit (e.g. Tradier's market-data group of one token). Each
call takes a slot of a sliding one-minute window first: in Redis when `REDIS_URL` is set
(a sorted set of call times, checked and added atomically by a Lua script on Redis's
own clock, so every process counts the same calls), else in this process's memory.
When the window is full the caller waits for its oldest call to age out, up to its
deadline. A leaf module: the adapters (chains, candles) are handed the process's
`BrokerPacing` (its node's).

Usage::

    await pacing.acquire("tradier:market:ab12", 120, deadline=time.monotonic() + 10)
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time
import uuid

import redis.asyncio as aioredis
from django.conf import settings
from redis.exceptions import RedisError

from streaming.runtime import redis_driver

log = logging.getLogger(__name__)

WINDOW_MS = 60_000
KEY_PREFIX = "sd:pace"

# KEYS[1] the bucket; ARGV: limit, a unique member. Returns 0 (slot taken) or the ms to
# wait until the oldest call in the window ages out.
_TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - 60000)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('ZADD', KEYS[1], now, ARGV[2])
  redis.call('PEXPIRE', KEYS[1], 61000)
  return 0
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return math.max(1, tonumber(oldest[2]) + 60000 - now)
"""


class PacingTimeout(Exception):
    """No slot before the deadline; `retry_in` seconds until one frees up."""

    def __init__(self, bucket: str, retry_in: float) -> None:
        super().__init__(f"{bucket}: rate window full, next slot in {retry_in:.1f} s")
        self.retry_in = retry_in


class BrokerPacing:
    """A process's pacing windows (its node's: streaming/node.py): its Redis client, made
    on first use (its connections belong to the event loop that made it: the process's
    one loop), and the in-memory windows it paces in without Redis."""

    def __init__(self) -> None:
        self._memory: dict[str, collections.deque[float]] = {}
        self._redis: aioredis.Redis | None = None
        #: Calls taken per bucket in this process (tests, the bench).
        self.taken: collections.Counter[str] = collections.Counter()

    def client(self) -> aioredis.Redis:
        if self._redis is None:
            self._redis = aioredis.Redis.from_url(
                settings.REDIS_URL,
                **redis_driver.options(socket_timeout=2.0, socket_connect_timeout=2.0),
            )
        return self._redis

    def _take_local(self, bucket: str, per_minute: int) -> float:
        """0 if a slot was taken, else seconds until one frees up (this process only)."""
        now = time.monotonic()
        calls = self._memory.setdefault(bucket, collections.deque())
        while calls and calls[0] <= now - WINDOW_MS / 1000:
            calls.popleft()
        if len(calls) < per_minute:
            calls.append(now)
            return 0.0
        return max(0.001, calls[0] + WINDOW_MS / 1000 - now)

    async def _take(self, bucket: str, per_minute: int) -> float:
        if not settings.REDIS_URL:
            return self._take_local(bucket, per_minute)
        try:
            wait_ms = await self.client().eval(
                _TAKE, 1, f"{KEY_PREFIX}:{bucket}", per_minute, uuid.uuid4().hex
            )
        except (RedisError, OSError) as exc:
            # Redis away: pace within this process rather than not at all
            log.warning("pacing %s in memory (Redis: %s)", bucket, type(exc).__name__)
            return self._take_local(bucket, per_minute)
        return int(wait_ms) / 1000

    async def acquire(self, bucket: str, per_minute: int, *, deadline: float) -> None:
        """Take one call slot of `bucket` (at most `per_minute` in any minute,
        cluster-wide), waiting for one until `deadline` (time.monotonic()); raises
        PacingTimeout after it."""
        while True:
            wait = await self._take(bucket, per_minute)
            if wait <= 0:
                self.taken[bucket] += 1
                return
            left = deadline - time.monotonic()
            if wait > left:
                raise PacingTimeout(bucket, wait)
            await asyncio.sleep(wait)
