"""tastytrade's futures, future products and future options: the market's named products
(`core/market/futures.py`) with their next few contracts, and quarterly options on them
(`FutureOption.get`: the option contract is the future's, expiring with it)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any
from urllib.parse import unquote

from starlette.requests import Request
from starlette.responses import Response

from sandbox.core.instruments import future_option, future_option_of
from sandbox.core.market import futures
from sandbox.core.simulation import Simulation
from sandbox.tastytrade.query import paged
from sandbox.tastytrade.rest import data_response, not_found


def _stamp(day: dt.date, time: str = "21:00:00") -> str:
    return f"{day.isoformat()}T{time}.000+00:00"


def future_product_item(product: futures.FutureProduct, today: dt.date) -> dict[str, Any]:
    """A FutureProduct object."""
    listed = futures.contracts(product, today)
    return {
        "root-symbol": product.root,
        "code": product.code,
        "description": product.description,
        "exchange": product.exchange,
        "product-type": "Financial" if product.cash_settled else "Physical",
        "listed-months": list(product.months),
        "active-months": sorted({c.month_code for c in listed}, key=futures.MONTH_CODES.index),
        "notional-multiplier": str(product.multiplier),
        "tick-size": str(product.tick_size),
        "display-factor": "1",
        "streamer-exchange-code": product.streamer_exchange_code,
        "small-notional": product.small,
        "back-month-first-calendar-symbol": False,
        "first-notice": not product.cash_settled,
        "cash-settled": product.cash_settled,
        "market-sector": product.market_sector,
        "clearing-code": product.code,
        "clearing-exchange-code": product.streamer_exchange_code,
        "roll": {
            "name": f"{product.code.lower()}_roll",
            "active-count": len(listed),
            "cash-settled": product.cash_settled,
            "business-days-offset": 4,
            "first-notice": not product.cash_settled,
        },
    }


def future_item(contract: futures.FutureContract, today: dt.date) -> dict[str, Any]:
    """A Future object: one listed contract, its feed symbol and where it sits in the roll."""
    product = contract.product
    listed = futures.contracts(product, today)
    position = listed.index(contract)
    expires = contract.expires_on
    return {
        "symbol": contract.symbol,
        "instrument-type": "Future",
        "streamer-symbol": contract.streamer_symbol,
        "product-code": product.code,
        "description": f"{product.description} {expires:%B %Y}",
        "tick-size": str(product.tick_size),
        "notional-multiplier": str(product.multiplier),
        "display-factor": "1",
        "contract-size": str(product.multiplier),
        "last-trade-date": expires.isoformat(),
        "expiration-date": expires.isoformat(),
        "active": True,
        "active-month": position == 0,
        "next-active-month": position == 1,
        "is-closing-only": False,
        "is-tradeable": True,
        "stops-trading-at": _stamp(expires, f"{futures.EXPIRY_TIME:%H:%M:%S}"),
        "expires-at": _stamp(expires, f"{futures.EXPIRY_TIME:%H:%M:%S}"),
        "product-group": f"{product.exchange}_{product.code}",
        "exchange": product.exchange,
        "streamer-exchange-code": product.streamer_exchange_code,
        "back-month-first-calendar-symbol": False,
        "roll-target-symbol": listed[1].symbol if position == 0 else None,
        "tick-sizes": [{"value": str(product.tick_size)}],
    }


async def list_futures(request: Request, sandbox: Simulation, credential: str) -> Response:
    """By `symbol[]`, else by `product-code[]`, else every listed contract."""
    today = sandbox.market_date()
    symbols = request.query_params.getlist("symbol[]")
    if symbols:
        found = [c for s in dict.fromkeys(symbols) if (c := futures.contract(s, today))]
    else:
        codes = set(request.query_params.getlist("product-code[]"))
        found = [
            c
            for p in futures.products()
            if not codes or p.code in codes
            for c in futures.contracts(p, today)
        ]
    return paged(request, [future_item(c, today) for c in found])


async def get_future(request: Request, sandbox: Simulation, credential: str) -> Response:
    today = sandbox.market_date()
    contract = futures.contract(request.path_params["symbol"], today)
    return data_response(request, future_item(contract, today)) if contract else not_found("Future")


async def list_future_products(request: Request, sandbox: Simulation, credential: str) -> Response:
    today = sandbox.market_date()
    items = [future_product_item(p, today) for p in futures.products()]
    return data_response(request, {"items": items})


async def get_future_product(request: Request, sandbox: Simulation, credential: str) -> Response:
    product = futures.product(request.path_params["code"])
    if product is None or product.exchange != request.path_params["exchange"]:
        return not_found("Future product")
    return data_response(request, future_product_item(product, sandbox.market_date()))


def future_option_item(
    listed: futures.FutureContract, right: str, strike: Decimal, today: dt.date
) -> dict[str, Any]:
    """A FutureOption (the SDK's model; its fields as tastytrade's future-option
    instruments answer them): the feed symbol is the option's, `./ESZ26C6000:XCME`."""
    product = listed.product
    option = future_option(listed, right, strike)
    expires = listed.expires_on
    return {
        "symbol": option.symbol,
        "instrument-type": "Future Option",
        "underlying-symbol": listed.symbol,
        "product-code": product.code,
        "expiration-date": expires.isoformat(),
        "root-symbol": product.root,
        "option-root-symbol": product.code,
        "strike-price": str(strike),
        "exchange": product.exchange,
        "exchange-symbol": f"{listed.symbol.lstrip('/')} {right}{strike}",
        "security-exchange": product.streamer_exchange_code,
        "streamer-symbol": option.streamer_symbol,
        "option-type": right,
        "exercise-style": "American",
        "is-vanilla": True,
        "is-primary-deliverable": True,
        "future-price-ratio": "1.0",
        "multiplier": "1.0",
        "underlying-count": "1.0",
        "is-confirmed": True,
        "notional-value": "1.0",
        "display-factor": "1",
        "settlement-type": "Future",
        "strike-factor": "1.0",
        "maturity-date": expires.isoformat(),
        "is-exercisable-weekly": False,
        "last-trade-time": "0",
        "days-to-expiration": (expires - today).days,
        "is-closing-only": False,
        "active": True,
        "stops-trading-at": _stamp(expires, f"{futures.EXPIRY_TIME:%H:%M:%S}"),
        "expires-at": _stamp(expires, f"{futures.EXPIRY_TIME:%H:%M:%S}"),
        "sx-id": "0",
    }


async def list_future_options(request: Request, sandbox: Simulation, credential: str) -> Response:
    """By `symbol[]`: the quarterly options on listed futures among them."""
    today = sandbox.market_date()
    found = [
        future_option_item(*spec, today)
        for s in dict.fromkeys(request.query_params.getlist("symbol[]"))
        if (spec := future_option_of(s, today))
    ]
    return data_response(request, {"items": found})


async def get_future_option(request: Request, sandbox: Simulation, credential: str) -> Response:
    today = sandbox.market_date()
    spec = future_option_of(unquote(request.path_params["symbol"]), today)
    if spec is None:
        return not_found("Future option")
    return data_response(request, future_option_item(*spec, today))
