"""tastytrade's SDK models in the contract's shapes (docs/streaming-contract.md).

The account streamer's and REST's balances, positions and orders (a complex order's
members each an order of its own, linked by `group`), and DXLink's quote, trade, summary
and greeks events, as the normalized payloads every adapter emits. Broker values are kept
as they came: Decimals become JSON numbers, a missing value is None (null), never 0; order
statuses, types, times in force and instrument kinds are already the contract's vocabulary
(tastytrade's); what the contract does not know is kept and said (`unsupported`).
"""

from __future__ import annotations

import copy
import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, NamedTuple, TypedDict

from pydantic import ValidationError
from tastytrade.account import AccountBalance, CurrentPosition
from tastytrade.dxfeed import Greeks, Quote, Summary, Trade
from tastytrade.order import (
    FillInfo,
    InstrumentType,
    OrderAction,
    OrderStatus,
    PlacedComplexOrder,
    PlacedOrder,
)
from tastytrade.order import Leg as OrderLeg

from streaming.brokers.orders.shape import (
    EXTENDED,
    LINKED,
    UNSUPPORTED,
    Fill,
    Leg,
    Order,
    Role,
    Unsupported,
    exit_role,
    group,
    unsupported,
)
from streaming.brokers.payloads import Balance, GreeksFields, Position, QuoteFields
from streaming.brokers.tastytrade.instruments import Looked
from streaming.brokers.values import decimal, num, time_ms
from streaming.instruments.symbols import streamer_symbol_for


def balance_payload(b: AccountBalance) -> Balance:
    return {
        "net_liquidating_value": num(b.net_liquidating_value),
        "buying_power": num(b.equity_buying_power),
        "equity_buying_power": num(b.equity_buying_power),
        "derivative_buying_power": num(b.derivative_buying_power),
        "day_trading_buying_power": num(b.day_trading_buying_power),
        "cash": num(b.cash_balance),
        "cash_available_to_withdraw": num(b.cash_available_to_withdraw),
        "maintenance_requirement": num(b.maintenance_requirement),
        "long_equity_value": num(b.long_equity_value),
        "short_equity_value": num(b.short_equity_value),
        "long_derivative_value": num(b.long_derivative_value),
        "short_derivative_value": num(b.short_derivative_value),
        "pending_cash": num(b.pending_cash),
        "updated_at": time_ms(b.updated_at),
    }


def position_payload(p: CurrentPosition, looked_up: Looked | None = None) -> Position:
    """A position; `looked_up` is what the instruments endpoints say of it (a future, a
    future option, a cryptocurrency: tastytrade/instruments.py): its streamer symbol, and
    a future's or future option's dollars per point."""
    streamer_symbol = (
        (looked_up.streamer_symbol if looked_up else None)
        or getattr(p, "streamer_symbol", None)
        or streamer_symbol_for(p.symbol, str(p.instrument_type.value))
    )
    multiplier = looked_up.multiplier if looked_up and looked_up.multiplier else p.multiplier
    return {
        "symbol": p.symbol,
        "streamer_symbol": streamer_symbol,
        "underlying": (looked_up.underlying if looked_up else None) or p.underlying_symbol,
        "instrument_type": p.instrument_type.value,
        "quantity": num(p.quantity),
        "direction": p.quantity_direction,
        "average_open_price": num(p.average_open_price),
        "close_price": num(p.close_price),
        "mark_price": num(p.mark_price),
        "multiplier": num(multiplier),
        "cost_effect": p.cost_effect,
        "realized_day_gain": num(p.realized_day_gain),
        "expires_at": time_ms(p.expires_at),
    }


#: tastytrade's order types and times in force, each also the contract's (one spelling).
KNOWN_ORDER_TYPES = ("Limit", "Market", "Marketable Limit", "Stop", "Stop Limit", "Notional Market")
KNOWN_TIMES_IN_FORCE = (
    "Day",
    "GTC",
    "GTD",
    "Ext",
    "Ext Overnight",
    "GTC Ext",
    "GTC Ext Overnight",
    "IOC",
)
#: The part of a `complex-order-tag` (`OTOCO::trigger-order`) naming the trigger.
TRIGGER_TAG = "trigger-order"


