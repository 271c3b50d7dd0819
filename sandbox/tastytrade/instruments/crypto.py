"""tastytrade's cryptocurrencies: the market's coins against the dollar
(`core/market/listings.py` CRYPTO)."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from starlette.requests import Request
from starlette.responses import Response

from sandbox.core.market.listings import CRYPTO, CRYPTO_PAIRS, crypto_feed_symbol
from sandbox.core.simulation import Simulation
from sandbox.tastytrade.rest import data_response, not_found


def crypto_item(pair: str) -> dict[str, Any]:
    """A Cryptocurrency (developer.tastytrade.com/api-guides/instruments): a coin against
    the dollar, quoted on the feed as `BTC/USD:CXTALP`, quantities to 8 places."""
    index = CRYPTO_PAIRS.index(pair) + 1
    return {
        "id": index,
        "symbol": pair,
        "instrument-type": "Cryptocurrency",
        "short-description": CRYPTO[pair][2],
        "description": f"{CRYPTO[pair][2]} to USD",
        "is-closing-only": False,
        "active": True,
        "tick-size": "0.01",
        "streamer-symbol": crypto_feed_symbol(pair),
        "destination-venue-symbols": [
            {
                "id": index,
                "symbol": pair,
                "destination-venue": "CXTALP",
                "routable": True,
                "max-quantity-precision": 8,
                "max-price-precision": 2,
            }
        ],
    }


async def list_cryptocurrencies(request: Request, sandbox: Simulation, credential: str) -> Response:
    """By `symbol[]` (unknown pairs left out), else every listed pair."""
    wanted = request.query_params.getlist("symbol[]") or list(CRYPTO_PAIRS)
    found = [p for p in dict.fromkeys(wanted) if p in CRYPTO_PAIRS]
    return data_response(request, {"items": [crypto_item(p) for p in found]})


async def get_cryptocurrency(request: Request, sandbox: Simulation, credential: str) -> Response:
    """`/instruments/cryptocurrencies/BTC%2FUSD` (the SDK escapes the slash)."""
    pair = unquote(request.path_params["symbol"])
    if pair not in CRYPTO_PAIRS:
        return not_found("Cryptocurrency")
    return data_response(request, crypto_item(pair))
