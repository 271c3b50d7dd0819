"""Who runs a user's broker sessions: a lease, so there is one owner per user.

With Redis (several processes) the lease is a key holding the owner's id and a fencing
token, set with an expiry and renewed by the owner; whoever holds a user's sockets and
finds the key gone may take it. The owner re-claims its own key if Redis lost it (a
restart), and gives up only when Redis says another process holds it. Without Redis
(one process) every lease is granted at once. A web process in the `workers` layout
holds none (`NoLease`): only the stream workers compete.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Callable
from typing import Protocol

import redis.asyncio as aioredis

from streaming import metrics
from streaming.cluster.redis.batch import ScriptBatch

#: This process's id in lease values (host, pid and a random part: pids get reused).
PROCESS_ID = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"

# KEYS[1] lease key. ARGV[1] owner value, ARGV[2] ttl ms.
# Returns 1 if the caller holds the lease afterwards (renewed or re-claimed), 0 if not.
_RENEW = """
local current = redis.call('GET', KEYS[1])
if current == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
elseif not current then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
"""

# KEYS[1] lease key. ARGV[1] owner value, ARGV[2] ttl ms. Only our own lease; it becomes
# "released" for a while, so the next owner knows nobody is still connected to the broker.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], 'released', 'PX', ARGV[2])
  return 1
end
return 0
"""

# KEYS[1] lease key. ARGV[1] new owner value, ARGV[2] ttl ms.
# Returns 1: taken from a clean release (or never held), 2: taken after an expiry (a
# previous owner may still be letting go), 0: held by someone.
_ACQUIRE = """
local current = redis.call('GET', KEYS[1])
if current == 'released' then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
elseif not current then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 2
end
return 0
"""


class Lease(Protocol):
    """One user's ownership, as seen from this process."""

    owner_value: str | None

    needs_handover: bool

    #: When the store last confirmed that we hold the lease (monotonic seconds).
    confirmed_at: float

    async def acquire(self, careful: bool = False) -> bool: ...

    async def renew(self) -> bool: ...

    async def release(self) -> None: ...


class LocalLease:
    """Single process: always the owner."""

    def __init__(self, user_id: int) -> None:
        self.user_id = user_id
        self.owner_value: str | None = None
        self.confirmed_at = float("inf")

    needs_handover = False

    async def acquire(self, careful: bool = False) -> bool:
        self.owner_value = f"{PROCESS_ID}:local"
        return True

    async def renew(self) -> bool:
        return self.owner_value is not None

    async def release(self) -> None:
        self.owner_value = None


class NoLease:
    """A process that never owns a stream: a web process when the managers run in
    workers (`STREAM_MANAGERS=workers`). Its agent relays the owner's frames and never
    competes for the lease, so it never opens a broker session."""

    needs_handover = False

    def __init__(self, user_id: int) -> None:
        self.user_id = user_id
        self.owner_value: str | None = None
        self.confirmed_at = -1e9

    async def acquire(self, careful: bool = False) -> bool:
        return False

    async def renew(self) -> bool:
        return False

    async def release(self) -> None:
        return None


class RedisLease:
    """A fenced, expiring lease on one user in Redis."""

    def __init__(
        self,
        client: aioredis.Redis,
        user_id: int,
        ttl: float,
        claim_delay: float = 2.0,
        batch: ScriptBatch | None = None,
        defer: Callable[[], bool] | None = None,
    ) -> None:
        self.client = client
        #: Renewals leave in the process's shared pipelines (every owner renews each
        #: second: one round trip for all of them).
        self.batch = batch or ScriptBatch(client)
        self.user_id = user_id
        self.ttl_ms = int(ttl * 1000)
        #: Just after Redis trouble a missing key may belong to a live owner that has not
        #: re-claimed it yet: then a free lease is taken only after being seen free this long.
        self.claim_delay = claim_delay
        #: True while another process is first in line for this user (placement.py): a
        #: free or released lease is then taken only after being seen free `claim_delay`.
        self.defer = defer
        self._free_since: float | None = None
        #: After `acquire`: whether a previous owner may still be connected (it expired
        #: rather than being released), so the new owner should wait before connecting.
        self.needs_handover = False
        self._acquire = client.register_script(_ACQUIRE)
        self.key = f"sd:lease:user:{user_id}"
        self.fence_key = f"sd:fence:user:{user_id}"
        self.owner_value: str | None = None
        self.confirmed_at = -1e9
        self._renew = client.register_script(_RENEW)
        self._release = client.register_script(_RELEASE)

    async def acquire(self, careful: bool = False) -> bool:
        """Take the lease if it is free; the value carries a new fencing token. `careful`
        (just after Redis trouble): take a missing key only after `claim_delay`; while
        `defer` says another process is first in line, a released one too."""
        if self.owner_value is not None:
            return await self.renew()
        deferring = self.defer is not None and self.defer()
        if careful or deferring:
            current = await self.client.get(self.key)
            if current is not None and current != b"released":
                self._free_since = None
                return False
            now = time.monotonic()
            if current is None or deferring:
                self._free_since = self._free_since or now
                if now - self._free_since < self.claim_delay:
                    return False
        self._free_since = None
        fence = await self.client.incr(self.fence_key)
        value = f"{PROCESS_ID}:{fence}"
        taken = await self._acquire(keys=[self.key], args=[value, self.ttl_ms])
        if not taken:
            return False
        self.owner_value = value
        self.confirmed_at = time.monotonic()
        self.needs_handover = taken == 2 and fence > 1
        if self.needs_handover:
            metrics.LEASE_TAKEOVERS.inc()
        return True

    async def renew(self) -> bool:
        """Keep (or re-claim after a Redis restart) our lease; False once another owns it."""
        if self.owner_value is None:
            return False
        asked = time.monotonic()
        held = bool(await self.batch.call(self._renew, [self.key], [self.owner_value, self.ttl_ms]))
        if held:
            self.confirmed_at = asked
        else:
            self.owner_value = None
        return held

    async def release(self) -> None:
        if self.owner_value is not None:
            value, self.owner_value = self.owner_value, None
            await self._release(keys=[self.key], args=[value, self.ttl_ms])

    async def holder(self) -> str | None:
        value = await self.client.get(self.key)
        return value.decode() if isinstance(value, bytes) else value