class _Link(NamedTuple):
    """A complex order's member: the complex order's id and type as tastytrade names it
    (`OTOCO`), the name to report if that type is unknown, and the member's role."""

    id: int | str
    kind: str
    name: str
    role: Role


def order_payload(o: PlacedOrder) -> Order:
    """A tastytrade order as the broker holds it. A component of a complex order (it
    carries `complex-order-id`) is linked by its `complex-order-tag`, so it is the same
    member whether it came alone (live orders, history, an `Order` message) or in its
    complex order (`complex_order_payloads`)."""
    if o.complex_order_id is None:
        return _order(o, None)
    tag = o.complex_order_tag or ""
    kind, _, part = tag.partition("::")
    role: Role = "trigger" if part == TRIGGER_TAG else exit_role(str(o.order_type))
    return _order(o, _Link(o.complex_order_id, kind, tag, role))


def complex_order_payloads(c: PlacedComplexOrder) -> list[Order]:
    """Every member of a complex order (the account streamer's `ComplexOrder`), each an
    order of its own linked by the complex order's id and type: its trigger (OTO,
    OTOCO), then the orders it triggers or that cancel each other (roles by type)."""
    kind = str(c.type)
    members: list[tuple[PlacedOrder, Role]] = [(o, exit_role(str(o.order_type))) for o in c.orders]
    if c.trigger_order is not None:
        members.insert(0, (c.trigger_order, "trigger"))
    return [_order(o, _Link(c.id, kind, kind, role)) for o, role in members]


def order_from_json(data: dict[str, Any]) -> Order:
    """tastytrade's order JSON (an item of a REST list, an `Order` message) as the
    contract's order: through the SDK's model when it reads it, field by field when it
    does not (a value its enums lack, such as the OpenAPI's `Allocate` action or a new
    status), so such an order is shown as sent, never dropped, and never ends a stream."""
    try:  # a copy: the SDK's validators change what they are given, even when they refuse it
        return order_payload(PlacedOrder(**copy.deepcopy(data)))
    except ValidationError:
        raw = _RawOrder.read(data)
        return _order(raw, _raw_link(raw))


def complex_orders_from_json(data: dict[str, Any]) -> list[Order]:
    """A `ComplexOrder` message as its members (`complex_order_payloads`), read field by
    field when the SDK cannot (a type its enum lacks: the OpenAPI's BLAST)."""
    try:  # a copy, as order_from_json's: the SDK signs a debit's price in what it reads
        return complex_order_payloads(PlacedComplexOrder(**copy.deepcopy(data)))
    except ValidationError:
        kind = str(data.get("type") or "")
        orders = [_RawOrder.read(o) for o in data.get("orders") or () if isinstance(o, dict)]
        members: list[tuple[_RawOrder, Role]] = [(o, exit_role(o.order_type)) for o in orders]
        trigger = data.get("trigger-order")
        if isinstance(trigger, dict):
            members.insert(0, (_RawOrder.read(trigger), "trigger"))
        return [_order(o, _Link(data.get("id") or "", kind, kind, role)) for o, role in members]


def _raw_link(o: _RawOrder) -> _Link | None:
    if o.complex_order_id is None:
        return None
    kind, _, part = o.complex_order_tag.partition("::")
    role: Role = "trigger" if part == TRIGGER_TAG else exit_role(o.order_type)
    return _Link(o.complex_order_id, kind, o.complex_order_tag, role)


@dataclass
class _RawFill:
    fill_id: str
    quantity: Any
    fill_price: Any
    filled_at: Any


@dataclass
class _RawLeg:
    symbol: str
    instrument_type: str
    action: str
    quantity: Any
    remaining_quantity: Any
    fills: list[_RawFill]


