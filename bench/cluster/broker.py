"""What a phase asks the broker sandbox, and what it says: every user's manager live at the
broker (subscriptions, sessions, accounts), the tick rate that gives the phase its quote
rate, and the Market orders placed through it while the window runs."""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from typing import Any

import httpx

from bench.cluster.processes import log
from bench.cluster.servers import Cluster

ORDER_SYMBOL = "B050"


def subscription_pairs(state: dict[str, Any], creds: set[str]) -> tuple[int, int, int]:
    """(event-type x symbol pairs subscribed, credentials live, max DXLink sessions/cred)."""
    pairs = live = most = 0
    for cred_id, entry in state["credentials"].items():
        if cred_id not in creds:
            continue
        sessions = entry.get("dxlink", [])
        most = max(most, len(sessions))
        has = 0
        for session in sessions:
            for channel in session.get("channels", {}).values():
                for symbols in channel.get("subscriptions", {}).values():
                    pairs += len(symbols)
                    has += len(symbols)
        if has and entry.get("streamer"):
            live += 1
    return pairs, live, most


def most_streamers(state: dict[str, Any], creds: set[str]) -> int:
    """The most account-streamer sessions any of `creds` has."""
    return max(
        (len(e.get("streamer", [])) for c, e in state["credentials"].items() if c in creds),
        default=0,
    )


async def wait_live(
    cluster: Cluster, users: int, creds: dict[str, int]
) -> tuple[dict[str, Any], int, int]:
    """Until every user's manager is live at the broker (DXLink subscribed + the account
    streamer), bounded: the sandbox's state, the subscribed pairs and the users live."""
    deadline = time.monotonic() + cluster.args.live_timeout
    while True:
        state = await cluster.sandbox_state()
        pairs, live, _ = subscription_pairs(state, set(creds))
        if live >= users or time.monotonic() > deadline:
            break
        await asyncio.sleep(1.0)
    log(f"  {live}/{users} users streaming from the broker; {pairs} subscribed pairs")
    return state, pairs, live


def accounts_of(state: dict[str, Any], creds: dict[str, int]) -> dict[int, list[str]]:
    """Each user's account numbers (by user index), for the users that have any."""
    return {
        creds[cid]: entry["accounts"]
        for cid, entry in state["credentials"].items()
        if cid in creds and entry.get("accounts")
    }


async def set_tick_rate(
    cluster: Cluster,
    quote_rate: float,
    tick_rate: float | None,
    users: int,
    pairs: int,
    live: int,
    creds: set[str],
) -> float:
    """The sandbox's tick rate for `quote_rate` quote events/s, set (`tick_rate` as given,
    when it is): from the subscriptions (each subscribed event type x symbol gets one event
    per tick of its underlying), calibrated on the rate the sandbox really sent; users not
    live yet are counted at the live users' average."""
    args = cluster.args
    if tick_rate is None:

        def expected_pairs(pairs: int, live: int) -> float:
            return pairs * users / live if 0 < live < users else float(pairs)

        tick_rate = quote_rate / max(1.0, expected_pairs(pairs, live))
        await cluster.sandbox_config(tick_rate=tick_rate)
        await asyncio.sleep(args.calibrate / 2)  # the new rate reaches the managers
        rate, pairs, live = await measure_event_rate(cluster, args.calibrate, creds)
        efficiency = rate / max(1e-9, tick_rate * pairs)
        tick_rate = quote_rate / (
            max(0.25, min(1.5, efficiency)) * max(1.0, expected_pairs(pairs, live))
        )
        log(
            f"  calibration: {rate:.0f} events/s measured ({efficiency:.2f} per pair x "
            f"tick), tick_rate now {tick_rate:.3f}"
        )
    await cluster.sandbox_config(tick_rate=tick_rate)
    return tick_rate


async def measure_event_rate(
    cluster: Cluster, seconds: float, creds: set[str]
) -> tuple[float, int, int]:
    """(DXLink events/s the sandbox sent, subscribed pairs, live users) over `seconds`."""
    s0 = (await cluster.sandbox_state())["totals"].get("dxlink_events_sent", 0)
    t0 = time.monotonic()
    await asyncio.sleep(seconds)
    state = await cluster.sandbox_state()
    s1 = state["totals"].get("dxlink_events_sent", 0)
    pairs, live, _ = subscription_pairs(state, creds)
    return (s1 - s0) / (time.monotonic() - t0), pairs, live


async def place_orders(
    cluster: Cluster, accounts: dict[int, list[str]], rate: float, duration: float, seed: int
) -> list[dict[str, Any]]:
    """Market orders for random users at `rate`/s for `duration` s; returns what was placed."""
    rng = random.Random(seed)
    users = sorted(accounts)
    placed: list[dict[str, Any]] = []
    failures: Counter[str] = Counter()
    body_of = {
        "time-in-force": "Day",
        "order-type": "Market",
        "legs": [
            {
                "instrument-type": "Equity",
                "symbol": ORDER_SYMBOL,
                "action": "Buy to Open",
                "quantity": 1,
            }
        ],
    }

    async def one(client: httpx.AsyncClient, user: int) -> None:
        number = accounts[user][0]
        try:
            response = await client.post(
                "/_sandbox/orders", json={"account_number": number, "order": body_of}
            )
        except httpx.HTTPError as exc:
            failures[type(exc).__name__] += 1
            return
        if response.status_code != 200:
            failures[f"http {response.status_code}: {response.text[:80]}"] += 1
            return
        order = response.json().get("data", response.json()).get("order", {})
        placed.append({"user": user, "id": order.get("id"), "account": number})

    tasks = []
    started = time.monotonic()
    async with httpx.AsyncClient(base_url=cluster.sandbox_url, timeout=10) as client:
        if rate > 0 and users:
            n = 0
            while True:
                due = started + n / rate
                if due >= started + duration:
                    break
                await asyncio.sleep(max(0.0, due - time.monotonic()))
                tasks.append(asyncio.create_task(one(client, rng.choice(users))))
                n += 1
        await asyncio.sleep(max(0.0, started + duration - time.monotonic()))
        await asyncio.gather(*tasks)
    if failures:
        log(f"  order placement failures: {dict(failures)}")
    return placed
