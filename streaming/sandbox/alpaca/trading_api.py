"""Alpaca's Trading API (what an individual trader's paper or live keys reach) in the sandbox.

Mounted under `/alpaca` next to the Broker API façade, as paper-api.alpaca.markets serves
it: `TradingClient(key, secret, url_override=<sandbox>/alpaca)` calls `/alpaca/v2/...`.
The paths cannot collide: the Broker API lives under `/v1/...` plus `/v2/events/...`. One
mount also means the "alpaca" faults (http_error, delay, blackout) and the Alpaca error
shape apply here without a new broker name.

A key (`APCA-API-KEY-ID` / `APCA-API-SECRET-KEY` headers) is a customer with ONE account
of the shared brokerage; the first secret seen for a key is the right one. The account,
positions and orders are rendered by the Broker façade's renderers (one rendering of the
brokerage per broker), and its order tracking turns the account's brokerage events into
the trade events the `trade_updates` socket (trade_stream.py) pushes.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..core.brokerage import AccountEvent, OrderRejected
from ..core.credentials import credential_id
from ..core.simulation import Simulation
from .broker_api import (
    _NS,
    AlpacaSandbox,
    _Customer,
    _tasty_request,
    alpaca_error,
    alpaca_symbol,
    dec,
    iso_ns,
    ok,
    parse_time,
    s,
    tasty_symbol,
)

__all__ = ["AlpacaTrading", "routes"]

_OPEN = {"new", "partially_filled", "pending_new", "accepted", "pending_cancel", "pending_replace"}
#: Activity types Alpaca documents; only FILL is simulated (the others list empty).
ACTIVITY_TYPES = {
    "FILL", "TRANS", "MISC", "ACATC", "ACATS", "CSD", "CSW", "DIV", "DIVCGL", "DIVCGS",
    "DIVFEE", "DIVFT", "DIVNRA", "DIVROC", "DIVTW", "DIVTXEX", "INT", "INTNRA", "INTTW",
    "JNL", "JNLC", "JNLS", "MA", "NC", "OPASN", "OPEXP", "OPXRC", "PTC", "PTR", "REORG",
    "SC", "SSO", "SSP", "FEE", "CFEE",
}  # fmt: skip
_PAGE_MAX = 100


@dataclass
class TradingCustomer:
    """One Trading API key: its account and the replacements made through PATCH."""

    cid: str
    secret_hash: str
    number: str
    broker: _Customer
    #: old order id -> (new order id, replaced at); new order id -> old order id
    replaced_by: dict[str, tuple[str, float]] = field(default_factory=dict)
    replaces: dict[str, str] = field(default_factory=dict)


class AlpacaTrading:
    """State of the Trading API: its customers, over the Broker façade's renderers."""

    def __init__(self, sandbox: Simulation, broker: AlpacaSandbox) -> None:
        self.sandbox = sandbox
        self.broker = broker
        self.customers: dict[str, TradingCustomer] = {}

    def authenticate_key(self, key_id: str, secret: str) -> TradingCustomer | None:
        """The key's customer (opened on first sight), or None for a wrong secret, a
        revoked key or a key the Broker API already knows (Broker keys do not trade here)."""
        if not key_id or not secret:
            return None
        cid = credential_id(key_id)
        known = self.sandbox.credentials.known().get(cid)
        if known is not None and known.revoked:
            return None
        secret_hash = hashlib.sha256(secret.encode()).hexdigest()
        customer = self.customers.get(cid)
        if customer is None:
            if cid in self.broker.customers:
                return None
            number = self.sandbox.brokerage.open_customer(f"alpaca-trading-{cid}")[0]
            adopted = self.broker.adopt_customer(cid, secret_hash, [number])
            customer = TradingCustomer(cid, secret_hash, number, adopted)
            self.customers[cid] = customer
        elif customer.secret_hash != secret_hash:
            return None
        return customer

    def authenticate(self, request: Request) -> TradingCustomer | Response:
        """The `APCA-API-*` headers' customer, or Alpaca's 401."""
        customer = self.authenticate_key(
            request.headers.get("apca-api-key-id", ""),
            request.headers.get("apca-api-secret-key", ""),
        )
        if customer is None:
            return alpaca_error(401, 40110000, "request is not authorized")
        return customer

    # -- rendering (the Broker façade's renderers, plus what only PATCH creates) ---------
    def order(self, customer: TradingCustomer, o: dict[str, Any]) -> dict[str, Any]:
        return self.patch_replacement(customer, self.broker.order(o))

    def patch_replacement(self, customer: TradingCustomer, order: dict[str, Any]) -> dict[str, Any]:
        """A replaced order says so (status, replaced_by/at); its successor names it."""
        oid = order["id"]
        if oid in customer.replaced_by:
            new_id, at = customer.replaced_by[oid]
            order = {**order, "status": "replaced", "replaced_by": new_id}
            order["replaced_at"] = order["canceled_at"] or iso_ns(at)
            order["canceled_at"] = None
        if oid in customer.replaces:
            order = {**order, "replaces": customer.replaces[oid]}
        return order

    def orders(self, customer: TradingCustomer) -> list[dict[str, Any]]:
        live = self.sandbox.brokerage.live_orders(customer.number)
        return [self.order(customer, o) for o in live]

    def find_order(self, customer: TradingCustomer, oid: str) -> dict[str, Any] | None:
        ref = self.broker.order_ref(oid)
        if ref is None or ref[0] != customer.number:
            return None
        return self.sandbox.brokerage.order(customer.number, ref[1])

    def positions(self, customer: TradingCustomer) -> list[dict[str, Any]]:
        return [self.broker.position(p) for p in self.sandbox.brokerage.positions(customer.number)]

    def account(self, customer: TradingCustomer) -> dict[str, Any]:
        body = self.broker.trading_account(customer.number)
        margin = body["multiplier"] != "1"
        # Trading API extras (UNCONFIRMED values: the level follows the margin flag)
        body.update(
            trade_suspended_by_user=False,
            options_approved_level=3 if margin else 1,
            options_trading_level=3 if margin else 1,
            balance_asof=datetime.now(UTC).date().isoformat(),
        )
        return body

    # -- order placement ----------------------------------------------------------------
    def place(
        self, customer: TradingCustomer, body: dict[str, Any], *, publish: bool = True
    ) -> dict[str, Any] | Response:
        """Place an Alpaca order body on the customer's account; the order or an error."""
        number = customer.number
        client_id = body.get("client_order_id")
        if isinstance(client_id, str) and client_id and self._client_id_taken(customer, client_id):
            return alpaca_error(422, 42210000, "client_order_id must be unique")
        request = _tasty_request(self.broker, number, body)
        if isinstance(request, Response):
            return request
        try:
            result = self.sandbox.brokerage.place_order(number, request)
        except OrderRejected as exc:
            return rejection(exc)
        placed = result["order"]
        self.broker.remember_order(number, placed["id"], client_id)
        if publish:
            self.sandbox.publish([AccountEvent("Order", number, placed)])
        return placed

    def _client_id_taken(self, customer: TradingCustomer, client_id: str) -> bool:
        return any(o["client_order_id"] == client_id for o in self.orders(customer))

    def cancel(self, customer: TradingCustomer, oid: str) -> Response | None:
        """Cancel one order (publishing its event); an error response, or None."""
        ref = self.broker.order_ref(oid)
        if ref is None or ref[0] != customer.number:
            return alpaca_error(404, 40410000, "order not found")
        try:
            cancelled = self.sandbox.brokerage.cancel_order(customer.number, ref[1])
        except OrderRejected as exc:
            if exc.status == 404:
                return alpaca_error(404, 40410000, "order not found")
            return alpaca_error(422, 42210000, "order is not cancelable")
        self.sandbox.publish([AccountEvent("Order", customer.number, cancelled)])
        return None

    # -- activities ---------------------------------------------------------------------
    def fill_activities(self, customer: TradingCustomer) -> list[dict[str, Any]]:
        """FILL activities of the account's remembered orders, oldest first. The id is
        Alpaca's `<time>::<uuid>` with the uuid the trade event's `execution_id`."""
        number = customer.number
        activities = []
        for o in self.sandbox.brokerage.live_orders(number):
            order = self.order(customer, o)
            legs = o["legs"]
            size = dec(o.get("size", legs[0]["quantity"]))
            for leg in legs:
                ratio = dec(leg["quantity"]) / size if size else Decimal(1)
                symbol = alpaca_symbol(leg["symbol"])
                cumulative = Decimal(0)
                total = dec(leg["quantity"])
                for fill in leg["fills"]:
                    qty = dec(fill["quantity"])
                    cumulative += qty
                    at = parse_time(fill.get("filled-at")) or 0.0
                    execution = uuid.uuid5(_NS, f"exec:{(number, o['id'])}:{fill['fill-id']}")
                    done = cumulative >= total
                    stamp = datetime.fromtimestamp(at, UTC).strftime("%Y%m%d%H%M%S%f")[:17]
                    activities.append(
                        {
                            "id": f"{stamp}::{execution}",
                            "account_id": order_account_id(self.broker, number),
                            "activity_type": "FILL",
                            "transaction_time": iso_ns(at),
                            "type": "fill" if done else "partial_fill",
                            "price": s(dec(fill["fill-price"])),
                            "qty": s(qty / ratio if len(legs) == 1 else qty),
                            "side": "buy" if leg["action"].startswith("Buy") else "sell",
                            "symbol": symbol,
                            "leaves_qty": s(total - cumulative),
                            "order_id": order["id"],
                            "cum_qty": s(cumulative),
                            "order_status": "filled" if done else "partially_filled",
                        }
                    )
        activities.sort(key=lambda a: a["id"])
        return activities


