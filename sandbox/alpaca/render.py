"""The core's typed records in Alpaca's JSON: accounts, trading accounts, positions, orders,
assets and activities, the same for the Broker and the Trading API.

Pure functions of records (`core/records.py`): every number comes from the brokerage and
the market through them, nothing here keeps state. Numbers are strings, as Alpaca sends.
"""

from __future__ import annotations

import uuid
from decimal import ROUND_CEILING, Decimal
from typing import Any

from sandbox.alpaca import schedule
from sandbox.alpaca.wire import (
    NS,
    ZERO,
    account_uuid,
    activity_stamp,
    alpaca_symbol,
    asset_uuid,
    cents,
    execution_uuid,
    iso,
    iso_ns,
    order_uuid,
    p4,
    s,
)
from sandbox.core.market.listings import CRYPTO, CRYPTO_PAIRS
from sandbox.core.records import (
    CRYPTOCURRENCY,
    EQUITY_OPTION,
    AccountRecord,
    BalanceFigures,
    OrderRecord,
    PositionRecord,
    TransactionRecord,
)

_STATUS = {
    "Received": "new",
    "Live": "new",
    "Filled": "filled",
    "Cancelled": "canceled",
    "Rejected": "rejected",
    "Expired": "expired",
    # a linked order's member waiting for its trigger: Alpaca's bracket exits are `held`
    # until the entry fills (forum.alpaca.markets/t/bracket-order-exit-trades-not-executing/3697)
    "Contingent": "held",
}
#: Open in Alpaca's sense: listed by `status=open`, cancellable. A `held` exit is open: it
#: protects the position to be, and cancelling it cancels its group.
OPEN = {
    "new",
    "partially_filled",
    "pending_new",
    "accepted",
    "pending_cancel",
    "pending_replace",
    "held",
}
#: The core's linked kinds as Alpaca's order classes (alpaca-py `OrderClass`; alpaca-docs
#: content/trading/orders.md "Bracket Orders", "OCO Orders", "OTO Orders").
ORDER_CLASSES = {"OTOCO": "bracket", "OCO": "oco", "OTO": "oto"}
_TIF_OUT = {"Day": "day", "GTC": "gtc", "IOC": "ioc", "GTD": "gtd", "Ext": "day"}
_ORDER_TYPE = {
    "Market": "market",
    "Limit": "limit",
    "Marketable Limit": "limit",
    "Stop": "stop",
    "Stop Limit": "stop_limit",
    "Trailing Stop": "trailing_stop",
}


# --------------------------------------------------------------------------- accounts


def _previous_close_values(positions: list[PositionRecord]) -> tuple[Decimal, Decimal]:
    """The long and the short (negative) market value at the previous close."""
    long_then = short_then = ZERO
    for p in positions:
        then = cents(p.quantity * p4(p.close_price) * p.multiplier)
        if p.quantity >= 0:
            long_then += then
        else:
            short_then += then
    return long_then, short_then


def last_equity(balance: BalanceFigures, positions: list[PositionRecord]) -> Decimal:
    """Equity at the previous close: cash plus the positions at the market's previous close
    (each position's `lastday_price`), so `equity - last_equity` is the day's P/L."""
    long_then, short_then = _previous_close_values(positions)
    return balance.cash_balance + long_then + short_then


def _identity(account: AccountRecord) -> dict[str, Any]:
    """What every account object starts with."""
    return {
        "id": account_uuid(account.number),
        "account_number": account.number,
        "status": "ACTIVE",
        "crypto_status": "ACTIVE",  # the market's coins trade (alpaca/orders/submit.py)
        "currency": "USD",
        "created_at": iso(account.opened_at),
    }


