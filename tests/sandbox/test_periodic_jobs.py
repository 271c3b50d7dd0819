"""The sandbox's periodic jobs (order steps, balance pushes, demo orders, news) stop when
their interval is set to 0, also when a wait was under way: a test or bench that pauses
the order stepper and steps alone must not see one more step by the sandbox (bench.brokers
timed none of an order's fills when that step filled it first)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

from sandbox.core.simulation import Simulation
from tests.support.wait import wait_until

#: The job's interval before the pause: its wait is under way when the pause comes.
INTERVAL = 0.2
#: A paused job checks its interval again every second (`Simulation._every`).
IDLE_CHECK = 1.0


async def test_a_pause_holds_for_the_wait_under_way() -> None:
    """Paused during its wait, the job does not run when the wait ends; set going again,
    it runs."""
    config = SimpleNamespace(step_interval=INTERVAL)
    calls: list[float] = []
    owner: Any = SimpleNamespace(config=config)  # what `_every` reads of a Simulation
    job = asyncio.create_task(
        Simulation._every(owner, "step_interval", lambda: calls.append(config.step_interval))
    )
    try:
        await asyncio.sleep(0)  # the job reads its interval and starts waiting
        config.step_interval = 0
        # nothing can be awaited for a call that must not come: the wait under way, and
        # as long again, pass without it
        await asyncio.sleep(2 * INTERVAL)
        assert calls == []
        config.step_interval = INTERVAL
        await wait_until(lambda: calls, within=IDLE_CHECK + 2 * INTERVAL + 1, what="a step")
        assert calls == [INTERVAL]
    finally:
        job.cancel()
