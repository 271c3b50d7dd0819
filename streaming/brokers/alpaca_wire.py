"""Alpaca's Broker API rows → the contract (docs/streaming-contract.md): trading account
balances, positions and orders (with the fill rows the adapter synthesized)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from streaming.brokers.symbols import occ_parts, option_expiry_ms, streamer_symbol_for
from streaming.brokers.values import decimal, now_ms, num, time_ms


def balance_payload(a: dict[str, Any]) -> dict[str, Any]:
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


def position_payload(p: dict[str, Any]) -> dict[str, Any]:
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
        "underlying": parts[0] if parts else symbol,
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


def _instrument(symbol: str, asset_class: Any) -> str:
    if asset_class == "us_option" or occ_parts(symbol) is not None:
        return "Equity Option"
    return "Equity"


def order_payload(o: dict[str, Any], fills: list[dict[str, Any]]) -> dict[str, Any]:
    """An Alpaca order as the contract's order; this process's fill rows on the first leg."""
    qty = decimal(o.get("qty")) or Decimal(0)
    filled = decimal(o.get("filled_qty")) or Decimal(0)
    symbol = str(o.get("symbol") or "")
    side = o.get("side")
    limit = decimal(o.get("limit_price"))
    raw_legs = o.get("legs") if isinstance(o.get("legs"), list) and o.get("legs") else None
    if raw_legs:
        legs = []
        for index, leg in enumerate(raw_legs):
            leg_qty = decimal(leg.get("qty")) or Decimal(0)
            leg_filled = decimal(leg.get("filled_qty")) or Decimal(0)
            leg_symbol = str(leg.get("symbol", ""))
            legs.append(
                {
                    "symbol": leg_symbol,
                    "instrument_type": _instrument(leg_symbol, leg.get("asset_class")),
                    "action": leg.get("side"),
                    "quantity": num(leg_qty),
                    "remaining_quantity": num(leg_qty - leg_filled),
                    "fills": list(fills) if index == 0 else [],
                }
            )
        first_symbol = str(raw_legs[0].get("symbol", ""))
    else:
        legs = [
            {
                "symbol": symbol,
                "instrument_type": _instrument(symbol, o.get("asset_class")),
                "action": side,
                "quantity": num(qty),
                "remaining_quantity": num(max(qty - filled, Decimal(0))),
                "fills": list(fills),
            }
        ]
        first_symbol = symbol
    parts = occ_parts(first_symbol)
    return {
        "id": str(o.get("id")),
        "status": o.get("status"),
        "order_type": o.get("order_type") or o.get("type"),
        "time_in_force": o.get("time_in_force"),
        "price": num(limit),
        "price_effect": ("Debit" if side == "buy" else "Credit") if limit and side else None,
        "underlying": parts[0] if parts else first_symbol,
        "legs": legs,
        "received_at": time_ms(o.get("submitted_at") or o.get("created_at")),
        "updated_at": time_ms(o.get("updated_at")),
    }