def account_summary(
    account: AccountRecord, balance: BalanceFigures, positions: list[PositionRecord]
) -> dict[str, Any]:
    """The Broker API's `Account` (without the KYC sections)."""
    roth = "Roth" in account.type_name
    return _identity(account) | {
        "last_equity": s(last_equity(balance, positions)),
        "account_type": "ira" if roth else "trading",
        "account_sub_type": "roth" if roth else None,
        "trading_type": "margin" if account.margin else "cash",
        "enabled_assets": ["us_equity", "us_option", "crypto"],
    }


def trade_account(
    account: AccountRecord, b: BalanceFigures, positions: list[PositionRecord]
) -> dict[str, Any]:
    """The trading account (balances) both APIs serve: alpaca-py's `TradeAccount`.

    The day-trading fields Alpaca retired on 2026-07-06 (FINRA intraday-margin migration,
    per alpaca-py 0.44.0's docstring) are not sent. There is no end-of-day ledger: the
    `last_*` cash and margin figures are today's (UNCONFIRMED); the `last_*` market values
    and `last_equity` are at the market's previous close."""
    margin = account.margin
    long_then, short_then = _previous_close_values(positions)
    closed = schedule.last_session_close()
    level = 3 if margin else 2
    cash = s(b.cash_balance)
    buying_power = s(b.equity_buying_power)
    options_bp = s(b.derivative_buying_power)
    long_now = b.long_equity_value + b.long_derivative_value
    short_now = -(b.short_equity_value + b.short_derivative_value)
    return _identity(account) | {
        "cash": cash,
        "cash_withdrawable": s(b.cash_available_to_withdraw),
        "cash_transferable": s(b.cash_available_to_withdraw),
        "equity": s(b.net_liquidating_value),
        "last_equity": s(b.cash_balance + long_then + short_then),
        "portfolio_value": s(b.net_liquidating_value),
        "position_market_value": s(long_now + short_now),
        "buying_power": buying_power,
        "effective_buying_power": buying_power,
        "regt_buying_power": buying_power,
        "non_marginable_buying_power": options_bp,
        "options_buying_power": options_bp,
        "long_market_value": s(long_now),
        "short_market_value": s(short_now),
        "initial_margin": s(b.reg_t_margin_requirement),
        "maintenance_margin": s(b.maintenance_requirement),
        "last_maintenance_margin": s(b.maintenance_requirement),
        "sma": "0",
        "multiplier": "2" if margin else "1",
        "trading_blocked": False,
        "transfers_blocked": False,
        "account_blocked": False,
        "trade_suspended_by_user": False,
        "shorting_enabled": margin,
        "accrued_fees": "0",
        "pending_transfer_in": "0",
        "pending_transfer_out": "0",
        "balance_asof": closed.date().isoformat(),
        "previous_close": closed.isoformat(),
        "last_cash": cash,
        "last_long_market_value": s(long_then),
        "last_short_market_value": s(short_then),
        "last_initial_margin": s(b.reg_t_margin_requirement),
        "last_regt_buying_power": buying_power,
        "last_buying_power": buying_power,
        "last_options_buying_power": options_bp,
        "options_approved_level": level,
        "options_trading_level": level,
        "clearing_broker": "ALPACA_APCA",
        "memoposts": "0",
        "intraday_adjustments": "0",
        "pending_reg_taf_fees": "0",
    }


def trade_configuration(account: AccountRecord) -> dict[str, Any]:
    margin = account.margin
    return {
        "dtbp_check": "entry",
        "trade_confirm_email": "all",
        "suspend_trade": False,
        "no_shorting": not margin,
        "fractional_trading": True,
        "max_margin_multiplier": "2" if margin else "1",
        "max_options_trading_level": 3 if margin else 2,
        "pdt_check": "entry",
        "ptp_no_exception_entry": False,
    }


# --------------------------------------------------------------------------- positions


def asset_class(instrument_type: str) -> str:
    """Alpaca's name for an instrument type: us_equity, us_option or crypto."""
    return _ASSET_CLASSES.get(instrument_type, "us_equity")


