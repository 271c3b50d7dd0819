"""Broker API positions: all, one (by symbol or asset id), close one (all of it, `qty` or
`percentage`), close all (207, optionally cancelling open orders first).

Closing is what Alpaca does: a market order for the opposite side, placed through the
same path as any order (`orders.place`, hence the core brokerage's `place_order`).
"""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal, InvalidOperation
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from . import core_access, orders
from .broker_api import AlpacaSandbox, account_route, alpaca_error, dec, ok, s


def account_positions(facade: AlpacaSandbox, number: str) -> list[dict[str, Any]]:
    """The account's positions in Alpaca's shape."""
    return [with_intraday_plpc(p) for p in core_access.positions(facade, number)]


def with_intraday_plpc(position: dict[str, Any]) -> dict[str, Any]:
    """Add `unrealized_intraday_plpc`: the day's P/L over the position's value at the
    previous close (market value less the day's P/L), by a factor of 1."""
    today = dec(position["unrealized_intraday_pl"])
    then = abs(dec(position["market_value"]) - today)
    position["unrealized_intraday_plpc"] = (
        s((today / then).quantize(Decimal("0.0001"))) if then else "0"
    )
    return position


def find_position(facade: AlpacaSandbox, number: str, key: str) -> dict[str, Any] | None:
    """By symbol (case-insensitive, OCC options unpadded) or by asset id."""
    wanted = key.strip()
    for position in account_positions(facade, number):
        if position["symbol"] == wanted.upper() or position["asset_id"] == wanted.lower():
            return position
    return None


def close_quantity(position: dict[str, Any], qty: str | None, percentage: str | None) -> Decimal:
    """How much of the position to close; raises `orders.Refusal` on bad or excess input."""
    held = abs(dec(position["qty"]))
    if qty is not None and percentage is not None:
        raise orders.bad("only one of qty or percentage may be given")
    try:
        if qty is not None:
            amount = Decimal(qty)
        elif percentage is not None:
            share = Decimal(percentage)
            if not share.is_finite() or not 0 < share <= 100:
                raise orders.bad("percentage must be > 0 and <= 100")
            amount = (held * share / 100).to_integral_value(rounding=ROUND_DOWN)
        else:
            amount = held
    except InvalidOperation:
        raise orders.bad("qty and percentage must be numbers") from None
    if not amount.is_finite() or amount <= 0:
        raise orders.bad("the quantity to close must be > 0")
    if amount != amount.to_integral_value():
        raise orders.bad("fractional orders are not supported by the sandbox")
    if amount > held:
        message = (
            f"insufficient qty available for order (requested: {s(amount)}, available: {s(held)})"
        )
        raise orders.Refusal(403, 40310000, message)
    return amount


def close(
    facade: AlpacaSandbox, number: str, position: dict[str, Any], amount: Decimal
) -> dict[str, Any]:
    body = {
        "symbol": position["symbol"],
        "qty": s(amount),
        "side": "sell" if position["side"] == "long" else "buy",
        "type": "market",
        "time_in_force": "day",
    }
    return orders.place(facade, number, body)


@account_route
async def list_positions(request: Request, facade: AlpacaSandbox, number: str) -> Response:
    return ok(account_positions(facade, number))


@account_route
async def get_position(request: Request, facade: AlpacaSandbox, number: str) -> Response:
    position = find_position(facade, number, request.path_params["symbol_or_asset_id"])
    if position is None:
        return alpaca_error(404, 40410000, "position does not exist")
    return ok(position)


@account_route
async def close_position(request: Request, facade: AlpacaSandbox, number: str) -> Response:
    position = find_position(facade, number, request.path_params["symbol_or_asset_id"])
    if position is None:
        return alpaca_error(404, 40410000, "position does not exist")
    q = request.query_params
    try:
        amount = close_quantity(position, q.get("qty"), q.get("percentage"))
        return ok(close(facade, number, position, amount))
    except orders.Refusal as refusal:
        return refusal.response()


@account_route
async def close_all_positions(request: Request, facade: AlpacaSandbox, number: str) -> Response:
    """One `{symbol, status, order_id, body}` per position (the order, or Alpaca's error)."""
    flag = request.query_params.get("cancel_orders", "false").lower()
    if flag not in ("true", "false"):
        return alpaca_error(422, 40010000, "cancel_orders must be true or false")
    if flag == "true":
        orders.cancel_all(facade, number)
    results = []
    for position in account_positions(facade, number):
        try:
            order = close(facade, number, position, abs(dec(position["qty"])))
        except orders.Refusal as refusal:
            error = {"code": refusal.code, "message": refusal.message, "symbol": position["symbol"]}
            results.append({"symbol": position["symbol"], "status": refusal.status, "body": error})
            continue
        results.append(
            {"symbol": position["symbol"], "status": 200, "order_id": order["id"], "body": order}
        )
    return ok(results, 207)


_POSITIONS = "/alpaca/v1/trading/accounts/{account_id}/positions"
routes = [
    Route(_POSITIONS, list_positions, methods=["GET"]),
    Route(_POSITIONS, close_all_positions, methods=["DELETE"]),
    Route(f"{_POSITIONS}/{{symbol_or_asset_id}}", get_position, methods=["GET"]),
    Route(f"{_POSITIONS}/{{symbol_or_asset_id}}", close_position, methods=["DELETE"]),
]
