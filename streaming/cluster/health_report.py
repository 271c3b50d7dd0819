"""What each process tells the cluster about its users' streams, for the staff's view.

The stream-health view (operations/stream_health.py) may be served by any process, but
a user's manager runs only in the owner. So every process writes what it knows to
Redis, and any process reads it back:

- the owner writes a compact **report** per user (`sd:health:user:<id>`, JSON, expiring
  after `TTL`): itself (host, pid), the event log's head, and per link and data kind the
  state, since when, the last data, reconnects, the last error, the token's expiry;
- every process writes its **open tabs** per user (`sd:tabs:user:<id>`, a hash: field =
  process id, value = count and time, expiring after `TTL`; a field older than `TTL`
  belongs to a process that died and is ignored);
- `sd:health:users` (a sorted set: user id -> last write, ms) lists who to read, so a
  reader never scans keys.

A report is rewritten every `INTERVAL` and as soon as a link's visible status changes
(`UserStreamManager.health_version`, checked every `CHECK_EVERY`): a few Redis writes
per user and interval, pipelined, and no work per frame. Without Redis (one process)
the view reads this process's agents directly (`local_reports`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypedDict

import orjson
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from streaming.cluster.lease import PROCESS_ID
from streaming.stream.health import KINDS

if TYPE_CHECKING:
    from streaming.cluster.agent import UserAgent
    from streaming.stream.manager import UserStreamManager

log = logging.getLogger(__name__)

#: A report is rewritten at least this often (seconds)...
INTERVAL = 2.0
#: ...and checked for a visible change this often.
CHECK_EVERY = 0.25
#: Reports and tab counts not rewritten for this long are gone (their process died).
TTL = 3 * INTERVAL
USERS_KEY = "sd:health:users"

# KEYS[1] a user's report. ARGV[1] this process's id. Deletes the report if it is ours
# (we stopped owning the stream): the view must not show a process that let go.
_DELETE_OURS = """
local raw = redis.call('GET', KEYS[1])
if raw and string.find(raw, ARGV[1], 1, true) then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


def report_key(user_id: int) -> str:
    return f"sd:health:user:{user_id}"


def tabs_key(user_id: int) -> str:
    return f"sd:tabs:user:{user_id}"


class ProcessInfo(TypedDict):
    """A process as the health page shows it: its lease id, host and pid."""

    id: str
    host: str
    pid: int | None


def process_of(process_id: str) -> ProcessInfo:
    """A lease's process id (`host:pid:random`) as host and pid."""
    host, _, rest = process_id.partition(":")
    pid, _, _ = rest.partition(":")
    return {"id": process_id, "host": host, "pid": int(pid) if pid.isdigit() else None}


def _ms(epoch_s: float | None) -> int | None:
    return int(epoch_s * 1000) if epoch_s else None


def user_report(manager: UserStreamManager, *, owner: str = PROCESS_ID) -> dict[str, Any]:
    """The owner's report of one user's stream, from its manager (JSON-ready, times in
    epoch ms)."""
    links = []
    for link_id, info in manager.links.items():
        health = manager.link_health(link_id)
        source = manager.quote_source() == link_id
        used = manager.quotes_used(link_id)
        state, reason = health.overall(quotes_used=used)
        kinds = {}
        last_data: list[int] = []
        for name in KINDS:
            entry = health.kinds[name]
            view = health.view(name, quotes_used=used, quote_silence=manager.silence_threshold())
            if view["last_ok"]:
                last_data.append(view["last_ok"])
            kinds[name] = {
                **view,
                "reconnects": entry.reconnects,
                "last_error": entry.last_error,
                "last_error_at": entry.last_error_at,
            }
        if source and manager.last_quote_at:
            last_data.append(int(manager.last_quote_at * 1000))  # as _ms: it is set
        links.append(
            {
                "id": link_id,
                "broker": info.broker,
                "label": info.label,
                "state": state,
                "reason": reason,
                "quote_source": source,
                "delayed": health.delayed,
                "kinds": kinds,
                "last_data_at": max(last_data, default=None),
                "reconnects": health.extra.get("reconnects", 0),
                "token_expires_at": _ms(health.extra.get("token_expires_at")),
            }
        )
    position = manager.position
    return {
        "user": manager.user_id,
        "owner": process_of(owner),
        "at": int(time.time() * 1000),
        "epoch": position.epoch,
        "seq": position.seq,
        "last_event_at": _ms(manager.last_event_at),
        "links": links,
    }


