"""Tradier's security lists: the company search (`GET /v1/markets/search`) and the
easy-to-borrow list (`GET /v1/markets/etb`), both over the securities the simulated market
knows by name.

A security is described the way the quotes describe it (the market's description and
`core.listings.instrument_kind`), and ETB follows the market's lendability
(`core.fundamentals`), the fact tastytrade reports as `lendability`: the brokers agree on
what can be shorted.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.core.fundamentals import fundamentals
from sandbox.core.market.listings import instrument_kind, listed_symbols
from sandbox.tradier.api import TradierCustomer, TradierSandbox, endpoint
from sandbox.tradier.wire import PREFIX, collapse, errors, render

#: the exchange every listed security reports (the one the look-up and quotes use)
EXCHANGE = "Q"
EASY_TO_BORROW = "Easy To Borrow"


def security_item(symbol: str, description: str) -> dict[str, Any]:
    """One `security` entry: symbol, exchange, type (as the quotes say it), description."""
    return {
        "symbol": symbol,
        "exchange": EXCHANGE,
        "type": instrument_kind(symbol) or "stock",
        "description": description,
    }


def _securities(items: list[dict[str, Any]]) -> dict[str, Any]:
    """Tradier's wrapper: one item is an object, none is `{"securities": null}`."""
    return {"securities": {"security": collapse(items)} if items else None}


def _matches(query: str, symbol: str, description: str) -> bool:
    """A partial match on the symbol (its start) or the company name (anywhere)."""
    return symbol.startswith(query) or query in description.upper()


def _average_volume(facade: TradierSandbox, symbol: str) -> int:
    """What the quotes report as `average_volume` (0 if the market cannot quote it)."""
    market = facade.sandbox.market
    return market.summary(symbol)["prevDayVolume"] if market.ensure(symbol) else 0


async def search(request: Request, facade: TradierSandbox, c: TradierCustomer) -> Response:
    """Busiest first (by the quotes' `average_volume`), as Tradier orders its results."""
    query = request.query_params.get("q", "").strip().upper()
    if not query:
        return errors(request, "Missing q: the search query is required")
    raw = request.query_params.get("indexes", "").strip().lower() or "true"
    if raw not in ("true", "false"):
        return errors(request, f"Invalid indexes {raw}: true or false")
    found = [
        (symbol, description)
        for symbol, description, index in listed_symbols()
        if _matches(query, symbol, description) and (raw == "true" or not index)
    ]
    found.sort(key=lambda s: (-_average_volume(facade, s[0]), s[0]))
    return render(request, _securities([security_item(s, d) for s, d in found]))


async def etb(request: Request, facade: TradierSandbox, c: TradierCustomer) -> Response:
    """Every listed stock and ETF the market lends easily (an index cannot be shorted)."""
    market, today = facade.sandbox.market, facade.sandbox.market_date()
    items = []
    for symbol, description, index in sorted(listed_symbols()):
        facts = None if index else fundamentals(market, symbol, today)
        if facts is not None and facts.lendability == EASY_TO_BORROW:
            items.append(security_item(symbol, description))
    return render(request, _securities(items))


routes = [
    Route(f"{PREFIX}/v1/markets/search", endpoint(search), methods=["GET"]),
    Route(f"{PREFIX}/v1/markets/etb", endpoint(etb), methods=["GET"]),
]