def order_account_id(broker: AlpacaSandbox, number: str) -> str:
    return broker.account_summary(number)["id"]


def rejection(exc: OrderRejected) -> Response:
    """The brokerage's refusal of an order in Alpaca's words and codes."""
    if exc.code == "insufficient_buying_power":
        return alpaca_error(403, 40310000, "insufficient buying power")
    if exc.status == 404:
        return alpaca_error(404, 40410000, exc.message)
    return alpaca_error(422, 42210000, exc.message)


# --------------------------------------------------------------------------- routes


def trading_of(request: Request) -> AlpacaTrading:
    return request.app.state.alpaca_trading


async def _authed(request: Request) -> tuple[AlpacaTrading, TradingCustomer] | Response:
    trading = trading_of(request)
    customer = trading.authenticate(request)
    if isinstance(customer, Response):
        return customer
    return trading, customer


async def _json_body(request: Request) -> dict[str, Any] | Response:
    try:
        body = orjson.loads(await request.body() or b"{}")
    except orjson.JSONDecodeError:
        return alpaca_error(400, 40010000, "request body format is invalid")
    if not isinstance(body, dict):
        return alpaca_error(400, 40010000, "request body format is invalid")
    return body


async def get_account(request: Request) -> Response:
    found = await _authed(request)
    if isinstance(found, Response):
        return found
    trading, customer = found
    return ok(trading.account(customer))


