"""The core brokerage's trailing stops, without a façade (no sockets): a hand-set market
and a hand-advanced clock, so every high-water mark and stop is exact.

Alpaca defines the order (alpacahq/alpaca-docs content/trading/orders.md, "Trailing Stop
Orders"): it keeps "the highest (for sell, lowest for buy) prices (called high water mark,
or hwm) since the order was submitted"; `trail_price` 2.00 on a sell makes the stop
"always `hwm - 2.00`", `trail_percent` 1.0 "always `hwm * 0.99`"; "once the stop price is
triggered, the order turns into a market order". The sandbox's mark is the quote's mid.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from sandbox.core.brokerage import Brokerage
from sandbox.core.matching import trailing_stop
from sandbox.core.records import LegRequest, OrderRejected, OrderRequest
from tests.support.core_market import Clock, Market


@pytest.fixture
def setup():
    market = Market()
    broker = Brokerage(market, seed=7, clock=Clock())
    margin, _ira = broker.open_customer("trail")
    return broker, market, margin


def trailing(action: str = "Sell to Close", qty: int = 1, **trail) -> OrderRequest:
    return OrderRequest(
        order_type="Trailing Stop",
        legs=(LegRequest("AAPL", action, Decimal(qty), "Equity"),),
        time_in_force="GTC",
        **trail,
    )


def move(broker: Brokerage, market: Market, price: float, key: tuple[str, int | None]):
    """Set AAPL's mid, step once, and read the order back."""
    market.prices["AAPL"] = price
    broker.step()
    assert key[1] is not None
    found = broker.order(key[0], key[1])
    assert found is not None
    return found


def test_the_stop_is_the_trail_off_the_high_water_mark_to_the_cent():
    """orders.md's two examples, a sell and its mirror (a buy trails the lowest price)."""
    hwm = Decimal("200.1234")
    assert trailing_stop(-1, hwm, Decimal("2.00"), None) == Decimal("198.12")
    assert trailing_stop(-1, hwm, None, Decimal("1.0")) == Decimal("198.12")  # 198.122166
    assert trailing_stop(+1, hwm, Decimal("2.00"), None) == Decimal("202.12")
    assert trailing_stop(+1, Decimal("100"), None, Decimal("2.5")) == Decimal("102.50")


def test_a_sell_trailing_stop_follows_a_rising_mark_then_fills_when_it_falls_through(setup):
    broker, market, margin = setup
    placed = broker.place_order(margin, trailing(trail_price=Decimal("5"))).order
    assert (placed.order_type, placed.hwm, placed.stop_trigger) == (
        "Trailing Stop",
        Decimal("200"),
        Decimal("195"),
    )
    assert (placed.trail_price, placed.trail_percent) == (Decimal("5"), None)
    key = (margin, placed.id)
    assert move(broker, market, 210.0, key).hwm == Decimal("210")  # Received -> Live
    risen = move(broker, market, 220.0, key)
    assert (risen.hwm, risen.stop_trigger, risen.status) == (Decimal("220"), Decimal("215"), "Live")
    dipped = move(broker, market, 216.0, key)  # down, but above the stop: it waits
    assert (dipped.hwm, dipped.stop_trigger, dipped.status) == (
        Decimal("220"),
        Decimal("215"),
        "Live",
    )
    assert not dipped.legs[0].fills
    filled = move(broker, market, 214.0, key)
    assert filled.status == "Filled" and filled.triggered_at is not None
    assert filled.legs[0].fills[0].price == Decimal("213.99")  # the bid: a market order
    assert (filled.hwm, filled.stop_trigger) == (Decimal("220"), Decimal("215"))


def test_a_buy_trailing_percent_follows_a_falling_mark(setup):
    broker, market, margin = setup
    placed = broker.place_order(margin, trailing("Buy to Open", trail_percent=Decimal("10"))).order
    assert placed.stop_trigger == Decimal("220")
    key = (margin, placed.id)
    move(broker, market, 200.0, key)
    fallen = move(broker, market, 150.0, key)
    assert (fallen.hwm, fallen.stop_trigger) == (Decimal("150"), Decimal("165"))
    assert move(broker, market, 164.0, key).status == "Live"
    assert move(broker, market, 165.5, key).status == "Filled"


@pytest.mark.parametrize(
    ("extra", "code"),
    [
        ({}, "trail_required"),
        ({"trail_price": Decimal("1"), "trail_percent": Decimal("1")}, "invalid_trail"),
        ({"trail_price": Decimal("0")}, "invalid_trail"),
        ({"trail_percent": Decimal("-2")}, "invalid_trail"),
        ({"trail_price": Decimal("1"), "stop_trigger": Decimal("190")}, "invalid_stop_trigger"),
    ],
)
def test_a_trailing_stop_needs_exactly_one_positive_trail(setup, extra, code):
    broker, _, margin = setup
    with pytest.raises(OrderRejected) as err:
        broker.place_order(margin, trailing(**extra))
    assert err.value.code == code


def test_no_other_type_takes_a_trail(setup):
    broker, _, margin = setup
    request = OrderRequest(
        order_type="Market",
        legs=(LegRequest("AAPL", "Buy to Open", Decimal(1), "Equity"),),
        trail_price=Decimal("1"),
    )
    with pytest.raises(OrderRejected) as err:
        broker.place_order(margin, request)
    assert err.value.code == "invalid_trail"
