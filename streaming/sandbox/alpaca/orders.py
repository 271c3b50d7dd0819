"""Broker API orders: submit, list with every filter, look up by id or client order id,
replace (PATCH), cancel one, cancel all (207).

Orders live in the core brokerage; this module validates Alpaca bodies, turns them into
brokerage requests and renders the results. What the brokerage has no notion of is kept
here, per façade, in an `_OrderBook`: which order replaced which (Alpaca's replace makes a
NEW order; the old one ends `replaced`), and an order's notional amount.

Refusals: bad input is 422 `{"code": 40010000}` (Alpaca's), a JSON body that does not
parse 400, too little buying power or shares 403 `40310000`, an order not in a state that
allows the action 422 `42210000`, an unknown order 404 `40410000`.
"""

from __future__ import annotations

import uuid
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal, InvalidOperation
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from . import core_access
from .broker_api import (
    _OCC_PADDED_RE,
    _OPEN,
    _TIF_IN,
    AlpacaSandbox,
    account_route,
    alpaca_error,
    dec,
    iso_ns,
    ok,
    parse_time,
    s,
    tasty_symbol,
)
from .core_access import OrderRejected

_TYPES = ("market", "limit", "stop", "stop_limit", "trailing_stop")
_ALL_TIF = ("day", "gtc", "opg", "cls", "ioc", "fok")
#: Open, and neither being cancelled nor replaced: what a replace or cancel-all acts on.
_WORKING = {"new", "partially_filled", "pending_new", "accepted"}
_MAX_CLIENT_ID = 128


@dataclass
class _OrderBook:
    """What Alpaca knows about orders and the brokerage does not."""

    replaced_by: dict[str, tuple[str, float]] = field(default_factory=dict)  # old -> (new, at)
    replaces: dict[str, str] = field(default_factory=dict)  # new -> old
    notional: dict[str, str] = field(default_factory=dict)
    extended_hours: set[str] = field(default_factory=set)


_BOOKS: weakref.WeakKeyDictionary[AlpacaSandbox, _OrderBook] = weakref.WeakKeyDictionary()


def book(facade: AlpacaSandbox) -> _OrderBook:
    return _BOOKS.setdefault(facade, _OrderBook())


