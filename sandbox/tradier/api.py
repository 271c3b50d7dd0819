"""Tradier's REST API and HTTP market stream, as a façade over the shared simulation.

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

import asyncio
import contextlib
import datetime as dt
import hashlib
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from urllib.parse import parse_qsl
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

import orjson
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from sandbox.core import chains
from sandbox.core.credentials import credential_id
from sandbox.core.hub import Session
from sandbox.core.market import instrument_kind, option_underlying
from sandbox.core.records import (
    AccountEvent,
    AccountRecord,
    LegRecord,
    LegRequest,
    OrderRecord,
    OrderRejected,
    OrderRequest,
    PositionRecord,
    parse_decimal,
)
from sandbox.core.simulation import Simulation
from sandbox.core.symbols import OptionSymbol, classify, parse_occ_symbol
from sandbox.http import http_url

PREFIX = "/tradier"
STREAM_TYPES = ("quote", "trade", "summary", "timesale", "tradex")
NEW_YORK = ZoneInfo("America/New_York")

_STATUS = {
    "Received": "pending",
    "Routed": "pending",
    "In Flight": "pending",
    "Live": "open",
    "Filled": "filled",
    "Cancelled": "canceled",
    "Canceled": "canceled",
    "Rejected": "rejected",
    "Expired": "expired",
}
_EQUITY_SIDE = {
    "Buy to Open": "buy",
    "Sell to Close": "sell",
    "Sell to Open": "sell_short",
    "Buy to Close": "buy_to_cover",
}
#: Tradier's `duration`: what the brokerage can do, and what Tradier documents but it cannot
_DURATIONS = {"day": "Day", "gtc": "GTC"}
_UNSUPPORTED_DURATIONS = {"pre", "post"}
_SIDE_ACTION = {
    "buy": "Buy to Open",
    "sell": "Sell to Close",
    "sell_short": "Sell to Open",
    "buy_to_cover": "Buy to Close",
    "buy_to_open": "Buy to Open",
    "buy_to_close": "Buy to Close",
    "sell_to_open": "Sell to Open",
    "sell_to_close": "Sell to Close",
}


# -- small helpers ----------------------------------------------------------------------
def _s(value: float) -> str:
    """A price as the stream spells it: a string without trailing zeros ("288.1")."""
    text = f"{value:.4f}".rstrip("0").rstrip(".")
    return text or "0"


def collapse(items: list[Any]) -> Any:
    """Tradier's XML heritage: one element is a bare object, none is the string "null"."""
    if not items:
        return "null"
    return items[0] if len(items) == 1 else items


def occ_symbol(symbol: OptionSymbol) -> str:
    """An OCC symbol as Tradier spells it: unpadded (`SPY250221C00590000`)."""
    return symbol.occ_symbol.replace(" ", "")


def _p4(value: Decimal) -> float:
    """A per-unit price to 4 decimals, as a JSON number."""
    return float(value.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP))


def _iso_at(epoch: float | None) -> str | None:
    """Epoch seconds as Tradier's `...Z` ISO text with milliseconds."""
    if epoch is None:
        return None
    moment = dt.datetime.fromtimestamp(epoch, dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def to_xml(payload: Any, tag: str = "response") -> str:
    """A minimal XML rendering of a JSON answer (Tradier's default format)."""
    if isinstance(payload, dict):
        inner = "".join(
            "".join(to_xml(item, key) for item in value)
            if isinstance(value, list)
            else to_xml(value, key)
            for key, value in payload.items()
        )
    elif payload is None:
        inner = ""
    elif isinstance(payload, bool):
        inner = "true" if payload else "false"
    else:
        inner = escape(str(payload))
    return f"<{tag}>{inner}</{tag}>"


def wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "").lower()


def render(request: Request, payload: Any, status: int = 200) -> Response:
    """JSON when asked for, XML otherwise (Tradier's default)."""
    if wants_json(request):
        return Response(orjson.dumps(payload), status, media_type="application/json")
    if isinstance(payload, dict) and len(payload) == 1:
        ((tag, value),) = payload.items()
        body = to_xml(value, tag)
    else:
        body = to_xml(payload)
    return Response(
        '<?xml version="1.0" encoding="UTF-8"?>' + body, status, media_type="application/xml"
    )


