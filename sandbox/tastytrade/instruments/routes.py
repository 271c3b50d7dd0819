"""Every instrument route, in match order, with what the simulated market does not have
(futures option chains, warrants, currency pairs: an empty list, or 404 `record_not_found`
as tastytrade answers a symbol it does not have) and the quantity precisions."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.core.simulation import Simulation
from sandbox.tastytrade.instruments import crypto, equities, futures, search
from sandbox.tastytrade.rest import authed, data_response, not_found


async def empty_list(request: Request, sandbox: Simulation, credential: str) -> Response:
    """A list endpoint of a product the simulated market has none of."""
    return data_response(request, {"items": []})


def absent(what: str) -> Callable[[Request, Simulation, str], Awaitable[Response]]:
    """A single-item lookup of a product the simulated market has none of: not found."""

    async def endpoint(request: Request, sandbox: Simulation, credential: str) -> Response:
        return not_found(what)

    endpoint.__name__ = f"no_{what.lower().replace(' ', '_')}"
    return endpoint


#: How many decimals an order quantity may carry, per instrument type: whole shares,
#: options and futures, as the brokerage takes them (no equity says
#: `is-fractional-quantity-eligible`); coins to 8 places.
QUANTITY_PRECISIONS = [
    {"instrument-type": "Equity", "value": 0, "minimum-increment-precision": 0},
    {"instrument-type": "Equity Option", "value": 0, "minimum-increment-precision": 0},
    {"instrument-type": "Future", "value": 0, "minimum-increment-precision": 0},
    {"instrument-type": "Future Option", "value": 0, "minimum-increment-precision": 0},
    {"instrument-type": "Cryptocurrency", "value": 8, "minimum-increment-precision": 8},
]


async def quantity_precisions(request: Request, sandbox: Simulation, credential: str) -> Response:
    return data_response(request, {"items": QUANTITY_PRECISIONS})


routes = [
    Route("/instruments/equities", authed(equities.list_equities)),
    Route("/instruments/equities/active", authed(equities.active_equities)),
    Route("/instruments/equities/{symbol:path}", authed(equities.get_equity)),
    Route("/instruments/equity-options", authed(equities.list_equity_options)),
    Route("/instruments/equity-options/{symbol:path}", authed(equities.get_equity_option)),
    Route("/instruments/futures", authed(futures.list_futures)),
    Route("/instruments/futures/{symbol:path}", authed(futures.get_future)),
    Route("/instruments/future-products", authed(futures.list_future_products)),
    Route("/instruments/future-products/{exchange}/{code}", authed(futures.get_future_product)),
    Route("/instruments/future-options", authed(futures.list_future_options)),
    Route("/instruments/future-options/{symbol:path}", authed(futures.get_future_option)),
    Route("/instruments/future-option-products", authed(empty_list)),
    Route(
        "/instruments/future-option-products/{path:path}",
        authed(absent("Future option product")),
    ),
    Route("/futures-option-chains/{symbol:path}", authed(absent("Future option chain"))),
    Route("/instruments/cryptocurrencies", authed(crypto.list_cryptocurrencies)),
    Route("/instruments/cryptocurrencies/{symbol:path}", authed(crypto.get_cryptocurrency)),
    Route("/instruments/warrants", authed(empty_list)),
    Route("/instruments/warrants/{symbol:path}", authed(absent("Warrant"))),
    Route("/instruments/currency-pairs", authed(empty_list)),
    Route("/instruments/quantity-decimal-precisions", authed(quantity_precisions)),
    Route("/symbols/search/{query:path}", authed(search.symbol_search)),
]
