"""Unit tests for the sandbox brokerage and its tastytrade rendering (no DB, no sockets).

The brokerage hands out typed records; the tests read it through `WireBroker`, which renders
every record with the tastytrade façade's `record_wire.py` and places orders from the SDK's JSON
through `tastytrade/orders.py`, exactly as the REST routes and account streamer do. Every
dict is parsed by the real tastytrade SDK models: a push that fails validation would kill a
client's account stream, so validation here is the contract.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from tastytrade.account import Account, AccountBalance, CurrentPosition
from tastytrade.instruments import Option
from tastytrade.order import (
    PlacedLimitOrder,
    PlacedOrder,
    PlacedOrderResponse,
    UnplacedOrder,
)

from sandbox.core import demo_orders, records
from sandbox.core.brokerage import Brokerage
from sandbox.core.instruments import occ_to_streamer
from sandbox.core.records import AccountEvent, OrderRejected
from sandbox.tastytrade import record_wire, wire
from sandbox.tastytrade.orders import order_request

T0 = datetime(2025, 1, 2, 15, 4, 5, tzinfo=UTC).timestamp()

BASE_PRICES = {
    "SPY": 590.0,
    "QQQ": 510.0,
    "AAPL": 243.0,
    "MSFT": 420.0,
    "TSLA": 400.0,
    "NVDA": 140.0,
    "AMD": 120.0,
    "META": 600.0,
    "VTI": 290.0,
    "VOO": 540.0,
    "SCHD": 28.0,
    "VXUS": 60.0,
    "BND": 72.0,
}


class FakeMarket:
    """Prices the test controls: equities from a table, any option symbol at 5.00."""

    def __init__(self) -> None:
        self.prices: dict[str, float] = dict(BASE_PRICES)

    def ensure(self, symbol: str) -> bool:
        if symbol in self.prices:
            return True
        if symbol.startswith("."):
            self.prices[symbol] = 5.0
            return True
        return False

    def mid(self, symbol: str) -> float:
        return self.prices[symbol]

    def last(self, symbol: str) -> float:
        return self.prices[symbol]

    def quote(self, symbol: str) -> dict:
        half = 0.05 if symbol.startswith(".") else 0.01
        mid = self.prices[symbol]
        return {"bidPrice": round(mid - half, 2), "askPrice": round(mid + half, 2)}

    def prev_close(self, symbol: str) -> float:
        """Yesterday's close: 1% under the starting price (options 4.80)."""
        return 4.8 if symbol.startswith(".") else round(BASE_PRICES[symbol] * 0.99, 2)


class Clock:
    """A clock the test advances by hand."""

    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def tick(self, seconds: float = 1.0) -> None:
        self.now += seconds


@dataclass(frozen=True)
class WireEvent:
    """An account event as the account streamer pushes it: kind, account, tastytrade dict."""

    kind: str
    account_number: str
    data: dict


class WireBroker:
    """The brokerage seen through the tastytrade façade: records rendered by `record_wire.py`,
    order JSON parsed by `tastytrade/orders.py`."""

    def __init__(self, core: Brokerage) -> None:
        self.core = core

    def open_customer(self, customer_id: str) -> list[str]:
        return self.core.open_customer(customer_id)

    def owner(self, number: str) -> str | None:
        return self.core.owner(number)

    def position_symbols(self, number: str) -> list[str]:
        return self.core.position_symbols(number)

    def accounts(self, customer_id: str) -> list[dict]:
        return [record_wire.render_account(a) for a in self.core.accounts(customer_id)]

    def account(self, number: str) -> dict | None:
        record = self.core.account(number)
        return None if record is None else record_wire.render_account(record)

    def balance(self, number: str) -> dict:
        return record_wire.render_balance(self.core.balance(number))

    def positions(self, number: str) -> list[dict]:
        return [record_wire.render_position(p) for p in self.core.positions(number)]

    def place_order(self, number: str, body: dict, *, dry_run: bool = False) -> dict:
        return record_wire.render_placed(
            self.core.place_order(number, order_request(body), dry_run=dry_run)
        )

    def cancel_order(self, number: str, order_id: int) -> dict:
        return record_wire.render_order(self.core.cancel_order(number, order_id))

    def live_orders(self, number: str) -> list[dict]:
        return [record_wire.render_order(o) for o in self.core.live_orders(number)]

    def order(self, number: str, order_id: int) -> dict | None:
        record = self.core.order(number, order_id)
        return None if record is None else record_wire.render_order(record)

    @staticmethod
    def _wire(events: list[AccountEvent]) -> list[WireEvent]:
        return [WireEvent(e.kind, e.account_number, record_wire.render_event(e)) for e in events]

    def step(self) -> list[WireEvent]:
        return self._wire(self.core.step())

    def demo_order(self, number: str) -> list[WireEvent]:
        return self._wire(self.core.demo_order(number))

    def balance_events(self) -> list[WireEvent]:
        return self._wire(self.core.balance_events())


