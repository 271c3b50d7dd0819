"""Frames to other processes' tabs (streaming/cluster/relay.py), over the real channels-redis layer:
two layer instances are two processes (each its own client prefix, one Redis)."""

from __future__ import annotations

import asyncio

import pytest
from channels_redis.core import RedisChannelLayer

from streaming import metrics
from streaming.cluster.relay import Relay, process_of, relay_channel
from tests.support.wait import wait_until

pytestmark = pytest.mark.redis


class CountingLayer(RedisChannelLayer):
    """A process's layer that counts the messages it sends."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.sent: list[str] = []

    async def send(self, channel, message):
        self.sent.append(channel)
        await super().send(channel, message)


class Fanout:
    """What a relaying process hands frames to (fanout.UserFanout's `deliver`)."""

    def __init__(self) -> None:
        self.got: list[dict] = []

    async def deliver(self, message: dict) -> None:
        self.got.append(message)


@pytest.fixture
async def processes(redis_server):
    owner = CountingLayer(hosts=[redis_server.url])
    relaying = CountingLayer(hosts=[redis_server.url], capacity=5)
    await owner.flush()
    yield owner, relaying
    await owner.flush()


def frame(user: int, n: int) -> dict:
    return {"type": "stream.frame", "kind": "quotes", "text": f'{{"u":{user},"n":{n}}}'}


async def test_frames_of_many_users_made_in_one_turn_leave_as_one_message_in_order(processes):
    owner_layer, relaying_layer = processes
    owner, here = Relay(owner_layer), Relay(relaying_layer)
    fanouts = {user: Fanout() for user in (1, 2, 3)}
    for user, fanout in fanouts.items():
        await here.listen(user, fanout)
    assert here.process == process_of(await relaying_layer.new_channel())
    sent = [owner.send(here.process, user, frame(user, n)) for n in range(10) for user in fanouts]
    await asyncio.gather(*sent)
    assert owner_layer.sent == [relay_channel(here.process)]  # 30 frames, one message
    await wait_until(lambda: all(len(f.got) == 10 for f in fanouts.values()))
    for user, fanout in fanouts.items():
        assert fanout.got == [frame(user, n) for n in range(10)]
    await here.stop()


async def test_a_user_whose_tabs_left_gets_nothing_and_the_others_go_on(processes):
    owner_layer, relaying_layer = processes
    owner, here = Relay(owner_layer), Relay(relaying_layer)
    stays, leaves = Fanout(), Fanout()
    await here.listen(1, stays)
    await here.listen(2, leaves)
    here.forget(2, leaves)
    await asyncio.gather(
        owner.send(here.process, 2, frame(2, 0)), owner.send(here.process, 1, frame(1, 0))
    )
    await wait_until(lambda: stays.got == [frame(1, 0)])
    assert leaves.got == []
    await here.stop()


async def test_a_process_that_does_not_read_loses_batches_not_the_owners_stream(processes):
    """Its queue full (stuck, or gone): the owner's publish does not fail (its own tabs
    and the other processes go on); the batch is dropped and counted, as the group
    dropped frames; that process's tabs fill account gaps from the event log."""
    owner_layer, relaying_layer = processes
    owner = Relay(owner_layer)
    stuck = process_of(await relaying_layer.new_channel())  # capacity 5, nobody reads
    owner_layer.capacity = 5
    before = metrics.RELAY_BATCHES.labels("full")._value.get()
    for n in range(8):
        await owner.send(stuck, 1, frame(1, n))  # one batch each: awaited one by one
    assert metrics.RELAY_BATCHES.labels("full")._value.get() - before == 3
