"""Alpaca's position semantics for both APIs: all, one (by symbol, either option spelling,
or asset id), close one (all of it, `qty` or `percentage`), close all (207, optionally
cancelling open orders first).

Closing is the core brokerage's `close_position` (a market order on the other side);
this module only works out Alpaca's quantity and Alpaca's refusals. A `qty` may be
fractional (to 9 places); a `percentage` of a whole holding rounds down to whole shares,
of a fractional one (bought fractionally, or a coin) to 9 places ("would only sell
fractional if position is originally fractional"). A coin's position is found by
`BTCUSD` (as it reads) or `BTC/USD`.
"""

from __future__ import annotations

import uuid
from decimal import ROUND_DOWN, Decimal, InvalidOperation
from typing import Any

from sandbox.alpaca import render
from sandbox.alpaca.facade import Scope
from sandbox.alpaca.orders import cancel, outcomes
from sandbox.alpaca.orders.submit import SOURCE
from sandbox.alpaca.wire import (
    FORBIDDEN,
    NOT_FOUND,
    Refusal,
    alpaca_symbol,
    asset_uuid,
    bad,
    s,
    tasty_symbol,
)
from sandbox.core.matching import QUANTITY_STEP
from sandbox.core.records import OrderRejected, PositionRecord


def records(scope: Scope) -> list[PositionRecord]:
    """The account's open positions."""
    return [p for p in scope.facade.sandbox.brokerage.positions(scope.number) if p.quantity]


def all_positions(scope: Scope) -> list[dict[str, Any]]:
    return [render.position(p) for p in records(scope)]


def find(scope: Scope, key: str) -> PositionRecord:
    """By symbol (case-insensitive, OCC options padded or not, a coin in either spelling)
    or by asset id."""
    wanted = render.coin_pair(key) or alpaca_symbol(tasty_symbol(key))
    for p in records(scope):
        symbol = alpaca_symbol(p.symbol)
        if symbol == wanted or asset_uuid(symbol) == key.strip().lower():
            return p
    raise Refusal(404, NOT_FOUND, "position does not exist")


def close_quantity(held: Decimal, qty: str | None, percentage: str | None) -> Decimal:
    """How much of a position of `held` (unsigned) to close; Refusal on bad or excess input."""
    if qty is not None and percentage is not None:
        raise bad("only one of qty or percentage may be given")
    try:
        if qty is not None:
            amount = Decimal(qty)
        elif percentage is not None:
            share = Decimal(percentage)
            if not share.is_finite() or not 0 < share <= 100:
                raise bad("percentage must be > 0 and <= 100")
            whole = held == held.to_integral_value()
            amount = (held * share / 100).quantize(
                Decimal(1) if whole else QUANTITY_STEP, rounding=ROUND_DOWN
            )
        else:
            amount = held
    except InvalidOperation:
        raise bad("qty and percentage must be numbers") from None
    if not amount.is_finite() or amount <= 0:
        raise bad("the quantity to close must be > 0")
    if amount % QUANTITY_STEP:
        raise bad("qty must have at most 9 decimal places")
    if amount > held:
        raise Refusal(
            403,
            FORBIDDEN,
            f"insufficient qty available for order (requested: {s(amount)}, available: {s(held)})",
        )
    return amount


def _close(scope: Scope, position: PositionRecord, amount: Decimal) -> dict[str, Any]:
    try:
        placed = scope.facade.sandbox.brokerage.close_position(
            scope.number,
            position.symbol,
            amount,
            source=SOURCE,
            client_order_id=str(uuid.uuid4()),
        )
    except OrderRejected as exc:
        raise outcomes.rejection(exc) from None
    outcomes.publish(scope, placed.order)
    return outcomes.rendered(scope, placed.order)


def close(scope: Scope, key: str, qty: str | None, percentage: str | None) -> dict[str, Any]:
    """Close all or part of one position; the closing order."""
    position = find(scope, key)
    return _close(scope, position, close_quantity(abs(position.quantity), qty, percentage))


def close_all(scope: Scope, cancel_orders: str | None) -> list[dict[str, Any]]:
    """One `{symbol, status, order_id, body}` per position (the order, or Alpaca's error)."""
    flag = (cancel_orders or "false").lower()
    if flag not in ("true", "false"):
        raise bad("cancel_orders must be true or false")
    if flag == "true":
        cancel.cancel_all(scope)
    results = []
    for position in records(scope):
        symbol = alpaca_symbol(position.symbol)
        try:
            order = _close(scope, position, abs(position.quantity))
        except Refusal as refusal:
            body = refusal.body() | {"symbol": symbol}
            results.append({"symbol": symbol, "status": refusal.status, "body": body})
            continue
        results.append({"symbol": symbol, "status": 200, "order_id": order["id"], "body": order})
    return results