def make(seed: int = 7) -> tuple[WireBroker, FakeMarket, Clock, str, str]:
    market, clock = FakeMarket(), Clock()
    for symbol in demo_orders.SYMBOLS:  # the demo order generator's own symbols
        market.prices[symbol] = 150.0
    broker = WireBroker(Brokerage(market, seed=seed, clock=clock))
    margin, ira = broker.open_customer("alice")
    return broker, market, clock, margin, ira


def sdk(kind: str, data: dict):
    """Parse a wire dict with the SDK model the account streamer would use (on a copy:
    the SDK's validators rewrite signed fields in place)."""
    data = copy.deepcopy(data)
    if kind == "AccountBalance":
        return AccountBalance(**data)
    if kind == "CurrentPosition":
        return CurrentPosition(**data)
    if kind == "Order":
        return PlacedOrder(**data)
    raise AssertionError(kind)


def validate_all(events: list[WireEvent]) -> None:
    for event in events:
        sdk(event.kind, event.data)


def step_until(broker: WireBroker, clock: Clock, predicate, limit: int = 10) -> list[WireEvent]:
    events: list[WireEvent] = []
    for _ in range(limit):
        clock.tick()
        batch = broker.step()
        validate_all(batch)
        events.extend(batch)
        if predicate(batch):
            return events
    raise AssertionError("condition never reached")


def limit_body(symbol: str, action: str, qty: int, price: str, effect: str, kind: str) -> dict:
    """The JSON body the SDK sends for LimitOrder (see the protocol notes, section 2)."""
    return {
        "time-in-force": "Day",
        "source": "tastyware/tastytrade:v13.2.3",
        "legs": [{"instrument-type": kind, "symbol": symbol, "action": action, "quantity": qty}],
        "behavior": "immediate",
        "order-type": "Limit",
        "price": price,
        "price-effect": effect,
    }


def market_body(symbol: str, action: str, qty: int, kind: str = "Equity") -> dict:
    return {
        "time-in-force": "Day",
        "source": "tastyware/tastytrade:v13.2.3",
        "legs": [{"instrument-type": kind, "symbol": symbol, "action": action, "quantity": qty}],
        "behavior": "immediate",
        "order-type": "Market",
    }


def position_of(broker: WireBroker, account: str, symbol: str) -> dict | None:
    return next((p for p in broker.positions(account) if p["symbol"] == symbol), None)


def option_position(broker: WireBroker, account: str, direction: str = "Long") -> dict:
    return next(
        p
        for p in broker.positions(account)
        if p["instrument-type"] == "Equity Option" and p["quantity-direction"] == direction
    )


# --------------------------------------------------------------------------- accounts


def test_accounts_validate_and_are_idempotent():
    """Each customer gets a margin Individual and a cash Roth IRA account the SDK accepts."""
    broker, _, _, margin, ira = make()
    assert re.fullmatch(r"5WT\d{5}", margin) and re.fullmatch(r"5WT\d{5}", ira)
    assert broker.open_customer("alice") == [margin, ira]
    accounts = [Account(**copy.deepcopy(a)) for a in broker.accounts("alice")]
    assert [a.account_number for a in accounts] == [margin, ira]
    assert [a.margin_or_cash for a in accounts] == ["Margin", "Cash"]
    assert [a.nickname for a in accounts] == ["Individual", "Roth IRA"]
    assert broker.account(margin) == broker.accounts("alice")[0]
    assert broker.account("5WT00000") is None
    assert broker.owner(ira) == "alice" and broker.owner("nope") is None
    assert broker.accounts("nobody") == []
    item = wire.account_item(broker.account(margin))
    assert Account(**copy.deepcopy(item["account"])).account_number == margin


def test_account_numbers_unique_across_1000_customers():
    """Account numbers never collide, even when hashes do."""
    broker = WireBroker(Brokerage(FakeMarket(), seed=3, clock=Clock()))
    numbers = [n for i in range(1000) for n in broker.open_customer(f"customer-{i}")]
    assert len(numbers) == 2000
    assert len(set(numbers)) == 2000
    assert all(re.fullmatch(r"5WT\d{5}", n) for n in numbers)


def test_accounts_depend_on_seed_and_customer():
    """Different customers or seeds get different accounts; the same ones get the same."""
    a, _, _, m1, _ = make(seed=7)
    b, _, _, m2, _ = make(seed=7)
    _, _, _, m3, _ = make(seed=8)
    assert m1 == m2 and m1 != m3
    assert a.positions(m1) == b.positions(m2)
    assert a.open_customer("bob")[0] != m1


# --------------------------------------------------------------------------- balances