async def list_positions(request: Request) -> Response:
    found = await _authed(request)
    if isinstance(found, Response):
        return found
    trading, customer = found
    return ok(trading.positions(customer))


def _position(trading: AlpacaTrading, customer: TradingCustomer, key: str) -> dict | None:
    """A position by symbol (Alpaca or padded OCC spelling) or by asset id."""
    wanted = alpaca_symbol(tasty_symbol(key))
    for p in trading.positions(customer):
        if p["symbol"] == wanted or p["asset_id"] == key:
            return p
    return None


async def get_position(request: Request) -> Response:
    found = await _authed(request)
    if isinstance(found, Response):
        return found
    trading, customer = found
    position = _position(trading, customer, request.path_params["symbol"])
    if position is None:
        return alpaca_error(404, 40410000, "position does not exist")
    return ok(position)


def _close_order(
    trading: AlpacaTrading, customer: TradingCustomer, position: dict, qty: Decimal
) -> dict[str, Any] | Response:
    side = "sell" if position["side"] == "long" else "buy"
    body = {"symbol": position["symbol"], "qty": s(qty), "side": side, "type": "market"}
    placed = trading.place(customer, body | {"time_in_force": "day"})
    if isinstance(placed, Response):
        return placed
    return trading.order(customer, trading.sandbox.brokerage.order(customer.number, placed["id"]))


