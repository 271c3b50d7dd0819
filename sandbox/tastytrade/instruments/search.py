"""tastytrade's symbol search (`symbol_search`): symbols starting with the query, then names
with a word starting with it."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from sandbox.core.market.listings import instrument_kind, named_symbols
from sandbox.core.simulation import Simulation
from sandbox.tastytrade.instruments.equities import LISTED_MARKET, facts_of
from sandbox.tastytrade.rest import data_response

MAX_SEARCH_RESULTS = 20


def search_item(symbol: str, description: str) -> dict[str, Any]:
    kind = instrument_kind(symbol)
    optionable = kind in ("stock", "etf", "index")
    return {
        "symbol": symbol,
        "description": description,
        "listed-market": "XCME" if kind == "future" else LISTED_MARKET.get(kind or "", "XNAS"),
        "price-increments": "0.01",
        "trading-hours": "",
        "options": optionable,
        "instrument-type": {"future": "Future", "index": "Index"}.get(kind or "", "Equity"),
    }


async def symbol_search(request: Request, sandbox: Simulation, credential: str) -> Response:
    """Symbols starting with the query, then names with a word starting with it; an exact
    ticker the market would quote is found even if it has no name here."""
    query = request.path_params["query"].strip()
    upper = query.upper()
    if not query:
        return data_response(request, {"items": []})
    named = named_symbols()
    found: dict[str, str] = {}
    if upper not in named and instrument_kind(upper) in ("stock", "etf", "index"):
        facts = facts_of(sandbox, upper)
        if facts:
            found[upper] = facts.description
    for symbol in sorted(named, key=lambda s: (len(s), s)):
        if symbol.startswith(upper):
            found[symbol] = named[symbol]
    for symbol, description in sorted(named.items()):
        if any(word.upper().startswith(upper) for word in description.split()):
            found.setdefault(symbol, description)
    items = [search_item(s, d) for s, d in list(found.items())[:MAX_SEARCH_RESULTS]]
    return data_response(request, {"items": items})
