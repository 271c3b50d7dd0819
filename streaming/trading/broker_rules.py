"""Whether the link's broker takes an order, checked against what it takes of each kind
(streaming/instruments/rules.py): a refusal is 400 `unsupported` in words that name the
broker and say what it does take. Run at the owner, on the order resolved against the
user's holdings (Alpaca's `BTCUSD` is the coin it holds, never a fractional share)."""

from __future__ import annotations

from streaming.brokers.orders.entry import NOTIONAL_MARKET, LinkedOrder, OrderLeg, OrderRequest
from streaming.instruments.kinds import Kind
from streaming.instruments.rules import BROKER_NAMES, Takes, refusal, takes
from streaming.trading.input import OrderInputError


def _unsupported(message: str) -> OrderInputError:
    return OrderInputError("unsupported", message)


def _takes(broker: str, legs: tuple[OrderLeg, ...]) -> Takes:
    """What the broker takes of these legs' kind (one kind per order)."""
    kinds = {leg.kind for leg in legs}
    name = BROKER_NAMES.get(broker, broker)
    if len(kinds) > 1:
        raise _unsupported(f"{name} takes multi-leg orders of options only.")
    kind = next(iter(kinds))
    found = takes(broker, kind)
    if found is None:
        raise _unsupported(refusal(broker, kind))
    return found


def _words(items: tuple[str, ...]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} or {items[-1]}"


def check_supported(broker: str, order: OrderRequest) -> None:
    """Refuse (400 `unsupported`, naming the broker) what the link's broker does not take."""
    name = BROKER_NAMES.get(broker, broker)
    legs = order.legs
    rules = _takes(broker, legs)
    kind = legs[0].kind
    what = kind.words
    if len(legs) > rules.max_legs:
        raise _unsupported(
            f"{name} does not take multi-leg orders here."
            if kind.is_option
            else f"{name} takes multi-leg orders of options only."
        )
    if broker == "tradier" and len({leg.instrument.underlying for leg in legs}) > 1:
        raise _unsupported("Tradier takes multi-leg orders of one underlying only.")
    _check_type(broker, name, what, rules, order)
    _check_time_in_force(name, what, rules, order)
    if not all(leg.whole for leg in legs):
        _check_fractional(broker, name, kind, rules, order)


def _check_type(broker: str, name: str, what: str, rules: Takes, order: OrderRequest) -> None:
    kind = order.legs[0].kind
    if order.order_type in rules.order_types:
        return
    if order.order_type == "Trailing Stop":
        stock = takes(broker, Kind.EQUITY)
        if stock is None or "Trailing Stop" not in stock.order_types:
            raise _unsupported(f"{name} takes no trailing stops; use a Stop.")
        raise _unsupported(f"{name} takes trailing stops of stock only.")
    if order.order_type == NOTIONAL_MARKET and kind is Kind.EQUITY:
        raise _unsupported(f"{name} takes no dollar amounts; give a number of shares.")
    raise _unsupported(
        f"{name} takes {_words(rules.order_types)} orders of {what}, not {order.order_type} orders."
    )


def _check_time_in_force(name: str, what: str, rules: Takes, order: OrderRequest) -> None:
    tif = order.time_in_force
    market = order.order_type == "Market"  # a dollar amount's: its kind's (input.py: stock Day)
    allowed = rules.market_tifs() if market else rules.times_in_force
    if tif in allowed:
        return
    if rules.times_in_force == ("Day",) and order.legs[0].kind.is_option:
        raise _unsupported(f"{name} takes option orders for the day only.")
    orders = "market orders" if market else "orders"
    raise _unsupported(f"{name} takes {what} {orders} {_words(allowed)} only, not {tif}.")


def _check_fractional(
    broker: str, name: str, kind: Kind, rules: Takes, order: OrderRequest
) -> None:
    """A part of a unit: a coin's at the brokers that trade coins; a share's at Alpaca
    (its Fractional Trading: Day; Market, Limit, Stop, Stop Limit; never short);
    tastytrade's as a dollar amount only; Tradier's not at all."""
    if rules.fraction_places is None:
        if broker == "tastytrade" and kind is Kind.EQUITY:
            raise _unsupported(
                "tastytrade takes part of a share as a dollar amount (Notional Market) only."
            )
        unit = "contracts" if kind.is_option or kind is Kind.FUTURE else "shares"
        raise _unsupported(f"{name} takes whole {unit} only.")
    leg = order.legs[0]
    quantity = leg.size
    exponent = quantity.normalize().as_tuple().exponent
    if isinstance(exponent, int) and -exponent > rules.fraction_places:
        raise _unsupported(f"{name} takes {kind.words} to {rules.fraction_places} decimals.")
    noun = "a part of a share" if kind is Kind.EQUITY else "a part of a coin"
    if rules.fraction_types is not None and order.order_type not in rules.fraction_types:
        raise _unsupported(f"{name} takes {noun} in a {_words(rules.fraction_types)} order.")
    fraction_tifs = rules.fraction_times_in_force
    if fraction_tifs is not None and order.time_in_force not in fraction_tifs:
        raise _unsupported(f"{name} takes {noun} for the day only.")
    if not rules.fraction_short and leg.action == "Sell to Open":
        raise _unsupported(f"{name} does not sell short {noun}.")


def check_linked_supported(broker: str, group: LinkedOrder) -> None:
    """Refuse (400 `unsupported`, naming the broker) a group the link's broker does not
    take, or a member it would not take on its own."""
    name = BROKER_NAMES.get(broker, broker)
    rules = _takes(broker, group.first.legs)
    kind = group.first.legs[0].kind
    if not rules.linked:
        if broker == "alpaca" and kind is Kind.EQUITY_OPTION:
            raise _unsupported("Alpaca links orders of stock only.")
        raise _unsupported(f"{name} takes no {group.complex} orders of {kind.words}.")
    if broker == "alpaca" and not all(leg.whole for m in group.members for leg in m.legs):
        raise _unsupported("Alpaca links orders of whole shares only.")
    if broker == "alpaca" and len({m.time_in_force for m in group.members}) > 1:
        raise _unsupported("Alpaca's linked orders have one time in force for every order.")
    if broker == "tradier" and group.trigger is not None and group.trigger.order_type == "Market":
        raise _unsupported("Tradier's linked orders start on a Limit, not a Market order.")
    for member in group.members:
        check_supported(broker, member)
