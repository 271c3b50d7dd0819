"""Alpaca's replace (PATCH): a NEW order with the old one's attributes overridden by the
changes, the old one `replaced`; a linked order's member only as orders.md allows it (a
bracket's exit, by its price).
"""

from __future__ import annotations

from typing import Any

from sandbox.alpaca.facade import Scope
from sandbox.alpaca.orders.outcomes import publish, rejection, rendered
from sandbox.alpaca.orders.query import find
from sandbox.alpaca.orders.rules import (
    TIF_IN,
    TRAILING_TIF,
    check_coin,
    check_option_tif,
    check_qty,
)
from sandbox.alpaca.orders.submit import SOURCE, unique_client_order_id
from sandbox.alpaca.wire import WRONG_STATE, Refusal, bad, is_option, number_param
from sandbox.core.records import (
    CRYPTOCURRENCY,
    LegRequest,
    OrderRecord,
    OrderRejected,
    OrderRequest,
)

_REPLACEABLE = {"qty", "time_in_force", "limit_price", "stop_price", "trail", "client_order_id"}


def replace(scope: Scope, oid: str, changes: dict[str, Any]) -> dict[str, Any]:
    """Alpaca's replace: a NEW order with the old one's attributes overridden by `changes`
    (the brokerage's `replace_order`); the old one ends `replaced` and names its successor,
    which `replaces` it and gets a new client order id unless one is given."""
    old = find(scope, oid)
    view = scope.facade.render_order(old)
    exit_ = old.group_id is not None
    if exit_:
        _check_exit_change(scope, old, view, changes)
    elif view["status"] not in ("new", "pending_new", "accepted"):
        raise Refusal(422, WRONG_STATE, f'order is not replaceable in "{view["status"]}" state')
    if unknown := set(changes) - _REPLACEABLE:
        raise bad(f"unknown parameters: {', '.join(sorted(unknown))}")
    kind = view["type"]
    stop, trail = number_param(changes, "stop_price"), number_param(changes, "trail")
    if stop is not None and kind not in ("stop", "stop_limit"):
        raise bad(f"stop_price is not allowed for {kind} orders")
    if trail is not None and kind != "trailing_stop":
        raise bad(f"trail is not allowed for {kind} orders")
    for name, value in (("stop_price", stop), ("trail", trail)):
        if value is not None and value <= 0:
            raise bad(f"{name} must be > 0")
    limit = number_param(changes, "limit_price")
    if limit is not None and kind in ("market", "stop", "trailing_stop"):
        raise bad(f"limit_price is not allowed for {kind} orders")
    if limit is not None and limit <= 0:
        raise bad("limit_price must be > 0")
    tif = changes.get("time_in_force")
    first = old.legs[0]
    coin = first.instrument_type == CRYPTOCURRENCY
    if tif is not None and coin:
        check_coin(kind, tif)
    elif tif is not None and tif not in TIF_IN:
        raise bad(f"time_in_force {tif} is not supported by the sandbox")
    if tif is not None:
        check_option_tif(tif, first.symbol)
        if kind == "trailing_stop" and tif not in TRAILING_TIF:
            raise bad(f"time_in_force {tif} is not allowed for trailing_stop orders (day or gtc)")
    qty = number_param(changes, "qty")
    legs: tuple[LegRequest, ...] = ()
    if qty is None and view["notional"] is not None:
        raise bad("qty is required to replace a notional order")
    # the new order's quantity (given, or what is left) under its time in force: a
    # stock's fractional quantity stays a day order
    new_qty = qty if qty is not None else first.remaining_quantity
    check_qty(new_qty, kind, tif or view["time_in_force"], first.symbol, coin=coin)
    if qty is not None:
        legs = (LegRequest(first.symbol, first.action, qty, first.instrument_type),)
    client_id = unique_client_order_id(scope, changes.get("client_order_id"))
    price = limit if limit is not None else (abs(old.price) if old.price is not None else None)
    request = OrderRequest(
        order_type=old.order_type,
        legs=legs,
        time_in_force=TIF_IN[tif] if tif else old.time_in_force,
        price=price,
        price_effect=("Debit" if old.legs[0].is_buy else "Credit") if price is not None else None,
        source=old.source or SOURCE,
        client_order_id=client_id,
        # a stop keeps its trigger unless given one; a trailing stop its kind of trail (a
        # new `trail` is a new amount of the same kind: "you cannot change the price
        # trailing to the percent trailing or vice versa", orders.md)
        stop_trigger=(stop or old.stop_trigger) if kind in ("stop", "stop_limit") else None,
        trail_price=(trail or old.trail_price) if old.trail_price is not None else None,
        trail_percent=(trail or old.trail_percent) if old.trail_percent is not None else None,
        fractional=not is_option(first.symbol),
    )
    assert old.id is not None
    try:
        placed = scope.facade.sandbox.brokerage.replace_order(
            scope.number, old.id, request, member=exit_
        )
    except OrderRejected as exc:
        raise rejection(exc) from None
    assert placed.replaced is not None and placed.order.id is not None
    if (scope.number, old.id) in scope.facade.notes.extended_hours:
        scope.facade.notes.extended_hours.add((scope.number, placed.order.id))
    publish(scope, placed.replaced, placed.order)
    return rendered(scope, placed.order)


def _check_exit_change(
    scope: Scope, old: OrderRecord, view: dict[str, Any], changes: dict[str, Any]
) -> None:
    """A linked order's member is replaced only as orders.md allows: a bracket's
    take-profit (`limit_price`) or stop-loss (`stop_price`), working or held, by that price
    alone. "order replacement is not supported yet" for oto; an OCO's and a bracket's entry
    are not documented as replaceable, and are refused."""
    kind = view["order_class"]
    if kind == "oto":
        raise Refusal(422, WRONG_STATE, "order replacement is not supported yet")
    if kind != "bracket" or not scope.facade.is_child(old):
        raise Refusal(
            422,
            WRONG_STATE,
            f"only a bracket's take-profit or stop-loss can be replaced, not this {kind} order: "
            "cancel it (its whole group) and place it again",
        )
    if view["status"] not in ("new", "accepted", "held"):
        raise Refusal(422, WRONG_STATE, f'order is not replaceable in "{view["status"]}" state')
    price = "limit_price" if view["type"] == "limit" else "stop_price"
    if set(changes) - {price, "client_order_id"} or price not in changes:
        raise bad(f"a bracket's {view['type']} exit is replaced by its {price} only")
