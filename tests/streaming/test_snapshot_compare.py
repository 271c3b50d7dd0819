"""Snapshot + events = a fresh snapshot (Zulip's compare test, docs/streaming.md).

A real manager over the tastytrade SDK and the sandbox: take a snapshot, let the broker
fill orders and move prices, then apply every frame published after the snapshot to it
with the reducer the browser runs (static/js/stream/state.js, through node). Once the
market is still, the result must equal a fresh snapshot passed through the same
reducer: quotes, balances, positions and orders, and the stream's position.
"""

from __future__ import annotations

import time

from streaming.contract.frames import FRAMES
from tests.streaming.test_manager import Published, manager_for
from tests.support.node import node_tool
from tests.support.wait import wait_until

MARKET_BUY = {
    "time-in-force": "Day",
    "order-type": "Market",
    "legs": [
        {"instrument-type": "Equity", "symbol": "IWM", "action": "Buy to Open", "quantity": 3}
    ],
}


def replay(snapshot: dict, frames: list[dict]) -> dict:
    """The browser's state after `snapshot` then `frames`, as the reducer projects it."""
    return node_tool("replay.mjs", {"snapshot": snapshot, "frames": frames})


async def settled(published: Published, window: float = 1.0) -> None:
    """Wait until no client frame was published for `window` seconds (10 flush intervals:
    nothing is left in the batch or the outbox)."""
    seen, since = -1, time.monotonic()

    def still() -> bool:
        nonlocal seen, since
        count = len([f for f in published.frames if f["type"] != "head"])
        if count != seen:
            seen, since = count, time.monotonic()
        return time.monotonic() - since >= window

    await wait_until(still, within=15, what="no new frames")


async def test_a_snapshot_plus_the_events_after_it_equals_a_fresh_snapshot(
    broker_at_sandbox, control, refresh_token
):
    control.configure(tick_rate=20, order_step_interval=0.2)
    published = Published()
    manager = manager_for(refresh_token, published, flush=0.1)
    await manager.start()
    try:
        manager.set_tab_symbols("tab", {"SPY", "QQQ", "IWM"})
        assert await manager.wait_ready(within=10)
        await wait_until(lambda: {"SPY", "QQQ", "IWM"} <= manager.state.quotes.keys())
        before = manager.snapshot()
        mark = len(published.frames)
        accounts = [a["number"] for a in before["accounts"]]
        placed = [str(control.place_order(n, MARKET_BUY)["order"]["id"]) for n in accounts]

        def filled() -> bool:
            orders = [f["order"] for f in published.frames[mark:] if f["type"] == "order"]
            done = {str(o["id"]) for o in orders if o["status"] == "Filled"}
            return set(placed) <= done

        await wait_until(filled, within=20, what="every order filled")
        # the market stands still: no ticks, no pushes; then nothing is left in flight
        control.configure(tick_rate=0, order_step_interval=3600, balance_push_interval=3600)

        await settled(published)
        after = manager.snapshot()
    finally:
        await manager.stop()
    frames = [f for f in published.frames[mark:] if f["type"] in FRAMES]
    kinds = {f["type"] for f in frames}
    assert {"order", "quotes"} <= kinds  # the run did move the state
    applied = replay(before, frames)
    assert applied["seq"] == after["seq"] > before["seq"]
    assert applied == replay(after, [])