def errors(request: Request, message: str, status: int = 400) -> Response:
    return render(request, {"errors": {"error": [message]}}, status)


def unauthorized() -> Response:
    return PlainTextResponse("Invalid Access Token", 401)


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


class TradierSandbox:
    """Tradier's view of the sandbox: per-token customers, sessions and rate windows."""

    def __init__(self, sandbox: Simulation) -> None:
        self.sandbox = sandbox
        self.customers: dict[str, TradierCustomer] = {}
        self.sessions: dict[str, MarketSession] = {}
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
            accounts = self.sandbox.brokerage.open_customer("tradier-" + cid)
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

    # -- market data translation ---------------------------------------------------------------
    def market_symbol(self, symbol: str) -> str | None:
        """The market's (streamer) symbol of a Tradier symbol (ticker or OCC), if valid."""
        symbol = symbol.strip().upper()
        if not symbol:
            return None
        option = parse_occ_symbol(symbol)
        if option is not None:
            name = option.streamer_symbol
        elif classify(symbol) == "equity":
            name = symbol
        else:
            return None
        return name if self.sandbox.market.ensure(name) else None

    @property
    def delay_ms(self) -> int:
        """How far back Tradier's market data reports its times (`tradier_quote_delay`)."""
        return int(self.sandbox.config.tradier_quote_delay * 1000)

    def stream_event(self, kind: str, name: str, symbol: str) -> dict[str, Any] | None:
        """One stream payload with Tradier's exact field types, or None."""
        market = self.sandbox.market
        lag = self.delay_ms
        if kind == "quote":
            q = market.quote(name)
            return {
                "type": "quote",
                "symbol": symbol,
                "bid": q["bidPrice"],
                "bidsz": q["bidSize"],
                "bidexch": q["bidExchangeCode"],
                "biddate": str(q["bidTime"] - lag),
                "ask": q["askPrice"],
                "asksz": q["askSize"],
                "askexch": q["askExchangeCode"],
                "askdate": str(q["askTime"] - lag),
            }
        if kind in ("trade", "tradex"):
            t = market.trade(name)
            if not t["size"]:
                return None
            return {
                "type": kind,
                "symbol": symbol,
                "exch": t["exchangeCode"],
                "price": _s(t["price"]),
                "size": str(t["size"]),
                "cvol": str(t["dayVolume"]),
                "date": str(t["time"] - lag),
                "last": _s(t["price"]),
            }
        if kind == "summary":
            s = market.summary(name)
            return {
                "type": "summary",
                "symbol": symbol,
                "open": _s(s["dayOpenPrice"]),
                "high": _s(s["dayHighPrice"]),
                "low": _s(s["dayLowPrice"]),
                "prevClose": _s(s["prevDayClosePrice"]),
            }
        if kind == "timesale":
            t = market.trade(name)
            q = market.quote(name)
            if not t["size"]:
                return None
            return {
                "type": "timesale",
                "symbol": symbol,
                "exch": t["exchangeCode"],
                "bid": _s(q["bidPrice"]),
                "ask": _s(q["askPrice"]),
                "last": _s(t["price"]),
                "size": str(t["size"]),
                "date": str(t["time"] - lag),
                "seq": t["sequence"],
                "flag": "",
                "cancel": False,
                "correction": False,
                "session": "normal",
            }
        return None

    def encoded(self, kind: str, name: str, symbol: str) -> bytes | None:
        """A payload serialized once per market generation, whoever streams it."""
        generation = (self.sandbox.hub.generation, self.delay_ms)
        if generation != self._generation:
            self._generation = generation
            self._encoded.clear()
        key = (kind, symbol)
        if key not in self._encoded:
            event = self.stream_event(kind, name, symbol)
            self._encoded[key] = None if event is None else orjson.dumps(event)
        return self._encoded[key]

    def quote_item(self, symbol: str, name: str, greeks: bool) -> dict[str, Any]:
        """A `/v1/markets/quotes` entry (and chain row) for a valid symbol."""
        market = self.sandbox.market
        q, t, s = market.quote(name), market.trade(name), market.summary(name)
        last, prev = t["price"], s["prevDayClosePrice"]
        lag = self.delay_ms
        option = parse_occ_symbol(symbol)
        item: dict[str, Any] = {
            "symbol": symbol,
            "description": market.profile(name)["description"],
            "exch": q["bidExchangeCode"],
            "type": "option" if option else (instrument_kind(name) or "stock"),
            "last": last,
            "change": round(last - prev, 2),
            "volume": t["dayVolume"],
            "open": s["dayOpenPrice"],
            "high": s["dayHighPrice"],
            "low": s["dayLowPrice"],
            "close": None,
            "bid": q["bidPrice"],
            "ask": q["askPrice"],
            "change_percentage": round((last - prev) / prev * 100, 2) if prev else 0.0,
            "average_volume": s["prevDayVolume"],
            "last_volume": t["size"] or 0,
            "trade_date": t["time"] - lag,
            "prevclose": prev,
            "week_52_high": max(s["dayHighPrice"], last),
            "week_52_low": min(s["dayLowPrice"], last),
            "bidsize": q["bidSize"],
            "bidexch": q["bidExchangeCode"],
            "bid_date": q["bidTime"] - lag,
            "asksize": q["askSize"],
            "askexch": q["askExchangeCode"],
            "ask_date": q["askTime"] - lag,
        }
        if option is None:
            item["root_symbols"] = name
            return item
        item.update(
            {
                "underlying": option_underlying(option.underlying),
                "strike": float(option.strike),
                "open_interest": s["openInterest"],
                "contract_size": 100,
                "expiration_date": option.expiry.isoformat(),
                "expiration_type": "standard"
                if chains.expiration_type(option.expiry) == "Regular"
                else "weeklys",
                "option_type": "call" if option.right == "C" else "put",
                "root_symbol": option.underlying,
            }
        )
        if greeks:
            item["greeks"] = self.greeks_item(name, option, q["bidPrice"])
        return item

    def greeks_item(self, name: str, option: OptionSymbol, bid: float) -> dict[str, Any]:
        """ORATS-style greeks; `mid_iv` is 0 on rows without a bid, as on illiquid rows."""
        g = self.sandbox.market.greeks(name)
        iv = g["volatility"]
        years = max(0.0, (option.expiry - self.sandbox.market_date()).days / 365.0)
        try:
            spot = self.sandbox.market.mid(option.underlying)
        except KeyError:
            spot = 0.0
        now = dt.datetime.fromtimestamp(self.sandbox.now(), NEW_YORK)
        now -= dt.timedelta(milliseconds=self.delay_ms)
        return {
            "delta": g["delta"],
            "gamma": g["gamma"],
            "theta": g["theta"],
            "vega": g["vega"],
            "rho": g["rho"],
            "phi": round(-g["delta"] * spot * years / 100, 6),
            "bid_iv": iv if bid > 0 else 0.0,
            "mid_iv": iv if bid > 0 else 0.0,
            "ask_iv": iv,
            "smv_vol": round(iv, 3),
            "updated_at": now.strftime("%Y-%m-%d %H:%M:%S"),
        }

    # -- brokerage translation -------------------------------------------------------------------
    def account_item(self, account: AccountRecord) -> dict[str, Any]:
        margin = account.margin
        opened = _iso_at(account.opened_at)
        return {
            "account_number": account.number,
            "classification": "individual" if margin else "ira",
            "date_created": opened,
            "day_trader": False,
            "option_level": 6 if margin else 2,
            "status": "active",
            "type": "margin" if margin else "cash",
            "last_update_date": opened,
        }

    def balances_item(self, number: str) -> dict[str, Any]:
        brokerage = self.sandbox.brokerage
        b = brokerage.balance(number)
        account = brokerage.account(number)
        margin = account is not None and account.margin
        long_eq, short_eq = float(b.long_equity_value), float(b.short_equity_value)
        long_opt, short_opt = float(b.long_derivative_value), float(b.short_derivative_value)
        open_pl = 0.0
        for p in brokerage.positions(number):
            mark = p.mark_price if p.mark_price is not None else p.close_price
            open_pl += (_p4(mark) - _p4(p.average_open_price)) * float(p.quantity) * p.multiplier
        working = [o for o in brokerage.live_orders(number) if o.working]
        item: dict[str, Any] = {
            "option_short_value": -short_opt,
            "total_equity": float(b.net_liquidating_value),
            "account_number": number,
            "account_type": "margin" if margin else "cash",
            "close_pl": 0.0,
            "current_requirement": float(b.maintenance_requirement),
            "equity": 0,
            "long_market_value": round(long_eq + long_opt, 2),
            "market_value": round(long_eq + long_opt - short_eq - short_opt, 2),
            "open_pl": round(open_pl, 2),
            "option_long_value": long_opt,
            "option_requirement": float(b.used_derivative_buying_power),
            "pending_orders_count": len(working),
            "short_market_value": -round(short_eq + short_opt, 2),
            "stock_long_value": long_eq,
            "total_cash": float(b.cash_balance),
            "uncleared_funds": 0,
            "pending_cash": 0.0,
        }
        if margin:
            item["margin"] = {
                "fed_call": 0,
                "maintenance_call": float(b.maintenance_call_value),
                "option_buying_power": float(b.derivative_buying_power),
                "stock_buying_power": float(b.equity_buying_power),
                "stock_short_value": -short_eq,
                "sweep": 0,
            }
        else:
            item["cash"] = {
                "cash_available": float(b.cash_available_to_withdraw),
                "sweep": 0,
                "unsettled_funds": 0,
            }
        return item

    def position_items(self, number: str) -> list[dict[str, Any]]:
        return [self.position_item(number, p) for p in self.sandbox.brokerage.positions(number)]

    def position_item(self, number: str, p: PositionRecord) -> dict[str, Any]:
        qty = float(p.quantity)
        option = parse_occ_symbol(p.symbol)
        symbol = occ_symbol(option) if option else p.symbol
        digest = hashlib.sha256(f"{number}|{symbol}".encode()).digest()
        return {
            "cost_basis": round(_p4(p.average_open_price) * qty * p.multiplier, 2),
            "date_acquired": _iso_at(p.created_at),
            "id": int.from_bytes(digest[:3], "big"),
            "quantity": qty,
            "symbol": symbol,
        }

    def order_item(self, order: OrderRecord, include_tag: bool = False) -> dict[str, Any]:
        """Tradier's order object; `tag` only when asked for (`includeTags=true`) and set."""
        legs = [self._leg_item(order, leg) for leg in order.legs]
        item: dict[str, Any] = {
            "id": order.id,
            "type": order.order_type.lower().replace("marketable limit", "limit"),
            "symbol": order.underlying_symbol,
            "duration": "gtc" if order.time_in_force.startswith("GTC") else "day",
            "price": _p4(abs(order.price)) if order.price is not None else None,
            "create_date": _iso_at(order.received_at),
            "transaction_date": _iso_at(order.updated_at),
        }
        if include_tag and order.client_order_id:
            item["tag"] = order.client_order_id
        if len(legs) == 1:
            leg = legs[0]
            item.update({k: v for k, v in leg.items() if k != "id"})
            item["status"] = self._status(order, [leg])
            if leg["class"] == "equity":
                item.pop("option_symbol", None)
        else:
            item.update(
                {
                    "class": "multileg",
                    "status": self._status(order, legs),
                    "quantity": sum(leg["quantity"] for leg in legs),
                    "exec_quantity": sum(leg["exec_quantity"] for leg in legs),
                    "remaining_quantity": sum(leg["remaining_quantity"] for leg in legs),
                    "num_legs": len(legs),
                    "leg": legs,
                }
            )
        if item["price"] is None:
            item.pop("price")
        return item

    @staticmethod
    def _status(order: OrderRecord, legs: list[dict[str, Any]]) -> str:
        status = _STATUS.get(order.status, "open")
        if status == "open" and any(leg["exec_quantity"] for leg in legs):
            return "partially_filled"
        return status

    def _leg_item(self, order: OrderRecord, leg: LegRecord) -> dict[str, Any]:
        fills = leg.fills
        executed = sum(float(f.quantity) for f in fills)
        paid = sum(float(f.quantity) * _p4(f.price) for f in fills)
        option = parse_occ_symbol(leg.symbol)
        action = leg.action
        side = action.lower().replace(" ", "_") if option else _EQUITY_SIDE.get(action, "buy")
        digest = hashlib.sha256(f"{order.id}|{leg.symbol}".encode()).digest()
        return {
            "id": int.from_bytes(digest[:3], "big"),
            "class": "option" if option else "equity",
            "symbol": option.underlying if option else leg.symbol,
            "option_symbol": occ_symbol(option) if option else None,
            "side": side,
            "quantity": float(leg.quantity),
            "status": _STATUS.get(order.status, "open"),
            "avg_fill_price": round(paid / executed, 4) if executed else 0.0,
            "exec_quantity": executed,
            "last_fill_price": _p4(fills[-1].price) if fills else 0.0,
            "last_fill_quantity": float(fills[-1].quantity) if fills else 0.0,
            "remaining_quantity": float(leg.remaining_quantity),
        }

    def order_request(self, form: dict[str, str]) -> OrderRequest:
        """Tradier's order form as the brokerage's order request."""
        order_class = form.get("class", "equity")
        side = form.get("side", "")
        if order_class not in ("equity", "option"):
            raise OrderRejected("invalid_class", f"Unsupported order class {order_class!r}.")
        if side not in _SIDE_ACTION:
            raise OrderRejected("invalid_side", f"Unsupported side {side!r}.")
        if order_class == "option":
            option = parse_occ_symbol(form.get("option_symbol", ""))
            if option is None:
                raise OrderRejected("invalid_symbol", "option_symbol is not an OCC symbol.")
            symbol, instrument = option.occ_symbol, "Equity Option"
        else:
            symbol, instrument = form.get("symbol", "").upper(), "Equity"
        if not symbol.strip():
            raise OrderRejected("invalid_symbol", "Each leg needs a symbol.")
        order_type = form.get("type", "market")
        if order_type not in ("market", "limit"):
            raise OrderRejected("invalid_type", f"Unsupported order type {order_type!r}.")
        quantity = parse_decimal(form.get("quantity", ""))
        if quantity is None:
            raise OrderRejected("invalid_quantity", f"Bad quantity {form.get('quantity', '')!r}.")
        price = None
        if order_type == "limit" and form.get("price") is not None:
            price = parse_decimal(form.get("price"))
            if price is None:
                raise OrderRejected("invalid_price", f"Bad price {form.get('price')!r}.")
        return OrderRequest(
            order_type="Limit" if order_type == "limit" else "Market",
            legs=(
                LegRequest(
                    symbol=symbol,
                    action=_SIDE_ACTION[side],
                    quantity=quantity,
                    instrument_type=instrument,
                ),
            ),
            time_in_force=time_in_force(form.get("duration", "").strip() or None),
            price=price,
            price_effect=("Debit" if side.startswith("buy") else "Credit")
            if order_type == "limit"
            else None,
            client_order_id=form.get("tag") or None,
        )


