"""The Alpaca façade of the sandbox: Broker API REST and the SSE trade-event stream.

Mounted under `/alpaca` on the sandbox port, over the same simulated brokerage and market
as the tastytrade routes. A Broker API key pair (HTTP Basic `key_id:secret_key`) is a
customer with two accounts. Orders fill over time through the brokerage's `step()`; every
`Order` account event the sandbox publishes for an Alpaca account is compared with the
previous state of that order and becomes Alpaca trade events (`new`, `partial_fill`,
`fill`, `canceled`, `rejected`, `expired`), kept per key for replay and pushed to the key's
open stream as `data: <one-line JSON>\\n\\n` (no `event:`/`id:` lines, `:heartbeat`
comments when idle), as the broker reference (section 2b) describes.

Guesses (UNCONFIRMED at Alpaca) and the switch for each; every switch is a `SandboxConfig`
field `alpaca_<name>`, settable at start or through `POST /_sandbox/config`:

* `alpaca_second_connection`: a second stream of the same key gets HTTP 429 ("reject",
  as reported for trade_updates in alpaca-py #740) or closes the older one ("kick").
* `alpaca_heartbeat_interval`: the `:heartbeat` interval (the spec suggests ~15 s).
* `alpaca_event_retention`: how many events per key can be replayed.
* `alpaca_stale_cleanup` (0 s): how long a disconnected client still counts as connected (the
  server-side cleanup delay behind #740's 429 storms).
* `alpaca_stale_since` ("retained"): a `since_id` older than the retained window gets what is
  retained; "error" answers 400 instead.
* `alpaca_honour_last_event_id` (False): a `Last-Event-ID` header acts as `since_id`; Alpaca
  documents only query parameters.
* `alpaca_pending_new_event` (False): the brokerage's `Received` state is reported as
  `pending_new` (then `new` when live) instead of `new` at once.
* `alpaca_fill_price` ("execution"): a fill event's `price` is that execution's price; "average"
  sends the order's average fill price (the docs' single-fill examples cannot tell).
* `alpaca_error_comment` (True): a dropped stream ends with `: internal server error` (the v2
  reference says so for error closes).
* Error bodies are `{"code": <8-digit>, "message": ...}` with the codes Alpaca uses
  (40010000, 40110000, 40410000, 42210000, 42910000); the 429 body text is a guess.
* v1 `/v1/events/trades` uses the same events with an integer `event_id` plus
  `event_ulid`, and accepts `since_ulid`/`until_ulid` as well.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import hashlib
import itertools
import os
import re
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from ..core.brokerage import AccountEvent, OrderRejected
from ..core.credentials import credential_id
from ..core.hub import Session
from ..core.records import LegRequest, OrderRecord, OrderRequest, PositionRecord
from ..core.simulation import Simulation

__all__ = ["AlpacaSandbox", "MonotonicUlid", "routes"]

_NS = uuid.UUID("6f1c2b1e-7d0a-4c55-9a43-2f1f6b0c9e10")
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_ULID_RE = re.compile(r"^[0-9A-HJKMNP-TV-Z]{26}$")
_OCC_PADDED_RE = re.compile(r"^([A-Z][A-Z0-9]{0,5})\s*(\d{6})([CP])(\d{8})$")
_ZERO = Decimal(0)
_STATUS = {
    "Received": "new",
    "Routed": "new",
    "In Flight": "new",
    "Live": "new",
    "Filled": "filled",
    "Cancelled": "canceled",
    "Canceled": "canceled",
    "Rejected": "rejected",
    "Expired": "expired",
    "Cancel Requested": "pending_cancel",
    "Replace Requested": "pending_replace",
    "Removed": "canceled",
}
_TERMINAL_EVENTS = {"canceled": "canceled", "rejected": "rejected", "expired": "expired"}
_TIF_IN = {"day": "Day", "gtc": "GTC", "ioc": "IOC"}
_TIF_OUT = {"Day": "day", "GTC": "gtc", "IOC": "ioc", "GTD": "gtd", "Ext": "day"}
_SSE_HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
]
#: Events queued for a client that reads too slowly before it gets a warning instead.
_MAX_QUEUED = 10_000


# --------------------------------------------------------------------------- helpers


class MonotonicUlid:
    """ULIDs (48-bit ms time + 80 random bits, Crockford base32) that strictly increase
    within one generator, even within one millisecond or when the clock steps back."""

    def __init__(self) -> None:
        self._last = 0

    def new(self, now: float | None = None) -> str:
        ms = int((time.time() if now is None else now) * 1000)
        value = (ms << 80) | int.from_bytes(os.urandom(10), "big")
        if value <= self._last:
            value = self._last + 1
        self._last = value
        return encode_ulid(value)


def encode_ulid(value: int) -> str:
    chars = []
    for _ in range(26):
        chars.append(_CROCKFORD[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def ulid_time(ulid: str) -> float:
    """The epoch seconds a ULID carries (its first 10 characters)."""
    value = 0
    for char in ulid[:10]:
        value = value * 32 + _CROCKFORD.index(char)
    return value / 1000


def iso(epoch: float) -> str:
    """RFC 3339 UTC with microseconds, as Alpaca's `at` fields."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def iso_ns(epoch: float) -> str:
    """RFC 3339 UTC with nanoseconds, as Alpaca's order timestamps."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "000Z"


def parse_time(text: Any) -> float | None:
    """Epoch seconds of an ISO timestamp (tastytrade or RFC 3339 with ns), epoch ms, or None."""
    if text is None:
        return None
    if isinstance(text, int | float):
        return text / 1000
    match = re.match(r"^(.*?T\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:?\d\d)?$", str(text))
    if match is None:
        try:
            return datetime.fromisoformat(str(text)).replace(tzinfo=UTC).timestamp()
        except ValueError:
            return None
    base, frac, zone = match.groups()
    frac = (frac or ".0")[:7]
    zone = "+00:00" if zone in (None, "Z") else zone
    return datetime.fromisoformat(f"{base}{frac}{zone}").timestamp()


def dec(text: Any) -> Decimal:
    try:
        return Decimal(str(text))
    except (InvalidOperation, ValueError):
        return _ZERO


def p4(value: Decimal) -> Decimal:
    """A per-unit price to 4 decimals (the precision the brokerage quotes)."""
    return value.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)


def s(value: Decimal) -> str:
    """A number the way Alpaca sends it: a string, no exponent, no trailing zeros."""
    if value == value.to_integral_value():
        return str(int(value))
    return format(value.normalize(), "f")


def alpaca_symbol(tasty_symbol: str) -> str:
    """Tickers as-is; padded OCC (`SPY   250221C00590000`) without the padding."""
    match = _OCC_PADDED_RE.match(tasty_symbol)
    return "".join(match.groups()) if match else tasty_symbol


def tasty_symbol(symbol: str) -> str:
    """Alpaca's option spelling back to the padded OCC the brokerage parses."""
    match = _OCC_PADDED_RE.match(symbol.strip().upper())
    if match is None:
        return symbol.strip().upper()
    root, ymd, cp, strike = match.groups()
    return f"{root:<6}{ymd}{cp}{strike}"


