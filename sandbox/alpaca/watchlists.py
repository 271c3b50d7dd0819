"""Alpaca watchlists for both APIs: named, ordered lists of assets, kept in memory per
account (the brokerage has no notion of them; they are gone after a restart).

A symbol must be an asset (`assets.is_stock`: a stock the market can price, no index);
anything else is bad input (422), as is a second watchlist of the same name in one account.
An unknown watchlist id, or a symbol that is not in the list when removing it, is 404.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from sandbox.alpaca import assets
from sandbox.alpaca.wire import NOT_FOUND, Refusal, account_uuid, bad, iso
from sandbox.core.simulation import Simulation

NAME_MAX = 64


@dataclass
class Watchlist:
    id: str
    number: str
    name: str
    created_at: float
    updated_at: float
    symbols: list[str] = field(default_factory=list)


class WatchlistBook:
    """Every account's watchlists, by account number, oldest first."""

    def __init__(self) -> None:
        self._by_account: dict[str, list[Watchlist]] = {}

    def of(self, number: str) -> list[Watchlist]:
        return self._by_account.setdefault(number, [])

    def find(self, number: str, watchlist_id: str) -> Watchlist:
        for watchlist in self.of(number):
            if watchlist.id == watchlist_id.strip().lower():
                return watchlist
        raise Refusal(404, NOT_FOUND, "watchlist not found")


def render(sandbox: Simulation, w: Watchlist, with_assets: bool = True) -> dict[str, Any]:
    """alpaca-py's `Watchlist`; the list of all watchlists leaves the assets out."""
    data: dict[str, Any] = {
        "id": w.id,
        "account_id": account_uuid(w.number),
        "name": w.name,
        "created_at": iso(w.created_at),
        "updated_at": iso(w.updated_at),
    }
    if with_assets:
        data["assets"] = [assets.lookup(sandbox, symbol) for symbol in w.symbols]
    return data


def _name(book: WatchlistBook, number: str, raw: Any, own: Watchlist | None = None) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise bad("name is required")
    if len(raw) > NAME_MAX:
        raise bad(f"name must be at most {NAME_MAX} characters")
    if any(w.name == raw and w is not own for w in book.of(number)):
        raise bad(f"watchlist name must be unique: {raw}")
    return raw


def _symbols(sandbox: Simulation, raw: Any) -> list[str]:
    if raw is None:
        return []
    if not isinstance(raw, list) or not all(isinstance(s, str) for s in raw):
        raise bad("symbols must be a list of strings")
    out: list[str] = []
    for text in raw:
        symbol = text.strip().upper()
        if not assets.is_stock(sandbox, symbol):
            raise bad(f"asset not found: {text}")
        if symbol not in out:
            out.append(symbol)
    return out


def create(sandbox: Simulation, book: WatchlistBook, number: str, body: dict) -> dict[str, Any]:
    name = _name(book, number, body.get("name"))
    symbols = _symbols(sandbox, body.get("symbols"))
    now = time.time()
    watchlist = Watchlist(str(uuid.uuid4()), number, name, now, now, symbols)
    book.of(number).append(watchlist)
    return render(sandbox, watchlist)


def update(
    sandbox: Simulation, book: WatchlistBook, number: str, wid: str, body: dict
) -> dict[str, Any]:
    """PUT: a new `name` and/or the whole new list of `symbols`."""
    watchlist = book.find(number, wid)
    if body.get("name") is None and body.get("symbols") is None:
        raise bad("name or symbols is required")
    name = watchlist.name
    if body.get("name") is not None:
        name = _name(book, number, body["name"], watchlist)
    symbols = watchlist.symbols
    if body.get("symbols") is not None:
        symbols = _symbols(sandbox, body["symbols"])
    watchlist.name, watchlist.symbols, watchlist.updated_at = name, symbols, time.time()
    return render(sandbox, watchlist)


def add(
    sandbox: Simulation, book: WatchlistBook, number: str, wid: str, body: dict
) -> dict[str, Any]:
    """POST `{"symbol"}`: appended (a symbol already listed stays where it is)."""
    watchlist = book.find(number, wid)
    if not isinstance(body.get("symbol"), str):
        raise bad("symbol is required")
    for symbol in _symbols(sandbox, [body["symbol"]]):
        if symbol not in watchlist.symbols:
            watchlist.symbols.append(symbol)
    watchlist.updated_at = time.time()
    return render(sandbox, watchlist)


def remove(
    sandbox: Simulation, book: WatchlistBook, number: str, wid: str, symbol: str
) -> dict[str, Any]:
    watchlist = book.find(number, wid)
    wanted = symbol.strip().upper()
    if wanted not in watchlist.symbols:
        raise Refusal(404, NOT_FOUND, "symbol not found in watchlist")
    watchlist.symbols.remove(wanted)
    watchlist.updated_at = time.time()
    return render(sandbox, watchlist)


def delete(book: WatchlistBook, number: str, wid: str) -> None:
    book.of(number).remove(book.find(number, wid))


def listing(sandbox: Simulation, book: WatchlistBook, number: str) -> list[dict[str, Any]]:
    return [render(sandbox, w, with_assets=False) for w in book.of(number)]
