"""A ticket's order, checked: the contract's order JSON into an `OrderRequest`.

Every refusal is the contract's code with a sentence a trader can act on
(docs/streaming-contract.md, "Trading": "The order", "Errors"). Each leg's symbol is
resolved to its instrument once, by the resolver handed in (the user's holdings at the
owner: `InstrumentBook.resolve`; a symbol's spelling alone elsewhere), and every price is
checked on that instrument's own tick grid. Pure. What the broker takes of it:
streaming/trading/broker_rules.py.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from streaming.brokers.orders.entry import (
    ACTIONS,
    LINKED,
    NOTIONAL_MARKET,
    ORDER_TYPES,
    STOP_TYPES,
    TIMES_IN_FORCE,
    LinkedOrder,
    OrderLeg,
    OrderRequest,
)
from streaming.instruments.instrument import Instrument
from streaming.instruments.kinds import Kind
from streaming.instruments.resolve import InstrumentBook
from streaming.trading.ticks import UnknownTick, on_grid, tick_for
from streaming.trading.words import price_text

#: Symbol → its instrument (None: it names none).
Resolver = Callable[[object], Instrument | None]
BY_SPELLING: Resolver = InstrumentBook().resolve

FIELDS = frozenset(
    {
        "link",
        "account",
        "legs",
        "order_type",
        "price",
        "stop_price",
        "trail",
        "notional",
        "time_in_force",
        "replaces",
    }
)
#: A linked order's fields, and each of its members' (an order without link, account
#: and replaces).
LINKED_FIELDS = frozenset({"link", "account", "complex", "trigger", "orders"})
MEMBER_FIELDS = FIELDS - {"link", "account", "replaces"}
TRAIL_FIELDS = frozenset({"amount", "percent"})
LEG_FIELDS = frozenset({"symbol", "action", "quantity"})
MAX_LEGS = 4
MAX_QUANTITY = 1_000_000
#: Parts of a share: Alpaca's "up to 9 decimal point values" (the finest any broker takes).
MAX_QUANTITY_PLACES = 9
#: A dollar amount's least: Alpaca's "as little as $1 worth of shares".
MIN_NOTIONAL = Decimal("1.00")
CENTS = Decimal("0.01")
#: The kinds a dollar amount (`Notional Market`) buys: stock and coins.
NOTIONAL_KINDS = frozenset({Kind.EQUITY, Kind.CRYPTO})


class OrderInputError(ValueError):
    """A refused order: the contract's `code` (400) and a sentence."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class TicketOrder:
    """A checked order and where it goes: the link, and the order it replaces (if any)."""

    link: int
    order: OrderRequest
    replaces: str | None = None


@dataclass(frozen=True)
class TicketLinked:
    """A checked linked order (OCO, OTO, OTOCO) and the link it goes to."""

    link: int
    group: LinkedOrder


def _link(raw: Any) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int) or raw <= 0:
        raise OrderInputError("bad_order", "Choose the broker link (a link id) for the order.")
    return raw


def _account(raw: Any) -> str:
    if not isinstance(raw, str) or not raw.strip() or len(raw) > 64:
        raise OrderInputError("bad_order", "Choose the account for the order.")
    return raw.strip()


QUANTITY_SAID = "The quantity must be more than 0 and at most 1,000,000."


def _quantity(raw: Any) -> Decimal:
    """A positive quantity (a JSON number or a decimal string), exact and normalized."""
    if isinstance(raw, bool) or not isinstance(raw, (int, float, str)):
        raise OrderInputError("bad_quantity", QUANTITY_SAID)
    try:
        value = Decimal(str(raw).strip())
    except InvalidOperation:
        raise OrderInputError("bad_quantity", QUANTITY_SAID) from None
    if not value.is_finite() or not 0 < value <= MAX_QUANTITY:
        raise OrderInputError("bad_quantity", QUANTITY_SAID)
    exponent = value.normalize().as_tuple().exponent
    if isinstance(exponent, int) and exponent < -MAX_QUANTITY_PLACES:
        raise OrderInputError("bad_quantity", "The quantity has at most 9 decimals.")
    return Decimal(format(value.normalize(), "f"))


