"""Tradier's order entry (SupportsOrders) over httpx against the sandbox's Tradier façade."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator

import pytest
from django.conf import settings

from streaming.brokers.base import StreamConfig
from streaming.brokers.orders.entry import OrderRefused
from streaming.brokers.tradier.adapter import TradierAdapter
from streaming.brokers.tradier.orders import tradier_tag
from tests.support.brokers import TRADIER_FAST
from tests.support.order_entry import (
    CALL_HIGH,
    CALL_LOW,
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

#: Orders are polled every 30 s here: only the wake-up after an order call is fast.
SLOW_POLL = 30.0
#: How soon the order's frame must follow the broker's answer (a poll round trip on
#: loopback is a few ms; the margin is for a loaded 2-core box), well under SLOW_POLL.
KICKED_WITHIN = 1.5


@pytest.fixture
async def linked(broker_at_sandbox) -> AsyncIterator[tuple[TradierAdapter, RecordingSink, str]]:
    """A connected adapter (orders polled only every SLOW_POLL), its sink, its margin account."""
    adapter = TradierAdapter(
        link_id=3,
        access_token=f"tradier-token-{uuid.uuid4().hex[:12]}",
        api_url=settings.TRADIER_API_URL,
        stream_url=settings.TRADIER_STREAM_URL,
        config=StreamConfig(**{**TRADIER_FAST, "order_poll_interval": SLOW_POLL}),
    )
    sink = RecordingSink()
    async with running(adapter, sink):
        await sink.wait_for(lambda: sink.state("account") == "live")
        yield adapter, sink, margin_account(sink)


def order_frames(sink: RecordingSink, order_id: str) -> list[dict]:
    return [p for k, _, _, p in sink.events if k == "order" and str(p["id"]) == order_id]


def test_tags_keep_to_tradiers_alphabet():
    assert tradier_tag("sd-12_ab:c") == "sd-12-ab-c"
    assert len(tradier_tag("x" * 300)) == 255


async def test_preview_is_tradiers_dry_run(linked):
    adapter, _, account = linked
    preview = await adapter.preview_order(limit_buy(account, symbol=CALL_LOW, price="0.50"))
    assert preview.checks == "broker"
    assert preview.cost == 50.0  # 0.50 x 1 contract x 100
    assert preview.fees == 1.0  # the commission of one contract
    assert preview.margin_change is not None
    assert preview.said["order"]["result"] is True
    assert await adapter.working_orders(account) == []  # nothing placed


async def test_place_find_modify_cancel_and_the_frames_follow_at_once(linked):
    adapter, sink, account = linked
    placed = await adapter.place_order(limit_buy(account, client_order_id="sd-ticket-7"))
    answered = time.monotonic()
    assert placed.status == "Received" and placed.said["order"]["status"] == "ok"
    await sink.wait_for(lambda: order_frames(sink, placed.order_id), within=KICKED_WITHIN)
    assert time.monotonic() - answered < KICKED_WITHIN

    found = await adapter.find_order(account, "sd-ticket-7")
    assert found is not None and found.order_id == placed.order_id
    assert found.said["tag"] == "sd-ticket-7"
    assert await adapter.find_order(account, "sd-ticket-8") is None
    assert placed.order_id in await adapter.working_orders(account)

    modified = await adapter.replace_order(placed.order_id, limit_buy(account, price="1.10"))
    assert modified.order_id == placed.order_id  # Tradier modifies in place
    await sink.wait_for(
        lambda: any(p["price"] == 1.1 for p in order_frames(sink, placed.order_id)),
        within=KICKED_WITHIN,
    )

    with pytest.raises(OrderRefused) as refused:
        await adapter.replace_order(placed.order_id, limit_buy(account, quantity=2))
    assert refused.value.code == "unsupported"  # Tradier modifies no quantity

    await adapter.cancel_order(account, placed.order_id)
    assert placed.order_id not in await adapter.working_orders(account)
    await sink.wait_for(
        lambda: order_frames(sink, placed.order_id)[-1]["status"] == "Cancelled",
        within=KICKED_WITHIN,
    )


async def test_unknown_symbol_is_refused(linked):
    adapter, _, account = linked
    with pytest.raises(OrderRefused) as refused:
        await adapter.place_order(limit_buy(account, symbol="NOSUCHTICKER"))
    assert refused.value.code == "unknown_symbol"
    assert refused.value.said["errors"]["error"]


async def test_cancel_of_an_unknown_order_is_not_found(linked):
    adapter, _, account = linked
    with pytest.raises(OrderRefused) as refused:
        await adapter.cancel_order(account, "999999999")
    assert refused.value.code == "not_found"


async def test_market_order(linked):
    adapter, _, account = linked
    order = market_buy(account, 1, "500", "sd-mkt-1")
    placed = await adapter.place_order(order)
    found = await adapter.find_order(account, "sd-mkt-1")
    assert found is not None and found.order_id == placed.order_id
    assert found.said["type"] == "market"


async def test_single_option_order(linked):
    adapter, _, account = linked
    placed = await adapter.place_order(
        limit_buy(account, symbol=CALL_LOW, price="0.05", client_order_id="sd-opt-1")
    )
    found = await adapter.find_order(account, "sd-opt-1")
    assert found is not None and found.order_id == placed.order_id
    assert found.said["option_symbol"] == "SPY261218C00600000"
    assert found.said["side"] == "buy_to_open" and found.said["class"] == "option"


async def test_a_vertical_is_one_multileg_order(linked):
    adapter, _, account = linked
    spread = vertical(account, CALL_LOW, CALL_HIGH, "0.05", client_order_id="sd-vert-1")
    preview = await adapter.preview_order(spread)
    assert preview.checks == "broker" and preview.said["order"]["class"] == "multileg"
    placed = await adapter.place_order(spread)
    found = await adapter.find_order(account, "sd-vert-1")
    assert found is not None and found.order_id == placed.order_id
    assert found.said["class"] == "multileg" and found.said["type"] == "debit"
    await adapter.cancel_order(account, placed.order_id)
    assert placed.order_id not in await adapter.working_orders(account)


async def test_a_credit_multilegs_preview_is_a_credit(linked):
    """Tradier's multileg `order_cost` is unsigned (its `type` says credit or debit): a
    credit vertical's preview is money in, not a debit of the same amount."""
    adapter, _, account = linked
    debit = await adapter.preview_order(vertical(account, CALL_LOW, CALL_HIGH, "0.05"))
    credit = await adapter.preview_order(vertical(account, CALL_HIGH, CALL_LOW, "0.05"))
    assert credit.said["order"]["type"] == "credit", credit.said
    assert (debit.cost, credit.cost) == (5.0, -5.0)


