"""The Alpaca endpoint families as route factories, so the Broker API
(`/v1/trading/accounts/{account_id}/…`, HTTP Basic) and the Trading API (`/v2/…`,
`APCA-API-*` headers) are two thin route sets over the same handlers and semantics.

A factory takes the path prefix and the API (which decides how a request's customer and
account are found, `facade.account_scope`); each handler parses the request, calls one
semantic function and answers its result or its `Refusal`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from . import accounts, activities, assets, orders, positions, render, schedule
from .customers import BROKER
from .facade import Scope, account_scope, authenticate, facade_of
from .wire import BAD_INPUT, NOT_FOUND, Refusal, alpaca_error, ok

Work = Callable[[Request, Scope], Awaitable[Response]]


def scoped(api: str, work: Work) -> Callable[[Request], Awaitable[Response]]:
    """An account endpoint: the customer and account resolved (401/404 in Alpaca's shape),
    then `work`; a `Refusal` it raises is the answer."""

    async def endpoint(request: Request) -> Response:
        account_id = request.path_params.get("account_id") if api == BROKER else None
        scope = account_scope(request, api, account_id)
        if isinstance(scope, Response):
            return scope
        try:
            return await work(request, scope)
        except Refusal as refusal:
            return refusal.response()

    endpoint.__name__ = getattr(work, "__name__", "endpoint")
    return endpoint


def authed(api: str, work: Callable[[Request], Any]) -> Callable[[Request], Awaitable[Response]]:
    """An endpoint that needs a valid key but no account (market reference data)."""

    async def endpoint(request: Request) -> Response:
        customer = authenticate(request, api)
        if isinstance(customer, Response):
            return customer
        try:
            return ok(work(request))
        except Refusal as refusal:
            return refusal.response()

    return endpoint


async def json_body(request: Request) -> dict[str, Any]:
    try:
        body = orjson.loads(await request.body() or b"{}")
    except orjson.JSONDecodeError:
        raise Refusal(400, BAD_INPUT, "request body format is invalid") from None
    if not isinstance(body, dict):
        raise Refusal(400, BAD_INPUT, "request body format is invalid")
    return body


# --------------------------------------------------------------------------- accounts


async def _trade_account(request: Request, scope: Scope) -> Response:
    return ok(accounts.trade_account(scope))


async def _configurations(request: Request, scope: Scope) -> Response:
    return ok(accounts.trade_configuration(scope))


def account_routes(prefix: str, api: str) -> list[Route]:
    """`{prefix}/account` and its `/configurations`."""
    return [
        Route(f"{prefix}/account", scoped(api, _trade_account), methods=["GET"]),
        Route(f"{prefix}/account/configurations", scoped(api, _configurations), methods=["GET"]),
    ]


def activity_routes(prefix: str, api: str) -> list[Route]:
    """`{prefix}/activities[/{activity_type}]`: the key's accounts (Broker API, narrowed by
    `account_id`) or its one account (Trading API)."""

    async def list_activities(request: Request) -> Response:
        customer = authenticate(request, api)
        if isinstance(customer, Response):
            return customer
        facade = facade_of(request)
        numbers = list(customer.accounts)
        if api == BROKER and request.query_params.get("account_id"):
            number = facade.keys.account_of(customer, request.query_params["account_id"])
            if number is None:
                return alpaca_error(404, NOT_FOUND, "account not found")
            numbers = [number]
        path_type = request.path_params.get("activity_type")
        try:
            return ok(activities.select(facade.sandbox, numbers, request.query_params, path_type))
        except Refusal as refusal:
            return refusal.response()

    return [
        Route(f"{prefix}/activities", list_activities, methods=["GET"]),
        Route(f"{prefix}/activities/{{activity_type}}", list_activities, methods=["GET"]),
    ]


# --------------------------------------------------------------------------- positions


async def _list_positions(request: Request, scope: Scope) -> Response:
    return ok(positions.all_positions(scope))


async def _get_position(request: Request, scope: Scope) -> Response:
    return ok(render.position(positions.find(scope, request.path_params["symbol_or_asset_id"])))


async def _close_position(request: Request, scope: Scope) -> Response:
    q = request.query_params
    key = request.path_params["symbol_or_asset_id"]
    return ok(positions.close(scope, key, q.get("qty"), q.get("percentage")))


async def _close_all_positions(request: Request, scope: Scope) -> Response:
    return ok(positions.close_all(scope, request.query_params.get("cancel_orders")), 207)


def position_routes(prefix: str, api: str) -> list[Route]:
    one = f"{prefix}/{{symbol_or_asset_id:path}}"
    return [
        Route(prefix, scoped(api, _list_positions), methods=["GET"]),
        Route(prefix, scoped(api, _close_all_positions), methods=["DELETE"]),
        Route(one, scoped(api, _get_position), methods=["GET"]),
        Route(one, scoped(api, _close_position), methods=["DELETE"]),
    ]


# --------------------------------------------------------------------------- orders


async def _list_orders(request: Request, scope: Scope) -> Response:
    return ok(orders.select(scope, request.query_params))


async def _submit_order(request: Request, scope: Scope) -> Response:
    return ok(orders.place(scope, await json_body(request)))


async def _cancel_orders(request: Request, scope: Scope) -> Response:
    return ok(orders.cancel_all(scope), 207)


async def _order_by_client_id(request: Request, scope: Scope) -> Response:
    return ok(orders.by_client_id(scope, request.query_params.get("client_order_id")))


async def _get_order(request: Request, scope: Scope) -> Response:
    return ok(orders.get(scope, request.path_params["order_id"]))


async def _replace_order(request: Request, scope: Scope) -> Response:
    changes = await json_body(request)
    return ok(orders.replace(scope, request.path_params["order_id"], changes))


async def _cancel_order(request: Request, scope: Scope) -> Response:
    orders.cancel(scope, request.path_params["order_id"])
    return Response(status_code=204)


def order_routes(prefix: str, api: str) -> list[Route]:
    one = f"{prefix}/{{order_id}}"
    return [
        Route(prefix, scoped(api, _list_orders), methods=["GET"]),
        Route(prefix, scoped(api, _submit_order), methods=["POST"]),
        Route(prefix, scoped(api, _cancel_orders), methods=["DELETE"]),
        Route(f"{prefix}:by_client_order_id", scoped(api, _order_by_client_id), methods=["GET"]),
        Route(one, scoped(api, _get_order), methods=["GET"]),
        Route(one, scoped(api, _replace_order), methods=["PATCH"]),
        Route(one, scoped(api, _cancel_order), methods=["DELETE"]),
    ]


# --------------------------------------------------------------------------- market


def market_routes(prefix: str, api: str) -> list[Route]:
    """Clock, calendar and assets under `prefix` (`/alpaca/v1` or `/alpaca/v2`)."""

    def clock(request: Request) -> Any:
        return schedule.clock()

    def calendar(request: Request) -> Any:
        q = request.query_params
        return schedule.calendar(q.get("start"), q.get("end"))

    def list_assets(request: Request) -> Any:
        return assets.select(facade_of(request).sandbox, request.query_params)

    def get_asset(request: Request) -> Any:
        key = request.path_params["symbol_or_asset_id"]
        return assets.lookup(facade_of(request).sandbox, key)

    return [
        Route(f"{prefix}/clock", authed(api, clock), methods=["GET"]),
        Route(f"{prefix}/calendar", authed(api, calendar), methods=["GET"]),
        Route(f"{prefix}/assets", authed(api, list_assets), methods=["GET"]),
        Route(f"{prefix}/assets/{{symbol_or_asset_id}}", authed(api, get_asset), methods=["GET"]),
    ]