def _instrument(raw: Any, resolve: Resolver) -> Instrument:
    instrument = resolve(raw)
    if instrument is None:
        raise OrderInputError("unknown_symbol", f"{str(raw)[:32]!r} is not a symbol.")
    return instrument


def _leg(raw: Any, *, dollars: bool, resolve: Resolver) -> OrderLeg:
    """One leg; a dollar amount's (`dollars`) has no quantity: the broker sizes it."""
    if not isinstance(raw, dict) or set(raw) - LEG_FIELDS:
        raise OrderInputError("bad_body", "Each leg is {symbol, action, quantity}.")
    action = raw.get("action")
    if action not in ACTIONS:
        raise OrderInputError("bad_order", f"The action must be one of: {', '.join(ACTIONS)}.")
    instrument = _instrument(raw.get("symbol"), resolve)
    if dollars:
        if raw.get("quantity") is not None:
            raise OrderInputError(
                "bad_order", "A notional market order has a dollar amount, not a quantity."
            )
        return OrderLeg(instrument=instrument, action=action, quantity=None)
    leg = OrderLeg(instrument=instrument, action=action, quantity=_quantity(raw.get("quantity")))
    if leg.is_option and not leg.whole:
        raise OrderInputError(
            "bad_quantity", "An option's quantity is a whole number of contracts."
        )
    if leg.kind is Kind.FUTURE and not leg.whole:
        raise OrderInputError("bad_quantity", "A future's quantity is a whole number of contracts.")
    return leg


#: Which types take a limit price, and which a stop price.
PRICED = frozenset({"Limit", "Stop Limit"})
STOPPED = frozenset({"Stop", "Stop Limit"})
DECIMAL_EXAMPLE = 'a decimal number, such as "2.35"'


def _decimal(raw: Any, what: str) -> Decimal:
    """A positive decimal (a JSON string or number), or `bad_price` naming `what`."""
    if isinstance(raw, bool) or not isinstance(raw, (str, int, float)):
        raise OrderInputError("bad_price", f"The {what} must be {DECIMAL_EXAMPLE}.")
    try:
        value = Decimal(str(raw).strip())
    except InvalidOperation:
        raise OrderInputError("bad_price", f"The {what} must be {DECIMAL_EXAMPLE}.") from None
    if not value.is_finite() or value <= 0:
        raise OrderInputError("bad_price", f"The {what} must be more than 0.")
    if value >= 10**7:
        raise OrderInputError("bad_price", f"The {what} is too large.")
    return value


def _fits(legs: tuple[OrderLeg, ...], value: Decimal) -> bool:
    """Whether a price sits on the legs' grid; refused in words when the grid is unknown."""
    try:
        return on_grid(legs, value)
    except UnknownTick as exc:
        raise OrderInputError("bad_price", f"{exc} Trade it at its broker.") from None


def _on_grid(value: Decimal, what: str, legs: tuple[OrderLeg, ...]) -> Decimal:
    if not _fits(legs, value):
        raise OrderInputError(
            "bad_price",
            f"The {what} {value} is off the tick grid: it moves in {tick_for(legs, value)}.",
        )
    return Decimal(format(value.normalize(), "f"))


def _wanted(raw: Any, order_type: str, takes: frozenset[str], what: str, needs: str) -> Any:
    """The raw field where the type takes it (refused if missing), None where it takes
    none (refused if given)."""
    if order_type not in takes:
        if raw is not None:
            raise OrderInputError("bad_price", f"A {order_type.lower()} order takes no {what}.")
        return None
    if raw is None:
        raise OrderInputError("bad_price", f"A {order_type.lower()} order needs {needs}.")
    return raw


def _price(raw: Any, order_type: str, legs: tuple[OrderLeg, ...]) -> Decimal | None:
    raw = _wanted(raw, order_type, PRICED, "price", "a price")
    if raw is None:
        return None
    price = _decimal(raw, "price")
    if not _fits(legs, price):
        raise OrderInputError(
            "bad_price",
            f"{price} is off the tick grid: this price moves in {tick_for(legs, price)}.",
        )
    return Decimal(format(price.normalize(), "f"))


