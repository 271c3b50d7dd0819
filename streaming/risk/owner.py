"""The risk feature's one way to reach the user's stream, through the cluster: the user's
snapshot, as the dashboard's pages ask for it (every underlying held and SPY stream while
the stream runs: metrics_runner.py)."""

from __future__ import annotations

from typing import Any

from streaming.dashboard import owner as dashboard_owner


async def stream_snapshot(
    user_id: int, symbols: list[str], *, within: float
) -> dict[str, Any] | None:
    """The user's snapshot with the quotes of `symbols` it has, starting the stream if
    needed; None if the owner did not answer within `within` s. The stream is then kept
    for the idle grace, so the next request finds it warm."""
    found = await dashboard_owner.stream_snapshot(user_id, symbols, within=within)
    return None if found is None else dict(found)
