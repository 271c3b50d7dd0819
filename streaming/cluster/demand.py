"""Whose streams are wanted, when the managers run in workers (`STREAM_MANAGERS=workers`).

The web processes hold the tabs but never own a stream (lease.NoLease); the stream
workers (`manage.py stream_workers`) own the streams but hold no tab. So the web
processes write down whom they serve, in one Redis sorted set (`DEMAND_KEY`: user id ->
until when it is wanted, in Redis's own clock): every `DEMAND_INTERVAL` each web process
renews, in one script call, the users with a holder there (a tab, an SSE stream, a page
being rendered), and it adds a user's first holder at once. Every worker reads the set
every `POLL_INTERVAL` (expired entries are dropped there) and holds an agent
(agent.py) for every user in it: the agents of all workers compete for the user's
lease, so exactly one worker runs the manager and the others stand by to take over. A
user who leaves the set is let go `STREAM_IDLE_GRACE` later (agents.detach), as a web
process does after its last tab.

Why a set and not layer messages: a worker reads the current state whenever it looks,
so a message lost or read late (a busy worker, a full inbox) cannot make it stop a
wanted user's manager, and a worker that starts later knows the demand at once (the
first version sent `stream.demand` messages to a layer group: under the 200-socket bench
a worker let go of every user mid-run).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Collection
from typing import TYPE_CHECKING, Protocol

import redis.asyncio as aioredis
from redis.exceptions import RedisError

if TYPE_CHECKING:
    from streaming.cluster.placement import Placement
    from streaming.cluster.redis.health import RedisHealth

log = logging.getLogger(__name__)

#: The sorted set of wanted users: member = user id, score = wanted until (ms, Redis time).
DEMAND_KEY = "sd:demand"
#: How often each web process renews its users' demand.
DEMAND_INTERVAL = 2.0
#: A user nobody renewed for this long is no longer wanted (five missed renewals).
DEMAND_TTL = 5 * DEMAND_INTERVAL
#: How often a worker reads the demand (the first tab of a user waits at most this long).
POLL_INTERVAL = 0.5
#: The name a worker holds its agents under (agents.attach / detach).
HOLDER = "demand"

# KEYS[1] the demand set. ARGV[1] ttl ms, ARGV[2..] user ids: wanted until now + ttl
# (Redis's clock, so later renewals always move the score forward).
_WANT = """
local t = redis.call('TIME')
local until_ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + tonumber(ARGV[1])
for i = 2, #ARGV do
  redis.call('ZADD', KEYS[1], until_ms, ARGV[i])
end
return #ARGV - 1
"""

# KEYS[1] the demand set. Drops expired users; returns the wanted ones.
_WANTED = """
local t = redis.call('TIME')
local now_ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now_ms)
return redis.call('ZRANGE', KEYS[1], 0, -1)
"""


# -- the web processes' side ----------------------------------------------------------------
async def announce(client: aioredis.Redis, users: Collection[int]) -> None:
    """These users have a holder here: wanted for `DEMAND_TTL` from now. While Redis is
    away nothing is written (nobody can take a lease then either); the next renewal
    catches up."""
    if not users:
        return
    await client.eval(_WANT, 1, DEMAND_KEY, int(DEMAND_TTL * 1000), *sorted(users))


async def announce_forever(
    client: aioredis.Redis,
    users: Callable[[], Collection[int]],
    failed: Callable[[BaseException], None],
) -> None:
    """Renew this process's demand every `DEMAND_INTERVAL` (one script call, all users)."""
    while True:
        try:
            await announce(client, users())
        except (RedisError, OSError) as exc:
            failed(exc)
        except Exception:  # never stop renewing: the workers would let go of our users
            log.exception("announcing stream demand failed")
        await asyncio.sleep(DEMAND_INTERVAL)


# -- the workers' side ----------------------------------------------------------------------
async def wanted(client: aioredis.Redis) -> set[int]:
    """The users some web process wants now (expired entries are dropped)."""
    members = await client.eval(_WANTED, 1, DEMAND_KEY)
    users = set()
    for member in members:
        try:
            users.add(int(member))
        except (TypeError, ValueError):
            continue
    return users


class Holders(Protocol):
    """What a worker needs of its process's agents (agents.Agents is one)."""

    redis: RedisHealth

    async def attach(self, user_id: int, holder: str) -> object: ...

    def detach(self, user_id: int, holder: str) -> None: ...


class DemandWorker:
    """A stream worker's loop: an agent for every user some web process wants."""

    def __init__(
        self, agents: Holders, client: aioredis.Redis, placement: Placement | None = None
    ) -> None:
        self.agents = agents
        self.client = client
        #: Renewed before each read: which worker claims a new user first (placement.py).
        self.placement = placement
        #: The users this worker holds an agent for (as of the last read).
        self.held: set[int] = set()
        #: Set after the first successful read of the demand.
        self.ready = asyncio.Event()

    async def run(self) -> None:
        """Follow the demand until cancelled. While Redis is away the agents are kept
        (nobody can take their leases meanwhile)."""
        while True:
            try:
                if self.placement is not None:
                    await self.placement.report(self.client)
                await self.follow(await wanted(self.client))
                self.ready.set()
            except (RedisError, OSError) as exc:
                self.agents.redis.failed(exc)
            except Exception:  # a worker that stops following would strand its users
                log.exception("following the stream demand failed")
            await asyncio.sleep(POLL_INTERVAL)

    async def follow(self, users: set[int]) -> None:
        """Hold an agent for each wanted user (a new one competes for the lease at once);
        let go of the others after `STREAM_IDLE_GRACE` (a new demand meanwhile keeps them)."""
        for user_id in sorted(users - self.held):
            await self.agents.attach(user_id, HOLDER)
        for user_id in sorted(self.held - users):
            log.info("user %s: no web process wants the stream; letting go", user_id)
            self.agents.detach(user_id, HOLDER)
        self.held = set(users)
