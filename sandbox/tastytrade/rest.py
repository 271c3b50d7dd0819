"""tastytrade's REST API as the SDK uses it: sessions, accounts, balances, positions,
quote tokens, market data and option chains (OAuth: `oauth.py`; orders: `orders.py`).

Every JSON answer is `{"data": ..., "context": path}` with non-empty data, and
every error is `{"error": {"code", "message"}}`: the only shapes the SDK parses.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.core import chains, series
from sandbox.core.credentials import AuthError
from sandbox.core.records import (
    CRYPTOCURRENCY,
    EQUITY,
    EQUITY_OPTION,
    FUTURE,
    FUTURE_OPTION,
    OrderRejected,
)
from sandbox.core.simulation import Simulation
from sandbox.core.symbols import classify
from sandbox.http import json_response, websocket_url
from sandbox.tastytrade import record_wire, wire

MARKET_DATA_LIMIT = 100
#: `/market-data/by-type`'s query names (SDK `get_market_data_by_type`), by instrument type.
MARKET_DATA_TYPES = {
    "equity": EQUITY,
    "index": series.INDEX,
    "equity-option": EQUITY_OPTION,
    "future": FUTURE,
    "future-option": FUTURE_OPTION,
    "cryptocurrency": CRYPTOCURRENCY,
}
OPTION_TYPES = (EQUITY_OPTION, FUTURE_OPTION)


def data_response(request: Request, data: Any, status: int = 200) -> Response:
    return json_response({"data": data, "context": request.url.path}, status)


def error_response(status: int, code: str, message: str, **headers: str) -> Response:
    return json_response({"error": {"code": code, "message": message}}, status, headers or None)


def sandbox_of(request: Request) -> Simulation:
    return request.app.state.sandbox


Handler = Callable[[Request, Simulation, str], Awaitable[Response]]


def authed(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """Require a valid bearer access token; the handler gets the credential id."""

    async def endpoint(request: Request) -> Response:
        sandbox = sandbox_of(request)
        try:
            credential = sandbox.credentials.check(request.headers.get("authorization"))
        except AuthError as exc:
            return error_response(exc.status, exc.code, exc.message)
        return await handler(request, sandbox, credential)

    endpoint.__name__ = handler.__name__
    return endpoint


def owned_account(sandbox: Simulation, credential: str, number: str) -> bool:
    return sandbox.brokerage.owner(number) == credential


def not_found(what: str) -> Response:
    return error_response(404, "record_not_found", f"{what} not found")


# -- sessions ----------------------------------------------------------------------
async def sessions_validate(request: Request, sandbox: Simulation, credential: str) -> Response:
    return data_response(
        request, {"email": f"{credential}@sandbox.invalid", "external-id": credential}, 201
    )


# -- accounts ----------------------------------------------------------------------
async def customer_accounts(request: Request, sandbox: Simulation, credential: str) -> Response:
    items = [
        wire.account_item(record_wire.render_account(account))
        for account in sandbox.brokerage.accounts(credential)
    ]
    return data_response(request, {"items": items})


async def customer_account(request: Request, sandbox: Simulation, credential: str) -> Response:
    number = request.path_params["number"]
    account = sandbox.brokerage.account(number)
    if account is None or not owned_account(sandbox, credential, number):
        return not_found("Account")
    return data_response(request, record_wire.render_account(account))


def account_route(
    build: Callable[[Request, Simulation, str], Any],
) -> Callable[[Request], Awaitable[Response]]:
    """An account-scoped GET: 404 unless the account belongs to the caller."""

    async def handler(request: Request, sandbox: Simulation, credential: str) -> Response:
        number = request.path_params["number"]
        if not owned_account(sandbox, credential, number):
            return not_found("Account")
        try:
            data = build(request, sandbox, number)
        except OrderRejected as exc:
            return error_response(422, exc.code, exc.message)
        if data is None:
            return not_found("Record")
        return data_response(request, data)

    handler.__name__ = build.__name__
    return authed(handler)


def balances(request: Request, sandbox: Simulation, number: str) -> Any:
    if request.path_params["currency"].upper() != "USD":
        return None
    return record_wire.render_balance(sandbox.brokerage.balance(number))


def positions(request: Request, sandbox: Simulation, number: str) -> Any:
    items = sandbox.brokerage.positions(number)
    wanted = set(request.query_params.getlist("underlying-symbol[]"))
    symbol = request.query_params.get("symbol")
    if wanted:
        items = [p for p in items if p.underlying_symbol in wanted]
    if symbol:
        items = [p for p in items if p.symbol == symbol]
    return {"items": [record_wire.render_position(p) for p in items]}


# -- market data ---------------------------------------------------------------------
async def api_quote_tokens(request: Request, sandbox: Simulation, credential: str) -> Response:
    now = dt.datetime.now(dt.UTC)
    return data_response(
        request,
        {
            "token": sandbox.credentials.issue_quote_token(credential),
            "dxlink-url": websocket_url(request, sandbox.public_url, "/dxlink"),
            "level": "api",
            "issued-at": now.isoformat(timespec="milliseconds"),
            "expires-at": (now + dt.timedelta(hours=24)).isoformat(timespec="milliseconds"),
        },
    )


def _day(day_id: int) -> str:
    """A dxFeed day id (days since 1970-01-01) as an ISO date."""
    return (dt.date(1970, 1, 1) + dt.timedelta(days=day_id)).isoformat()


def market_data_item(
    sandbox: Simulation, symbol: str, instrument_type: str
) -> dict[str, Any] | None:
    """A MarketData object of one instrument: the market series its kind names
    (`core/series.py`: the streamer symbol its instrument says), or None."""
    market = sandbox.market
    kind = MARKET_DATA_TYPES.get(instrument_type, instrument_type)
    key = series.feed_symbol(symbol, kind, sandbox.market_date())
    if key is None or not market.ensure(key):
        return None
    quote = market.quote(key)
    summary = market.summary(key)
    trade = market.trade(key)
    bid, ask = quote["bidPrice"], quote["askPrice"]
    mid = round((bid + ask) / 2, 4)
    return {
        "symbol": symbol,
        "instrument-type": kind,
        "updated-at": dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds"),
        "bid": bid,
        "ask": ask,
        "bid-size": quote["bidSize"],
        "ask-size": quote["askSize"],
        "mid": mid,
        "mark": mid,
        "last": trade["price"],
        "open": summary["dayOpenPrice"],
        "day-high-price": summary["dayHighPrice"],
        "day-low-price": summary["dayLowPrice"],
        "prev-close": summary["prevDayClosePrice"],
        "volume": trade["dayVolume"],
        "close-price-type": "Regular",
        # the market's own days: the previous close is dated its previous trading day
        "summary-date": _day(summary["dayId"]),
        "prev-close-date": _day(summary["prevDayId"]),
        "prev-close-price-type": "Final",
        "halt-start-time": -1,
        "halt-end-time": -1,
        **({"open-interest": summary["openInterest"]} if kind in OPTION_TYPES else {}),
    }


async def market_data_by_type(request: Request, sandbox: Simulation, credential: str) -> Response:
    wanted = [
        (symbol, instrument_type)
        for param, instrument_type in MARKET_DATA_TYPES.items()
        for symbol in request.query_params.getlist(param)
    ]
    if len(wanted) > MARKET_DATA_LIMIT:
        return error_response(
            400, "too_many_symbols", f"A maximum of {MARKET_DATA_LIMIT} symbols is allowed"
        )
    items = [item for s, t in wanted if (item := market_data_item(sandbox, s, t)) is not None]
    return data_response(request, {"items": items})


async def market_data_one(request: Request, sandbox: Simulation, credential: str) -> Response:
    """`/market-data/{type}/{symbol}` (SDK `get_market_data`: the type's value, the symbol
    unescaped). A future option's leading `./` is a dot segment every RFC 3986 client
    removes from the path (§5.2.4: `…/Future Option/./ESZ6 ESZ6 261218C6000` is sent as
    `…/Future Option/ESZ6 ESZ6 261218C6000`), so it is put back."""
    symbol, kind = request.path_params["symbol"], request.path_params["instrument_type"]
    if MARKET_DATA_TYPES.get(kind, kind) == FUTURE_OPTION and not symbol.startswith("./"):
        symbol = f"./{symbol}"
    item = market_data_item(sandbox, symbol, kind)
    return data_response(request, item) if item else not_found("Symbol")


async def option_chain(request: Request, sandbox: Simulation, credential: str) -> Response:
    symbol = request.path_params["symbol"]
    nested = symbol.endswith("/nested")
    underlying = symbol.removesuffix("/nested")
    sandbox.counters["tastytrade_chain_requests"] += 1
    sandbox.counters[f"tastytrade_chain_requests:{underlying}"] += 1  # per underlying
    if (
        classify(underlying) != "equity"
        or not chains.has_options(underlying)
        or not sandbox.market.ensure(underlying)
    ):
        return not_found("Option chain")
    price = sandbox.market.mid(underlying)
    today = sandbox.market_date()
    if nested:
        return data_response(request, {"items": [chains.nested_chain(underlying, price, today)]})
    return data_response(request, {"items": chains.flat_chain(underlying, price, today)})


routes = [
    Route("/sessions/validate", authed(sessions_validate), methods=["POST"]),
    Route("/customers/me/accounts", authed(customer_accounts)),
    Route("/customers/me/accounts/{number}", authed(customer_account)),
    Route("/accounts/{number}/balances/{currency}", account_route(balances)),
    Route("/accounts/{number}/positions", account_route(positions)),
    Route("/api-quote-tokens", authed(api_quote_tokens)),
    Route("/market-data/by-type", authed(market_data_by_type)),
    Route("/market-data/{instrument_type}/{symbol:path}", authed(market_data_one)),
    Route("/option-chains/{symbol:path}", authed(option_chain)),
]
