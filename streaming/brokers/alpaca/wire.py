"""Alpaca's Broker API rows → the contract (docs/streaming-contract.md): trading account
balances, positions and orders (with the fill rows the adapter synthesized).

An order keeps what Alpaca sent: its type with its stop, trail or dollar amount, its time
in force, its class, and — for a bracket, OCO or OTO — the linked order it belongs to,
each member an order of its own (`linked_members`). What is not known here is kept and
said (`unsupported`), never dropped or relabelled."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from streaming.brokers.alpaca.payloads import AlpacaOrder
from streaming.brokers.orders.shape import (
    LINKED,
    UNSUPPORTED,
    Fill,
    Group,
    Leg,
    Order,
    Role,
    Trail,
    Unsupported,
    exit_role,
    unsupported,
)
from streaming.brokers.orders.shape import group as linked_group
from streaming.brokers.payloads import Balance, Position
from streaming.brokers.values import decimal, now_ms, num, time_ms
from streaming.instruments.symbols import occ_parts, option_expiry_ms, streamer_symbol_for


def balance_payload(a: Mapping[str, object]) -> Balance:
    """An Alpaca trading account as the contract's balance; null where Alpaca has no value."""
    short = decimal(a.get("short_market_value"))
    return {
        "net_liquidating_value": num(decimal(a.get("equity"))),
        "buying_power": num(decimal(a.get("buying_power"))),
        "equity_buying_power": num(decimal(a.get("regt_buying_power") or a.get("buying_power"))),
        "derivative_buying_power": num(decimal(a.get("options_buying_power"))),
        "day_trading_buying_power": num(decimal(a.get("daytrading_buying_power"))),
        "cash": num(decimal(a.get("cash"))),
        "cash_available_to_withdraw": num(decimal(a.get("cash_withdrawable"))),
        "maintenance_requirement": num(decimal(a.get("maintenance_margin"))),
        "long_equity_value": num(decimal(a.get("long_market_value"))),
        "short_equity_value": num(abs(short)) if short is not None else None,
        "long_derivative_value": None,
        "short_derivative_value": None,
        "pending_cash": None,
        "updated_at": now_ms(),
    }


#: Alpaca's order types (`type`, formerly `order_type`) in the contract's words.
ORDER_TYPES = {
    "market": "Market",
    "limit": "Limit",
    "stop": "Stop",
    "stop_limit": "Stop Limit",
    "trailing_stop": "Trailing Stop",
}
#: Alpaca's times in force in the contract's spelling.
TIMES_IN_FORCE = {
    "day": "Day",
    "gtc": "GTC",
    "opg": "OPG",
    "cls": "CLS",
    "ioc": "IOC",
    "fok": "FOK",
}
#: Alpaca's order classes; "" (and a missing class) is a simple order.
ORDER_CLASSES = {
    "": "simple",
    "simple": "simple",
    "mleg": "multileg",
    "bracket": "bracket",
    "oco": "oco",
    "oto": "oto",
}
#: Alpaca's asset classes as the contract's instrument types (tastytrade's names).
INSTRUMENT_TYPES = {
    "us_equity": "Equity",
    "us_option": "Equity Option",
    "crypto": "Cryptocurrency",
}


def position_payload(p: Mapping[str, object]) -> Position:
    symbol = str(p.get("symbol", ""))
    instrument = _instrument(symbol, p.get("asset_class"))
    parts = occ_parts(symbol)
    qty = decimal(p.get("qty")) or Decimal(0)
    side = p.get("side")
    if qty == 0:
        direction = "Zero"
    elif side == "short" or qty < 0:
        direction = "Short"
    else:
        direction = "Long"
    return {
        "symbol": symbol,
        "streamer_symbol": streamer_symbol_for(symbol, instrument),
        "underlying": parts[0] if parts else _pair(symbol, instrument),
        "instrument_type": instrument,
        "quantity": num(abs(qty)),
        "direction": direction,
        "average_open_price": num(decimal(p.get("avg_entry_price"))),
        "close_price": num(decimal(p.get("lastday_price"))),
        "mark_price": num(decimal(p.get("current_price"))),
        "multiplier": 100 if instrument == "Equity Option" else 1,
        "cost_effect": {"Long": "Debit", "Short": "Credit"}.get(direction, "None"),
        "realized_day_gain": None,
        "expires_at": option_expiry_ms(symbol),
    }


def _pair(symbol: str, instrument: str) -> str:
    """A coin's underlying is its pair as Alpaca's orders spell it (`BTCUSD` → `BTC/USD`),
    so a position and the orders that opened it share one."""
    streamer = streamer_symbol_for(symbol, instrument) if instrument == "Cryptocurrency" else ""
    return streamer.removesuffix(":CXTALP") if streamer.endswith(":CXTALP") else symbol


def _instrument(symbol: str, asset_class: Any) -> str:
    """The contract's instrument type: Alpaca's asset class by name, an OCC symbol as an
    option (positions may omit the class), another class as Alpaca names it, else Equity."""
    if asset_class in INSTRUMENT_TYPES:
        return INSTRUMENT_TYPES[asset_class]
    if occ_parts(symbol) is not None:
        return "Equity Option"
    if isinstance(asset_class, str) and asset_class:
        return asset_class
    return "Equity"


def _broker_type(o: Mapping[str, object]) -> str | None:
    """Alpaca's type as sent (`type`; `order_type` is its deprecated twin)."""
    raw = o.get("type") or o.get("order_type")
    return str(raw) if raw is not None else None