async def close_position(request: Request) -> Response:
    """DELETE /v2/positions/{symbol}?qty=|percentage=: a market order for that much."""
    found = await _authed(request)
    if isinstance(found, Response):
        return found
    trading, customer = found
    position = _position(trading, customer, request.path_params["symbol"])
    if position is None:
        return alpaca_error(404, 40410000, "position does not exist")
    held = abs(dec(position["qty"]))
    q = request.query_params
    if q.get("qty") and q.get("percentage"):
        return alpaca_error(422, 42210000, "only one of qty or percentage may be given")
    if q.get("qty"):
        qty = dec(q["qty"])
    elif q.get("percentage"):
        percentage = dec(q["percentage"])
        if not 0 < percentage <= 100:
            return alpaca_error(422, 42210000, "percentage must be in (0, 100]")
        qty = (held * percentage / 100).to_integral_value(rounding="ROUND_DOWN")
    else:
        qty = held
    if qty <= 0 or qty != qty.to_integral_value():
        return alpaca_error(422, 42210000, "qty must be a positive whole number")
    if qty > held:
        return alpaca_error(
            403, 40310000, f"insufficient qty available for order (requested: {s(qty)}, "
            f"available: {s(held)})",
        )  # fmt: skip
    order = _close_order(trading, customer, position, qty)
    return order if isinstance(order, Response) else ok(order)


async def close_all_positions(request: Request) -> Response:
    """DELETE /v2/positions?cancel_orders=: 207 with one entry per position."""
    found = await _authed(request)
    if isinstance(found, Response):
        return found
    trading, customer = found
    if request.query_params.get("cancel_orders", "false").lower() == "true":
        for order in trading.orders(customer):
            if order["status"] in _OPEN:
                trading.cancel(customer, order["id"])
    results = []
    for position in trading.positions(customer):
        order = _close_order(trading, customer, position, abs(dec(position["qty"])))
        if isinstance(order, Response):
            error = orjson.loads(order.body)
            results.append(
                {"symbol": position["symbol"], "status": order.status_code, "body": error}
            )
        else:
            results.append(
                {
                    "symbol": position["symbol"],
                    "status": 200,
                    "order_id": order["id"],
                    "body": order,
                }
            )
    return ok(results, 207)


def _query_time(raw: str | None) -> float | str | None:
    if not raw:
        return None
    parsed = parse_time(raw)
    if parsed is None:
        try:
            parsed = datetime.combine(date.fromisoformat(raw), datetime.min.time(), UTC).timestamp()
        except ValueError:
            return "invalid"
    return parsed


async def list_orders(request: Request) -> Response:
    """GET /v2/orders: status, limit, after, until, direction, nested, symbols, side."""
    found = await _authed(request)
    if isinstance(found, Response):
        return found
    trading, customer = found
    q = request.query_params
    status = q.get("status", "open")
    if status not in ("open", "closed", "all"):
        return alpaca_error(422, 42210000, "invalid status")
    direction = q.get("direction", "desc")
    if direction not in ("asc", "desc"):
        return alpaca_error(422, 42210000, "invalid direction")
    side = q.get("side")
    if side not in (None, "", "buy", "sell"):
        return alpaca_error(422, 42210000, "invalid side")
    try:
        limit = int(q.get("limit", "50"))
    except ValueError:
        return alpaca_error(422, 42210000, "invalid limit")
    if not 1 <= limit <= 500:
        return alpaca_error(422, 42210000, "limit must be between 1 and 500")
    after, until = _query_time(q.get("after")), _query_time(q.get("until"))
    if after == "invalid" or until == "invalid":
        return alpaca_error(422, 42210000, "invalid timestamp")
    symbols = {alpaca_symbol(tasty_symbol(x)) for x in q.get("symbols", "").split(",") if x}
    nested = q.get("nested", "false").lower() == "true"
    selected = []
    for order in trading.orders(customer):
        submitted = parse_time(order["submitted_at"]) or 0.0
        is_open = order["status"] in _OPEN
        if (status == "open" and not is_open) or (status == "closed" and is_open):
            continue
        if (after is not None and submitted <= after) or (until is not None and submitted > until):
            continue
        if symbols and order["symbol"] not in symbols:
            continue
        if side and order["side"] != side:
            continue
        if not nested and order["order_class"] != "mleg":
            order = {**order, "legs": None}
        selected.append(order)
    selected.sort(key=lambda o: o["submitted_at"], reverse=direction == "desc")
    return ok(selected[:limit])


