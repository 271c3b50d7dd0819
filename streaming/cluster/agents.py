"""This process's part in the cluster's user streams: an agent per user with a tab here.

The entry point for tabs, pages and views: `attach` a holder (a tab, or a page view
while it renders) and the process takes part in the user's stream (agent.py) until
`STREAM_IDLE_GRACE` seconds after its last holder left; `snapshot` gives a page the
user's state from the local manager or asks the owner for it; `ask_owner` is how a
feature asks the owner anything (chains, candles). On its first use it sets up the
process's shared parts: the Redis client behind leases and the event log, the Redis health
watch (redis/health.py) and the session watch (sessions.py).

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
import uuid
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

import orjson
import redis.asyncio as aioredis
from channels.layers import get_channel_layer
from django.conf import settings
from redis.exceptions import RedisError

from streaming.cluster import demand, owner_rpc
from streaming.cluster.agent import BuildManager, UserAgent
from streaming.cluster.eventlog import EventLog, LocalEventLog, RedisEventLog
from streaming.cluster.fanout import Tab
from streaming.cluster.health_report import HealthPublisher
from streaming.cluster.layer import Message
from streaming.cluster.lease import Lease, LocalLease, NoLease, RedisLease
from streaming.cluster.owner_rpc import OwnerHandlers
from streaming.cluster.placement import Placement
from streaming.cluster.redis.batch import ScriptBatch
from streaming.cluster.redis.health import RedisHealth
from streaming.cluster.relay import Relay
from streaming.cluster.sessions import watch_sessions
from streaming.cluster.watch import Watch, Watched
from streaming.contract.frames import SnapshotFrame
from streaming.contract.layer import OwnerCall, OwnerChanged, ToTab
from streaming.runtime import redis_driver

if TYPE_CHECKING:
    from django.http import HttpRequest

    from streaming.stream.manager import UserStreamManager

log = logging.getLogger(__name__)


async def _late(work: Awaitable[object], what: str) -> None:
    """An owner's answer here that came too late for its asker: awaited to its end, a
    failure logged (as an owner elsewhere would log it)."""
    try:
        await work
    except Exception:
        log.exception("%s: the owner's late answer failed", what)


#: How long a page waits for this process to become the owner it was elected to be.
PAGE_OWNER_WAIT = 3.0
#: A snapshot request likewise (a snapshot is built at once).
SNAPSHOT_REASK = 1.0

T = TypeVar("T")


class Agents:
    """This process's agents by user id, reference-counted by holder name."""

    def __init__(self) -> None:
        #: Builds a user's manager (the composition root hands it in: `configure`).
        self._build_manager: BuildManager | None = None
        self._on_start: tuple[Callable[[], None], ...] = ()
        self._watched: Watched | None = None
        #: The features' answers to the owner's questions (the composition root
        #: registers them: streaming/node.py), handed to every owner's OwnerRpc.
        self.owner_handlers = OwnerHandlers()
        #: Frames to and from the other processes' tabs, handed to every fan-out.
        self.relay = Relay()
        self._agents: dict[int, UserAgent] = {}
        self._stops: dict[int, asyncio.TimerHandle] = {}
        self._started = False
        self._redis: aioredis.Redis | None = None
        self._scripts: ScriptBatch | None = None
        self.event_log: EventLog = LocalEventLog(settings.STREAM_EVENT_LOG_SIZE)
        self.redis = RedisHealth(None, self._recover, careful_for=0.0)
        self._tasks: list[asyncio.Task[None]] = []
        #: Work started for a holder that does not wait for it (`in_background`).
        self._background: set[asyncio.Task[object]] = set()
        #: A stream worker (`manage.py stream_workers`): runs managers, holds no tab.
        self.worker = False
        #: A stream worker's view of the other workers: who claims a free lease first.
        self.placement: Placement | None = None
        #: The users held with no page open (watch.py), where this process runs managers.
        self.watch: Watch | None = None

    def configure(
        self,
        *,
        build_manager: BuildManager,
        on_start: tuple[Callable[[], None], ...] = (),
        watched: Watched | None = None,
    ) -> None:
        """What the cluster needs from above, handed in once (streaming/node.py):
        `on_start`, what runs when the process sets up its shared parts (the push
        sender's first look at the outbox); `watched`, the users whose streams run with no
        page open (watch.py)."""
        self._build_manager = build_manager
        self._on_start = on_start
        self._watched = watched

    def start_soon(self, loop: asyncio.AbstractEventLoop) -> None:
        """Set up this process's shared parts as soon as `loop` runs (the ASGI server's,
        config/asgi.py): the watched users' streams and the push sender do not wait for a
        first tab."""
        loop.call_soon(self._start_once)

    def watch_now(self) -> None:
        """A user's alerts or limits changed: the watch looks again at once."""
        if self.watch is not None:
            self.watch.look_now()

    @property
    def runs_managers(self) -> bool:
        """Whether this process's agents compete for leases (and so may run managers):
        every process in the `web` layout, only the stream workers in `workers`."""
        return self.worker or settings.STREAM_MANAGERS == "web"

    def start(self) -> aioredis.Redis | None:
        """Set up this process's shared parts on the running loop now (a stream worker
        does before its first user; the web processes on their first holder); the Redis
        client behind leases (None without Redis)."""
        self._start_once()
        return self._redis

    # -- set-up ----------------------------------------------------------------------------
    def _start_once(self) -> None:
        """The Redis client, the watches and the health reports, on the running loop."""
        if self._started:
            return
        self._started = True
        loop = asyncio.get_running_loop()
        if settings.REDIS_URL:
            # leases and the event log: a bounded pool that waits for a free connection
            pool = aioredis.BlockingConnectionPool.from_url(
                settings.REDIS_URL, **redis_driver.options(max_connections=64, timeout=10)
            )
            self._redis = aioredis.Redis(connection_pool=pool)
            self._scripts = ScriptBatch(self._redis)
        self.redis = RedisHealth(
            self._redis, self._recover, careful_for=3 * settings.STREAM_LEASE_RENEW
        )
        self._tasks = [loop.create_task(watch_sessions(self._open_tabs))]
        for hook in self._on_start:
            hook()
        if self._watched is not None and self.runs_managers and settings.STREAM_WATCH_INTERVAL > 0:
            self.watch = Watch(self, self._watched, settings.STREAM_WATCH_INTERVAL)
            self._tasks.append(loop.create_task(self.watch.run()))
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
        self._start_once()
        timer = self._stops.pop(user_id, None)
        if timer is not None:
            timer.cancel()
        agent = self._agents.get(user_id)
        if agent is None:
            lease = self.make_lease(user_id)
            if self._build_manager is None:
                raise RuntimeError("no manager factory: streaming/node.py configures the agents")
            agent = self._agents[user_id] = UserAgent(
                user_id,
                lease,
                self.event_log,
                self.redis,
                self._build_manager,
                relay=self.relay,
                handlers=self.owner_handlers,
            )
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

    def by_user(self) -> dict[int, UserAgent]:
        """This process's agents by user (a copy), for the stream-health view."""
        return dict(self._agents)

    def wanted_users(self) -> list[int]:
        """The users with a holder here (a tab, a stream, a page being rendered)."""
        return [user_id for user_id, agent in list(self._agents.items()) if agent.holders]

    def in_background(self, work: Awaitable[object], name: str) -> None:
        """Run `work` that nobody awaits (a page's poll tells the owner and goes on),
        referenced until it ends (a pending task must not be collected)."""
        task: asyncio.Task[object] = asyncio.ensure_future(work)
        task.set_name(name)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def _open_tabs(self) -> list[Tab]:
        return [tab for agent in list(self._agents.values()) for tab in agent.fanout.tabs.values()]

    async def stop_all(self) -> None:
        for timer in self._stops.values():
            timer.cancel()
        self._stops.clear()
        agents, self._agents = list(self._agents.values()), {}
        await asyncio.gather(*(a.shutdown() for a in agents), return_exceptions=True)
        for task in [*self._tasks, *self._background]:
            task.cancel()
        await self.relay.stop()

    # -- reading ---------------------------------------------------------------------------
    async def _at_owner(
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
        self, user_id: int, symbols: list[str], within: float, shown: float
    ) -> SnapshotFrame | None:
        """A snapshot for a page view: from the local manager, or asked of the owner; the
        stream is shown `shown` s (its positions stream: `UserStreamManager.shown_for`)."""

        async def here(manager: UserStreamManager, left: float) -> SnapshotFrame:
            manager.shown_for(shown)
            await manager.wait_ready(within=left)
            return manager.snapshot(symbols)

        return await self._at_owner(
            user_id,
            here=here,
            ask=lambda reply, _left: owner_rpc.request_snapshot(user_id, reply, symbols, shown),
            read=lambda message: orjson.loads(message["text"]),
            within=within,
            reask=SNAPSHOT_REASK,
        )

    async def ask_owner(
        self, user_id: int, request: OwnerCall, *, within: float, reask: float
    ) -> Message | None:
        """A feature's question to the user's stream owner, answered by the handler the
        feature registered for `request["type"]` (`owner_handlers`): called here when
        this process owns the stream, else sent over the layer with a fresh reply channel
        and a deadline, and sent again after `reask` s of silence (the owner may have
        moved). The owner's reply; None if nobody answered within `within` seconds, here
        as over the layer: an answer here that takes longer is not waited for, and its
        work goes on as an owner elsewhere's would (its late answer unread). The stream is
        held meanwhile (it starts if nobody held it)."""
        handler = self.owner_handlers.handler_for(request["type"])

        def asked(left: float, reply: str = "") -> OwnerCall:
            call = request.copy()
            call["reply"] = reply
            call["deadline"] = time.time() + left
            return call

        async def here(manager: UserStreamManager, left: float) -> Message | None:
            work = asyncio.ensure_future(handler(manager, dict(asked(left)), left))
            try:
                answer = await asyncio.wait_for(asyncio.shield(work), left)
            except TimeoutError:
                self.in_background(_late(work, request["type"]), f"late-{request['type']}")
                return None
            return None if answer is None else dict(answer)

        async def ask(reply: str, left: float) -> None:
            await owner_rpc.to_owner(user_id, asked(left, reply))

        # a short hold keeps the stream alive while it is asked (as a page view's does)
        holder = f"ask-{uuid.uuid4().hex}"
        await self.attach(user_id, holder)
        try:
            return await self._at_owner(
                user_id, here=here, ask=ask, read=lambda m: m, within=within, reask=reask
            )
        finally:
            self.detach(user_id, holder)

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
                changed: OwnerChanged = {"type": ToTab.OWNER_CHANGED}
                await agent.fanout.deliver(changed)


def agents_of(request: HttpRequest) -> Agents:
    """The process's agents a request carries (streaming/node.py's middleware puts the
    node on every request): how a view reaches them."""
    agents: Agents = request.node.agents  # type: ignore[attr-defined]
    return agents
