"""Never twice, across processes (2 daphne + Redis + PostgreSQL + the sandbox): the same
confirm sent five times in parallel to both processes places exactly one order at the
broker, which arrives over the stream as a working order; after a kill -9 of the
stream's owner the confirm once more answers the same ticket, and the broker still holds
exactly one order (docs/streaming-contract.md "Never twice"). Needs the adapters'
`SupportsOrders` (streaming/brokers/*/orders.py)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest

from tests.cluster.conftest import Cluster
from tests.cluster.test_cluster import is_live, live_tab
from tests.support.cluster import TAKEOVER
from tests.support.live import read_json
from tests.support.trading_http import WORKING, Trader, demo_python, enable_demo_trading
from tests.support.wait import poll_until

#: A price nobody else uses: the orders at it are this test's.
PRICE = "1.37"
#: Placed after the confirms: once the stream lists it, it lists every order before it.
MARKER_PRICE = "1.38"
#: A new owner (tests/support/cluster.py's TAKEOVER) and a margin for a loaded 2-core box.
TAKEOVER_WITHIN = TAKEOVER + 15.0


def orders_at(trader: Trader, account: str, price: str) -> list[str]:
    """The ids of the account's working AAPL orders at `price`, as the stream lists them."""
    page = read_json(trader.client, "/api/orders", account=account, status="working", limit="200")
    return [
        str(o["id"])
        for o in page["orders"]
        if o["legs"] and o["legs"][0]["symbol"] == "AAPL" and float(o["price"] or 0) == float(price)
    ]


def settled_orders_at(trader: Trader, account: dict[str, Any], price: str) -> list[str]:
    """The orders at `price` once a marker order placed after them is listed (so any
    second order at `price` would be listed too)."""
    marker = trader.place(trader.order(account, price=MARKER_PRICE))["order_id"]
    poll_until(
        lambda: marker in orders_at(trader, account["number"], MARKER_PRICE),
        within=30,
        what="the marker order in the stream",
    )
    return orders_at(trader, account["number"], price)


def is_order(order_id: str):
    return lambda f: (
        f["type"] == "order"
        and str(f["order"]["id"]) == order_id
        and f["order"]["status"] in WORKING
    )


def bracket(trader: Trader, account: dict[str, Any]) -> dict[str, Any]:
    """A bracket (OTOCO) on the order at PRICE: it works, its exits wait for it."""
    entry = trader.order(account, price=PRICE)
    exit_ = {"legs": [{"symbol": "AAPL", "action": "Sell to Close", "quantity": 1}]}
    return {
        "link": entry.pop("link"),
        "account": entry.pop("account"),
        "complex": "OTOCO",
        "trigger": entry,
        "orders": [
            {**exit_, "order_type": "Limit", "price": "9000.00", "time_in_force": "Day"},
            {**exit_, "order_type": "Stop", "stop_price": "1.00", "time_in_force": "Day"},
        ],
    }


def in_group(trader: Trader, account: str, order_id: str, group: str) -> bool:
    """The stream lists `order_id` as a member of the linked order `group`."""
    page = read_json(trader.client, "/api/orders", account=account, status="working", limit="200")
    return any(
        str(o["id"]) == order_id and o.get("group") and str(o["group"]["id"]) == group
        for o in page["orders"]
    )


@pytest.mark.parametrize(
    ("broker", "linked"),
    [("tastytrade", False), ("tradier", False), ("tastytrade", True)],
    ids=["tastytrade", "tradier", "tastytrade-bracket"],
)
async def test_five_parallel_confirms_and_one_after_a_kill_place_one_order(
    cluster: Cluster, broker: str, linked: bool
):
    """The same for a bracket: one linked order (its entry at PRICE, the one order there,
    a member of the ticket's group) for the five confirms and the one after the kill."""
    run = asyncio.to_thread
    await run(enable_demo_trading, cluster.a)
    uid = int((await run(demo_python, cluster.a, "print(uid)\n")).strip())
    a = Trader(cluster.a)
    b = Trader(cluster.b, httpx.Client(base_url=cluster.b.url, cookies=a.client.cookies))
    demo = cluster.a.cookie_header(a.client)
    tabs = {
        cluster.a.pid: await live_tab(cluster.a, demo),
        cluster.b.pid: await live_tab(cluster.b, demo),
    }
    for tab in tabs.values():
        await tab.wait_for(is_live, within=30)
    account = (await run(a.accounts))[broker]
    body = bracket(a, account) if linked else a.order(account, price=PRICE)
    preview = await run(a.preview, body)
    assert preview.status_code == 200, preview.text
    preview_id = preview.json()["preview"]["id"]
    key = uuid.uuid4().hex

    answers = await asyncio.gather(*(run((a, b)[i % 2].confirm, preview_id, key) for i in range(5)))
    assert sorted(r.status_code for r in answers) == [200, 200, 200, 200, 201], [
        r.text for r in answers
    ]
    tickets = [r.json()["ticket"] for r in answers]
    assert all(t == tickets[0] for t in tickets)
    ticket = tickets[0]
    assert (ticket["id"], ticket["state"]) == (preview_id, "placed")
    if linked:  # the one order at PRICE is the group's entry
        (entry,) = await run(settled_orders_at, a, account, PRICE)
        assert await run(in_group, a, account["number"], entry, ticket["order_id"])
    else:
        entry = ticket["order_id"]
        assert await run(settled_orders_at, a, account, PRICE) == [entry]
    for tab in tabs.values():  # Received/Live over the stream, in both processes
        await tab.wait_for(is_order(entry), within=30)

    owner, survivor = cluster.owner_and_other(uid)
    owner.kill()
    trader = a if survivor is cluster.a else b
    again = await run(trader.confirm, preview_id, key)
    assert (again.status_code, again.json()["ticket"]) == (200, ticket)
    await run(
        poll_until,
        lambda: cluster.lease_holder(uid) == survivor.pid,
        TAKEOVER_WITHIN,
        "the survivor owns the stream",
    )
    assert await run(settled_orders_at, trader, account, PRICE) == [entry]
    await tabs[survivor.pid].close()