def _stop_price(raw: Any, order_type: str, legs: tuple[OrderLeg, ...]) -> Decimal | None:
    raw = _wanted(raw, order_type, STOPPED, "stop price", "a stop price (its trigger)")
    if raw is None:
        return None
    return _on_grid(_decimal(raw, "stop price"), "stop price", legs)


def _notional(raw: Any, order_type: str, legs: tuple[OrderLeg, ...], tif: Any) -> Decimal | None:
    """A `Notional Market` order's dollar amount (in cents, at least 1.00), of one stock
    leg that buys or sells what is held, for the day; None for the other types."""
    raw = _wanted(raw, order_type, frozenset({NOTIONAL_MARKET}), "dollar amount", "a dollar amount")
    if raw is None:
        return None
    if len(legs) != 1 or legs[0].kind not in NOTIONAL_KINDS:
        raise OrderInputError("bad_order", "A notional market order buys or sells stock or a coin.")
    if legs[0].action not in ("Buy to Open", "Sell to Close"):
        raise OrderInputError(
            "bad_order",
            "A notional market order buys (Buy to Open) or sells what is held (Sell to Close).",
        )
    if tif != "Day" and legs[0].kind is Kind.EQUITY:
        raise OrderInputError("bad_order", "A notional market order of stock is for the day (Day).")
    amount = _decimal(raw, "dollar amount")
    if amount < MIN_NOTIONAL:
        raise OrderInputError("bad_price", "The dollar amount must be at least 1.00.")
    if amount != amount.quantize(CENTS):
        raise OrderInputError("bad_price", f"The dollar amount is in cents: {amount} is not.")
    return amount.quantize(CENTS)


def _trail(
    raw: Any, order_type: str, legs: tuple[OrderLeg, ...]
) -> tuple[Decimal | None, Decimal | None]:
    """A Trailing Stop's (amount, percent): exactly one of the two."""
    if order_type != "Trailing Stop":
        _wanted(raw, order_type, frozenset(), "trail", "")
        return None, None
    if not isinstance(raw, dict) or set(raw) - TRAIL_FIELDS or len(raw) != 1:
        raise OrderInputError(
            "bad_price",
            'A trailing stop needs a trail: {"amount": "1.50"} in dollars or '
            '{"percent": "2.5"}, one of the two.',
        )
    if "amount" in raw:
        return _on_grid(_decimal(raw["amount"], "trail"), "trail", legs), None
    percent = _decimal(raw["percent"], "trail percent")
    if percent >= 100:
        raise OrderInputError("bad_price", "The trail percent must be less than 100.")
    return None, Decimal(format(percent.normalize(), "f"))


def _request(body: Mapping[str, object], account: str, resolve: Resolver) -> OrderRequest:
    """An order's terms (legs, type, prices, time in force), checked."""
    raw_legs = body.get("legs")
    if not isinstance(raw_legs, list) or not 1 <= len(raw_legs) <= MAX_LEGS:
        raise OrderInputError("bad_order", "An order has from 1 to 4 legs.")
    order_type = body.get("order_type")
    if order_type not in ORDER_TYPES:
        raise OrderInputError(
            "bad_order",
            "The order type must be Limit, Market, Stop, Stop Limit, Trailing Stop or "
            "Notional Market.",
        )
    dollars = order_type == NOTIONAL_MARKET
    legs = tuple(_leg(leg, dollars=dollars, resolve=resolve) for leg in raw_legs)
    if len({leg.symbol for leg in legs}) != len(legs):
        raise OrderInputError("bad_order", "Each leg must name a different symbol.")
    if order_type in STOP_TYPES and len(legs) > 1:
        raise OrderInputError("bad_order", f"A {order_type.lower()} order has one leg.")
    tif = body.get("time_in_force")
    if tif not in TIMES_IN_FORCE:
        raise OrderInputError("bad_order", "The time in force must be Day, GTC or IOC.")
    price = _price(body.get("price"), order_type, legs)
    stop_price = _stop_price(body.get("stop_price"), order_type, legs)
    trail_amount, trail_percent = _trail(body.get("trail"), order_type, legs)
    notional = _notional(body.get("notional"), order_type, legs, tif)
    return OrderRequest(
        account=account,
        legs=legs,
        order_type=order_type,
        time_in_force=tif,
        price=price,
        stop_price=stop_price,
        trail_amount=trail_amount,
        trail_percent=trail_percent,
        notional=notional,
    )


