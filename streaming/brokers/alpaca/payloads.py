"""Alpaca's JSON objects as its Broker and Trading APIs send them, typed: the account
(`GET /v1/accounts`, `GET /v2/account`), the trading account (`…/account`: its balances),
the position, the order (`nested=true`: a linked order's members in `legs`), the FILL
activity, and the trade stream's control and update messages. Only the keys this adapter
reads or sends are named; every one may be missing (`total=False`), and Alpaca sends its
numbers as strings, a null where it has no value. Pure types, no I/O.
"""

from __future__ import annotations

from typing import TypedDict


class AlpacaAccount(TypedDict, total=False):
    """An account as `GET /v1/accounts` lists it (the Trading API's `/v2/account` has
    the same `id` and `account_number`)."""

    id: str
    account_number: str
    status: str
    currency: str
    created_at: str


class AlpacaTradeAccount(TypedDict, total=False):
    """A trading account's balances (`…/account`, `/v2/account`)."""

    id: str
    account_number: str
    cash: str | None
    cash_withdrawable: str | None
    equity: str | None
    buying_power: str | None
    regt_buying_power: str | None
    options_buying_power: str | None
    daytrading_buying_power: str | None
    long_market_value: str | None
    short_market_value: str | None
    maintenance_margin: str | None


class AlpacaPosition(TypedDict, total=False):
    symbol: str
    asset_class: str
    qty: str
    side: str
    avg_entry_price: str | None
    lastday_price: str | None
    current_price: str | None
    market_value: str | None
    cost_basis: str | None


class AlpacaOrder(TypedDict, total=False):
    """An order; a multi-leg (`mleg`) order's option legs and a linked order's (bracket,
    OCO, OTO) member orders are in `legs` (null for a simple order)."""

    id: str
    client_order_id: str
    status: str | None
    type: str | None
    #: `type`'s deprecated twin.
    order_type: str | None
    time_in_force: str | None
    order_class: str | None
    side: str | None
    position_intent: str | None
    symbol: str | None
    asset_class: str | None
    qty: str | None
    notional: str | None
    filled_qty: str | None
    filled_avg_price: str | None
    limit_price: str | None
    stop_price: str | None
    trail_price: str | None
    trail_percent: str | None
    hwm: str | None
    extended_hours: bool
    replaces: str | None
    created_at: str | None
    submitted_at: str | None
    updated_at: str | None
    filled_at: str | None
    legs: list[AlpacaOrder] | None


class AlpacaActivity(TypedDict, total=False):
    """A FILL activity (`GET /v2/account/activities/FILL`): one execution of an order."""

    id: str
    activity_type: str
    order_id: str
    symbol: str
    side: str
    qty: str
    cum_qty: str
    leaves_qty: str
    price: str
    order_status: str
    transaction_time: str


class AlpacaError(TypedDict, total=False):
    """Alpaca's error body: `{"code": 40310000, "message": "..."}`."""

    code: int
    message: str


class AlpacaControl(TypedDict, total=False):
    """The data of a trade stream's `authorization` / `listening` message."""

    status: str
    action: str
    streams: list[str]


class AlpacaMarketMessage(TypedDict, total=False):
    """One message of a market data socket's frame: `T` its kind (`success`, `error`,
    `subscription`, a bar or a quote…), `msg` / `code` an answer's."""

    T: str
    msg: str
    code: int


class AlpacaBar(TypedDict, total=False):
    """A bar: start time `t` (RFC 3339), prices `o h l c`, volume `v`, trades `n`,
    volume-weighted price `vw`."""

    t: str
    o: float
    h: float
    l: float  # noqa: E741 - Alpaca's key
    c: float
    v: float
    n: int
    vw: float


#: An order body as POSTed (`symbol`, `qty`/`notional`, `side`, `type`, prices …) or
#: PATCHed: every value a string, a linked order's exits nested (`take_profit: {limit_price}`,
#: `stop_loss: {stop_price, limit_price?}`).
OrderBody = dict[str, str | dict[str, str]]
