"""The watchlist's one way to reach the user's stream: a saved list told to the owner."""

from __future__ import annotations

from streaming.cluster import owner_rpc


async def watchlist_changed(user_id: int, symbols: list[str], version: int) -> None:
    """Every tab of the user gets the new watchlist (`watchlist.changed` to the owner)."""
    await owner_rpc.watchlist_changed(user_id, symbols, version)
