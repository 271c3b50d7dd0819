"""A page's one way to reach the user's stream: through the cluster.

Pages hold the stream while they render (and a login holds it for the page it redirects
to); a polling page announces its symbols. Every feature's page reads the user's snapshot
here (page.py), none through another feature.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any, cast

from django.conf import settings

from streaming.cluster import owner_rpc

if TYPE_CHECKING:
    from streaming.cluster.agents import Agents


async def stream_snapshot(
    agents: Agents, user_id: int, symbols: list[str], *, within: float, hold: float | None = None
) -> dict[str, Any] | None:
    """The user's snapshot with `symbols`, starting their stream if needed; the stream is
    then held `hold` s (None: the idle grace) for the page's socket or next poll."""
    holder = f"page-{uuid.uuid4().hex}"
    await agents.attach(user_id, holder)
    shown = settings.STREAM_IDLE_GRACE if hold is None else hold
    try:
        snapshot = await agents.snapshot(user_id, symbols, within=within, shown=shown)
        return cast("dict[str, Any] | None", snapshot)
    finally:
        agents.detach(user_id, holder, grace=hold)


async def stream_hold(agents: Agents, user_id: int, *, grace: float) -> None:
    """Start the user's stream now and keep it `grace` s (a login, before its redirect)."""
    holder = f"login-{uuid.uuid4().hex}"
    await agents.attach(user_id, holder)
    agents.detach(user_id, holder, grace=grace)


async def poll_symbols_announce(user_id: int, tab: str, symbols: list[str], ttl: float) -> None:
    """A polling page's subscription, renewed by every poll (forgotten `ttl` s after)."""
    await owner_rpc.announce_symbols(user_id, tab, symbols, ttl=ttl)
