"""tastytrade's complex orders (OCO, OTO, OTOCO, PAIRS): refused, honestly.

The brokerage simulates single orders only: an OCO needs one fill to cancel the other, an
OTO or OTOCO orders that start working when another fills, a second order lifecycle the
core does not have yet.
Rather than accept orders that would never behave like the real ones, placing (or
dry-running) any complex order answers 422 in tastytrade's preflight-failure shape; the
read endpoints answer as for an account that has none.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.core.simulation import Simulation
from sandbox.http import json_response
from sandbox.tastytrade.history import guarded, paged_response
from sandbox.tastytrade.rest import account_route, authed, error_response, not_found, owned_account

KINDS = ("OCO", "OTO", "OTOCO", "PAIRS")


def refusal(kind: str) -> Response:
    """The 422 a complex order gets: one preflight check failed, saying why."""
    if kind == "OCO":
        why = "it needs one order's fill to cancel the other, which this sandbox does not simulate"
    elif kind in ("OTO", "OTOCO"):
        why = "it needs orders placed on a fill, which this sandbox does not simulate"
    else:
        why = (
            "it needs a ratio-price trigger across two orders, which this sandbox does not simulate"
        )
    return json_response(
        {
            "error": {
                "code": "preflight_check_failure",
                "message": "One or more preflight checks failed",
                "errors": [
                    {
                        "code": "complex_order_not_supported",
                        "message": f"{kind} orders are not accepted: {why}. "
                        "Place Market and Limit orders one by one.",
                    }
                ],
            }
        },
        422,
    )


async def place_complex_order(request: Request, sandbox: Simulation, credential: str) -> Response:
    """POST /accounts/{n}/complex-orders[/dry-run]: a bad body is 400, any complex order 422."""
    if not owned_account(sandbox, credential, request.path_params["number"]):
        return not_found("Account")
    try:
        body: Any = orjson.loads(await request.body())
    except orjson.JSONDecodeError:
        return error_response(400, "invalid_json", "Body must be JSON")
    kind = body.get("type") if isinstance(body, dict) else None
    if kind not in KINDS:
        return error_response(
            400, "invalid_complex_order", f"type must be one of {', '.join(KINDS)}"
        )
    return refusal(kind)


def live_complex_orders(request: Request, sandbox: Simulation, number: str) -> Any:
    return {"items": []}


def complex_order_history(request: Request, sandbox: Simulation, number: str) -> Response:
    return paged_response(request, [], 50)


async def no_complex_order(request: Request, sandbox: Simulation, credential: str) -> Response:
    """GET/DELETE /accounts/{n}/complex-orders/{id}: none was ever placed."""
    if not owned_account(sandbox, credential, request.path_params["number"]):
        return not_found("Account")
    return not_found("Complex order")


routes = [
    Route("/accounts/{number}/complex-orders", guarded(complex_order_history)),
    Route("/accounts/{number}/complex-orders", authed(place_complex_order), methods=["POST"]),
    Route(
        "/accounts/{number}/complex-orders/dry-run", authed(place_complex_order), methods=["POST"]
    ),
    Route("/accounts/{number}/complex-orders/live", account_route(live_complex_orders)),
    Route(
        "/accounts/{number}/complex-orders/{order_id:int}",
        authed(no_complex_order),
        methods=["GET", "DELETE"],
    ),
]
