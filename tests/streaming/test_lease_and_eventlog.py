"""The lease and the event log against a real Redis (and their one-process forms)."""

from __future__ import annotations

import asyncio

import pytest

from streaming.cluster.eventlog import LocalEventLog, RedisEventLog
from streaming.cluster.lease import LocalLease, RedisLease
from streaming.stream.position import Fenced, Position

pytestmark = pytest.mark.redis


async def test_one_holder_at_a_time_and_takeover_after_expiry(redis_client):
    """A new lease is taken at once, with no handover; a held one cannot be taken; once it
    expires (owner gone) another process takes it and must wait for a handover."""
    a = RedisLease(redis_client, 1, ttl=0.5)
    b = RedisLease(redis_client, 1, ttl=0.5)
    assert await a.acquire() and not a.needs_handover
    assert not await b.acquire()
    assert await a.renew()
    await asyncio.sleep(0.7)  # a stops renewing: it died
    assert await b.acquire() and b.needs_handover
    assert not await a.renew()  # a, if it comes back, learns it lost
    assert a.owner_value is None


async def test_clean_release_needs_no_handover(redis_client):
    """A released lease is taken at once by the next owner, without a handover wait."""
    a = RedisLease(redis_client, 6, ttl=5)
    b = RedisLease(redis_client, 6, ttl=5)
    assert await a.acquire()
    await a.release()
    assert await b.acquire() and not b.needs_handover
    assert not await a.renew()


async def test_owner_reclaims_its_lease_after_redis_forgot_it(redis_client):
    """After a Redis restart the key is gone: the owner's renewal re-claims it before a
    competitor's claim delay has passed."""
    a = RedisLease(redis_client, 2, ttl=5, claim_delay=1.0)
    b = RedisLease(redis_client, 2, ttl=5, claim_delay=1.0)
    assert await a.acquire()
    await redis_client.flushall()  # what a restart without persistence does
    assert not await b.acquire(careful=True)  # b just saw Redis recover: it waits
    assert await a.renew()
    await asyncio.sleep(1.1)
    assert not await b.acquire(careful=True)
    await a.release()
    assert await redis_client.get(a.key) == b"released"


async def test_event_log_is_fenced_by_another_holder_only(redis_client):
    """Appends need the lease: another holder fences the writer out; an expired lease is
    re-claimed by its owner (a busy event loop is not a lost election)."""
    log = RedisEventLog(redis_client, size=100, lease_ttl=5)
    owner = RedisLease(redis_client, 3, ttl=5, claim_delay=0)
    assert await owner.acquire()
    head = await log.open(3, owner.owner_value)
    assert head.seq == 0
    await log.append(3, owner.owner_value, Position(head.epoch, 1), '{"seq":1}')
    await redis_client.delete(owner.key)  # expired
    await log.append(3, owner.owner_value, Position(head.epoch, 2), '{"seq":2}')
    assert (await redis_client.get(owner.key)).decode() == owner.owner_value
    await redis_client.set(owner.key, "someone-else")
    with pytest.raises(Fenced):
        await log.append(3, owner.owner_value, Position(head.epoch, 3), '{"seq":3}')
    assert await log.since(3, Position(head.epoch, 0)) == ['{"seq":1}', '{"seq":2}']


@pytest.mark.parametrize("kind", ["redis", "local"])
async def test_since_returns_exactly_the_missed_frames_or_none(redis_client, kind):
    """since(position) is the frames after it when the log covers them; None when it
    cannot prove completeness (trimmed away, a redis_client ahead of the head, another epoch)."""
    log = RedisEventLog(redis_client, size=5) if kind == "redis" else LocalEventLog(5)
    owner = RedisLease(redis_client, 4, ttl=5, claim_delay=0)
    await owner.acquire()
    epoch = (await log.open(4, owner.owner_value)).epoch
    for seq in range(1, 9):
        await log.append(4, owner.owner_value, Position(epoch, seq), f"f{seq}")
    assert await log.head(4) == Position(epoch, 8)
    assert await log.since(4, Position(epoch, 8)) == []
    assert await log.since(4, Position(epoch, 5)) == ["f6", "f7", "f8"]
    assert await log.since(4, Position(epoch, 3)) == ["f4", "f5", "f6", "f7", "f8"]
    assert await log.since(4, Position(epoch, 2)) is None  # f3 was trimmed (only 5 kept)
    assert await log.since(4, Position(epoch, 20)) is None  # ahead of the log: resync
    assert await log.since(4, Position("other", 5)) is None  # another run of seqs


@pytest.mark.parametrize("loss", ["restart", "expiry"])
async def test_a_lost_head_starts_a_new_epoch_never_a_lower_seq(redis_client, loss):
    """When the store loses the head (a Redis restart without persistence, or the key
    expiring), the next owner starts a new epoch at 0: a redis_client at E1:19 is told it cannot
    resume (None), instead of E2's seqs 1…18 looking like frames it already has."""
    log = RedisEventLog(redis_client, size=100)
    first = RedisLease(redis_client, 7, ttl=5, claim_delay=0)
    assert await first.acquire()
    e1 = (await log.open(7, first.owner_value)).epoch
    for seq in range(1, 20):
        await log.append(7, first.owner_value, Position(e1, seq), f"a{seq}")
    if loss == "restart":
        await redis_client.flushall()
    else:
        await redis_client.delete(f"sd:head:user:{7}")
    await redis_client.delete(first.key)  # the owner died too
    second = RedisLease(redis_client, 7, ttl=5, claim_delay=0)
    assert await second.acquire()
    head = await log.open(7, second.owner_value)
    assert head.epoch != e1 and head.seq == 0
    await log.append(7, second.owner_value, Position(head.epoch, 1), "b1")
    assert await log.since(7, Position(e1, 19)) is None
    assert await log.since(7, Position(e1, 0)) is None
    assert await log.since(7, Position(head.epoch, 0)) == ["b1"]
    # the old owner, if it comes back, is fenced by the new epoch even with the lease
    await redis_client.set(first.key, first.owner_value)
    with pytest.raises(Fenced):
        await log.append(7, first.owner_value, Position(e1, 20), "a20")


