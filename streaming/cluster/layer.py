"""Reading the channel layer: what every cluster part that listens on a channel shares.

Below the fan-out (fanout.py) and the relay (relay.py), which both read channels: the
relay hands frames to fan-outs, so it may not import them.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from channels.layers import get_channel_layer
from redis.exceptions import RedisError

#: A layer message as read (the typed shapes are in streaming/contract/layer.py).
Message = dict[str, Any]


async def messages(channel: str, layer: Any = None) -> AsyncIterator[Message]:
    """A channel's messages, forever; a Redis hiccup is waited out, not fatal."""
    layer = layer or get_channel_layer()
    while True:
        try:
            message = await layer.receive(channel)
        except (RedisError, OSError):
            await asyncio.sleep(0.5)
            continue
        yield message
