"""The users whose streams run with no page open, read for the cluster's watch.

An alert that can still fire, a limit set, a working order with fills notifying, "P&L all
day" in the session (docs/streaming-contract.md "Push and e-mail"): each feature says who,
and the composition root (streaming/node.py) hands this to the agents.
"""

from __future__ import annotations

import time

from channels.db import database_sync_to_async

from streaming.alerts.store import alert_watched_users
from streaming.push.working import working_watched_users
from streaming.risk.limits.store import limits_watched_users
from streaming.risk.pnl.store import pnl_watched_users


async def watched() -> set[int]:
    def read() -> set[int]:
        found = alert_watched_users() | limits_watched_users()
        return found | working_watched_users() | pnl_watched_users(time.time())

    return await database_sync_to_async(read)()