@dataclass
class _RawOrder:
    """An order the SDK could not read, with the attributes `_order` reads of a
    `PlacedOrder` (prices signed as the SDK signs them: negative is a debit)."""

    id: Any
    status: str
    order_type: str
    time_in_force: str
    gtc_date: dt.date | None
    price: Decimal | None
    stop_trigger: Decimal | None
    value: Decimal | None
    underlying_symbol: str | None
    legs: list[_RawLeg]
    received_at: Any
    updated_at: Any
    complex_order_id: Any
    complex_order_tag: str
    data: dict[str, Any] = field(repr=False)

    @classmethod
    def read(cls, d: dict[str, Any]) -> _RawOrder:
        def signed(amount: str, effect: str) -> Decimal | None:
            value = decimal(d.get(amount))
            return -value if value is not None and d.get(effect) == "Debit" else value

        try:
            gtc_date = dt.date.fromisoformat(str(d.get("gtc-date")))
        except ValueError:
            gtc_date = None
        legs = [
            _RawLeg(
                symbol=str(leg.get("symbol") or ""),
                instrument_type=str(leg.get("instrument-type") or ""),
                action=str(leg.get("action") or ""),
                quantity=leg.get("quantity"),
                remaining_quantity=leg.get("remaining-quantity"),
                fills=[
                    _RawFill(
                        str(f.get("fill-id") or ""),
                        f.get("quantity"),
                        f.get("fill-price"),
                        f.get("filled-at"),
                    )
                    for f in leg.get("fills") or ()
                    if isinstance(f, dict)
                ],
            )
            for leg in d.get("legs") or ()
            if isinstance(leg, dict)
        ]
        return cls(
            id=d.get("id"),
            status=str(d.get("status") or ""),
            order_type=str(d.get("order-type") or ""),
            time_in_force=str(d.get("time-in-force") or ""),
            gtc_date=gtc_date,
            price=signed("price", "price-effect"),
            stop_trigger=decimal(d.get("stop-trigger")),
            value=signed("value", "value-effect"),
            underlying_symbol=d.get("underlying-symbol"),
            legs=legs,
            received_at=d.get("received-at"),
            updated_at=d.get("updated-at"),
            complex_order_id=d.get("complex-order-id"),
            complex_order_tag=str(d.get("complex-order-tag") or ""),
            data=d,
        )


#: The values of tastytrade's enums the SDK knows (what it reads, the contract shows).
KNOWN_STATUSES = frozenset(str(s) for s in OrderStatus)
KNOWN_ACTIONS = frozenset(str(a) for a in OrderAction)
KNOWN_INSTRUMENTS = frozenset(str(i) for i in InstrumentType)


def _order(o: PlacedOrder | _RawOrder, link: _Link | None) -> Order:
    """The contract's order; an order has one `unsupported`: its type's, else its
    class's, else its time in force's, else (an order the SDK could not read) its
    status's, a leg's action's or instrument kind's."""
    broker_type = str(o.order_type)
    broker_tif = str(o.time_in_force)
    order_type = broker_type if broker_type in KNOWN_ORDER_TYPES else UNSUPPORTED
    time_in_force = broker_tif if broker_tif in KNOWN_TIMES_IN_FORCE else UNSUPPORTED
    linked = None
    if link is None:
        order_class = "multileg" if len(o.legs) > 1 else "simple"
    else:
        order_class = link.kind.lower() if link.kind.lower() in LINKED else UNSUPPORTED
        # in a complex order of a type the app does not know, only the tagged trigger has a
        # known role: the others are members, not guessed exits (PAIRS pairs two entries)
        known = order_class != UNSUPPORTED or link.role == "trigger"
        linked = group(link.id, order_class, link.role if known else "member")
    unknown = None
    if order_type == UNSUPPORTED:
        unknown = unsupported("order_type", broker_type, _fields(o))
    elif order_class == UNSUPPORTED and link is not None:
        unknown = unsupported("order_class", link.name, _fields(o))
    elif time_in_force == UNSUPPORTED:
        unknown = unsupported("time_in_force", broker_tif, _fields(o))
    else:
        unknown = _unknown_value(o)
    return {
        "id": o.id,
        "status": str(o.status),
        "order_type": order_type,
        "broker_type": broker_type,
        "time_in_force": time_in_force,
        "good_till": o.gtc_date.isoformat() if o.gtc_date and time_in_force == "GTD" else None,
        "extended_hours": time_in_force in EXTENDED,
        "price": num(abs(o.price)) if o.price is not None else None,
        "price_effect": ("Debit" if o.price < 0 else "Credit") if o.price else None,
        "stop_price": num(o.stop_trigger),
        "trail": None,  # tastytrade has no trailing stop
        # the SDK signs `value` as it signs `price` (negative: a debit); the amount is unsigned
        "notional": num(abs(o.value)) if o.value is not None else None,
        "order_class": order_class,
        "group": linked,
        "underlying": o.underlying_symbol,
        "legs": [_leg(leg) for leg in o.legs],
        "received_at": time_ms(o.received_at),
        "updated_at": time_ms(o.updated_at),
        "unsupported": unknown,
    }


