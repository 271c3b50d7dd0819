"""Which user streams this process takes part in, and which of them it owns.

For every user with a socket (or a page view) here, an agent competes for the user's
lease (streaming/lease.py). The owner runs the user's stream manager; every process
reaches it through the channel layer: tabs send their symbols and snapshot requests to
the group `owner.<id>`, and the manager publishes frames to `user.<id>`, which one
channel per process (the agent's) joins, except the owner's: the owner hands frames to
its own process's tabs directly, and the other agents hand them to theirs (one layer
message per frame and process, not per tab). If the owner dies, the lease
expires and an agent elsewhere takes over. An agent stops `STREAM_IDLE_GRACE` seconds
after its last local holder left. Only this module touches the database on the way to a
manager (links and secrets, once per start), never per tick.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

import orjson
import redis.asyncio as aioredis
from channels.db import database_sync_to_async
from channels.exceptions import ChannelFull
from channels.layers import get_channel_layer
from django.conf import settings
from redis.exceptions import RedisError

from .brokers import catalog
from .brokers.base import BrokerAdapter, StreamConfig
from .checkpoints import DatabaseCheckpoint
from .eventlog import EventLog, Fenced, LocalEventLog, RedisEventLog
from .lease import Lease, LocalLease, RedisLease
from .manager import (
    Authorize,
    LinkInfo,
    Publish,
    UserStreamManager,
    owner_group,
    user_group,
)
from .sessions import SESSION_CHECK_INTERVAL, ended_sessions

log = logging.getLogger(__name__)


def _load_links(user_id: int) -> list[tuple[LinkInfo, dict[str, Any]]]:
    from accounts.selectors import broker_link_credentials, broker_links_for_user

    loaded = []
    for link in broker_links_for_user(user_id=user_id):
        info = LinkInfo(
            link.id,
            link.broker,
            link.label,
            link.is_simulated,
            streams_quotes=link.broker in catalog.QUOTE_BROKERS,
        )
        spec = {
            "credentials": broker_link_credentials(link=link),
            "account_numbers": list(link.account_numbers or []),
        }
        loaded.append((info, spec))
    return loaded


def _load_watchlist(user_id: int) -> tuple[list[str], int]:
    from .models import Watchlist

    return Watchlist.state_for(user_id)


def _record_link_state(link_id: int, state: str, reason: str) -> None:
    from accounts.services import broker_link_record_stream_state

    if state == "error":
        broker_link_record_stream_state(link_id=link_id, status="error", error=reason)
    elif state == "live":
        broker_link_record_stream_state(link_id=link_id, status="verified", error="")


def stream_config() -> StreamConfig:
    return StreamConfig(
        watchdog_timeout=settings.STREAM_WATCHDOG_TIMEOUT,
        reconcile_interval=settings.STREAM_RECONCILE_INTERVAL,
        account_poll_interval=settings.STREAM_ACCOUNT_POLL_INTERVAL,
        order_poll_interval=settings.STREAM_ORDER_POLL_INTERVAL,
        chain_cache_ttl=settings.STREAM_CHAIN_CACHE_TTL,
        account_heartbeat_interval=settings.STREAM_ACCOUNT_HEARTBEAT,
    )


def make_adapter(info: LinkInfo, spec: dict[str, Any], config: StreamConfig) -> BrokerAdapter:
    """The link's adapter; replayable streams resume from a checkpoint in the database."""
    return catalog.make_adapter(
        link_id=info.id,
        broker=info.broker,
        credentials=spec["credentials"],
        account_numbers=spec["account_numbers"],
        config=config,
        checkpoint=DatabaseCheckpoint(info.id, f"{info.broker}-events"),
    )


