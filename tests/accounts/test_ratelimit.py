"""Per-token rate limits (streaming/runtime/ratelimit.py): a fixed one-minute window per token and
kind, in memory for one process, in Redis across processes."""

from __future__ import annotations

import logging

import pytest
import redis

from streaming.runtime import ratelimit
from streaming.runtime.ratelimit import Verdict, token_rate_hit
from tests.support.redis_server import free_port

#: 12:00:10 into a minute window (a multiple of 60 plus 10 s).
T0 = 1_800_000_000.0 - (1_800_000_000 % 60) + 10


@pytest.fixture(autouse=True)
def _limits(settings):
    settings.API_TOKEN_CONNECTS_PER_MINUTE = 3
    settings.API_TOKEN_SNAPSHOTS_PER_MINUTE = 2
    ratelimit._memory.clear()
    yield
    ratelimit._memory.clear()


def hits(kind: str, n: int, token_id: int = 1, now: float = T0) -> list[Verdict]:
    return [token_rate_hit(token_id=token_id, kind=kind, now=now) for _ in range(n)]


def check_window(token_id: int) -> None:
    """Three connects pass, the fourth waits for the window's end (50 s); snapshots count
    apart; another token is not affected; the next window starts afresh."""
    assert hits("connect", 4, token_id) == [Verdict(True)] * 3 + [Verdict(False, 50)]
    assert hits("connect", 1, token_id, now=T0 + 49.5) == [Verdict(False, 1)]
    assert hits("snapshot", 3, token_id) == [Verdict(True)] * 2 + [Verdict(False, 50)]
    assert hits("connect", 1, token_id + 1) == [Verdict(True)]
    assert hits("connect", 1, token_id, now=T0 + 50) == [Verdict(True)]


def test_in_memory_without_redis(settings):
    settings.REDIS_URL = ""
    check_window(token_id=1)


@pytest.mark.redis
def test_in_redis_shared_by_every_process(settings, redis_server):
    """With REDIS_URL the count is Redis's: a hit counted by another process (here: a
    plain client incrementing the same key) counts for this one too."""
    settings.REDIS_URL = redis_server.url
    client = redis.Redis.from_url(redis_server.url)
    client.flushdb()
    check_window(token_id=101)
    window = int(T0 // 60)
    key = f"streamdesk:token-rate:201:connect:{window}"
    client.incrby(key, 3)  # "another daphne" used up token 201's connects
    assert hits("connect", 1, 201) == [Verdict(False, 50)]
    assert 0 < client.ttl(key) <= 65  # windows expire by themselves
    client.close()


def test_redis_unreachable_allows_and_warns_once_per_hit(settings, caplog):
    """A limiter must not take a working script down: Redis away → allowed, one warning
    line, no traceback."""
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"
    caplog.set_level(logging.WARNING, logger="streaming.runtime.ratelimit")
    assert hits("connect", 5) == [Verdict(True)] * 5
    assert [r.getMessage() for r in caplog.records] == [
        "token rate limit not checked (Redis: ConnectionError): allowed"
    ] * 5
    assert all(r.exc_info is None for r in caplog.records)
