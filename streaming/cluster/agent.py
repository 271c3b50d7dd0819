"""Who runs a user's stream manager in the cluster: the lease loop, one agent per user
and process.

For every user with a tab (or a page view) here, an agent competes for the user's lease
(lease.py). The holder runs the manager (built by the factory the composition root
hands in, `BuildManager`: the cluster never imports streaming/wiring.py; publishing
through the user's fan-out) and answers the tabs (owner_rpc.py); the others relay its frames to
their tabs (fanout.py). If the owner dies, the lease expires and an agent elsewhere
takes over; an owner that loses its lease (it was paused, Redis said so) stops before it
touches the broker or the layer again.

With `STREAM_MANAGERS=workers` a web process's agents hold a `NoLease`: they never
compete and only relay (fan-out, snapshot requests, symbols); the stream workers' agents,
held for the users the web processes announce (demand.py), are the ones that compete.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Protocol

from django.conf import settings
from redis.exceptions import RedisError

from streaming.cluster.fanout import Tab, UserFanout
from streaming.cluster.lease import Lease, LocalLease
from streaming.cluster.owner_rpc import OwnerHandlers, OwnerRpc
from streaming.contract.layer import OwnerChanged, ToTab
from streaming.stream.manager import Authorize, Publish, UserStreamManager
from streaming.stream.position import Fenced

if TYPE_CHECKING:
    from streaming.cluster.eventlog import EventLog
    from streaming.cluster.redis.health import RedisHealth
    from streaming.cluster.relay import Relay

log = logging.getLogger(__name__)

#: How often group memberships in Redis are refreshed (they expire; a restart forgets them).
REJOIN_INTERVAL = 5.0


class BuildManager(Protocol):
    """Builds a user's manager when this process wins the lease (streaming/wiring.py's
    `build_manager`, handed in by streaming/node.py)."""

    def __call__(
        self,
        user_id: int,
        publish: Publish,
        *,
        event_log: EventLog,
        owner: str,
        authorize: Authorize,
    ) -> Awaitable[UserStreamManager]: ...


def next_renewal_at() -> float:
    """The next multiple of STREAM_LEASE_RENEW on the loop's clock (a hair away: the one
    after). Every agent of a process wakes at that very instant, so their renewals leave in
    one pipeline (redis/batch.py) instead of one round trip each, spread over the second."""
    period = settings.STREAM_LEASE_RENEW
    now = asyncio.get_running_loop().time()
    when = (now // period + 1) * period
    return when if when - now > period / 100 else when + period


async def sleep_until(when: float) -> None:
    """Sleep to an absolute time of the loop's clock. `asyncio.sleep(when - now)` would add
    the microseconds between reading the clock and scheduling to each agent's deadline,
    and spread agents meant to wake together over several loop iterations; timers with
    the same deadline run in the same iteration."""
    loop = asyncio.get_running_loop()
    woken = loop.create_future()
    timer = loop.call_at(when, _wake, woken)
    try:
        await woken
    finally:
        timer.cancel()


def _wake(woken: asyncio.Future[None]) -> None:
    if not woken.done():
        woken.set_result(None)


class UserAgent:
    """This process's part in one user's stream: local holders, the lease, the manager."""

    def __init__(
        self,
        user_id: int,
        lease: Lease,
        event_log: EventLog,
        redis: RedisHealth,
        build_manager: BuildManager,
        *,
        relay: Relay,
        handlers: OwnerHandlers,
    ) -> None:
        self.user_id = user_id
        #: Holder name -> its tab, or None for a page view (holders keep the agent alive).
        self.holders: dict[str, Tab | None] = {}
        self.lease = lease
        self.event_log = event_log
        self.redis = redis
        self.fanout = UserFanout(user_id, relay)
        self._build_manager = build_manager
        #: The features' answers to the owner's questions (the process's agents').
        self._handlers = handlers
        #: The user's manager while this process owns the stream.
        self.manager: UserStreamManager | None = None
        self.rpc: OwnerRpc | None = None
        self.owned = asyncio.Event()
        self._joined_at = 0.0
        self._authorizing = asyncio.Lock()
        self._task = asyncio.create_task(self._run(), name=f"agent-{user_id}")

    @property
    def local(self) -> bool:
        return isinstance(self.lease, LocalLease)

    # -- holders -------------------------------------------------------------------------
    async def hold(self, name: str, tab: Tab | None) -> None:
        """A tab (or a page view: None) of the user is here."""
        if tab is not None:
            await self.fanout.join()  # before the tab is listed: it must not miss a frame
            self.fanout.tabs[name] = tab
        self.holders[name] = tab

    def release(self, name: str) -> None:
        self.holders.pop(name, None)
        self.fanout.tabs.pop(name, None)

    # -- the lease loop ------------------------------------------------------------------
    async def _run(self) -> None:
        """Acquire or renew the lease forever; start/stop the manager as ownership changes."""
        while True:
            try:
                if self.manager is None:
                    if await self.lease.acquire(careful=self.redis.recovering()):
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
                if not self.local and time.monotonic() - self._joined_at > REJOIN_INTERVAL:
                    await self.rejoin()
                self.redis.ok()
            except (RedisError, OSError) as exc:
                # Redis away: keep the broker connection, retry; sockets resync on recovery
                self.redis.failed(exc)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("user %s: ownership loop error", self.user_id)
            await sleep_until(next_renewal_at())

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
                self.redis.failed(exc)
                return True
            if not held:
                log.warning("user %s: lease lost (checked before I/O); stopping", self.user_id)
            return held

    async def _start_manager(self) -> None:
        manager = await self._build_manager(
            self.user_id,
            self.fanout.publisher(),
            event_log=self.event_log,
            owner=self.lease.owner_value or "",
            authorize=self.authorize,
        )
        # The owner hands frames to this process's tabs itself (its publish does, from
        # the first frame on): its fan-out leaves the user's group, which the fan-outs of
        # the other processes stay in. It is the owner's first, so a tab that joins while
        # the manager starts keeps it out of the group.
        self.fanout.own(lambda: manager.tab_symbols)
        await self.fanout.leave()
        try:
            await manager.start()
        except Fenced:
            log.warning("user %s: another process owns the stream", self.user_id)
            self.fanout.disown()
            await manager.stop()
            if self.holders and self.fanout.joined:
                with contextlib.suppress(RedisError, OSError):
                    await self.rejoin()
            return
        self.manager = manager
        try:
            self.rpc = OwnerRpc(manager, self.fanout.tabs, self._handlers)
            await self.rpc.open()
            await self.rejoin()
        except BaseException:
            await self._stop_manager()  # all or nothing: never two managers for one user
            raise
        self.owned.set()
        log.info("user %s: this process owns the stream (%s)", self.user_id, manager.position)
        # tabs everywhere re-send their symbols and, if still waiting, their snapshot request
        await self.announce_owner_changed(everywhere=True)

    async def _stop_manager(self) -> None:
        self.owned.clear()
        if self.rpc is not None:
            await self.rpc.close()
            self.rpc = None
        manager, self.manager = self.manager, None
        self.fanout.disown()
        if manager is not None:
            await manager.stop()
        if self.holders and self.fanout.joined:
            # another process owns the stream now: receive its frames through the layer
            # again, and let our tabs tell the new owner what they need
            with contextlib.suppress(RedisError, OSError):
                await self.rejoin()
            await self.announce_owner_changed()

    async def announce_owner_changed(self, *, everywhere: bool = False) -> None:
        """Tell this process's tabs (and with `everywhere` the other processes' too)."""
        changed: OwnerChanged = {"type": ToTab.OWNER_CHANGED}
        await self.fanout.deliver(changed)
        if everywhere:
            await self.fanout.broadcast(changed)

    async def rejoin(self) -> None:
        """Keep our channels in their groups (Redis may have forgotten them): the fan-out
        channel in the user's group, and the owner's control channel in the owner group."""
        await self.fanout.rejoin()
        if self.rpc is not None:
            await self.rpc.rejoin()
        self._joined_at = time.monotonic()

    async def shutdown(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        await self.fanout.close()
        await self._stop_manager()
        with contextlib.suppress(RedisError, OSError):
            await self.lease.release()