def test_balances_validate_with_net_liq_identity():
    """Both balances parse with the SDK and net-liq = cash + long - short exactly."""
    broker, _, _, margin, ira = make()
    for number in (margin, ira):
        raw = broker.balance(number)
        bal = sdk("AccountBalance", raw)
        assert bal.account_number == number
        assert bal.net_liquidating_value == (
            bal.cash_balance
            + bal.long_equity_value
            + bal.long_derivative_value
            - bal.short_equity_value
            - bal.short_derivative_value
        )
        assert bal.snapshot_date.isoformat() == "2025-01-02"
        assert raw["updated-at"] == "2025-01-02T15:04:05.000+00:00"
        assert bal.updated_at.tzinfo is not None
        assert raw["pending-cash-effect"] == "None" and bal.pending_cash == 0
        assert not any(str(v).startswith("-") for k, v in raw.items() if k != "cash-balance")
    bal = sdk("AccountBalance", broker.balance(margin))
    assert 25_000 <= bal.cash_balance <= 100_000
    assert bal.long_equity_value > 0 and bal.short_equity_value > 0
    assert bal.long_derivative_value > 0
    expected_maintenance = (
        Decimal("0.25") * bal.long_equity_value
        + Decimal("0.30") * bal.short_equity_value
        + bal.long_derivative_value
        + bal.short_derivative_value
    ).quantize(Decimal("0.01"))
    assert bal.maintenance_requirement == expected_maintenance
    excess = bal.net_liquidating_value - bal.maintenance_requirement
    assert bal.derivative_buying_power == excess
    assert bal.equity_buying_power == 2 * excess
    cash_bal = sdk("AccountBalance", broker.balance(ira))
    assert cash_bal.equity_buying_power == cash_bal.cash_balance
    assert cash_bal.derivative_buying_power == cash_bal.cash_balance
    assert cash_bal.short_equity_value == 0 and cash_bal.maintenance_requirement == 0


def test_balances_follow_prices():
    """Moving SPY and the option moves the values by quantity x multiplier."""
    broker, market, _, margin, _ = make()
    before = sdk("AccountBalance", broker.balance(margin))
    spy = sdk("CurrentPosition", position_of(broker, margin, "SPY"))
    option = option_position(broker, margin)
    streamer = occ_to_streamer(option["symbol"])
    market.prices["SPY"] += 10.0
    market.prices[streamer] += 1.0
    after = sdk("AccountBalance", broker.balance(margin))
    assert after.long_equity_value - before.long_equity_value == 10 * spy.quantity
    assert after.long_derivative_value - before.long_derivative_value == 100 * Decimal(
        option["quantity"]
    )
    assert after.net_liquidating_value > before.net_liquidating_value
    assert after.cash_balance == before.cash_balance
    events = broker.balance_events()
    assert {e.account_number for e in events} == {margin, *broker.open_customer("alice")}
    validate_all(events)


# --------------------------------------------------------------------------- positions


def test_positions_validate_with_signs_and_options():
    """Positions parse; a short has a Credit cost effect; options are OCC, 30-64 days out."""
    broker, market, _, margin, ira = make()
    parsed = [sdk("CurrentPosition", p) for p in broker.positions(margin)]
    by_symbol = {p.symbol: p for p in parsed}
    assert by_symbol["SPY"].quantity == 10 and by_symbol["SPY"].quantity_direction == "Long"
    assert by_symbol["AAPL"].quantity == 50 and by_symbol["SPY"].cost_effect == "Debit"
    shorts = [p for p in parsed if p.quantity_direction == "Short"]
    assert shorts and all(p.quantity > 0 and p.cost_effect == "Credit" for p in shorts)
    for p in parsed:
        if p.instrument_type == "Equity":
            mid = Decimal(str(market.mid(p.symbol)))
            assert abs(p.average_open_price - mid) / mid < Decimal("0.1")
            assert p.mark_price == mid and p.mark == mid * p.quantity
    options = [p for p in parsed if p.instrument_type == "Equity Option"]
    assert 1 <= len(options) <= 2
    for p in options:
        assert re.fullmatch(r"(SPY|QQQ) {3}\d{6}[CP]\d{8}", p.symbol)
        assert p.multiplier == 100 and p.underlying_symbol in ("SPY", "QQQ")
        days = (p.expires_at.date() - datetime.fromtimestamp(T0, UTC).date()).days
        assert 30 <= days <= 64
        strike = Decimal(p.symbol[-8:]) / 1000
        assert abs(strike - Decimal(str(market.mid(p.underlying_symbol)))) <= 10
        assert p.mark == p.mark_price * p.quantity * 100
    symbols = broker.position_symbols(margin)
    assert "SPY" in symbols and "AAPL" in symbols
    assert {Option.occ_to_streamer_symbol(p.symbol) for p in options} <= set(symbols)
    ira_positions = [sdk("CurrentPosition", p) for p in broker.positions(ira)]
    assert len(ira_positions) == 2
    assert all(p.quantity_direction == "Long" for p in ira_positions)


