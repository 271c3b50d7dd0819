"""SSE streams on a process share it fairly with its WebSockets."""

from __future__ import annotations

import time

from tests.chaos.conftest import DEMO_TT, Tabs, add_trader, tastytrade_link
from tests.support.cluster import Cluster
from tests.support.orders import market_buy


async def test_an_sse_stream_does_not_freeze_the_websockets_of_its_process(
    cluster: Cluster, tabs: Tabs
):
    """Another user's SSE stream on the non-owning process: the demo trader's tab there
    keeps getting quotes, a fill arrives while the SSE stream is open, and a new tab on
    that process gets its snapshot (channels-redis serves a process's private channels
    through one receive loop; an SSE reply channel of its own prefix held it)."""
    add_trader(cluster.a, "viewer")
    demo = cluster.cookie()
    await tabs.ws(cluster.a, demo, "owner-side")
    _, other = cluster.owner_and_other()
    tab = await tabs.ws(other, demo, "other-side")
    started = time.monotonic()
    await tab.wait_for(lambda: tab.quote_frames_since(started) >= 10, within=10)

    sse = await tabs.sse(other, cluster.cookie("viewer", "pw-viewer"), "viewer-sse")
    opened = time.monotonic()
    await tab.wait_for(lambda: tab.quote_frames_since(opened) >= 10, within=10)
    control = cluster.sandbox.control()
    link = tastytrade_link(cluster.a)
    account = sorted(control.state()["credentials"][DEMO_TT]["accounts"])[0]
    placed = control.place_order(account, market_buy("XLF", 2))["order"]["id"]
    await tab.wait_for(lambda: tab.filled_quantity(link, placed) == 2, within=10)
    late = await tabs.ws(other, demo, "late")  # waits for its snapshot
    assert late.snapshots == 1
    assert sse.live and sse.foreign == set() and tab.violations == []
    control.close()
