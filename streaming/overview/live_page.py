"""The live pages' context with the market overview: the user's snapshot with their
overview symbols, the way to their stream and the overview's tiles from the last known
quotes (the /market page, the dashboard's strip, the /risk page's first snapshot)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from channels.db import database_sync_to_async

from streaming.overview.service import overview_context, overview_get
from streaming.portfolio.page import snapshot_for, stream_context

if TYPE_CHECKING:
    from streaming.cluster.agents import Agents


async def live_page_context(agents: Agents, user_id: int) -> dict[str, Any]:
    """What the live pages (the dashboard, the market overview, /risk) render from: the
    user's snapshot with their overview symbols, its transport URLs and the overview's
    tiles from the last known quotes."""
    overview = await database_sync_to_async(overview_get)(user_id=user_id)
    snapshot, watchlist = await snapshot_for(agents, user_id, extra=overview)
    return {
        **await stream_context(user_id, snapshot, watchlist),
        **await database_sync_to_async(overview_context)(
            user_id=user_id, quotes=snapshot["quotes"], symbols=overview
        ),
    }
