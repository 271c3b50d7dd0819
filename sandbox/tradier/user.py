"""Tradier's user-level account reads: `GET /v1/user/balances`, `/positions`, `/history`,
`/gainloss` and `/orders`, one call for all of the token's accounts.

Tradier documents them as the multi-account form of the account-based calls (balances is
supported, history and orders deprecated; positions and gain/loss are in Tradier's own
client library): `{"accounts": {"account": [{"account_number": ..., "<kind>": ...}]}}`,
where each account's part is exactly what `/v1/accounts/{n}/<kind>` answers. The
account-based parameters apply to every account, and a bad one is refused once, 400.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.tradier import api
from sandbox.tradier.api import TradierCustomer, TradierSandbox, endpoint
from sandbox.tradier.history import gainloss_part, history_part
from sandbox.tradier.orders import orders_part
from sandbox.tradier.query import BadQuery
from sandbox.tradier.wire import PREFIX, collapse, errors, render

Part = Callable[[Request, TradierSandbox, str], Any]


def _balances_part(request: Request, facade: TradierSandbox, number: str) -> Any:
    return api.balances(request, facade, number)["balances"]


def _positions_part(request: Request, facade: TradierSandbox, number: str) -> Any:
    return api.positions(request, facade, number)["positions"]


#: each user-level path and how one account's part of it is built
PARTS: dict[str, Part] = {
    "balances": _balances_part,
    "positions": _positions_part,
    "history": history_part,
    "gainloss": gainloss_part,
    "orders": orders_part,
}


def user_handler(kind: str, part: Part) -> Callable[[Request], Awaitable[Response]]:
    """`GET /v1/user/<kind>`: every account's part, in the profile's account order."""

    async def handler(request: Request, facade: TradierSandbox, c: TradierCustomer) -> Response:
        try:
            items = [{"account_number": n, kind: part(request, facade, n)} for n in c.accounts]
        except BadQuery as exc:
            return errors(request, str(exc))
        return render(request, {"accounts": {"account": collapse(items)}})

    handler.__name__ = f"user_{kind}"
    return endpoint(handler)


routes = [
    Route(f"{PREFIX}/v1/user/{kind}", user_handler(kind, part), methods=["GET"])
    for kind, part in PARTS.items()
]
