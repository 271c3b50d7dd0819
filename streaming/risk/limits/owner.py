"""The limits' one way to reach the user's stream: through the cluster.

A save of the limits tells the stream's owner (`limits.changed`), whose runner reads them
again, so evaluation changes at once; `answer_limits_changed` is the owner's handler,
registered in streaming/apps.py.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from streaming.cluster import owner_rpc
from streaming.contract.layer import ToOwner

if TYPE_CHECKING:
    from streaming.cluster.agents import Agents
    from streaming.stream.manager import UserStreamManager

log = logging.getLogger(__name__)

#: The owner acts on a `limits.changed` at most this long after it was sent (seconds):
#: a later one finds the limits read at the owner's start anyway.
DEADLINE = 60.0


async def limits_changed(agents: Agents, user_id: int) -> None:
    """`limits.changed` to the owner; a failure is logged, never raised (the limits are
    saved all the same: an owner reads them when it starts)."""
    agents.watch_now()  # a limit set may start the user's watch here at once
    try:
        await owner_rpc.to_owner(
            user_id, {"type": ToOwner.LIMITS_CHANGED, "deadline": time.time() + DEADLINE}
        )
    except Exception:
        log.exception("limits.changed not sent for user %s", user_id)


async def answer_limits_changed(
    manager: UserStreamManager, message: Mapping[str, Any], left: float
) -> None:
    """At the owner: the listeners that read the limits read them again (no reply)."""
    manager.user_changed("limits")