class Refusal(Exception):
    """A request refused in Alpaca's shape."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message

    def response(self) -> Response:
        return alpaca_error(self.status, self.code, self.message)


def bad(message: str) -> Refusal:
    return Refusal(422, 40010000, message)


# --------------------------------------------------------------------------- reading


def render(facade: AlpacaSandbox, order: dict[str, Any]) -> dict[str, Any]:
    """A rendered order with what only this module knows (replacement, notional)."""
    notes = book(facade)
    oid = order["id"]
    if oid in notes.replaced_by:
        new, at = notes.replaced_by[oid]
        order.update(status="replaced", replaced_by=new, replaced_at=iso_ns(at), canceled_at=None)
    if oid in notes.replaces:
        order["replaces"] = notes.replaces[oid]
    if oid in notes.notional:
        order.update(notional=notes.notional[oid], qty=None)
    if oid in notes.extended_hours:
        order["extended_hours"] = True
    return order


def account_orders(facade: AlpacaSandbox, number: str) -> list[dict[str, Any]]:
    """Every order of the account Alpaca can list (working, or finished today)."""
    return [render(facade, o) for o in core_access.orders(facade, number)]


def find_order(facade: AlpacaSandbox, number: str, oid: str) -> dict[str, Any] | None:
    found = core_access.order(facade, number, oid)
    return None if found is None else render(facade, found)


def held_quantity(facade: AlpacaSandbox, number: str, symbol: str) -> Decimal:
    """The signed quantity held of an Alpaca symbol (0 if none)."""
    for position in core_access.positions(facade, number):
        if position["symbol"] == symbol:
            return dec(position["qty"])
    return Decimal(0)


# --------------------------------------------------------------------------- submitting


def _number(body: dict[str, Any], name: str) -> Decimal | None:
    raw = body.get(name)
    if raw is None or raw == "":
        return None
    try:
        value = Decimal(str(raw).strip())
    except InvalidOperation:
        raise bad(f"{name} is not a valid number") from None
    if isinstance(raw, bool) or not value.is_finite():
        raise bad(f"{name} is not a valid number")
    return value


def brokerage_request(
    facade: AlpacaSandbox, number: str, body: dict[str, Any]
) -> tuple[dict[str, Any], str | None]:
    """An Alpaca order body as a brokerage request, and the notional it was sized from."""
    symbol = body.get("symbol")
    side = body.get("side")
    kind = body.get("type", body.get("order_type"))
    tif = body.get("time_in_force")
    if not isinstance(symbol, str) or not symbol.strip():
        raise bad("symbol is required")
    if side not in ("buy", "sell"):
        raise bad("side must be buy or sell")
    if kind not in _TYPES:
        raise bad(f"invalid order type: {kind!r}")
    if tif not in _ALL_TIF:
        raise bad(f"invalid time_in_force: {tif!r}")
    if body.get("order_class") not in (None, "", "simple"):
        raise bad(f"order_class {body['order_class']} is not supported by the sandbox")
    qty, notional = _number(body, "qty"), _number(body, "notional")
    limit, stop = _number(body, "limit_price"), _number(body, "stop_price")
    if (qty is None) == (notional is None):
        raise bad(
            "qty or notional is required"
            if qty is None
            else "qty and notional cannot both be given"
        )
    if kind in ("limit", "stop_limit") and (limit is None or limit <= 0):
        raise bad(
            "limit_price is required for limit orders"
            if limit is None
            else "limit_price must be > 0"
        )
    if kind in ("stop", "stop_limit") and (stop is None or stop <= 0):
        raise bad(
            "stop_price is required for stop orders" if stop is None else "stop_price must be > 0"
        )
    if kind in ("stop", "stop_limit", "trailing_stop"):
        raise bad(f"{kind} orders are not supported by the sandbox")
    if tif not in _TIF_IN:
        raise bad(f"time_in_force {tif} is not supported by the sandbox")
    tasty = tasty_symbol(symbol)
    option = _OCC_PADDED_RE.match(tasty) is not None
    if notional is not None:
        if notional <= 0:
            raise bad("notional must be > 0")
        if kind != "market" or tif != "day" or option:
            raise bad("notional orders must be market day orders of a stock")
        qty = _whole_shares(facade, tasty, side, notional)
    assert qty is not None
    if qty <= 0:
        raise bad("qty must be > 0")
    if qty != qty.to_integral_value():
        raise bad("fractional orders are not supported by the sandbox")
    held = held_quantity(facade, number, symbol.strip().upper())
    if side == "buy":
        action = "Buy to Close" if held < 0 else "Buy to Open"
    else:
        action = "Sell to Close" if held > 0 else "Sell to Open"
    request: dict[str, Any] = {
        "time-in-force": _TIF_IN[tif],
        "order-type": "Market" if kind == "market" else "Limit",
        "source": "alpaca-sandbox",
        "legs": [
            {
                "instrument-type": "Equity Option" if option else "Equity",
                "symbol": tasty,
                "action": action,
                "quantity": int(qty),
            }
        ],
    }
    if limit is not None:
        request["price"] = s(limit)
        request["price-effect"] = "Debit" if side == "buy" else "Credit"
    return request, (s(notional) if notional is not None else None)


def _whole_shares(facade: AlpacaSandbox, symbol: str, side: str, notional: Decimal) -> Decimal:
    """How many whole shares the notional buys at the market's current ask (sells: bid)."""
    market = facade.sandbox.market
    if not market.ensure(symbol):
        raise bad(f"asset {symbol} not found")
    quote = market.quote(symbol)
    price = dec(quote["askPrice"] if side == "buy" else quote["bidPrice"])
    if price <= 0:
        raise bad(f"no price for {symbol}")
    shares = (notional / price).to_integral_value(rounding=ROUND_DOWN)
    if shares < 1:
        raise bad(
            "notional is less than the price of one share (fractional orders are not supported)"
        )
    return shares


def place(facade: AlpacaSandbox, number: str, body: dict[str, Any]) -> dict[str, Any]:
    """Validate, place through the brokerage, publish; the new order (or raise Refusal)."""
    client_id = body.get("client_order_id")
    if client_id is not None:
        if not isinstance(client_id, str) or not client_id or len(client_id) > _MAX_CLIENT_ID:
            raise bad(f"client_order_id must be 1 to {_MAX_CLIENT_ID} characters")
        if any(o["client_order_id"] == client_id for o in account_orders(facade, number)):
            raise bad("client_order_id must be unique")
    request, notional = brokerage_request(facade, number, body)
    oid = _submit(facade, number, request, client_id=client_id)
    assert oid is not None
    if notional is not None:
        book(facade).notional[oid] = notional
    if body.get("extended_hours") is True:
        book(facade).extended_hours.add(oid)
    found = find_order(facade, number, oid)
    assert found is not None
    return found


