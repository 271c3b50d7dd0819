"""tastytrade's equities and equity options, as `Equity.get` and `Option.get` read them:
any ticker the market would quote is an equity (named ones with their real descriptions),
any contract the chains list (or a position still holds) is an option, with the same fields
the flat chain gives."""

from __future__ import annotations

import hashlib
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from sandbox.core import chains
from sandbox.core.fundamentals import Fundamentals, fundamentals
from sandbox.core.market.listings import instrument_kind, named_symbols, option_underlying
from sandbox.core.simulation import Simulation
from sandbox.core.symbols import OptionSymbol, classify, parse_occ_symbol
from sandbox.tastytrade.query import bad_request, flag, paged
from sandbox.tastytrade.rest import data_response, not_found

EQUITY_TICK_SIZES = [{"value": "0.0001", "threshold": "1.0"}, {"value": "0.01"}]
OPTION_TICK_SIZES = [{"value": "0.01", "threshold": "3.0"}, {"value": "0.05"}]
LISTED_MARKET = {"etf": "ARCX", "index": "CBOE", "stock": "XNAS"}


def instrument_id(symbol: str) -> int:
    """A stable numeric id per symbol (tastytrade's instrument ids are ints)."""
    return int.from_bytes(hashlib.blake2b(symbol.encode(), digest_size=4).digest()) % 10_000_000


def facts_of(sandbox: Simulation, symbol: str) -> Fundamentals | None:
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
        "listed-market": LISTED_MARKET[kind],
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


def _filtered(request: Request, items: list[dict[str, Any]]) -> list[dict[str, Any]] | Response:
    """Apply `lendability`, `is-index` and `is-etf` as the list endpoints do."""
    lendability = request.query_params.get("lendability")
    if lendability:
        items = [i for i in items if i["lendability"] == lendability]
    for name in ("is-index", "is-etf"):
        wanted = flag(request, name)
        if isinstance(wanted, str):
            return bad_request("Invalid parameter", **{name: "must be true or false"})
        if wanted is not None:
            items = [i for i in items if i[name] is wanted]
    return items


async def list_equities(request: Request, sandbox: Simulation, credential: str) -> Response:
    symbols = request.query_params.getlist("symbol[]")
    if not symbols:
        return bad_request("Invalid parameters", **{"symbol[]": "is missing"})
    items = [equity_item(f) for s in dict.fromkeys(symbols) if (f := facts_of(sandbox, s))]
    filtered = _filtered(request, items)
    return filtered if isinstance(filtered, Response) else paged(request, filtered)


async def active_equities(request: Request, sandbox: Simulation, credential: str) -> Response:
    """Every equity the market lists by name (it quotes any ticker, but lists these)."""
    items = [equity_item(f) for s in sorted(named_symbols()) if (f := facts_of(sandbox, s))]
    filtered = _filtered(request, items)
    return filtered if isinstance(filtered, Response) else paged(request, filtered)


async def get_equity(request: Request, sandbox: Simulation, credential: str) -> Response:
    facts = facts_of(sandbox, request.path_params["symbol"])
    return data_response(request, equity_item(facts)) if facts else not_found("Equity")


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
    active, with_expired = flag(request, "active"), flag(request, "with-expired")
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
