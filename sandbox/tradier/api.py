"""Tradier's REST API and HTTP market stream, as a façade over the shared simulation.

This module holds the façade (`TradierSandbox`: tokens, rate windows, sessions) and the
account and quote routes; its renderers are `market_items.py` and `brokerage_items.py`,
the wire conventions `wire.py`, the stream `stream.py`.

Mounted under `/tradier` on the sandbox port: REST paths are `/tradier/v1/...` and the
market stream is `/tradier/v1/markets/events`. The wire shapes follow Tradier's public API
documentation (docs/sandbox.md); the brokerage's typed records are
rendered here. What the documentation does not confirm is a guess, listed here with
the switch that changes it (sandbox/core/config.py) where one exists:

* 401 answers carry the plain-text body `Invalid Access Token` (guess, no switch).
* Without `Accept: application/json` the answer is a minimal XML rendering of the same
  data (`application/xml`), as Tradier's documented default is XML (guess of the shape).
* `/v1/markets/...` including the session endpoint counts as the market group; 429 is the
  over-limit status (both guesses; limits: `tradier_rate_limit_market`,
  `tradier_rate_limit_standard`, `tradier_rate_limit_trading`, window `tradier_rate_window`).
* Unknown quote symbols are listed under `quotes.unmatched_symbols`; an unknown
  expiration answers `{"options": null}`, an unknown underlying `{"expirations": null}`.
* Streaming off (`tradier_streaming` false): the session endpoint answers 400.
* Stream start with an unknown, already-used or stale (> `tradier_session_ttl`) session id:
  400 `{"error": "session not found"}` (text as LEAN saw it; status a guess).
* A second concurrent stream of one token: `tradier_second_session` "kick" closes the
  older stream, "reject" answers 400 `{"error": "too many sessions requested"}`.
* With no valid symbol the stream answers 400 `{"error": "<s> is not a valid symbol"}`;
  invalid symbols next to valid ones are skipped.
* Every trade produces `trade`, `tradex` and `timesale` payloads (the filter picks);
  sizes are passed through in shares; `timesale.session` is always `"normal"`.
* Idle close after `tradier_idle_close`; idle re-send of the last quote every
  `tradier_idle_repeat` seconds (0: never).
* Delayed market data (Tradier's own sandbox lags 15 minutes): `tradier_quote_delay`
  seconds are taken off every event time of quotes and the stream (`trade_date`,
  `bid_date`, `ask_date`, greeks `updated_at`, `biddate`, `askdate`, `date`); prices stay
  the live simulation's, so the brokers keep agreeing (a modelling choice).
* `prevclose` (and the stream's `prevClose`) is the market's previous close, the same
  number tastytrade's and Alpaca's positions report as their close.
* Balances: short values are negative numbers; cash accounts carry a `cash` object
  (`cash_available`, `sweep`, `unsettled_funds`) instead of `margin`.
* Validation errors are `{"errors": {"error": ["..."]}}` with status 400.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.core import demo_seed
from sandbox.core.credentials import credential_id
from sandbox.core.records import AccountEvent, OrderRejected
from sandbox.core.simulation import Simulation
from sandbox.http import http_url
from sandbox.tradier.brokerage_items import BrokerageItems
from sandbox.tradier.market_items import MarketItems
from sandbox.tradier.wire import PREFIX, collapse, errors, params, render, unauthorized


# -- rate limits --------------------------------------------------------------------------
@dataclass
class Window:
    """One token's count in one group's window (starts at the first request)."""

    started: float = 0.0
    used: int = 0


def rate_group(method: str, path: str) -> str:
    """Tradier's three groups; placing, changing and cancelling orders is trading (the `trade`
    scope), the rest of accounts standard."""
    if path.startswith("/v1/markets"):
        return "market"
    if (
        method in ("POST", "PUT", "DELETE")
        and path.startswith("/v1/accounts/")
        and "/orders" in path
    ):
        return "trading"
    return "standard"


@dataclass
class TradierCustomer:
    cid: str
    accounts: list[str]
    sessions_created: int = 0
    streams_started: int = 0
    sessions_rejected: int = 0
    chain_requests: int = 0
    rate: dict[str, Window] = field(default_factory=dict)
    # the positions each account started with, before any trade (the ledger books only
    # trades; gain/loss needs these as the first lots)


@dataclass
class MarketSession:
    """A session id: good for starting one stream within the TTL."""

    id: str
    cid: str
    created: float
    used: bool = False


class TradierSandbox(MarketItems, BrokerageItems):
    """Tradier's view of the sandbox: per-token customers, sessions and rate windows."""

    def __init__(self, sandbox: Simulation) -> None:
        self.sandbox = sandbox
        self.customers: dict[str, TradierCustomer] = {}
        self.sessions: dict[str, MarketSession] = {}
        #: Each customer's watchlists by id (watchlists.py), by customer id: a new
        #: sandbox starts with none.
        self.watchlists: dict[str, dict[str, Any]] = {}
        # encoded stream payloads, shared by every stream within one market generation
        self._generation: tuple[int, int] = (-1, 0)
        self._encoded: dict[tuple[str, str], bytes | None] = {}

    # -- identity ------------------------------------------------------------------------
    def authenticate(self, request: Request) -> TradierCustomer | None:
        """The token's customer (created on first sight), or None if refused."""
        header = request.headers.get("authorization", "")
        token = header[7:].strip() if header.lower().startswith("bearer ") else ""
        if not token:
            return None
        cid = credential_id(token)
        known = self.sandbox.credentials.known().get(cid)
        if known is not None and known.revoked:
            return None
        customer = self.customers.get(cid)
        if customer is None:
            accounts = self.sandbox.open_customer("tradier-" + cid, demo_seed.TRADIER)
            customer = self.customers[cid] = TradierCustomer(cid, accounts)
        return customer

    def take_rate(self, customer: TradierCustomer, group: str) -> tuple[bool, dict[str, str]]:
        """Count one request; (allowed, the X-Ratelimit-* headers)."""
        config = self.sandbox.config
        limit = {
            "market": config.tradier_rate_limit_market,
            "standard": config.tradier_rate_limit_standard,
        }.get(group, config.tradier_rate_limit_trading)
        now = time.time()
        window = customer.rate.setdefault(group, Window())
        if window.used == 0 or now >= window.started + config.tradier_rate_window:
            window.started, window.used = now, 0
        allowed = window.used < limit
        if allowed:
            window.used += 1
        else:
            self.sandbox.counters["tradier_rate_limited"] += 1
        expiry = int((window.started + config.tradier_rate_window) * 1000)
        headers = {
            "X-Ratelimit-Allowed": str(limit),
            "X-Ratelimit-Used": str(window.used),
            "X-Ratelimit-Available": str(max(0, limit - window.used)),
            "X-Ratelimit-Expiry": str(expiry),
        }
        return allowed, headers

    def credential_states(self) -> dict[str, dict[str, Any]]:
        known = self.sandbox.credentials.known()
        now = time.time()
        return {
            cid: {
                "broker": "tradier",
                "revoked": bool(known.get(cid) and known[cid].revoked),
                "accounts": list(c.accounts),
                "sessions_created": c.sessions_created,
                "streams_started": c.streams_started,
                "sessions_rejected": c.sessions_rejected,
                "chain_requests": c.chain_requests,
                "rate": {
                    group: {
                        "used": w.used,
                        "resets_in": round(
                            max(0.0, w.started + self.sandbox.config.tradier_rate_window - now), 3
                        ),
                    }
                    for group, w in c.rate.items()
                },
                "tradier-stream": [],
            }
            for cid, c in self.customers.items()
        }


