"""The per-user log of account frames, for resuming a socket without loss.

Every account frame (balance, positions, position, order) is kept, by `seq`, for a
bounded window. A socket that reconnects with `since=<seq>` gets exactly the frames
after it, or `None` when the window no longer reaches back that far (the caller then
sends a fresh snapshot). With Redis the log is shared by all processes, and appends are
fenced by the lease: a process that lost ownership cannot write.
"""

from __future__ import annotations

from collections import deque
from typing import Protocol

import redis.asyncio as aioredis

# KEYS[1] lease, KEYS[2] log (zset by seq), KEYS[3] seq. ARGV[1] owner value, ARGV[2] seq,
# ARGV[3] frame, ARGV[4] max entries, ARGV[5] log ttl s, ARGV[6] lease ttl ms.
# Returns 1 if written, 0 if fenced.
# A missing lease (expired while the owner's event loop was busy, or lost in a Redis
# restart) is re-claimed, as the owner's renewal does; only another holder fences us out.
_APPEND = """
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] then
  return 0  -- another owner, or released: this writer is not the owner any more
end
if not holder then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[6])
end
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
redis.call('ZREMRANGEBYRANK', KEYS[2], 0, -(tonumber(ARGV[4]) + 1))
redis.call('SET', KEYS[3], ARGV[2], 'EX', ARGV[5])
redis.call('EXPIRE', KEYS[2], ARGV[5])
return 1
"""


class Fenced(Exception):
    """This process no longer owns the user: it must stop writing (and streaming)."""


class EventLog(Protocol):
    async def last_seq(self, user_id: int) -> int: ...

    async def append(self, user_id: int, owner: str, seq: int, text: str) -> None: ...

    async def since(self, user_id: int, seq: int) -> list[str] | None: ...


class LocalEventLog:
    """One process: a bounded deque per user."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._logs: dict[int, deque[tuple[int, str]]] = {}

    async def last_seq(self, user_id: int) -> int:
        log = self._logs.get(user_id)
        return log[-1][0] if log else 0

    async def append(self, user_id: int, owner: str, seq: int, text: str) -> None:
        self._logs.setdefault(user_id, deque(maxlen=self.size)).append((seq, text))

    async def since(self, user_id: int, seq: int) -> list[str] | None:
        log = self._logs.get(user_id, ())
        head = log[-1][0] if log else 0
        return _window([(s, t) for s, t in log if s > seq], seq, head)


class RedisEventLog:
    """All processes: a sorted set per user (score = seq), trimmed to `size` entries."""

    def __init__(
        self, client: aioredis.Redis, size: int, ttl: int = 86_400, lease_ttl: float = 4.0
    ) -> None:
        self.client = client
        self.size = size
        self.ttl = ttl
        self.lease_ttl_ms = int(lease_ttl * 1000)
        self._append = client.register_script(_APPEND)

    @staticmethod
    def _keys(user_id: int) -> tuple[str, str, str]:
        return f"sd:lease:user:{user_id}", f"sd:log:user:{user_id}", f"sd:seq:user:{user_id}"

    async def last_seq(self, user_id: int) -> int:
        value = await self.client.get(self._keys(user_id)[2])
        return int(value) if value is not None else 0

    async def append(self, user_id: int, owner: str, seq: int, text: str) -> None:
        lease, log, seq_key = self._keys(user_id)
        written = await self._append(
            keys=[lease, log, seq_key],
            args=[owner, seq, text, self.size, self.ttl, self.lease_ttl_ms],
        )
        if not written:
            raise Fenced(f"user {user_id}: lease held by another process")

    async def since(self, user_id: int, seq: int) -> list[str] | None:
        _, log, seq_key = self._keys(user_id)
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.zrange(log, f"({seq}", "+inf", byscore=True, withscores=True)
            pipe.get(seq_key)
            entries, head = await pipe.execute()
        after = [(int(score), raw.decode()) for raw, score in entries]
        return _window(after, seq, int(head) if head is not None else 0)


def _window(after: list[tuple[int, str]], seq: int, head: int) -> list[str] | None:
    """Frames after `seq`, or None if the log cannot prove they are all there.

    `after` holds the log's entries with seq > `seq`, `head` the newest seq ever written.
    A client ahead of the head (the log was lost, e.g. Redis restarted) or a hole in
    `seq+1 … head` means: send a fresh snapshot instead.
    """
    if head < seq:
        return None
    expected = seq + 1
    for s, _ in after:
        if s != expected:
            return None
        expected += 1
    if expected - 1 != head:
        return None
    return [t for _, t in after]
