"""The news feature's one way to reach the user's stream: through the cluster.

A news SSE stream holds the user's stream as a tab with its symbols (so the user's news
feed keeps running) and gives it back when it ends.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from streaming.cluster import owner_rpc
from streaming.cluster.fanout import Tab

if TYPE_CHECKING:
    from streaming.cluster.agents import Agents


async def tab_attach(agents: Agents, user_id: int, tab: Tab) -> None:
    """Hold the user's stream (starting it if needed) for this tab."""
    await agents.attach(user_id, tab.channel_name, tab)


async def tab_symbols_announce(user_id: int, tab: Tab, symbols: list[str]) -> None:
    """The tab's symbols to the owner (re-sent: the owner forgets a silent tab)."""
    await owner_rpc.announce_symbols(user_id, tab.channel_name, symbols)


async def tab_detach(agents: Agents, user_id: int, tab: Tab) -> None:
    """Give back the hold and tell the owner the tab is gone."""
    agents.detach(user_id, tab.channel_name)
    await owner_rpc.drop_tab(user_id, tab.channel_name)