# -- REST routes --------------------------------------------------------------------------
Handler = Callable[[Request, TradierSandbox, TradierCustomer], Awaitable[Response]]


def facade_of(request: Request) -> TradierSandbox:
    return request.app.state.tradier


def endpoint(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """Bearer auth, then the token's rate window (headers on every answer), then the handler."""

    async def route(request: Request) -> Response:
        facade = facade_of(request)
        customer = facade.authenticate(request)
        if customer is None:
            return unauthorized()
        path = request.url.path.removeprefix(PREFIX)
        allowed, headers = facade.take_rate(customer, rate_group(request.method, path))
        if not allowed:
            response = errors(request, "Rate limit exceeded", 429)
        else:
            response = await handler(request, facade, customer)
        response.headers.update(headers)
        return response

    route.__name__ = handler.__name__
    return route


async def profile(request: Request, facade: TradierSandbox, c: TradierCustomer) -> Response:
    accounts = facade.sandbox.brokerage.accounts("tradier-" + c.cid)
    return render(
        request,
        {
            "profile": {
                "id": "id-" + c.cid,
                "name": "Sandbox Trader",
                "account": collapse([facade.account_item(a) for a in accounts]),
            }
        },
    )


def account_handler(
    build: Callable[[Request, TradierSandbox, str], Any],
) -> Callable[[Request], Awaitable[Response]]:
    async def handler(request: Request, facade: TradierSandbox, c: TradierCustomer) -> Response:
        number = request.path_params["number"]
        if number not in c.accounts:
            return errors(request, f"Invalid account number {number}")
        return render(request, build(request, facade, number))

    handler.__name__ = build.__name__
    return endpoint(handler)


def balances(request: Request, facade: TradierSandbox, number: str) -> Any:
    return {"balances": facade.balances_item(number)}


def positions(request: Request, facade: TradierSandbox, number: str) -> Any:
    items = facade.position_items(number)
    return {"positions": {"position": collapse(items)} if items else "null"}


async def place_order(request: Request, facade: TradierSandbox, c: TradierCustomer) -> Response:
    number = request.path_params["number"]
    if number not in c.accounts:
        return errors(request, f"Invalid account number {number}")
    form = await params(request)
    try:
        placed = facade.sandbox.brokerage.place_order(number, facade.order_request(form))
    except OrderRejected as exc:
        return errors(request, exc.message)
    facade.sandbox.publish([AccountEvent("Order", number, placed.order)])
    return render(request, {"order": {"id": placed.order.id, "status": "ok"}})


async def quotes(request: Request, facade: TradierSandbox, c: TradierCustomer) -> Response:
    values = await params(request)
    greeks = values.get("greeks", "false").lower() == "true"
    found, unmatched = [], []
    for raw in values.get("symbols", "").split(","):
        symbol = raw.strip().upper()
        if not symbol:
            continue
        name = facade.market_symbol(symbol)
        if name is None:
            unmatched.append(symbol)
        else:
            found.append(facade.quote_item(symbol, name, greeks))
    body: dict[str, Any] = {}
    if found:
        body["quote"] = collapse(found)
    if unmatched:
        body["unmatched_symbols"] = {"symbol": collapse(unmatched)}
    return render(request, {"quotes": body or "null"})


async def create_session(request: Request, facade: TradierSandbox, c: TradierCustomer) -> Response:
    if not facade.sandbox.config.tradier_streaming:
        return errors(request, "Streaming is not available for this account")
    session = MarketSession(uuid.uuid4().hex[:27].upper(), c.cid, time.monotonic())
    now = time.monotonic()
    ttl = facade.sandbox.config.tradier_session_ttl
    facade.sessions = {
        k: s for k, s in facade.sessions.items() if now - s.created < max(ttl, 1.0) * 4
    }
    facade.sessions[session.id] = session
    c.sessions_created += 1
    facade.sandbox.counters["tradier_sessions_created"] += 1
    url = http_url(request, facade.sandbox.public_url, f"{PREFIX}/v1/markets/events")
    return render(request, {"stream": {"url": url, "sessionid": session.id}})


routes = [
    Route(f"{PREFIX}/v1/user/profile", endpoint(profile), methods=["GET"]),
    Route(f"{PREFIX}/v1/accounts/{{number}}/balances", account_handler(balances), methods=["GET"]),
    Route(
        f"{PREFIX}/v1/accounts/{{number}}/positions", account_handler(positions), methods=["GET"]
    ),
    Route(f"{PREFIX}/v1/markets/quotes", endpoint(quotes), methods=["GET", "POST"]),
    Route(f"{PREFIX}/v1/markets/events/session", endpoint(create_session), methods=["POST"]),
]
