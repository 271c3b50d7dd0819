"""The contract's balance, position, quote and greeks, typed: what every adapter's wire
module builds and reports into the sink (docs/streaming-contract.md, "Objects"), so that
mypy checks every adapter emits one shape, where the sink took `dict[str, Any]` before.
The order's shape is orders/shape.py. Pure types, no I/O.

A number is as `values.num` makes it from the broker's value (`float | int`), None (null)
where the broker has none, never 0.
"""

from __future__ import annotations

from typing import NotRequired, TypedDict

Number = float | int | None


class Balance(TypedDict):
    net_liquidating_value: Number
    buying_power: Number
    equity_buying_power: Number
    derivative_buying_power: Number
    day_trading_buying_power: Number
    cash: Number
    cash_available_to_withdraw: Number
    maintenance_requirement: Number
    long_equity_value: Number
    short_equity_value: Number
    long_derivative_value: Number
    short_derivative_value: Number
    pending_cash: Number
    #: When the broker says it was current (ms), else when it was read.
    updated_at: int | None


class Position(TypedDict):
    #: The broker's own symbol; `streamer_symbol` the instrument's contract symbol and
    #: `display` its name, `underlying` the underlying's contract symbol (the stream names
    #: each position by its instrument when it arrives: instruments/naming.py).
    symbol: str
    streamer_symbol: str
    display: NotRequired[str]
    underlying: str
    instrument_type: str
    #: Unsigned; `direction` ("Long", "Short", "Zero") carries the sign.
    quantity: Number
    direction: str
    average_open_price: Number
    close_price: Number
    mark_price: Number
    multiplier: Number
    cost_effect: str | None
    realized_day_gain: Number
    expires_at: int | None


class QuoteFields(TypedDict, total=False):
    """A quote event: only the fields the broker's event carries (a Trade has no bid);
    the stream's quote feed adds `t` (receipt time) where the broker sent none, `delayed`
    and `src` (the quote feed)."""

    bid: Number
    ask: Number
    bid_size: Number
    ask_size: Number
    last: Number
    change: Number
    volume: Number
    day_high: Number
    day_low: Number
    prev_close: Number
    #: The broker's event time (ms).
    t: int
    delayed: bool
    src: str


class GreeksFields(TypedDict, total=False):
    """A greeks event; the stream's quote feed adds `t` where the broker sent none, and
    `src`."""

    price: Number
    iv: Number
    delta: Number
    gamma: Number
    theta: Number
    vega: Number
    rho: Number
    t: int
    src: str
