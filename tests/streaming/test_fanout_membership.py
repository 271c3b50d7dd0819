"""A process's fan-out is in the user's group exactly while another process owns the
stream (streaming/cluster/fanout.py), over the real channels-redis layer: a tab that
arrives while this process takes the stream over must not leave the owner in the group
(it would get its own broadcasts back, and the group would name a process that has no
relay to do)."""

from __future__ import annotations

import asyncio

import pytest
from channels.layers import channel_layers, get_channel_layer

from streaming.cluster.fanout import UserFanout, user_group
from streaming.cluster.relay import Relay

pytestmark = pytest.mark.redis


@pytest.fixture
async def layer(settings, redis_server):
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [redis_server.url]},
        }
    }
    channel_layers.backends.clear()
    layer = get_channel_layer()
    await layer.flush()
    yield layer
    await layer.flush()
    channel_layers.backends.clear()


async def members(layer, user_id: int) -> set[str]:
    connection = layer.connection(layer.consistent_hash(user_group(user_id)))
    key = layer._group_key(user_group(user_id))
    return {m.decode() for m in await connection.zrange(key, 0, -1)}


async def test_a_tab_joining_during_a_takeover_leaves_no_owner_in_the_group(layer, monkeypatch):
    """The tab's join checked "not the owner" just before this process took the stream
    (own, then leave the group); its group_add reached Redis after the leave."""
    relay = Relay()  # this process's (its agents' own in the app)
    fanout = UserFanout(7, relay)
    await fanout.join()  # a first tab, while another process owns the stream
    assert await members(layer, 7) == {fanout._channel}
    checked = asyncio.Event()
    took_over = asyncio.Event()
    group_add = layer.group_add

    async def late_group_add(group: str, channel: str) -> None:
        checked.set()  # past the "owning?" check
        await took_over.wait()  # the takeover's leave goes first
        await group_add(group, channel)

    monkeypatch.setattr(layer, "group_add", late_group_add)
    second_tab = asyncio.create_task(fanout.join())
    await checked.wait()
    fanout.own(lambda: [])  # this process's manager publishes now
    await fanout.leave()
    took_over.set()
    await second_tab
    assert await members(layer, 7) == set()
    await fanout.close()
    await relay.stop()
