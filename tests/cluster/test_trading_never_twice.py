"""Never twice, across processes (2 daphne + Redis + PostgreSQL + the sandbox): the same
confirm sent five times in parallel to both processes places exactly one order at the
broker; after a kill -9 of the stream's owner the confirm once more answers the same
ticket, and the broker still holds exactly one order (docs/streaming-contract.md "Never
twice"). Needs the adapters' `SupportsOrders` (streaming/brokers/*_orders.py)."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.cluster.conftest import Cluster
from tests.support.cluster import FAST_CLUSTER
from tests.support.live import read_json
from tests.support.trading_http import WORKING, Trader, demo_python, enable_demo_trading
from tests.support.wait import poll_until

#: A price nobody else uses: the orders at it are this test's.
PRICE = "1.37"
#: Placed after the confirms: once the stream lists it, it lists every order before it.
MARKER_PRICE = "1.38"
#: A new owner: the dead one's lease runs out, the survivor takes it, the handover delay,
#: and a margin for a loaded 2-core box.
TAKEOVER_WITHIN = (
    sum(float(FAST_CLUSTER[k]) for k in ("STREAM_LEASE_TTL", "STREAM_LEASE_RENEW"))
    + float(FAST_CLUSTER["STREAM_HANDOVER_DELAY"])
    + 15.0
)


def orders_at(trader: Trader, account: str, price: str) -> list[str]:
    """The ids of the account's working orders at `price` (AAPL), as the stream lists them."""
    page = read_json(trader.client, "/api/orders", account=account, status="working", limit="200")
    return [
        str(o["id"])
        for o in page["orders"]
        if o["legs"] and o["legs"][0]["symbol"] == "AAPL" and float(o["price"] or 0) == float(price)
    ]


def settled_orders_at(trader: Trader, account: dict, price: str) -> list[str]:
    """The orders at `price` once a marker order placed after them is listed (so any
    second order at `price` would be listed too)."""
    marker = trader.place(trader.order(account, price=MARKER_PRICE))["order_id"]
    poll_until(
        lambda: marker in orders_at(trader, account["number"], MARKER_PRICE),
        within=30,
        what="the marker order in the stream",
    )
    return orders_at(trader, account["number"], price)


@pytest.mark.parametrize("broker", ["tastytrade", "tradier"])
def test_five_parallel_confirms_and_one_after_a_kill_place_one_order(cluster: Cluster, broker):
    enable_demo_trading(cluster.a)
    uid = int(demo_python(cluster.a, "print(uid)\n").strip())
    a = Trader(cluster.a)
    b = Trader(cluster.b, httpx.Client(base_url=cluster.b.url, cookies=a.client.cookies))
    account = a.accounts()[broker]
    preview = a.preview(a.order(account, price=PRICE))
    assert preview.status_code == 200, preview.text
    preview_id = preview.json()["preview"]["id"]
    key = uuid.uuid4().hex

    with ThreadPoolExecutor(max_workers=5) as pool:
        answers = list(pool.map(lambda i: (a, b)[i % 2].confirm(preview_id, key), range(5)))
    assert sorted(r.status_code for r in answers) == [200, 200, 200, 200, 201], [
        r.text for r in answers
    ]
    tickets = [r.json()["ticket"] for r in answers]
    assert all(t == tickets[0] for t in tickets)
    ticket = tickets[0]
    assert (ticket["id"], ticket["state"]) == (preview_id, "placed")
    a.wait_status(account["number"], ticket["order_id"], WORKING)
    assert settled_orders_at(a, account, PRICE) == [ticket["order_id"]]

    owner, survivor = cluster.owner_and_other(uid)
    owner.kill()
    trader = a if survivor is cluster.a else b
    again = trader.confirm(preview_id, key)
    assert (again.status_code, again.json()["ticket"]) == (200, ticket)
    poll_until(
        lambda: cluster.owner_pid(uid) == survivor.pid,
        within=TAKEOVER_WITHIN,
        what="the survivor owns the stream",
    )
    assert settled_orders_at(trader, account, PRICE) == [ticket["order_id"]]
