"""Alpaca's assets for both APIs: a stock the simulated market can price, and the market's
coins.

An asset is any valid ticker the market knows or can register (the same rule orders
follow), except indices (the market's equities without shares outstanding), which Alpaca
does not trade; or one of the coins the market quotes against the dollar (`BTC/USD`,
also found by its legacy spelling `BTCUSD`), as Alpaca's crypto Asset (`class: crypto`,
`exchange: CRYPTO`, fractionable, with its minimum order and increments). The stock list
is the stocks the market has registered so far (everything quoted, held or ordered in this
run); the catalogue of every listed US stock is deliberately absent. `asset_class=crypto`
lists every coin; options list empty.
"""

from __future__ import annotations

from typing import Any

from sandbox.alpaca import render
from sandbox.alpaca.wire import NOT_FOUND, Refusal, asset_uuid, bad
from sandbox.core.market.listings import CRYPTO_PAIRS
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
    """By ticker or coin pair (either spelling), or by the id of a coin or of an asset the
    market has registered."""
    pair = render.coin_pair(key)
    if pair is not None:
        return render.coin_asset(pair)
    wanted = key.strip().lower()
    for coin in CRYPTO_PAIRS:
        if asset_uuid(coin) == wanted:
            return render.coin_asset(coin)
    symbol = key.strip().upper()
    if is_stock(sandbox, symbol):
        return _asset(sandbox, symbol)
    for known in known_stocks(sandbox):
        if asset_uuid(known) == wanted:
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
    if asset_class == "crypto":
        listed = [render.coin_asset(pair) for pair in CRYPTO_PAIRS]
    else:
        listed = [_asset(sandbox, s) for s in known_stocks(sandbox)]
    return [
        a
        for a in listed
        if a["status"] == status
        and a["class"] == asset_class
        and (not params.get("exchange") or a["exchange"] == params["exchange"])
        and (not attributes or attributes & set(a["attributes"]))
    ]
