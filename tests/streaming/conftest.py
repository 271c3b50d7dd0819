"""Fixtures shared by the stream's API tests."""

from __future__ import annotations

from typing import Any

import pytest
import redis.asyncio as aioredis

from streaming.cluster import owner_rpc
from tests.support.tradier_adapter import tradier_streaming  # noqa: F401  (fixture)


@pytest.fixture
def notified(monkeypatch) -> list[tuple[int, dict[str, Any]]]:
    """Every `owner_rpc.to_owner` call, recorded (the stream itself is not under test)."""
    calls: list[tuple[int, dict[str, Any]]] = []

    async def to_owner(user_id: int, message: dict[str, Any]) -> None:
        calls.append((user_id, message))

    monkeypatch.setattr(owner_rpc, "to_owner", to_owner)
    return calls


@pytest.fixture
async def redis_client(redis_server):
    """A client of the session's real Redis, emptied first."""
    client = aioredis.from_url(redis_server.url)
    await client.flushall()
    yield client
    await client.aclose()
