"""`manage.py stream_workers`: a process that runs users' stream managers, apart from the
socket-serving daphne processes (`STREAM_MANAGERS=workers`, docs/streaming.md "Where
managers run").

It holds an agent for every user the web processes want (demand.py); the agents of all
workers compete for each user's lease, so one worker runs the user's manager (broker
sessions, the event log, owner RPC) and the others stand by to take over. SIGTERM or
SIGINT stops it cleanly: its leases are released and another worker takes them at once.

    STREAM_MANAGERS=workers REDIS_URL=redis://… manage.py stream_workers
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from redis.exceptions import RedisError

from streaming.cluster.demand import DemandWorker
from streaming.cluster.lease import PROCESS_ID
from streaming.cluster.placement import Placement
from streaming.node import current
from streaming.runtime import loop

log = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Run the stream managers of the users the web processes serve (STREAM_MANAGERS=workers)."

    def handle(self, *args: object, **options: object) -> None:
        if settings.STREAM_MANAGERS != "workers":
            raise CommandError(
                "stream_workers needs STREAM_MANAGERS=workers (with the default `web` the "
                "daphne processes run the managers themselves and announce no demand)"
            )
        current().freeze_heap()  # short full collections (streaming/runtime/heap.py)
        loop.install()  # uvloop, as daphne (streaming/runtime/loop.py)
        asyncio.run(self.serve())

    async def serve(self) -> None:
        """Until SIGTERM/SIGINT: hear demand, run managers; then let go of every lease."""
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        agents = current().agents
        agents.worker = True
        agents.placement = placement = Placement()
        client = agents.start()
        assert client is not None, "settings refuse STREAM_MANAGERS=workers without REDIS_URL"
        worker = DemandWorker(agents, client, placement)
        task = asyncio.create_task(worker.run(), name="stream-worker")
        stopping = asyncio.create_task(stop.wait())
        ready = asyncio.create_task(worker.ready.wait())
        try:
            await asyncio.wait({ready, task, stopping}, return_when=asyncio.FIRST_COMPLETED)
            if worker.ready.is_set():
                # tests and operators wait for this line: the demand is followed from now on
                self.stdout.write(f"stream worker {PROCESS_ID} ready")
                self.stdout.flush()
            await asyncio.wait({task, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiting in (ready, stopping, task):
                waiting.cancel()
            await asyncio.gather(ready, stopping, task, return_exceptions=True)
            began, users = time.monotonic(), len(agents.by_user())
            try:  # before the leases are released: the others stop waiting for us
                await placement.leave(client)
            except (RedisError, OSError) as exc:
                log.warning("could not leave the workers set (Redis: %s)", type(exc).__name__)
            await agents.stop_all()
            log.info("stopped %d users' agents in %.1f s", users, time.monotonic() - began)
        if not task.cancelled() and task.exception() is not None:
            raise CommandError(f"the stream worker failed: {task.exception()!r}")