def test_occ_converter_matches_sdk():
    """Our OCC -> streamer converter agrees with the SDK, half strikes included."""
    for occ in ("SPY   250221C00590000", "SPY   250221P00590500", "QQQ   250321C00012250"):
        assert occ_to_streamer(occ) == Option.occ_to_streamer_symbol(occ)
    assert occ_to_streamer("SPY   250221C00590500") == ".SPY250221C590.5"
    assert occ_to_streamer("SPY") == ""


# --------------------------------------------------------------------------- orders


def test_place_order_response_validates_and_debit_price_is_negative():
    """The place-order response parses as the SDK's response model; Debit makes price < 0."""
    broker, _, _, margin, _ = make()
    option = option_position(broker, margin)
    body = limit_body(option["symbol"], "Buy to Open", 1, "1.25", "Debit", "Equity Option")
    data = broker.place_order(margin, body)
    response = PlacedOrderResponse[PlacedLimitOrder](**copy.deepcopy(data))
    assert response.order.price == Decimal("-1.25")
    assert response.order.status == "Received" and response.order.cancellable
    assert response.order.legs[0].quantity == 1
    assert response.fee_calculation is not None
    assert response.fee_calculation.total_fees == Decimal("-1.00")
    bpe = response.buying_power_effect
    assert bpe.change_in_buying_power < 0 and bpe.effect == "Debit"
    assert bpe.new_buying_power == bpe.current_buying_power + bpe.change_in_buying_power
    assert not bpe.is_spread
    credit = broker.place_order(
        margin, limit_body("SPY", "Sell to Close", 1, "700", "Credit", "Equity")
    )
    assert PlacedLimitOrder(**copy.deepcopy(credit["order"])).price == Decimal("700")
    assert credit["order"]["id"] == data["order"]["id"] + 1


def test_dry_run_changes_nothing():
    """A dry run parses as an UnplacedOrder response and leaves no order behind."""
    broker, _, _, margin, _ = make()
    cash = broker.balance(margin)["cash-balance"]
    data = broker.place_order(margin, market_body("AAPL", "Buy to Open", 5), dry_run=True)
    response = PlacedOrderResponse[UnplacedOrder](**copy.deepcopy(data))
    assert "id" not in data["order"] and response.order.order_type == "Market"
    assert response.order.price is None
    assert broker.live_orders(margin) == [] and broker.step() == []
    assert broker.balance(margin)["cash-balance"] == cash


def test_a_dry_run_never_counts_a_limit_below_the_market_as_a_gain():
    """A buy's buying-power effect is never positive: a limit far below the market is
    costed as if it filled at the market, not marked up from its limit at once."""
    broker, _, _, margin, _ = make()
    for price in ("1.00", "1000.00"):
        data = broker.place_order(
            margin, limit_body("AAPL", "Buy to Open", 5, price, "Debit", "Equity"), dry_run=True
        )
        effect = data["buying-power-effect"]
        assert effect["change-in-buying-power-effect"] == "Debit", price
        assert Decimal(effect["new-buying-power"]) < Decimal(effect["current-buying-power"])


def test_market_order_lifecycle_and_event_order():
    """Received, Live on the next step, filled at the ask on the following one."""
    broker, market, clock, margin, _ = make()
    before = sdk("AccountBalance", broker.balance(margin))
    aapl_before = sdk("CurrentPosition", position_of(broker, margin, "AAPL"))
    order_id = broker.place_order(margin, market_body("AAPL", "Buy to Open", 5))["order"]["id"]
    clock.tick()
    first = broker.step()
    validate_all(first)
    assert [(e.kind, e.data["status"]) for e in first] == [("Order", "Live")]
    clock.tick()
    second = broker.step()
    validate_all(second)
    assert [e.kind for e in second] == ["Order", "CurrentPosition", "AccountBalance"]
    assert {e.account_number for e in second} == {margin}
    filled = sdk("Order", second[0].data)
    assert filled.id == order_id and filled.status == "Filled" and not filled.cancellable
    ask = Decimal(str(market.quote("AAPL")["askPrice"]))
    fill = filled.legs[0].fills[0]
    assert fill.fill_price == ask and fill.quantity == 5
    assert filled.legs[0].remaining_quantity == 0
    pos = sdk("CurrentPosition", second[1].data)
    assert pos.quantity == aapl_before.quantity + 5
    expected_avg = (aapl_before.average_open_price * 50 + ask * 5) / 55
    assert abs(pos.average_open_price - expected_avg) < Decimal("0.0001")
    after = sdk("AccountBalance", second[2].data)
    assert after.cash_balance == before.cash_balance - 5 * ask
    assert broker.step() == []
    assert sdk("Order", broker.order(margin, order_id)).status == "Filled"
    assert broker.order("5WT00000", order_id) is None


