"""tastytrade's watchlists: public lists, pairs lists and each customer's private ones.

Public and pairs watchlists are a few fixed lists of the market's named symbols. Private
watchlists live in memory per customer (credential), for the life of the sandbox, and
take the bodies the SDK's `PrivateWatchlist.upload/update` send: a name plus
`watchlist-entries` of `{symbol, instrument-type?}`. Refusals use tastytrade's shapes:
404 `record_not_found` for an unknown name, 400 `validation_error` for a bad body.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.core.simulation import Simulation
from sandbox.tastytrade.query import bad_request
from sandbox.tastytrade.rest import authed, data_response, error_response, not_found

DEFAULT_GROUP = "default"
DEFAULT_ORDER_INDEX = 9999
INSTRUMENT_TYPES = frozenset(
    {
        "Bond",
        "Cryptocurrency",
        "Currency Pair",
        "Equity",
        "Equity Offering",
        "Equity Option",
        "Event Contract",
        "Fixed Income Security",
        "Future",
        "Future Option",
        "Index",
        "Liquidity Pool",
        "Unknown",
        "Warrant",
    }
)


def _entries(symbols: list[str], instrument_type: str = "Equity") -> list[dict[str, str]]:
    return [{"symbol": s, "instrument-type": instrument_type} for s in symbols]


#: The public lists: the market's named symbols, grouped as a trader would browse them.
PUBLIC_WATCHLISTS: list[dict[str, Any]] = [
    {
        "name": "Liquid ETFs",
        "group-name": "tastytrade",
        "order-index": 0,
        "watchlist-entries": _entries(["SPY", "QQQ", "IWM", "DIA", "VOO", "VTI"]),
    },
    {
        "name": "Mega Caps",
        "group-name": "tastytrade",
        "order-index": 1,
        "watchlist-entries": _entries(
            ["AAPL", "MSFT", "NVDA", "AMZN", "META", "GOOGL", "TSLA", "AMD"]
        ),
    },
    {
        "name": "Indices",
        "group-name": "tastytrade",
        "order-index": 2,
        "watchlist-entries": _entries(["SPX", "XSP", "NDX", "RUT", "VIX"], "Index"),
    },
    {
        "name": "Income ETFs",
        "group-name": "tastytrade",
        "order-index": 3,
        "watchlist-entries": _entries(["SCHD", "VXUS", "BND"]),
    },
]


def _pair(left: str, right: str, left_qty: int = 1, right_qty: int = 1) -> dict[str, Any]:
    return {
        "left-action": "Buy",
        "left-symbol": left,
        "left-quantity": left_qty,
        "right-action": "Sell",
        "right-symbol": right,
        "right-quantity": right_qty,
    }


PAIRS_WATCHLISTS: list[dict[str, Any]] = [
    {
        "name": "Index ETF Pairs",
        "order-index": 0,
        "pairs-equations": [_pair("SPY", "QQQ"), _pair("IWM", "SPY", 3, 1), _pair("DIA", "SPY")],
    },
    {
        "name": "Share Class Pairs",
        "order-index": 1,
        "pairs-equations": [_pair("GOOGL", "GOOG")],
    },
]


@dataclass
class WatchlistStore:
    """Every customer's private watchlists, by credential, then by name (in order)."""

    lists: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)

    def of(self, credential: str) -> dict[str, dict[str, Any]]:
        return self.lists.setdefault(credential, {})


def store_of(request: Request) -> WatchlistStore:
    """The app's store, made on first use (one per sandbox app)."""
    state = request.app.state
    store = getattr(state, "tastytrade_watchlists", None)
    if store is None:
        store = state.tastytrade_watchlists = WatchlistStore()
    return store


def _find(items: list[dict[str, Any]], name: str) -> dict[str, Any] | None:
    return next((i for i in items if i["name"] == name), None)


# -- public and pairs --------------------------------------------------------------------
async def public_watchlists(request: Request, sandbox: Simulation, credential: str) -> Response:
    """All public lists; `counts-only=true` sends each list's size instead of its entries."""
    if request.query_params.get("counts-only", "false").lower() == "true":
        items = [
            {
                **{k: v for k, v in w.items() if k != "watchlist-entries"},
                "total-count": len(w["watchlist-entries"]),
            }
            for w in PUBLIC_WATCHLISTS
        ]
        return data_response(request, {"items": items})
    return data_response(request, {"items": PUBLIC_WATCHLISTS})


async def public_watchlist(request: Request, sandbox: Simulation, credential: str) -> Response:
    found = _find(PUBLIC_WATCHLISTS, request.path_params["name"])
    return data_response(request, found) if found else not_found("Watchlist")


async def pairs_watchlists(request: Request, sandbox: Simulation, credential: str) -> Response:
    return data_response(request, {"items": PAIRS_WATCHLISTS})


