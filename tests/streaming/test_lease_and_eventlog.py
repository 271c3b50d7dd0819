"""The lease and the event log against a real Redis (and their one-process forms)."""

from __future__ import annotations

import asyncio

import pytest
import redis.asyncio as aioredis

from streaming.eventlog import Fenced, LocalEventLog, RedisEventLog
from streaming.lease import LocalLease, RedisLease

pytestmark = pytest.mark.redis


@pytest.fixture
async def client(redis_server):
    client = aioredis.from_url(redis_server.url)
    await client.flushall()
    yield client
    await client.aclose()


async def test_one_holder_at_a_time_and_takeover_after_expiry(client):
    """A new lease is taken at once, with no handover; a held one cannot be taken; once it
    expires (owner gone) another process takes it and must wait for a handover."""
    a = RedisLease(client, 1, ttl=0.5)
    b = RedisLease(client, 1, ttl=0.5)
    assert await a.acquire() and not a.needs_handover
    assert not await b.acquire()
    assert await a.renew()
    await asyncio.sleep(0.7)  # a stops renewing: it died
    assert await b.acquire() and b.needs_handover
    assert not await a.renew()  # a, if it comes back, learns it lost
    assert a.owner_value is None


async def test_clean_release_needs_no_handover(client):
    """A released lease is taken at once by the next owner, without a handover wait."""
    a = RedisLease(client, 6, ttl=5)
    b = RedisLease(client, 6, ttl=5)
    assert await a.acquire()
    await a.release()
    assert await b.acquire() and not b.needs_handover
    assert not await a.renew()


async def test_owner_reclaims_its_lease_after_redis_forgot_it(client):
    """After a Redis restart the key is gone: the owner's renewal re-claims it before a
    competitor's claim delay has passed."""
    a = RedisLease(client, 2, ttl=5, claim_delay=1.0)
    b = RedisLease(client, 2, ttl=5, claim_delay=1.0)
    assert await a.acquire()
    await client.flushall()  # what a restart without persistence does
    assert not await b.acquire(careful=True)  # b just saw Redis recover: it waits
    assert await a.renew()
    await asyncio.sleep(1.1)
    assert not await b.acquire(careful=True)
    await a.release()
    assert await client.get(a.key) == b"released"


async def test_event_log_is_fenced_by_another_holder_only(client):
    """Appends need the lease: another holder fences the writer out; an expired lease is
    re-claimed by its owner (a busy event loop is not a lost election)."""
    log = RedisEventLog(client, size=100, lease_ttl=5)
    owner = RedisLease(client, 3, ttl=5, claim_delay=0)
    assert await owner.acquire()
    await log.append(3, owner.owner_value, 1, '{"seq":1}')
    await client.delete(owner.key)  # expired
    await log.append(3, owner.owner_value, 2, '{"seq":2}')
    assert (await client.get(owner.key)).decode() == owner.owner_value
    await client.set(owner.key, "someone-else")
    with pytest.raises(Fenced):
        await log.append(3, owner.owner_value, 3, '{"seq":3}')
    assert await log.since(3, 0) == ['{"seq":1}', '{"seq":2}']


@pytest.mark.parametrize("kind", ["redis", "local"])
async def test_since_returns_exactly_the_missed_frames_or_none(client, kind):
    """since(n) is the frames after n when the log covers them; None when it cannot prove
    completeness (trimmed away, or a client ahead of the log's head)."""
    log = RedisEventLog(client, size=5) if kind == "redis" else LocalEventLog(5)
    owner = RedisLease(client, 4, ttl=5, claim_delay=0)
    await owner.acquire()
    for seq in range(1, 9):
        await log.append(4, owner.owner_value, seq, f"f{seq}")
    assert await log.last_seq(4) == 8
    assert await log.since(4, 8) == []
    assert await log.since(4, 5) == ["f6", "f7", "f8"]
    assert await log.since(4, 3) == ["f4", "f5", "f6", "f7", "f8"]
    assert await log.since(4, 2) is None  # f3 was trimmed (only 5 kept)
    assert await log.since(4, 20) is None  # the client is ahead of the log: resync


async def test_local_lease_is_always_granted():
    """One process: no competition."""
    lease = LocalLease(5)
    assert await lease.acquire() and await lease.renew()
    await lease.release()
    assert not await lease.renew()