def test_marketable_limit_fills_in_partial_fills():
    """A big marketable limit fills in 2-3 fills; position and cash add up to the cent."""
    broker, market, clock, margin, _ = make()
    option = option_position(broker, margin)
    streamer = occ_to_streamer(option["symbol"])
    qty_before = Decimal(option["quantity"])
    avg_before = Decimal(option["average-open-price"])
    cash_before = sdk("AccountBalance", broker.balance(margin)).cash_balance
    body = limit_body(option["symbol"], "Buy to Open", 10, "6.00", "Debit", "Equity Option")
    order_id = broker.place_order(margin, body)["order"]["id"]
    clock.tick()
    broker.step()  # Live
    orders = []
    events: list[AccountEvent] = []
    for bump in (0.0, 0.2, 0.3):  # the ask creeps up but stays under the limit
        market.prices[streamer] += bump
        clock.tick()
        batch = broker.step()
        validate_all(batch)
        events.extend(batch)
        orders.extend(sdk("Order", e.data) for e in batch if e.kind == "Order")
        if orders and orders[-1].status == "Filled":
            break
    assert 2 <= len(orders) <= 3
    assert all(o.id == order_id for o in orders)
    assert [o.status for o in orders] == ["Live"] * (len(orders) - 1) + ["Filled"]
    remaining = [o.legs[0].remaining_quantity for o in orders]
    assert remaining == sorted(remaining, reverse=True) and remaining[-1] == 0
    assert len(set(remaining)) == len(remaining)
    fills = orders[-1].legs[0].fills
    assert len(fills) == len(orders)
    assert len({f.fill_id for f in fills}) == len(fills)
    assert sum(f.quantity for f in fills) == 10
    assert [e.kind for e in events] == ["Order", "CurrentPosition", "AccountBalance"] * len(orders)
    fees = Decimal("1.00") * 10
    cost = sum(f.quantity * f.fill_price * 100 for f in fills)
    cash_after = sdk("AccountBalance", events[-1].data).cash_balance
    assert cash_after == cash_before - cost - fees
    pos = sdk("CurrentPosition", position_of(broker, margin, option["symbol"]))
    assert pos.quantity == qty_before + 10
    expected_avg = (avg_before * qty_before + sum(f.quantity * f.fill_price for f in fills)) / (
        qty_before + 10
    )
    assert abs(pos.average_open_price - expected_avg) < Decimal("0.0001")


def test_non_marketable_limit_waits_until_price_crosses():
    """A buy limit under the ask stays Live until the ask comes down to it."""
    broker, market, clock, margin, _ = make()
    body = limit_body("AAPL", "Buy to Open", 3, "240.00", "Debit", "Equity")
    order_id = broker.place_order(margin, body)["order"]["id"]
    for _ in range(4):
        clock.tick()
        batch = broker.step()
        validate_all(batch)
        assert all(e.kind == "Order" for e in batch)
    assert [sdk("Order", o).status for o in broker.live_orders(margin)] == ["Live"]
    market.prices["AAPL"] = 239.5
    events = step_until(broker, clock, lambda b: any(e.kind == "Order" for e in b))
    filled = sdk("Order", events[0].data)
    assert filled.id == order_id and filled.status == "Filled"
    assert filled.legs[0].fills[0].fill_price == Decimal("239.51")  # the ask, not the limit
    assert sdk("Order", broker.live_orders(margin)[0]).status == "Filled"  # still listed today


def test_cancel_and_filled_orders_cannot_be_cancelled():
    """Cancelling a working order pushes a Cancelled event; terminal orders refuse."""
    broker, _, clock, margin, _ = make()
    resting = broker.place_order(
        margin, limit_body("AAPL", "Buy to Open", 3, "200.00", "Debit", "Equity")
    )["order"]["id"]
    clock.tick()
    broker.step()
    cancelled = broker.cancel_order(margin, resting)
    assert sdk("Order", cancelled).status == "Cancelled" and not cancelled["cancellable"]
    clock.tick()
    assert broker.step() == []  # the REST route publishes the returned order itself
    assert sdk("Order", broker.order(margin, resting)).status == "Cancelled"
    with pytest.raises(OrderRejected) as err:
        broker.cancel_order(margin, resting)
    assert err.value.code == "order_not_cancellable"
    filled = broker.place_order(margin, market_body("AAPL", "Buy to Open", 1))["order"]["id"]
    step_until(broker, clock, lambda b: any(e.kind == "CurrentPosition" for e in b))
    with pytest.raises(OrderRejected):
        broker.cancel_order(margin, filled)
    with pytest.raises(OrderRejected) as err:
        broker.cancel_order(margin, 999_999)
    assert err.value.status == 404


