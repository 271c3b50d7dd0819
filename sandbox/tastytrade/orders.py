"""tastytrade's order endpoints: place (and dry-run), read, replace, cancel, list live
orders and the order history (filters and the SDK's paging).

The SDK's order JSON is parsed here into the brokerage's broker-neutral `OrderRequest`, and
the brokerage's order records are rendered back through `record_wire.py`. Refusals answer in
tastytrade's one error shape (`rest.error_response`).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.core.records import (
    CRYPTOCURRENCY,
    AccountEvent,
    LegRequest,
    OrderRejected,
    OrderRequest,
    parse_decimal,
)
from sandbox.core.simulation import Simulation
from sandbox.tastytrade import record_wire
from sandbox.tastytrade.history import BadQuery, day_bounds, guarded, paged_response
from sandbox.tastytrade.rest import (
    account_route,
    authed,
    data_response,
    error_response,
    not_found,
    owned_account,
)

#: tastytrade's order type for a dollar amount (the core's notional Market order).
NOTIONAL_MARKET = "Notional Market"


def replace_request(body: Any) -> OrderRequest:
    """The SDK's `replace_order` body (the new order without its legs) as an OrderRequest
    with no legs: the brokerage keeps the old order's."""
    if not isinstance(body, dict):
        raise OrderRejected("invalid_order", "The order body must be a JSON object.")
    return OrderRequest(
        order_type=_order_type(body),
        legs=(),
        time_in_force=body.get("time-in-force", "Day"),
        price=_price(body),
        price_effect=body.get("price-effect"),
        source=body.get("source") if isinstance(body.get("source"), str) else None,
        client_order_id=_text(body.get("external-identifier")),
        stop_trigger=_decimal(body, "stop-trigger"),
    )


def order_request(body: Any) -> OrderRequest:
    """The SDK's order JSON (`NewOrder.model_dump(by_alias=True)`) as an OrderRequest.

    Coins trade in parts of a unit (a `Cryptocurrency` leg's quantity to 8 places), and a
    `Notional Market` order buys or sells `value` dollars of one coin, its leg without a
    quantity (developer.tastytrade.com order-submission: "one leg without quantity",
    `value` + `value-effect`, not with a price). The notional of an equity needs
    `is-fractional-quantity-eligible`, which no sandbox equity is."""
    if not isinstance(body, dict):
        raise OrderRejected("invalid_order", "The order body must be a JSON object.")
    raw_legs = body.get("legs")
    if not isinstance(raw_legs, list) or not raw_legs or len(raw_legs) > 4:
        raise OrderRejected("invalid_legs", "An order needs 1 to 4 legs.")
    notional = _notional(body)
    legs = []
    for raw in raw_legs:
        if not isinstance(raw, dict):
            raise OrderRejected("invalid_legs", "Each leg must be a JSON object.")
        symbol = raw.get("symbol")
        if not isinstance(symbol, str) or not symbol.strip():
            raise OrderRejected("invalid_symbol", "Each leg needs a symbol.")
        quantity = parse_decimal(raw.get("quantity"))
        if notional is not None and raw.get("quantity") is None:
            quantity = Decimal(0)  # sized at the fill
        elif quantity is None:
            raise OrderRejected("invalid_quantity", f"Bad quantity {raw.get('quantity')!r}.")
        legs.append(
            LegRequest(
                symbol=symbol,
                action=raw.get("action"),
                quantity=quantity,
                instrument_type=raw.get("instrument-type"),
            )
        )
    coins = any(leg.instrument_type == CRYPTOCURRENCY for leg in legs)
    if notional is not None and not coins:
        raise OrderRejected(
            "invalid_notional",
            "A Notional Market order trades a cryptocurrency here (no equity is "
            "fractional-quantity eligible).",
        )
    return OrderRequest(
        order_type="Market" if notional is not None else _order_type(body),
        legs=tuple(legs),
        time_in_force=body.get("time-in-force", "Day"),
        price=_price(body),
        price_effect=body.get("price-effect"),
        source=body.get("source") if isinstance(body.get("source"), str) else None,
        client_order_id=_text(body.get("external-identifier")),
        stop_trigger=_decimal(body, "stop-trigger"),
        fractional=coins,
        notional=notional,
    )


def _notional(body: dict[str, Any]) -> Decimal | None:
    """A `Notional Market` order's `value` (unsigned; None for any other type)."""
    if body.get("order-type") != NOTIONAL_MARKET:
        if body.get("value") is not None:
            raise OrderRejected("invalid_notional", "Only a Notional Market order has a value.")
        return None
    if body.get("price") is not None:
        raise OrderRejected("invalid_notional", "A Notional Market order has a value, no price.")
    value = _decimal(body, "value")
    if value is None:
        raise OrderRejected("invalid_notional", "A Notional Market order needs a value.")
    return value


