"""Per-user limits of the news SSE stream: opens per minute, and streams open at once.

Opens are counted in streaming/runtime/ratelimit.py's one-minute windows (Redis across processes).
Open streams are *slots*: leases in one Redis sorted set per user (member: the stream's
id, score: when its lease ends), taken atomically under the cap, renewed by the running
stream and given back when it ends. A process that dies (or a response that is never
started: the client left between the view and its first byte) gives nothing back; its
slot lapses `SLOT_TTL` seconds later, so the cap never locks a user out for long.
Without `REDIS_URL` the same leases live in this process's memory. If Redis cannot be
reached a stream is allowed (a warning is logged), like the token limits: a limiter must
not be what takes a working script down.
"""

from __future__ import annotations

import logging
import threading
import time

from django.conf import settings
from redis.exceptions import RedisError

from streaming.runtime.ratelimit import Verdict, limiter_client, rate_hit

log = logging.getLogger(__name__)

#: A slot lapses this long after its stream last renewed it (seconds)...
SLOT_TTL = 30.0
#: ...which it does this often.
SLOT_RENEW = 10.0
#: What a refused open is told to wait (a slot frees when one of the streams ends).
SLOT_RETRY_AFTER = 10
KEY_PREFIX = "streamdesk:news-streams"

#: Take a slot if the user has fewer than the cap (lapsed ones dropped first); a slot
#: already held is renewed. KEYS[1]: the user's set; ARGV: now, expiry, id, cap, ttl ms.
_ACQUIRE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZSCORE', KEYS[1], ARGV[3]) or redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[4]) then
  redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
  redis.call('PEXPIRE', KEYS[1], ARGV[5])
  return 1
end
return 0
"""


def open_hit(user_id: int) -> Verdict:
    """Count one news stream open for the user (refused over the per-minute limit)."""
    return rate_hit(
        key=f"user-rate:{user_id}:news-stream", limit=settings.NEWS_STREAM_CONNECTS_PER_MINUTE
    )


def acquire(user_id: int, slot: str) -> bool:
    """Take one of the user's `NEWS_STREAMS_PER_USER` slots for stream `slot`."""
    now = time.time()
    cap = settings.NEWS_STREAMS_PER_USER
    if not settings.REDIS_URL:
        return _memory.acquire(user_id, slot, now, cap)
    try:
        taken = limiter_client(settings.REDIS_URL).eval(
            _ACQUIRE, 1, _key(user_id), now, now + SLOT_TTL, slot, cap, int(SLOT_TTL * 1000)
        )
    except (RedisError, OSError) as exc:
        log.warning("news stream slots not checked (Redis: %s): allowed", type(exc).__name__)
        return True
    return bool(taken)


def renew(user_id: int, slot: str) -> None:
    """Keep the stream's slot (called every `SLOT_RENEW` s while it runs)."""
    acquire(user_id, slot)  # a slot held is always renewed, whatever the cap


def release(user_id: int, slot: str) -> None:
    """The stream ended: its slot is free at once."""
    if not settings.REDIS_URL:
        _memory.release(user_id, slot)
        return
    try:
        limiter_client(settings.REDIS_URL).zrem(_key(user_id), slot)
    except (RedisError, OSError) as exc:  # it lapses by itself
        log.warning("news stream slot not released (Redis: %s)", type(exc).__name__)


def _key(user_id: int) -> str:
    return f"{KEY_PREFIX}:{user_id}"


class _MemorySlots:
    """The slots of one process (no Redis): user -> stream id -> lease end."""

    def __init__(self) -> None:
        self._slots: dict[int, dict[str, float]] = {}
        self._lock = threading.Lock()  # called from threads (sync_to_async)

    def acquire(self, user_id: int, slot: str, now: float, cap: int) -> bool:
        with self._lock:
            held = {k: v for k, v in self._slots.get(user_id, {}).items() if v > now}
            if slot not in held and len(held) >= cap:
                self._slots[user_id] = held
                return False
            held[slot] = now + SLOT_TTL
            self._slots[user_id] = held
            return True

    def release(self, user_id: int, slot: str) -> None:
        with self._lock:
            held = self._slots.get(user_id, {})
            held.pop(slot, None)
            if not held:
                self._slots.pop(user_id, None)

    def held(self, user_id: int) -> int:
        with self._lock:
            return len(self._slots.get(user_id, {}))


_memory = _MemorySlots()
