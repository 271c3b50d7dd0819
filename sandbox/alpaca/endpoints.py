"""The Alpaca endpoint families as route factories, so the Broker API
(`/v1/trading/accounts/{account_id}/…`, HTTP Basic) and the Trading API (`/v2/…`,
`APCA-API-*` headers) are two thin route sets over the same handlers and semantics.

A factory takes the path prefix and the API (which decides how a request's customer and
account are found, `facade.account_scope`); each handler parses the request, calls one
semantic function and answers its result or its `Refusal`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.alpaca import (
    accounts,
    activities,
    assets,
    contracts,
    portfolio,
    positions,
    render,
    schedule,
    watchlists,
)
from sandbox.alpaca.customers import BROKER
from sandbox.alpaca.facade import Scope, account_scope, authenticate, facade_of
from sandbox.alpaca.orders import brackets, cancel, query, replace, submit
from sandbox.alpaca.wire import BAD_INPUT, NOT_FOUND, Refusal, alpaca_error, ok
from sandbox.core import trading_calendar as cal

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


async def _set_configurations(request: Request, scope: Scope) -> Response:
    return ok(accounts.update_configuration(scope, await json_body(request)))


async def _portfolio_history(request: Request, scope: Scope) -> Response:
    sandbox = scope.facade.sandbox
    return ok(portfolio.history(sandbox, scope.number, request.query_params))


def account_routes(prefix: str, api: str) -> list[Route]:
    """`{prefix}/account`, its `/configurations` (read and PATCH) and its
    `/portfolio/history`."""
    config = f"{prefix}/account/configurations"
    return [
        Route(f"{prefix}/account", scoped(api, _trade_account), methods=["GET"]),
        Route(config, scoped(api, _configurations), methods=["GET"]),
        Route(config, scoped(api, _set_configurations), methods=["PATCH"]),
        Route(
            f"{prefix}/account/portfolio/history",
            scoped(api, _portfolio_history),
            methods=["GET"],
        ),
    ]


# --------------------------------------------------------------------------- watchlists


async def _list_watchlists(request: Request, scope: Scope) -> Response:
    return ok(watchlists.listing(scope.facade.sandbox, scope.facade.watchlists, scope.number))


async def _create_watchlist(request: Request, scope: Scope) -> Response:
    body = await json_body(request)
    book = scope.facade.watchlists
    return ok(watchlists.create(scope.facade.sandbox, book, scope.number, body))


async def _get_watchlist(request: Request, scope: Scope) -> Response:
    found = scope.facade.watchlists.find(scope.number, request.path_params["watchlist_id"])
    return ok(watchlists.render(scope.facade.sandbox, found))


async def _update_watchlist(request: Request, scope: Scope) -> Response:
    body, wid = await json_body(request), request.path_params["watchlist_id"]
    book = scope.facade.watchlists
    return ok(watchlists.update(scope.facade.sandbox, book, scope.number, wid, body))


async def _add_to_watchlist(request: Request, scope: Scope) -> Response:
    body, wid = await json_body(request), request.path_params["watchlist_id"]
    book = scope.facade.watchlists
    return ok(watchlists.add(scope.facade.sandbox, book, scope.number, wid, body))


async def _delete_watchlist(request: Request, scope: Scope) -> Response:
    watchlists.delete(scope.facade.watchlists, scope.number, request.path_params["watchlist_id"])
    return Response(status_code=204)


async def _remove_from_watchlist(request: Request, scope: Scope) -> Response:
    wid, symbol = request.path_params["watchlist_id"], request.path_params["symbol"]
    book = scope.facade.watchlists
    return ok(watchlists.remove(scope.facade.sandbox, book, scope.number, wid, symbol))


def watchlist_routes(prefix: str, api: str) -> list[Route]:
    """`{prefix}` (list, create), `{prefix}/{id}` (get, replace, add a symbol, delete) and
    `{prefix}/{id}/{symbol}` (remove it)."""
    one = f"{prefix}/{{watchlist_id}}"
    return [
        Route(prefix, scoped(api, _list_watchlists), methods=["GET"]),
        Route(prefix, scoped(api, _create_watchlist), methods=["POST"]),
        Route(one, scoped(api, _get_watchlist), methods=["GET"]),
        Route(one, scoped(api, _update_watchlist), methods=["PUT"]),
        Route(one, scoped(api, _add_to_watchlist), methods=["POST"]),
        Route(one, scoped(api, _delete_watchlist), methods=["DELETE"]),
        Route(f"{one}/{{symbol}}", scoped(api, _remove_from_watchlist), methods=["DELETE"]),
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
    return ok(query.select(scope, request.query_params))


async def _submit_order(request: Request, scope: Scope) -> Response:
    body = await json_body(request)
    if brackets.is_linked(body):  # bracket, oco, oto
        return ok(brackets.place(scope, body))
    return ok(submit.place(scope, body))


async def _cancel_orders(request: Request, scope: Scope) -> Response:
    return ok(cancel.cancel_all(scope), 207)


async def _order_by_client_id(request: Request, scope: Scope) -> Response:
    return ok(query.by_client_id(scope, request.query_params.get("client_order_id")))


async def _get_order(request: Request, scope: Scope) -> Response:
    nested = request.query_params.get("nested")
    return ok(query.get(scope, request.path_params["order_id"], nested))


async def _replace_order(request: Request, scope: Scope) -> Response:
    changes = await json_body(request)
    return ok(replace.replace(scope, request.path_params["order_id"], changes))


async def _cancel_order(request: Request, scope: Scope) -> Response:
    cancel.cancel(scope, request.path_params["order_id"])
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
        now = facade_of(request).sandbox.now()
        return schedule.clock(dt.datetime.fromtimestamp(now, cal.NEW_YORK))

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
        # `:path`: a coin's symbol has a slash (`GET …/assets/BTC/USD`, as alpaca-py sends it)
        Route(
            f"{prefix}/assets/{{symbol_or_asset_id:path}}", authed(api, get_asset), methods=["GET"]
        ),
    ]


def option_contract_routes(prefix: str, api: str) -> list[Route]:
    """`{prefix}/options/contracts` and one contract by symbol or id (Trading API)."""

    def list_contracts(request: Request) -> Any:
        return contracts.select(facade_of(request).sandbox, request.query_params)

    def get_contract(request: Request) -> Any:
        key = request.path_params["symbol_or_id"]
        return contracts.lookup(facade_of(request).sandbox, key)

    one = f"{prefix}/options/contracts/{{symbol_or_id}}"
    return [
        Route(f"{prefix}/options/contracts", authed(api, list_contracts), methods=["GET"]),
        Route(one, authed(api, get_contract), methods=["GET"]),
    ]