_ASSET_CLASSES = {EQUITY_OPTION: "us_option", CRYPTOCURRENCY: "crypto"}


def position(p: PositionRecord) -> dict[str, Any]:
    """A Position; a coin's symbol loses its slash (`BTCUSD`), as Alpaca's positions spell
    it while its orders and assets say `BTC/USD` (alpaca-py #537)."""
    option = p.instrument_type == EQUITY_OPTION
    coin = p.instrument_type == CRYPTOCURRENCY
    multiplier = Decimal(p.multiplier)
    signed = p.quantity
    avg = p4(p.average_open_price)
    current = p4(p.mark_price if p.mark_price is not None else p.close_price)
    lastday = p4(p.close_price)
    market_value = cents(signed * current * multiplier)
    cost_basis = cents(signed * avg * multiplier)
    pl = market_value - cost_basis
    today = cents(signed * (current - lastday) * multiplier)
    then = abs(market_value - today)
    symbol = p.symbol.replace("/", "") if coin else alpaca_symbol(p.symbol)
    return {
        "asset_id": asset_uuid(p.symbol if coin else symbol),
        "symbol": symbol,
        "exchange": "" if option else "CRYPTO" if coin else "NASDAQ",
        "asset_class": asset_class(p.instrument_type),
        "asset_marginable": not (option or coin),
        "qty": s(signed),
        "qty_available": s(signed),
        "avg_entry_price": s(avg),
        "side": "short" if signed < 0 else "long",
        "market_value": s(market_value),
        "cost_basis": s(cost_basis),
        "unrealized_pl": s(pl),
        "unrealized_plpc": s((pl / abs(cost_basis)).quantize(Decimal("0.0001")))
        if cost_basis
        else "0",
        "unrealized_intraday_pl": s(today),
        # the day's P/L over the value at the previous close
        "unrealized_intraday_plpc": s((today / then).quantize(Decimal("0.0001"))) if then else "0",
        "current_price": s(current),
        "lastday_price": s(lastday),
        "change_today": s(((current - lastday) / lastday).quantize(Decimal("0.0001")))
        if lastday
        else "0",
    }


# --------------------------------------------------------------------------- orders


def _intent(action: str) -> str:
    return action.lower().replace(" ", "_")


def _price(value: Decimal | None) -> str | None:
    return s(p4(value)) if value is not None else None


def order_status(o: OrderRecord, *, pending_new: bool = False) -> str:
    """Alpaca's status of a brokerage order: a cancelled order that has a replacement is
    `replaced`; a working order with fills `partially_filled`."""
    if o.replaced_by_order_id is not None and o.status in ("Cancelled", "Replaced"):
        return "replaced"
    status = _STATUS.get(o.status, o.status.lower())
    if o.status == "Received" and pending_new:
        return "pending_new"
    if status == "new" and o.legs[0].filled_quantity > 0:
        return "partially_filled"
    return status


