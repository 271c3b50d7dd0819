"""Tradier watchlists: per token, in memory, each customer starting with the `default`
list Tradier gives every user. Ids are the name's slug ("My List" -> "my-list"), items
are keyed by the lower-cased symbol, as in Tradier's examples.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.core.symbols import classify, parse_occ_symbol
from sandbox.tradier.api import TradierCustomer, TradierSandbox, endpoint
from sandbox.tradier.wire import PREFIX, collapse, errors, render

DEFAULT = "default"


@dataclass
class Watchlist:
    id: str
    name: str
    public_id: str
    symbols: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {"name": self.name, "id": self.id, "public_id": self.public_id}

    def item(self) -> dict[str, Any]:
        items = [{"symbol": s, "id": s.lower()} for s in self.symbols]
        return {**self.summary(), "items": {"item": collapse(items)} if items else "null"}

    def add(self, symbols: list[str]) -> None:
        self.symbols += [s for s in symbols if s not in self.symbols]


def _public_id(cid: str, list_id: str) -> str:
    return "public-" + hashlib.sha256(f"{cid}|{list_id}".encode()).hexdigest()[:8]


def book(facade: TradierSandbox, customer: TradierCustomer) -> dict[str, Watchlist]:
    """The customer's watchlists by id (the `default` one made on first use)."""
    books = facade.watchlists
    lists: dict[str, Watchlist] | None = books.get(customer.cid)
    if lists is None:
        default = Watchlist(DEFAULT, DEFAULT, _public_id(customer.cid, DEFAULT))
        lists = books[customer.cid] = {DEFAULT: default}
    return lists


def slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.strip().lower()).strip("-")


def parse_symbols(raw: str) -> tuple[list[str], list[str]]:
    """(valid symbols in order, invalid ones): tickers and OCC option symbols."""
    valid: list[str] = []
    invalid: list[str] = []
    for part in raw.split(","):
        symbol = part.strip().upper()
        if not symbol:
            continue
        ok = parse_occ_symbol(symbol) is not None or classify(symbol) == "equity"
        (valid if ok else invalid).append(symbol)
    return list(dict.fromkeys(valid)), invalid


async def params(request: Request) -> dict[str, str]:
    """Query parameters and the urlencoded form body (POST and PUT carry one here)."""
    values = dict(request.query_params)
    body = (await request.body()).decode("latin-1")
    values.update(parse_qsl(body, keep_blank_values=True))
    return values


def _listing(lists: dict[str, Watchlist]) -> dict[str, Any]:
    rows = [w.summary() for w in lists.values()]
    return {"watchlists": {"watchlist": collapse(rows)} if rows else "null"}


def _not_found(request: Request, list_id: str) -> Response:
    return errors(request, f"Watchlist {list_id} not found", 404)


async def list_all(request: Request, facade: TradierSandbox, c: TradierCustomer) -> Response:
    return render(request, _listing(book(facade, c)))


async def create(request: Request, facade: TradierSandbox, c: TradierCustomer) -> Response:
    form = await params(request)
    name = form.get("name", "").strip()
    list_id = slug(name)
    if not list_id:
        return errors(request, "name is required")
    symbols, invalid = parse_symbols(form.get("symbols", ""))
    if invalid:
        return errors(request, f"Invalid symbols: {','.join(invalid)}")
    lists = book(facade, c)
    if list_id in lists:
        return errors(request, f"Watchlist {name} already exists", 409)
    lists[list_id] = Watchlist(list_id, name, _public_id(c.cid, list_id), symbols)
    return render(request, {"watchlist": lists[list_id].item()})


async def one(request: Request, facade: TradierSandbox, c: TradierCustomer) -> Response:
    list_id = request.path_params["list_id"]
    watchlist = book(facade, c).get(list_id)
    if watchlist is None:
        return _not_found(request, list_id)
    return render(request, {"watchlist": watchlist.item()})


async def update(request: Request, facade: TradierSandbox, c: TradierCustomer) -> Response:
    """PUT replaces the name and, when given, the symbols; the id stays."""
    list_id = request.path_params["list_id"]
    watchlist = book(facade, c).get(list_id)
    if watchlist is None:
        return _not_found(request, list_id)
    form = await params(request)
    name = form.get("name", "").strip()
    if not name:
        return errors(request, "name is required")
    if "symbols" in form:
        symbols, invalid = parse_symbols(form["symbols"])
        if invalid:
            return errors(request, f"Invalid symbols: {','.join(invalid)}")
        watchlist.symbols = symbols
    watchlist.name = name
    return render(request, {"watchlist": watchlist.item()})


async def delete(request: Request, facade: TradierSandbox, c: TradierCustomer) -> Response:
    """Answers the watchlists that remain; the default list cannot be deleted."""
    list_id = request.path_params["list_id"]
    lists = book(facade, c)
    if list_id not in lists:
        return _not_found(request, list_id)
    if list_id == DEFAULT:
        return errors(request, "The default watchlist cannot be deleted")
    del lists[list_id]
    return render(request, _listing(lists))


async def add_symbols(request: Request, facade: TradierSandbox, c: TradierCustomer) -> Response:
    list_id = request.path_params["list_id"]
    watchlist = book(facade, c).get(list_id)
    if watchlist is None:
        return _not_found(request, list_id)
    symbols, invalid = parse_symbols((await params(request)).get("symbols", ""))
    if invalid or not symbols:
        return errors(request, f"Invalid symbols: {','.join(invalid) or '(none given)'}")
    watchlist.add(symbols)
    return render(request, {"watchlist": watchlist.item()})


async def remove_symbol(request: Request, facade: TradierSandbox, c: TradierCustomer) -> Response:
    list_id = request.path_params["list_id"]
    watchlist = book(facade, c).get(list_id)
    if watchlist is None:
        return _not_found(request, list_id)
    symbol = request.path_params["symbol"].strip().upper()
    if symbol not in watchlist.symbols:
        return errors(request, f"Symbol {symbol} is not in watchlist {list_id}", 404)
    watchlist.symbols.remove(symbol)
    return render(request, {"watchlist": watchlist.item()})


_ONE = f"{PREFIX}/v1/watchlists/{{list_id}}"
routes = [
    Route(f"{PREFIX}/v1/watchlists", endpoint(list_all), methods=["GET"]),
    Route(f"{PREFIX}/v1/watchlists", endpoint(create), methods=["POST"]),
    Route(_ONE, endpoint(one), methods=["GET"]),
    Route(_ONE, endpoint(update), methods=["PUT"]),
    Route(_ONE, endpoint(delete), methods=["DELETE"]),
    Route(f"{_ONE}/symbols", endpoint(add_symbols), methods=["POST"]),
    Route(f"{_ONE}/symbols/{{symbol}}", endpoint(remove_symbol), methods=["DELETE"]),
]
