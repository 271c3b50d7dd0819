"""Order entry: turn an `OrderRequest` into an order the brokerage can work, or refuse it.

Checks the type, time in force, legs (1-4, one underlying, known and unexpired symbols,
whole quantities — or, when the request is `fractional`, a one-leg equity or coin order in
parts of a unit, or a notional Market order sized at the current price until it fills;
a future's own rules are `futures_orders.py`'s),
the limit price and its effect, a stop's trigger or a trailing stop's trail, the short
rules (a cash account, a coin and a fractional quantity cannot go short, counting sells
already working) and the buying power a full fill would need.
"""

from __future__ import annotations

import copy
import dataclasses
import math
from collections.abc import Iterable
from decimal import Decimal

from sandbox.core import futures_orders, ledger, linked, margin
from sandbox.core.account_state import (
    ACTION_SIGN,
    ZERO,
    Account,
    Leg,
    Order,
    snapshot_date,
)
from sandbox.core.instruments import Instrument, parse_instrument
from sandbox.core.marks import Marks
from sandbox.core.matching import QUANTITY_STEP, apply_leg_fill, notional_quantity, trailing_stop
from sandbox.core.records import (
    CRYPTOCURRENCY,
    EQUITY,
    LegRequest,
    OrderPreview,
    OrderRejected,
    OrderRequest,
)
from sandbox.core.trading_calendar import market_date

__all__ = [
    "closing_request",
    "modified_terms",
    "parse_order",
    "preview",
    "replacement_request",
]

TIME_IN_FORCE = (
    "Day",
    "GTC",
    "GTD",
    "Ext",
    "Ext Overnight",
    "GTC Ext",
    "GTC Ext Overnight",
    "IOC",
)
TRAILING_STOP = "Trailing Stop"
ORDER_TYPES = ("Limit", "Market", "Marketable Limit", "Stop", "Stop Limit", TRAILING_STOP)
#: Types with a limit price; the stops wait for their trigger (one leg each, like a Market).
LIMIT_TYPES = ("Limit", "Marketable Limit", "Stop Limit")
STOP_TYPES = ("Stop", "Stop Limit")
#: What a `fractional` request may hold in parts of a unit (never an option).
FRACTIONAL_TYPES = (EQUITY, CRYPTOCURRENCY)
#: The decimal places of a fractional quantity (QUANTITY_STEP's; a finite Decimal's exponent
#: is an int).
_QUANTITY_PLACES = -int(QUANTITY_STEP.as_tuple().exponent)


def parse_order(
    acct: Account,
    request: OrderRequest,
    now: float,
    marks: Marks,
    working: Iterable[Order],
    *,
    account_rules: bool = True,
) -> Order:
    """Turn an order request into an unaccepted `Order`, or raise OrderRejected.
    `account_rules=False`: a linked order's member that cannot fill with the order checked
    against them (an exit waiting for its entry, the other half of an OCO pair)."""
    if not isinstance(request, OrderRequest):
        raise OrderRejected("invalid_order", "The order must be an OrderRequest.")
    order_type = request.order_type
    if order_type not in ORDER_TYPES:
        raise OrderRejected(
            "unsupported_order_type",
            f"Order type {order_type!r} is not supported "
            f"(use {', '.join(ORDER_TYPES[:-1])} or {ORDER_TYPES[-1]}).",
        )
    tif = request.time_in_force
    if tif not in TIME_IN_FORCE:
        raise OrderRejected("invalid_time_in_force", f"Unknown time-in-force {tif!r}.")
    if not request.legs or len(request.legs) > 4:
        raise OrderRejected("invalid_legs", "An order needs 1 to 4 legs.")
    notional = _check_notional(request)
    parsed: list[tuple[Instrument, str, Decimal]] = []
    for raw in request.legs:
        instrument = parse_instrument(raw.symbol, raw.instrument_type, market_date(now))
        action = futures_orders.leg_action(acct, instrument, raw.action)  # Buy / Sell
        if not isinstance(action, str) or action not in ACTION_SIGN:
            raise OrderRejected("invalid_action", f"Unsupported leg action {raw.action!r}.")
        fractional = request.fractional is True and instrument.instrument_type in FRACTIONAL_TYPES
        if instrument.instrument_type == CRYPTOCURRENCY and not fractional:
            # coins trade in parts of a unit: only a façade that sends parts trades them
            raise OrderRejected(
                "unsupported_instrument_type", f"{instrument.symbol} is not traded here."
            )
        qty = raw.quantity if notional is not None else _check_quantity(raw.quantity, fractional)
        if instrument.expires_on is not None and instrument.expires_on < snapshot_date(now):
            raise OrderRejected("option_expired", f"{instrument.symbol} has expired.")
        if not marks.prices.ensure(instrument.streamer_symbol):
            raise OrderRejected("unknown_symbol", f"Unknown symbol {instrument.symbol!r}.")
        if notional is not None:
            qty = _notional_leg_quantity(notional, instrument, action, marks, fractional)
        parsed.append((instrument, action, qty))
    if len({i.underlying for i, _, _ in parsed}) != 1:
        raise OrderRejected("invalid_legs", "All legs must share one underlying.")
    if len({i.symbol for i, _, _ in parsed}) != len(parsed):
        raise OrderRejected("invalid_legs", "A symbol may appear in one leg only.")
    if len(parsed) > 1 and any(q != q.to_integral_value() for _, _, q in parsed):
        raise OrderRejected("invalid_quantity", "A fractional quantity is for a one-leg order.")
    # one leg: the order is that many units (a whole or a fractional quantity)
    size = parsed[0][2] if len(parsed) == 1 else Decimal(math.gcd(*(int(q) for _, _, q in parsed)))
    legs = [Leg(i, a, q, q / size) for i, a, q in parsed]
    limit = signed_limit(request, legs) if order_type in LIMIT_TYPES else None
    stop = stop_trigger(order_type, request.stop_trigger, legs)
    trail_price, trail_percent = trail(order_type, request, legs)
    hwm = None
    if order_type == TRAILING_STOP:  # the mark now starts the high-water mark
        hwm = marks.mark(legs[0].instrument.streamer_symbol)
        stop = trailing_stop(legs[0].sign, hwm, trail_price, trail_percent)
    client_id = request.client_order_id
    order = Order(
        id=None,
        account_number=acct.number,
        time_in_force=tif,
        order_type=order_type,
        legs=legs,
        size=size,
        limit=limit,
        status="Received",
        received_at=now,
        updated_at=now,
        chunks=[],
        source=request.source,
        client_order_id=client_id[:128] if client_id else None,
        stop=stop,
        trail_price=trail_price,
        trail_percent=trail_percent,
        hwm=hwm,
        notional=notional,
    )
    futures_orders.check(acct, order)
    if account_rules:
        _check_account_rules(acct, order, working)
    return order


