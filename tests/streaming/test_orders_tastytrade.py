"""tastytrade's order entry (SupportsOrders) through the real SDK against the sandbox."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import cast

import pytest
from tastytrade import Session

from sandbox.core.config import SandboxConfig
from streaming.brokers.orders.entry import OrderRefused
from streaming.brokers.tastytrade.adapter import StreamConfig, TastytradeAdapter
from streaming.brokers.tastytrade.connection import Connection
from streaming.brokers.tastytrade.orders import TastytradeOrders
from tests.support.brokers import TASTYTRADE_FAST
from tests.support.order_entry import (
    CALL_HIGH,
    CALL_LOW,
    dollars_of,
    limit_buy,
    margin_account,
    market_buy,
    stop_order,
    vertical,
)
from tests.support.order_entry import (
    linked as linked_order,
)
from tests.support.recording import RecordingSink, running
from tests.support.sdk import SECRET


@pytest.fixture
async def connected(
    broker_at_sandbox, refresh_token
) -> AsyncIterator[tuple[TastytradeAdapter, str, RecordingSink]]:
    """A connected adapter (orders go over its session), its margin account, and what its
    stream has sent."""
    adapter = TastytradeAdapter(
        link_id=1,
        provider_secret=SECRET,
        refresh_token=refresh_token,
        config=StreamConfig(**TASTYTRADE_FAST),
    )
    sink = RecordingSink()
    async with running(adapter, sink):
        await sink.wait_for(lambda: sink.state("account") == "live")
        yield adapter, margin_account(sink), sink


@pytest.fixture
def linked(connected) -> tuple[TastytradeAdapter, str]:
    """A connected adapter and its margin account."""
    adapter, account, _ = connected
    return adapter, account


def streamed_balance(sink: RecordingSink, account: str) -> dict:
    """The account's newest balance as the stream sent it (what its card shows)."""
    return [p for k, _, a, p in sink.events if k == "balance" and a == account][-1]


#: The market stands still: the balance the stream sent is the one the broker previews from.
STILL = [SandboxConfig(tick_rate=0)]


@pytest.mark.parametrize("sandbox_config", STILL)
async def test_the_preview_says_the_buying_power_of_the_orders_kind(connected, sandbox_config):
    """tastytrade's dry run answers in option (derivative) buying power; a stock order's
    preview says the stock (equity) buying power the account card shows, and what the order
    leaves of it (the dry run's change at the account's own ratio of stock to option buying
    power: 2 in a Reg T margin account); an option order's, the option buying power."""
    adapter, account, sink = connected
    balance = streamed_balance(sink, account)
    equity, derivative = balance["equity_buying_power"], balance["derivative_buying_power"]
    assert equity == 2 * derivative  # Reg T: the two kinds differ, so a mix-up shows

    stock = await adapter.preview_order(limit_buy(account, "SPY", price="500.00", quantity=10))
    bpe = stock.said["buying-power-effect"]
    change = float(bpe["change-in-buying-power"])  # signed by the SDK: a Debit negative
    assert change < 0  # the shares take buying power
    assert stock.buying_power_before == equity
    assert stock.buying_power_kind == "equity"
    assert stock.buying_power_after == pytest.approx(equity + 2 * change, abs=0.01)

    option = await adapter.preview_order(limit_buy(account, symbol=CALL_LOW, price="0.05"))
    assert option.buying_power_before == derivative
    assert option.buying_power_kind == "derivative"
    bpe = option.said["buying-power-effect"]
    assert option.buying_power_after == float(bpe["new-buying-power"])


async def test_preview_is_the_brokers_dry_run(linked):
    adapter, account = linked
    preview = await adapter.preview_order(limit_buy(account, quantity=2))
    assert preview.checks == "broker"
    assert preview.cost == 2.0  # 1.00 x 2 shares, a debit
    assert preview.fees is not None and preview.fees >= 0
    # the sandbox marks the fill at the quote: a buy far under it raises buying power
    assert preview.buying_power_before > 0 and preview.buying_power_after > 0
    assert preview.buying_power_kind == "equity"  # a stock order's (the test below)
    assert preview.margin_change is not None
    assert preview.said["order"]["price"] == "-1.00"  # the SDK signs a debit negative
    assert await adapter.working_orders(account) == []  # nothing placed


