"""A cancel is never lost in `asyncio.wait_for` (streaming/runtime/cancellation.py).

Python 3.11's `wait_for` returns the result when the task is cancelled in the same loop
iteration as the awaited operation finishes, and the cancel is gone: a manager's stop
then left a broker pump running (redis-py sends every command through `wait_for`), and
a resumed ex-owner kept its tastytrade session (tests/chaos/test_owner_faults.py, the
paused owner). Python 3.12's `wait_for` (a timeout scope around the await) has no such
window; the fix installs it on 3.11.
"""

from __future__ import annotations

import asyncio

import pytest

from streaming.runtime.cancellation import await_chain, install_wait_for, wait_for


async def _cancel_as_it_finishes(wait) -> asyncio.Task:
    """A task in `wait(inner, 5)`; `inner` finishes and the task is cancelled at once."""
    inner = asyncio.get_running_loop().create_future()

    async def worker() -> None:
        await wait(inner, 5)
        await asyncio.sleep(3600)  # a lost cancel lets the task run on to here

    task = asyncio.create_task(worker())
    await asyncio.sleep(0)  # the worker waits in wait_for
    inner.set_result("done")
    task.cancel()
    return task


async def test_a_cancel_as_the_operation_finishes_ends_the_task():
    task = await _cancel_as_it_finishes(wait_for)
    with pytest.raises(asyncio.CancelledError):
        async with asyncio.timeout(2):
            await task
    assert task.cancelled()


async def test_the_installed_wait_for_is_the_one_libraries_call():
    install_wait_for()
    assert asyncio.wait_for is wait_for
    task = await _cancel_as_it_finishes(lambda f, t: asyncio.wait_for(f, t))
    with pytest.raises(asyncio.CancelledError):
        async with asyncio.timeout(2):
            await task


async def test_results_timeouts_and_no_limit_are_as_before():
    assert await wait_for(asyncio.sleep(0, "value"), 1) == "value"
    assert await wait_for(asyncio.sleep(0, "value"), None) == "value"
    slow = asyncio.ensure_future(asyncio.sleep(3600))
    with pytest.raises(TimeoutError):
        await wait_for(slow, 0.05)
    await asyncio.sleep(0)
    assert slow.cancelled()  # what timed out is cancelled, as before
    pending = asyncio.ensure_future(asyncio.sleep(3600))
    with pytest.raises(TimeoutError):
        await wait_for(pending, 0)
    assert pending.cancelled()
    with pytest.raises(ZeroDivisionError):
        await wait_for(_fail(), 1)


async def _fail() -> None:
    await asyncio.sleep(0)
    raise ZeroDivisionError


async def test_the_await_chain_names_where_a_task_waits():
    async def inner() -> None:
        await asyncio.sleep(3600)

    async def outer() -> None:
        await inner()

    task = asyncio.create_task(outer())
    await asyncio.sleep(0)
    chain = await_chain(task)
    assert chain.index(" outer") < chain.index(" inner") < chain.index(" sleep")
    assert "tests/streaming/test_cancellation.py:" in chain
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await_chain(task) == "(not started or finished)"