def test_ioc_cancels_what_its_first_fill_attempt_leaves():
    """IOC: the first fill attempt (the step after Live) fills what it can and cancels the
    rest in the same step, filled quantity kept; a later step never works the remainder."""
    broker, market, clock, margin, _ = make()
    resting = {**limit_body("AAPL", "Buy to Open", 3, "240.00", "Debit", "Equity")}
    resting["time-in-force"] = "IOC"
    rest_id = broker.place_order(margin, resting)["order"]["id"]
    clock.tick()
    assert [sdk("Order", e.data).status for e in broker.step()] == ["Live"]
    clock.tick()
    batch = broker.step()  # the first fill attempt: not marketable
    validate_all(batch)
    assert [(e.kind, e.data["id"], e.data["status"]) for e in batch] == [
        ("Order", rest_id, "Cancelled")
    ]
    cancelled = sdk("Order", broker.order(margin, rest_id))
    assert cancelled.legs[0].remaining_quantity == 3 and not cancelled.legs[0].fills
    market.prices["AAPL"] = 239.0  # would be marketable now: too late
    clock.tick()
    assert broker.step() == [] and broker.order(margin, rest_id)["status"] == "Cancelled"

    option = option_position(broker, margin)
    big = limit_body(option["symbol"], "Buy to Open", 10, "6.00", "Debit", "Equity Option")
    big_id = broker.place_order(margin, {**big, "time-in-force": "IOC"})["order"]["id"]
    clock.tick()
    broker.step()  # Live
    clock.tick()
    batch = broker.step()  # marketable: the first of its 2-3 planned fills, then cancelled
    validate_all(batch)
    assert [e.kind for e in batch] == ["Order", "CurrentPosition", "AccountBalance", "Order"]
    partial, final = sdk("Order", batch[0].data), sdk("Order", batch[-1].data)
    assert partial.status == "Live" and len(partial.legs[0].fills) == 1
    assert final.id == big_id and final.status == "Cancelled"
    filled = sum(f.quantity for f in final.legs[0].fills)
    assert 0 < filled < 10 and final.legs[0].remaining_quantity == 10 - filled
    for _ in range(3):
        clock.tick()
        assert broker.step() == []
    assert sum(f.quantity for f in sdk("Order", broker.order(margin, big_id)).legs[0].fills) == (
        filled
    )

    market_ioc = {**market_body("AAPL", "Buy to Open", 2), "time-in-force": "IOC"}
    market_id = broker.place_order(margin, market_ioc)["order"]["id"]
    events = step_until(broker, clock, lambda b: any(e.kind == "CurrentPosition" for e in b))
    orders = [sdk("Order", e.data) for e in events if e.kind == "Order"]
    assert orders[-1].id == market_id and orders[-1].status == "Filled"


def test_closing_a_position_pushes_zero_then_removes_it():
    """Selling the whole SPY position pushes quantity 0 once, then it is gone."""
    broker, market, clock, margin, _ = make()
    spy = sdk("CurrentPosition", position_of(broker, margin, "SPY"))
    broker.place_order(margin, market_body("SPY", "Sell to Close", 10))
    events = step_until(broker, clock, lambda b: any(e.kind == "CurrentPosition" for e in b))
    pushes = [e for e in events if e.kind == "CurrentPosition"]
    assert len(pushes) == 1
    closed = sdk("CurrentPosition", pushes[0].data)
    assert closed.quantity == 0 and closed.quantity_direction == "Zero"
    bid = Decimal(str(market.quote("SPY")["bidPrice"]))
    gain = ((bid - spy.average_open_price) * 10).quantize(Decimal("0.01"))
    assert closed.realized_today == gain and closed.realized_day_gain == gain
    assert pushes[0].data["realized-today-effect"] == ("Credit" if gain > 0 else "Debit")
    assert position_of(broker, margin, "SPY") is None
    assert "SPY" not in broker.position_symbols(margin)
    clock.tick()
    assert broker.step() == []


def test_loss_is_a_debit_and_flip_reopens_at_fill_price():
    """Selling more than held flips to a short at the fill price; a loss parses negative."""
    broker, market, clock, margin, _ = make()
    spy = sdk("CurrentPosition", position_of(broker, margin, "SPY"))
    market.prices["SPY"] = float(spy.average_open_price) - 20
    broker.place_order(margin, market_body("SPY", "Sell to Close", 15))
    events = step_until(broker, clock, lambda b: any(e.kind == "CurrentPosition" for e in b))
    flipped = sdk("CurrentPosition", next(e.data for e in events if e.kind == "CurrentPosition"))
    bid = Decimal(str(market.quote("SPY")["bidPrice"]))
    assert flipped.quantity == 5 and flipped.quantity_direction == "Short"
    assert flipped.cost_effect == "Credit" and flipped.average_open_price == bid
    assert flipped.realized_today < 0  # "Debit" effect, negated by the SDK


