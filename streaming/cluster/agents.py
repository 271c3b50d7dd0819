"""This process's part in the cluster's user streams: an agent per user with a tab here.

The entry point for tabs, pages and views: `attach` a holder (a tab, or a page view
while it renders) and the process takes part in the user's stream (ownership.py) until
`STREAM_IDLE_GRACE` seconds after its last holder left; `snapshot` gives a page the
user's state from the local manager or asks the owner for it. Per event loop it sets up
the shared parts: the Redis client behind leases and the event log, the Redis health
watch (redis_health.py) and the session watch (sessions.py).

Where managers run (`STREAM_MANAGERS`): with `web` every process's agents compete for
their users' leases; with `workers` a web process's agents never do (lease.NoLease) and
the process announces its users to the stream workers instead (demand.py), which are
the only processes whose agents compete (`worker = True`, set by `manage.py
stream_workers`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import orjson
import redis.asyncio as aioredis
from channels.layers import get_channel_layer
from django.conf import settings
from redis.exceptions import RedisError

from streaming.chains import service as chains
from streaming.cluster import demand
from streaming.cluster.agent import UserAgent
from streaming.cluster.eventlog import EventLog, LocalEventLog, RedisEventLog
from streaming.cluster.fanout import Message, Tab
from streaming.cluster.health_report import HealthPublisher
from streaming.cluster.lease import Lease, LocalLease, NoLease, RedisLease
from streaming.cluster.owner_rpc import request_chain, request_snapshot
from streaming.cluster.placement import Placement
from streaming.cluster.redis_batch import ScriptBatch
from streaming.cluster.redis_health import RedisHealth
from streaming.cluster.sessions import watch_sessions
from streaming.contract import ToTab
from streaming.stream.manager import UserStreamManager

log = logging.getLogger(__name__)


#: How long a page waits for this process to become the owner it was elected to be.
PAGE_OWNER_WAIT = 3.0
#: A chain request is sent again after this long without an answer (the owner moved).
CHAIN_REASK = 4.0
#: A snapshot request likewise (a snapshot is built at once).
SNAPSHOT_REASK = 1.0

T = TypeVar("T")


class ManagerRegistry:
    """Process-local agents by user id, reference-counted by holder name."""

    def __init__(self) -> None:
        self._agents: dict[int, UserAgent] = {}
        self._stops: dict[int, asyncio.TimerHandle] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._redis: aioredis.Redis | None = None
        self._scripts: ScriptBatch | None = None
        self.event_log: EventLog = LocalEventLog(settings.STREAM_EVENT_LOG_SIZE)
        self.redis = RedisHealth(None, self._recover, careful_for=0.0)
        self._tasks: list[asyncio.Task[None]] = []
        #: A stream worker (`manage.py stream_workers`): runs managers, holds no tab.
        self.worker = False
        #: A stream worker's view of the other workers: who claims a free lease first.
        self.placement: Placement | None = None

    @property
    def runs_managers(self) -> bool:
        """Whether this process's agents compete for leases (and so may run managers):
        every process in the `web` layout, only the stream workers in `workers`."""
        return self.worker or settings.STREAM_MANAGERS == "web"

    def start(self) -> aioredis.Redis | None:
        """Set up this process's shared parts on the running loop now (a stream worker
        does before its first user; the web processes on their first holder); the Redis
        client behind leases (None without Redis)."""
        self._check_loop()
        return self._redis

    # -- set-up per event loop ------------------------------------------------------
    def _check_loop(self) -> None:
        """Agents belong to one event loop; a new loop (a new test) starts afresh."""
        loop = asyncio.get_running_loop()
        if self._loop is loop:
            return
        self._agents.clear()
        self._stops.clear()
        self._loop = loop
        self._redis = None
        if settings.REDIS_URL:
            # leases and the event log: a bounded pool that waits for a free connection
            pool = aioredis.BlockingConnectionPool.from_url(
                settings.REDIS_URL, max_connections=64, timeout=10
            )
            self._redis = aioredis.Redis(connection_pool=pool)
            self._scripts = ScriptBatch(self._redis)
        self.redis = RedisHealth(
            self._redis, self._recover, careful_for=3 * settings.STREAM_LEASE_RENEW
        )
        self._tasks = [loop.create_task(watch_sessions(self._open_tabs))]
        if self._redis is not None:
            self.event_log = RedisEventLog(
                self._redis,
                settings.STREAM_EVENT_LOG_SIZE,
                lease_ttl=settings.STREAM_LEASE_TTL,
                batch=self._scripts,
            )
            self._tasks.append(loop.create_task(self.redis.watch()))
            # what this process knows of its users' streams, for the staff's view
            publisher = HealthPublisher(self._redis, lambda: self._agents)
            self._tasks.append(loop.create_task(publisher.run()))
            if not self.runs_managers:
                # the stream workers run our users' managers: tell them whom we serve
                renew = demand.announce_forever(self._redis, self.wanted_users, self.redis.failed)
                self._tasks.append(loop.create_task(renew))
        else:
            self.event_log = LocalEventLog(settings.STREAM_EVENT_LOG_SIZE)

    def make_lease(self, user_id: int) -> Lease:
        if self._redis is None:
            return LocalLease(user_id)
        if not self.runs_managers:
            return NoLease(user_id)
        placement = self.placement
        return RedisLease(
            self._redis,
            user_id,
            settings.STREAM_LEASE_TTL,
            claim_delay=2 * settings.STREAM_LEASE_RENEW,
            batch=self._scripts,
            defer=None if placement is None else lambda: not placement.first_in_line(user_id),
        )

    # -- holders ------------------------------------------------------------------------
    async def attach(self, user_id: int, holder: str, tab: Tab | None = None) -> UserAgent:
        """A tab or page of this user is here: make sure this process takes part."""
        self._check_loop()
        timer = self._stops.pop(user_id, None)
        if timer is not None:
            timer.cancel()
        agent = self._agents.get(user_id)
        if agent is None:
            lease = self.make_lease(user_id)
            agent = self._agents[user_id] = UserAgent(user_id, lease, self.event_log, self.redis)
        first = not agent.holders
        await agent.hold(holder, tab)
        if first and not self.runs_managers and self._redis is not None:
            # a user's first holder here: wanted now, not at the next renewal (a page
            # waits for the snapshot)
            try:
                await demand.announce(self._redis, [user_id])
            except (RedisError, OSError) as exc:
                self.redis.failed(exc)
        return agent

    def detach(self, user_id: int, holder: str, grace: float | None = None) -> None:
        """A holder left; the agent stops after the grace period if nobody else holds it."""
        agent = self._agents.get(user_id)
        if agent is None:
            return
        agent.release(holder)
        if agent.holders or user_id in self._stops:
            return
        delay = settings.STREAM_IDLE_GRACE if grace is None else grace
        loop = asyncio.get_running_loop()
        self._stops[user_id] = loop.call_later(
            delay, lambda: loop.create_task(self._stop_if_idle(user_id))
        )

    async def _stop_if_idle(self, user_id: int) -> None:
        self._stops.pop(user_id, None)
        agent = self._agents.get(user_id)
        if agent is None or agent.holders:
            return
        del self._agents[user_id]
        await agent.shutdown()
        log.info("user %s: stream agent stopped", user_id)

    def get(self, user_id: int) -> UserStreamManager | None:
        """The user's manager if this process owns it."""
        agent = self._agents.get(user_id)
        return agent.manager if agent is not None else None

    def agent(self, user_id: int) -> UserAgent | None:
        return self._agents.get(user_id)

    def agents(self) -> dict[int, UserAgent]:
        """This process's agents by user (a copy), for the stream-health view."""
        return dict(self._agents)

    def wanted_users(self) -> list[int]:
        """The users with a holder here (a tab, a stream, a page being rendered)."""
        return [user_id for user_id, agent in list(self._agents.items()) if agent.holders]

    def _open_tabs(self) -> list[Tab]:
        return [tab for agent in list(self._agents.values()) for tab in agent.fanout.tabs.values()]

    async def stop_all(self) -> None:
        for timer in self._stops.values():
            timer.cancel()
        self._stops.clear()
        agents, self._agents = list(self._agents.values()), {}
        await asyncio.gather(*(a.shutdown() for a in agents), return_exceptions=True)
        for task in self._tasks:
            task.cancel()

    # -- reading ---------------------------------------------------------------------------
    async def at_owner(
        self,
        user_id: int,
        *,
        here: Callable[[UserStreamManager, float], Awaitable[T]],
        ask: Callable[[str, float], Awaitable[None]],
        read: Callable[[Message], T],
        within: float,
        reask: float,
    ) -> T | None:
        """What the user's stream owner answers, wherever it runs: `here(manager, left)`
        when this process owns the stream (after waiting, up to `PAGE_OWNER_WAIT`, for an
        election this process is in), else `ask(reply, left)` over the layer and `read` the answer,
        asked again after `reask` s of silence (the owner may have moved) and served here
        if this process became the owner meanwhile. None if nobody answered in `within`."""
        agent = self._agents.get(user_id)
        if agent is not None and agent.local:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(min(within, PAGE_OWNER_WAIT)):
                    await agent.owned.wait()
        deadline = time.monotonic() + within
        layer = get_channel_layer()
        reply: str | None = None
        while (left := deadline - time.monotonic()) > 0:
            manager = self.get(user_id)
            if manager is not None:
                return await here(manager, left)
            if reply is None:
                reply = await layer.new_channel()
            await ask(reply, left)
            try:
                async with asyncio.timeout(min(reask, left)):
                    message = await layer.receive(reply)
            except TimeoutError:
                continue
            return read(message)
        return None

    async def snapshot(
        self, user_id: int, symbols: list[str], within: float
    ) -> dict[str, Any] | None:
        """A snapshot for a page view: from the local manager, or asked of the owner."""

        async def here(manager: UserStreamManager, left: float) -> dict[str, Any]:
            await manager.wait_ready(within=left)
            return manager.snapshot(symbols)

        return await self.at_owner(
            user_id,
            here=here,
            ask=lambda reply, _left: request_snapshot(user_id, reply, symbols),
            read=lambda message: orjson.loads(message["text"]),
            within=within,
            reask=SNAPSHOT_REASK,
        )

    async def chain(
        self, user_id: int, request: dict[str, Any], within: float
    ) -> tuple[int, dict[str, Any]]:
        """An option chain (or its expirations) built at the user's owner: here, or asked
        over the layer (`chain.request`); (HTTP status, body). 504 when nobody answers."""

        async def here(manager: UserStreamManager, left: float) -> tuple[int, dict[str, Any]]:
            await manager.wait_ready(within=min(left, PAGE_OWNER_WAIT))
            return await chains.answer(manager, request)

        answer = await self.at_owner(
            user_id,
            here=here,
            ask=lambda reply, _left: request_chain(user_id, reply, request),
            read=lambda message: (int(message["status"]), orjson.loads(message["text"])),
            within=within,
            # a fetch may wait for the broker: ask again only after a long silence
            reask=CHAIN_REASK,
        )
        if answer is None:
            return 504, {"error": "the stream did not answer in time; try again", "code": "timeout"}
        return answer

    # -- after Redis trouble ---------------------------------------------------------------
    async def _recover(self, reason: str, restarted: bool) -> None:
        """Messages may have been missed: channels rejoin their groups; an owner puts its
        stream's head and newest frames back if Redis lost them and re-sends the live state (quotes,
        statuses) for other processes; tabs that relay another process's stream
        re-register and reconcile with a fresh snapshot (account frames they missed come
        from the event log, or they resync if it cannot prove them). The owner's own
        tabs got every frame directly and are left alone."""
        log.warning("%s: reconciling streams", reason)
        for agent in list(self._agents.values()):
            with contextlib.suppress(RedisError, OSError):
                await agent.rejoin()
            manager = agent.manager
            if manager is not None:
                # the head and the newest frames back (a restart lost them; an outage may
                # have lost writes), before relays look for what they missed
                with contextlib.suppress(RedisError, OSError):
                    await manager.restore_head()
                manager.republish_live_state()
            else:
                await agent.fanout.deliver({"type": ToTab.OWNER_CHANGED})


registry = ManagerRegistry()