async def build_manager(
    user_id: int,
    publish: Publish | None = None,
    *,
    event_log: EventLog | None = None,
    owner: str = "",
    authorize: Authorize | None = None,
) -> UserStreamManager:
    """A manager for a user's enabled links, publishing to the user's layer group
    (or to `publish`, e.g. the terminal for `manage.py stream_test`)."""
    loaded = await database_sync_to_async(_load_links)(user_id)
    watchlist = await database_sync_to_async(_load_watchlist)(user_id)
    config = stream_config()
    if publish is None:
        layer = get_channel_layer()
        group = user_group(user_id)

        async def publish(frame: dict[str, Any], text: str) -> None:
            agent = registry.agent(user_id)
            if frame["type"] == "head":  # for relays in other processes only
                if agent is not None and agent.has_remote_tabs():
                    head = {"type": "stream.head", "epoch": frame["epoch"], "seq": frame["seq"]}
                    await layer.group_send(group, head)
                return
            message = {
                "type": "stream.frame",
                "text": text,
                "seq": frame.get("seq"),
                "epoch": frame.get("epoch"),
            }
            if agent is None or agent.manager is None:
                await layer.group_send(group, message)
                return
            await agent.deliver(message)  # this process's tabs: directly, in order
            if agent.has_remote_tabs():
                await layer.group_send(group, message)  # other processes' agents

    record = database_sync_to_async(_record_link_state)

    async def on_link_state(link_id: int, state: str, reason: str) -> None:
        await record(link_id, state, reason)

    return UserStreamManager(
        user_id,
        links=[(info, make_adapter(info, spec, config)) for info, spec in loaded],
        publish=publish,
        flush_interval=settings.STREAM_FLUSH_INTERVAL,
        on_link_state=on_link_state,
        naive=settings.STREAM_NAIVE_FANOUT,
        event_log=event_log,
        owner=owner,
        authorize=authorize,
        watchlist=watchlist,
        quote_stale_after=settings.STREAM_QUOTE_STALE_AFTER,
    )


async def _messages(channel: str) -> AsyncIterator[dict[str, Any]]:
    """A channel's messages, forever; a Redis hiccup is waited out, not fatal."""
    layer = get_channel_layer()
    while True:
        try:
            message = await layer.receive(channel)
        except (RedisError, OSError):
            await asyncio.sleep(0.5)
            continue
        yield message


