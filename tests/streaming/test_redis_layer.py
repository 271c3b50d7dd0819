"""The Redis channel layer's background clean-up, while Redis is away.

channels-redis pops a received message's backup copy in a task nobody awaits; with Redis
gone that task raised, and asyncio logged "Task exception was never retrieved" with a
traceback on every receive during an outage (the outage itself is logged once, by
streaming/cluster/redis/health.py).
"""

from __future__ import annotations

import socket

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from streaming.cluster.redis.layer import RedisChannelLayer


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_a_backup_clean_up_while_redis_is_away_raises_nothing(caplog):
    layer = RedisChannelLayer(hosts=[f"redis://127.0.0.1:{closed_port()}/0"])
    with caplog.at_level("DEBUG", logger="streaming.cluster.redis.layer"):
        await layer._clean_receive_backup(0, "specific.abc!")  # returns: nothing to retrieve
    assert [r.levelname for r in caplog.records] == ["DEBUG"]
    assert "backup" in caplog.records[0].getMessage()


async def test_the_library_layer_raised_there(caplog):
    """The defect itself: the library's clean-up raises when Redis is away."""
    from channels_redis.core import RedisChannelLayer as Library

    layer = Library(hosts=[f"redis://127.0.0.1:{closed_port()}/0"])
    with pytest.raises(RedisConnectionError):
        await layer._clean_receive_backup(0, "specific.abc!")