def order(
    o: OrderRecord,
    *,
    status: str | None = None,
    pending_new: bool = False,
    notional: str | None = None,
    extended_hours: bool = False,
) -> dict[str, Any]:
    """An Alpaca order object from a brokerage order record; `status` overrides (a trade
    event reports the state the order had at that event)."""
    number = o.account_number
    oid = order_uuid(number, o.id)
    legs, size = o.legs, o.size
    first = legs[0]
    ratio = first.quantity / size if size else Decimal(1)
    filled_units = first.filled_quantity / ratio if ratio else ZERO
    value = sum((f.quantity * f.price for f in first.fills), ZERO)
    qty_filled = sum((f.quantity for f in first.fills), ZERO)
    single = len(legs) == 1
    avg = p4(value / qty_filled) if qty_filled else None
    status = status or order_status(o, pending_new=pending_new)
    updated, terminal = o.updated_at, o.terminal_at
    order_type = _ORDER_TYPE.get(o.order_type, o.order_type.lower())
    symbol = alpaca_symbol(first.symbol)
    data: dict[str, Any] = {
        "id": oid,
        "client_order_id": o.client_order_id or str(uuid.uuid5(NS, f"client:{oid}")),
        "created_at": iso_ns(o.received_at),
        "updated_at": iso_ns(updated),
        "submitted_at": iso_ns(o.received_at),
        "filled_at": iso_ns(terminal) if status == "filled" and terminal else None,
        "expired_at": iso_ns(terminal) if status == "expired" and terminal else None,
        "canceled_at": iso_ns(o.cancelled_at or updated) if status == "canceled" else None,
        "failed_at": iso_ns(updated) if status == "rejected" else None,
        "replaced_at": iso_ns(o.cancelled_at or updated) if status == "replaced" else None,
        "replaced_by": order_uuid(number, o.replaced_by_order_id)
        if o.replaced_by_order_id is not None
        else None,
        "replaces": order_uuid(number, o.replaces_order_id)
        if o.replaces_order_id is not None
        else None,
        "asset_id": asset_uuid(symbol) if single else "",
        "symbol": symbol if single else "",
        "asset_class": asset_class(first.instrument_type) if single else "",
        "notional": notional,
        "qty": None if notional else (s(first.quantity) if single else s(size)),
        "filled_qty": s(first.filled_quantity) if single else s(filled_units),
        "filled_avg_price": s(avg) if avg is not None and single else None,
        "order_class": ORDER_CLASSES.get(o.group_kind or "", o.group_kind or "")
        if o.group_kind
        else ("simple" if single else "mleg"),
        "order_type": order_type,
        "type": order_type,
        "side": ("buy" if first.is_buy else "sell") if single else "",
        "position_intent": _intent(first.action) if single else None,
        "time_in_force": _TIF_OUT.get(o.time_in_force, "day"),
        "limit_price": s(p4(abs(o.price))) if o.price is not None else None,
        # a trailing stop's is its current stop, "derived from hwm and trail parameter, and
        # continuously updates as hwm changes" (alpaca-docs orders.md)
        "stop_price": _price(o.stop_trigger),
        "status": status,
        "extended_hours": extended_hours,
        "legs": None,
        "trail_percent": s(o.trail_percent) if o.trail_percent is not None else None,
        "trail_price": s(o.trail_price) if o.trail_price is not None else None,
        "hwm": _price(o.hwm),
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
                "asset_class": asset_class(leg.instrument_type),
                "status": status,
            }
            for leg in legs
        ]
    return data


def linked_parent(members: list[OrderRecord]) -> OrderRecord | None:
    """The member Alpaca shows as a linked order's parent, the others nested under it with
    `nested=true`: the entry (the core's trigger) of a bracket or OTO; an OCO's
    take-profit, its limit ("with `nested=true` the TP is the parent and the SL its
    child", orders.md). None for no members."""
    trigger = next((m for m in members if m.group_role == "trigger"), None)
    take_profit = next((m for m in members if m.order_type == "Limit"), None)
    return trigger or take_profit or (members[0] if members else None)


# --------------------------------------------------------------------------- assets


def asset(symbol: str, name: str) -> dict[str, Any]:
    """A stock: fractionable, as every stock the sandbox trades takes fractional and
    notional orders (alpaca/orders/submit.py)."""
    return {
        "id": asset_uuid(symbol),
        "class": "us_equity",
        "exchange": "NASDAQ",
        "symbol": symbol,
        "name": name,
        "status": "active",
        "tradable": True,
        "marginable": True,
        "shortable": True,
        "easy_to_borrow": True,
        "fractionable": True,
        "maintenance_margin_requirement": 30,
        "attributes": [],
    }


#: A coin's quantity step: "fractional quantities to 9 decimals" (alpaca-docs
#: fractional-trading.md: "Both notional and qty fields can take up to 9 decimal point
#: values"); its price step is the market's cent.
COIN_QTY_STEP = Decimal("0.000000001")
COIN_PRICE_STEP = Decimal("0.01")