@dataclass
class UserHealth:
    """What the cluster knows of one user's stream: the owner's report (None while no
    process owns it) and the open tabs per process (process id -> count)."""

    user_id: int
    report: dict[str, Any] | None
    tabs: dict[str, int] = field(default_factory=dict)


def local_reports(agents: Mapping[int, UserAgent]) -> list[UserHealth]:
    """This process's users (the single-process mode: no Redis to read from)."""
    found = []
    for user_id, agent in sorted(agents.items()):
        manager = agent.manager
        report = user_report(manager) if manager is not None else None
        found.append(UserHealth(user_id, report, {PROCESS_ID: len(agent.fanout.tabs)}))
    return found


async def read_reports(redis: aioredis.Redis) -> list[UserHealth]:
    """Every user some process wrote about within `TTL`, in two round trips."""
    now = int(time.time() * 1000)
    cutoff = now - int(TTL * 1000)
    members = await redis.zrangebyscore(USERS_KEY, cutoff, "+inf")  # no scores: ids
    users = sorted(int(member) for member in members if isinstance(member, bytes | str))
    pipe = redis.pipeline(transaction=False)
    for user_id in users:
        pipe.get(report_key(user_id))
        pipe.hgetall(tabs_key(user_id))
    answers = await pipe.execute()
    found = []
    for index, user_id in enumerate(users):
        raw, tabs_raw = answers[2 * index], answers[2 * index + 1]
        tabs = {}
        for process, value in (tabs_raw or {}).items():
            entry = orjson.loads(value)
            if entry["at"] >= cutoff and entry["tabs"] > 0:
                tabs[process.decode()] = entry["tabs"]
        report = orjson.loads(raw) if raw else None
        if report is not None or tabs:
            found.append(UserHealth(user_id, report, tabs))
    return found


class HealthPublisher:
    """Writes this process's reports and tab counts to Redis (one task per event loop)."""

    def __init__(
        self,
        redis: aioredis.Redis,
        agents: Callable[[], Mapping[int, UserAgent]],
        *,
        process_id: str = PROCESS_ID,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.redis = redis
        self.agents = agents
        self.process_id = process_id
        self.clock = clock
        #: Per user: (written at (monotonic), health version, tab count, owner?) last written.
        self._written: dict[int, tuple[float, int, int, bool]] = {}

    async def run(self) -> None:
        while True:
            await asyncio.sleep(CHECK_EVERY)
            try:
                await self.publish()
            except (RedisError, OSError) as exc:  # Redis away: the next round tries again
                log.debug("stream health not published: %s", exc)
                self._written.clear()
            except Exception:
                log.exception("stream health not published")

    async def publish(self) -> None:
        """Write what changed or is due; forget the users that left this process."""
        now = self.clock()
        agents = dict(self.agents())
        pipe = self.redis.pipeline(transaction=False)
        ttl_ms = int(TTL * 1000)
        wall_ms = int(time.time() * 1000)
        writes = 0
        for user_id, agent in agents.items():
            manager = agent.manager
            state = (
                manager.health_version if manager is not None else -1,
                len(agent.fanout.tabs),
                manager is not None,
            )
            last = self._written.get(user_id)
            if last is not None and last[1:] == state and now - last[0] < INTERVAL:
                continue
            self._written[user_id] = (now, *state)
            if last is not None and last[3] and manager is None:
                pipe.eval(_DELETE_OURS, 1, report_key(user_id), self.process_id)
            if manager is not None:
                report = user_report(manager, owner=self.process_id)
                pipe.set(report_key(user_id), orjson.dumps(report), px=ttl_ms)
            tabs = orjson.dumps({"tabs": state[1], "at": wall_ms})
            pipe.hset(tabs_key(user_id), self.process_id, tabs)
            pipe.pexpire(tabs_key(user_id), ttl_ms)
            pipe.zadd(USERS_KEY, {str(user_id): wall_ms})
            writes += 1
        for user_id in set(self._written) - set(agents):
            if self._written.pop(user_id)[3]:
                pipe.eval(_DELETE_OURS, 1, report_key(user_id), self.process_id)
            pipe.hdel(tabs_key(user_id), self.process_id)
            writes += 1
        if writes:
            pipe.zremrangebyscore(USERS_KEY, "-inf", wall_ms - ttl_ms)
            await pipe.execute()
