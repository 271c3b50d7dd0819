"""Settling the waiters of a batch (streaming/runtime/waiters.py): one outcome for all,
and a waiter that gave up is left as it is."""

from __future__ import annotations

import asyncio

import pytest

from streaming.runtime.waiters import settle


@pytest.mark.parametrize(
    ("error", "outcome"),
    [(None, "result"), (OSError("down"), "exception"), (asyncio.CancelledError(), "cancelled")],
)
async def test_every_waiter_gets_the_batchs_outcome_and_one_that_gave_up_is_left(error, outcome):
    loop = asyncio.get_running_loop()
    waiting = [loop.create_future() for _ in range(3)]
    gave_up = loop.create_future()
    gave_up.cancel()
    settle([*waiting, gave_up], error)
    assert gave_up.cancelled()
    for waiter in waiting:
        if outcome == "result":
            assert waiter.result() is None
        elif outcome == "exception":
            assert waiter.exception() is error
        else:
            assert waiter.cancelled()
