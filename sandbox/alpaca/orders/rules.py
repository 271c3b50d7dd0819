"""What an Alpaca order body may say, checked before anything reaches the brokerage: its
type, time in force, quantity or notional, and trail (alpaca-docs content/trading/orders.md,
fractional-trading.md, crypto-trading.md; alpaca-py `OrderRequest`).

Pure checks of values: each raises the 422 Alpaca answers (`wire.bad`).
"""

from __future__ import annotations

from decimal import Decimal

from sandbox.alpaca.wire import bad, is_option
from sandbox.core.matching import QUANTITY_STEP

#: Alpaca's order types and the core's (alpaca-py `OrderType`; alpaca-docs orders.md).
TYPES = {
    "market": "Market",
    "limit": "Limit",
    "stop": "Stop",
    "stop_limit": "Stop Limit",
    "trailing_stop": "Trailing Stop",
}
#: "Valid time-in-force values for trailing stop are "day" and "gtc"" (orders.md).
TRAILING_TIF = ("day", "gtc")
ALL_TIF = ("day", "gtc", "opg", "cls", "ioc", "fok")
TIF_IN = {"day": "Day", "gtc": "GTC", "ioc": "IOC"}
_OPTION_TIF = ("day", "gtc")
#: A stock's fractional `qty`: these types, `day` only (orders.md "Fractional Trading").
_FRACTIONAL_TYPES = ("market", "limit", "stop", "stop_limit")
#: Crypto: "Market, Limit and Stop Limit orders", "gtc and ioc" (crypto-trading.md).
_COIN_TYPES = ("market", "limit", "stop_limit")
_COIN_TIF = ("gtc", "ioc")
#: "buy as little as $1 worth of shares" (fractional-trading.md).
_MIN_NOTIONAL = Decimal(1)


def _places(value: Decimal, name: str) -> None:
    """Alpaca's `qty` and `notional` "can take up to 9 decimal point values"
    (alpaca-docs content/trading/fractional-trading.md)."""
    if value % QUANTITY_STEP:
        raise bad(f"{name} must have at most 9 decimal places")


def check_qty(qty: Decimal, kind: str, tif: str, tasty: str, *, coin: bool) -> None:
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


def check_notional(notional: Decimal, kind: str, tif: str, tasty: str, *, coin: bool) -> None:
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


def check_coin(kind: str, tif: str) -> None:
    """Crypto takes "Market, Limit and Stop Limit orders" and "only gtc and ioc time in
    force" (alpaca-docs content/trading/crypto-trading.md "Supported Orders")."""
    if kind not in _COIN_TYPES:
        raise bad(f"{kind} orders are not supported for crypto (market, limit or stop_limit)")
    if tif not in _COIN_TIF:
        raise bad(f"invalid crypto time_in_force: {tif} (gtc or ioc)")


def check_option_tif(tif: str, tasty: str) -> None:
    """Alpaca's options take `day` and `gtc` only (its TimeInForce docs, changelog
    2026-08-28), so an `ioc` option order is refused as Alpaca refuses it."""
    if is_option(tasty) and tif not in _OPTION_TIF:
        raise bad(f"order_time_in_force provided not supported for options trading: {tif}")


def check_trail(
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
    if tif not in TRAILING_TIF:
        raise bad(f"time_in_force {tif} is not allowed for trailing_stop orders (day or gtc)")