def account_uuid(number: str) -> str:
    return str(uuid.uuid5(_NS, f"account:{number}"))


def asset_uuid(symbol: str) -> str:
    return str(uuid.uuid5(_NS, f"asset:{symbol}"))


def order_uuid(number: str, order_id: Any) -> str:
    return str(uuid.uuid5(_NS, f"order:{number}:{order_id}"))


def alpaca_error(status: int, code: int, message: str, **headers: str) -> Response:
    """An error as Alpaca sends it: `{"code": 40110000, "message": "..."}`."""
    body = orjson.dumps({"code": code, "message": message})
    return Response(body, status, headers or None, media_type="application/json")


def ok(payload: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(payload), status, media_type="application/json")


# --------------------------------------------------------------------------- state


@dataclass
class StoredEvent:
    seq: int  # the v1 integer event id
    ulid: str  # the v2 event id
    at: float
    body: dict[str, Any]  # the v2 payload without event_id


@dataclass
class _Customer:
    cid: str
    secret_hash: str
    accounts: list[str]
    events: deque[StoredEvent] = field(default_factory=deque)
    dropped: int = 0  # events that fell out of the retention window
    last_dropped: StoredEvent | None = None
    connection_attempts: int = 0
    connections_refused: int = 0


@dataclass
class _OrderTrack:
    """What the façade last reported for one brokerage order."""

    status: str
    filled: Decimal
    fill_ids: set[str]


