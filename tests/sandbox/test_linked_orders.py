"""The core brokerage's linked orders (sandbox/core/linked.py), without a façade: a
hand-set market, so every trigger, fill and cancel is exact.

How the brokers document them:
- tastytrade: an OTOCO's OCO pair "waits until the trigger fills, then routes"; in an OCO
  "when one order fills, the other order gets cancelled"; every component starts
  `Contingent` (developer.tastytrade.com order-management and order-flow; copies in
  tastytrade/tastytrade-mcp, tastytrade-llms-txt-docs/docs/order-management.md).
- Alpaca: a bracket's exits "activate only after the entry is completely filled"; oco,
  oto (alpacahq/alpaca-docs content/trading/orders.md).
- Tradier: oto, oco, otoco (docs.tradier.com place-oto/oco/otoco-order).
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from sandbox.core.brokerage import Brokerage
from sandbox.core.records import LegRequest, LinkedRequest, OrderRejected, OrderRequest
from tests.support.core_market import Clock, Market


@pytest.fixture
def setup():
    market = Market()
    broker = Brokerage(market, seed=7, clock=Clock())
    margin, ira = broker.open_customer("linked")
    return broker, market, margin, ira


def order(kind: str, action: str, qty: int, symbol: str = "AAPL", **terms) -> OrderRequest:
    return OrderRequest(
        order_type=kind,
        legs=(LegRequest(symbol, action, Decimal(qty), "Equity"),),
        time_in_force="GTC",
        **terms,
    )


def limit(action: str, qty: int, price: str, symbol: str = "AAPL") -> OrderRequest:
    effect = "Debit" if action.startswith("Buy") else "Credit"
    return order("Limit", action, qty, symbol, price=Decimal(price), price_effect=effect)


def stop(action: str, qty: int, trigger: str, symbol: str = "AAPL") -> OrderRequest:
    return order("Stop", action, qty, symbol, stop_trigger=Decimal(trigger))


def bracket(qty: int = 10, entry: str = "200.05") -> LinkedRequest:
    """An OTOCO: buy at a limit, then take profit at 210 or stop the loss at 190."""
    return LinkedRequest(
        "OTOCO",
        limit("Buy to Open", qty, entry),
        (limit("Sell to Close", qty, "210"), stop("Sell to Close", qty, "190")),
    )


def statuses(broker: Brokerage, account: str, group_id: int) -> list[str]:
    return [o.status for o in broker.group(account, group_id)]


def step_at(broker: Brokerage, market: Market, price: float | None = None, times: int = 1):
    if price is not None:
        market.prices["AAPL"] = price
    events = []
    for _ in range(times):
        events += broker.step()
    return events


def test_a_brackets_exits_wait_for_the_entry_then_one_cancels_the_other(setup):
    broker, market, margin, _ = setup
    placed = broker.place_linked(margin, bracket())
    group = placed.group_id
    assert group is not None and placed.kind == "OTOCO"
    assert [(o.group_role, o.status) for o in placed.orders] == [
        ("trigger", "Received"),
        ("oco", "Contingent"),
        ("oco", "Contingent"),
    ]
    assert {o.group_id for o in placed.orders} == {group}
    events = step_at(broker, market, times=2)  # Live, then filled at the ask (≤ 200.05)
    # the fill starts the exits: Received at once, Live within the same step
    assert statuses(broker, margin, group) == ["Filled", "Live", "Live"]
    exits = [o.id for o in placed.orders[1:]]
    orders = [e.record for e in events if e.kind == "Order"]
    assert [(o.id, o.status) for o in orders if o.id in exits] == [
        (exits[0], "Received"),
        (exits[1], "Received"),
        (exits[0], "Live"),
        (exits[1], "Live"),
    ]
    step_at(broker, market, 205.0, times=3)  # between the exits: nothing
    assert statuses(broker, margin, group) == ["Filled", "Live", "Live"]

    events = step_at(broker, market, 211.0)
    assert statuses(broker, margin, group) == ["Filled", "Filled", "Cancelled"]
    take_profit, stop_loss = broker.group(margin, group)[1:]
    assert take_profit.legs[0].fills[0].price == Decimal("210.99")  # the bid, ≥ its limit
    assert not stop_loss.legs[0].fills
    order_events = [(e.record.id, e.record.status) for e in events if e.kind == "Order"]
    assert order_events == [(take_profit.id, "Filled"), (stop_loss.id, "Cancelled")]


def test_the_stop_loss_side_fills_and_cancels_the_take_profit(setup):
    broker, market, margin, _ = setup
    group = broker.place_linked(margin, bracket()).group_id
    step_at(broker, market, times=3)
    step_at(broker, market, 189.5)
    assert statuses(broker, margin, group) == ["Filled", "Cancelled", "Filled"]


def test_exits_wait_until_the_entry_has_filled_completely(setup):
    broker, market, margin, _ = setup
    # a big limit order fills in 2-3 parts (sandbox/core/matching.py plan_chunks)
    group = broker.place_linked(margin, bracket(qty=300, entry="200.05")).group_id
    step_at(broker, market, times=2)  # Live, then its first part
    entry = broker.group(margin, group)[0]
    assert entry.status == "Live" and len(entry.legs[0].fills) > 0
    assert statuses(broker, margin, group)[1:] == ["Contingent", "Contingent"]
    step_at(broker, market, times=3)
    assert statuses(broker, margin, group)[0] == "Filled"
    assert statuses(broker, margin, group)[1:] != ["Contingent", "Contingent"]


def test_an_oco_protects_a_held_position_in_a_cash_account(setup):
    """Both sells of an OCO cover the same shares: a cash account counts them once, so the
    pair is accepted, and one more sell of those shares is still refused."""
    broker, market, _, ira = setup
    held = next(p for p in broker.positions(ira) if p.quantity > 0)
    qty, symbol = int(held.quantity), held.symbol
    price = market.prices[symbol]
    pair = LinkedRequest(
        "OCO",
        None,
        (
            limit("Sell to Close", qty, f"{price * 1.1:.2f}", symbol),
            stop("Sell to Close", qty, f"{price * 0.9:.2f}", symbol),
        ),
    )
    group = broker.place_linked(ira, pair).group_id
    with pytest.raises(OrderRejected) as refused:
        broker.place_order(ira, limit("Sell to Close", 1, f"{price:.2f}", symbol))
    assert refused.value.code == "short_not_allowed"
    step_at(broker, market, times=2)
    market.prices[symbol] = price * 0.85  # through the stop
    broker.step()
    assert statuses(broker, ira, group) == ["Cancelled", "Filled"]


def test_an_oto_routes_its_order_once_the_trigger_fills(setup):
    broker, market, margin, _ = setup
    oto = LinkedRequest(
        "OTO", limit("Buy to Open", 5, "200.05"), (limit("Sell to Close", 5, "230"),)
    )
    group = broker.place_linked(margin, oto).group_id
    assert [o.group_role for o in broker.group(margin, group)] == ["trigger", "member"]
    assert statuses(broker, margin, group) == ["Received", "Contingent"]
    step_at(broker, market, times=3)
    assert statuses(broker, margin, group) == ["Filled", "Live"]


def test_the_group_is_cancelled_as_one_and_its_members_not_on_their_own(setup):
    broker, _, margin, _ = setup
    placed = broker.place_linked(margin, bracket(entry="150"))  # the entry waits
    group = placed.group_id
    entry, take_profit, _ = placed.orders
    for act in (
        lambda: broker.cancel_order(margin, take_profit.id),
        lambda: broker.replace_order(margin, entry.id, limit("Buy to Open", 10, "151")),
        lambda: broker.modify_order(margin, entry.id, price=Decimal("151")),
    ):
        with pytest.raises(OrderRejected) as refused:
            act()
        assert refused.value.code == "order_linked"
        assert f"OTOCO order {group}" in str(refused.value)
    cancelled = broker.cancel_group(margin, group)
    assert [o.status for o in cancelled] == ["Cancelled"] * 3
    with pytest.raises(OrderRejected) as again:
        broker.cancel_group(margin, group)
    assert again.value.code == "order_not_cancellable"
    with pytest.raises(OrderRejected) as unknown:
        broker.cancel_group(margin, group + 999)
    assert unknown.value.code == "order_not_found"


def test_a_dry_run_places_nothing(setup):
    broker, _, margin, _ = setup
    before = len(broker.live_orders(margin))
    dry = broker.place_linked(margin, bracket(), dry_run=True)
    assert dry.group_id is None and all(o.id is None for o in dry.orders)
    assert dry.preview.commission >= 0
    assert len(broker.live_orders(margin)) == before


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        (
            LinkedRequest(
                "OCO", limit("Buy to Open", 1, "1"), (limit("Sell to Close", 1, "2"),) * 2
            ),
            "has no trigger",
        ),
        (LinkedRequest("OTOCO", None, (limit("Sell to Close", 1, "2"),) * 2), "needs a trigger"),
        (LinkedRequest("OTO", limit("Buy to Open", 1, "1"), ()), "links 1 to 3 orders"),
        (LinkedRequest("OCO", None, (limit("Sell to Close", 1, "2"),) * 3), "links 2 orders"),
        (LinkedRequest("BLAST", None, ()), "Unknown linked order type"),
    ],
)
def test_a_group_of_the_wrong_shape_is_refused_in_words(setup, request_, message):
    broker, _, margin, _ = setup
    with pytest.raises(OrderRejected, match=message) as refused:
        broker.place_linked(margin, request_)
    assert refused.value.code == "invalid_complex_order"


def test_a_partial_fill_of_one_exit_shrinks_the_other_to_what_is_left(setup):
    """alpaca-docs content/trading/orders.md ("Bracket Orders", OCO): when the take profit
    fills in part, the stop loss is reduced to the quantity left, so the pair never sells
    more than the entry bought — the stop then sells only what is still held."""
    broker, market, margin, _ = setup
    held_before = broker_position(broker, margin)
    placed = broker.place_linked(margin, bracket(qty=300))
    group = placed.group_id
    assert group is not None
    step_at(broker, market, 200.0, times=3)  # Received → Live → the entry fills
    assert statuses(broker, margin, group) == ["Filled", "Live", "Live"]
    step_at(broker, market, 211.0)  # the take profit fills its first part
    _, take_profit, stop_loss = broker.group(margin, group)
    sold = take_profit.legs[0].quantity - take_profit.legs[0].remaining_quantity
    assert 0 < sold < 300 and take_profit.status == "Live"
    assert (stop_loss.size, stop_loss.legs[0].quantity) == (300 - sold, 300 - sold)
    step_at(broker, market, 189.0, times=2)  # through the stop: it sells what is left
    assert statuses(broker, margin, group) == ["Filled", "Cancelled", "Filled"]
    assert broker_position(broker, margin) == held_before  # sold all it bought, no more


def broker_position(broker: Brokerage, account: str) -> Decimal:
    found = [p.quantity for p in broker.positions(account) if p.symbol == "AAPL"]
    return found[0] if found else Decimal(0)