async def place_order(request: Request) -> Response:
    found = await _authed(request)
    if isinstance(found, Response):
        return found
    trading, customer = found
    body = await _json_body(request)
    if isinstance(body, Response):
        return body
    placed = trading.place(customer, body)
    if isinstance(placed, Response):
        return placed
    o = trading.sandbox.brokerage.order(customer.number, placed["id"]) or placed
    return ok(trading.order(customer, o))


async def cancel_all_orders(request: Request) -> Response:
    """DELETE /v2/orders: 207 with `{id, status, body}` per open order."""
    found = await _authed(request)
    if isinstance(found, Response):
        return found
    trading, customer = found
    results = []
    for order in trading.orders(customer):
        if order["status"] not in _OPEN:
            continue
        error = trading.cancel(customer, order["id"])
        if error is None:
            results.append({"id": order["id"], "status": 200, "body": None})
        else:
            results.append(
                {"id": order["id"], "status": error.status_code, "body": orjson.loads(error.body)}
            )
    return ok(results, 207)


async def get_order(request: Request) -> Response:
    found = await _authed(request)
    if isinstance(found, Response):
        return found
    trading, customer = found
    o = trading.find_order(customer, request.path_params["order_id"])
    if o is None:
        return alpaca_error(404, 40410000, "order not found")
    return ok(trading.order(customer, o))


async def get_order_by_client_id(request: Request) -> Response:
    found = await _authed(request)
    if isinstance(found, Response):
        return found
    trading, customer = found
    client_id = request.query_params.get("client_order_id", "")
    if not client_id:
        return alpaca_error(422, 42210000, "client_order_id is required")
    for order in trading.orders(customer):
        if order["client_order_id"] == client_id:
            return ok(order)
    return alpaca_error(404, 40410000, "order not found")


async def cancel_order(request: Request) -> Response:
    found = await _authed(request)
    if isinstance(found, Response):
        return found
    trading, customer = found
    error = trading.cancel(customer, request.path_params["order_id"])
    return error or Response(status_code=204)


async def replace_order(request: Request) -> Response:
    """PATCH /v2/orders/{id}: a new order with the changed qty, limit_price,
    time_in_force or client_order_id replaces a working, unfilled one."""
    found = await _authed(request)
    if isinstance(found, Response):
        return found
    trading, customer = found
    body = await _json_body(request)
    if isinstance(body, Response):
        return body
    oid = request.path_params["order_id"]
    o = trading.find_order(customer, oid)
    if o is None:
        return alpaca_error(404, 40410000, "order not found")
    old = trading.order(customer, o)
    if old["status"] not in _OPEN:
        return alpaca_error(422, 42210000, f"order is not replaceable ({old['status']})")
    if dec(old["filled_qty"]) > 0:
        return alpaca_error(422, 42210000, "a partially filled order cannot be replaced here")
    if body.get("stop_price") is not None or body.get("trail") is not None:
        return alpaca_error(422, 42210000, "stop_price and trail apply to stop orders only")
    new_body = {
        "symbol": old["symbol"],
        "side": old["side"],
        "type": old["order_type"],
        "qty": body.get("qty") if body.get("qty") is not None else old["qty"],
        "time_in_force": body.get("time_in_force") or old["time_in_force"],
        "limit_price": body.get("limit_price")
        if body.get("limit_price") is not None
        else old["limit_price"],
        "client_order_id": body.get("client_order_id"),
    }
    number = customer.number
    request_or_error = _tasty_request(trading.broker, number, new_body)
    if isinstance(request_or_error, Response):
        return request_or_error
    try:  # refuse before touching the old order
        trading.sandbox.brokerage.place_order(number, request_or_error, dry_run=True)
    except OrderRejected as exc:
        return rejection(exc)
    ref = trading.broker.order_ref(oid)
    assert ref is not None
    try:
        cancelled = trading.sandbox.brokerage.cancel_order(number, ref[1])
    except OrderRejected:
        return alpaca_error(422, 42210000, "order is not replaceable")
    placed = trading.place(customer, new_body, publish=False)
    if isinstance(placed, Response):  # the market moved between dry run and placing
        trading.sandbox.publish([AccountEvent("Order", number, cancelled)])
        return placed
    new_id = trading.broker.remember_order(number, placed["id"])
    customer.replaced_by[oid] = (new_id, parse_time(cancelled.get("updated-at")) or 0.0)
    customer.replaces[new_id] = oid
    trading.sandbox.publish(
        [AccountEvent("Order", number, cancelled), AccountEvent("Order", number, placed)]
    )
    return ok(trading.order(customer, trading.sandbox.brokerage.order(number, placed["id"])))


