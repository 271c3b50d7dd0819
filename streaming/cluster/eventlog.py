"""The per-user log of account frames, for resuming a socket without loss.

Every account frame (balance, positions, position, order) is kept, by position, for a
bounded window. A position is (epoch, seq): the seq counts a user's account events, the
epoch names the run of seqs it belongs to. The epoch changes whenever the head of the
log cannot be continued provably (the store lost it: a Redis restart without
persistence, expiry, eviction; or a single process restarted), so that a seq is never
compared with one of another run: a client at E1:19 that meets E2:3 knows it holds
nothing of E2 and takes a snapshot, instead of dropping E2's frames 1…18 as duplicates.

A socket that reconnects with its position gets exactly the frames after it, or `None`
when the log cannot prove it has all of them (another epoch, trimmed away, a hole): the
caller then sends a fresh snapshot. With Redis the log is shared by all processes, and
writes are fenced by the lease: a process that lost ownership cannot write. Positions
and the fence are the stream's (streaming/stream/position.py); the owner writes through
`WriteAheadLog` (streaming/stream/write_ahead.py), which both logs here satisfy.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Sequence
from typing import Protocol

import redis.asyncio as aioredis

from streaming import metrics
from streaming.cluster.redis.batch import ScriptBatch
from streaming.stream.position import Fenced, Position, new_epoch
from streaming.stream.write_ahead import WriteAheadLog

__all__ = ["EventLog", "LocalEventLog", "RedisEventLog"]

# KEYS[1] lease, KEYS[2] head (hash: epoch, seq), KEYS[3] log (zset by seq).
# ARGV[1] owner value, ARGV[2] a new epoch to start if there is no head, ARGV[3] ttl s.
# Returns {0} if fenced (another holder), else {1, epoch, seq} (existing head) or
# {2, epoch, 0} (a new epoch started: the old log, if any, is dropped).
_OPEN = """
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] then
  return {0}
end
local head = redis.call('HMGET', KEYS[2], 'epoch', 'seq')
if head[1] then
  redis.call('EXPIRE', KEYS[2], ARGV[3])
  return {1, head[1], head[2]}
end
redis.call('DEL', KEYS[3])
redis.call('HSET', KEYS[2], 'epoch', ARGV[2], 'seq', 0)
redis.call('EXPIRE', KEYS[2], ARGV[3])
return {2, ARGV[2], '0'}
"""

# KEYS[1] lease, KEYS[2] head, KEYS[3] log. ARGV[1] owner value, ARGV[2] epoch, ARGV[3]
# seq, ARGV[4] frame, ARGV[5] max entries, ARGV[6] ttl s, ARGV[7] lease ttl ms.
# Returns 1 if written, 0 if fenced. A missing lease (expired while the owner's event
# loop was busy, or lost in a Redis restart) is re-claimed, as the owner's renewal does;
# only another holder, or another epoch in the head, fences us out. A missing head (the
# store lost it) is re-created in our epoch, and whatever log is left is dropped: it can
# no longer prove it is complete. The head only moves forward: a user's writes are sent in
# seq order but may arrive in another (two pipelines on two connections).
_APPEND = """
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] then
  return 0
end
if not holder then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[7])
end
local epoch = redis.call('HGET', KEYS[2], 'epoch')
if epoch and epoch ~= ARGV[2] then
  return 0
end
if not epoch then
  redis.call('DEL', KEYS[3])
end
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[4])
redis.call('ZREMRANGEBYRANK', KEYS[3], 0, -(tonumber(ARGV[5]) + 1))
if not epoch or tonumber(redis.call('HGET', KEYS[2], 'seq') or '0') < tonumber(ARGV[3]) then
  redis.call('HSET', KEYS[2], 'epoch', ARGV[2], 'seq', ARGV[3])
end
redis.call('EXPIRE', KEYS[2], ARGV[6])
redis.call('EXPIRE', KEYS[3], ARGV[6])
return 1
"""

# KEYS[1] lease, KEYS[2] head, KEYS[3] log. ARGV[1] owner, ARGV[2] epoch, ARGV[3] seq,
# ARGV[4] ttl s, ARGV[5] max entries, then (seq, frame) pairs. The owner puts its head back
# after the store lost it (a Redis restart), and the newest frames it still holds, so that
# clients at that head, or within those frames, resume; nothing older can be proven. The
# same call fills the holes that writes lost while Redis was unreachable.
_RESTORE = """
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] then
  return 0
end
local epoch = redis.call('HGET', KEYS[2], 'epoch')
if epoch and epoch ~= ARGV[2] then
  return 0
end
if not epoch then
  redis.call('DEL', KEYS[3])
  redis.call('HSET', KEYS[2], 'epoch', ARGV[2], 'seq', ARGV[3])
end
for i = 6, #ARGV, 2 do
  redis.call('ZADD', KEYS[3], ARGV[i], ARGV[i + 1])
end
redis.call('ZREMRANGEBYRANK', KEYS[3], 0, -(tonumber(ARGV[5]) + 1))
if tonumber(redis.call('HGET', KEYS[2], 'seq')) < tonumber(ARGV[3]) then
  redis.call('HSET', KEYS[2], 'seq', ARGV[3])