async def test_the_living_owner_keeps_its_epoch_after_a_restart(redis_client):
    """The owner survives a Redis restart: it puts its head back (restore) and keeps its
    epoch; a redis_client at exactly the head resumes, an older one gets a snapshot (the frames
    in between are gone), and later appends continue the same run."""
    log = RedisEventLog(redis_client, size=100)
    owner = RedisLease(redis_client, 8, ttl=5, claim_delay=0)
    assert await owner.acquire()
    epoch = (await log.open(8, owner.owner_value)).epoch
    for seq in range(1, 6):
        await log.append(8, owner.owner_value, Position(epoch, seq), f"f{seq}")
    await redis_client.flushall()
    await log.restore(8, owner.owner_value, Position(epoch, 5))
    assert await log.head(8) == Position(epoch, 5)
    assert await log.since(8, Position(epoch, 5)) == []
    assert await log.since(8, Position(epoch, 3)) is None
    await log.append(8, owner.owner_value, Position(epoch, 6), "f6")
    assert await log.since(8, Position(epoch, 5)) == ["f6"]
    assert (await log.open(8, owner.owner_value)) == Position(epoch, 6)


async def test_the_owner_puts_back_the_frames_a_restart_lost(redis_client):
    """Relays that missed frames while Redis was down fill them from the log once the
    owner put back the newest frames it holds, even if an append after the restart
    re-created the head first; a relay older than those frames still gets None."""
    log = RedisEventLog(redis_client, size=100)
    owner = RedisLease(redis_client, 9, ttl=5, claim_delay=0)
    assert await owner.acquire()
    epoch = (await log.open(9, owner.owner_value)).epoch
    for seq in range(1, 4):
        await log.append(9, owner.owner_value, Position(epoch, seq), f"f{seq}")
    await redis_client.flushall()  # frames 4 and 5 happen while Redis is away: not written
    await log.append(9, owner.owner_value, Position(epoch, 6), "f6")  # just after
    assert await log.since(9, Position(epoch, 3)) is None
    kept = [(seq, f"f{seq}") for seq in range(2, 7)]  # what the owner still holds
    await log.restore(9, owner.owner_value, Position(epoch, 6), kept)
    assert await log.since(9, Position(epoch, 3)) == ["f4", "f5", "f6"]
    assert await log.since(9, Position(epoch, 1)) == ["f2", "f3", "f4", "f5", "f6"]
    assert await log.since(9, Position(epoch, 0)) is None  # f1 is gone for good
    assert await log.head(9) == Position(epoch, 6)
    await log.append(9, owner.owner_value, Position(epoch, 7), "f7")
    assert await log.since(9, Position(epoch, 5)) == ["f6", "f7"]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ab12:19", Position("ab12", 19)),
        (" ab12:0 ", Position("ab12", 0)),
        ("19", None),  # a bare seq cannot be checked against an epoch
        ("ab12:\u00b2", None),  # a Unicode digit
        ("ab12:\u0663", None),
        ("\u00e9p:1", None),
        ("ab12:-1", None),
        ("ab12:1:2", None),
        ("x" * 33 + ":1", None),
        ("ab12:" + "9" * 16, None),
        ("", None),
        (None, None),
    ],
)
def test_positions_parse_strictly(raw, expected):
    """Positions from clients are `<epoch>:<seq>` in ASCII; anything else is None (the
    redis_client gets a snapshot), never an exception."""
    assert Position.parse(raw) == expected


async def test_local_lease_is_always_granted():
    """One process: no competition."""
    lease = LocalLease(5)
    assert await lease.acquire() and await lease.renew()
    await lease.release()
    assert not await lease.renew()


async def test_appends_that_reach_redis_out_of_order_never_move_the_head_back(redis_client):
    """A user's writes are sent in seq order but may travel in two pipelines on two
    connections (the manager does not wait for one before sending the next): the head
    only moves forward, and the log is whole once both are in."""
    log = RedisEventLog(redis_client, size=100)
    owner = RedisLease(redis_client, 11, ttl=5, claim_delay=0)
    assert await owner.acquire()
    head = await log.open(11, owner.owner_value)
    await log.append(11, owner.owner_value, Position(head.epoch, 2), '{"seq":2}')
    assert await log.since(11, Position(head.epoch, 0)) is None  # a hole at 1: a snapshot
    await log.append(11, owner.owner_value, Position(head.epoch, 1), '{"seq":1}')
    assert await log.head(11) == Position(head.epoch, 2)
    assert await log.since(11, Position(head.epoch, 0)) == ['{"seq":1}', '{"seq":2}']