def time_in_force(duration: str | None) -> str:
    """Tradier's `duration` as the brokerage's time in force, for placing and modify alike:
    OrderRejected (400) for one it cannot do. None (not sent, or blank) is refused too: a
    new order needs one (modify does not call this for a duration it was not sent)."""
    if duration is None:
        raise OrderRejected("invalid_duration", "Missing duration: one of day, gtc")
    if duration in _UNSUPPORTED_DURATIONS:
        raise OrderRejected("invalid_duration", f"Duration {duration} is not supported")
    if duration not in _DURATIONS:
        raise OrderRejected("invalid_duration", f"Invalid duration {duration}")
    return _DURATIONS[duration]


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


async def params(request: Request) -> dict[str, str]:
    """Query parameters and, for POST and PUT, form fields (Tradier takes both)."""
    values = dict(request.query_params)
    if request.method in ("POST", "PUT"):
        # urlencoded by hand: the sandbox does not depend on python-multipart
        values.update(parse_qsl((await request.body()).decode("latin-1"), keep_blank_values=True))
    return values


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


# -- the HTTP market stream -------------------------------------------------------------------
class TradierStream(Session):
    """One open HTTP market stream, listed, dropped and silenced like any session."""

    kind = "tradier-stream"

    def __init__(
        self,
        facade: TradierSandbox,
        credential: str,
        symbols: dict[str, str],
        types: tuple[str, ...],
        linebreak: bool,
    ) -> None:
        super().__init__(credential, facade.sandbox.faults)
        self.facade = facade
        self.symbols = symbols  # market symbol -> the symbol as the client spelled it
        self.types = types
        self.linebreak = linebreak
        self.dirty: set[str] = set()
        self.wake = asyncio.Event()
        self.last_sent: dict[tuple[str, str], Any] = {}
        self.close_reason = ""

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """End the response body (a dropped connection, as the client sees it)."""
        self._closed = True
        self.close_reason = reason
        self.wake.set()

    def state(self) -> dict[str, Any]:
        return {
            **super().state(),
            "symbols": sorted(self.symbols.values()),
            "filter": list(self.types),
            "linebreak": self.linebreak,
        }

    # -- market routing -------------------------------------------------------------------
    def mark(self, symbol: str) -> None:
        self.dirty.add(symbol)
        self.wake.set()

    def _take_dirty(self) -> set[str]:
        dirty, self.dirty = self.dirty, set()
        return dirty

    def payloads(self, names: set[str] | list[str], *, force: bool = False) -> list[bytes]:
        """What changed for these symbols since this stream last sent them."""
        out = []
        market = self.facade.sandbox.market
        for name in names:
            symbol = self.symbols.get(name)
            if symbol is None:
                continue
            q = market.quote(name)
            t = market.trade(name)
            s = market.summary(name)
            keys = {
                "quote": (q["bidPrice"], q["askPrice"], q["bidSize"], q["askSize"]),
                "trade": (t["sequence"], t["time"]),
                "tradex": (t["sequence"], t["time"]),
                "timesale": (t["sequence"], t["time"]),
                "summary": (
                    s["dayOpenPrice"],
                    s["dayHighPrice"],
                    s["dayLowPrice"],
                    s["prevDayClosePrice"],
                ),
            }
            for kind in self.types:
                key = keys[kind]
                if not force and self.last_sent.get((kind, name)) == key:
                    continue
                self.last_sent[(kind, name)] = key
                payload = self.facade.encoded(kind, name, symbol)
                if payload is not None:
                    out.append(payload)
        return out

    async def body(self, send: Send) -> None:
        """Send payloads until closed, idle too long, or the client goes away."""
        config = self.facade.sandbox.config
        separator = b"\n" if self.linebreak else b""
        last_data = time.monotonic()
        pending = self.payloads(list(self.symbols))
        while not self._closed:
            if self.facade.sandbox.faults.blackouts and await self.hold():
                last_data = time.monotonic()  # frozen, not idle
                if self._closed:
                    break
                pending += self.payloads(self._take_dirty())
            if pending:
                if self.silent:
                    self.messages_suppressed += len(pending)
                else:
                    self.messages_sent += len(pending)
                    self.facade.sandbox.counters["tradier_events_sent"] += len(pending)
                    chunk = b"".join(p + separator for p in pending)
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
                    last_data = time.monotonic()
            idle_close = config.tradier_idle_close
            repeat = config.tradier_idle_repeat
            timeout = max(0.05, idle_close - (time.monotonic() - last_data))
            if repeat > 0:
                timeout = min(timeout, max(0.05, repeat - (time.monotonic() - last_data)))
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await self.wake.wait()
            self.wake.clear()
            idle = time.monotonic() - last_data
            if idle_close > 0 and idle >= idle_close:
                break
            pending = self.payloads(self._take_dirty())
            if not pending and repeat > 0 and idle >= repeat:
                quotes = [k for k in self.types if k == "quote"]
                pending = [
                    p
                    for name, symbol in self.symbols.items()
                    for k in quotes
                    if (p := self.facade.encoded(k, name, symbol)) is not None
                ]
        await send({"type": "http.response.body", "body": b"", "more_body": False})