async def list_activities(request: Request) -> Response:
    """GET /v2/account/activities[/{activity_type}]: FILL activities, paged."""
    found = await _authed(request)
    if isinstance(found, Response):
        return found
    trading, customer = found
    q = request.query_params
    path_type = request.path_params.get("activity_type")
    wanted = {path_type} if path_type else {t for t in q.get("activity_types", "").split(",") if t}
    if path_type and q.get("activity_types"):
        return alpaca_error(422, 42210000, "activity_types cannot be used with a type in the path")
    if not wanted <= ACTIVITY_TYPES:
        return alpaca_error(422, 42210000, "invalid activity type")
    direction = q.get("direction", "desc")
    if direction not in ("asc", "desc"):
        return alpaca_error(422, 42210000, "invalid direction")
    try:
        page_size = int(q.get("page_size", str(_PAGE_MAX)))
    except ValueError:
        return alpaca_error(422, 42210000, "invalid page_size")
    if not 1 <= page_size <= _PAGE_MAX:
        return alpaca_error(422, 42210000, f"page_size must be between 1 and {_PAGE_MAX}")
    after, until = _query_time(q.get("after")), _query_time(q.get("until"))
    if after == "invalid" or until == "invalid":
        return alpaca_error(422, 42210000, "invalid timestamp")
    on_date = q.get("date")
    if on_date and (after is not None or until is not None):
        return alpaca_error(422, 42210000, "date cannot be used with after or until")
    activities = trading.fill_activities(customer) if not wanted or "FILL" in wanted else []
    selected = []
    for activity in activities:
        at = parse_time(activity["transaction_time"]) or 0.0
        if after is not None and at <= after:
            continue
        if until is not None and at > until:
            continue
        if on_date and activity["transaction_time"][:10] != on_date:
            continue
        selected.append(activity)
    if direction == "desc":
        selected.reverse()
    token = q.get("page_token")
    if token:
        ids = [a["id"] for a in selected]
        if token not in ids:
            return alpaca_error(422, 42210000, "invalid page_token")
        selected = selected[ids.index(token) + 1 :]
    return ok(selected[:page_size])


routes = [
    Route("/alpaca/v2/account", get_account, methods=["GET"]),
    Route("/alpaca/v2/account/activities", list_activities, methods=["GET"]),
    Route("/alpaca/v2/account/activities/{activity_type}", list_activities, methods=["GET"]),
    Route("/alpaca/v2/positions", list_positions, methods=["GET"]),
    Route("/alpaca/v2/positions", close_all_positions, methods=["DELETE"]),
    Route("/alpaca/v2/positions/{symbol:path}", get_position, methods=["GET"]),
    Route("/alpaca/v2/positions/{symbol:path}", close_position, methods=["DELETE"]),
    Route("/alpaca/v2/orders", list_orders, methods=["GET"]),
    Route("/alpaca/v2/orders", place_order, methods=["POST"]),
    Route("/alpaca/v2/orders", cancel_all_orders, methods=["DELETE"]),
    Route("/alpaca/v2/orders:by_client_order_id", get_order_by_client_id, methods=["GET"]),
    Route("/alpaca/v2/orders/{order_id}", get_order, methods=["GET"]),
    Route("/alpaca/v2/orders/{order_id}", replace_order, methods=["PATCH"]),
    Route("/alpaca/v2/orders/{order_id}", cancel_order, methods=["DELETE"]),
]