class AlpacaSandbox:
    """State of the Alpaca façade: customers per key, order tracking, events, open streams."""

    def __init__(self, sandbox: Simulation) -> None:
        self.sandbox = sandbox
        self.customers: dict[str, _Customer] = {}
        self._by_account: dict[str, str] = {}  # account number -> credential id
        self._account_ids: dict[str, str] = {}  # account uuid -> number
        self._tracks: dict[tuple[str, Any], _OrderTrack] = {}
        self._client_ids: dict[str, str] = {}  # order uuid -> client_order_id
        self._order_ids: dict[str, tuple[str, int]] = {}  # order uuid -> (number, id)
        self._ulids = MonotonicUlid()
        self._seq = itertools.count(1)
        self.streams: dict[str, set[SseSession]] = {}
        sandbox.account_listeners.append(self.on_account_event)

    def option(self, name: str) -> Any:
        """The switch `SandboxConfig.alpaca_<name>` (settable through the control API)."""
        return getattr(self.sandbox.config, f"alpaca_{name}")

    # -- credentials -----------------------------------------------------------
    def authenticate(self, request: Request) -> _Customer | Response:
        """HTTP Basic key id and secret; 401 (Alpaca's body) for a bad or revoked key."""
        header = request.headers.get("authorization", "")
        scheme, _, encoded = header.partition(" ")
        try:
            decoded = base64.b64decode(encoded, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            decoded = ""
        key_id, _, secret = decoded.partition(":")
        if scheme.lower() != "basic" or not key_id or not secret:
            return alpaca_error(401, 40110000, "request is not authorized")
        cid = credential_id(key_id)
        known = self.sandbox.credentials.known().get(cid)
        if known is not None and known.revoked:
            return alpaca_error(401, 40110000, "request is not authorized")
        secret_hash = hashlib.sha256(secret.encode()).hexdigest()
        customer = self.customers.get(cid)
        if customer is None:
            numbers = self.sandbox.brokerage.open_customer(f"alpaca-{cid}")
            customer = _Customer(cid, secret_hash, numbers)
            self.customers[cid] = customer
            for number in numbers:
                self._by_account[number] = cid
                self._account_ids[account_uuid(number)] = number
        elif customer.secret_hash != secret_hash:
            return alpaca_error(401, 40110000, "request is not authorized")
        return customer

    def adopt_customer(self, cid: str, secret_hash: str, numbers: list[str]) -> _Customer:
        """Register a customer whose accounts were opened elsewhere (a Trading API key):
        its orders then become trade events exactly as a Broker API customer's do."""
        customer = self.customers.get(cid)
        if customer is None:
            customer = _Customer(cid, secret_hash, list(numbers))
            self.customers[cid] = customer
            for number in numbers:
                self._by_account[number] = cid
                self._account_ids[account_uuid(number)] = number
        return customer

    def remember_order(self, number: str, order_id: int, client_order_id: Any = None) -> str:
        """The Alpaca id of a brokerage order placed through another route, remembered
        (with its client order id, if one was given) for lookups by either."""
        oid = order_uuid(number, order_id)
        self._order_ids[oid] = (number, order_id)
        if isinstance(client_order_id, str) and client_order_id:
            self._client_ids[oid] = client_order_id[:128]
        return oid

    def order_ref(self, oid: str) -> tuple[str, int] | None:
        """(account number, brokerage order id) of an Alpaca order id, if known."""
        return self._order_ids.get(oid)

    def account_of(self, customer: _Customer, account_id: str) -> str | None:
        number = self._account_ids.get(account_id)
        return number if number in customer.accounts else None

    def credential_states(self) -> dict[str, dict[str, Any]]:
        return {
            cid: {
                "broker": "alpaca",
                "revoked": bool(
                    getattr(self.sandbox.credentials.known().get(cid), "revoked", False)
                ),
                "accounts": list(c.accounts),
                "events": len(c.events) + c.dropped,
                "retained_events": len(c.events),
                "connection_attempts": c.connection_attempts,
                "connections_refused": c.connections_refused,
            }
            for cid, c in self.customers.items()
        }

    # -- wire shapes -----------------------------------------------------------
    def account_summary(self, number: str) -> dict[str, Any]:
        account = self.sandbox.brokerage.account(number)
        opened = account.opened_at if account is not None else 0.0
        return {
            "id": account_uuid(number),
            "account_number": number,
            "status": "ACTIVE",
            "crypto_status": "INACTIVE",
            "currency": "USD",
            "last_equity": self._last_equity(number),
            "created_at": iso(opened),
            "account_type": "trading",
            "enabled_assets": ["us_equity", "us_option"],
        }

    def _last_equity(self, number: str) -> str:
        """Equity at the previous close: cash plus the positions marked at the market's
        previous close (each position's `lastday_price`), so `equity - last_equity` is the
        sum of the positions' `unrealized_intraday_pl`."""
        brokerage = self.sandbox.brokerage
        value = brokerage.balance(number).cash_balance
        for p in brokerage.positions(number):
            value += p.quantity * p.close_price * p.multiplier
        return s(value.quantize(Decimal("0.01")))

    def trading_account(self, number: str) -> dict[str, Any]:
        b = self.sandbox.brokerage.balance(number)
        account = self.sandbox.brokerage.account(number)
        margin = account is not None and account.margin
        equity = b.net_liquidating_value
        return {
            "id": account_uuid(number),
            "account_number": number,
            "status": "ACTIVE",
            "crypto_status": "INACTIVE",
            "currency": "USD",
            "cash": s(b.cash_balance),
            "cash_withdrawable": s(b.cash_available_to_withdraw),
            "equity": s(equity),
            "last_equity": self._last_equity(number),
            "portfolio_value": s(equity),
            "buying_power": s(b.equity_buying_power),
            "regt_buying_power": s(b.equity_buying_power),
            "daytrading_buying_power": s(b.day_trading_buying_power),
            "non_marginable_buying_power": s(b.derivative_buying_power),
            "options_buying_power": s(b.derivative_buying_power),
            "long_market_value": s(b.long_equity_value + b.long_derivative_value),
            "short_market_value": s(-(b.short_equity_value + b.short_derivative_value)),
            "initial_margin": s(b.reg_t_margin_requirement),
            "maintenance_margin": s(b.maintenance_requirement),
            "last_maintenance_margin": s(b.maintenance_requirement),
            "sma": "0",
            "daytrade_count": 0,
            "multiplier": "2" if margin else "1",
            "pattern_day_trader": False,
            "trading_blocked": False,
            "transfers_blocked": False,
            "account_blocked": False,
            "shorting_enabled": margin,
            "accrued_fees": "0",
            "pending_transfer_in": "0",
            "pending_transfer_out": "0",
            "created_at": self.account_summary(number)["created_at"],
        }

    def position(self, p: PositionRecord) -> dict[str, Any]:
        option = p.instrument_type == "Equity Option"
        multiplier = Decimal(p.multiplier)
        signed = p.quantity
        avg = p4(p.average_open_price)
        current = p4(p.mark_price if p.mark_price is not None else p.close_price)
        lastday = p4(p.close_price)
        market_value = signed * current * multiplier
        cost_basis = signed * avg * multiplier
        pl = market_value - cost_basis
        symbol = alpaca_symbol(p.symbol)
        return {
            "asset_id": asset_uuid(symbol),
            "symbol": symbol,
            "exchange": "" if option else "NASDAQ",
            "asset_class": "us_option" if option else "us_equity",
            "asset_marginable": not option,
            "qty": s(signed),
            "qty_available": s(signed),
            "avg_entry_price": s(avg),
            "side": "short" if signed < 0 else "long",
            "market_value": s(market_value.quantize(Decimal("0.01"))),
            "cost_basis": s(cost_basis.quantize(Decimal("0.01"))),
            "unrealized_pl": s(pl.quantize(Decimal("0.01"))),
            "unrealized_plpc": s((pl / abs(cost_basis)).quantize(Decimal("0.0001")))
            if cost_basis
            else "0",
            "unrealized_intraday_pl": s(
                (signed * (current - lastday) * multiplier).quantize(Decimal("0.01"))
            ),
            "current_price": s(current),
            "lastday_price": s(lastday),
            "change_today": s(((current - lastday) / lastday).quantize(Decimal("0.0001")))
            if lastday
            else "0",
        }

    def order(self, o: OrderRecord, *, status: str | None = None) -> dict[str, Any]:
        """An Alpaca order object from a brokerage order record."""
        number = o.account_number
        oid = order_uuid(number, o.id)
        self._order_ids.setdefault(oid, (number, o.id))
        if o.client_order_id and oid not in self._client_ids:
            self._client_ids[oid] = o.client_order_id
        legs = o.legs
        size = o.size
        first = legs[0]
        ratio = first.quantity / size if size else Decimal(1)
        leg_filled = first.filled_quantity
        filled_units = leg_filled / ratio if ratio else _ZERO
        fills = list(first.fills)
        value = sum((f.quantity * f.price for f in fills), _ZERO)
        qty_filled = sum((f.quantity for f in fills), _ZERO)
        single = len(legs) == 1
        avg = (value / qty_filled).quantize(Decimal("0.0001")) if qty_filled else None
        updated = o.updated_at
        created = o.received_at
        terminal = o.terminal_at
        brokerage_status = o.status
        if status is None:
            status = _STATUS.get(brokerage_status, brokerage_status.lower())
            if brokerage_status == "Received" and self.option("pending_new_event"):
                status = "pending_new"
            if status == "new" and filled_units > 0:
                status = "partially_filled"
        order_type = {"Market": "market", "Limit": "limit", "Marketable Limit": "limit"}.get(
            o.order_type, o.order_type.lower()
        )
        limit = None
        if o.price is not None:
            limit = s(p4(abs(o.price)))
        option = first.instrument_type == "Equity Option"
        data: dict[str, Any] = {
            "id": oid,
            "client_order_id": self._client_ids.get(oid, str(uuid.uuid5(_NS, f"client:{oid}"))),
            "created_at": iso_ns(created),
            "updated_at": iso_ns(updated),
            "submitted_at": iso_ns(created),
            "filled_at": iso_ns(terminal) if status == "filled" and terminal else None,
            "expired_at": iso_ns(terminal) if status == "expired" and terminal else None,
            "canceled_at": iso_ns(o.cancelled_at or updated) if status == "canceled" else None,
            "failed_at": iso_ns(updated) if status == "rejected" else None,
            "replaced_at": None,
            "replaced_by": None,
            "replaces": None,
            "asset_id": asset_uuid(alpaca_symbol(first.symbol)) if single else "",
            "symbol": alpaca_symbol(first.symbol) if single else "",
            "asset_class": ("us_option" if option else "us_equity") if single else "",
            "notional": None,
            "qty": s(first.quantity) if single else s(size),
            "filled_qty": s(leg_filled) if single else s(filled_units),
            "filled_avg_price": s(avg) if avg is not None and single else None,
            "order_class": "simple" if single else "mleg",
            "order_type": order_type,
            "type": order_type,
            "side": ("buy" if first.is_buy else "sell") if single else "",
            "position_intent": _intent(first.action) if single else None,
            "time_in_force": _TIF_OUT.get(o.time_in_force, "day"),
            "limit_price": limit,
            "stop_price": None,
            "status": status,
            "extended_hours": False,
            "legs": None,
            "trail_percent": None,
            "trail_price": None,
            "hwm": None,
            "commission": "0",
        }
        if not single:
            data["legs"] = [
                {
                    "symbol": alpaca_symbol(leg.symbol),
                    "side": "buy" if leg.is_buy else "sell",
                    "position_intent": _intent(leg.action),
                    "ratio_qty": s(leg.quantity / size) if size else "1",
                    "qty": s(leg.quantity),
                    "filled_qty": s(leg.filled_quantity),
                    "asset_class": "us_option"
                    if leg.instrument_type == "Equity Option"
                    else "us_equity",
                    "status": status,
                }
                for leg in legs
            ]
        return data

    # -- events ----------------------------------------------------------------
    def on_account_event(self, event: AccountEvent) -> None:
        """Turn brokerage `Order` events of Alpaca accounts into trade events."""
        if event.kind != "Order":
            return
        cid = self._by_account.get(event.account_number)
        o = event.record
        if cid is None or not isinstance(o, OrderRecord) or o.id is None:
            return
        key = (event.account_number, o.id)
        track = self._tracks.get(key)
        now = o.updated_at or time.time()
        if track is None:
            track = _OrderTrack(status="", filled=_ZERO, fill_ids=set())
            self._tracks[key] = track
            first_status = "pending_new" if self.option("pending_new_event") else "new"
            if o.working or o.legs[0].fills:
                status = first_status if o.status == "Received" else "new"
                self._emit(cid, "new", self.order(o, status=status), now)
                track.status = status
        if o.status == "Live" and track.status == "pending_new":
            self._emit(cid, "new", self.order(o, status="new"), now)
            track.status = "new"
        first = o.legs[0]
        size = o.size
        ratio = first.quantity / size if size else Decimal(1)
        for fill in first.fills:
            if fill.fill_id in track.fill_ids:
                continue
            track.fill_ids.add(fill.fill_id)
            qty = fill.quantity
            track.filled += qty
            final = track.filled >= first.quantity
            alpaca = self.order(o)
            if not final:  # a later fill of the same step may be in `o` already
                alpaca["status"] = "partially_filled"
                alpaca["filled_qty"] = s(track.filled / ratio)
                alpaca["filled_at"] = None
            price = fill.price
            if self.option("fill_price") == "average" and alpaca["filled_avg_price"]:
                price = dec(alpaca["filled_avg_price"])
            extra = {
                "price": s(price),
                "qty": s(qty / ratio),
                "position_qty": self._position_qty(event.account_number, first.symbol),
                "execution_id": str(uuid.uuid5(_NS, f"exec:{key}:{fill.fill_id}")),
            }
            event_name = "fill" if final else "partial_fill"
            self._emit(cid, event_name, alpaca, fill.filled_at or now, extra)
            track.status = alpaca["status"]
        status = _STATUS.get(o.status, "")
        if status in _TERMINAL_EVENTS and track.status != status:
            self._emit(cid, _TERMINAL_EVENTS[status], self.order(o), now)
            track.status = status

    def _position_qty(self, number: str, symbol: str) -> str:
        for p in self.sandbox.brokerage.positions(number):
            if p.symbol == symbol:
                return s(p.quantity)
        return "0"

    def _emit(
        self,
        cid: str,
        name: str,
        order: dict[str, Any],
        timestamp: float,
        extra: dict[str, Any] | None = None,
    ) -> None:
        customer = self.customers[cid]
        now = time.time()
        number = self._order_ids[order["id"]][0]
        body = {
            "account_id": account_uuid(number),
            "at": iso(now),
            "event": name,
            "timestamp": iso_ns(timestamp),
            "order": order,
            **(extra or {}),
        }
        stored = StoredEvent(next(self._seq), self._ulids.new(now), now, body)
        customer.events.append(stored)
        retention = max(1, int(self.sandbox.config.alpaca_event_retention))
        while len(customer.events) > retention:
            customer.last_dropped = customer.events.popleft()
            customer.dropped += 1
        self.sandbox.counters["alpaca_events"] += 1
        for session in list(self.streams.get(cid, ())):
            session.offer(stored)


def _intent(action: str) -> str:
    return action.lower().replace(" ", "_")


# --------------------------------------------------------------------------- replay


@dataclass
class Replay:
    """A stream's `since*`/`until*` window; which field is compared depends on the version."""

    version: int
    since: Any = None  # date | str (ulid) | int (seq)
    until: Any = None
    field: str = ""  # "date" | "ulid" | "seq"

    def key(self, event: StoredEvent) -> Any:
        if self.field == "date":
            return datetime.fromtimestamp(event.at, UTC).date()
        return event.ulid if self.field == "ulid" else event.seq

    def wants_history(self) -> bool:
        return self.since is not None

    def after_since(self, event: StoredEvent) -> bool:
        if self.field == "date":
            return self.key(event) >= self.since
        return self.key(event) > self.since

    def beyond_until(self, event: StoredEvent) -> bool:
        return self.until is not None and self.key(event) > self.until

    def at_until(self, event: StoredEvent) -> bool:
        return self.until is not None and self.field != "date" and self.key(event) == self.until

    def until_passed(self, latest: StoredEvent | None) -> bool:
        """Nothing more can come inside the window (the stream ends with 200)."""
        if self.until is None:
            return False
        if self.field == "date":
            return datetime.now(UTC).date() > self.until
        if latest is not None and self.key(latest) >= self.until:
            return True
        # new ULIDs carry the current time: none can fall at or before a past until_ulid
        return self.field == "ulid" and ulid_time(self.until) < time.time() - 0.001


def parse_replay(request: Request, version: int, options_last_event_id: bool) -> Replay | str:
    """Validate the replay parameters as Alpaca does; an error message on misuse."""
    q = request.query_params
    pairs = [("since", "until", "date"), ("since_id", "until_id", "")]
    pairs.append(("since_ulid", "until_ulid", "ulid"))
    given = [name for name, _, _ in pairs if q.get(name)]
    for since_name, until_name, _ in pairs:
        if q.get(until_name) and not q.get(since_name):
            return f"{until_name} requires {since_name}"
    if len(given) > 1:
        return "only one of since, since_id, since_ulid may be given"
    last_event_id = request.headers.get("last-event-id")
    if not given and options_last_event_id and last_event_id:
        given, fake = ["since_id"], {"since_id": last_event_id}
    else:
        fake = {}
    if not given:
        return Replay(version)
    name = given[0]
    since_raw = fake.get(name) or q.get(name)
    until_name = dict((a, b) for a, b, _ in pairs)[name]
    until_raw = q.get(until_name)
    if name == "since":
        try:
            since = date.fromisoformat(since_raw)
            until = date.fromisoformat(until_raw) if until_raw else None
        except ValueError:
            return "since and until must be dates (YYYY-MM-DD)"
        return Replay(version, since, until, "date")
    ulid_ids = name == "since_ulid" or version == 2
    if ulid_ids:
        values = [since_raw, until_raw] if until_raw else [since_raw]
        if not all(_ULID_RE.match(v.upper()) for v in values):
            return f"{name} must be a ULID"
        return Replay(version, since_raw.upper(), until_raw.upper() if until_raw else None, "ulid")
    try:
        return Replay(version, int(since_raw), int(until_raw) if until_raw else None, "seq")
    except ValueError:
        return f"{name} must be an integer"


# --------------------------------------------------------------------------- SSE


class SseSession(Session):
    """One open trade-event stream, listed, dropped and silenced like any session."""

    kind = "alpaca-sse"

    def __init__(self, facade: AlpacaSandbox, customer: _Customer, replay: Replay) -> None:
        super().__init__(customer.cid, facade.sandbox.faults)
        self.facade = facade
        self.customer = customer
        self.replay = replay
        self.heartbeats_sent = 0
        self.dropped_slow = 0
        self._queue: asyncio.Queue[StoredEvent | None] = asyncio.Queue()
        self._close_reason = ""
        self.client_gone = False

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """End the response (a drop fault); an error close says so in a comment first."""
        if self._closed:
            return
        self._closed = True
        self._close_reason = reason if code != 1000 else ""
        self._queue.put_nowait(None)

    def state(self) -> dict[str, Any]:
        return {
            **super().state(),
            "version": self.replay.version,
            "client_gone": self.client_gone,
            "heartbeats_sent": self.heartbeats_sent,
        }

    # -- feeding -------------------------------------------------------------------
    def offer(self, event: StoredEvent) -> None:
        if self._closed:
            return
        if self._queue.qsize() >= _MAX_QUEUED:
            self.dropped_slow += 1
            return
        self._queue.put_nowait(event)

    def encode(self, event: StoredEvent) -> bytes:
        body = dict(event.body)
        if self.replay.version == 2:
            payload = {"account_id": body.pop("account_id"), "at": body.pop("at")}
            payload["event_id"] = event.ulid
        else:
            payload = {"account_id": body.pop("account_id"), "at": body.pop("at")}
            payload["event_id"] = event.seq
            payload["event_ulid"] = event.ulid
        payload.update(body)
        return b"data: " + orjson.dumps(payload) + b"\n\n"

    # -- the response ------------------------------------------------------------------
    async def serve(self, history: list[StoredEvent], receive: Receive, send: Send) -> None:
        """Headers, history, then live events and heartbeats until an end condition."""
        await send({"type": "http.response.start", "status": 200, "headers": _SSE_HEADERS})
        watcher = asyncio.create_task(self._watch_disconnect(receive))
        try:
            for event in history:
                if self.replay.beyond_until(event):
                    return
                await self._write(send, self.encode(event))
                if self.replay.at_until(event):
                    return
            latest = self.customer.events[-1] if self.customer.events else None
            if self.replay.until_passed(latest):
                return
            while not self.client_gone:
                interval = max(0.05, float(self.facade.sandbox.config.alpaca_heartbeat_interval))
                try:
                    async with asyncio.timeout(interval):
                        item = await self._queue.get()
                except TimeoutError:
                    if not self.silent:
                        self.heartbeats_sent += 1
                        await self._write(send, b":heartbeat\n\n", count=False)
                    continue
                if item is None:
                    if self._close_reason and self.facade.option("error_comment"):
                        await self._write(send, b": internal server error\n\n", count=False)
                    return
                if self.dropped_slow:
                    dropped, self.dropped_slow = self.dropped_slow, 0
                    warning = f": you are reading too slowly, dropped {dropped} messages\n\n"
                    await self._write(send, warning.encode(), count=False)
                if self.replay.beyond_until(item):
                    return
                if self.silent:
                    self.messages_suppressed += 1
                    continue
                await self._write(send, self.encode(item))
                if self.replay.at_until(item):
                    return
        except OSError:  # the client went away mid-write
            self.client_gone = True
        finally:
            watcher.cancel()
            self._closed = True
            if not self.client_gone:
                with contextlib.suppress(OSError):
                    await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def _write(self, send: Send, chunk: bytes, *, count: bool = True) -> None:
        if self.faults is not None and self.faults.blackouts:
            await self.hold()  # frozen: this chunk and everything after it wait
        if self.client_gone:
            raise OSError("client disconnected")
        await send({"type": "http.response.body", "body": chunk, "more_body": True})
        if count:
            self.messages_sent += 1

    async def _watch_disconnect(self, receive: Receive) -> None:
        """An SSE client never sends a body: the next message is its disconnect."""
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                self.client_gone = True
                self._queue.put_nowait(None)
                return


class _SseResponse(Response):
    """Runs an `SseSession` as the response; registers it while it is open."""

    def __init__(self, session: SseSession, history: list[StoredEvent]) -> None:
        self.session = session
        self.history = history
        self.background = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        session = self.session
        facade = session.facade
        hub = facade.sandbox.hub
        try:
            await session.serve(self.history, receive, send)
        finally:
            facade.streams.get(session.credential, set()).discard(session)
            delay = float(facade.option("stale_cleanup"))
            if delay > 0 and session.client_gone:
                asyncio.get_running_loop().call_later(delay, hub.remove, session)
            else:
                hub.remove(session)


# --------------------------------------------------------------------------- routes


def facade_of(request: Request) -> AlpacaSandbox:
    return request.app.state.alpaca


async def events_trades(request: Request) -> Response:
    """GET /v2/events/trades (ULID ids) and /v1/events/trades (integer ids)."""
    facade = facade_of(request)
    sandbox = facade.sandbox
    version = 1 if "/v1/" in request.url.path else 2
    customer = facade.authenticate(request)
    if isinstance(customer, Response):
        return customer
    customer.connection_attempts += 1
    sandbox.counters["alpaca_sse_attempts"] += 1
    refused = sandbox.faults.refusal(SseSession.kind, customer.cid)
    if refused:
        customer.connections_refused += 1
        sandbox.counters["alpaca_sse_refused"] += 1
        if refused >= 500:
            return Response(b"Service Unavailable", refused, media_type="text/plain")
        return alpaca_error(refused, refused * 100000, "connection refused")
    replay = parse_replay(request, version, bool(facade.option("honour_last_event_id")))
    if isinstance(replay, str):
        return alpaca_error(400, 40010000, replay)
    events = list(customer.events)
    if (
        replay.wants_history()
        and replay.field != "date"
        and customer.last_dropped is not None
        and replay.since < replay.key(customer.last_dropped)
        and facade.option("stale_since") == "error"
    ):
        return alpaca_error(400, 40010000, "since_id is older than the retained events")
    existing = [s for s in sandbox.hub.find(SseSession.kind, customer.cid)]
    if existing:
        if facade.option("second_connection") == "kick":
            for old in existing:
                await old.close(1008, "replaced by a newer connection")
                if old.client_gone:  # lingering after a disconnect: forget it now
                    sandbox.hub.remove(old)
        else:
            customer.connections_refused += 1
            sandbox.counters["alpaca_sse_refused"] += 1
            return alpaca_error(429, 42910000, "too many requests: connection limit exceeded")
    session = SseSession(facade, customer, replay)
    # register and take the history in one step (no await between): no event falls between
    sandbox.hub.add(session)
    facade.streams.setdefault(customer.cid, set()).add(session)
    history = [e for e in events if replay.after_since(e)] if replay.wants_history() else []
    return _SseResponse(session, history)


def _authed_account(request: Request) -> tuple[AlpacaSandbox, _Customer, str] | Response:
    facade = facade_of(request)
    customer = facade.authenticate(request)
    if isinstance(customer, Response):
        return customer
    number = facade.account_of(customer, request.path_params["account_id"])
    if number is None:
        return alpaca_error(404, 40410000, "account not found")
    return facade, customer, number


def account_route(
    handler: Callable[[Request, AlpacaSandbox, str], Awaitable[Response]],
) -> Callable[[Request], Awaitable[Response]]:
    """An `/…/accounts/{account_id}/…` endpoint: authenticated, the account resolved (404
    if it is not the key's), then the handler with the façade and the account number."""

    async def endpoint(request: Request) -> Response:
        found = _authed_account(request)
        if isinstance(found, Response):
            return found
        facade, _, number = found
        return await handler(request, facade, number)

    endpoint.__name__ = handler.__name__
    return endpoint


async def list_accounts(request: Request) -> Response:
    facade = facade_of(request)
    customer = facade.authenticate(request)
    if isinstance(customer, Response):
        return customer
    return ok([facade.account_summary(n) for n in customer.accounts])


@account_route
async def get_trading_account(request: Request, facade: AlpacaSandbox, number: str) -> Response:
    return ok(facade.trading_account(number))


@account_route
async def list_positions(request: Request, facade: AlpacaSandbox, number: str) -> Response:
    return ok([facade.position(p) for p in facade.sandbox.brokerage.positions(number)])


_OPEN = {"new", "partially_filled", "pending_new", "accepted", "pending_cancel", "pending_replace"}


@account_route
async def list_orders(request: Request, facade: AlpacaSandbox, number: str) -> Response:
    """`status=open|closed|all`, `after`/`until` (submission time), `limit`, `direction`."""
    q = request.query_params
    status = q.get("status", "open")
    if status not in ("open", "closed", "all"):
        return alpaca_error(422, 42210000, "invalid status")
    try:
        limit = min(500, int(q.get("limit", "50")))
    except ValueError:
        return alpaca_error(422, 42210000, "invalid limit")
    after = parse_time(q["after"]) if q.get("after") else None
    until = parse_time(q["until"]) if q.get("until") else None
    orders = [facade.order(o) for o in facade.sandbox.brokerage.live_orders(number)]
    selected = []
    for order in orders:
        submitted = parse_time(order["submitted_at"]) or 0.0
        is_open = order["status"] in _OPEN
        if (status == "open" and not is_open) or (status == "closed" and is_open):
            continue
        if (after is not None and submitted <= after) or (until is not None and submitted > until):
            continue
        selected.append(order)
    selected.sort(key=lambda o: o["submitted_at"], reverse=q.get("direction", "desc") == "desc")
    return ok(selected[:limit])


@account_route
async def get_order(request: Request, facade: AlpacaSandbox, number: str) -> Response:
    ref = facade._order_ids.get(request.path_params["order_id"])
    o = facade.sandbox.brokerage.order(number, ref[1]) if ref and ref[0] == number else None
    if o is None:
        return alpaca_error(404, 40410000, "order not found")
    return ok(facade.order(o))


@account_route
async def place_order(request: Request, facade: AlpacaSandbox, number: str) -> Response:
    """POST an Alpaca order body; placed through the shared brokerage."""
    try:
        body = orjson.loads(await request.body())
    except orjson.JSONDecodeError:
        return alpaca_error(400, 40010000, "request body format is invalid")
    if not isinstance(body, dict):
        return alpaca_error(400, 40010000, "request body format is invalid")
    request_or_error = _tasty_request(facade, number, body)
    if isinstance(request_or_error, Response):
        return request_or_error
    try:
        result = facade.sandbox.brokerage.place_order(number, request_or_error)
    except OrderRejected as exc:
        if exc.code == "insufficient_buying_power":
            return alpaca_error(403, 40310000, "insufficient buying power")
        if exc.status == 404:
            return alpaca_error(404, 40410000, exc.message)
        return alpaca_error(422, 42210000, exc.message)
    placed = result.order
    oid = order_uuid(number, placed.id)
    facade._order_ids[oid] = (number, placed.id)
    if placed.client_order_id:
        facade._client_ids[oid] = placed.client_order_id
    facade.sandbox.publish([AccountEvent("Order", number, placed)])
    return ok(facade.order(facade.sandbox.brokerage.order(number, placed.id) or placed))


def _tasty_request(facade: AlpacaSandbox, number: str, body: dict[str, Any]) -> Any:
    """Alpaca order JSON to the brokerage's order request, or a 422."""
    symbol = body.get("symbol")
    side = body.get("side")
    kind = body.get("type", body.get("order_type"))
    tif = body.get("time_in_force", "day")
    if not isinstance(symbol, str) or not symbol:
        return alpaca_error(422, 42210000, "symbol is required")
    if side not in ("buy", "sell"):
        return alpaca_error(422, 42210000, "side must be buy or sell")
    if kind not in ("market", "limit"):
        return alpaca_error(422, 42210000, f"order type {kind!r} is not supported here")
    if tif not in _TIF_IN:
        return alpaca_error(422, 42210000, f"time_in_force {tif!r} is not supported here")
    if body.get("notional") is not None:
        return alpaca_error(422, 42210000, "notional orders are not supported here")
    qty = dec(body.get("qty"))
    if qty <= 0 or qty != qty.to_integral_value():
        return alpaca_error(422, 42210000, "qty must be a positive whole number")
    tasty = tasty_symbol(symbol)
    held = _ZERO
    for p in facade.sandbox.brokerage.positions(number):
        if p.symbol == tasty:
            held = p.quantity
    if side == "buy":
        action = "Buy to Close" if held < 0 else "Buy to Open"
    else:
        action = "Sell to Close" if held > 0 else "Sell to Open"
    price = None
    if kind == "limit":
        limit = dec(body.get("limit_price"))
        if limit <= 0:
            return alpaca_error(422, 42210000, "limit_price is required for limit orders")
        price = limit
    client_id = body.get("client_order_id")
    return OrderRequest(
        order_type="Market" if kind == "market" else "Limit",
        legs=(
            LegRequest(
                symbol=tasty,
                action=action,
                quantity=qty,
                instrument_type="Equity Option" if _OCC_PADDED_RE.match(tasty) else "Equity",
            ),
        ),
        time_in_force=_TIF_IN[tif],
        price=price,
        price_effect=("Debit" if side == "buy" else "Credit") if kind == "limit" else None,
        source="alpaca-sandbox",
        client_order_id=client_id[:128] if isinstance(client_id, str) and client_id else None,
    )


@account_route
async def cancel_order(request: Request, facade: AlpacaSandbox, number: str) -> Response:
    ref = facade._order_ids.get(request.path_params["order_id"])
    if ref is None or ref[0] != number:
        return alpaca_error(404, 40410000, "order not found")
    try:
        cancelled = facade.sandbox.brokerage.cancel_order(number, ref[1])
    except OrderRejected as exc:
        if exc.status == 404:
            return alpaca_error(404, 40410000, exc.message)
        return alpaca_error(422, 42210000, exc.message)
    facade.sandbox.publish([AccountEvent("Order", number, cancelled)])
    return Response(status_code=204)


_ACCOUNT = "/alpaca/v1/trading/accounts/{account_id}"
routes = [
    Route("/alpaca/v1/accounts", list_accounts, methods=["GET"]),
    Route(f"{_ACCOUNT}/account", get_trading_account, methods=["GET"]),
    Route(f"{_ACCOUNT}/positions", list_positions, methods=["GET"]),
    Route(f"{_ACCOUNT}/orders", list_orders, methods=["GET"]),
    Route(f"{_ACCOUNT}/orders", place_order, methods=["POST"]),
    Route(f"{_ACCOUNT}/orders/{{order_id}}", get_order, methods=["GET"]),
    Route(f"{_ACCOUNT}/orders/{{order_id}}", cancel_order, methods=["DELETE"]),
    Route("/alpaca/v2/events/trades", events_trades, methods=["GET"]),
    Route("/alpaca/v1/events/trades", events_trades, methods=["GET"]),
]