end
redis.call('EXPIRE', KEYS[2], ARGV[4])
redis.call('EXPIRE', KEYS[3], ARGV[4])
return 1
"""


class EventLog(WriteAheadLog, Protocol):
    """The whole log: what the owner writes (`WriteAheadLog`) and what resuming tabs read."""

    async def head(self, user_id: int) -> Position | None: ...

    async def append(self, user_id: int, owner: str, position: Position, text: str) -> None: ...

    async def since(self, user_id: int, position: Position) -> list[str] | None: ...


class LocalEventLog:
    """One process: a bounded deque per user; an epoch per user per process lifetime."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._logs: dict[int, deque[tuple[int, str]]] = {}
        self._epochs: dict[int, str] = {}

    def _epoch(self, user_id: int) -> str:
        epoch = self._epochs.get(user_id)
        if epoch is None:
            epoch = self._epochs[user_id] = new_epoch()
            metrics.EPOCHS_STARTED.inc()
        return epoch

    async def open(self, user_id: int, owner: str) -> Position:
        return Position(self._epoch(user_id), self._head_seq(user_id))

    async def head(self, user_id: int) -> Position | None:
        if user_id not in self._epochs:
            return None
        return Position(self._epochs[user_id], self._head_seq(user_id))

    def _head_seq(self, user_id: int) -> int:
        log = self._logs.get(user_id)
        return log[-1][0] if log else 0

    async def append(self, user_id: int, owner: str, position: Position, text: str) -> None:
        if position.epoch != self._epoch(user_id):
            raise Fenced(f"user {user_id}: epoch {position.epoch} is not the log's")
        self._logs.setdefault(user_id, deque(maxlen=self.size)).append((position.seq, text))

    def append_soon(
        self, user_id: int, owner: str, position: Position, text: str
    ) -> asyncio.Future[None]:
        return asyncio.ensure_future(self.append(user_id, owner, position, text))

    async def restore(
        self, user_id: int, owner: str, head: Position, frames: Sequence[tuple[int, str]] = ()
    ) -> None:
        if head.epoch != self._epoch(user_id):
            raise Fenced(f"user {user_id}: epoch {head.epoch} is not the log's")

    async def since(self, user_id: int, position: Position) -> list[str] | None:
        if self._epochs.get(user_id) != position.epoch:
            return None
        log = self._logs.get(user_id, ())
        head = log[-1][0] if log else 0
        return _window([(s, t) for s, t in log if s > position.seq], position.seq, head)


class RedisEventLog:
    """All processes: a head (epoch, seq) and a sorted set of frames (score = seq) per user,
    trimmed to `size` entries, both kept for `ttl` seconds after the last write."""

    def __init__(
        self,
        client: aioredis.Redis,
        size: int,
        ttl: int = 86_400,
        lease_ttl: float = 4.0,
        batch: ScriptBatch | None = None,
    ) -> None:
        self.client = client
        #: Appends leave in the process's shared pipelines (a burst of account events
        #: costs one round trip, not one each).
        self.batch = batch or ScriptBatch(client)
        self.size = size
        self.ttl = ttl
        self.lease_ttl_ms = int(lease_ttl * 1000)
        self._open = client.register_script(_OPEN)
        self._append = client.register_script(_APPEND)
        self._restore = client.register_script(_RESTORE)

    @staticmethod
    def keys(user_id: int) -> tuple[str, str, str]:
        """(lease, head, log) keys of one user."""
        return f"sd:lease:user:{user_id}", f"sd:head:user:{user_id}", f"sd:log:user:{user_id}"

    async def open(self, user_id: int, owner: str) -> Position:
        result = await self._open(keys=self.keys(user_id), args=[owner, new_epoch(), self.ttl])
        if not result[0]:
            raise Fenced(f"user {user_id}: lease held by another process")
        if result[0] == 2:
            metrics.EPOCHS_STARTED.inc()
        return Position(_text(result[1]), int(result[2]))

    async def head(self, user_id: int) -> Position | None:
        epoch, seq = await self.client.hmget(self.keys(user_id)[1], "epoch", "seq")
        if epoch is None:
            return None
        return Position(_text(epoch), int(seq or 0))

    async def append(self, user_id: int, owner: str, position: Position, text: str) -> None:
        await self.append_soon(user_id, owner, position, text)

    def append_soon(
        self, user_id: int, owner: str, position: Position, text: str
    ) -> asyncio.Future[None]:
        def fenced(written: int) -> Fenced | None:
            if written:
                return None
            return Fenced(f"user {user_id}: lease or epoch held by another process")

        return self.batch.submit(
            self._append,
            self.keys(user_id),
            [
                owner,
                position.epoch,
                position.seq,
                text,
                self.size,
                self.ttl,
                self.lease_ttl_ms,
            ],
            check=fenced,
        )

    async def restore(
        self, user_id: int, owner: str, head: Position, frames: Sequence[tuple[int, str]] = ()
    ) -> None:
        pairs = [value for seq, text in frames for value in (seq, text)]
        restored = await self._restore(
            keys=self.keys(user_id),
            args=[owner, head.epoch, head.seq, self.ttl, self.size, *pairs],
        )
        if not restored:
            raise Fenced(f"user {user_id}: lease or epoch held by another process")

    async def since(self, user_id: int, position: Position) -> list[str] | None:
        _, head_key, log = self.keys(user_id)
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.hmget(head_key, "epoch", "seq")
            pipe.zrange(log, f"({position.seq}", "+inf", byscore=True, withscores=True)
            (epoch, head), entries = await pipe.execute()
        if epoch is None or _text(epoch) != position.epoch:
            return None
        after = [(int(score), _text(raw)) for raw, score in entries]
        return _window(after, position.seq, int(head or 0))


def _text(value: bytes | str) -> str:
    """A Redis reply as text (bytes unless the client decodes responses)."""
    return value.decode() if isinstance(value, bytes) else str(value)


def _window(after: list[tuple[int, str]], seq: int, head: int) -> list[str] | None:
    """Frames after `seq`, or None if the log cannot prove they are all there.

    `after` holds the log's entries with seq > `seq`, `head` the newest seq written in
    this epoch. A client ahead of the head or a hole in `seq+1 … head` means: send a
    fresh snapshot instead.
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