def parse_order(body: Any, resolve: Resolver = BY_SPELLING) -> TicketOrder:
    """The body of `POST /api/orders/preview` as a checked order, or `OrderInputError`."""
    if not isinstance(body, dict):
        raise OrderInputError("bad_body", "The order must be a JSON object.")
    unknown = sorted(set(body) - FIELDS)
    if unknown:
        raise OrderInputError("bad_body", f"Unknown field: {unknown[0][:32]}.")
    link = _link(body.get("link"))
    account = _account(body.get("account"))
    order = _request(body, account, resolve)
    replaces = body.get("replaces")
    if replaces is not None and (not isinstance(replaces, str) or not 0 < len(replaces) <= 64):
        raise OrderInputError("bad_order", "`replaces` is a working order's id.")
    return TicketOrder(link=link, order=order, replaces=replaces)


def parse_ticket(body: Any, resolve: Resolver = BY_SPELLING) -> TicketOrder | TicketLinked:
    """A preview's body: a linked order when it names a `complex`, else an order;
    `resolve`: symbol → instrument (the user's holdings where they are known)."""
    if isinstance(body, dict) and "complex" in body:
        return parse_linked(body, resolve)
    return parse_order(body, resolve)


ORDINALS = ("first", "second")
#: What an opening action's orders close it with.
CLOSING = {"Buy to Open": "Sell to Close", "Sell to Open": "Buy to Close"}


def _member(raw: Any, account: str, what: str, resolve: Resolver) -> OrderRequest:
    if not isinstance(raw, dict):
        raise OrderInputError("bad_body", f"The {what} must be an order (a JSON object).")
    unknown = sorted(set(raw) - MEMBER_FIELDS)
    if unknown:
        raise OrderInputError("bad_body", f"Unknown field of the {what}: {unknown[0][:32]}.")
    try:
        order = _request(raw, account, resolve)
    except OrderInputError as exc:
        raise OrderInputError(exc.code, f"The {what}: {exc.message}") from None
    if len(order.legs) != 1:
        raise OrderInputError("bad_order", f"The {what} has one leg (a linked order's do).")
    if order.order_type == "Trailing Stop":
        raise OrderInputError(
            "bad_order", f"The {what} is a trailing stop: a linked order takes a Stop instead."
        )
    if order.order_type == NOTIONAL_MARKET:
        raise OrderInputError(
            "bad_order",
            f"The {what}: a linked order's orders have a quantity, not a dollar amount.",
        )
    return order


def _check_pair(group: LinkedOrder) -> None:
    pair = group.pair
    if pair is None:
        return
    take_profit, stop_loss = pair
    if take_profit.order_type != "Limit" or stop_loss.order_type not in ("Stop", "Stop Limit"):
        raise OrderInputError(
            "bad_order",
            f"An {group.complex}'s two orders are a take-profit Limit and a stop-loss Stop "
            "or Stop Limit.",
        )
    a, b = take_profit.legs[0], stop_loss.legs[0]
    if (a.action, a.quantity) != (b.action, b.quantity):
        raise OrderInputError(
            "bad_order",
            f"An {group.complex}'s two orders have the same action and quantity "
            f"({a.action} {a.quantity}, {b.action} {b.quantity}).",
        )
    if take_profit.time_in_force != stop_loss.time_in_force:
        raise OrderInputError(
            "bad_order", f"An {group.complex}'s two orders have the same time in force."
        )


