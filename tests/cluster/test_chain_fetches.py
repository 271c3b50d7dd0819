"""One broker chain fetch per (underlying, expiration) per TTL across the cluster.

Two daphne processes, Redis, PostgreSQL and the sandbox: tastytrade and Tradier users,
each user's stream owned by one process or the other, open the same chain on both
processes at once, many times. The sandbox counts the chain requests it served per
chain: exactly one per broker, and after the TTL exactly one more.
"""

from __future__ import annotations

import asyncio
import time

import httpx

from tests.cluster.conftest import Tab
from tests.support.chains import chain_requests, chain_users

TTL = 10  # STREAM_CHAIN_CACHE_TTL for this cluster, seconds: longer than a round of bursts
# takes on a loaded 2-core box (~2 s here; a round crossing the TTL would rightly fetch twice)
USERS_PER_BROKER = 4
REQUESTS_PER_PROCESS = 3


async def burst(cluster, users: list[dict], path: str) -> list[dict]:
    """Every user asks both processes REQUESTS_PER_PROCESS times, all at once."""
    clients = {
        (u["username"], app.url): httpx.AsyncClient(
            base_url=app.url, cookies={"sessionid": u["sessionid"]}, timeout=30
        )
        for u in users
        for app in cluster.apps
    }
    try:
        calls = [c.get(path) for c in clients.values() for _ in range(REQUESTS_PER_PROCESS)]
        responses = await asyncio.gather(*calls)
    finally:
        await asyncio.gather(*(c.aclose() for c in clients.values()))
    assert [r.status_code for r in responses] == [200] * len(calls), [
        r.text for r in responses if r.status_code != 200
    ]
    return [r.json() for r in responses]


async def test_one_chain_fetch_per_ttl_whatever_the_tabs_users_and_processes(tmp_path):
    from tests.support.cluster import running_cluster

    with running_cluster(tmp_path, STREAM_CHAIN_CACHE_TTL=str(TTL)) as cluster:
        control = cluster.sandbox.control()
        users = {
            broker: chain_users(cluster.a, broker, USERS_PER_BROKER, f"cl{broker[:2]}")
            for broker in ("tastytrade", "tradier")
        }
        # each user has a tab open on one process or the other, which owns its stream;
        # the first request asks for QQQ, so that SPY is fetched only by the bursts below
        tabs = []
        for group in users.values():
            for i, u in enumerate(group):
                app = cluster.apps[i % 2]
                tabs.append(await Tab(app, f"sessionid={u['sessionid']}").open())
                async with httpx.AsyncClient(base_url=app.url, timeout=30) as c:
                    c.cookies.set("sessionid", u["sessionid"])
                    answer = await c.get("/api/chain/QQQ/expirations")
                    assert answer.status_code == 200, answer.text
        owners = {cluster.owner_pid(u["user_id"]) for g in users.values() for u in g}
        assert owners == {cluster.a.pid, cluster.b.pid}  # both processes own streams

        # the sandbox lists the same expirations for every equity underlying
        expiration = answer.json()["expirations"][0]["date"]
        path = f"/api/chain/SPY?expiration={expiration}&strikes=40"
        tradier_key = f"SPY:{expiration}"
        assert chain_requests(control, "tradier", tradier_key) == 0
        assert chain_requests(control, "tastytrade", "SPY") == 0
        assert chain_requests(control, "tastytrade", "QQQ") == 1  # one for all its users

        for round_ in (1, 2):
            began = time.monotonic()
            for broker, group in users.items():
                bodies = await burst(cluster, group, path)
                assert {b["broker"] for b in bodies} == {broker}
                assert all(len(b["rows"]) == 40 for b in bodies)
                # one fetch: every answer carries the same structure time
                assert len({b["fetched_at"] for b in bodies}) == 1, broker
            print(
                f"\nround {round_}: {2 * USERS_PER_BROKER * 2 * REQUESTS_PER_PROCESS} "
                f"requests in {time.monotonic() - began:.2f} s"
            )
            assert chain_requests(control, "tradier", tradier_key) == round_
            # tastytrade's nested chain (every expiration) is one fetch per underlying
            assert chain_requests(control, "tastytrade", "SPY") == round_
            if round_ == 1:
                await asyncio.sleep(TTL + 1)
        for tab in tabs:
            await tab.close()
        control.close()