def _submit(
    facade: AlpacaSandbox,
    number: str,
    request: dict[str, Any],
    *,
    client_id: str | None = None,
    dry_run: bool = False,
    before_publish: Callable[[str], None] | None = None,
) -> str | None:
    try:
        return core_access.place(
            facade,
            number,
            request,
            client_id=client_id,
            dry_run=dry_run,
            before_publish=before_publish,
        )
    except OrderRejected as exc:
        if exc.code == "insufficient_buying_power":
            raise Refusal(403, 40310000, "insufficient buying power") from None
        if exc.code == "short_not_allowed":
            raise Refusal(403, 40310000, "account is not allowed to short") from None
        raise bad(exc.message) from None


def cancel(facade: AlpacaSandbox, number: str, oid: str) -> dict[str, Any]:
    """Cancel an open order; the canceled order (or raise Refusal)."""
    order = find_order(facade, number, oid)
    if order is None:
        raise Refusal(404, 40410000, "order not found")
    if order["status"] not in _OPEN:
        raise Refusal(422, 42210000, f'order is already in "{order["status"]}" state')
    try:
        core_access.cancel(facade, number, oid)
    except OrderRejected as exc:
        raise Refusal(422, 42210000, exc.message) from None
    return find_order(facade, number, oid) or order


def replace(
    facade: AlpacaSandbox, number: str, oid: str, changes: dict[str, Any]
) -> dict[str, Any]:
    """Alpaca's replace: a NEW order with the old one's attributes overridden by `changes`;
    the old one ends `replaced` (a `replaced` trade event), the new one `replaces` it."""
    old = find_order(facade, number, oid)
    if old is None:
        raise Refusal(404, 40410000, "order not found")
    if old["status"] not in _WORKING:
        raise Refusal(422, 42210000, f'order is not replaceable in "{old["status"]}" state')
    unknown = set(changes) - {
        "qty",
        "time_in_force",
        "limit_price",
        "stop_price",
        "trail",
        "client_order_id",
    }
    if unknown:
        raise bad(f"unknown parameters: {', '.join(sorted(unknown))}")
    if "limit_price" in changes and old["type"] == "market":
        raise bad("limit_price is not allowed for market orders")
    body = {
        "symbol": old["symbol"],
        "side": old["side"],
        "type": old["type"],
        "time_in_force": changes.get("time_in_force", old["time_in_force"]),
        "qty": changes.get("qty", old["qty"]),
        "limit_price": changes.get("limit_price", old["limit_price"]),
        "client_order_id": changes.get("client_order_id"),
    }
    if body["qty"] is None:
        raise bad("qty is required to replace a notional order")
    request, _ = brokerage_request(facade, number, body)
    _submit(facade, number, request, dry_run=True)  # refuse before touching the old order
    client_id = body["client_order_id"]
    if client_id is not None and any(
        o["client_order_id"] == client_id for o in account_orders(facade, number)
    ):
        raise bad("client_order_id must be unique")
    try:
        now = core_access.cancel(facade, number, oid, quiet=True)
    except OrderRejected as exc:
        raise Refusal(422, 42210000, exc.message) from None
    notes = book(facade)

    def report_replaced(new: str) -> None:
        """Before the new order is published: the old one ends `replaced` by it."""
        notes.replaced_by[oid] = (new, now)
        notes.replaces[new] = oid
        if oid in notes.extended_hours:
            notes.extended_hours.add(new)
        replaced = find_order(facade, number, oid)
        cid = facade._by_account.get(number)
        if replaced is not None and cid is not None:
            facade._emit(cid, "replaced", replaced, now)

    new = _submit(
        facade,
        number,
        request,
        client_id=client_id or str(uuid.uuid4()),
        before_publish=report_replaced,
    )
    assert new is not None
    found = find_order(facade, number, new)
    assert found is not None
    return found


# --------------------------------------------------------------------------- listing


def _bool(text: str | None, name: str) -> bool | None:
    if text is None:
        return None
    if text.lower() not in ("true", "false"):
        raise bad(f"{name} must be true or false")
    return text.lower() == "true"