async def _json_error(send: Send, status: int, payload: Any, plain: bool = False) -> None:
    body = payload.encode() if plain else orjson.dumps(payload)
    media = b"text/plain" if plain else b"application/json"
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", media), (b"content-length", b"%d" % len(body))],
        }
    )
    await send({"type": "http.response.body", "body": body})


class StreamEndpoint:
    """`GET|POST /v1/markets/events` as a raw ASGI app: the body is written as ticks come,
    and a client that goes away is noticed (its session leaves the hub at once)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        facade: TradierSandbox = request.app.state.tradier
        sandbox = facade.sandbox
        refused = sandbox.faults.refusal(TradierStream.kind)  # the gateway, before auth
        if refused:
            await _json_error(send, refused, "Service Unavailable", plain=True)
            return
        customer = facade.authenticate(request)
        if customer is None:
            await _json_error(send, 401, "Invalid Access Token", plain=True)
            return
        refused = sandbox.faults.refusal(TradierStream.kind, customer.cid)
        if refused:
            await _json_error(send, refused, "Service Unavailable", plain=True)
            return
        values = await params(request)
        session = facade.sessions.get(values.get("sessionid", ""))
        ttl = sandbox.config.tradier_session_ttl
        if (
            session is None
            or session.cid != customer.cid
            or session.used
            or time.monotonic() - session.created > ttl
        ):
            customer.sessions_rejected += 1
            sandbox.counters["tradier_sessions_rejected"] += 1
            await _json_error(send, 400, {"error": "session not found"})
            return
        requested = [s.strip().upper() for s in values.get("symbols", "").split(",") if s.strip()]
        symbols = {}
        for symbol in requested:
            name = facade.market_symbol(symbol)
            if name is not None:
                symbols[name] = symbol
        if not symbols:
            bad = requested[0] if requested else "''"
            await _json_error(send, 400, {"error": f"{bad} is not a valid symbol"})
            return
        wanted = [t.strip().lower() for t in values.get("filter", "").split(",") if t.strip()]
        types = tuple(t for t in STREAM_TYPES if not wanted or t in wanted)
        linebreak = values.get("linebreak", "false").lower() not in ("false", "0", "")
        others = sandbox.hub.find("tradier-stream", customer.cid)
        if others and sandbox.config.tradier_second_session == "reject":
            customer.sessions_rejected += 1
            await _json_error(send, 400, {"error": "too many sessions requested"})
            return
        for other in others:
            await other.close(1000, "kicked by a newer session")
        session.used = True
        customer.streams_started += 1
        sandbox.counters["tradier_streams_started"] += 1
        stream = TradierStream(facade, customer.cid, symbols, types, linebreak)
        hub = sandbox.hub
        hub.add(stream)
        for name in symbols:
            hub.watch_symbol(name, stream)
        try:
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-type", b"application/json")],
                }
            )
            await _until_disconnect(stream.body(send), receive)
        finally:
            for name in symbols:
                hub.unwatch_symbol(name, stream)
            stream._closed = True
            hub.remove(stream)


async def _until_disconnect(body: Awaitable[None], receive: Receive) -> None:
    """Run the body until it ends or the client disconnects, whichever is first."""
    sender = asyncio.ensure_future(body)

    async def watch() -> None:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return

    watcher = asyncio.ensure_future(watch())
    try:
        await asyncio.wait({sender, watcher}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (sender, watcher):
            task.cancel()
        await asyncio.gather(sender, watcher, return_exceptions=True)
    if sender.done() and not sender.cancelled() and sender.exception() is not None:
        exc = sender.exception()
        if not isinstance(exc, OSError):
            raise exc  # type: ignore[misc]


routes = [
    Route(f"{PREFIX}/v1/user/profile", endpoint(profile), methods=["GET"]),
    Route(f"{PREFIX}/v1/accounts/{{number}}/balances", account_handler(balances), methods=["GET"]),
    Route(
        f"{PREFIX}/v1/accounts/{{number}}/positions", account_handler(positions), methods=["GET"]
    ),
    Route(f"{PREFIX}/v1/markets/quotes", endpoint(quotes), methods=["GET", "POST"]),
    Route(f"{PREFIX}/v1/markets/events/session", endpoint(create_session), methods=["POST"]),
    Route(f"{PREFIX}/v1/markets/events", StreamEndpoint(), methods=["GET", "POST"]),
]
