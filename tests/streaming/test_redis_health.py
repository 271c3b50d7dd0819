"""One Redis outage, one log line per process, whatever order the reports arrive in.

Many tasks report to `RedisHealth` at once (lease loops, tabs, the watch). Around the
moment Redis goes away or comes back their reports cross: a reply that left Redis just
before it died is processed after another task's "connection closed", a "connection
refused" from just before the restart after the watch saw Redis back. No such report
may split one outage into two.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from streaming.cluster.redis import health as redis_health
from streaming.cluster.redis.health import RedisHealth

UNAVAILABLE = "Redis unavailable"


class FakeRedis:
    """Answers INFO while up and refuses while down; counts the questions."""

    def __init__(self) -> None:
        self.up = True
        self.run_id = "first"
        self.asked = 0

    async def info(self, section: str) -> dict[str, str]:
        self.asked += 1
        if not self.up:
            raise RedisConnectionError("Error 111 connecting to 127.0.0.1. Connection refused.")
        return {"run_id": self.run_id}


async def until(condition: Callable[[], bool], within: float = 5.0) -> None:
    async with asyncio.timeout(within):
        while not condition():
            await asyncio.sleep(0.005)


@pytest.fixture
def fast_watch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(redis_health, "WATCH_INTERVAL", 0.02)


@pytest.fixture
async def health(fast_watch):
    client = FakeRedis()
    recovered: list[tuple[str, bool]] = []

    async def on_recover(reason: str, restarted: bool) -> None:
        recovered.append((reason, restarted))

    tracker = RedisHealth(client, on_recover, careful_for=0.0)  # type: ignore[arg-type]
    watch = asyncio.create_task(tracker.watch())
    await until(lambda: client.asked > 0)
    yield tracker, client, recovered
    watch.cancel()
    await asyncio.gather(watch, return_exceptions=True)


def unavailable(caplog: pytest.LogCaptureFixture) -> int:
    return sum(UNAVAILABLE in r.getMessage() for r in caplog.records)


async def probes(client: FakeRedis, n: int = 2) -> None:
    """Let the watch ask Redis `n` more times (it has acted on what it saw)."""
    asked = client.asked
    await until(lambda: client.asked >= asked + n)


async def test_a_stale_success_during_the_outage_does_not_split_it(health, caplog):
    """A success whose reply left Redis before it died, reported after the first failure:
    the outage goes on and is logged once."""
    tracker, client, recovered = health
    caplog.set_level(logging.WARNING, logger=redis_health.__name__)
    client.up = False
    tracker.failed(RedisConnectionError("Connection closed by server."))
    await until(lambda: unavailable(caplog) == 1)
    tracker.ok()  # the stale success
    await probes(client)
    tracker.failed(RedisConnectionError("Connection refused."))  # the outage, still
    await probes(client)
    assert tracker.recovering()
    client.up, client.run_id = True, "second"
    await until(lambda: bool(recovered))
    await probes(client)
    assert unavailable(caplog) == 1, caplog.text
    assert len(recovered) == 1, recovered  # and reconciled once


async def test_a_stale_failure_after_the_recovery_does_not_open_another(health, caplog):
    """A refusal from an attempt made just before Redis came back, reported after the
    recovery: no second outage. A real one later is still logged."""
    tracker, client, recovered = health
    caplog.set_level(logging.WARNING, logger=redis_health.__name__)
    client.up = False
    tracker.failed(RedisConnectionError("Connection refused."))
    await until(lambda: unavailable(caplog) == 1)
    client.up = True
    tracker.ok()
    await until(lambda: bool(recovered))
    tracker.failed(RedisConnectionError("Connection refused."))  # the stale one
    await probes(client)
    assert unavailable(caplog) == 1, caplog.text
    assert len(recovered) == 1, recovered
    client.up = False  # a second outage
    tracker.failed(RedisConnectionError("Connection refused."))
    await until(lambda: unavailable(caplog) == 2)


async def test_a_connection_the_restart_closed_is_not_a_second_outage(health, caplog):
    """After a restart the pool may hand the watch a connection the old server closed: it
    fails once ("Connection closed by server") and leaves the pool; asked again at once
    on a fresh one, Redis answers, and no outage is logged."""
    _, client, _ = health
    answer = client.info
    closed = [True]

    async def once_closed(section: str) -> dict[str, str]:
        if closed and closed.pop():
            client.asked += 1
            raise RedisConnectionError("Connection closed by server.")
        return await answer(section)

    client.info = once_closed  # type: ignore[method-assign]
    with caplog.at_level(logging.WARNING, logger="streaming.cluster.redis.health"):
        await probes(client, 3)
    assert closed == []
    assert unavailable(caplog) == 0
