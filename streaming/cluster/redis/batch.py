"""A process's Redis script calls, sent together: one pipeline per event-loop iteration.

Every account event is written ahead to the event log (eventlog.py, a Lua script) and
every owner renews its lease each second (lease.py). Under a burst (a market-wide move
updates every user's balance at once; the sandbox pushes them all every 5 s) a process
makes dozens of these calls at the same moment, and redis-py's own work per call (a
pooled connection, its retry and timeout wrappers, packing, parsing) cost 100-160 µs of
CPU each in a microbenchmark, ~370 µs in a loaded daphne's profile: the largest single
cost of an account event, paid while fills wait in the same event loop. In one pipeline
the same calls cost ~27 µs each (docs/performance.md, "Why the hot path looks as it
does"). Nothing waits for a
batch to fill: the calls made while the loop runs one iteration leave together at the
start of the next (`submit` queues one without a turn of the loop: under a burst every
turn took milliseconds).

Each call is still its own script (atomic, as before; the pipeline is not a
transaction), and each caller gets its own result or error: a script that Redis lost
(a restart: NOSCRIPT) is loaded and its calls sent again; a connection error fails every
call of the batch, as it would have failed each alone.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any

import redis.asyncio as aioredis
from redis.commands.core import AsyncScript
from redis.exceptions import NoScriptError

#: The most calls one pipeline carries (a burst larger than this takes several).
MAX_BATCH = 500


class _Call:
    __slots__ = ("args", "check", "future", "keys", "script")

    def __init__(
        self,
        script: AsyncScript,
        keys: Sequence[Any],
        args: Sequence[Any],
        future: asyncio.Future[Any],
        check: Check | None,
    ) -> None:
        self.script = script
        self.keys = keys
        self.args = args
        self.future = future
        self.check = check


#: Turns a script's result into the caller's: a value, or an exception to raise.
Check = Callable[[Any], Any]


class ScriptBatch:
    """Runs registered scripts (`client.register_script`) in shared pipelines."""

    def __init__(self, client: aioredis.Redis) -> None:
        self.client = client
        self._pending: list[_Call] = []
        #: Pipelines in flight (referenced until they end: a pending task must not be
        #: collected); the first of them takes every call made before it starts.
        self._running: set[asyncio.Task[None]] = set()
        self._scheduled = False

    async def call(self, script: AsyncScript, keys: Sequence[Any], args: Sequence[Any]) -> Any:
        """`script(keys=keys, args=args)`, in the next pipeline this process sends."""
        return await self.submit(script, keys, args)

    def submit(
        self,
        script: AsyncScript,
        keys: Sequence[Any],
        args: Sequence[Any],
        check: Check | None = None,
    ) -> asyncio.Future[Any]:
        """Queue the call now (calls leave in the order they are submitted) and return
        its future; `check` maps the script's result to the future's value (an exception
        it returns is raised instead), without another turn of the loop."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._pending.append(_Call(script, keys, args, future, check))
        if not self._scheduled:
            # its first step comes after everything else this loop iteration runs: it
            # takes every call made until then
            self._scheduled = True
            self._start(self._drain())
        return future

    def _start(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro, name="redis-script-batch")
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def _drain(self) -> None:
        self._scheduled = False
        pending, self._pending = self._pending, []
        for start in range(MAX_BATCH, len(pending), MAX_BATCH):
            self._start(self._run(pending[start : start + MAX_BATCH]))
        await self._run(pending[:MAX_BATCH])

    async def _run(self, calls: list[_Call]) -> None:
        calls = [c for c in calls if not c.future.done()]  # a caller that gave up
        if not calls:
            return
        try:
            results = await self._execute(calls)
        except BaseException as exc:
            for c in calls:
                if not c.future.done():
                    if isinstance(exc, asyncio.CancelledError):
                        c.future.cancel()
                    else:
                        c.future.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
            return
        for c, result in zip(calls, results, strict=True):
            if c.future.done():
                continue
            if not isinstance(result, Exception) and c.check is not None:
                result = c.check(result)
            if isinstance(result, Exception):
                c.future.set_exception(result)
            else:
                c.future.set_result(result)

    async def _execute(self, calls: list[_Call]) -> list[Any]:
        results = await self._pipeline(calls)
        lost = [i for i, r in enumerate(results) if isinstance(r, NoScriptError)]
        if lost:  # Redis restarted (or flushed its scripts): load them, send those again
            for script in {id(calls[i].script): calls[i].script for i in lost}.values():
                script.sha = await self.client.script_load(script.script)
            again = await self._pipeline([calls[i] for i in lost])
            for i, result in zip(lost, again, strict=True):
                results[i] = result
        return results

    async def _pipeline(self, calls: list[_Call]) -> list[Any]:
        async with self.client.pipeline(transaction=False) as pipe:
            for c in calls:
                pipe.evalsha(c.script.sha, len(c.keys), *c.keys, *c.args)
            return list(await pipe.execute(raise_on_error=False))
