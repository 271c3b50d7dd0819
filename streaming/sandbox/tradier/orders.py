"""Tradier order actions beyond placing: `preview=true` (the brokerage's dry run) and
cancel (`DELETE /v1/accounts/{n}/orders/{id}`), in Tradier's answer and error shapes.

Modify (`PUT`) is not here yet: it needs modify-in-place in the core brokerage; until then
the router answers it 405 in Tradier's error shape.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..core.brokerage import AccountEvent, OrderRejected
from ..core.symbols import parse_occ_symbol
from .api import (
    _STATUS,
    PREFIX,
    TradierCustomer,
    TradierSandbox,
    endpoint,
    errors,
    params,
    place_order,
    render,
)

_TERMINAL = {"filled", "canceled", "rejected", "expired"}


def _order_status(order: dict[str, Any]) -> str:
    """The brokerage order's state in Tradier's words (the one spot that reads its record)."""
    return _STATUS.get(order["status"], "open")


def _amount(section: dict[str, Any], key: str) -> float:
    """A signed amount of the brokerage's dry-run figures (Debit negative)."""
    value = float(section.get(key) or 0)
    return -value if section.get(f"{key}-effect") == "Debit" else value


def _preview_item(facade: TradierSandbox, form: dict[str, str], result: dict[str, Any]) -> dict:
    """Tradier's preview answer from the dry run: costs from the order's legs at the price
    it would fill at now (the limit, or the far side of the quote)."""
    order, fees = result["order"], result["fee-calculation"]
    leg = order["legs"][0]
    option = parse_occ_symbol(leg["symbol"])
    name = option.streamer_symbol if option else leg["symbol"]
    quote = facade.sandbox.market.quote(name)
    side = form.get("side", "")
    buying = side.startswith("buy")
    price = order.get("price")
    fill = float(price) if price is not None else quote["askPrice" if buying else "bidPrice"]
    quantity = float(leg["quantity"])
    multiplier = 100 if option else 1
    order_cost = round(fill * quantity * multiplier, 4)
    commission = -_amount(fees, "commission")
    other_fees = -_amount(fees, "total-fees") - commission
    margin = result["buying-power-effect"]
    item: dict[str, Any] = {
        "status": "ok",
        "commission": commission,
        "cost": round(order_cost + commission + other_fees, 4),
        "fees": other_fees,
        "symbol": option.underlying if option else leg["symbol"],
        "quantity": quantity,
        "side": side,
        "type": form.get("type", "market"),
        "duration": form.get("duration", "day"),
        "result": True,
        "order_cost": order_cost,
        "margin_change": -_amount(margin, "change-in-margin-requirement"),
        "request_date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3],
        "extended_hours": False,
        "class": "option" if option else "equity",
        "strategy": "option" if option else "equity",
        "day_trades": 0,
    }
    if price is not None:
        item["price"] = float(price)
    if option:
        item["option_symbol"] = form.get("option_symbol", "").upper()
    return item


async def place_or_preview(
    request: Request, facade: TradierSandbox, c: TradierCustomer
) -> Response:
    """`preview=true` runs every check of a real order and places nothing."""
    form = await params(request)
    if form.get("preview", "").strip().lower() != "true":
        return await place_order(request, facade, c)
    number = request.path_params["number"]
    if number not in c.accounts:
        return errors(request, f"Invalid account number {number}")
    try:
        request_body = facade.order_request(form)
        result = facade.sandbox.brokerage.place_order(number, request_body, dry_run=True)
    except OrderRejected as exc:
        return errors(request, exc.message)
    return render(request, {"order": _preview_item(facade, form, result)})


async def cancel(request: Request, facade: TradierSandbox, c: TradierCustomer) -> Response:
    number = request.path_params["number"]
    if number not in c.accounts:
        return errors(request, f"Invalid account number {number}")
    raw = request.path_params["order_id"]
    order = facade.sandbox.brokerage.order(number, int(raw)) if raw.isdigit() else None
    if order is None:  # unknown, or another account's: the same answer
        return errors(request, f"Order {raw} not found", 404)
    status = _order_status(order)
    if status in _TERMINAL:
        return errors(request, f"Order {raw} is {status} and cannot be canceled")
    try:
        cancelled = facade.sandbox.brokerage.cancel_order(number, int(raw))
    except OrderRejected as exc:
        return errors(request, exc.message, 404 if exc.status == 404 else 400)
    facade.sandbox.publish([AccountEvent("Order", number, cancelled)])
    return render(request, {"order": {"id": int(raw), "status": "ok"}})


routes = [
    Route(f"{PREFIX}/v1/accounts/{{number}}/orders", endpoint(place_or_preview), methods=["POST"]),
    Route(
        f"{PREFIX}/v1/accounts/{{number}}/orders/{{order_id}}", endpoint(cancel), methods=["DELETE"]
    ),
]
