"""The Server-Sent Events fallback (`/api/events`) through a real daphne process, read
with httpx-sse: same frames as the WebSocket, resumable with `Last-Event-ID`."""

from __future__ import annotations

import asyncio
import json

import httpx
from httpx_sse import aconnect_sse

from tests.support.live import DEMO_USER
from tests.support.wait import wait_until

MARKET_BUY = {
    "time-in-force": "Day",
    "order-type": "Market",
    "legs": [
        {"instrument-type": "Equity", "symbol": "IWM", "action": "Buy to Open", "quantity": 1}
    ],
}


async def read_until(events, predicate, within: float = 15.0) -> list:
    """Frames (with their SSE ids) up to and including the first that matches."""
    seen = []
    async with asyncio.timeout(within):
        async for event in events:
            if not event.data:  # the opening `retry:` hint (browsers dispatch nothing)
                assert event.retry == 3000
                continue
            if event.event == "close":
                seen.append((event.id, {"type": "close", **json.loads(event.data)}))
                return seen
            frame = json.loads(event.data)
            seen.append((event.id, frame))
            if predicate(frame):
                return seen
    raise AssertionError("stream ended early")


def test_anonymous_gets_403(live_app):
    response = httpx.get(f"{live_app.url}/api/events")
    assert response.status_code == 403


async def test_event_stream_carries_the_contract_and_resumes_after_last_event_id(
    live_app, live_sandbox
):
    """hello → snapshot → quotes for ?symbols=; account frames carry `id: <seq>`; after a
    disconnect, `Last-Event-ID` brings exactly the account frames missed meanwhile."""
    client = live_app.login(*DEMO_USER)
    cookies = {"Cookie": live_app.cookie_header(client)}
    # the user's stream is up (a page view starts it and waits)
    await wait_until(lambda: client.get("/api/snapshot").json()["accounts"], within=10)
    async with httpx.AsyncClient(base_url=live_app.url, timeout=httpx.Timeout(5, read=30)) as http:
        async with aconnect_sse(http, "GET", "/api/events?symbols=SPY,QQQ", headers=cookies) as es:
            assert es.response.headers["content-type"].startswith("text/event-stream")
            assert es.response.headers["x-accel-buffering"] == "no"
            assert es.response.headers["cache-control"] == "no-cache"
            events = es.aiter_sse()
            frames = await read_until(events, lambda f: f["type"] == "snapshot")
            assert [f["type"] for _, f in frames] == ["hello", "snapshot"]
            snapshot_id, snapshot = frames[-1]
            assert snapshot["simulated"] is True and snapshot["accounts"]
            # a snapshot is a position too: a reconnect right after it resumes there
            assert snapshot_id == f"{snapshot['epoch']}:{snapshot['seq']}"
            await read_until(events, lambda f: f["type"] == "quotes" and "QQQ" in f["quotes"])
            last_seq = snapshot["seq"]
            # account frames (if any arrive now) carry their seq as the event id
            account = sorted(
                a["number"] for a in snapshot["accounts"] if a["broker"] == "tastytrade"
            )[0]
        control = live_sandbox.control()
        order_id = str(control.place_order(account, MARKET_BUY)["order"]["id"])
        for _ in range(3):
            control.step()
        control.close()

        def filled() -> bool:  # the fill happened while no stream was open
            orders = client.get("/api/snapshot").json()["orders"]
            return any(str(o["id"]) == order_id and o["status"] == "Filled" for o in orders)

        await wait_until(filled, within=15, what="the order filled")
        epoch = snapshot["epoch"]
        headers = {**cookies, "Last-Event-ID": f"{epoch}:{last_seq}"}
        async with aconnect_sse(http, "GET", "/api/events?symbols=SPY", headers=headers) as es:
            events = es.aiter_sse()
            frames = await read_until(events, lambda f: f["type"] == "resumed")
            resumed = frames[-1][1]
            assert resumed["from"] == last_seq
            assert resumed["epoch"] == epoch
            replay = []
            while len(replay) < resumed["count"]:
                event_id, frame = (await read_until(events, lambda f: "seq" in f))[-1]
                replay.append((event_id, frame))
    seqs = [frame["seq"] for _, frame in replay]
    assert seqs == list(range(last_seq + 1, last_seq + 1 + resumed["count"]))
    assert [event_id for event_id, _ in replay] == [f"{epoch}:{seq}" for seq in seqs]
    fills = [f for _, f in replay if f["type"] == "order" and str(f["order"]["id"]) == order_id]
    assert fills and fills[-1]["order"]["status"] == "Filled"  # the missed fill came back
    assert all(frame["epoch"] == epoch for _, frame in replay)
    assert any(
        f["type"] == "order" and f["account"] == account and f["order"]["status"] == "Filled"
        for _, f in replay
    )