def _order_type(o: Mapping[str, object]) -> str | None:
    """The contract's order type; a market order for a dollar amount is `Notional Market`."""
    raw = _broker_type(o)
    if raw is None:
        return None
    mapped = ORDER_TYPES.get(raw, UNSUPPORTED)
    if mapped == "Market" and o.get("notional") is not None:
        return "Notional Market"
    return mapped


def _leg(
    raw: Mapping[str, object], symbol: str, asset_class: Any, action: Any, fills: list[Fill]
) -> Leg:
    """One leg; a notional order has no quantity (null, never 0) until Alpaca says."""
    qty = decimal(raw.get("qty"))
    filled = decimal(raw.get("filled_qty")) or Decimal(0)
    return {
        "symbol": symbol,
        "instrument_type": _instrument(symbol, asset_class),
        "action": action,
        "quantity": num(qty),
        "remaining_quantity": num(max(qty - filled, Decimal(0))) if qty is not None else None,
        "fills": fills,
    }


def _trail(o: Mapping[str, object]) -> Trail:
    return {
        "amount": num(decimal(o.get("trail_price"))),
        "percent": num(decimal(o.get("trail_percent"))),
        "high_water_mark": num(decimal(o.get("hwm"))),
    }


def order_payload(o: AlpacaOrder, fills: list[Fill], *, group: Group | None = None) -> Order:
    """One Alpaca order as the contract's order, this process's fill rows on its first leg.

    `group`: the linked order it is a member of (Alpaca's children do not name their
    parent, so the caller knows it from the nesting: `linked_members`). A multi-leg
    order's `legs` are its option legs; a linked parent's `legs` are member orders and
    are not read here."""
    order_type = _order_type(o)
    raw_tif = o.get("time_in_force")
    time_in_force = TIMES_IN_FORCE.get(raw_tif, UNSUPPORTED) if raw_tif is not None else None
    raw_class = o.get("order_class") or ""
    order_class = ORDER_CLASSES.get(raw_class, UNSUPPORTED)
    unknown: Unsupported | None = None
    if order_type == UNSUPPORTED:
        unknown = unsupported("order_type", _broker_type(o), o)
    elif order_class == UNSUPPORTED:
        unknown = unsupported("order_class", raw_class, o)
    elif time_in_force == UNSUPPORTED:
        unknown = unsupported("time_in_force", raw_tif, o)
    side = o.get("side") or None
    raw_legs = o.get("legs")
    if order_class == "multileg" and isinstance(raw_legs, list) and raw_legs:
        # the top-level symbol, side and asset class arrive as "": the legs say them
        option_legs = [leg for leg in raw_legs if isinstance(leg, dict)]
        legs = [
            _leg(
                leg,
                str(leg.get("symbol") or ""),
                leg.get("asset_class"),
                leg.get("side"),
                list(fills) if index == 0 else [],
            )
            for index, leg in enumerate(option_legs)
        ]
    else:
        symbol = str(o.get("symbol") or "")
        legs = [_leg(o, symbol, o.get("asset_class"), side, list(fills))]
    first_symbol = legs[0]["symbol"] if legs else ""
    parts = occ_parts(first_symbol)
    limit = decimal(o.get("limit_price"))
    effect: str | None = None
    if limit and side:
        effect = "Debit" if side == "buy" else "Credit"
    elif limit and order_class == "multileg":
        # an mleg order has no side: its net limit is signed, a debit positive and a credit
        # negative (alpacahq/alpaca-mcp-server src/alpaca_mcp_server/overrides.py,
        # place_option_order); the contract's price is unsigned
        effect, limit = ("Debit" if limit > 0 else "Credit"), abs(limit)
    return {
        "id": str(o.get("id")),
        "status": o.get("status"),
        "order_type": order_type,
        "broker_type": _broker_type(o),
        "time_in_force": time_in_force,
        "good_till": None,
        "extended_hours": o.get("extended_hours") is True,
        "price": num(limit),
        "price_effect": effect,
        "stop_price": num(decimal(o.get("stop_price"))),
        "trail": _trail(o) if order_type == "Trailing Stop" else None,
        "notional": num(decimal(o.get("notional"))),
        "order_class": order_class,
        "group": group,
        "underlying": parts[0] if parts else first_symbol,
        "legs": legs,
        "received_at": time_ms(o.get("submitted_at") or o.get("created_at")),
        "updated_at": time_ms(o.get("updated_at")),
        "unsupported": unknown,
    }


def linked_members(o: AlpacaOrder) -> list[tuple[AlpacaOrder, Group]]:
    """A linked order (bracket, OCO, OTO) read with `nested=true` as its member orders
    with the group they share: the parent first, then each child (`legs`). Empty for any
    other order, and for a member listed alone (Alpaca's children do not name their
    parent: only the nesting links them, so the caller remembers it).

    The parent of a bracket or OTO is the entry (`trigger`); an OCO's parent is its
    take-profit. Each child's role is told by its type."""
    order_class = o.get("order_class") or ""
    children = [c for c in o.get("legs") or () if isinstance(c, dict) and c.get("id")]
    if order_class not in LINKED or not children:
        return []
    parent_role: Role = (
        "trigger" if order_class in ("bracket", "oto") else exit_role(_order_type(o))
    )
    members = [(o, linked_group(o["id"], order_class, parent_role))]
    members += [
        (c, linked_group(o["id"], order_class, exit_role(_order_type(c)))) for c in children
    ]
    return members
