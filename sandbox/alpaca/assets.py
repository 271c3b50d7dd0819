"""Alpaca's assets for both APIs: a stock the simulated market can price.

An asset is any valid ticker the market knows or can register (the same rule orders
follow), except indices (the market's equities without shares outstanding), which Alpaca
does not trade. The list is the stocks the market has registered so far (everything
quoted, held or ordered in this run); the catalogue of every listed US stock is
deliberately absent. Options and crypto list empty.
"""

from __future__ import annotations

from typing import Any

from sandbox.alpaca import render
from sandbox.alpaca.wire import NOT_FOUND, Refusal, asset_uuid, bad
from sandbox.core.simulation import Simulation
from sandbox.core.symbols import classify


def is_stock(sandbox: Simulation, symbol: str) -> bool:
    """A ticker Alpaca trades: one the market can price that is not an index."""
    market = sandbox.market
    if classify(symbol) != "equity" or not market.ensure(symbol):
        return False
    return market.profile(symbol)["shares"] is not None


def _asset(sandbox: Simulation, symbol: str) -> dict[str, Any]:
    return render.asset(symbol, sandbox.market.profile(symbol)["description"])


def known_stocks(sandbox: Simulation) -> list[str]:
    symbols = list(sandbox.market.symbols)
    return sorted(s for s in symbols if classify(s) == "equity" and is_stock(sandbox, s))


def lookup(sandbox: Simulation, key: str) -> dict[str, Any]:
    """By ticker, or by the id of an asset the market has registered."""
    symbol = key.strip().upper()
    if is_stock(sandbox, symbol):
        return _asset(sandbox, symbol)
    for known in known_stocks(sandbox):
        if asset_uuid(known) == key.strip().lower():
            return _asset(sandbox, known)
    raise Refusal(404, NOT_FOUND, "asset not found")


def select(sandbox: Simulation, params: Any) -> list[dict[str, Any]]:
    """Filters: `status` (active), `asset_class` (us_equity), `exchange`, `attributes`."""
    status = params.get("status", "active")
    if status not in ("active", "inactive"):
        raise bad("status must be active or inactive")
    asset_class = params.get("asset_class", "us_equity")
    if asset_class not in ("us_equity", "us_option", "crypto"):
        raise bad("invalid asset_class")
    attributes = {a for a in params.get("attributes", "").split(",") if a}
    return [
        a
        for a in (_asset(sandbox, s) for s in known_stocks(sandbox))
        if a["status"] == status
        and a["class"] == asset_class
        and (not params.get("exchange") or a["exchange"] == params["exchange"])
        and (not attributes or attributes & set(a["attributes"]))
    ]
