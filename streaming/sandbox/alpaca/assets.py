"""Broker API assets (`GET /v1/assets`, `GET /v1/assets/{symbol_or_asset_id}`).

An asset is a stock the simulated market can price: any valid ticker it knows or can
register (the same rule orders follow), except indices (the market's equities without
shares outstanding), which Alpaca does not trade. The list is the stocks the market has
registered so far (everything quoted, held or ordered in this run); the catalogue of every
listed US stock is deliberately absent. Exchange and name follow the position renderer
and the market's profile; fractional trading is off, as in the trading configuration.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..core.symbols import classify
from .broker_api import AlpacaSandbox, alpaca_error, asset_uuid, facade_of, ok


def _is_stock(facade: AlpacaSandbox, symbol: str) -> bool:
    market = facade.sandbox.market
    if classify(symbol) != "equity" or not market.ensure(symbol):
        return False
    return market.profile(symbol)["shares"] is not None


def asset(facade: AlpacaSandbox, symbol: str) -> dict[str, Any]:
    return {
        "id": asset_uuid(symbol),
        "class": "us_equity",
        "exchange": "NASDAQ",
        "symbol": symbol,
        "name": facade.sandbox.market.profile(symbol)["description"],
        "status": "active",
        "tradable": True,
        "marginable": True,
        "shortable": True,
        "easy_to_borrow": True,
        "fractionable": False,
        "maintenance_margin_requirement": 30,
        "attributes": [],
    }


def known_stocks(facade: AlpacaSandbox) -> list[str]:
    symbols = facade.sandbox.market.symbols
    return sorted(s for s in symbols if classify(s) == "equity" and _is_stock(facade, s))


def lookup(facade: AlpacaSandbox, key: str) -> dict[str, Any] | None:
    """By ticker, or by the id of an asset the market has registered."""
    symbol = key.strip().upper()
    if _is_stock(facade, symbol):
        return asset(facade, symbol)
    for known in known_stocks(facade):
        if asset_uuid(known) == key.strip().lower():
            return asset(facade, known)
    return None


async def list_assets(request: Request) -> Response:
    """Filters: `status` (active), `asset_class` (us_equity), `exchange`, `attributes`."""
    facade = facade_of(request)
    customer = facade.authenticate(request)
    if isinstance(customer, Response):
        return customer
    q = request.query_params
    if q.get("status", "active") not in ("active", "inactive"):
        return alpaca_error(422, 40010000, "status must be active or inactive")
    if q.get("asset_class", "us_equity") not in ("us_equity", "us_option", "crypto"):
        return alpaca_error(422, 40010000, "invalid asset_class")
    items = [asset(facade, s) for s in known_stocks(facade)]
    wanted_attributes = {a for a in q.get("attributes", "").split(",") if a}
    items = [
        a
        for a in items
        if a["status"] == q.get("status", "active")
        and a["class"] == q.get("asset_class", "us_equity")
        and (not q.get("exchange") or a["exchange"] == q["exchange"])
        and (not wanted_attributes or wanted_attributes & set(a["attributes"]))
    ]
    return ok(items)


async def get_asset(request: Request) -> Response:
    facade = facade_of(request)
    customer = facade.authenticate(request)
    if isinstance(customer, Response):
        return customer
    found = lookup(facade, request.path_params["symbol_or_asset_id"])
    if found is None:
        return alpaca_error(404, 40410000, "asset not found")
    return ok(found)


routes = [
    Route("/alpaca/v1/assets", list_assets, methods=["GET"]),
    Route("/alpaca/v1/assets/{symbol_or_asset_id}", get_asset, methods=["GET"]),
]
