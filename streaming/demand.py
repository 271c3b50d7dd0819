"""Whose streams are wanted, when the managers run in workers (`STREAM_MANAGERS=workers`).

The web processes hold the tabs but never own a stream (lease.NoLease); the stream
workers (`manage.py stream_workers`) own the streams but hold no tab. So the web
processes tell the workers whom they serve: every `DEMAND_INTERVAL` each web process
sends one `stream.demand` message listing the users with a holder there (a tab, an SSE
stream, a page being rendered) to the layer group `WORKERS_GROUP`, and it announces a
user's first holder at once. Every worker's channel is in that group. A worker holds an
agent (ownership.py) for every user wanted within `DEMAND_TTL`: the agents of all
workers compete for the user's lease, so exactly one worker runs the manager and the
others stand by to take over. When the demand stops, the worker lets the agent go
`STREAM_IDLE_GRACE` later (registry.detach), as a web process does after its last tab.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Collection, Iterable
from typing import TYPE_CHECKING, Any

from channels.layers import get_channel_layer
from redis.exceptions import RedisError

from .fanout import messages

if TYPE_CHECKING:
    from .registry import ManagerRegistry

log = logging.getLogger(__name__)

#: The layer group every stream worker's channel is in.
WORKERS_GROUP = "stream.workers"
#: The message type a web process sends to it: {"type": DEMAND, "users": [ids]}.
DEMAND = "stream.demand"
#: How often each web process repeats its demand (and workers re-join their group).
DEMAND_INTERVAL = 2.0
#: A user nobody asked for this long is no longer wanted (three missed refreshes).
DEMAND_TTL = 3 * DEMAND_INTERVAL
#: The name a worker holds its agents under (registry.attach / detach).
HOLDER = "demand"
#: How often a worker looks for users whose demand has lapsed.
EXPIRY_CHECK = 0.5


# -- the web processes' side ----------------------------------------------------------------
async def announce(users: Collection[int]) -> None:
    """Tell the workers these users have a holder here. Lost while Redis is away: the
    next refresh repeats it, and a worker keeps a user for `DEMAND_TTL`."""
    if not users:
        return
    message = {"type": DEMAND, "users": sorted(users)}
    with contextlib.suppress(RedisError, OSError):
        await get_channel_layer().group_send(WORKERS_GROUP, message)


async def announce_forever(users: Callable[[], Collection[int]]) -> None:
    """Repeat this process's demand every `DEMAND_INTERVAL` (one message, all users)."""
    while True:
        try:
            await announce(users())
        except Exception:  # never stop announcing: the workers would let go of our users
            log.exception("announcing stream demand failed")
        await asyncio.sleep(DEMAND_INTERVAL)


# -- the workers' side ----------------------------------------------------------------------
def user_ids(values: Iterable[Any]) -> list[int]:
    """The positive integer user ids of a demand message (anything else is ignored)."""
    ids = []
    for value in values:
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            ids.append(value)
    return ids


class DemandWorker:
    """A stream worker's loop: an agent for every user some web process wants."""

    def __init__(self, registry: ManagerRegistry) -> None:
        self.registry = registry
        #: User id -> until when it is wanted (monotonic seconds).
        self.wanted: dict[int, float] = {}
        self.channel: str | None = None
        #: Set once the worker's channel is in `WORKERS_GROUP` (it hears demand from then).
        self.ready = asyncio.Event()

    async def run(self) -> None:
        """Listen for demand and let go of users nobody wants, until cancelled."""
        layer = get_channel_layer()
        self.channel = await layer.new_channel()
        listener = asyncio.create_task(self._listen(self.channel), name="demand-listen")
        try:
            await self._keep(self.channel)
        finally:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await listener
            with contextlib.suppress(RedisError, OSError):
                await layer.group_discard(WORKERS_GROUP, self.channel)

    async def want(self, users: Iterable[int]) -> None:
        """These users are wanted now: hold an agent for each (new ones compete for the
        lease at once)."""
        until = time.monotonic() + DEMAND_TTL
        for user_id in users:
            known = user_id in self.wanted
            self.wanted[user_id] = until
            if not known:
                await self.registry.attach(user_id, HOLDER)

    def let_go_of_lapsed(self) -> list[int]:
        """Users whose demand lapsed: their agents stop after `STREAM_IDLE_GRACE`
        (a new demand meanwhile keeps them)."""
        now = time.monotonic()
        lapsed = [user_id for user_id, until in self.wanted.items() if until < now]
        for user_id in lapsed:
            del self.wanted[user_id]
            self.registry.detach(user_id, HOLDER)
        return lapsed

    async def _listen(self, channel: str) -> None:
        async for message in messages(channel):
            if message.get("type") != DEMAND:
                continue
            try:
                await self.want(user_ids(message.get("users") or ()))
            except Exception:  # one bad message must not end the worker's hearing
                log.exception("handling stream demand failed")

    async def _keep(self, channel: str) -> None:
        """Keep the channel in the workers' group (Redis may forget it) and let go of
        lapsed users."""
        layer = get_channel_layer()
        joined_at = -1e9
        while True:
            if time.monotonic() - joined_at >= DEMAND_INTERVAL:
                try:
                    await layer.group_add(WORKERS_GROUP, channel)
                    joined_at = time.monotonic()
                    self.ready.set()
                except (RedisError, OSError) as exc:
                    self.registry.redis.failed(exc)
            for user_id in self.let_go_of_lapsed():
                log.info("user %s: no web process wants the stream; letting go", user_id)
            await asyncio.sleep(EXPIRY_CHECK)
