"""The risk feature's one way to reach the user's stream, through the cluster: the user's
snapshot, and the underlyings (and SPY) the curve needs quotes of, subscribed for a while
as a polling page's symbols are (an option position streams its own quote, not its
underlying's, unless a page or the watchlist wants it)."""

from __future__ import annotations

import uuid
from typing import Any

from streaming.cluster import owner_rpc
from streaming.cluster.agents import agents
from streaming.stream.subscriptions import POLL_TAB_PREFIX

#: How long the API's symbols stay subscribed after a request (seconds): a script asking
#: every few seconds keeps them live; an idle one lets them go.
RISK_SYMBOLS_TTL = 60.0


async def stream_snapshot(
    user_id: int, symbols: list[str], *, within: float
) -> dict[str, Any] | None:
    """The user's snapshot with the quotes of `symbols` it has, starting the stream if
    needed; None if the owner did not answer within `within` s. The stream is then kept
    for the idle grace, so the next request finds it warm."""
    holder = f"risk-{uuid.uuid4().hex}"
    await agents.attach(user_id, holder)
    try:
        found = await agents.snapshot(user_id, symbols, within=within)
        return None if found is None else dict(found)
    finally:
        agents.detach(user_id, holder, grace=None)


async def want_symbols(user_id: int, name: str, symbols: list[str]) -> None:
    """Subscribe `symbols` for `RISK_SYMBOLS_TTL` s under the API's own tab `name` (one per
    curve asked for: the underlying's, or the portfolio's)."""
    tab = f"{POLL_TAB_PREFIX}risk-{name}"
    await owner_rpc.announce_symbols(user_id, tab, symbols, ttl=RISK_SYMBOLS_TTL)