def stop_trigger(order_type: str, value: Decimal | None, legs: list[Leg]) -> Decimal | None:
    """A stop's trigger per unit (positive, one leg), None for any other type; a trigger
    on an order that is not a stop is refused, not ignored (a Trailing Stop's stop follows
    its high-water mark: it takes no trigger)."""
    if order_type not in STOP_TYPES:
        if value is not None:
            what = "a trail, not" if order_type == TRAILING_STOP else "no"
            raise OrderRejected(
                "invalid_stop_trigger", f"A {order_type} order has {what} stop trigger."
            )
        return None
    if value is None:
        raise OrderRejected("stop_trigger_required", f"A {order_type} order needs a stop trigger.")
    if not isinstance(value, Decimal) or not value.is_finite() or value <= 0:
        raise OrderRejected("invalid_stop_trigger", "The stop trigger must be a positive number.")
    if len(legs) != 1:
        raise OrderRejected("invalid_legs", f"A {order_type} order has exactly one leg.")
    return value


def trail(
    order_type: str, request: OrderRequest, legs: list[Leg]
) -> tuple[Decimal | None, Decimal | None]:
    """A Trailing Stop's (trail price, trail percent): exactly one, positive, on one leg;
    a trail on any other type is refused, not ignored."""
    given = {
        name: value
        for name, value in (("price", request.trail_price), ("percent", request.trail_percent))
        if value is not None
    }
    if order_type != TRAILING_STOP:
        if given:
            raise OrderRejected("invalid_trail", f"A {order_type} order has no trail.")
        return None, None
    if not given:
        raise OrderRejected(
            "trail_required", "A Trailing Stop order needs a trail price or a trail percent."
        )
    if len(given) > 1:
        raise OrderRejected(
            "invalid_trail",
            "A Trailing Stop order takes a trail price or a trail percent, not both.",
        )
    for name, value in given.items():
        if not isinstance(value, Decimal) or not value.is_finite() or value <= 0:
            raise OrderRejected("invalid_trail", f"The trail {name} must be a positive number.")
    if len(legs) != 1:
        raise OrderRejected("invalid_legs", f"A {order_type} order has exactly one leg.")
    return request.trail_price, request.trail_percent