def test_rejections():
    """Bad requests raise OrderRejected with a code, and change nothing."""
    broker, _, _, margin, ira = make()
    option = option_position(broker, margin)["symbol"]
    cases = [
        (margin, limit_body("ZZZZ", "Buy to Open", 1, "1.00", "Debit", "Equity"), "unknown_symbol"),
        (margin, market_body("AAPL", "Buy to Open", 0), "invalid_quantity"),
        (margin, market_body("AAPL", "Buy to Open", -3), "invalid_quantity"),
        (margin, market_body("AAPL", "Buy to Open", "1.5"), "invalid_quantity"),
        (
            margin,
            {**market_body("AAPL", "Buy to Open", 1), "order-type": "Limit"},
            "price_required",
        ),
        (
            margin,
            {**market_body("AAPL", "Buy to Open", 1), "order-type": "Stop"},
            "stop_trigger_required",
        ),
        (
            margin,
            {**market_body("AAPL", "Buy to Open", 1), "order-type": "Trailing Stop"},
            "unsupported_order_type",
        ),
        (margin, {**market_body("AAPL", "Buy to Open", 1), "legs": []}, "invalid_legs"),
        (margin, market_body("AAPL", "Buy", 1), "invalid_action"),
        (margin, market_body(option, "Buy to Open", 1, kind="Equity"), "invalid_symbol"),
        (
            margin,
            market_body("SPY   240119C00590000", "Buy to Open", 1, "Equity Option"),
            "option_expired",
        ),
        (margin, market_body("AAPL", "Buy to Open", 10_000), "insufficient_buying_power"),
        (ira, market_body("AAPL", "Sell to Open", 1), "short_not_allowed"),
        (ira, market_body("VOO", "Buy to Open", 5_000), "insufficient_buying_power"),
    ]
    for account, body, code in cases:
        with pytest.raises(OrderRejected) as err:
            broker.place_order(account, body)
        assert err.value.code == code, body
    etf = broker.positions(ira)[0]
    held = int(etf["quantity"])
    broker.place_order(ira, market_body(etf["symbol"], "Sell to Close", held - 1))
    with pytest.raises(OrderRejected) as err:  # the working sell already claims those shares
        broker.place_order(ira, market_body(etf["symbol"], "Sell to Close", 2))
    assert err.value.code == "short_not_allowed"
    broker.place_order(ira, market_body(etf["symbol"], "Sell to Close", 1))
    with pytest.raises(OrderRejected) as err:
        broker.place_order("5WT00000", market_body("AAPL", "Buy to Open", 1))
    assert err.value.status == 404
    assert broker.live_orders(margin) == []
    assert [o["status"] for o in broker.live_orders(ira)] == ["Received", "Received"]


def test_closing_trades_are_allowed_even_when_margin_is_tight():
    """The buying-power check only refuses orders that make a deficit worse."""
    broker, market, _, margin, _ = make()
    short = next(p for p in broker.positions(margin) if p["quantity-direction"] == "Short")
    market.prices[short["symbol"]] = 20_000.0  # the short squeezes the account into a call
    assert sdk("AccountBalance", broker.balance(margin)).maintenance_call_value > 0
    with pytest.raises(OrderRejected):
        broker.place_order(margin, market_body("AAPL", "Buy to Open", 10))
    broker.place_order(margin, market_body("SPY", "Sell to Close", 5))


# --------------------------------------------------------------------------- demo & determinism


def run_scenario(seed: int) -> list[tuple[str, str, dict]]:
    broker, market, clock, margin, ira = make(seed)
    bob = broker.open_customer("bob")
    out: list[AccountEvent] = []
    option = option_position(broker, margin)["symbol"]
    broker.place_order(
        margin, limit_body(option, "Buy to Open", 6, "9.00", "Debit", "Equity Option")
    )
    for i in range(40):
        clock.tick(2)
        market.prices["SPY"] += 0.5 if i % 3 else -0.7
        market.prices["AAPL"] -= 0.2
        for number in (margin, ira, *bob):
            if i % 4 == 0:
                out.extend(broker.demo_order(number))
        out.extend(broker.step())
        if i % 10 == 0:
            out.extend(broker.balance_events())
    return [(e.kind, e.account_number, e.data) for e in out]


def test_same_seed_same_events():
    """Same seed, calls, clock and prices give identical events; another seed differs."""
    first, second = run_scenario(11), run_scenario(11)
    assert first == second
    assert run_scenario(12) != first


def test_demo_orders_are_valid_and_fill():
    """Demo orders validate, fill over time, and cancel stale ones instead of piling up."""
    broker, market, clock, margin, ira = make(seed=5)
    events: list[AccountEvent] = []
    for i in range(120):
        clock.tick(3)
        market.prices["SPY"] += 0.3 if i % 2 else -0.25
        for number in (margin, ira):
            events.extend(broker.demo_order(number))
        events.extend(broker.step())
    validate_all(events)
    orders = [sdk("Order", e.data) for e in events if e.kind == "Order"]
    statuses = {o.status for o in orders}
    assert {"Received", "Live", "Filled"} <= statuses
    assert any(e.kind == "CurrentPosition" for e in events)
    assert len({o.id for o in orders}) > 10
    for number in (margin, ira):
        working = [o for o in broker.live_orders(number) if o["status"] in ("Received", "Live")]
        assert len(working) <= 3
        bal = sdk("AccountBalance", broker.balance(number))
        assert bal.net_liquidating_value == (
            bal.cash_balance
            + bal.long_equity_value
            + bal.long_derivative_value
            - bal.short_equity_value
            - bal.short_derivative_value
        )
    assert broker.demo_order("5WT00000") == []


