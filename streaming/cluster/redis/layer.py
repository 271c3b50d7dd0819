"""channels-redis's layer, with its unawaited clean-up quiet while Redis is away.

After a receive, channels-redis pops the message's backup copy in a task nobody awaits
(`_clean_receive_backup`). With Redis gone that task raised, and asyncio logged "Task
exception was never retrieved" with a traceback for every receive during an outage. The
outage is logged once, by redis/health.py; here the failed clean-up is a debug line. The
backup copy it leaves is what the library's own note says of a cancelled cleaner: the
message may be delivered again later, which the relay's sequence numbers make harmless.
"""

from __future__ import annotations

import logging

from channels_redis.core import RedisChannelLayer as _LibraryLayer
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

log = logging.getLogger(__name__)


class RedisChannelLayer(_LibraryLayer):
    """The default layer when REDIS_URL is set (config/settings.py)."""

    async def _clean_receive_backup(self, index: int, channel: str) -> None:
        try:
            await super()._clean_receive_backup(index, channel)
        except (ConnectionError, OSError, RedisConnectionError, RedisTimeoutError) as exc:
            log.debug("receive backup of %s not cleaned (Redis away: %s)", channel, exc)
