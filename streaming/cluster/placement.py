"""Which stream worker runs a user's manager (`STREAM_MANAGERS=workers`; docs/streaming.md
"Which worker").

Every worker holds an agent for every wanted user, and the agents compete for the user's
lease. Left to a race, the worker that happened to read the demand first after a tab
opened took the user, so the split between workers was decided by the phase of their
polls (70/30 in the bench), and the busier worker's share of the broker bursts set the
tail. Here each worker writes itself into one sorted set in Redis with every poll and
reads the live ones; every worker ranks them the same way for a user (rendezvous
hashing), and only the first in line claims a free lease at once: the others wait until
it has been seen free for the lease's claim delay (lease.RedisLease `defer`), so a
worker that is gone or slow never leaves a user without a stream.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection

import redis.asyncio as aioredis

from streaming.cluster.lease import PROCESS_ID

#: The sorted set of live workers: member = worker id, score = alive until (ms, Redis time).
WORKERS_KEY = "sd:workers"
#: A worker not heard from for this long is gone (four missed polls of the demand).
WORKER_TTL = 2.0

# KEYS[1] the workers set. ARGV[1] this worker's id, ARGV[2] ttl ms. Drops the expired
# workers, renews this one (Redis's clock), returns the live ones.
_REPORT = """
local t = redis.call('TIME')
local now_ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now_ms)
redis.call('ZADD', KEYS[1], now_ms + tonumber(ARGV[2]), ARGV[1])
return redis.call('ZRANGE', KEYS[1], 0, -1)
"""


def _rank(user_id: int, worker: str) -> int:
    digest = hashlib.blake2b(f"{user_id}:{worker}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def preferred_worker(user_id: int, workers: Collection[str]) -> str | None:
    """The worker first in line for the user: the same answer in every worker that knows
    the same live workers, whatever their order; when one leaves, only its users move."""
    return max(workers, key=lambda worker: _rank(user_id, worker), default=None)


class Placement:
    """This worker's view of the live workers, renewed with each poll of the demand."""

    def __init__(self, me: str = PROCESS_ID, ttl: float = WORKER_TTL) -> None:
        self.me = me
        self.ttl_ms = int(ttl * 1000)
        #: The live workers as of the last report (empty before the first one).
        self.workers: frozenset[str] = frozenset()

    async def report(self, client: aioredis.Redis) -> None:
        """Say this worker is alive, and learn which others are."""
        members = await client.eval(_REPORT, 1, WORKERS_KEY, self.me, self.ttl_ms)
        self.workers = frozenset(m.decode() if isinstance(m, bytes) else str(m) for m in members)

    async def leave(self, client: aioredis.Redis) -> None:
        """A clean stop: the others stop waiting for this worker at their next poll."""
        await client.zrem(WORKERS_KEY, self.me)

    def first_in_line(self, user_id: int) -> bool:
        """Whether this worker claims the user's free lease at once. Before its first
        report a worker knows no others: it claims as any would."""
        if self.me not in self.workers:
            return True
        return preferred_worker(user_id, self.workers) == self.me
