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
from decimal import Decimal, InvalidOperation
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from ..core.brokerage import AccountEvent
from ..core.credentials import credential_id
from ..core.hub import Session
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
        opened = parse_time(self.sandbox.brokerage.account(number)["opened-at"]) or 0.0
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
        value = dec(brokerage.balance(number)["cash-balance"])
        for p in brokerage.positions(number):
            qty = dec(p["quantity"]) * (-1 if p["quantity-direction"] == "Short" else 1)
            value += qty * dec(p["close-price"]) * dec(p["multiplier"])
        return s(value.quantize(Decimal("0.01")))

    def trading_account(self, number: str) -> dict[str, Any]:
        b = self.sandbox.brokerage.balance(number)
        margin = self.sandbox.brokerage.account(number)["margin-or-cash"] == "Margin"
        equity = dec(b["net-liquidating-value"])
        return {
            "id": account_uuid(number),
            "account_number": number,
            "status": "ACTIVE",
            "crypto_status": "INACTIVE",
            "currency": "USD",
            "cash": s(dec(b["cash-balance"])),
            "cash_withdrawable": s(dec(b["cash-available-to-withdraw"])),
            "equity": s(equity),
            "last_equity": self._last_equity(number),
            "portfolio_value": s(equity),
            "buying_power": s(dec(b["equity-buying-power"])),
            "regt_buying_power": s(dec(b["equity-buying-power"])),
            "daytrading_buying_power": s(dec(b["day-trading-buying-power"])),
            "non_marginable_buying_power": s(dec(b["derivative-buying-power"])),
            "options_buying_power": s(dec(b["derivative-buying-power"])),
            "long_market_value": s(dec(b["long-equity-value"]) + dec(b["long-derivative-value"])),
            "short_market_value": s(
                -(dec(b["short-equity-value"]) + dec(b["short-derivative-value"]))
            ),
            "initial_margin": s(dec(b["reg-t-margin-requirement"])),
            "maintenance_margin": s(dec(b["maintenance-requirement"])),
            "last_maintenance_margin": s(dec(b["maintenance-requirement"])),
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

    def position(self, p: dict[str, Any]) -> dict[str, Any]:
        option = p["instrument-type"] == "Equity Option"
        multiplier = dec(p["multiplier"])
        qty = dec(p["quantity"])
        signed = -qty if p["quantity-direction"] == "Short" else qty
        avg = dec(p["average-open-price"])
        current = dec(p.get("mark-price", p["close-price"]))
        lastday = dec(p["close-price"])
        market_value = signed * current * multiplier
        cost_basis = signed * avg * multiplier
        pl = market_value - cost_basis
        symbol = alpaca_symbol(p["symbol"])
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

    def order(self, o: dict[str, Any], *, status: str | None = None) -> dict[str, Any]:
        """An Alpaca order object from a brokerage order (tastytrade JSON)."""
        number = o["account-number"]
        oid = order_uuid(number, o["id"])
        self._order_ids.setdefault(oid, (number, o["id"]))
        legs = o["legs"]
        size = dec(o.get("size", legs[0]["quantity"]))
        first = legs[0]
        ratio = dec(first["quantity"]) / size if size else Decimal(1)
        leg_filled = dec(first["quantity"]) - dec(first["remaining-quantity"])
        filled_units = leg_filled / ratio if ratio else _ZERO
        fills = [f for leg in legs[:1] for f in leg["fills"]]
        value = sum((dec(f["quantity"]) * dec(f["fill-price"]) for f in fills), _ZERO)
        qty_filled = sum((dec(f["quantity"]) for f in fills), _ZERO)
        single = len(legs) == 1
        avg = (value / qty_filled).quantize(Decimal("0.0001")) if qty_filled else None
        updated = parse_time(o.get("updated-at")) or time.time()
        created = parse_time(o.get("received-at")) or updated
        terminal = parse_time(o.get("terminal-at"))
        brokerage_status = o["status"]
        if status is None:
            status = _STATUS.get(brokerage_status, brokerage_status.lower())
            if brokerage_status == "Received" and self.option("pending_new_event"):
                status = "pending_new"
            if status == "new" and filled_units > 0:
                status = "partially_filled"
        order_type = {"Market": "market", "Limit": "limit", "Marketable Limit": "limit"}.get(
            o["order-type"], o["order-type"].lower()
        )
        limit = None
        if "price" in o:
            limit = s(dec(o["price"]))
        option = first["instrument-type"] == "Equity Option"
        data: dict[str, Any] = {
            "id": oid,
            "client_order_id": self._client_ids.get(oid, str(uuid.uuid5(_NS, f"client:{oid}"))),
            "created_at": iso_ns(created),
            "updated_at": iso_ns(updated),
            "submitted_at": iso_ns(created),
            "filled_at": iso_ns(terminal) if status == "filled" and terminal else None,
            "expired_at": iso_ns(terminal) if status == "expired" and terminal else None,
            "canceled_at": iso_ns(parse_time(o.get("cancelled-at")) or updated)
            if status == "canceled"
            else None,
            "failed_at": iso_ns(updated) if status == "rejected" else None,
            "replaced_at": None,
            "replaced_by": None,
            "replaces": None,
            "asset_id": asset_uuid(alpaca_symbol(first["symbol"])) if single else "",
            "symbol": alpaca_symbol(first["symbol"]) if single else "",
            "asset_class": ("us_option" if option else "us_equity") if single else "",
            "notional": None,
            "qty": s(dec(first["quantity"])) if single else s(size),
            "filled_qty": s(leg_filled) if single else s(filled_units),
            "filled_avg_price": s(avg) if avg is not None and single else None,
            "order_class": "simple" if single else "mleg",
            "order_type": order_type,
            "type": order_type,
            "side": ("buy" if first["action"].startswith("Buy") else "sell") if single else "",
            "position_intent": _intent(first["action"]) if single else None,
            "time_in_force": _TIF_OUT.get(o["time-in-force"], "day"),
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
                    "symbol": alpaca_symbol(leg["symbol"]),
                    "side": "buy" if leg["action"].startswith("Buy") else "sell",
                    "position_intent": _intent(leg["action"]),
                    "ratio_qty": s(dec(leg["quantity"]) / size) if size else "1",
                    "qty": s(dec(leg["quantity"])),
                    "filled_qty": s(dec(leg["quantity"]) - dec(leg["remaining-quantity"])),
                    "asset_class": "us_option"
                    if leg["instrument-type"] == "Equity Option"
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
        if cid is None or "id" not in event.data:
            return
        o = event.data
        key = (event.account_number, o["id"])
        track = self._tracks.get(key)
        now = parse_time(o.get("updated-at")) or time.time()
        if track is None:
            track = _OrderTrack(status="", filled=_ZERO, fill_ids=set())
            self._tracks[key] = track
            first_status = "pending_new" if self.option("pending_new_event") else "new"
            if o["status"] in ("Received", "Live") or o["legs"][0]["fills"]:
                status = first_status if o["status"] == "Received" else "new"
                self._emit(cid, "new", self.order(o, status=status), now)
                track.status = status
        if o["status"] == "Live" and track.status == "pending_new":
            self._emit(cid, "new", self.order(o, status="new"), now)
            track.status = "new"
        first = o["legs"][0]
        size = dec(o.get("size", first["quantity"]))
        ratio = dec(first["quantity"]) / size if size else Decimal(1)
        for fill in first["fills"]:
            if fill["fill-id"] in track.fill_ids:
                continue
            track.fill_ids.add(fill["fill-id"])
            qty = dec(fill["quantity"])
            track.filled += qty
            final = track.filled >= dec(first["quantity"])
            alpaca = self.order(o)
            if not final:  # a later fill of the same step may be in `o` already
                alpaca["status"] = "partially_filled"
                alpaca["filled_qty"] = s(track.filled / ratio)
                alpaca["filled_at"] = None
            price = dec(fill["fill-price"])
            if self.option("fill_price") == "average" and alpaca["filled_avg_price"]:
                price = dec(alpaca["filled_avg_price"])
            extra = {
                "price": s(price),
                "qty": s(qty / ratio),
                "position_qty": self._position_qty(event.account_number, first["symbol"]),
                "execution_id": str(uuid.uuid5(_NS, f"exec:{key}:{fill['fill-id']}")),
            }
            event_name = "fill" if final else "partial_fill"
            self._emit(cid, event_name, alpaca, parse_time(fill.get("filled-at")) or now, extra)
            track.status = alpaca["status"]
        status = _STATUS.get(o["status"], "")
        if status in _TERMINAL_EVENTS and track.status != status:
            self._emit(cid, _TERMINAL_EVENTS[status], self.order(o), now)
            track.status = status

    def _position_qty(self, number: str, symbol: str) -> str:
        for p in self.sandbox.brokerage.positions(number):
            if p["symbol"] == symbol:
                qty = dec(p["quantity"])
                return s(-qty if p["quantity-direction"] == "Short" else qty)
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


_OPEN = {"new", "partially_filled", "pending_new", "accepted", "pending_cancel", "pending_replace"}


# The endpoint families live in their own modules, which use the helpers above (so they
# are imported here, at the end; the package imports this module first).
from . import accounts, activities, assets, clock, orders, positions  # noqa: E402

routes = [
    *activities.routes,  # before accounts: /v1/accounts/activities is not an account id
    *accounts.routes,
    *positions.routes,
    *orders.routes,
    *assets.routes,
    *clock.routes,
    Route("/alpaca/v2/events/trades", events_trades, methods=["GET"]),
    Route("/alpaca/v1/events/trades", events_trades, methods=["GET"]),
]
