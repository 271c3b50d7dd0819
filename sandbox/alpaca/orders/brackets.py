"""Alpaca's linked order classes — `bracket`, `oco`, `oto` — placed as the core's linked
orders (sandbox/core/linked.py): each member an order of its own, the group one Alpaca
order whose parent nests the others with `nested=true` (`render.linked_parent`).

As Alpaca documents them (alpacahq/alpaca-docs content/trading/orders.md "Bracket Orders",
"OCO Orders", "OTO Orders"; alpaca-py trading/requests.py `OrderRequest`,
`TakeProfitRequest`, `StopLossRequest`, `_validate_advanced_order_class_requirements`):

- bracket: an entry (`market` or `limit`) with `take_profit{limit_price}` and
  `stop_loss{stop_price, limit_price?}` → the core's OTOCO (the entry its trigger, the
  take-profit limit and the stop-loss stop / stop-limit its pair); the exits "activate
  only after the entry is completely filled";
- oco: the exit pair of a position held, `type` `limit`, with `take_profit` and
  `stop_loss` → the core's OCO (the take-profit first: it is the parent);
- oto: an entry with one of `take_profit` / `stop_loss` → the core's OTO;
- `time_in_force` `day` or `gtc`, no `extended_hours`, stocks only (no option, no coin:
  alpaca-py `OrderClass`: crypto trading is simple only), a whole `qty` (no fractional
  `qty`, no `notional`);
- a buy's take-profit above its stop-loss (a sell's below), each at least $0.01 beyond
  the base price: the entry's limit, the market's (ask for a buy, bid for a sell) for a
  market entry, the take-profit's limit for an oco's stop-loss.

Refusals are Alpaca's shape: bad input 422 `40010000`; prices on the wrong side of the
base price 422 `42210000` with the words Alpaca is reported to send
("take_profit.limit_price must be >= base_price + 0.01").
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sandbox.alpaca.facade import Scope
from sandbox.alpaca.orders.outcomes import publish, rejection, rendered
from sandbox.alpaca.orders.rules import TIF_IN
from sandbox.alpaca.orders.submit import (
    SOURCE,
    check_configuration,
    held_quantity,
    order_request,
    unique_client_order_id,
)
from sandbox.alpaca.wire import WRONG_STATE, Refusal, bad, dec, number_param
from sandbox.core.records import (
    EQUITY,
    LegRequest,
    LinkedRequest,
    OrderRejected,
    OrderRequest,
)

__all__ = ["LINKED_CLASSES", "is_linked", "place"]

#: Alpaca's linked order classes and the core's kinds.
LINKED_CLASSES = {"bracket": "OTOCO", "oco": "OCO", "oto": "OTO"}
_ENTRY_TYPES = ("market", "limit")
_TIF = ("day", "gtc")
_CENT = Decimal("0.01")


def is_linked(body: Any) -> bool:
    """Whether an order body asks for one of Alpaca's linked order classes."""
    return isinstance(body, dict) and body.get("order_class") in LINKED_CLASSES


def _part(body: dict[str, Any], name: str) -> dict[str, Any] | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise bad(f"{name} must be an object")
    return value


def _price(part: dict[str, Any], name: str, field: str, *, required: bool) -> Decimal | None:
    value = number_param(part, field)
    if value is None:
        if required:
            raise bad(f"{name}.{field} is required")
        return None
    if value <= 0:
        raise bad(f"{name}.{field} must be > 0")
    return value


def _check_common(body: dict[str, Any], order_class: str) -> None:
    """What every linked class asks of the order: its time in force, no extended hours, a
    whole `qty` (no notional), no trail."""
    tif = body.get("time_in_force")
    if tif not in _TIF:
        raise bad(f"time_in_force must be day or gtc for {order_class} orders")
    if body.get("extended_hours") is True:
        raise bad(f"extended_hours is not supported for {order_class} orders")
    if body.get("notional") not in (None, ""):
        raise bad(f"notional is not supported for {order_class} orders: give qty")
    qty = number_param(body, "qty")
    if qty is not None and qty != qty.to_integral_value():
        raise bad(f"fractional qty is not supported for {order_class} orders: give whole shares")


def _is_buy(leg: LegRequest) -> bool:
    return leg.action is not None and leg.action.startswith("Buy")


def _stock(request: OrderRequest, order_class: str) -> LegRequest:
    """The order's one leg, a stock's: Alpaca's option orders are simple or mleg only, its
    crypto orders simple only (alpaca-py `OrderClass`)."""
    leg = request.legs[0]
    if leg.instrument_type != EQUITY:
        raise bad(f"{order_class} orders are for stocks only")
    return leg


def _exit_action(held_after: Decimal, side: str) -> str:
    """An exit's action from the position it will meet (after its entry, if any)."""
    if side == "buy":
        return "Buy to Close" if held_after < 0 else "Buy to Open"
    return "Sell to Close" if held_after > 0 else "Sell to Open"


def _exit_order(
    leg: LegRequest,
    tif: str,
    client_id: str,
    *,
    limit: Decimal | None,
    stop: Decimal | None,
) -> OrderRequest:
    """A take-profit (limit) or stop-loss (stop, or stop-limit with a limit) order."""
    order_type = "Limit" if stop is None else ("Stop" if limit is None else "Stop Limit")
    effect = "Debit" if _is_buy(leg) else "Credit"
    return OrderRequest(
        order_type=order_type,
        legs=(leg,),
        time_in_force=TIF_IN[tif],
        price=limit,
        price_effect=effect if limit is not None else None,
        source=SOURCE,
        client_order_id=client_id,
        stop_trigger=stop,
    )


