"""Stopping a stream's tasks for sure: a task still running would keep a broker session
open after the lease moved on, and a stop must never hang its caller."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from streaming.runtime.cancellation import await_chain

log = logging.getLogger(__name__)

#: How long `stop_tasks` waits for cancelled tasks before cancelling the rest again (s).
STOP_RECANCEL = 2.0
#: ...and gives up on tasks still running after this long (they are abandoned, logged).
STOP_GIVE_UP = 10.0


async def stop_tasks(
    tasks: list[asyncio.Task[Any]], user_id: int, abandoned: set[asyncio.Task[Any]]
) -> None:
    """Cancel every task and wait until all have ended. A task that let a cancellation
    slip is cancelled again, and one still running after STOP_GIVE_UP is abandoned with
    an error, into `abandoned` (its owner's: referenced until it ends, a pending task
    must not be collected). Clears `tasks`."""
    pending = {task for task in tasks if not task.done()}
    for task in pending:
        task.cancel()
    give_up = time.monotonic() + STOP_GIVE_UP
    while pending:
        _, pending = await asyncio.wait(pending, timeout=STOP_RECANCEL)
        if pending and time.monotonic() >= give_up:
            # e.g. a library's shielded close waiting on a socket that never drains:
            # the stream must not freeze with it (the agent rejoins, tabs go on)
            names = sorted(task.get_name() for task in pending)
            log.error("user %s: %s did not stop in %.0f s; abandoned", user_id, names, STOP_GIVE_UP)
            abandoned.update(pending)
            for task in pending:
                task.add_done_callback(abandoned.discard)
            break
        for task in pending:
            log.warning(
                "user %s: %s outlived a cancel; again (waiting in %s)",
                user_id,
                task.get_name(),
                await_chain(task),
            )
            task.cancel()
    for task in tasks:  # retrieved: no "exception never retrieved" noise
        if task.done() and not task.cancelled():
            task.exception()
    tasks.clear()