async def test_place_find_replace_cancel(linked):
    adapter, account = linked
    placed = await adapter.place_order(limit_buy(account, client_order_id="sd-ticket-41"))
    assert placed.status == "Received"
    found = await adapter.find_order(account, "sd-ticket-41")
    assert found is not None and found.order_id == placed.order_id
    assert await adapter.find_order(account, "sd-ticket-404") is None
    assert placed.order_id in await adapter.working_orders(account)

    replaced = await adapter.replace_order(
        placed.order_id, limit_buy(account, price="1.05", client_order_id="sd-ticket-41")
    )
    assert replaced.order_id != placed.order_id
    assert replaced.said["price"] == "-1.05"
    working = await adapter.working_orders(account)
    assert replaced.order_id in working and placed.order_id not in working

    await adapter.cancel_order(account, replaced.order_id)
    assert replaced.order_id not in await adapter.working_orders(account)


async def test_unknown_symbol_is_refused(linked):
    adapter, account = linked
    with pytest.raises(OrderRefused) as refused:
        await adapter.preview_order(limit_buy(account, symbol="NOSUCHTICKER"))
    assert refused.value.code == "unknown_symbol"
    assert refused.value.said["error"]["errors"][0]["code"] == "invalid_symbol"


async def test_market_order(linked):
    adapter, account = linked
    order = market_buy(account, 1, "500", "sd-market-1")
    preview = await adapter.preview_order(order)
    assert preview.cost == 500.0
    placed = await adapter.place_order(order)
    assert placed.said["order-type"] == "Market"
    assert (await adapter.find_order(account, "sd-market-1")).order_id == placed.order_id


async def test_single_option_order(linked):
    adapter, account = linked
    order = limit_buy(account, symbol=CALL_LOW, price="0.05")
    preview = await adapter.preview_order(order)
    assert preview.cost == 5.0  # 0.05 x 1 contract x 100
    placed = await adapter.place_order(order)
    assert placed.said["legs"][0]["symbol"] == "SPY   261218C00600000"
    assert placed.said["legs"][0]["instrument-type"] == "Equity Option"


async def test_vertical_debit_spread(linked):
    """Buy the lower call, sell the higher: the buy is worth more, so a debit."""
    adapter, account = linked
    order = vertical(account, CALL_LOW, CALL_HIGH, "0.10", time_in_force="GTC")
    preview = await adapter.preview_order(order)
    assert preview.said["order"]["price"] == "-0.10"  # a debit
    assert preview.cost == 10.0
    placed = await adapter.place_order(order)
    assert len(placed.said["legs"]) == 2 and placed.said["price"] == "-0.10"
    assert placed.said["time-in-force"] == "GTC"
    assert placed.order_id in await adapter.working_orders(account)


async def test_vertical_credit_spread_from_the_quotes(linked):
    """Sell the lower call, buy the higher: one buy and one sell, yet a credit, because the
    call sold is worth more (read from tastytrade's market data)."""
    adapter, account = linked
    preview = await adapter.preview_order(vertical(account, CALL_HIGH, CALL_LOW, "50.00"))
    assert preview.said["order"]["price"] == "50.00"  # a credit: unsigned
    assert preview.cost == -5000.0  # received


async def test_stop_and_stop_limit_are_armed_at_their_trigger(linked):
    """A buy stop far above the market and a buy stop limit: the dry run prices the stop
    at its trigger, and tastytrade holds each with its `stop-trigger` (and limit)."""
    adapter, account = linked
    stop = stop_order(account, "Stop", stop="9000.00")
    preview = await adapter.preview_order(stop)
    assert preview.checks == "broker" and preview.cost == 9000.0  # a debit at the trigger
    assert preview.said["order"]["stop-trigger"] == "9000.00"
    placed = await adapter.place_order(stop)
    assert (placed.said["order-type"], placed.said["stop-trigger"]) == ("Stop", "9000.00")
    stop_limit = stop_order(account, "Stop Limit", stop="9000.00", price="9001.00")
    placed_limit = await adapter.place_order(stop_limit)
    said = placed_limit.said
    assert (said["order-type"], said["stop-trigger"], said["price"]) == (
        "Stop Limit",
        "9000.00",
        "-9001.00",
    )
    working = await adapter.working_orders(account)
    assert {placed.order_id, placed_limit.order_id} <= set(working)


