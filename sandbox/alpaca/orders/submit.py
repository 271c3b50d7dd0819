"""Submitting an Alpaca order: the body validated into the brokerage's `OrderRequest`,
placed, published. What the body may say is `rules.py`; here, what the account allows: what
it holds (a sell of a coin, a fraction or a notional never goes short), the client order id
(unique in the account) and the account configuration.

Fractional and notional orders of stocks, and coins (`BTC/USD`, or the legacy `BTCUSD`),
are the core's `fractional` requests: a stock's fractional `qty` (to 9 places) on a
`market`/`limit`/`stop`/`stop_limit` `day` order; a `notional` (dollars, at least $1) on a
`market` order — `day` for a stock —, which the brokerage sizes when it fills (the notional
over the fill price, to 9 places, rounded down); a coin's `market`/`limit`/`stop_limit`
`gtc`/`ioc` order in any quantity to 9 places. None of them sells more than is held
(alpaca-docs content/trading/fractional-trading.md, crypto-trading.md). Only an order's
notional amount and extended-hours flag are façade notes.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from sandbox.alpaca.facade import Scope
from sandbox.alpaca.orders.outcomes import publish, rejection, rendered
from sandbox.alpaca.orders.rules import (
    ALL_TIF,
    TIF_IN,
    TYPES,
    check_coin,
    check_notional,
    check_option_tif,
    check_qty,
    check_trail,
)
from sandbox.alpaca.render import coin_pair
from sandbox.alpaca.wire import (
    FORBIDDEN,
    Refusal,
    bad,
    dec,
    is_option,
    number_param,
    s,
    tasty_symbol,
)
from sandbox.core.instruments import crypto
from sandbox.core.matching import notional_quantity
from sandbox.core.records import (
    CRYPTOCURRENCY,
    EQUITY,
    EQUITY_OPTION,
    LegRequest,
    OrderRejected,
    OrderRequest,
)

_MAX_CLIENT_ID = 128
SOURCE = "alpaca-sandbox"


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
    if not isinstance(kind, str) or kind not in TYPES:
        raise bad(f"invalid order type: {kind!r}")
    if tif not in ALL_TIF:
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
    check_trail(kind, trail_price, trail_percent, tif)
    pair = coin_pair(symbol)  # BTC/USD or the legacy BTCUSD
    if pair is not None:
        check_coin(kind, tif)
    elif tif not in TIF_IN:
        raise bad(f"time_in_force {tif} is not supported by the sandbox")
    tasty = pair or tasty_symbol(symbol)
    check_option_tif(tif, tasty)
    if kind == "trailing_stop" and is_option(tasty):
        raise bad("trailing_stop orders are not supported for options")
    coin = pair is not None
    if notional is not None:
        check_notional(notional, kind, tif, tasty, coin=coin)
    else:
        assert qty is not None
        check_qty(qty, kind, tif, tasty, coin=coin)
    # a notional order's quantity is the brokerage's to work out (at the fill's price)
    leg = _leg(scope, tasty, side, qty if qty is not None else Decimal(0), coin=coin)
    if side == "sell":
        _check_sell(scope, leg, qty, notional)
    limited = kind in ("limit", "stop_limit")
    request = OrderRequest(
        order_type=TYPES[kind],
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


def unique_client_order_id(scope: Scope, given: Any) -> str:
    """The order's client order id: the one given (unique in the account), else a new uuid."""
    if given is None:
        return str(uuid.uuid4())
    if not isinstance(given, str) or not given or len(given) > _MAX_CLIENT_ID:
        raise bad(f"client_order_id must be 1 to {_MAX_CLIENT_ID} characters")
    if scope.facade.sandbox.brokerage.order_by_client_id(scope.number, given) is not None:
        raise bad("client_order_id must be unique")
    return given


def check_configuration(scope: Scope, request: OrderRequest) -> None:
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
    client_id = unique_client_order_id(scope, body.get("client_order_id"))
    request, notional = order_request(scope, body, client_id)
    check_configuration(scope, request)
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
