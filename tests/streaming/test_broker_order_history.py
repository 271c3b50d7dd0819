"""Each broker's order history (streaming/brokers/<broker>/history.py) against the sandbox over
real sockets — tastytrade through the unmodified SDK, Tradier and Alpaca (Broker API and
Trading API) over httpx — compared with what the same broker's stream adapter reports
for the same orders: one order is one row whichever way it was read (same status
vocabulary, legs, fill ids, prices and times), and the cursor pages exactly."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from streaming.brokers import catalog
from streaming.brokers.base import MemoryCheckpoint, StreamConfig
from streaming.brokers.catalog import order_history
from streaming.brokers.orders.history import HistoryLink
from streaming.brokers.values import order_status
from streaming.instruments.naming import name_order
from streaming.order_list import order_key
from tests.support.brokers import ALPACA_FAST, TASTYTRADE_FAST, TRADIER_FAST
from tests.support.orders import market_buy
from tests.support.recording import RecordingSink, running

#: The sandbox steps orders every second; an adapter reports within its poll (Tradier
#: 0.2 s here) or at once (streams); the margin is for a loaded box.
WITHIN = 20.0

BROKERS = {
    "tastytrade": (
        "broker",
        lambda u: {"provider_secret": "s", "refresh_token": f"hist-refresh-{u}"},
        TASTYTRADE_FAST,
    ),
    "tradier": ("broker", lambda u: {"access_token": f"hist-token-{u}"}, TRADIER_FAST),
    "alpaca": ("broker", lambda u: {"key_id": f"hist-key-{u}", "secret_key": "x"}, ALPACA_FAST),
    "alpaca-paper": (
        "paper",
        lambda u: {"key_id": f"hist-paper-{u}", "secret_key": "x"},
        ALPACA_FAST,
    ),
}


def limit_buy(symbol: str, price: float) -> dict[str, Any]:
    return {**market_buy(symbol, 1), "order-type": "Limit", "price": price, "price-effect": "Debit"}


@pytest.fixture
def alpaca_paper_at_sandbox(settings, broker_at_sandbox):
    settings.ALPACA_TRADING_PAPER_URL = f"{broker_at_sandbox.url}/alpaca"
    return broker_at_sandbox


@pytest.mark.parametrize("name", list(BROKERS))
async def test_history_is_the_streams_copy_and_pages_by_the_order_key(
    name, alpaca_paper_at_sandbox, control
):
    api, secrets_of, fast = BROKERS[name]
    broker = name.split("-")[0]
    secrets = secrets_of(uuid.uuid4().hex[:10])
    link = HistoryLink(7, broker, f"{name} test", secrets, api)
    adapter = catalog.make_adapter(
        link_id=7,
        broker=broker,
        credentials=secrets,
        account_numbers=[],
        config=StreamConfig(**fast),
        checkpoint=MemoryCheckpoint(),
        alpaca_api=api,
    )
    sink = RecordingSink()
    async with running(adapter, sink):
        await sink.wait_for(lambda: sink.state("account") == "live", within=WITHIN)
        account = sorted({a for k, _, a, _ in sink.events if k == "balance"})[0]
        for quantity in (1, 2, 3):
            control.place_order(account, market_buy("KO", quantity))
        control.place_order(account, limit_buy("SPY", 1.05))

        def settled() -> bool:
            streamed = {
                str(p["id"]): p for k, _, a, p in sink.events if k == "order" and a == account
            }
            statuses = [order_status(p["status"]) for p in streamed.values()]
            return len(streamed) == 4 and sorted(statuses) == ["Filled", "Filled", "Filled", "Live"]

        await sink.wait_for(settled, within=WITHIN)
        streamed = {str(p["id"]): p for k, _, a, p in sink.events if k == "order" and a == account}

        page = await order_history(link, account, before=None, size=10)
    assert page.complete and len(page.orders) == 4
    for o in page.orders:
        assert (o["link"], o["account"], o["broker"]) == (7, account, broker)
        # the stream's copy, as UserState stores it (named by its instruments on arrival,
        # statuses in the contract's words)
        named = name_order(streamed[str(o["id"])], broker)
        mine = {**named, "status": order_status(named["status"])}
        history = {k: v for k, v in o.items() if k not in ("link", "account", "broker")}
        assert history["received_at"] and history["received_at"] == mine["received_at"]
        if broker == "alpaca":
            # Alpaca moves `updated_at` for changes it sends no trade event for (accepted ->
            # new): REST may be newer than the last event; the rest is the same order
            assert history.pop("updated_at") >= mine.pop("updated_at")
        assert history == mine
    assert [order_key(o) for o in page.orders] == sorted(
        (order_key(o) for o in page.orders), reverse=True
    )
    filled = [o for o in page.orders if o["status"] == "Filled"]
    assert sorted(f["quantity"] for o in filled for f in o["legs"][0]["fills"]) == [1, 2, 3]
    assert all(f["price"] > 0 and f["at"] for o in filled for f in o["legs"][0]["fills"])

    # two at a time: not complete, then the rest strictly older than the cursor
    first = await order_history(link, account, before=None, size=2)
    assert not first.complete and first.orders == page.orders[:2]
    rest = await order_history(link, account, before=order_key(first.orders[-1]), size=10)
    assert rest.complete and rest.orders == page.orders[2:]
    assert (await order_history(link, account, before=(1, 0, "0"), size=10)).orders == []