def _unknown_value(o: PlacedOrder | _RawOrder) -> Unsupported | None:
    """A status, action or instrument kind outside the SDK's enums (only an order it
    could not read has one), kept as sent and said."""
    if str(o.status) not in KNOWN_STATUSES:
        return unsupported("status", o.status, _fields(o))
    for leg in o.legs:
        if str(leg.action) not in KNOWN_ACTIONS:
            return unsupported("action", leg.action, _fields(o))
        if str(leg.instrument_type) not in KNOWN_INSTRUMENTS:
            return unsupported("instrument_type", leg.instrument_type, _fields(o))
    return None


def _leg(leg: OrderLeg | _RawLeg) -> Leg:
    return {
        "symbol": leg.symbol,
        "instrument_type": str(leg.instrument_type),
        "action": str(leg.action),
        "quantity": num(decimal(leg.quantity)),
        "remaining_quantity": num(decimal(leg.remaining_quantity)),
        "fills": [_fill(f) for f in leg.fills or []],
    }


def _fill(f: FillInfo | _RawFill) -> Fill:
    return {
        "id": f.fill_id,
        "quantity": num(decimal(f.quantity)),
        "price": num(f.fill_price),
        "at": time_ms(f.filled_at),
    }


def _fields(o: PlacedOrder | _RawOrder) -> dict[str, Any]:
    """The order's fields as the SDK read them (its keys; `price` and `value` signed),
    or as they came when it could not."""
    if isinstance(o, _RawOrder):
        return o.data
    return o.model_dump(mode="json", by_alias=True, exclude_none=True)


class _EventTime(TypedDict, total=False):
    t: int


def _event_time(*times: int | None) -> _EventTime:
    """`t` is the broker's own event time when it sent one (data age and latency are
    measured from the source); otherwise the manager stamps the receipt time."""
    newest = max((t for t in times if t), default=0)
    return {"t": newest} if newest > 0 else {}


def quote_fields(q: Quote) -> QuoteFields:
    return {
        "bid": num(q.bid_price),
        "ask": num(q.ask_price),
        "bid_size": num(q.bid_size),
        "ask_size": num(q.ask_size),
        **_event_time(q.bid_time, q.ask_time),
    }


def trade_fields(t: Trade) -> QuoteFields:
    return {
        "last": num(t.price),
        "change": num(t.change),
        "volume": num(t.day_volume),
        **_event_time(t.time),
    }


def summary_fields(s: Summary) -> QuoteFields:
    return {
        "day_high": num(s.day_high_price),
        "day_low": num(s.day_low_price),
        "prev_close": num(s.prev_day_close_price),
    }


def greeks_fields(g: Greeks) -> GreeksFields:
    return {
        **_event_time(g.time),
        "price": num(g.price),
        "iv": num(g.volatility),
        "delta": num(g.delta),
        "gamma": num(g.gamma),
        "theta": num(g.theta),
        "vega": num(g.vega),
        "rho": num(g.rho),
    }
