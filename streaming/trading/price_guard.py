"""The fat-finger guard: an order's prices against its instrument's own live price.

Before anything reaches a broker (docs/streaming-contract.md, "The price guard"):
- a limit or stop price more than `TRADING_PRICE_WARN` from the live mark of what the
  order trades (its instrument's own quote, resolved once: a look-alike ticker's price
  never stands in for a coin's; a multi-leg order's net mid) previews with a warning and
  needs the second confirm, for every member of a linked order too;
- an order whose quote is not live (stale, from an earlier feed, or none) previews with a
  warning: its prices could not be checked;
- a market order (or a dollar amount at market) without a live quote is refused in words.
Pure: the owner hands in the quotes and whether each is live.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from streaming.brokers.orders.entry import NOTIONAL_MARKET, OrderRequest
from streaming.trading.quote import mid, net_quote
from streaming.trading.words import money, price_text

#: The types priced at the market when they fill (a dollar amount's too).
AT_MARKET = frozenset({"Market", NOTIONAL_MARKET})


@dataclass
class Verdict:
    """What the guard says of an order (or a linked order's members)."""

    warnings: list[str] = field(default_factory=list)
    #: The warnings that need the second confirm.
    confirm: list[str] = field(default_factory=list)
    #: A sentence when the order is refused outright.
    refused: str | None = None


def _name(order: OrderRequest) -> str:
    leg = order.legs[0]
    return leg.instrument.display if len(order.legs) == 1 else "the legs' net"


def _far(what: str, price: Decimal, mark: Decimal, name: str, warn: Decimal) -> str | None:
    if mark == 0:
        return None
    away = abs(price - mark) / mark
    if away <= warn:
        return None
    return (
        f"The {what} {price_text(price)} is {float(away) * 100:.0f} % from {name}'s live "
        f"price {money(mark)}: check it before you confirm."
    )


def _mark(order: OrderRequest, quotes: Mapping[str, Mapping[str, object]]) -> Decimal | None:
    """The live mark of what the order trades, per unit: the (net) mid of two-sided
    quotes, else one leg's last price."""
    quote = net_quote(order, quotes)
    if quote is not None:
        return abs(mid(quote))
    if len(order.legs) != 1:
        return None
    last = (quotes.get(order.legs[0].symbol) or {}).get("last")
    if isinstance(last, bool) or not isinstance(last, int | float) or last <= 0:
        return None
    return Decimal(str(last))


def check(
    members: Iterable[OrderRequest],
    quotes: Mapping[str, Mapping[str, object]],
    live: Callable[[str], bool],
    warn: float,
) -> Verdict:
    """The guard's verdict on an order's members (one, or a linked order's)."""
    verdict = Verdict()
    threshold = Decimal(str(warn))
    unchecked: set[str] = set()
    for order in members:
        stale = [leg.instrument.display for leg in order.legs if not live(leg.symbol)]
        if stale:
            names = ", ".join(dict.fromkeys(stale))
            if order.order_type in AT_MARKET:
                verdict.refused = (
                    f"A market order needs a live price, and {names} has none now "
                    "(its quote is stale or missing): use a limit order, or wait for "
                    "the quote to be live."
                )
                return verdict
            unchecked.update(stale)
            continue
        mark = _mark(order, quotes)
        if mark is None:
            unchecked.update(leg.instrument.display for leg in order.legs)
            continue
        for what, price in (("limit", order.price), ("stop", order.stop_price)):
            if price is None:
                continue
            far = _far(what, price, mark, _name(order), threshold)
            if far is not None and far not in verdict.confirm:
                verdict.confirm.append(far)
    if unchecked:
        names = ", ".join(sorted(unchecked))
        verdict.warnings.append(
            f"No live price of {names}: the order's prices were not checked against the market."
        )
    verdict.warnings.extend(verdict.confirm)
    return verdict