def _base_price(scope: Scope, body: dict[str, Any], symbol: str, side: str) -> Decimal:
    """The price the exits are checked against: the entry's limit, else the market's."""
    limit = number_param(body, "limit_price")
    if body.get("type", body.get("order_type")) == "limit" and limit is not None:
        return limit
    quote = scope.facade.sandbox.market.quote(symbol)
    return dec(quote["askPrice"] if side == "buy" else quote["bidPrice"])


def _check_sides(
    entry_side: str,
    base: Decimal,
    take_profit: Decimal | None,
    stop_loss: Decimal | None,
) -> None:
    """A long's take-profit above the base price and its stop-loss below (a short's the
    other way round), each by at least a cent (orders.md: the stop-loss "must be at least
    $0.01 below (or above) the base price")."""
    long = entry_side == "buy"
    if take_profit is not None and (
        take_profit < base + _CENT if long else take_profit > base - _CENT
    ):
        sign = ">= base_price + 0.01" if long else "<= base_price - 0.01"
        raise Refusal(422, WRONG_STATE, f"take_profit.limit_price must be {sign}")
    if stop_loss is not None and (stop_loss > base - _CENT if long else stop_loss < base + _CENT):
        sign = "<= base_price - 0.01" if long else ">= base_price + 0.01"
        raise Refusal(422, WRONG_STATE, f"stop_loss.stop_price must be {sign}")


def linked_request(scope: Scope, body: dict[str, Any]) -> tuple[LinkedRequest, list[str]]:
    """An Alpaca bracket / oco / oto body as the core's linked request, and each member's
    client order id (the one given goes to the parent)."""
    order_class = body["order_class"]
    kind = body.get("type", body.get("order_type"))
    _check_common(body, order_class)
    take_profit, stop_loss = _part(body, "take_profit"), _part(body, "stop_loss")
    tp = _price(take_profit, "take_profit", "limit_price", required=True) if take_profit else None
    sl = _price(stop_loss, "stop_loss", "stop_price", required=True) if stop_loss else None
    sl_limit = _price(stop_loss, "stop_loss", "limit_price", required=False) if stop_loss else None
    if order_class in ("bracket", "oco") and (tp is None or sl is None):
        raise bad(f"{order_class} orders require take_profit.limit_price and stop_loss.stop_price")
    if order_class == "oto" and (tp is None) == (sl is None):
        raise bad("oto orders require either take_profit or stop_loss (one of them)")
    if order_class == "oco":
        if kind != "limit":
            raise bad("oco orders must be limit orders")
        limit = number_param(body, "limit_price")
        if limit is not None and limit != tp:
            raise bad("limit_price of an oco order must equal take_profit.limit_price")
    elif kind not in _ENTRY_TYPES:
        raise bad(f"{order_class} orders take a market or limit entry, not {kind!r}")
    parent_id = unique_client_order_id(scope, body.get("client_order_id"))
    ids = [parent_id] + [unique_client_order_id(scope, None) for _ in range(2)]
    if order_class == "oco":
        # the take-profit, as a plain limit order, checks the body (symbol, side, qty)
        simple = {k: v for k, v in body.items() if k not in ("take_profit", "stop_loss")}
        simple |= {"order_class": "simple", "limit_price": str(tp)}
        first, _ = order_request(scope, simple, ids[0])
        leg = _stock(first, order_class)
        assert tp is not None and sl is not None
        side = "buy" if _is_buy(leg) else "sell"
        _check_sides("sell" if side == "buy" else "buy", tp, None, sl)  # the position's side
        stop = _exit_order(leg, body["time_in_force"], ids[1], limit=sl_limit, stop=sl)
        return LinkedRequest("OCO", None, (first, stop)), ids[:2]
    simple = {k: v for k, v in body.items() if k not in ("take_profit", "stop_loss")}
    simple["order_class"] = "simple"
    entry, _ = order_request(scope, simple, ids[0])
    leg = _stock(entry, order_class)
    side = "buy" if _is_buy(leg) else "sell"
    _check_sides(side, _base_price(scope, body, leg.symbol, side), tp, sl)
    # (both a cent beyond the base price: a buy's take-profit is above its stop-loss)
    held = held_quantity(scope, leg.symbol)
    held_after = held + leg.quantity if _is_buy(leg) else held - leg.quantity
    exit_side = "sell" if side == "buy" else "buy"
    exit_leg = LegRequest(leg.symbol, _exit_action(held_after, exit_side), leg.quantity, EQUITY)
    tif = body["time_in_force"]
    exits: list[OrderRequest] = []
    if tp is not None:
        exits.append(_exit_order(exit_leg, tif, ids[len(exits) + 1], limit=tp, stop=None))
    if sl is not None:
        exits.append(_exit_order(exit_leg, tif, ids[len(exits) + 1], limit=sl_limit, stop=sl))
    kind_core = LINKED_CLASSES[order_class]
    return LinkedRequest(kind_core, entry, tuple(exits)), ids[: len(exits) + 1]


def place(scope: Scope, body: dict[str, Any]) -> dict[str, Any]:
    """Validate, place the group through the brokerage, publish its members; the parent
    as Alpaca answers a bracket / oco / oto submission (with its legs nested)."""
    request, _ = linked_request(scope, body)
    for member in (request.trigger, *request.orders):
        if member is not None:
            check_configuration(scope, member)
    try:
        placed = scope.facade.sandbox.brokerage.place_linked(scope.number, request)
    except OrderRejected as exc:
        raise rejection(exc) from None
    publish(scope, *placed.orders)
    parent = placed.orders[0]
    return rendered(scope, parent) | {
        "legs": [rendered(scope, member) for member in placed.orders[1:]]
    }
