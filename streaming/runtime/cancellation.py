"""`asyncio.wait_for` that never loses a cancel (Python 3.12's, on 3.11).

On 3.11, a task cancelled in the same loop iteration as the operation it waits for in
`wait_for` finishes gets the result instead of the CancelledError, and the cancel is
gone (CPython gh-86296, fixed in 3.12 by rewriting `wait_for` over `asyncio.timeout`).
redis-py sends every command through `asyncio.wait_for`, so a stream manager's stop
could leave a broker pump running, holding its broker session after the lease moved on.
`install_wait_for` (run by the app's `ready`) puts 3.12's version in `asyncio`, where
libraries look it up at call time. Tests: tests/streaming/test_cancellation.py.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable
from typing import TypeVar

T = TypeVar("T")


async def wait_for(fut: Awaitable[T], timeout: float | None) -> T:  # noqa: ASYNC109 (asyncio's signature)
    """`asyncio.wait_for` as Python 3.12 has it: the awaitable runs in this task under a
    timeout scope, so a cancel of this task is a CancelledError whatever else finished."""
    if timeout is not None and timeout <= 0:
        task = asyncio.ensure_future(fut)
        if task.done():
            return task.result()
        task.cancel()
        try:
            await task
        except asyncio.CancelledError as exc:
            raise TimeoutError from exc
        return task.result()
    async with asyncio.timeout(timeout):
        return await fut


def install_wait_for() -> None:
    """Replace `asyncio.wait_for` on Pythons whose own can lose a cancel (before 3.12)."""
    if sys.version_info < (3, 12):
        setattr(asyncio, "wait_for", wait_for)  # noqa: B010 (typeshed types 3.12's wider signature)
        setattr(asyncio.tasks, "wait_for", wait_for)  # noqa: B010


def await_chain(task: asyncio.Task) -> str:
    """Where a task waits, outermost first (`file:line function <- ...`): logged for a task
    that outlived a cancel, so the operator sees what held it."""
    steps: list[str] = []
    frame_of = ("cr_frame", "gi_frame", "ag_frame")
    awaited_of = ("cr_await", "gi_yieldfrom", "ag_await")
    current: object = task.get_coro()
    while current is not None and len(steps) < 40:
        frame = next((getattr(current, a) for a in frame_of if getattr(current, a, None)), None)
        if frame is not None:
            where = frame.f_code.co_filename.rsplit("site-packages/", 1)[-1]
            steps.append(f"{where}:{frame.f_lineno} {frame.f_code.co_name}")
        current = next((getattr(current, a) for a in awaited_of if getattr(current, a, None)), None)
    return " <- ".join(steps) or "(not started or finished)"