def coin_pair(symbol: Any) -> str | None:
    """The listed coin pair a symbol names, in either of Alpaca's spellings (`BTC/USD`, or
    the legacy `BTCUSD` its positions use; crypto-trading.md: "Our API has made proper
    changes to support the legacy convention as well"), else None."""
    if not isinstance(symbol, str):
        return None
    text = symbol.strip().upper()
    if text in CRYPTO_PAIRS:
        return text
    for pair in CRYPTO_PAIRS:
        if text == pair.replace("/", ""):
            return pair
    return None


def coin_min_order_size(pair: str) -> Decimal:
    """About a dollar of the coin at its listing price, up to two significant digits (a
    fixed figure; Alpaca derives its minimum from a $1 order, UNCONFIRMED)."""
    amount = Decimal(1) / Decimal(str(CRYPTO[pair][0]))
    exponent = amount.adjusted() - 1  # two significant digits
    return amount.quantize(Decimal(1).scaleb(exponent), rounding=ROUND_CEILING)


def coin_asset(pair: str) -> dict[str, Any]:
    """A coin against the dollar as Alpaca's crypto Asset (alpaca-docs
    content/trading/crypto-trading.md "Supported Assets"; alpaca-py `Asset`): not
    marginable, not shortable, fractionable, with its minimum order and increments."""
    return {
        "id": asset_uuid(pair),  # the id its position and orders carry
        "class": "crypto",
        "exchange": "CRYPTO",
        "symbol": pair,
        "name": f"{CRYPTO[pair][2]} / US Dollar",
        "status": "active",
        "tradable": True,
        "marginable": False,
        "shortable": False,
        "easy_to_borrow": False,
        "fractionable": True,
        "min_order_size": s(coin_min_order_size(pair)),
        "min_trade_increment": s(COIN_QTY_STEP),
        "price_increment": s(COIN_PRICE_STEP),
        "maintenance_margin_requirement": 100,
        "attributes": [],
    }


# --------------------------------------------------------------------------- activities


def fill_activity(
    t: TransactionRecord, index: int, cumulative: Decimal, total: Decimal
) -> dict[str, Any]:
    """A FILL activity from a ledger trade: the `index`-th execution of its order's leg,
    `cumulative` filled of `total` after it. Its id carries the trade event's execution id."""
    assert t.symbol is not None and t.quantity is not None and t.price is not None
    execution = execution_uuid(t.account_number, t.order_id, t.symbol, index)
    done = cumulative >= total
    return {
        "id": f"{activity_stamp(t.executed_at)}::{execution}",
        "account_id": account_uuid(t.account_number),
        "activity_type": "FILL",
        "transaction_time": iso_ns(t.executed_at),
        "type": "fill" if done else "partial_fill",
        "price": s(t.price),
        "qty": s(t.quantity),
        "side": "buy" if (t.action or "").startswith("Buy") else "sell",
        "symbol": alpaca_symbol(t.symbol),
        "leaves_qty": s(total - cumulative),
        "order_id": order_uuid(t.account_number, t.order_id),
        "cum_qty": s(cumulative),
        "order_status": "filled" if done else "partially_filled",
    }


def cash_activity(t: TransactionRecord) -> dict[str, Any]:
    """A money movement as a non-trade activity: `CSD` (cash deposit) or `CSW` (withdrawal)."""
    return {
        "id": f"{activity_stamp(t.executed_at)}::{uuid.uuid5(NS, f'txn:{t.id}')}",
        "account_id": account_uuid(t.account_number),
        "activity_type": "CSD" if t.net_value >= 0 else "CSW",
        "date": iso(t.executed_at)[:10],
        "net_amount": s(t.net_value),
        "description": t.description,
        "status": "executed",
        "symbol": None,
        "qty": None,
        "per_share_amount": None,
    }