def _check_quantity(qty: Decimal, fractional: bool) -> Decimal:
    """A positive quantity: whole, or (`fractional`) in steps of QUANTITY_STEP."""
    if not isinstance(qty, Decimal) or not qty.is_finite() or qty <= 0:
        raise OrderRejected("invalid_quantity", "Quantity must be greater than zero.")
    if qty != qty.to_integral_value():
        if not fractional:
            raise OrderRejected("invalid_quantity", "Fractional quantities are not supported.")
        if qty % QUANTITY_STEP:
            raise OrderRejected(
                "invalid_quantity",
                f"A fractional quantity has at most {_QUANTITY_PLACES} decimal places.",
            )
    return qty


def _check_notional(request: OrderRequest) -> Decimal | None:
    """A notional order's amount (None for a quantity order): a positive amount on a
    `fractional` one-leg Market order."""
    value = request.notional
    if value is None:
        return None
    if not request.fractional:
        raise OrderRejected("invalid_notional", "Notional orders are not supported.")
    if not isinstance(value, Decimal) or not value.is_finite() or value <= 0:
        raise OrderRejected("invalid_notional", "The notional must be a positive amount.")
    if request.order_type != "Market" or len(request.legs) != 1:
        raise OrderRejected("invalid_notional", "A notional order is a one-leg Market order.")
    return value


def _notional_leg_quantity(
    notional: Decimal, instrument: Instrument, action: str, marks: Marks, fractional: bool
) -> Decimal:
    """A notional order's quantity at the current price (ask for a buy, bid for a sell);
    its fill sizes it again at the fill's price."""
    if not fractional:
        raise OrderRejected(
            "invalid_notional", f"A notional order cannot trade {instrument.instrument_type}."
        )
    bid, ask = marks.bid_ask(instrument.streamer_symbol)
    qty = notional_quantity(notional, ask if ACTION_SIGN[action] > 0 else bid)
    if qty <= 0:
        raise OrderRejected(
            "invalid_notional", f"The notional buys no quantity of {instrument.symbol} now."
        )
    return qty


def signed_limit(request: OrderRequest, legs: list[Leg]) -> Decimal:
    """Signed limit per order unit from price + effect (negative = debit)."""
    value = request.price
    if value is None:
        raise OrderRejected("price_required", "A Limit order needs a price.")
    if not isinstance(value, Decimal) or not value.is_finite() or value < 0:
        raise OrderRejected("invalid_price", "Price must be a non-negative number.")
    price_effect = request.price_effect
    if price_effect not in ("Debit", "Credit", "None", None):
        raise OrderRejected("invalid_price_effect", f"Bad price-effect {price_effect!r}.")
    if price_effect in ("None", None):
        # infer from the legs: a net buy pays
        buying = sum(leg.sign * leg.ratio for leg in legs) > 0
        price_effect = "Debit" if buying else "Credit"
    return -value if price_effect == "Debit" else value


def _never_short(order: Order, leg: Leg) -> bool:
    """A leg that may not open a short in any account: a coin, a fractional quantity, a
    notional order's."""
    return (
        leg.instrument.instrument_type == CRYPTOCURRENCY
        or order.notional is not None
        or leg.quantity != leg.quantity.to_integral_value()
    )


def _check_account_rules(acct: Account, order: Order, working: Iterable[Order]) -> None:
    """A cash account cannot go short, nor can a coin or a fractional quantity in any
    account, counting the sells already working."""
    legs = [leg for leg in order.legs if not acct.margin or _never_short(order, leg)]
    if not legs:
        return
    working = linked.exposure(working)  # what can fill: no contingent exit, one of a pair
    for leg in legs:
        symbol = leg.instrument.symbol
        pos = acct.positions.get(symbol)
        held = pos.quantity if pos else ZERO
        working_sells = sum(
            (
                other.remaining
                for o in working
                if o.account_number == acct.number
                for other in o.legs
                if other.instrument.symbol == symbol and other.sign < 0
            ),
            ZERO,
        )
        if leg.sign < 0 and held - working_sells - leg.quantity < 0:
            raise OrderRejected("short_not_allowed", _short_refusal(acct, leg))


def _short_refusal(acct: Account, leg: Leg) -> str:
    symbol = leg.instrument.symbol
    if not acct.margin:
        return f"A {acct.type_name} account cannot hold short positions."
    if leg.instrument.instrument_type == CRYPTOCURRENCY:
        return f"{symbol} cannot be sold short: sell at most what is held."
    return f"A fractional quantity of {symbol} cannot be sold short."