def test_positions_report_the_markets_previous_close():
    """close-price is the price source's previous close (the market's), for seeded and
    newly opened positions alike, and it does not move with the price."""
    broker, market, clock, margin, _ = make()
    broker.place_order(margin, market_body("MSFT", "Buy to Open", 2))
    step_until(broker, clock, lambda batch: any(e.data.get("status") == "Filled" for e in batch))
    market.prices["MSFT"] = 450.0
    positions = broker.positions(margin)
    assert any(p["symbol"] == "MSFT" for p in positions)
    for p in positions:
        expected = market.prev_close(p["streamer-symbol"])
        assert Decimal(p["close-price"]) == Decimal(str(expected)), p["symbol"]


def test_the_core_hands_out_frozen_typed_records():
    """The brokerage itself speaks no protocol: accounts, balances, positions, orders and
    events are frozen records with signed Decimal amounts, not wire dicts."""
    broker, _, clock, margin, _ = make()
    core = broker.core
    assert isinstance(core.account(margin), records.AccountRecord)
    balance = core.balance(margin)
    assert isinstance(balance, records.BalanceFigures) and balance.as_of == clock.now
    short = next(p for p in core.positions(margin) if p.quantity < 0)
    assert isinstance(short, records.PositionRecord) and short.is_short
    placed = core.place_order(
        margin,
        records.OrderRequest(
            order_type="Market",
            legs=(records.LegRequest("AAPL", "Buy to Open", Decimal(3)),),
            client_order_id="mine-1",
        ),
    )
    assert isinstance(placed, records.PlacedOrder)
    assert placed.order.client_order_id == "mine-1" and placed.order.status == "Received"
    with pytest.raises(AttributeError):
        placed.order.status = "Filled"  # frozen
    clock.tick()
    core.step()
    clock.tick()
    events = core.step()
    assert [type(e.record) for e in events] == [
        records.OrderRecord,
        records.PositionRecord,
        records.BalanceFigures,
    ]
    assert events[0].record.legs[0].fills[0].quantity == Decimal(3)


def _limit(symbol: str, qty: int, price: str, action: str = "Buy to Open") -> records.OrderRequest:
    return records.OrderRequest(
        order_type="Limit",
        legs=(records.LegRequest(symbol, action, Decimal(qty)),),
        price=Decimal(price),
        client_order_id=f"tag-{symbol}-{qty}",
    )


def test_modify_in_place_cancel_all_and_close_position():
    """Tradier-style modify keeps the id and marks the order edited; a change the account
    cannot afford is refused and leaves the order as it was; cancel_all ends every working
    order; close_position sells what is held at market."""
    broker, _, clock, margin, _ = make()
    core = broker.core
    resting = core.place_order(margin, _limit("AAPL", 2, "1.00")).order
    assert core.order_by_client_id(margin, "tag-AAPL-2").id == resting.id
    edited = core.modify_order(margin, resting.id, price=Decimal("2.00"), time_in_force="GTC")
    assert (edited.id, edited.edited, edited.price, edited.time_in_force) == (
        resting.id,
        True,
        Decimal("-2.00"),
        "GTC",
    )
    with pytest.raises(OrderRejected) as refused:
        core.modify_order(margin, resting.id, price=Decimal("9000000"))
    assert refused.value.code == "insufficient_buying_power"
    assert core.order(margin, resting.id).price == Decimal("-2.00")
    other = core.place_order(margin, _limit("MSFT", 1, "1.00")).order
    cancelled = core.cancel_all(margin)
    assert [(o.id, o.status) for o in cancelled] == [
        (resting.id, "Cancelled"),
        (other.id, "Cancelled"),
    ]
    assert core.cancel_all(margin) == []
    with pytest.raises(OrderRejected):
        core.modify_order(margin, resting.id, price=Decimal("1.50"))

    held = next(p for p in core.positions(margin) if p.symbol == "SPY").quantity
    closing = core.close_position(margin, "SPY", Decimal(4)).order
    assert (closing.order_type, closing.legs[0].action, closing.legs[0].quantity) == (
        "Market",
        "Sell to Close",
        Decimal(4),
    )
    clock.tick()
    core.step()
    clock.tick()
    core.step()
    assert next(p for p in core.positions(margin) if p.symbol == "SPY").quantity == held - 4
    # what the account opened with stays what it opened with: the first lots of gain/loss
    opening = {p.symbol: p.quantity for p in core.opening_positions(margin)}
    assert opening["SPY"] == held
    with pytest.raises(OrderRejected) as too_many:
        core.close_position(margin, "SPY", held)
    assert too_many.value.code == "invalid_quantity"
    with pytest.raises(OrderRejected) as missing:
        core.close_position(margin, "ZZZZ")
    assert missing.value.status == 404