def _order_type(body: dict[str, Any]) -> Any:
    """The body's `order-type`; the core's Trailing Stop is not a tastytrade order type (the
    SDK's `OrderType` has none), so it is refused as any unknown type is."""
    kind = body.get("order-type")
    if kind == "Trailing Stop":
        raise OrderRejected("unsupported_order_type", f"Order type {kind!r} is not supported.")
    return kind


def _price(body: dict[str, Any]) -> Any:
    return _decimal(body, "price")


def _decimal(body: dict[str, Any], field: str) -> Any:
    """A number field of the body (the SDK sends them as strings), None when absent."""
    raw = body.get(field)
    if raw is None:
        return None
    value = parse_decimal(raw)
    if value is None:
        code = "invalid_price" if field == "price" else f"invalid_{field.replace('-', '_')}"
        raise OrderRejected(code, f"Bad {field} {raw!r}.")
    return value


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


async def _json_body(request: Request) -> Any:
    try:
        return orjson.loads(await request.body())
    except orjson.JSONDecodeError:
        return _INVALID_JSON


_INVALID_JSON = object()


def live_orders(request: Request, sandbox: Simulation, number: str) -> Any:
    return {"items": [record_wire.render_order(o) for o in sandbox.brokerage.live_orders(number)]}


def get_order(request: Request, sandbox: Simulation, number: str) -> Any:
    order = sandbox.brokerage.order(number, int(request.path_params["order_id"]))
    return None if order is None else record_wire.render_order(order)


def cancel_order(request: Request, sandbox: Simulation, number: str) -> Any:
    order = sandbox.brokerage.cancel_order(number, int(request.path_params["order_id"]))
    sandbox.publish([AccountEvent("Order", number, order)])
    return record_wire.render_order(order)


async def place_order(request: Request, sandbox: Simulation, credential: str) -> Response:
    number = request.path_params["number"]
    if not owned_account(sandbox, credential, number):
        return not_found("Account")
    body = await _json_body(request)
    if body is _INVALID_JSON:
        return error_response(400, "invalid_json", "Body must be JSON")
    dry_run = request.url.path.endswith("/dry-run")
    try:
        placed = sandbox.brokerage.place_order(number, order_request(body), dry_run=dry_run)
    except OrderRejected as exc:
        return error_response(422, exc.code, exc.message)
    if not dry_run:
        sandbox.publish([AccountEvent("Order", number, placed.order)])
    return data_response(request, record_wire.render_placed(placed), 201 if not dry_run else 200)


async def replace_order(request: Request, sandbox: Simulation, credential: str) -> Response:
    """PUT /accounts/{n}/orders/{id}: a new order (new id) takes the old one's place; the old
    one ends Cancelled. Answers the new order, as the SDK's `replace_order` parses it."""
    number = request.path_params["number"]
    if not owned_account(sandbox, credential, number):
        return not_found("Account")
    body = await _json_body(request)
    if body is _INVALID_JSON:
        return error_response(400, "invalid_json", "Body must be JSON")
    order_id = int(request.path_params["order_id"])
    try:
        placed = sandbox.brokerage.replace_order(number, order_id, replace_request(body))
    except OrderRejected as exc:
        return error_response(exc.status if exc.status == 404 else 422, exc.code, exc.message)
    events = [AccountEvent("Order", number, placed.order)]
    if placed.replaced is not None:
        events.insert(0, AccountEvent("Order", number, placed.replaced))
    sandbox.publish(events)
    return data_response(request, record_wire.render_order(placed.order))


def order_history(request: Request, sandbox: Simulation, number: str) -> Response:
    """GET /accounts/{n}/orders: every order, newest first (`sort=Asc` for oldest first),
    filtered by `status[]`, `underlying-symbol`, `start-date`/`end-date`, `start-at`/`end-at`."""
    q = request.query_params
    sort = q.get("sort") or "Desc"
    if sort not in ("Asc", "Desc"):
        raise BadQuery("sort must be Asc or Desc")
    start, end = day_bounds(request, "start-date", "end-date")
    found = sandbox.brokerage.order_history(
        number,
        statuses=set(q.getlist("status[]")) or None,
        underlying_symbol=q.get("underlying-symbol") or None,
        start=start,
        end=end,
    )
    if sort == "Asc":
        found.reverse()
    return paged_response(request, [record_wire.render_order(o) for o in found], 10)


routes = [
    Route("/accounts/{number}/orders", guarded(order_history)),
    Route("/accounts/{number}/orders/{order_id:int}", authed(replace_order), methods=["PUT"]),
    Route("/accounts/{number}/orders/live", account_route(live_orders)),
    Route("/accounts/{number}/orders", authed(place_order), methods=["POST"]),
    Route("/accounts/{number}/orders/dry-run", authed(place_order), methods=["POST"]),
    Route("/accounts/{number}/orders/{order_id:int}", account_route(get_order)),
    Route(
        "/accounts/{number}/orders/{order_id:int}", account_route(cancel_order), methods=["DELETE"]
    ),
]
