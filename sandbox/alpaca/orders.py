"""Alpaca's order semantics, one implementation for the Broker API
(`/v1/trading/accounts/{id}/orders…`) and the Trading API (`/v2/orders…`): submit (qty or
notional), list with every filter, look up by id or client order id, replace (PATCH: a NEW
order, the old one `replaced`), cancel one, cancel all (207).

Orders live in the core brokerage, which keeps each order's client order id and
replacement links; this module validates Alpaca bodies into `OrderRequest`s, maps the
core's refusals to Alpaca's codes (see `wire`), and publishes what changed so the trade
events follow. Only an order's notional amount and extended-hours flag are façade notes.

Fractional and notional orders of stocks, and coins (`BTC/USD`, or the legacy `BTCUSD`),
are the core's `fractional` requests: a stock's fractional `qty` (to 9 places) on a
`market`/`limit`/`stop`/`stop_limit` `day` order; a `notional` (dollars, at least $1) on a
`market` order — `day` for a stock —, which the brokerage sizes when it fills (the notional
over the fill price, to 9 places, rounded down); a coin's `market`/`limit`/`stop_limit`
`gtc`/`ioc` order in any quantity to 9 places. None of them sells more than is held
(alpaca-docs content/trading/fractional-trading.md, crypto-trading.md).

Stops, stop-limits and trailing stops are the core's: their `stop_price` and trail go in
on the `OrderRequest`, and come back (a trailing stop's with its high-water mark and
current stop) on its record. Linked orders (bracket, oco, oto) are placed by `brackets.py`;
here a member's cancel cancels its group, and `nested` lists a group under its parent.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from sandbox.alpaca.facade import Scope
from sandbox.alpaca.render import OPEN, coin_pair
from sandbox.alpaca.wire import (
    FORBIDDEN,
    NOT_FOUND,
    WRONG_STATE,
    Refusal,
    alpaca_symbol,
    as_sent,
    bad,
    dec,
    is_option,
    number_param,
    query_time,
    s,
    tasty_symbol,
)
from sandbox.core.instruments import crypto
from sandbox.core.matching import QUANTITY_STEP, notional_quantity
from sandbox.core.records import (
    CRYPTOCURRENCY,
    EQUITY,
    EQUITY_OPTION,
    AccountEvent,
    LegRequest,
    OrderRecord,
    OrderRejected,
    OrderRequest,
)

#: Alpaca's order types and the core's (alpaca-py `OrderType`; alpaca-docs orders.md).
_TYPES = {
    "market": "Market",
    "limit": "Limit",
    "stop": "Stop",
    "stop_limit": "Stop Limit",
    "trailing_stop": "Trailing Stop",
}
#: "Valid time-in-force values for trailing stop are "day" and "gtc"" (orders.md).
_TRAILING_TIF = ("day", "gtc")
_ALL_TIF = ("day", "gtc", "opg", "cls", "ioc", "fok")
TIF_IN = {"day": "Day", "gtc": "GTC", "ioc": "IOC"}
_OPTION_TIF = ("day", "gtc")
#: A stock's fractional `qty`: these types, `day` only (orders.md "Fractional Trading").
_FRACTIONAL_TYPES = ("market", "limit", "stop", "stop_limit")
#: Crypto: "Market, Limit and Stop Limit orders", "gtc and ioc" (crypto-trading.md).
_COIN_TYPES = ("market", "limit", "stop_limit")
_COIN_TIF = ("gtc", "ioc")
#: "buy as little as $1 worth of shares" (fractional-trading.md).
_MIN_NOTIONAL = Decimal(1)
_MAX_CLIENT_ID = 128
_REPLACEABLE = {"qty", "time_in_force", "limit_price", "stop_price", "trail", "client_order_id"}
SOURCE = "alpaca-sandbox"


def rejection(exc: OrderRejected) -> Refusal:
    """The brokerage's refusal in Alpaca's words and codes."""
    if exc.code == "insufficient_buying_power":
        return Refusal(403, FORBIDDEN, "insufficient buying power")
    if exc.code == "short_not_allowed":
        return Refusal(403, FORBIDDEN, "account is not allowed to short")
    if exc.status == 404:
        return Refusal(404, NOT_FOUND, exc.message)
    if exc.code.startswith("order_not_"):
        return Refusal(422, WRONG_STATE, exc.message)
    return bad(exc.message)


def publish(scope: Scope, *records: OrderRecord) -> None:
    """Tell every stream (Alpaca's trade events included) what changed, in this order."""
    scope.facade.sandbox.publish([AccountEvent("Order", scope.number, r) for r in records])


def rendered(scope: Scope, record: OrderRecord) -> dict[str, Any]:
    """The order as it stands now (fresh from the brokerage)."""
    brokerage = scope.facade.sandbox.brokerage
    current = brokerage.order(scope.number, record.id) if record.id is not None else None
    return scope.facade.render_order(current or record)


# --------------------------------------------------------------------------- submitting


def held_quantity(scope: Scope, tasty: str) -> Decimal:
    """The signed quantity held of a brokerage symbol (0 if none)."""
    for p in scope.facade.sandbox.brokerage.positions(scope.number):
        if p.symbol == tasty:
            return p.quantity
    return Decimal(0)


def available_quantity(scope: Scope, tasty: str) -> Decimal:
    """What a sell may still take of a long position: the quantity held less what the
    account's working sell orders have yet to sell (Alpaca's `qty_available`)."""
    selling = sum(
        (
            leg.remaining_quantity
            for o in scope.facade.sandbox.brokerage.order_history(scope.number)
            if o.status in ("Received", "Live")
            for leg in o.legs
            if leg.symbol == tasty and not leg.is_buy
        ),
        Decimal(0),
    )
    return max(held_quantity(scope, tasty), Decimal(0)) - selling


def _leg(scope: Scope, tasty: str, side: str, qty: Decimal, *, coin: bool = False) -> LegRequest:
    """One leg on the side asked, closing what is held on the other side first."""
    held = held_quantity(scope, tasty)
    if side == "buy":
        action = "Buy to Close" if held < 0 else "Buy to Open"
    else:
        action = "Sell to Close" if held > 0 else "Sell to Open"
    kind = CRYPTOCURRENCY if coin else EQUITY_OPTION if is_option(tasty) else EQUITY
    return LegRequest(symbol=tasty, action=action, quantity=qty, instrument_type=kind)


def _places(value: Decimal, name: str) -> None:
    """Alpaca's `qty` and `notional` "can take up to 9 decimal point values"
    (alpaca-docs content/trading/fractional-trading.md)."""
    if value % QUANTITY_STEP:
        raise bad(f"{name} must have at most 9 decimal places")


def _check_qty(qty: Decimal, kind: str, tif: str, tasty: str, *, coin: bool) -> None:
    """A positive `qty`; a fractional one (to 9 places) only for a coin, or for a stock's
    `market`, `limit`, `stop` or `stop_limit` `day` order (alpaca-py `OrderRequest`:
    "Fractional qty for stocks only with market orders"; orders.md "Fractional Trading")."""
    if qty <= 0:
        raise bad("qty must be > 0")
    _places(qty, "qty")
    if qty == qty.to_integral_value() or coin:
        return
    if is_option(tasty):
        raise bad("fractional orders are not supported for options: qty must be whole")
    if kind not in _FRACTIONAL_TYPES:
        raise bad(f"fractional orders are not supported for {kind} orders")
    if tif != "day":
        raise bad("fractional orders must be day orders")


def _check_notional(notional: Decimal, kind: str, tif: str, tasty: str, *, coin: bool) -> None:
    """A notional (dollar) order: a `market` order of a stock (`day`) or a coin, of at
    least $1 (orders.md "Fractional Trading": "buy as little as $1 worth of shares";
    alpaca-py: "For stocks, only works with MarketOrders")."""
    if is_option(tasty):
        raise bad("notional orders are not supported for options")
    if kind != "market":
        raise bad("notional orders must be market orders")
    if not coin and tif != "day":
        raise bad("notional orders of stocks must be day orders")
    if notional < _MIN_NOTIONAL:
        raise bad("notional must be >= 1")
    _places(notional, "notional")


def _check_coin(kind: str, tif: str) -> None:
    """Crypto takes "Market, Limit and Stop Limit orders" and "only gtc and ioc time in
    force" (alpaca-docs content/trading/crypto-trading.md "Supported Orders")."""
    if kind not in _COIN_TYPES:
        raise bad(f"{kind} orders are not supported for crypto (market, limit or stop_limit)")
    if tif not in _COIN_TIF:
        raise bad(f"invalid crypto time_in_force: {tif} (gtc or ioc)")


def _check_sell(
    scope: Scope, leg: LegRequest, qty: Decimal | None, notional: Decimal | None
) -> None:
    """A coin, a fractional quantity and a notional amount sell only what is held: "We do
    not support short sales in fractional orders" (fractional-trading.md);
    "Cryptocurrencies are not shortable" (crypto-trading.md). 403, as Alpaca answers a
    sell over the quantity available."""
    coin = leg.instrument_type == CRYPTOCURRENCY
    if qty is not None and not coin and qty == qty.to_integral_value():
        return  # whole shares may go short in a margin account (the core's rules)
    available = available_quantity(scope, leg.symbol)
    if notional is not None:
        market, symbol = scope.facade.sandbox.market, _market_symbol(leg.symbol, coin)
        if not market.ensure(symbol):
            raise bad(f"asset {leg.symbol} not found")
        qty = notional_quantity(notional, dec(market.quote(symbol)["bidPrice"]))
    assert qty is not None
    if qty <= available:
        return
    if coin:
        base = leg.symbol.split("/")[0]
        raise Refusal(
            403,
            FORBIDDEN,
            f"insufficient balance for {base} (requested: {s(qty)}, available: {s(available)})",
        )
    raise Refusal(
        403,
        FORBIDDEN,
        f"insufficient qty available for order (requested: {s(qty)}, available: {s(available)})",
    )


def _market_symbol(tasty: str, coin: bool) -> str:
    """The market's symbol of a brokerage symbol: a coin's feed symbol, a stock's ticker."""
    return crypto(tasty).streamer_symbol if coin else tasty


def _check_option_tif(tif: str, tasty: str) -> None:
    """Alpaca's options take `day` and `gtc` only (its TimeInForce docs, changelog
    2026-08-28), so an `ioc` option order is refused as Alpaca refuses it."""
    if is_option(tasty) and tif not in _OPTION_TIF:
        raise bad(f"order_time_in_force provided not supported for options trading: {tif}")


def order_request(
    scope: Scope, body: dict[str, Any], client_order_id: str
) -> tuple[OrderRequest, str | None]:
    """An Alpaca order body as the brokerage's request, and its notional (as it shows)."""
    symbol = body.get("symbol")
    side = body.get("side")
    kind = body.get("type", body.get("order_type"))
    tif = body.get("time_in_force")
    if not isinstance(symbol, str) or not symbol.strip():
        raise bad("symbol is required")
    if side not in ("buy", "sell"):
        raise bad("side must be buy or sell")
    if not isinstance(kind, str) or kind not in _TYPES:
        raise bad(f"invalid order type: {kind!r}")
    if tif not in _ALL_TIF:
        raise bad(f"invalid time_in_force: {tif!r}")
    if body.get("order_class") not in (None, "", "simple"):
        raise bad(f"order_class {body['order_class']} is not supported by the sandbox")
    qty, notional = number_param(body, "qty"), number_param(body, "notional")
    limit, stop = number_param(body, "limit_price"), number_param(body, "stop_price")
    trail_price = number_param(body, "trail_price")
    trail_percent = number_param(body, "trail_percent")
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
    if kind not in ("stop", "stop_limit") and stop is not None:
        raise bad(f"stop_price is not allowed for {kind} orders")
    _check_trail(kind, trail_price, trail_percent, tif)
    pair = coin_pair(symbol)  # BTC/USD or the legacy BTCUSD
    if pair is not None:
        _check_coin(kind, tif)
    elif tif not in TIF_IN:
        raise bad(f"time_in_force {tif} is not supported by the sandbox")
    tasty = pair or tasty_symbol(symbol)
    _check_option_tif(tif, tasty)
    if kind == "trailing_stop" and is_option(tasty):
        raise bad("trailing_stop orders are not supported for options")
    coin = pair is not None
    if notional is not None:
        _check_notional(notional, kind, tif, tasty, coin=coin)
    else:
        assert qty is not None
        _check_qty(qty, kind, tif, tasty, coin=coin)
    # a notional order's quantity is the brokerage's to work out (at the fill's price)
    leg = _leg(scope, tasty, side, qty if qty is not None else Decimal(0), coin=coin)
    if side == "sell":
        _check_sell(scope, leg, qty, notional)
    limited = kind in ("limit", "stop_limit")
    request = OrderRequest(
        order_type=_TYPES[kind],
        legs=(leg,),
        time_in_force=TIF_IN[tif],
        price=limit if limited else None,
        price_effect=("Debit" if side == "buy" else "Credit") if limited else None,
        source=SOURCE,
        client_order_id=client_order_id,
        stop_trigger=stop,
        trail_price=trail_price,
        trail_percent=trail_percent,
        fractional=not is_option(tasty),  # stocks and coins: Alpaca's fractional orders
        notional=notional,
    )
    return request, (s(notional) if notional is not None else None)


def _check_trail(
    kind: str, trail_price: Decimal | None, trail_percent: Decimal | None, tif: str
) -> None:
    """A trailing stop takes one of `trail_price` (dollars) and `trail_percent`, positive,
    and `day` or `gtc`; no other type takes a trail (alpaca-docs orders.md, "Trailing
    Stop Orders"; alpaca-py `TrailingStopOrderRequest`)."""
    if kind != "trailing_stop":
        if trail_price is not None or trail_percent is not None:
            raise bad(f"trail_price and trail_percent are not allowed for {kind} orders")
        return
    if trail_price is None and trail_percent is None:
        raise bad("trail_price or trail_percent is required for trailing_stop orders")
    if trail_price is not None and trail_percent is not None:
        raise bad("only one of trail_price and trail_percent may be given")
    for name, value in (("trail_price", trail_price), ("trail_percent", trail_percent)):
        if value is not None and value <= 0:
            raise bad(f"{name} must be > 0")
    if tif not in _TRAILING_TIF:
        raise bad(f"time_in_force {tif} is not allowed for trailing_stop orders (day or gtc)")


def _client_order_id(scope: Scope, given: Any) -> str:
    """The order's client order id: the one given (unique in the account), else a new uuid."""
    if given is None:
        return str(uuid.uuid4())
    if not isinstance(given, str) or not given or len(given) > _MAX_CLIENT_ID:
        raise bad(f"client_order_id must be 1 to {_MAX_CLIENT_ID} characters")
    if scope.facade.sandbox.brokerage.order_by_client_id(scope.number, given) is not None:
        raise bad("client_order_id must be unique")
    return given


def _check_configuration(scope: Scope, request: OrderRequest) -> None:
    """The account configuration's `suspend_trade` blocks new orders, `no_shorting` orders
    that would open a short (403, as the brokerage's own short refusal), and
    `fractional_trading: false` a stock's fractional or notional order (a coin trades in
    fractions regardless)."""
    config = scope.facade.configurations.get(scope.number, {})
    if config.get("suspend_trade"):
        raise Refusal(403, FORBIDDEN, "new orders are blocked: trading is suspended by the user")
    stock = all(leg.instrument_type == EQUITY for leg in request.legs)
    whole = all(leg.quantity == leg.quantity.to_integral_value() for leg in request.legs)
    in_parts = request.notional is not None or not whole
    if config.get("fractional_trading") is False and stock and in_parts:
        raise Refusal(403, FORBIDDEN, "fractional trading is not enabled for this account")
    if config.get("no_shorting") and any(leg.action == "Sell to Open" for leg in request.legs):
        raise Refusal(403, FORBIDDEN, "account is not allowed to short")


def place(scope: Scope, body: dict[str, Any]) -> dict[str, Any]:
    """Validate, place through the brokerage, publish; the new order (or raise Refusal)."""
    client_id = _client_order_id(scope, body.get("client_order_id"))
    request, notional = order_request(scope, body, client_id)
    _check_configuration(scope, request)
    try:
        placed = scope.facade.sandbox.brokerage.place_order(scope.number, request).order
    except OrderRejected as exc:
        raise rejection(exc) from None
    assert placed.id is not None
    key = (scope.number, placed.id)
    if notional is not None:
        scope.facade.notes.notional[key] = notional
    if body.get("extended_hours") is True:
        scope.facade.notes.extended_hours.add(key)
    publish(scope, placed)
    return rendered(scope, placed)


# --------------------------------------------------------------------------- one order


def find(scope: Scope, oid: str) -> OrderRecord:
    found = scope.facade.find_order(scope.number, oid)
    if found is None:
        raise Refusal(404, NOT_FOUND, "order not found")
    return found


def get(scope: Scope, oid: str, nested: str | None = None) -> dict[str, Any]:
    """One order; `nested=true` nests a linked order's other members under its parent
    (alpaca-py `GetOrderByIdRequest(nested=…)`)."""
    return scope.facade.render_order(find(scope, oid), nested=bool(_flag(nested, "nested")))


def by_client_id(scope: Scope, client_order_id: str | None) -> dict[str, Any]:
    if not client_order_id:
        raise bad("client_order_id is required")
    found = scope.facade.sandbox.brokerage.order_by_client_id(scope.number, client_order_id)
    if found is None:
        raise Refusal(404, NOT_FOUND, "order not found")
    return scope.facade.render_order(found)


def cancel(scope: Scope, oid: str) -> dict[str, Any]:
    """Cancel an open order; the canceled order (or raise Refusal)."""
    order = find(scope, oid)
    status = scope.facade.render_order(order)["status"]
    if status not in OPEN:
        raise Refusal(422, WRONG_STATE, f'order is already in "{status}" state')
    assert order.id is not None
    try:
        if order.group_id is not None:
            # a bracket / oco / oto member: "canceling one cancels the rest" (orders.md)
            group = scope.facade.sandbox.brokerage.cancel_group(scope.number, order.group_id)
            publish(scope, *group)
            cancelled = next(o for o in group if o.id == order.id)
        else:
            cancelled = scope.facade.sandbox.brokerage.cancel_order(scope.number, order.id)
            publish(scope, cancelled)
    except OrderRejected as exc:
        raise rejection(exc) from None
    return scope.facade.render_order(cancelled)


def cancel_all(scope: Scope) -> list[dict[str, Any]]:
    """Every working order cancelled: one `{id, status, body}` each (the 207 body)."""
    cancelled = scope.facade.sandbox.brokerage.cancel_all(scope.number)
    publish(scope, *cancelled)
    results = []
    for record in cancelled:
        body = scope.facade.render_order(record)
        results.append({"id": body["id"], "status": 200, "body": body})
    return results


def replace(scope: Scope, oid: str, changes: dict[str, Any]) -> dict[str, Any]:
    """Alpaca's replace: a NEW order with the old one's attributes overridden by `changes`
    (the brokerage's `replace_order`); the old one ends `replaced` and names its successor,
    which `replaces` it and gets a new client order id unless one is given."""
    old = find(scope, oid)
    view = scope.facade.render_order(old)
    exit_ = old.group_id is not None
    if exit_:
        _check_exit_change(scope, old, view, changes)
    elif view["status"] not in ("new", "pending_new", "accepted"):
        raise Refusal(422, WRONG_STATE, f'order is not replaceable in "{view["status"]}" state')
    if unknown := set(changes) - _REPLACEABLE:
        raise bad(f"unknown parameters: {', '.join(sorted(unknown))}")
    kind = view["type"]
    stop, trail = number_param(changes, "stop_price"), number_param(changes, "trail")
    if stop is not None and kind not in ("stop", "stop_limit"):
        raise bad(f"stop_price is not allowed for {kind} orders")
    if trail is not None and kind != "trailing_stop":
        raise bad(f"trail is not allowed for {kind} orders")
    for name, value in (("stop_price", stop), ("trail", trail)):
        if value is not None and value <= 0:
            raise bad(f"{name} must be > 0")
    limit = number_param(changes, "limit_price")
    if limit is not None and kind in ("market", "stop", "trailing_stop"):
        raise bad(f"limit_price is not allowed for {kind} orders")
    if limit is not None and limit <= 0:
        raise bad("limit_price must be > 0")
    tif = changes.get("time_in_force")
    first = old.legs[0]
    coin = first.instrument_type == CRYPTOCURRENCY
    if tif is not None and coin:
        _check_coin(kind, tif)
    elif tif is not None and tif not in TIF_IN:
        raise bad(f"time_in_force {tif} is not supported by the sandbox")
    if tif is not None:
        _check_option_tif(tif, first.symbol)
        if kind == "trailing_stop" and tif not in _TRAILING_TIF:
            raise bad(f"time_in_force {tif} is not allowed for trailing_stop orders (day or gtc)")
    qty = number_param(changes, "qty")
    legs: tuple[LegRequest, ...] = ()
    if qty is None and view["notional"] is not None:
        raise bad("qty is required to replace a notional order")
    # the new order's quantity (given, or what is left) under its time in force: a
    # stock's fractional quantity stays a day order
    new_qty = qty if qty is not None else first.remaining_quantity
    _check_qty(new_qty, kind, tif or view["time_in_force"], first.symbol, coin=coin)
    if qty is not None:
        legs = (LegRequest(first.symbol, first.action, qty, first.instrument_type),)
    client_id = _client_order_id(scope, changes.get("client_order_id"))
    price = limit if limit is not None else (abs(old.price) if old.price is not None else None)
    request = OrderRequest(
        order_type=old.order_type,
        legs=legs,
        time_in_force=TIF_IN[tif] if tif else old.time_in_force,
        price=price,
        price_effect=("Debit" if old.legs[0].is_buy else "Credit") if price is not None else None,
        source=old.source or SOURCE,
        client_order_id=client_id,
        # a stop keeps its trigger unless given one; a trailing stop its kind of trail (a
        # new `trail` is a new amount of the same kind: "you cannot change the price
        # trailing to the percent trailing or vice versa", orders.md)
        stop_trigger=(stop or old.stop_trigger) if kind in ("stop", "stop_limit") else None,
        trail_price=(trail or old.trail_price) if old.trail_price is not None else None,
        trail_percent=(trail or old.trail_percent) if old.trail_percent is not None else None,
        fractional=not is_option(first.symbol),
    )
    assert old.id is not None
    try:
        placed = scope.facade.sandbox.brokerage.replace_order(
            scope.number, old.id, request, member=exit_
        )
    except OrderRejected as exc:
        raise rejection(exc) from None
    assert placed.replaced is not None and placed.order.id is not None
    if (scope.number, old.id) in scope.facade.notes.extended_hours:
        scope.facade.notes.extended_hours.add((scope.number, placed.order.id))
    publish(scope, placed.replaced, placed.order)
    return rendered(scope, placed.order)


def _check_exit_change(
    scope: Scope, old: OrderRecord, view: dict[str, Any], changes: dict[str, Any]
) -> None:
    """A linked order's member is replaced only as orders.md allows: a bracket's
    take-profit (`limit_price`) or stop-loss (`stop_price`), working or held, by that price
    alone. "order replacement is not supported yet" for oto; an OCO's and a bracket's entry
    are not documented as replaceable, and are refused."""
    kind = view["order_class"]
    if kind == "oto":
        raise Refusal(422, WRONG_STATE, "order replacement is not supported yet")
    if kind != "bracket" or not scope.facade.is_child(old):
        raise Refusal(
            422,
            WRONG_STATE,
            f"only a bracket's take-profit or stop-loss can be replaced, not this {kind} order: "
            "cancel it (its whole group) and place it again",
        )
    if view["status"] not in ("new", "accepted", "held"):
        raise Refusal(422, WRONG_STATE, f'order is not replaceable in "{view["status"]}" state')
    price = "limit_price" if view["type"] == "limit" else "stop_price"
    if set(changes) - {price, "client_order_id"} or price not in changes:
        raise bad(f"a bracket's {view['type']} exit is replaced by its {price} only")


# --------------------------------------------------------------------------- listing


def _flag(text: str | None, name: str) -> bool | None:
    if text is None:
        return None
    if text.lower() not in ("true", "false"):
        raise bad(f"{name} must be true or false")
    return text.lower() == "true"


def select(scope: Scope, params: Any) -> list[dict[str, Any]]:
    """Alpaca's order query over every order the brokerage remembers: `status` (open),
    `limit` (50, at most 500), `after`/`until` (submission time, exclusive), `direction`
    (desc), `nested`, `symbols`, `side`."""
    status = params.get("status", "open")
    if status not in ("open", "closed", "all"):
        raise bad("status must be open, closed or all")
    try:
        limit = int(params.get("limit", "50"))
    except ValueError:
        raise bad("limit must be an integer") from None
    if limit <= 0:
        raise bad("limit must be > 0")
    after = query_time(params.get("after"), "after")
    until = query_time(params.get("until"), "until")
    direction = params.get("direction", "desc")
    if direction not in ("asc", "desc"):
        raise bad("direction must be asc or desc")
    # multi-leg orders always carry their legs; with `nested`, a linked order is listed
    # once, as its parent with the other members under `legs` ("otherwise each is listed
    # alone", orders.md), open while any member is
    nested = bool(_flag(params.get("nested"), "nested"))
    side = params.get("side") or None
    if side not in (None, "buy", "sell"):
        raise bad("side must be buy or sell")
    symbols = {
        coin_pair(x) or alpaca_symbol(tasty_symbol(x))
        for x in params.get("symbols", "").split(",")
        if x
    }
    history = scope.facade.sandbox.brokerage.order_history(scope.number)  # newest first
    if direction == "asc":
        history.reverse()
    chosen = []
    for record in history:
        submitted = as_sent(record.received_at)  # as `submitted_at` says
        if (after is not None and not submitted > after) or (
            until is not None and not submitted < until
        ):
            continue
        if nested and scope.facade.is_child(record):
            continue
        order = scope.facade.render_order(record, nested=nested)
        statuses = [order["status"]]
        if nested and record.group_id is not None:
            statuses += [child["status"] for child in order["legs"] or ()]
        is_open = any(x in OPEN for x in statuses)
        if (status == "open" and not is_open) or (status == "closed" and is_open):
            continue
        if side and order["side"] != side:
            continue
        names = {order["symbol"]} | {leg["symbol"] for leg in order["legs"] or ()}
        if symbols and not names & symbols:
            continue
        chosen.append(order)
        if len(chosen) >= min(limit, 500):
            break
    return chosen
