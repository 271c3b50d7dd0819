"""tastytrade's complex orders (OCO, OTO, OTOCO) on the core's linked orders.

As developer.tastytrade.com documents them (order-management, "Complex Orders"; copy in
tastytrade/tastytrade-mcp, tastytrade-llms-txt-docs/docs/order-management.md):
- `POST /accounts/{n}/complex-orders` (and `/dry-run`) takes `type`, a `trigger-order`
  (OTO, OTOCO) and `orders`, each an ordinary order body (`orders.order_request`). An OTOCO
  is a trigger and two orders that cancel each other, "dormant in Contingent status waiting
  for the trigger order to be filled"; an OTO a trigger and up to 3 orders that do not
  cancel each other; an OCO two closing orders, "when one order fills, the other order gets
  cancelled". The answer is `data.complex-order` ({id, account-number, type, trigger-order,
  orders}) with the buying-power effect and fees, as the SDK's
  `PlacedComplexOrderResponse` parses it (tastytrade 13.x, tastytrade/order.py).
- Each component is an order of its own (its own id, readable at `GET /orders/{id}`) with
  `complex-order-id` and `complex-order-tag` (`record_wire.COMPLEX_ORDER_TAGS`).
- The complex order is cancelled with its own id, "not the trigger order id or any of the
  nested complex order ids" (`DELETE …/complex-orders/{id}`); a component's own
  `DELETE /orders/{id}` is refused (the core's `order_linked`, 422).
- An OCO pair must be one Limit and one Stop or Stop Limit, else 422
  `invalid_oco_order_type_combo` (observed on production, tastytrade/tastytrade-mcp PR #33;
  SDK `OCOOrder`/`OTOCOOrder` take `take_profit: LimitOrder` and
  `stop_loss: StopOrder | StopLimitOrder`).

The behaviour (contingent members, one cancels the other, the group cancelled as one) is
the core's (sandbox/core/linked.py); fills and activations are published by the
simulation's steps. PAIRS (and BLAST) are refused: a ratio-price trigger across two
orders is not simulated.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.core import linked
from sandbox.core.records import AccountEvent, LinkedRequest, OrderRecord, OrderRejected
from sandbox.core.simulation import Simulation
from sandbox.http import json_response
from sandbox.tastytrade import record_wire
from sandbox.tastytrade.history import guarded, paged_response
from sandbox.tastytrade.orders import order_request
from sandbox.tastytrade.rest import (
    account_route,
    authed,
    data_response,
    error_response,
    not_found,
    owned_account,
)
from sandbox.tastytrade.wire import iso

KINDS = ("OCO", "OTO", "OTOCO")
#: Types the API knows (its OpenAPI) that the sandbox does not simulate.
NOT_SIMULATED = ("PAIRS", "BLAST")
#: An OCO pair: one Limit (take profit) and one of these (stop loss).
STOP_TYPES = ("Stop", "Stop Limit")


def refusal(kind: str) -> Response:
    """The 422 a PAIRS (or BLAST) order gets: one preflight check failed, saying why."""
    return json_response(
        {
            "error": {
                "code": "preflight_check_failure",
                "message": "One or more preflight checks failed",
                "errors": [
                    {
                        "code": "complex_order_not_supported",
                        "message": f"{kind} orders are not accepted: they need a ratio-price "
                        "trigger across two orders, which this sandbox does not simulate. "
                        "OCO, OTO and OTOCO orders are.",
                    }
                ],
            }
        },
        422,
    )


def complex_request(kind: str, body: dict[str, Any]) -> LinkedRequest:
    """The complex order body as the core's LinkedRequest; the core checks its shape
    (a trigger for OTO/OTOCO only, 2 orders for OCO/OTOCO, 1 to 3 for OTO)."""
    raw_orders = body.get("orders")
    if not isinstance(raw_orders, list) or not raw_orders:
        raise OrderRejected("invalid_complex_order", "A complex order needs its orders.")
    if kind in ("OCO", "OTOCO"):
        _check_oco_pair(raw_orders)
    trigger = body.get("trigger-order")
    return LinkedRequest(
        kind=kind,
        trigger=None if trigger is None else order_request(trigger),
        orders=tuple(order_request(o) for o in raw_orders),
    )


def _check_oco_pair(raw_orders: list[Any]) -> None:
    """Two orders that cancel each other are one Limit and one Stop or Stop Limit."""
    if len(raw_orders) != 2 or not all(isinstance(o, dict) for o in raw_orders):
        return  # the core refuses the wrong count, order_request a non-object
    types = sorted(str(o.get("order-type")) for o in raw_orders)
    if types[0] != "Limit" or types[1] not in STOP_TYPES:
        raise OrderRejected(
            "invalid_oco_order_type_combo",
            "The orders that cancel each other must be one Limit order and one Stop or "
            f"Stop Limit order, not {' and '.join(types)}.",
        )


def render_complex_order(
    number: str, group_id: int | None, kind: str, records: Iterable[OrderRecord]
) -> dict[str, Any]:
    """A complex order as a PlacedComplexOrder (without an id, a dry run's
    UnplacedComplexOrder): its trigger apart, then the orders it links; `terminal-at`
    once no component works any more."""
    members = list(records)
    rendered = [record_wire.render_order(r) for r in members]
    tagged: list[str | None]
    if group_id is None:  # a dry run: no group yet, the trigger first, tags by position
        trigger_role, roles = linked.roles(kind, len(members) - (kind != "OCO"))
        tagged = [trigger_role, *roles] if trigger_role else [*roles]
        for component, role in zip(rendered, tagged, strict=True):
            component.update(record_wire.complex_order_fields(kind, role, component["status"]))
    else:
        tagged = [r.group_role for r in members]
    data: dict[str, Any] = {} if group_id is None else {"id": group_id}
    data.update({"account-number": number, "type": kind})
    if "trigger" in tagged:
        data["trigger-order"] = rendered.pop(tagged.index("trigger"))
    data["orders"] = rendered
    if members and not any(r.working for r in members):
        ends = [r.terminal_at for r in members if r.terminal_at is not None]
        if ends:
            data["terminal-at"] = iso(max(ends))
    return data


def _render_group(sandbox: Simulation, number: str, group_id: int) -> dict[str, Any] | None:
    members = sandbox.brokerage.group(number, group_id)
    if not members:
        return None
    kind = members[0].group_kind or ""
    return render_complex_order(number, group_id, kind, members)


def _group_ids(records: Iterable[OrderRecord]) -> list[int]:
    """The complex orders these orders belong to, newest first, each once."""
    return sorted({r.group_id for r in records if r.group_id is not None}, reverse=True)


async def _json_body(request: Request) -> tuple[Any, bool]:
    try:
        return orjson.loads(await request.body()), True
    except orjson.JSONDecodeError:
        return None, False


async def place_complex_order(request: Request, sandbox: Simulation, credential: str) -> Response:
    """POST /accounts/{n}/complex-orders[/dry-run]: place (or only price) a complex order;
    a bad body is 400, an order the broker refuses 422. The placed components are pushed
    on the account streamer (`Order` messages: the trigger Received, the rest Contingent)."""
    number = request.path_params["number"]
    if not owned_account(sandbox, credential, number):
        return not_found("Account")
    body, ok = await _json_body(request)
    if not ok:
        return error_response(400, "invalid_json", "Body must be JSON")
    kind = body.get("type") if isinstance(body, dict) else None
    if kind in NOT_SIMULATED:
        return refusal(kind)
    if kind not in KINDS:
        known = ", ".join(KINDS + NOT_SIMULATED)
        return error_response(400, "invalid_complex_order", f"type must be one of {known}")
    dry_run = request.url.path.endswith("/dry-run")
    try:
        placed = sandbox.brokerage.place_linked(
            number, complex_request(kind, body), dry_run=dry_run
        )
    except OrderRejected as exc:
        return error_response(422, exc.code, exc.message)
    if not dry_run:
        sandbox.publish(AccountEvent("Order", number, o) for o in placed.orders)
    buying_power, fees = record_wire.render_preview(placed.preview)
    answer = {
        "complex-order": render_complex_order(number, placed.group_id, kind, placed.orders),
        "buying-power-effect": buying_power,
        "fee-calculation": fees,
        "warnings": [],
    }
    return data_response(request, answer, 200 if dry_run else 201)


def live_complex_orders(request: Request, sandbox: Simulation, number: str) -> Any:
    """GET …/complex-orders/live: the complex orders with a component working or done
    today (as `GET /orders/live` lists orders), newest first."""
    ids = _group_ids(sandbox.brokerage.live_orders(number))
    return {"items": [c for i in ids if (c := _render_group(sandbox, number, i)) is not None]}


def complex_order_history(request: Request, sandbox: Simulation, number: str) -> Response:
    """GET …/complex-orders: every complex order of the account, newest first, paged as
    the order history is (the SDK's `get_complex_order_history`)."""
    ids = _group_ids(sandbox.brokerage.order_history(number))
    items = [c for i in ids if (c := _render_group(sandbox, number, i)) is not None]
    return paged_response(request, items, 10)


async def one_complex_order(request: Request, sandbox: Simulation, credential: str) -> Response:
    """GET …/complex-orders/{id}: the complex order with its components as they stand;
    DELETE cancels every component not yet terminal ("cancellation for all non terminal
    components", the OpenAPI) and answers the complex order, as the docs' example does."""
    number = request.path_params["number"]
    if not owned_account(sandbox, credential, number):
        return not_found("Account")
    group_id = int(request.path_params["order_id"])
    if not sandbox.brokerage.group(number, group_id):
        return not_found("Complex order")
    if request.method == "DELETE":
        try:
            cancelled = sandbox.brokerage.cancel_group(number, group_id)
        except OrderRejected as exc:
            return error_response(exc.status if exc.status == 404 else 422, exc.code, exc.message)
        sandbox.publish(AccountEvent("Order", number, o) for o in cancelled)
    return data_response(request, _render_group(sandbox, number, group_id))


routes = [
    Route("/accounts/{number}/complex-orders", guarded(complex_order_history)),
    Route("/accounts/{number}/complex-orders", authed(place_complex_order), methods=["POST"]),
    Route(
        "/accounts/{number}/complex-orders/dry-run", authed(place_complex_order), methods=["POST"]
    ),
    Route("/accounts/{number}/complex-orders/live", account_route(live_complex_orders)),
    Route(
        "/accounts/{number}/complex-orders/{order_id:int}",
        authed(one_complex_order),
        methods=["GET", "DELETE"],
    ),
]