def preview(acct: Account, order: Order, marks: Marks, now: float) -> OrderPreview:
    """Buying-power effect and fees of filling the whole order now; refuse if unaffordable."""
    # positions are all a fill changes; the books (ledger, history) are not copied
    trial = dataclasses.replace(acct, positions=copy.deepcopy(acct.positions), transactions=[])
    for leg in order.legs:
        fill_price = marks.leg_price(leg)
        if order.limit is not None and len(order.legs) == 1:
            # at the limit or the market, whichever costs the trader more: a limit away
            # from the market, filled at its price and marked at the market's, would
            # count the distance as a gain of buying power
            limit = abs(order.limit)
            fill_price = max(limit, fill_price) if leg.sign > 0 else min(limit, fill_price)
        apply_leg_fill(trial, leg, leg.quantity, fill_price, now=order.received_at)
    fees = ledger.fees(order.legs, None)
    trial.cash -= fees
    before, after = margin.figures(acct, marks, now), margin.figures(trial, marks, now)
    if after.excess < 0 and after.excess < before.excess:
        raise OrderRejected(
            "insufficient_buying_power",
            "This order exceeds the account's buying power.",
        )
    b, a = before.figures, after.figures
    if acct.margin:
        requirement_change = a.maintenance_requirement - b.maintenance_requirement
    else:
        requirement_change = max(b.cash_balance - a.cash_balance, ZERO)
    return OrderPreview(
        change_in_margin_requirement=-requirement_change,
        change_in_buying_power=a.derivative_buying_power - b.derivative_buying_power,
        current_buying_power=b.derivative_buying_power,
        new_buying_power=a.derivative_buying_power,
        isolated_order_margin_requirement=-abs(requirement_change),
        is_spread=len(order.legs) > 1,
        commission=fees,
    )


def replacement_request(old: Order, request: OrderRequest) -> OrderRequest:
    """What replaces `old`: the request's terms, on the old order's remaining legs unless
    the request names legs of its own."""
    legs = request.legs or tuple(
        LegRequest(
            symbol=leg.instrument.symbol,
            action=leg.action,
            quantity=leg.remaining,
            instrument_type=leg.instrument.instrument_type,
        )
        for leg in old.legs
    )
    return OrderRequest(
        order_type=request.order_type,
        legs=legs,
        time_in_force=request.time_in_force,
        price=request.price,
        price_effect=request.price_effect,
        source=request.source or old.source,
        client_order_id=request.client_order_id or old.client_order_id,
        stop_trigger=request.stop_trigger,
        trail_price=request.trail_price,
        trail_percent=request.trail_percent,
        fractional=request.fractional,
        notional=request.notional,
    )


def modified_terms(
    order: Order,
    order_type: str | None,
    time_in_force: str | None,
    price: Decimal | None,
    price_effect: str | None,
) -> tuple[str, str, Decimal | None]:
    """The order's (type, time in force, signed limit) after an in-place change; only what
    is given changes."""
    new_type = order_type or order.order_type
    if new_type not in ORDER_TYPES:
        raise OrderRejected("unsupported_order_type", f"Order type {new_type!r} is not supported.")
    new_tif = time_in_force or order.time_in_force
    if new_tif not in TIME_IN_FORCE:
        raise OrderRejected("invalid_time_in_force", f"Unknown time-in-force {new_tif!r}.")
    if (new_type in STOP_TYPES) != (order.order_type in STOP_TYPES) or (
        (new_type == TRAILING_STOP) != (order.order_type == TRAILING_STOP)
    ):
        raise OrderRejected(
            "unsupported_order_type",
            f"A {order.order_type} order cannot become a {new_type} order in place: replace it.",
        )
    limit = None
    if new_type in LIMIT_TYPES:
        if price is None and order.limit is not None:
            limit = order.limit
        else:
            request = OrderRequest(new_type, (), price=price, price_effect=price_effect)
            limit = signed_limit(request, order.legs)
    return new_type, new_tif, limit


def closing_request(
    acct: Account,
    symbol: str,
    quantity: Decimal | None,
    source: str | None,
    client_order_id: str | None,
) -> OrderRequest:
    """A Market order closing all (or `quantity`) of a position."""
    pos = acct.positions.get(symbol)
    if pos is None or pos.quantity == 0:
        raise OrderRejected("position_not_found", f"No open position in {symbol}.", 404)
    held = abs(pos.quantity)
    qty = held if quantity is None else quantity
    if not isinstance(qty, Decimal) or qty <= 0 or qty > held:
        raise OrderRejected(
            "invalid_quantity", f"Can close between 1 and {held} of {symbol}, not {qty}."
        )
    action = "Sell to Close" if pos.quantity > 0 else "Buy to Close"
    return OrderRequest(
        order_type="Market",
        legs=(LegRequest(symbol, action, qty, pos.instrument.instrument_type),),
        source=source,
        client_order_id=client_order_id,
        # a coin, a holding in parts of a unit (bought fractionally), or a part of a unit
        # asked for, closes in parts (an option's is refused all the same)
        fractional=pos.instrument.instrument_type == CRYPTOCURRENCY
        or held != held.to_integral_value()
        or qty != qty.to_integral_value(),
    )