async def test_a_diagonal_says_its_direction_from_the_legs_quotes(linked):
    """Two expirations at two strikes (a roll to another strike): the legs alone do not
    settle debit or credit, so the adapter reads their quotes, as tastytrade's does; it
    was refused ("Tradier needs to be told"), and no roll to a new strike could be sent."""
    adapter, _, account = linked
    later_far, near = ".SPY270115C620", ".SPY261218C600"  # the near call is worth more
    credit = await adapter.preview_order(vertical(account, later_far, near, "1.00"))
    debit = await adapter.preview_order(
        vertical(account, ".SPY270115C590", ".SPY261218C620", "1.00")
    )
    assert (credit.said["order"]["type"], debit.said["order"]["type"]) == ("credit", "debit")
    assert credit.cost is not None and credit.cost < 0 < (debit.cost or 0)


async def test_an_order_call_polls_only_its_own_account_at_once(linked):
    """The poll woken by an order call reads that account's orders, not every account's:
    Tradier's 120 reads a minute are shared with the scheduled polls."""
    adapter, sink, account = linked
    others = [a for a in adapter.account.accounts_polled if a != account]
    assert others, "the sandbox token has more than one account"
    before = dict(adapter.account.accounts_polled)
    placed = await adapter.place_order(limit_buy(account, client_order_id="sd-one-account"))
    await sink.wait_for(lambda: order_frames(sink, placed.order_id), within=KICKED_WITHIN)
    assert adapter.account.accounts_polled[account] == before[account] + 1
    assert all(adapter.account.accounts_polled[a] == before[a] for a in others)
    await adapter.cancel_order(account, placed.order_id)