def _check_closes(group: LinkedOrder) -> None:
    """Under a trigger, the orders close what it opens, all of it."""
    trigger = group.trigger
    if trigger is None:
        return
    if trigger.order_type not in ("Limit", "Market"):
        raise OrderInputError("bad_order", "A linked order's trigger is a Limit or a Market order.")
    opens = trigger.legs[0]
    closing = CLOSING.get(opens.action)
    if closing is None:
        raise OrderInputError(
            "bad_order", "A linked order's trigger opens a position (Buy to Open or Sell to Open)."
        )
    for order in group.orders:
        leg = order.legs[0]
        if (leg.action, leg.quantity) != (closing, opens.quantity):
            raise OrderInputError(
                "bad_order",
                f"The orders after the trigger close what it opens: {closing} "
                f"{opens.quantity}, not {leg.action} {leg.quantity}.",
            )


def _check_sides(group: LinkedOrder) -> None:
    """A stop on the wrong side is refused: an exit pair's take-profit beyond its
    stop-loss (a sell's above, a buy's below), and under a Limit trigger each exit on its
    side of the entry (a Market trigger's price is the quote's: the owner's checks)."""
    exits = group.pair or (group.orders if group.trigger is not None else ())
    if not exits:
        return
    take = next((o.price for o in exits if o.order_type == "Limit"), None)
    stop = next((o.stop_price for o in exits if o.order_type in ("Stop", "Stop Limit")), None)
    sells = not exits[0].legs[0].buys
    word, beyond, side = ("sells", "above", "below") if sells else ("buys", "below", "above")

    def past(a: Decimal, b: Decimal) -> bool:
        return a > b if sells else a < b

    if take is not None and stop is not None and not past(take, stop):
        raise OrderInputError(
            "bad_order",
            f"A take-profit that {word} is {beyond} its stop-loss: {price_text(take)} "
            f"is not {beyond} the {price_text(stop)} stop.",
        )
    entry = group.trigger.price if group.trigger is not None else None
    if entry is None:  # no trigger, or a Market one
        return
    if take is not None and not past(take, entry):
        raise OrderInputError(
            "bad_order",
            f"The take-profit {word} {beyond} the entry: {price_text(take)} is not "
            f"{beyond} {price_text(entry)}.",
        )
    if stop is not None and not past(entry, stop):
        raise OrderInputError(
            "bad_order",
            f"The stop-loss {word} {side} the entry: the {price_text(stop)} stop "
            f"is not {side} {price_text(entry)}.",
        )


def parse_linked(body: Mapping[str, object], resolve: Resolver = BY_SPELLING) -> TicketLinked:
    """A linked order's body (the contract's "Linked orders"), checked."""
    unknown = sorted(set(body) - LINKED_FIELDS)
    if unknown:
        raise OrderInputError("bad_body", f"Unknown field of a linked order: {unknown[0][:32]}.")
    link = _link(body.get("link"))
    account = _account(body.get("account"))
    complex_ = body.get("complex")
    if complex_ not in LINKED:
        raise OrderInputError("bad_order", "A linked order is an OCO, an OTO or an OTOCO.")
    wants_trigger, count = LINKED[complex_]
    raw_trigger = body.get("trigger")
    if wants_trigger and raw_trigger is None:
        raise OrderInputError(
            "bad_order", f"An {complex_} needs a trigger: the order it starts on."
        )
    if not wants_trigger and raw_trigger is not None:
        raise OrderInputError("bad_order", f"An {complex_} has no trigger; send its two orders.")
    raw_orders = body.get("orders")
    if not isinstance(raw_orders, list) or len(raw_orders) != count:
        many = "one order" if count == 1 else f"{count} orders"
        raise OrderInputError(
            "bad_order",
            f"An {complex_} has {many} in `orders`"
            + (" after its trigger." if wants_trigger else "."),
        )
    trigger = _member(raw_trigger, account, "trigger", resolve) if wants_trigger else None
    orders = tuple(
        _member(raw, account, f"{ORDINALS[i]} order", resolve) for i, raw in enumerate(raw_orders)
    )
    group = LinkedOrder(account=account, complex=complex_, trigger=trigger, orders=orders)
    if len({m.legs[0].symbol for m in group.members}) != 1:
        raise OrderInputError("bad_order", "Every order of a linked order is on the same symbol.")
    _check_pair(group)
    _check_closes(group)
    _check_sides(group)
    return TicketLinked(link=link, group=group)