async def test_a_dollar_amount_goes_as_a_notional_market_order_and_its_refusal_is_said(linked):
    """tastytrade takes a dollar amount (`Notional Market`, `value`) of the stocks it marks
    fractional-quantity eligible; the sandbox marks none, so its dry run refuses SPY, in
    tastytrade's words, and nothing is placed."""
    adapter, account = linked
    with pytest.raises(OrderRefused) as refused:
        await adapter.preview_order(dollars_of(account, "25.00"))
    assert refused.value.code == "rejected"
    assert str(refused.value) == (
        "tastytrade refused the order: A Notional Market order trades a cryptocurrency "
        "here (no equity is fractional-quantity eligible)."
    )
    assert await adapter.working_orders(account) == []


async def test_a_trailing_stop_is_refused_in_words(linked):
    adapter, account = linked
    with pytest.raises(OrderRefused) as refused:
        await adapter.preview_order(stop_order(account, "Trailing Stop", trail_amount="1.00"))
    assert (refused.value.code, str(refused.value)) == (
        "unsupported",
        "tastytrade takes no trailing stops; use a Stop.",
    )


async def test_a_bracket_is_one_complex_order_found_and_cancelled_as_one(linked):
    """An OTOCO through the SDK's complex orders: the dry run answers for the entry, the
    group is placed once under its tag, found by it, and a member's cancel takes the
    group."""
    adapter, account = linked
    group = linked_order(account, "OTOCO", client_order_id="sd-bracket-1")
    preview = await adapter.preview_linked(group)
    assert preview.checks == "broker" and preview.cost == 1.0  # the entry: 1.00 x 1, a debit
    assert await adapter.working_orders(account) == []  # a dry run places nothing
    placed = await adapter.place_linked(group)
    assert placed.said["type"] == "OTOCO"
    members = [placed.said["trigger-order"], *placed.said["orders"]]
    assert [m["order-type"] for m in members] == ["Limit", "Limit", "Stop"]
    assert {m["external-identifier"] for m in members} == {"sd-bracket-1"}
    found = await adapter.find_order(account, "sd-bracket-1")
    assert found is not None and found.order_id == placed.order_id
    ids = [str(m["id"]) for m in members]
    assert set(ids) <= set(await adapter.working_orders(account))
    cancelled = await adapter.cancel_order(account, ids[0])
    assert sorted(cancelled.with_it) == sorted(ids[1:])


async def test_an_oco_and_an_oto(linked):
    adapter, account = linked
    oco = await adapter.place_linked(linked_order(account, "OCO", take="9000.00", stop="1.00"))
    assert oco.said["type"] == "OCO"
    assert [m["order-type"] for m in oco.said["orders"]] == ["Limit", "Stop"]
    oto = await adapter.place_linked(linked_order(account, "OTO"))
    assert oto.said["type"] == "OTO"
    assert oto.said["trigger-order"]["order-type"] == "Limit"
    assert [m["order-type"] for m in oto.said["orders"]] == ["Stop"]


async def test_an_order_waits_for_the_links_session_not_for_its_market_data():
    """Found by the API fuzz's sibling (tests/e2e/test_instrument_orders.py, once an owner
    here answers in time): with the market data down and the session up, a preview waited
    the whole 30 s for DXLink, so the web side's 15 s gave up (504) on an order the REST
    session could have dry-run at once. Order entry needs the session only."""
    connection = Connection(1)
    connection.session = cast(Session, object())  # the link holds its session; DXLink is down
    orders = TastytradeOrders(connection, wants=lambda account: True)
    async with asyncio.timeout(2):  # at once, with a margin for a loaded box
        assert await orders._order_session("5WT00001") is connection.session