async def test_stop_and_stop_limit_are_tradiers_stop_and_stop_limit(linked):
    """Tradier's form: `type=stop` with `stop`, `type=stop_limit` with `price` and `stop`;
    its modify sends a new stop; a trailing stop is refused in words."""
    adapter, sink, account = linked
    stop = stop_order(account, "Stop", stop="9000.00", client_order_id="sd-stop-1")
    preview = await adapter.preview_order(stop)
    assert preview.said["order"]["type"] == "stop" and preview.said["order"]["result"] is True
    placed = await adapter.place_order(stop)
    await sink.wait_for(lambda: order_frames(sink, placed.order_id), within=KICKED_WITHIN)
    shown = order_frames(sink, placed.order_id)[-1]
    assert (shown["order_type"], shown["stop_price"], shown["price"]) == ("Stop", 9000.0, None)
    moved = stop_order(account, "Stop", stop="9100.00", client_order_id="sd-stop-1")
    await adapter.replace_order(placed.order_id, moved)
    await sink.wait_for(
        lambda: order_frames(sink, placed.order_id)[-1]["stop_price"] == 9100.0,
        within=KICKED_WITHIN,
    )
    limit = stop_order(account, "Stop Limit", stop="9000.00", price="9001.00")
    placed_limit = await adapter.place_order(limit)
    await sink.wait_for(lambda: order_frames(sink, placed_limit.order_id), within=KICKED_WITHIN)
    shown = order_frames(sink, placed_limit.order_id)[-1]
    assert (shown["order_type"], shown["stop_price"], shown["price"]) == (
        "Stop Limit",
        9000.0,
        9001.0,
    )
    with pytest.raises(OrderRefused) as refused:
        await adapter.place_order(stop_order(account, "Trailing Stop", trail_amount="1.00"))
    assert (refused.value.code, str(refused.value)) == (
        "unsupported",
        "Tradier takes no trailing stop orders; use a Stop.",
    )


async def test_a_bracket_is_one_linked_order_found_and_cancelled_as_one(linked):
    """An OTOCO as Tradier's `class=otoco` form: `preview=true` answers for the entry; the
    linked order is placed once under its tag, found by it, and a member's cancel takes
    the group. Its members reach the stream at once (the poll is woken)."""
    adapter, sink, account = linked
    group = linked_order(account, "OTOCO", client_order_id="sd-bracket-2")
    preview = await adapter.preview_linked(group)
    assert preview.checks == "broker" and preview.cost is not None and preview.cost > 0
    assert preview.said["order"]["class"] == "otoco"
    assert await adapter.working_orders(account) == []  # a preview places nothing
    placed = await adapter.place_linked(group)
    found = await adapter.find_order(account, "sd-bracket-2")
    assert found is not None and found.order_id == placed.order_id
    assert found.said["class"] == "otoco"
    members = [str(m["id"]) for m in found.said["leg"]]
    assert len(members) == 3
    await sink.wait_for(lambda: all(order_frames(sink, m) for m in members), within=KICKED_WITHIN)
    cancelled = await adapter.cancel_order(account, members[0])
    assert sorted(cancelled.with_it) == sorted(members[1:])


async def test_an_oco_and_an_oto(linked):
    adapter, _, account = linked
    oco = await adapter.place_linked(linked_order(account, "OCO", take="9000.00", stop="1.00"))
    oto = await adapter.place_linked(linked_order(account, "OTO"))
    rows = {row["id"]: row for row in await adapter.orders._orders(account)}
    assert rows[int(oco.order_id)]["class"] == "oco"
    assert [m["type"] for m in rows[int(oco.order_id)]["leg"]] == ["limit", "stop"]
    assert rows[int(oto.order_id)]["class"] == "oto"
    assert [m["type"] for m in rows[int(oto.order_id)]["leg"]] == ["limit", "stop"]
