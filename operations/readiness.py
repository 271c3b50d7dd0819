"""Readiness: can this process serve traders right now? (database, Redis, channel layer)

A load balancer takes a process out of rotation while a part it needs is unreachable.
Each check runs under one deadline and answers `None` (fine) or a short reason naming
what failed, never a traceback and never any data: the endpoint is unauthenticated.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import redis.asyncio as aioredis
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import connections

from streaming.runtime import redis_driver

log = logging.getLogger(__name__)

Check = Callable[[], Awaitable[None]]


def _ping_database() -> None:
    """One round trip on a connection of its own thread, closed afterwards (so a
    restarted database never leaves this thread holding a dead connection)."""
    connection = connections["default"]
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    finally:
        connection.close()


async def database() -> None:
    # Not thread-sensitive: a hung database must not block Django's one sync thread.
    await sync_to_async(_ping_database, thread_sensitive=False)()


async def redis() -> None:
    client = aioredis.Redis.from_url(
        settings.REDIS_URL, **redis_driver.options(socket_connect_timeout=2)
    )
    try:
        await client.ping()
    finally:
        await client.aclose()


async def channel_layer() -> None:
    """A message sent to a fresh channel comes back: the layer works end to end."""
    layer = get_channel_layer()
    if layer is None:
        raise RuntimeError("no channel layer configured")
    channel = await layer.new_channel("ready")
    await layer.send(channel, {"type": "ready.probe"})
    message = await layer.receive(channel)
    if message.get("type") != "ready.probe":
        raise RuntimeError("the layer returned another message")


def checks() -> dict[str, Check]:
    """The parts this process needs: Redis only where it is configured."""
    parts: dict[str, Check] = {"database": database}
    if settings.REDIS_URL:
        parts["redis"] = redis
    parts["channel_layer"] = channel_layer
    return parts


def _reason(exc: BaseException, deadline: float) -> str:
    if isinstance(exc, TimeoutError):
        return f"no answer within {deadline:g} s"
    text = str(exc).splitlines()[0][:200] if str(exc) else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


async def _run(name: str, check: Check, deadline: float) -> str | None:
    try:
        await asyncio.wait_for(check(), deadline)
    except Exception as exc:
        reason = _reason(exc, deadline)
        log.warning("readiness: %s is not ready: %s", name, reason)
        return reason
    return None


async def report() -> dict[str, str | None]:
    """Every check, run at once under READY_TIMEOUT; each part maps to None (ready) or
    why it is not."""
    deadline = settings.READY_TIMEOUT
    parts = checks()
    results = await asyncio.gather(*(_run(n, c, deadline) for n, c in parts.items()))
    return dict(zip(parts, results, strict=True))