async def pairs_watchlist(request: Request, sandbox: Simulation, credential: str) -> Response:
    found = _find(PAIRS_WATCHLISTS, request.path_params["name"])
    return data_response(request, found) if found else not_found("Pairs watchlist")


# -- private ---------------------------------------------------------------------------
def parse_watchlist(raw: bytes) -> dict[str, Any] | Response:
    """A private watchlist body as the API stores it, or the 400 that refuses it."""
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return error_response(400, "invalid_json", "Body must be JSON")
    if not isinstance(body, dict):
        return bad_request("Invalid watchlist", body="must be an object")
    name = body.get("name")
    if not isinstance(name, str) or not name.strip():
        return bad_request("Invalid watchlist", name="is missing")
    raw_entries = body.get("watchlist-entries")
    if not isinstance(raw_entries, list):
        return bad_request("Invalid watchlist", **{"watchlist-entries": "is missing"})
    entries = []
    for n, entry in enumerate(raw_entries):
        symbol = entry.get("symbol") if isinstance(entry, dict) else None
        if not isinstance(symbol, str) or not symbol.strip():
            return bad_request(
                "Invalid watchlist", **{f"watchlist-entries[{n}].symbol": "is missing"}
            )
        clean = {"symbol": symbol.strip()}
        kind = entry.get("instrument-type")
        if kind is not None:
            if kind not in INSTRUMENT_TYPES:
                return bad_request(
                    "Invalid watchlist",
                    **{f"watchlist-entries[{n}].instrument-type": "is not a valid type"},
                )
            clean["instrument-type"] = kind
        entries.append(clean)
    group = body.get("group-name")
    order = body.get("order-index")
    if group is not None and not isinstance(group, str):
        return bad_request("Invalid watchlist", **{"group-name": "must be a string"})
    if order is not None and (not isinstance(order, int) or isinstance(order, bool)):
        return bad_request("Invalid watchlist", **{"order-index": "must be an integer"})
    return {
        "name": name.strip(),
        "watchlist-entries": entries,
        "group-name": group or DEFAULT_GROUP,
        "order-index": DEFAULT_ORDER_INDEX if order is None else order,
    }


def name_taken(name: str) -> Response:
    return error_response(422, "watchlist_already_exists", f"A watchlist named {name} exists")


async def private_watchlists(request: Request, sandbox: Simulation, credential: str) -> Response:
    lists = store_of(request).of(credential)
    return data_response(request, {"items": list(lists.values())})


async def private_watchlist(request: Request, sandbox: Simulation, credential: str) -> Response:
    found = store_of(request).of(credential).get(request.path_params["name"])
    return data_response(request, found) if found else not_found("Watchlist")


async def create_watchlist(request: Request, sandbox: Simulation, credential: str) -> Response:
    parsed = parse_watchlist(await request.body())
    if isinstance(parsed, Response):
        return parsed
    lists = store_of(request).of(credential)
    if parsed["name"] in lists:
        return name_taken(parsed["name"])
    lists[parsed["name"]] = parsed
    return data_response(request, parsed, 201)


async def replace_watchlist(request: Request, sandbox: Simulation, credential: str) -> Response:
    """A full replacement (entries left out are gone); a new name renames the list."""
    lists = store_of(request).of(credential)
    name = request.path_params["name"]
    if name not in lists:
        return not_found("Watchlist")
    parsed = parse_watchlist(await request.body())
    if isinstance(parsed, Response):
        return parsed
    if parsed["name"] != name and parsed["name"] in lists:
        return name_taken(parsed["name"])
    renamed = {k: v for k, v in lists.items() if k != name} if parsed["name"] != name else None
    if renamed is not None:
        lists.clear()
        lists.update(renamed)
    lists[parsed["name"]] = parsed
    return data_response(request, parsed)


async def delete_watchlist(request: Request, sandbox: Simulation, credential: str) -> Response:
    removed = store_of(request).of(credential).pop(request.path_params["name"], None)
    return data_response(request, removed) if removed else not_found("Watchlist")


routes = [
    Route("/public-watchlists", authed(public_watchlists)),
    Route("/public-watchlists/{name:path}", authed(public_watchlist)),
    Route("/pairs-watchlists", authed(pairs_watchlists)),
    Route("/pairs-watchlists/{name:path}", authed(pairs_watchlist)),
    Route("/watchlists", authed(private_watchlists)),
    Route("/watchlists", authed(create_watchlist), methods=["POST"]),
    Route("/watchlists/{name:path}", authed(private_watchlist)),
    Route("/watchlists/{name:path}", authed(replace_watchlist), methods=["PUT"]),
    Route("/watchlists/{name:path}", authed(delete_watchlist), methods=["DELETE"]),
]
