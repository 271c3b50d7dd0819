"""Tradier's JSON objects as its REST API sends them, typed: an account's balances
(`/v1/accounts/{n}/balances`), positions, orders (a multileg or linked order's `leg`
rows), market quotes and option chain rows with their greeks. Only the keys this adapter
reads are named; every one may be missing (`total=False`). Tradier sends numbers as
numbers, a collection of one as the object itself (`client.as_list`), an empty value as
null or "null". Pure types, no I/O.
"""

from __future__ import annotations

from typing import TypedDict

#: A Tradier number as it comes: a number, or null ("null" where a field is empty).
Num = float | int | str | None


class TradierMarginBalances(TypedDict, total=False):
    """A margin (or PDT) account's `margin` / `pdt` block."""

    stock_buying_power: Num
    option_buying_power: Num
    stock_short_value: Num
    day_trade_buying_power: Num


class TradierCashBalances(TypedDict, total=False):
    """A cash account's `cash` block."""

    cash_available: Num
    unsettled_funds: Num


class TradierBalances(TypedDict, total=False):
    account_number: str
    account_type: str
    total_equity: Num
    total_cash: Num
    current_requirement: Num
    stock_long_value: Num
    option_long_value: Num
    option_short_value: Num
    pending_cash: Num
    margin: TradierMarginBalances
    cash: TradierCashBalances
    pdt: TradierMarginBalances


class TradierPosition(TypedDict, total=False):
    id: int
    symbol: str
    #: Signed: a short position is negative.
    quantity: Num
    #: The whole position's, not per share.
    cost_basis: Num
    date_acquired: str


class TradierQuote(TypedDict, total=False):
    symbol: str
    bid: Num
    ask: Num
    last: Num
    prevclose: Num


class TradierGreeks(TypedDict, total=False):
    delta: Num
    gamma: Num
    theta: Num
    vega: Num
    rho: Num
    phi: Num
    bid_iv: Num
    mid_iv: Num
    ask_iv: Num
    smv_vol: Num
    #: `2025-01-02 15:00:00`, New York time.
    updated_at: str


class TradierChainRow(TypedDict, total=False):
    """One option of `/v1/markets/options/chains?greeks=true`."""

    symbol: str
    underlying: str
    option_type: str
    strike: Num
    expiration_date: str
    contract_size: Num
    bid: Num
    ask: Num
    last: Num
    volume: Num
    open_interest: Num
    bid_date: Num
    ask_date: Num
    greeks: TradierGreeks | None


#: An order (`class` is a Python keyword: the functional form). A multileg or combo
#: order's legs, and a linked order's (oto, oco, otoco) member orders, are its `leg` rows:
#: a list, or the one row itself.
TradierOrder = TypedDict(
    "TradierOrder",
    {
        "id": int | str,
        "type": str,
        "class": str,
        "symbol": str | None,
        "option_symbol": str,
        "side": str,
        "quantity": Num,
        "status": str,
        "duration": str | None,
        "price": Num,
        "stop": Num,
        "stop_price": Num,
        "avg_fill_price": Num,
        "exec_quantity": Num,
        "last_fill_price": Num,
        "last_fill_quantity": Num,
        "remaining_quantity": Num,
        "create_date": str | None,
        "transaction_date": str | None,
        "tag": str,
        "leg": "list[TradierOrder] | TradierOrder",
    },
    total=False,
)