class UserAgent:
    """This process's part in one user's stream: local holders, the lease, the manager."""

    def __init__(self, registry: ManagerRegistry, user_id: int) -> None:
        self.registry = registry
        self.user_id = user_id
        self.holders: dict[str, Any] = {}  # holder name -> consumer (None for page views)
        self.lease: Lease = registry.make_lease(user_id)
        self.manager: UserStreamManager | None = None
        self.owned = asyncio.Event()
        self._control_channel: str | None = None
        self._control_task: asyncio.Task[None] | None = None
        self._fanout_channel: str | None = None
        self._fanout_task: asyncio.Task[None] | None = None
        self._joined_at = 0.0
        self._authorizing = asyncio.Lock()
        self._task = asyncio.create_task(self._run(), name=f"agent-{user_id}")

    @property
    def local(self) -> bool:
        return isinstance(self.lease, LocalLease)

    async def _run(self) -> None:
        """Acquire or renew the lease forever; start/stop the manager as ownership changes."""
        while True:
            try:
                if self.manager is None:
                    if await self.lease.acquire(careful=self.registry.recovering()):
                        if self.lease.needs_handover:
                            # the previous owner's lease expired: give it time to notice and
                            # let go of the broker before we connect
                            await asyncio.sleep(settings.STREAM_HANDOVER_DELAY)
                        if await self.lease.renew():
                            await self._start_manager()
                elif not await self.lease.renew():
                    log.warning("user %s: lease lost to another process", self.user_id)
                    await self._stop_manager()
                elif self.manager.fenced:
                    await self._stop_manager()
                if not self.local and time.monotonic() - self._joined_at > 5.0:
                    # group membership lives in Redis: refresh it (it expires, and a Redis
                    # restart forgets it)
                    await self.rejoin()
                self.registry.redis_ok()
            except (RedisError, OSError) as exc:
                # Redis away: keep the broker connection, retry; sockets resync on recovery
                self.registry.redis_failed(exc)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("user %s: ownership loop error", self.user_id)
            await asyncio.sleep(settings.STREAM_LEASE_RENEW)

    async def authorize(self) -> bool:
        """The lease gate: may this process still act for the user? Cheap while the lease
        was confirmed recently; otherwise (the process was paused, or its loop starved)
        it is confirmed with Redis first, so a resumed ex-owner stops before it touches
        the broker or the channel layer. While Redis is away nobody can take the lease:
        the owner keeps its broker sessions."""
        lease = self.lease
        fresh_for = settings.STREAM_LEASE_TTL / 2
        if lease.owner_value is None:
            return False
        if time.monotonic() - lease.confirmed_at < fresh_for:
            return True
        async with self._authorizing:
            if lease.owner_value is None:
                return False
            if time.monotonic() - lease.confirmed_at < fresh_for:
                return True
            try:
                async with asyncio.timeout(settings.STREAM_LEASE_TTL):
                    held = await lease.renew()
            except (RedisError, OSError, TimeoutError) as exc:
                self.registry.redis_failed(exc)
                return True
            if not held:
                log.warning("user %s: lease lost (checked before I/O); stopping", self.user_id)
            return held

    async def _start_manager(self) -> None:
        layer = get_channel_layer()
        manager = await build_manager(
            self.user_id,
            event_log=self.registry.event_log,
            owner=self.lease.owner_value or "",
            authorize=self.authorize,
        )
        # The owner hands frames to this process's tabs itself (its publish does, from
        # the first frame on): its agent leaves the user's group, which the agents of the
        # other processes stay in.
        if self._fanout_channel is not None:
            with contextlib.suppress(RedisError, OSError):
                await layer.group_discard(user_group(self.user_id), self._fanout_channel)
        try:
            await manager.start()
        except Fenced:
            log.warning("user %s: another process owns the stream", self.user_id)
            await manager.stop()
            return
        self.manager = manager
        try:
            self._control_channel = await layer.new_channel()
            await self.rejoin()
        except BaseException:
            await self._stop_manager()  # all or nothing: never two managers for one user
            raise
        self._control_task = asyncio.create_task(self._control_loop(self._control_channel))
        self.owned.set()
        log.info("user %s: this process owns the stream (%s)", self.user_id, manager.position)
        # tabs everywhere re-send their symbols and, if still waiting, their snapshot request
        changed = {"type": "stream.owner_changed"}
        await self.deliver(changed)
        await layer.group_send(user_group(self.user_id), changed)

    async def _stop_manager(self) -> None:
        self.owned.clear()
        if self._control_task is not None:
            self._control_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._control_task
        if self._control_channel is not None:
            with contextlib.suppress(RedisError, OSError):
                await get_channel_layer().group_discard(
                    owner_group(self.user_id), self._control_channel
                )
        self._control_task = self._control_channel = None
        manager, self.manager = self.manager, None
        if manager is not None:
            await manager.stop()
        if self.holders and self._fanout_channel is not None:
            # another process owns the stream now: receive its frames through the layer
            # again, and let our tabs tell the new owner what they need
            with contextlib.suppress(RedisError, OSError):
                await self.rejoin()
            await self.deliver({"type": "stream.owner_changed"})

    async def rejoin(self) -> None:
        """Keep our channels in their groups (Redis may have forgotten them): the fan-out
        channel in the user's group, and the owner's control channel in the owner group."""
        layer = get_channel_layer()
        if self._fanout_channel is not None and self.manager is None:
            await layer.group_add(user_group(self.user_id), self._fanout_channel)
        if self._control_channel is not None:
            await layer.group_add(owner_group(self.user_id), self._control_channel)
        self._joined_at = time.monotonic()

    async def join(self) -> None:
        """Receive the user's frames in this process: one channel-layer message per frame
        per *process*, handed to every local tab here (not one message per tab); the
        owner's own process needs none (its manager hands frames to its tabs directly).
        Called for every new tab: a Redis that restarted meanwhile has forgotten the group."""
        layer = get_channel_layer()
        if self._fanout_channel is None:
            self._fanout_channel = await layer.new_channel()
            self._fanout_task = asyncio.create_task(
                self._fanout_loop(self._fanout_channel), name=f"fanout-{self.user_id}"
            )
        if self.manager is not None:
            return
        try:
            await layer.group_add(user_group(self.user_id), self._fanout_channel)
        except (RedisError, OSError):  # a pooled connection from before a Redis restart
            await layer.group_add(user_group(self.user_id), self._fanout_channel)

    async def _fanout_loop(self, channel: str) -> None:
        """Frames (and owner changes) for the user → each local tab, in order."""
        async for message in _messages(channel):
            await self.deliver(message)

    async def deliver(self, message: dict[str, Any]) -> None:
        """Hand one frame message to every local tab of the user, in order."""
        handler_name = str(message.get("type", "")).replace(".", "_")
        for tab in list(self.holders.values()):
            handler = getattr(tab, handler_name, None) if tab is not None else None
            if handler is None:
                continue
            try:
                await handler(message)
            except Exception:  # one broken tab must not starve the others
                log.exception("user %s: delivering %s failed", self.user_id, handler_name)

    def has_remote_tabs(self) -> bool:
        """Whether the owner knows of a tab in another process. A tab registers (its
        symbols) before it asks the owner for a snapshot, and reconciles against one after
        an owner change, so frames skipped through the layer before the owner knew of it
        are older than that snapshot and come from the event log."""
        manager = self.manager
        return manager is not None and any(t not in self.holders for t in manager.tab_symbols)

    async def _control_loop(self, channel: str) -> None:
        """Messages to the owner from tabs in any process. One message that cannot be
        handled never ends the loop: the owner must keep answering every tab."""
        async for message in _messages(channel):
            if self.manager is None:
                continue
            try:
                await self._control(message)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("user %s: handling %s failed", self.user_id, message.get("type"))

    async def _control(self, message: dict[str, Any]) -> None:
        manager = self.manager
        if manager is None:
            return
        kind = message.get("type")
        if kind == "tab.symbols":
            refused = manager.set_tab_symbols(message["tab"], message.get("symbols", []))
            if refused:
                await self._to_tab(message["tab"], {"type": "stream.limit", "symbols": refused})
        elif kind == "watchlist.changed":
            manager.set_watchlist(message.get("symbols", []), int(message.get("version", 0)))
        elif kind == "tab.drop":
            manager.drop_tab(message["tab"])
        elif kind == "snapshot.request":
            snapshot = manager.snapshot(message.get("symbols") or ())
            await self._to_tab(
                message["reply"],
                {
                    "type": "stream.snapshot",
                    "text": orjson.dumps(snapshot).decode(),
                    "seq": snapshot["seq"],
                },
            )

    async def _to_tab(self, tab: str, message: dict[str, Any]) -> None:
        """A reply to one tab, here or in another process. If that process's inbox is
        full (it was paused, or is far behind) the reply is dropped: the tab asks again
        until it is answered."""
        local = self.holders.get(tab)
        if local is not None:
            handler = getattr(local, message["type"].replace(".", "_"), None)
            if handler is not None:
                await handler(message)
            return
        try:
            await get_channel_layer().send(tab, message)
        except ChannelFull:
            log.warning(
                "user %s: %s to a tab dropped: its process is not reading (inbox full)",
                self.user_id,
                message["type"],
            )
        except (RedisError, OSError):
            pass  # Redis trouble: the tab asks again, and recovery is the watcher's job

    async def shutdown(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        if self._fanout_task is not None:
            self._fanout_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._fanout_task
        if self._fanout_channel is not None:
            with contextlib.suppress(RedisError, OSError):
                await get_channel_layer().group_discard(
                    user_group(self.user_id), self._fanout_channel
                )
        await self._stop_manager()
        with contextlib.suppress(RedisError, OSError):
            await self.lease.release()


class ManagerRegistry:
    """Process-local agents by user id, reference-counted by holder name."""

    def __init__(self) -> None:
        self._agents: dict[int, UserAgent] = {}
        self._stops: dict[int, asyncio.TimerHandle] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._redis: aioredis.Redis | None = None
        self.event_log: EventLog = LocalEventLog(settings.STREAM_EVENT_LOG_SIZE)
        self._redis_down_since: float | None = None
        self._redis_run_id: str | None = None
        self._watch_task: asyncio.Task[None] | None = None
        self._sessions_task: asyncio.Task[None] | None = None
        self._background: set[asyncio.Task[None]] = set()
        self._recovered_at = -1e9

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
        if self._redis is not None:
            self.event_log = RedisEventLog(
                self._redis, settings.STREAM_EVENT_LOG_SIZE, lease_ttl=settings.STREAM_LEASE_TTL
            )
            self._watch_task = loop.create_task(self._watch_redis())
        else:
            self.event_log = LocalEventLog(settings.STREAM_EVENT_LOG_SIZE)
        self._sessions_task = loop.create_task(self._watch_sessions())

    def make_lease(self, user_id: int) -> Lease:
        if self._redis is None:
            return LocalLease(user_id)
        return RedisLease(
            self._redis,
            user_id,
            settings.STREAM_LEASE_TTL,
            claim_delay=2 * settings.STREAM_LEASE_RENEW,
        )

    # -- holders ------------------------------------------------------------------------
    async def attach(self, user_id: int, holder: str, consumer: Any = None) -> UserAgent:
        """A socket or page of this user is here: make sure this process takes part."""
        self._check_loop()
        timer = self._stops.pop(user_id, None)
        if timer is not None:
            timer.cancel()
        agent = self._agents.get(user_id)
        if agent is None:
            agent = self._agents[user_id] = UserAgent(self, user_id)
        if consumer is not None:
            await agent.join()  # before the tab is listed: it must not miss a frame
        agent.holders[holder] = consumer
        return agent

    def detach(self, user_id: int, holder: str, grace: float | None = None) -> None:
        """A holder left; the agent stops after the grace period if nobody else holds it."""
        agent = self._agents.get(user_id)
        if agent is None:
            return
        agent.holders.pop(holder, None)
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

    async def stop_all(self) -> None:
        for timer in self._stops.values():
            timer.cancel()
        self._stops.clear()
        agents, self._agents = list(self._agents.values()), {}
        await asyncio.gather(*(a.shutdown() for a in agents), return_exceptions=True)
        for task in (self._watch_task, self._sessions_task):
            if task is not None:
                task.cancel()

    # -- talking to the owner (wherever it runs) ------------------------------------------
    async def to_owner(self, user_id: int, message: dict[str, Any]) -> None:
        with contextlib.suppress(RedisError, OSError):
            await get_channel_layer().group_send(owner_group(user_id), message)

    async def request_snapshot(self, user_id: int, reply: str, symbols: list[str]) -> None:
        """Ask the owner for a snapshot; it arrives on `reply` as `stream.snapshot`."""
        await self.to_owner(
            user_id, {"type": "snapshot.request", "reply": reply, "symbols": symbols}
        )

    async def snapshot(
        self, user_id: int, symbols: list[str], within: float
    ) -> dict[str, Any] | None:
        """A snapshot for a page view: from the local manager, or asked of the owner."""
        agent = self._agents.get(user_id)
        if agent is not None and agent.local:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(within):
                    await agent.owned.wait()
        manager = self.get(user_id)
        if manager is not None:
            await manager.wait_ready(within=within)
            return manager.snapshot(symbols)
        layer = get_channel_layer()
        reply = await layer.new_channel()
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            await self.request_snapshot(user_id, reply, symbols)
            try:
                async with asyncio.timeout(1.0):
                    message = await layer.receive(reply)
                return orjson.loads(message["text"])
            except TimeoutError:
                manager = self.get(user_id)
                if manager is not None:  # we became the owner meanwhile
                    await manager.wait_ready(within=max(0.0, deadline - time.monotonic()))
                    return manager.snapshot(symbols)
        return None

    # -- Redis health ---------------------------------------------------------------------
    def recovering(self) -> bool:
        """Just after Redis trouble, when a live owner may not have re-claimed its lease."""
        if self._redis_down_since is not None:
            return True
        return time.monotonic() - self._recovered_at < 3 * settings.STREAM_LEASE_RENEW

    def redis_ok(self) -> None:
        if self._redis_down_since is not None:
            down_since = self._redis_down_since
            log.warning("Redis is back after %.1f s", time.monotonic() - down_since)
            self._redis_down_since = None
            self._recovered_at = time.monotonic()
            task = asyncio.get_running_loop().create_task(
                self._recover("Redis connection restored")
            )
            self._background.add(task)
            task.add_done_callback(self._background.discard)

    def redis_failed(self, exc: BaseException) -> None:
        """Redis trouble, seen anywhere in this process: logged once per outage."""
        if self._redis is None:
            log.warning("stream lookup failed: %s", exc)
            return
        if self._redis_down_since is None:
            self._redis_down_since = time.monotonic()
            log.warning("Redis unavailable (%s); keeping broker connections", exc)

    async def _watch_redis(self) -> None:
        """Notice a Redis restart (its run_id changes): groups and logs are gone then."""
        assert self._redis is not None
        while True:
            try:
                run_id = (await self._redis.info("server"))["run_id"]
                previous, self._redis_run_id = self._redis_run_id, run_id
                if previous not in (None, run_id):
                    self._redis_down_since = None  # this recovery covers the outage too
                    self._recovered_at = time.monotonic()
                    await self._recover("Redis restarted", restarted=True)
                self.redis_ok()
            except (RedisError, OSError) as exc:
                self.redis_failed(exc)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("Redis watch failed")
            await asyncio.sleep(1.0)

    async def _recover(self, reason: str, *, restarted: bool = False) -> None:
        """Messages may have been missed: channels rejoin their groups; an owner puts its
        stream's head back if Redis lost it and re-sends the live state (quotes,
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
                if restarted:
                    with contextlib.suppress(RedisError, OSError):
                        await manager.restore_head()
                manager.republish_live_state()
            else:
                await agent.deliver({"type": "stream.owner_changed"})

    # -- sessions ---------------------------------------------------------------------------
    async def _watch_sessions(self) -> None:
        """End the tabs whose login session ended (logout, expiry, password change,
        user deactivated) with 4401, every `SESSION_CHECK_INTERVAL` seconds."""
        check = database_sync_to_async(ended_sessions)
        while True:
            await asyncio.sleep(SESSION_CHECK_INTERVAL)
            tabs = [
                tab
                for agent in list(self._agents.values())
                for tab in list(agent.holders.values())
                if tab is not None and getattr(tab, "session_key", None)
            ]
            if not tabs:
                continue
            try:
                ended = await check({tab.session_key: tab.user_id for tab in tabs})
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("checking the sessions of open streams failed")
                continue
            for tab in tabs:
                if tab.session_key in ended:
                    try:
                        await tab.session_ended()
                    except Exception:
                        log.exception("ending a stream of user %s failed", tab.user_id)


registry = ManagerRegistry()
