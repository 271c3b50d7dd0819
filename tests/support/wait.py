"""Waiting for a condition instead of sleeping a fixed time: one helper for every test.

`wait_until` (in a coroutine) and `poll_until` (in a thread, e.g. next to a sandbox
served from another thread) check `condition()` until it is truthy and return its value,
or fail the test with `what` after `within` seconds.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from typing import TypeVar

T = TypeVar("T")

INTERVAL = 0.02


def _checks(within: float, what: str) -> Iterator[None]:
    """One step per check until `within` seconds have passed; then the test fails."""
    deadline = time.monotonic() + within
    while True:
        yield
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not met within {within} s")


async def wait_until(
    condition: Callable[[], T], within: float = 10.0, what: str = "condition"
) -> T:
    for _ in _checks(within, what):
        if value := condition():
            return value
        await asyncio.sleep(INTERVAL)
    raise AssertionError("unreachable")


def poll_until(condition: Callable[[], T], within: float = 10.0, what: str = "condition") -> T:
    for _ in _checks(within, what):
        if value := condition():
            return value
        time.sleep(INTERVAL)
    raise AssertionError("unreachable")
