"""Which stream worker runs a user's manager: every worker ranks the live workers the same
way for a user (rendezvous hashing) and the first in line claims a free lease at once;
the others only after it has been seen free for the claim delay (the first is gone or
slow). Against a real Redis."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from streaming.cluster.lease import RedisLease
from streaming.cluster.placement import WORKERS_KEY, Placement, preferred_worker

pytestmark = pytest.mark.redis


def test_users_spread_evenly_and_only_a_leaving_workers_users_move():
    workers = [f"host:{pid}:abcd" for pid in (101, 102, 103)]
    users = range(1, 3001)
    first = {user: preferred_worker(user, workers) for user in users}
    counts = Counter(first.values())
    assert set(counts) == set(workers)
    assert all(900 <= n <= 1100 for n in counts.values()), counts  # 1,000 ± 10 %
    assert first == {user: preferred_worker(user, list(reversed(workers))) for user in users}
    after = {user: preferred_worker(user, workers[:2]) for user in users}
    moved = {user for user in users if after[user] != first[user]}
    assert moved == {user for user in users if first[user] == workers[2]}
    assert preferred_worker(1, []) is None


async def test_workers_see_each_other_and_a_silent_one_drops_out(redis_client):
    a, b = Placement("worker-a", ttl=0.4), Placement("worker-b", ttl=0.4)
    await a.report(redis_client)
    await b.report(redis_client)
    await a.report(redis_client)
    assert a.workers == b.workers == frozenset({"worker-a", "worker-b"})
    await asyncio.sleep(0.5)  # b stops reporting: it died
    await a.report(redis_client)
    assert a.workers == frozenset({"worker-a"})
    await b.leave(redis_client)
    await a.leave(redis_client)
    assert await redis_client.zcard(WORKERS_KEY) == 0


async def test_the_first_in_line_wins_a_free_lease_whoever_asks_first(redis_client):
    """Twenty users, each asked for first by the worker that is not first in line: every
    lease goes to the first in line; the other takes one only once it was seen free for
    its claim delay (the first in line never came)."""
    a, b = Placement("worker-a"), Placement("worker-b")
    for placement in (a, b, a):
        await placement.report(redis_client)

    def lease(placement: Placement, user: int) -> RedisLease:
        return RedisLease(
            redis_client,
            user,
            ttl=5,
            claim_delay=0.3,
            defer=lambda: not placement.first_in_line(user),
        )

    owners = {}
    for user in range(1, 21):
        first, second = (a, b) if a.first_in_line(user) else (b, a)
        assert not second.first_in_line(user)
        waiting = lease(second, user)
        assert not await waiting.acquire()  # free, but not first in line: it waits
        taken = lease(first, user)
        assert await taken.acquire() and not taken.needs_handover
        assert not await waiting.acquire()
        owners[user] = first.me
    assert set(owners.values()) == {"worker-a", "worker-b"}

    orphan = next(user for user in range(21, 100) if not a.first_in_line(user))
    patient = lease(a, orphan)  # b, first in line, never asks (it is stuck or gone)
    assert not await patient.acquire()
    await asyncio.sleep(0.35)
    assert await patient.acquire()


async def test_a_released_lease_goes_to_the_first_in_line_too(redis_client):
    """A clean release (a worker stopping) is a free lease like any other."""
    a, b = Placement("worker-a"), Placement("worker-b")
    for placement in (a, b, a):
        await placement.report(redis_client)
    user = next(u for u in range(1, 100) if b.first_in_line(u))
    old = RedisLease(redis_client, user, ttl=5)
    assert await old.acquire()
    await old.release()
    waiting = RedisLease(
        redis_client, user, ttl=5, claim_delay=5, defer=lambda: not a.first_in_line(user)
    )
    assert not await waiting.acquire()
    taken = RedisLease(redis_client, user, ttl=5, defer=lambda: not b.first_in_line(user))
    assert await taken.acquire() and not taken.needs_handover


def test_before_its_first_report_a_worker_claims_as_before():
    assert Placement("worker-a").first_in_line(7)
