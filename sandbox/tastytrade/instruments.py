"""tastytrade's instrument definitions and symbol search, as the SDK reads them.

`Equity.get`, `Option.get` and `symbol_search` describe what the simulated market quotes:
any ticker it would quote is an equity (named ones with their real descriptions), any
contract the chains list (or a position still holds) is an option, with the same fields
the flat chain gives. Futures are the market's named products (`core/market/futures.py`) with
their next few contracts, with quarterly options on them (`FutureOption.get`: the option
contract is the future's, expiring with it); cryptocurrencies are the market's coins against
the dollar (`core/market/listings.py` CRYPTO). It has no futures option chains, no warrants and no
currency pairs,
so those answer as tastytrade does for symbols it does not have: 404 `record_not_found`,
or an empty list.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any
from urllib.parse import unquote

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.core import chains
from sandbox.core.fundamentals import Fundamentals, fundamentals
from sandbox.core.instruments import future_option, future_option_of
from sandbox.core.market import futures
from sandbox.core.market.listings import (
    CRYPTO,
    CRYPTO_PAIRS,
    crypto_feed_symbol,
    instrument_kind,
    named_symbols,
    option_underlying,
)
from sandbox.core.simulation import Simulation
from sandbox.core.symbols import OptionSymbol, classify, parse_occ_symbol
from sandbox.http import json_response
from sandbox.tastytrade.rest import authed, data_response, not_found

DEFAULT_PER_PAGE = 250
MAX_PER_PAGE = 2000
MAX_SEARCH_RESULTS = 20
EQUITY_TICK_SIZES = [{"value": "0.0001", "threshold": "1.0"}, {"value": "0.01"}]
OPTION_TICK_SIZES = [{"value": "0.01", "threshold": "3.0"}, {"value": "0.05"}]
_LISTED_MARKET = {"etf": "ARCX", "index": "CBOE", "stock": "XNAS"}
_TRUE = {"true": True, "false": False}


def instrument_id(symbol: str) -> int:
    """A stable numeric id per symbol (tastytrade's instrument ids are ints)."""
    return int.from_bytes(hashlib.blake2b(symbol.encode(), digest_size=4).digest()) % 10_000_000


def _facts(sandbox: Simulation, symbol: str) -> Fundamentals | None:
    """The one adapter to the core's reference data (equities and indices only)."""
    if instrument_kind(symbol) not in ("stock", "etf", "index"):
        return None
    return fundamentals(sandbox.market, symbol, sandbox.market_date())


def equity_item(facts: Fundamentals) -> dict[str, Any]:
    """An Equity object: identity, lendability and tick tables."""
    kind = facts.kind
    return {
        "id": instrument_id(facts.symbol),
        "symbol": facts.symbol,
        "instrument-type": "Equity",
        "streamer-symbol": facts.symbol,
        "description": facts.description,
        "short-description": facts.description.split(" - ")[0],
        "listed-market": _LISTED_MARKET[kind],
        "lendability": facts.lendability,
        "borrow-rate": str(facts.borrow_rate),
        "market-time-instrument-collection": "Equity",
        "is-index": kind == "index",
        "is-etf": kind == "etf",
        "is-closing-only": False,
        "is-options-closing-only": False,
        "active": True,
        "is-illiquid": facts.liquidity_rating < 2,
        # the brokerage trades whole shares only (refuses a fraction 422 invalid_quantity)
        "is-fractional-quantity-eligible": False,
        "tick-sizes": EQUITY_TICK_SIZES,
        "option-tick-sizes": OPTION_TICK_SIZES,
    }


def bad_request(message: str, **errors: str) -> Response:
    """tastytrade's validation error: a summary plus one `{domain, reason}` per field."""
    error: dict[str, Any] = {"code": "validation_error", "message": message}
    if errors:
        error["errors"] = [{"domain": k, "reason": v} for k, v in errors.items()]
    return json_response({"error": error}, 400)


def _flag(request: Request, name: str) -> bool | str | None:
    """A boolean query parameter: True/False, None when absent, the raw text if invalid."""
    raw = request.query_params.get(name)
    if raw is None:
        return None
    return _TRUE.get(raw.lower(), raw)


def paged(request: Request, items: list[dict[str, Any]]) -> Response:
    """One page of `items` with tastytrade's `pagination` block (what `_paginate` reads)."""
    try:
        per_page = int(request.query_params.get("per-page", DEFAULT_PER_PAGE))
        offset = int(request.query_params.get("page-offset", 0))
    except ValueError:
        return bad_request("Invalid paging", **{"per-page": "must be an integer"})
    if not 1 <= per_page <= MAX_PER_PAGE or offset < 0:
        return bad_request(
            "Invalid paging", **{"per-page": f"must be between 1 and {MAX_PER_PAGE}"}
        )
    total = len(items)
    pages = max(1, -(-total // per_page))
    page = items[offset * per_page : (offset + 1) * per_page]
    return json_response(
        {
            "data": {"items": page},
            "context": request.url.path,
            "pagination": {
                "per-page": per_page,
                "page-offset": offset,
                "item-offset": offset * per_page,
                "total-items": total,
                "total-pages": pages,
                "current-item-count": len(page),
                "previous-link": None,
                "next-link": None,
                "paging-link-template": None,
            },
        }
    )


def _filtered(request: Request, items: list[dict[str, Any]]) -> list[dict[str, Any]] | Response:
    """Apply `lendability`, `is-index` and `is-etf` as the list endpoints do."""
    lendability = request.query_params.get("lendability")
    if lendability:
        items = [i for i in items if i["lendability"] == lendability]
    for name in ("is-index", "is-etf"):
        wanted = _flag(request, name)
        if isinstance(wanted, str):
            return bad_request("Invalid parameter", **{name: "must be true or false"})
        if wanted is not None:
            items = [i for i in items if i[name] is wanted]
    return items


# -- equities ------------------------------------------------------------------------
async def list_equities(request: Request, sandbox: Simulation, credential: str) -> Response:
    symbols = request.query_params.getlist("symbol[]")
    if not symbols:
        return bad_request("Invalid parameters", **{"symbol[]": "is missing"})
    items = [equity_item(f) for s in dict.fromkeys(symbols) if (f := _facts(sandbox, s))]
    filtered = _filtered(request, items)
    return filtered if isinstance(filtered, Response) else paged(request, filtered)


async def active_equities(request: Request, sandbox: Simulation, credential: str) -> Response:
    """Every equity the market lists by name (it quotes any ticker, but lists these)."""
    items = [equity_item(f) for s in sorted(named_symbols()) if (f := _facts(sandbox, s))]
    filtered = _filtered(request, items)
    return filtered if isinstance(filtered, Response) else paged(request, filtered)


async def get_equity(request: Request, sandbox: Simulation, credential: str) -> Response:
    facts = _facts(sandbox, request.path_params["symbol"])
    return data_response(request, equity_item(facts)) if facts else not_found("Equity")


# -- equity options -------------------------------------------------------------------
def listed_option(sandbox: Simulation, occ: str) -> OptionSymbol | None:
    """The contract an OCC symbol names, if the sandbox lists it on an equity it quotes."""
    option = parse_occ_symbol(occ)
    if option is None or not chains.is_listed(option):
        return None
    underlying = option_underlying(option.underlying)
    if classify(underlying) != "equity" or not sandbox.market.ensure(underlying):
        return None
    return option


def option_item(sandbox: Simulation, option: OptionSymbol) -> dict[str, Any]:
    return chains.option_instrument(
        option, sandbox.market_date(), option_underlying(option.underlying)
    )


async def list_equity_options(request: Request, sandbox: Simulation, credential: str) -> Response:
    symbols = request.query_params.getlist("symbol[]")
    if not symbols:
        return bad_request("Invalid parameters", **{"symbol[]": "is missing"})
    active, with_expired = _flag(request, "active"), _flag(request, "with-expired")
    for name, value in (("active", active), ("with-expired", with_expired)):
        if isinstance(value, str):
            return bad_request("Invalid parameter", **{name: "must be true or false"})
    items = [
        option_item(sandbox, o) for s in dict.fromkeys(symbols) if (o := listed_option(sandbox, s))
    ]
    if not with_expired:
        items = [i for i in items if i["active"]]
    if active is not None:
        items = [i for i in items if i["active"] is active]
    return data_response(request, {"items": items})


async def get_equity_option(request: Request, sandbox: Simulation, credential: str) -> Response:
    option = listed_option(sandbox, request.path_params["symbol"])
    return (
        data_response(request, option_item(sandbox, option))
        if option
        else not_found("Equity option")
    )


# -- futures ------------------------------------------------------------------------------
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


# -- future options -------------------------------------------------------------------------
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


# -- cryptocurrencies -----------------------------------------------------------------------
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


# -- what the market does not have ------------------------------------------------------
async def empty_list(request: Request, sandbox: Simulation, credential: str) -> Response:
    """A list endpoint of a product the simulated market has none of."""
    return data_response(request, {"items": []})


def absent(what: str) -> Callable[[Request, Simulation, str], Awaitable[Response]]:
    """A single-item lookup of a product the simulated market has none of: not found."""

    async def endpoint(request: Request, sandbox: Simulation, credential: str) -> Response:
        return not_found(what)

    endpoint.__name__ = f"no_{what.lower().replace(' ', '_')}"
    return endpoint


# -- quantity precisions -------------------------------------------------------------------
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


# -- symbol search ----------------------------------------------------------------------
def search_item(symbol: str, description: str) -> dict[str, Any]:
    kind = instrument_kind(symbol)
    optionable = kind in ("stock", "etf", "index")
    return {
        "symbol": symbol,
        "description": description,
        "listed-market": "XCME" if kind == "future" else _LISTED_MARKET.get(kind or "", "XNAS"),
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
        facts = _facts(sandbox, upper)
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


routes = [
    Route("/instruments/equities", authed(list_equities)),
    Route("/instruments/equities/active", authed(active_equities)),
    Route("/instruments/equities/{symbol:path}", authed(get_equity)),
    Route("/instruments/equity-options", authed(list_equity_options)),
    Route("/instruments/equity-options/{symbol:path}", authed(get_equity_option)),
    Route("/instruments/futures", authed(list_futures)),
    Route("/instruments/futures/{symbol:path}", authed(get_future)),
    Route("/instruments/future-products", authed(list_future_products)),
    Route("/instruments/future-products/{exchange}/{code}", authed(get_future_product)),
    Route("/instruments/future-options", authed(list_future_options)),
    Route("/instruments/future-options/{symbol:path}", authed(get_future_option)),
    Route("/instruments/future-option-products", authed(empty_list)),
    Route(
        "/instruments/future-option-products/{path:path}",
        authed(absent("Future option product")),
    ),
    Route("/futures-option-chains/{symbol:path}", authed(absent("Future option chain"))),
    Route("/instruments/cryptocurrencies", authed(list_cryptocurrencies)),
    Route("/instruments/cryptocurrencies/{symbol:path}", authed(get_cryptocurrency)),
    Route("/instruments/warrants", authed(empty_list)),
    Route("/instruments/warrants/{symbol:path}", authed(absent("Warrant"))),
    Route("/instruments/currency-pairs", authed(empty_list)),
    Route("/instruments/quantity-decimal-precisions", authed(quantity_precisions)),
    Route("/symbols/search/{query:path}", authed(symbol_search)),
]
