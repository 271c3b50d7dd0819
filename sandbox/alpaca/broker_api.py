"""Alpaca's Broker API in the sandbox, mounted under `/alpaca` (`BrokerClient(key, secret,
sandbox=True, url_override=<sandbox>/alpaca)`): routes only.

A key (HTTP Basic `key_id:secret_key`) is a customer with two accounts (see
`customers.py`). The endpoint families are the shared ones (`endpoints.py`) under
`/v1/trading/accounts/{account_id}/…`, plus what only the Broker API has: the account
objects (`/v1/accounts`), activities across the key's accounts and the SSE trade-event
stream (`/v1|v2/events/trades`, `trade_events/sse.py`).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.alpaca import accounts, endpoints
from sandbox.alpaca.customers import BROKER
from sandbox.alpaca.facade import Scope, account_scope, authenticate, facade_of
from sandbox.alpaca.trade_events.sse import open_stream
from sandbox.alpaca.wire import Refusal, ok

__all__ = ["routes"]


async def list_accounts(request: Request) -> Response:
    customer = authenticate(request, BROKER)
    if isinstance(customer, Response):
        return customer
    facade = facade_of(request)
    scopes = [Scope(facade, customer, number) for number in customer.accounts]
    try:
        return ok(accounts.select(scopes, request.query_params))
    except Refusal as refusal:
        return refusal.response()


async def get_account(request: Request) -> Response:
    scope = account_scope(request, BROKER, request.path_params["account_id"])
    if isinstance(scope, Response):
        return scope
    return ok(accounts.account_view(scope))


async def events_trades(request: Request) -> Response:
    customer = authenticate(request, BROKER)
    if isinstance(customer, Response):
        return customer
    return await open_stream(facade_of(request).events, customer, request)


_ACCOUNT = "/alpaca/v1/trading/accounts/{account_id}"
routes = [
    # before /v1/accounts/{account_id}: "activities" is not an account id
    *endpoints.activity_routes("/alpaca/v1/accounts", BROKER),
    Route("/alpaca/v1/accounts", list_accounts, methods=["GET"]),
    Route("/alpaca/v1/accounts/{account_id}", get_account, methods=["GET"]),
    *endpoints.account_routes(_ACCOUNT, BROKER),
    *endpoints.position_routes(f"{_ACCOUNT}/positions", BROKER),
    *endpoints.order_routes(f"{_ACCOUNT}/orders", BROKER),
    *endpoints.watchlist_routes(f"{_ACCOUNT}/watchlists", BROKER),
    *endpoints.market_routes("/alpaca/v1", BROKER),
    Route("/alpaca/v2/events/trades", events_trades, methods=["GET"]),
    Route("/alpaca/v1/events/trades", events_trades, methods=["GET"]),
]
