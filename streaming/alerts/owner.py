"""The alerts feature's one way to reach the user's stream: through the cluster.

Every write of an alert tells the stream's owner (`alerts.changed`), which reads the
user's alerts again, so evaluation changes at once.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from streaming.cluster import owner_rpc

if TYPE_CHECKING:
    from streaming.cluster.agents import Agents

log = logging.getLogger(__name__)


async def alerts_changed(agents: Agents, user_id: int) -> None:
    """`alerts.changed` to the owner; a failure is logged, never raised (the alert is
    saved all the same: the owner reads the alerts when it starts)."""
    agents.watch_now()  # an alert armed may start the user's watch here at once
    try:
        await owner_rpc.alerts_changed(user_id)
    except Exception:
        log.exception("alerts.changed not sent for user %s", user_id)
