"""A process's Redis script calls in shared pipelines, against a real Redis."""

from __future__ import annotations

import asyncio

import pytest
import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError

from streaming.cluster.eventlog import RedisEventLog
from streaming.cluster.lease import RedisLease
from streaming.cluster.redis.batch import ScriptBatch
from streaming.stream.position import Fenced, Position
from tests.support.redis_server import free_port

pytestmark = pytest.mark.redis

#: returns ARGV[1] * 2 after storing it under KEYS[1]; fails on a non-number
_DOUBLE = """
redis.call('SET', KEYS[1], ARGV[1])
return tonumber(ARGV[1]) * 2
"""


class CountingRedis(aioredis.Redis):
    """A client that counts the pipelines it opens (the round trips a batch costs)."""

    pipelines = 0

    def pipeline(self, *args, **kwargs):
        type(self).pipelines += 1
        return super().pipeline(*args, **kwargs)


@pytest.fixture
async def client(redis_server):
    CountingRedis.pipelines = 0
    client = CountingRedis.from_url(redis_server.url)
    await client.flushall()
    yield client
    await client.aclose()


async def test_calls_made_together_leave_in_one_pipeline_each_with_its_own_result(client):
    batch = ScriptBatch(client)
    double = client.register_script(_DOUBLE)
    await client.script_load(_DOUBLE)  # else the first batch is sent again (NOSCRIPT)
    results = await asyncio.gather(*(batch.call(double, [f"k{i}"], [i]) for i in range(50)))
    assert results == [2 * i for i in range(50)]
    assert CountingRedis.pipelines == 1
    assert await client.get("k49") == b"49"


async def test_one_calls_error_is_its_own(client):
    """A script that fails for one caller (here: not a number) fails that call only."""
    batch = ScriptBatch(client)
    double = client.register_script(_DOUBLE)
    good, bad, other = await asyncio.gather(
        batch.call(double, ["a"], [1]),
        batch.call(double, ["b"], ["x"]),
        batch.call(double, ["c"], [3]),
        return_exceptions=True,
    )
    assert (good, other) == (2, 6)
    assert isinstance(bad, ResponseError)


async def test_scripts_redis_forgot_are_loaded_again(client):
    """After a restart (or SCRIPT FLUSH) Redis answers NOSCRIPT: the batch loads the
    scripts and sends those calls again (one more round trip)."""
    batch = ScriptBatch(client)
    double = client.register_script(_DOUBLE)
    assert await batch.call(double, ["a"], [1]) == 2
    await client.script_flush()
    before = CountingRedis.pipelines
    results = await asyncio.gather(*(batch.call(double, [f"k{i}"], [i]) for i in range(5)))
    assert results == [0, 2, 4, 6, 8]
    assert CountingRedis.pipelines - before == 2
    assert await client.get("k4") == b"4"


async def test_a_caller_that_gives_up_does_not_fail_the_others(client):
    batch = ScriptBatch(client)
    double = client.register_script(_DOUBLE)
    gone = asyncio.ensure_future(batch.call(double, ["gone"], [5]))
    stays = asyncio.ensure_future(batch.call(double, ["stays"], [7]))
    await asyncio.sleep(0)  # both queued
    gone.cancel()
    assert await stays == 14
    assert gone.cancelled()


async def test_an_unreachable_redis_fails_every_call_of_the_batch():
    dead = aioredis.Redis.from_url(f"redis://127.0.0.1:{free_port()}")
    batch = ScriptBatch(dead)
    double = dead.register_script(_DOUBLE)
    results = await asyncio.gather(
        *(batch.call(double, [f"k{i}"], [i]) for i in range(3)), return_exceptions=True
    )
    await dead.aclose()
    assert all(isinstance(r, RedisConnectionError) for r in results)


async def test_appends_and_renewals_of_many_users_share_pipelines(client):
    """The event log's appends and the leases' renewals go through one batch: a burst of
    appends for 30 users costs one round trip, each fenced or written on its own."""
    batch = ScriptBatch(client)
    log = RedisEventLog(client, size=100, lease_ttl=5, batch=batch)
    leases = [RedisLease(client, u, ttl=5, claim_delay=0, batch=batch) for u in range(30)]
    heads = []
    for u, lease in enumerate(leases):
        assert await lease.acquire()
        heads.append(await log.open(u, lease.owner_value))
    await client.set(leases[7].key, "someone-else")  # user 7's stream moved on
    await client.script_load(log._append.script)
    before = CountingRedis.pipelines
    results = await asyncio.gather(
        *(
            log.append(u, lease.owner_value, Position(heads[u].epoch, 1), f'{{"u":{u}}}')
            for u, lease in enumerate(leases)
        ),
        return_exceptions=True,
    )
    assert CountingRedis.pipelines - before == 1
    assert isinstance(results[7], Fenced)
    assert [r for u, r in enumerate(results) if u != 7] == [None] * 29
    assert await log.since(3, Position(heads[3].epoch, 0)) == ['{"u":3}']
    await client.script_load(leases[0]._renew.script)
    before = CountingRedis.pipelines
    renewed = await asyncio.gather(*(lease.renew() for lease in leases))
    assert CountingRedis.pipelines - before == 1
    assert renewed == [u != 7 for u in range(30)]


async def test_agents_started_apart_renew_in_the_same_loop_iteration(settings):
    """Each agent sleeps to the next multiple of the renewal period (cluster/agent.py), so
    a process's renewals are made together and share one pipeline."""
    from streaming.cluster.agent import next_renewal_at, sleep_until

    period = settings.STREAM_LEASE_RENEW
    loop = asyncio.get_running_loop()
    iteration = 0  # counts the loop's iterations: a callback that runs once in each

    def count() -> None:
        nonlocal iteration
        iteration += 1
        counting[0] = loop.call_soon(count)

    counting = [loop.call_soon(count)]
    targets: list[int] = []  # the multiple of the period each agent sleeps to
    woke: list[tuple[int, float]] = []

    async def agent(start: float) -> None:
        await asyncio.sleep(start)
        when = next_renewal_at()
        targets.append(round(when / period))
        await sleep_until(when)
        woke.append((iteration, loop.time()))

    await sleep_until(next_renewal_at())  # just past a multiple of the period
    try:
        # started apart within one period (the last one 0.13 of it in: the rest of the
        # period is the margin for a loaded box's late wake-ups)
        await asyncio.gather(*(agent(f * period) for f in (0.0, 0.05, 0.13)))
    finally:
        counting[0].cancel()
    assert len(set(targets)) == 1, targets  # the same multiple for all
    assert len({i for i, _ in woke}) == 1, woke  # woken in one loop iteration
    # at that multiple, not a whole period late
    assert all(t < (targets[0] + 1) * period for _, t in woke), (targets, woke)
