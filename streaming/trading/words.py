"""An order and its effect in one sentence: what the trader confirms (the preview's
`words`), e.g. "Buy 2 SPY 15 Jan 27 590 C at 2.35 limit, day: debit 470.00 + fees 2.00,
buying power after 178,846.92". Each instrument by its display name. Pure."""

from __future__ import annotations

from decimal import Decimal

from streaming.brokers.orders.entry import LinkedOrder, OrderLeg, OrderRequest, PreviewResult
from streaming.instruments.kinds import Kind

VERBS = {
    "Buy to Open": "Buy",
    "Sell to Close": "Sell",
    "Sell to Open": "Sell to open",
    "Buy to Close": "Buy to close",
}
#: Which buying power the sentence names (the account card's "Buying power" is the stock one,
#: its "Option BP" the derivative one).
BUYING_POWER_WORDS = {"equity": "stock ", "derivative": "option "}
#: A time in force as the sentence says it.
TIF_WORDS = {"Day": "day", "GTC": "GTC", "IOC": "immediate or cancel"}


def money(value: float | Decimal) -> str:
    """`178846.92` → `178,846.92`."""
    return f"{Decimal(str(value)):,.2f}"


def price_text(price: Decimal) -> str:
    """At least two decimals (`190.00`), more where the tick has them (`0.5123`), thousands
    grouped as the amounts are (`95,012.50`: a coin's price is read at a glance)."""
    places = max(2, -price.normalize().as_tuple().exponent)  # type: ignore[operator]
    return f"{price:,.{places}f}"


def leg_text(leg: OrderLeg, notional: Decimal | None = None) -> str:
    """`Buy 2 SPY 15 Jan 27 590 C`, `Sell 0.25 BTC/USD`; a dollar amount's `Buy $250.00
    of SPY`."""
    name = leg.instrument.display
    if notional is not None:
        return f"{VERBS[leg.action]} ${money(notional)} of {name}"
    return f"{VERBS[leg.action]} {leg.quantity} {name}"


def estimated_cost(order: OrderRequest) -> Decimal | None:
    """Price x quantity x multiplier, positive for a debit (a single leg that buys);
    None where it cannot be told (a market order without a reference price; a
    multi-leg, whose direction the broker's dry run says). A stop is at its trigger; a
    dollar amount is its own. A future moves no cash: None."""
    leg = order.legs[0]
    if leg.kind is Kind.FUTURE:
        return None
    if order.notional is not None:
        return order.notional if leg.buys else -order.notional
    price = order.estimated_price
    if price is None or len(order.legs) != 1:
        return None
    amount = price * leg.size * leg.multiplier
    return amount if leg.buys else -amount


def how_text(order: OrderRequest) -> str:
    """How the order trades: `at market`, `at 2.35 limit`, `at a 480.00 stop`, `at a
    480.00 stop, limit 479.00`, `at a trailing stop 1.50 below the high`."""
    if order.order_type == "Trailing Stop":
        by = (
            f"{price_text(order.trail_amount)}"
            if order.trail_amount is not None
            else f"{order.trail_percent} %"
        )
        where = "above the low" if order.legs[0].buys else "below the high"
        return f"at a trailing stop {by} {where}"
    if order.stop_price is not None:
        stop = f"at a {price_text(order.stop_price)} stop"
        return stop if order.price is None else f"{stop}, limit {price_text(order.price)}"
    if order.price is None:
        return "at market"
    net = " net" if len(order.legs) > 1 else ""
    return f"at {price_text(order.price)}{net} limit"


def _future_text(order: OrderRequest, effect: PreviewResult) -> list[str]:
    """A future moves no cash when it opens or closes (its profit settles daily): what the
    trader weighs is its notional (price x point value) and the margin it holds."""
    parts = []
    amount = order.estimated_price
    if amount is not None:
        about = "about " if order.price is None else ""
        parts.append(
            f"notional {about}{money(amount * order.legs[0].size * order.legs[0].multiplier)}"
        )
    if effect.margin_change is not None:
        parts.append(f"margin {money(abs(Decimal(str(effect.margin_change))))}")
    if effect.fees is not None:
        parts.append(f"fees {money(effect.fees)}")
    return parts


def _effect_text(order: OrderRequest, effect: PreviewResult) -> str:
    """`: debit 470.00 + fees 2.00, buying power after 178,846.92` (or ""); a future's
    `: notional 309,762.50, margin 23,600.76, buying power after 66,005.00`."""
    parts: list[str] = []
    future = order.legs[0].kind is Kind.FUTURE
    cost = None if future else effect.cost if effect.cost is not None else estimated_cost(order)
    if future:
        parts.extend(_future_text(order, effect))
    elif cost is not None:
        side = "debit" if cost > 0 else "credit"
        about = "about " if order.price is None else ""  # at market once triggered
        text = f"{side} {about}{money(abs(Decimal(str(cost))))}"
        if effect.fees is not None:
            text += f" + fees {money(effect.fees)}"
        parts.append(text)
    elif effect.fees is not None:
        parts.append(f"fees {money(effect.fees)}")
    if effect.buying_power_after is not None:
        which = BUYING_POWER_WORDS.get(effect.buying_power_kind or "", "")
        parts.append(f"{which}buying power after {money(effect.buying_power_after)}")
    return f": {', '.join(parts)}" if parts else ""


def order_text(order: OrderRequest) -> str:
    """`Buy 2 SPY 590C 15 Jan 27 at 2.35 limit, day`."""
    legs = " / ".join(leg_text(leg, order.notional) for leg in order.legs)
    tif = TIF_WORDS.get(order.time_in_force, order.time_in_force)
    return f"{legs} {how_text(order)}, {tif}"


def describe(order: OrderRequest, effect: PreviewResult) -> str:
    """The one sentence. `effect.cost` is positive for a debit, negative for a credit."""
    return order_text(order) + _effect_text(order, effect)


#: How each linked order is said before its members.
LINKED_NAMES = {"OCO": "One cancels the other", "OTO": "One triggers the other", "OTOCO": "Bracket"}


def member_text(order: OrderRequest) -> str:
    """A member after the trigger, with its own amount: `Sell 100 SPY at 500.00 limit, GTC
    (credit 50,000.00)`, a stop's `(credit about 46,000.00)` (at market once triggered)."""
    cost = estimated_cost(order)
    if cost is None:
        return order_text(order)
    side = "debit" if cost > 0 else "credit"
    about = "about " if order.price is None else ""
    return f"{order_text(order)} ({side} {about}{money(abs(cost))})"


def describe_linked(group: LinkedOrder, effect: PreviewResult) -> str:
    """Every member in order, each with its own amount; the dry run's effect (of what fills
    first: the trigger) with the trigger: `Bracket: Buy 100 SPY at 480.00 limit, day: debit
    48,000.00 + fees 2.00; then one cancels the other: Sell 100 SPY at 500.00 limit, GTC
    (credit 50,000.00) / Sell 100 SPY at a 460.00 stop, GTC (credit about 46,000.00)`. An
    OCO has no first: no one amount is its total, only the fees are said after it."""
    orders = " / ".join(member_text(order) for order in group.orders)
    name = LINKED_NAMES[group.complex]
    if group.trigger is None:
        fees = f": fees {money(effect.fees)}" if effect.fees is not None else ""
        return f"{name}: {orders}{fees}"
    trigger = order_text(group.trigger) + _effect_text(group.trigger, effect)
    pair = "one cancels the other: " if len(group.orders) > 1 else ""
    return f"{name}: {trigger}; then {pair}{orders}"
