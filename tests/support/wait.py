"""Waiting for a condition instead of sleeping a fixed time: one helper for every test.

`wait_until` (in a coroutine) and `poll_until` (in a thread, e.g. next to a sandbox
served from another thread) check `condition()` until it is truthy and return its value,
or fail the test with `what` after `within` seconds; `await_until` awaits `condition()`
(a database query through `database_sync_to_async`, say).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import TypeVar

T = TypeVar("T")

#: The first checks come quickly (most conditions hold within moments); then ever less
#: often, up to MAX_INTERVAL: a check may be a page evaluation through Playwright, an HTTP
#: request or a database connection, and checking one every 20 ms for seconds cost every
#: process it touched CPU the whole run was short of. A condition is seen at most
#: MAX_INTERVAL after it holds.
INTERVAL = 0.02
MAX_INTERVAL = 0.2
GROWTH = 1.5


def _checks(within: float, what: str) -> Iterator[float]:
    """Yields the pause before each next check until `within` seconds have passed; then the
    test fails."""
    deadline = time.monotonic() + within
    pause = INTERVAL
    while True:
        yield min(pause, max(0.0, deadline - time.monotonic()) + INTERVAL)
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not met within {within} s")
        pause = min(pause * GROWTH, MAX_INTERVAL)


async def wait_until(
    condition: Callable[[], T], within: float = 10.0, what: str = "condition"
) -> T:
    for pause in _checks(within, what):
        if value := condition():
            return value
        await asyncio.sleep(pause)
    raise AssertionError("unreachable")


async def await_until(
    condition: Callable[[], Awaitable[T]], within: float = 10.0, what: str = "condition"
) -> T:
    for pause in _checks(within, what):
        if value := await condition():
            return value
        await asyncio.sleep(pause)
    raise AssertionError("unreachable")


def poll_until(condition: Callable[[], T], within: float = 10.0, what: str = "condition") -> T:
    for pause in _checks(within, what):
        if value := condition():
            return value
        time.sleep(pause)
    raise AssertionError("unreachable")
