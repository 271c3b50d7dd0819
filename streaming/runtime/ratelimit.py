"""Rate limits: so many hits of a kind (connection attempts, snapshots) per minute per
API token — or per user (`rate_hit`, e.g. news stream opens) — across processes.

A fixed one-minute window per (token, kind): with `REDIS_URL` a counter in Redis (INCR,
expiring with its window) shared by every daphne process; without it, a counter in this
process's memory (one process is then the whole server). A fixed window lets a client
burst up to twice the limit across a window boundary; for "a script must not hammer the
server" that is enough, and it costs one round trip. If Redis cannot be reached the hit
is allowed (a warning is logged): the stream itself depends on Redis then, and a limiter
must not be what takes a working script down.
"""

from __future__ import annotations

import functools
import logging
import math
import threading
import time
from dataclasses import dataclass

import redis
from django.conf import settings
from redis.exceptions import RedisError

from streaming.runtime import redis_driver

log = logging.getLogger(__name__)

WINDOW_SECONDS = 60
#: The wall clock (windows are the same minutes in every process); tests may pin it.
_clock = time.time
KEY_PREFIX = "streamdesk"


@dataclass(frozen=True)
class Verdict:
    """Whether one hit is allowed; if not, the whole seconds until the window ends."""

    allowed: bool
    retry_after: int = 0


def _limit(kind: str) -> int:
    return {
        "connect": settings.API_TOKEN_CONNECTS_PER_MINUTE,
        "snapshot": settings.API_TOKEN_SNAPSHOTS_PER_MINUTE,
    }[kind]


def token_rate_hit(*, token_id: int, kind: str, now: float | None = None) -> Verdict:
    """Count one hit of `kind` (`connect` or `snapshot`) for the token; refuse it when the
    token is over its per-minute limit in the current window."""
    return rate_hit(key=f"token-rate:{token_id}:{kind}", limit=_limit(kind), now=now)


def rate_hit(*, key: str, limit: int, now: float | None = None) -> Verdict:
    """Count one hit for `key` (`token-rate:<id>:<kind>`, or `user-rate:<id>:<what>` for a
    per-user limit) in the current one-minute window; refused over `limit`."""
    now = _clock() if now is None else now
    window = int(now // WINDOW_SECONDS)
    retry_after = max(1, math.ceil((window + 1) * WINDOW_SECONDS - now))
    if settings.REDIS_URL:
        redis_key = f"{KEY_PREFIX}:{key}:{window}"
        try:
            pipe = limiter_client(settings.REDIS_URL).pipeline(transaction=False)
            pipe.incr(redis_key)
            pipe.expire(redis_key, WINDOW_SECONDS + 5)
            count = int(pipe.execute()[0])
        except (RedisError, OSError) as exc:
            who = key.partition("-")[0]  # "token", "user"
            log.warning("%s rate limit not checked (Redis: %s): allowed", who, type(exc).__name__)
            return Verdict(True)
    else:
        count = _memory.hit(key, window)
    return Verdict(True) if count <= limit else Verdict(False, retry_after)


@functools.lru_cache(maxsize=4)
def limiter_client(url: str) -> redis.Redis:
    """The process's client for request limiters (this one, the news quota): short
    timeouts, since a limiter that waits long would hold the request it guards."""
    return redis.Redis.from_url(
        url, **redis_driver.options(socket_timeout=1.0, socket_connect_timeout=1.0)
    )


class _MemoryWindows:
    """The counters of one process (no Redis): current windows only."""

    def __init__(self) -> None:
        self._counts: dict[tuple[str, int], int] = {}
        self._lock = threading.Lock()  # hits come from several threads (sync_to_async)

    def hit(self, key: str, window: int) -> int:
        with self._lock:
            if len(self._counts) > 10_000:  # drop past windows
                self._counts = {k: v for k, v in self._counts.items() if k[1] >= window}
            entry = (key, window)
            self._counts[entry] = self._counts.get(entry, 0) + 1
            return self._counts[entry]

    def clear(self) -> None:
        with self._lock:
            self._counts.clear()


_memory = _MemoryWindows()