def select(orders: list[dict[str, Any]], params: Any) -> list[dict[str, Any]]:
    """Alpaca's order query: `status` (open), `limit` (50, max 500), `after`/`until`
    (submission time, exclusive), `direction` (desc), `nested`, `symbols`, `side`."""
    status = params.get("status", "open")
    if status not in ("open", "closed", "all"):
        raise bad("status must be open, closed or all")
    try:
        limit = int(params.get("limit", "50"))
    except ValueError:
        raise bad("limit must be an integer") from None
    if limit <= 0:
        raise bad("limit must be > 0")
    limit = min(limit, 500)
    window = {}
    for name in ("after", "until"):
        if params.get(name):
            window[name] = parse_time(params[name])
            if window[name] is None:
                raise bad(f"{name} must be an RFC 3339 timestamp")
    direction = params.get("direction", "desc")
    if direction not in ("asc", "desc"):
        raise bad("direction must be asc or desc")
    _bool(params.get("nested"), "nested")  # multi-leg orders always carry their legs
    side = params.get("side")
    if side not in (None, "buy", "sell"):
        raise bad("side must be buy or sell")
    symbols = {x.strip().upper() for x in params.get("symbols", "").split(",") if x.strip()}
    chosen = []
    for order in orders:
        submitted = parse_time(order["submitted_at"]) or 0.0
        is_open = order["status"] in _OPEN
        if (status == "open" and not is_open) or (status == "closed" and is_open):
            continue
        if "after" in window and not submitted > window["after"]:
            continue
        if "until" in window and not submitted < window["until"]:
            continue
        if side and order["side"] != side:
            continue
        names = {order["symbol"]} | {leg["symbol"] for leg in order["legs"] or ()}
        if symbols and not names & symbols:
            continue
        chosen.append((submitted, order))
    chosen.sort(key=lambda pair: pair[0], reverse=direction == "desc")
    return [order for _, order in chosen[:limit]]


# --------------------------------------------------------------------------- routes


async def _json_body(request: Request) -> dict[str, Any]:
    try:
        body = orjson.loads(await request.body() or b"{}")
    except orjson.JSONDecodeError:
        raise Refusal(400, 40010000, "request body format is invalid") from None
    if not isinstance(body, dict):
        raise Refusal(400, 40010000, "request body format is invalid")
    return body


@account_route
async def list_orders(request: Request, facade: AlpacaSandbox, number: str) -> Response:
    try:
        return ok(select(account_orders(facade, number), request.query_params))
    except Refusal as refusal:
        return refusal.response()


@account_route
async def submit_order(request: Request, facade: AlpacaSandbox, number: str) -> Response:
    try:
        return ok(place(facade, number, await _json_body(request)))
    except Refusal as refusal:
        return refusal.response()


@account_route
async def get_order(request: Request, facade: AlpacaSandbox, number: str) -> Response:
    order = find_order(facade, number, request.path_params["order_id"])
    if order is None:
        return alpaca_error(404, 40410000, "order not found")
    return ok(order)


@account_route
async def get_order_by_client_id(request: Request, facade: AlpacaSandbox, number: str) -> Response:
    wanted = request.query_params.get("client_order_id")
    if not wanted:
        return alpaca_error(422, 40010000, "client_order_id is required")
    for order in account_orders(facade, number):
        if order["client_order_id"] == wanted:
            return ok(order)
    return alpaca_error(404, 40410000, "order not found")


@account_route
async def replace_order(request: Request, facade: AlpacaSandbox, number: str) -> Response:
    try:
        changes = await _json_body(request)
        return ok(replace(facade, number, request.path_params["order_id"], changes))
    except Refusal as refusal:
        return refusal.response()


@account_route
async def cancel_order(request: Request, facade: AlpacaSandbox, number: str) -> Response:
    try:
        cancel(facade, number, request.path_params["order_id"])
    except Refusal as refusal:
        return refusal.response()
    return Response(status_code=204)


def cancel_all(facade: AlpacaSandbox, number: str) -> list[dict[str, Any]]:
    """One `{id, status, body}` per open order: the canceled order, or Alpaca's error."""
    results = []
    for order in account_orders(facade, number):
        if order["status"] not in _OPEN:
            continue
        try:
            body = cancel(facade, number, order["id"])
            results.append({"id": order["id"], "status": 200, "body": body})
        except Refusal as refusal:
            error = {"code": refusal.code, "message": refusal.message}
            results.append({"id": order["id"], "status": 500, "body": error})
    return results


@account_route
async def cancel_orders(request: Request, facade: AlpacaSandbox, number: str) -> Response:
    return ok(cancel_all(facade, number), 207)


_ORDERS = "/alpaca/v1/trading/accounts/{account_id}/orders"
routes = [
    Route(_ORDERS, list_orders, methods=["GET"]),
    Route(_ORDERS, submit_order, methods=["POST"]),
    Route(_ORDERS, cancel_orders, methods=["DELETE"]),
    Route(f"{_ORDERS}:by_client_order_id", get_order_by_client_id, methods=["GET"]),
    Route(f"{_ORDERS}/{{order_id}}", get_order, methods=["GET"]),
    Route(f"{_ORDERS}/{{order_id}}", replace_order, methods=["PATCH"]),
    Route(f"{_ORDERS}/{{order_id}}", cancel_order, methods=["DELETE"]),
]
