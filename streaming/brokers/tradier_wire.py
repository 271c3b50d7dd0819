"""Tradier's wire format → the contract (docs/streaming-contract.md): balances,
positions, orders (fills synthesized by `tradier_fills.FillBook`), stream quotes, chain
greeks and history bars."""

from __future__ import annotations

import datetime as dt
from typing import Any

from streaming.brokers.bars import candle, date_ms
from streaming.brokers.symbols import NEW_YORK, occ_parts, occ_to_streamer_symbol, option_expiry_ms
from streaming.brokers.tradier_client import as_list
from streaming.brokers.tradier_fills import FillBook
from streaming.brokers.values import now_ms, num, time_ms


def balance_payload(b: dict[str, Any]) -> dict[str, Any]:
    """Tradier balances → the contract's balance (short values as positive amounts)."""
    margin = b.get("margin") if isinstance(b.get("margin"), dict) else None
    cash = b.get("cash") if isinstance(b.get("cash"), dict) else None
    pdt = b.get("pdt") if isinstance(b.get("pdt"), dict) else None
    nested = margin or pdt or {}
    stock_bp = num(nested.get("stock_buying_power")) if nested else None
    option_bp = num(nested.get("option_buying_power")) if nested else None
    if stock_bp is None and cash is not None:
        stock_bp = option_bp = num(cash.get("cash_available"))

    def magnitude(key: str) -> float | int | None:
        value = num(b.get(key))
        return abs(value) if value is not None else None

    return {
        "net_liquidating_value": num(b.get("total_equity")),
        "buying_power": stock_bp,
        "equity_buying_power": stock_bp,
        "derivative_buying_power": option_bp,
        "day_trading_buying_power": num(pdt.get("day_trade_buying_power")) if pdt else None,
        "cash": num(b.get("total_cash")),
        "cash_available_to_withdraw": num(cash.get("cash_available")) if cash else None,
        "maintenance_requirement": num(b.get("current_requirement")),
        "long_equity_value": num(b.get("stock_long_value")),
        "short_equity_value": abs(num(nested.get("stock_short_value")) or 0)
        if nested.get("stock_short_value") is not None
        else None,
        "long_derivative_value": num(b.get("option_long_value")),
        "short_derivative_value": magnitude("option_short_value"),
        "pending_cash": num(b.get("pending_cash")),
        "updated_at": now_ms(),
    }


def position_payload(p: dict[str, Any], quote: dict[str, Any] | None) -> dict[str, Any]:
    """A Tradier position (signed quantity, total cost basis) → the contract's position."""
    symbol = str(p.get("symbol", ""))
    streamer = occ_to_streamer_symbol(symbol)
    option = streamer is not None
    multiplier = 100 if option else 1
    signed = num(p.get("quantity")) or 0
    qty = abs(signed)
    cost = num(p.get("cost_basis"))
    average = abs(cost / signed / multiplier) if cost is not None and signed else None
    parts = occ_parts(symbol) if option else None
    mark = None
    close = None
    if quote:
        bid, ask = num(quote.get("bid")), num(quote.get("ask"))
        mark = round((bid + ask) / 2, 4) if bid is not None and ask is not None else None
        close = num(quote.get("prevclose"))
    return {
        "symbol": symbol,
        "streamer_symbol": streamer or symbol,
        "underlying": parts[0] if parts else symbol,
        "instrument_type": "Equity Option" if option else "Equity",
        "quantity": qty,
        "direction": "Zero" if not signed else ("Long" if signed > 0 else "Short"),
        "average_open_price": round(average, 6) if average is not None else None,
        "close_price": close,
        "mark_price": mark,
        "multiplier": multiplier,
        "cost_effect": None if not signed else ("Debit" if signed > 0 else "Credit"),
        "realized_day_gain": None,
        "expires_at": option_expiry_ms(symbol) if option else None,
    }


def order_payload(o: dict[str, Any], book: FillBook) -> dict[str, Any]:
    """A Tradier order (single-leg or multileg) → the contract's order, fills synthesized."""
    order_id = o.get("id")
    at = time_ms(o.get("transaction_date"))
    rows = [r for r in as_list(o.get("leg")) if isinstance(r, dict)]
    if o.get("class") != "multileg" or not rows:
        rows = [o]
    keyed = {
        (f"{order_id}" if len(rows) == 1 else f"{order_id}:{row.get('id', index)}"): row
        for index, row in enumerate(rows)
    }
    book.observe(str(order_id), o, keyed)
    legs = []
    for key, row in keyed.items():
        option_symbol = row.get("option_symbol")
        legs.append(
            {
                "symbol": option_symbol or row.get("symbol"),
                "instrument_type": "Equity Option" if option_symbol else "Equity",
                "action": row.get("side"),
                "quantity": num(row.get("quantity")),
                "remaining_quantity": num(row.get("remaining_quantity")),
                "fills": book.update(key, row, at),
            }
        )
    order_type = o.get("type")
    side = str(o.get("side") or "")
    if order_type in ("debit", "credit"):
        effect: str | None = order_type.capitalize()
    elif side:
        effect = "Debit" if side.startswith("buy") else "Credit"
    else:
        effect = None
    price = num(o.get("price"))
    return {
        "id": order_id,
        "status": o.get("status"),
        "order_type": order_type,
        "time_in_force": o.get("duration"),
        "price": abs(price) if price is not None else None,
        "price_effect": effect if price is not None else None,
        "underlying": o.get("symbol"),
        "legs": legs,
        "received_at": time_ms(o.get("create_date")),
        "updated_at": at,
    }


def quote_fields(event: dict[str, Any], prev_close: float | None) -> dict[str, Any] | None:
    """One stream payload → contract quote fields (only what that payload carries)."""
    kind = event.get("type")
    if kind == "quote":
        fields = {
            "bid": num(event.get("bid")),
            "ask": num(event.get("ask")),
            "bid_size": num(event.get("bidsz")),
            "ask_size": num(event.get("asksz")),
        }
        times = [t for t in (time_ms(event.get("biddate")), time_ms(event.get("askdate"))) if t]
    elif kind in ("trade", "tradex"):
        last = num(event.get("last", event.get("price")))
        fields = {"last": last, "volume": num(event.get("cvol"))}
        if last is not None and prev_close is not None:
            fields["change"] = round(last - prev_close, 4)
        times = [t for t in (time_ms(event.get("date")),) if t]
    elif kind == "summary":
        fields = {
            "day_high": num(event.get("high")),
            "day_low": num(event.get("low")),
            "prev_close": num(event.get("prevClose")),
        }
        times = []
    elif kind == "timesale":
        fields = {
            "bid": num(event.get("bid")),
            "ask": num(event.get("ask")),
            "last": num(event.get("last")),
        }
        times = [t for t in (time_ms(event.get("date")),) if t]
    else:
        return None
    if times:
        fields["t"] = max(times)
    return fields


def greeks_fields(row: dict[str, Any]) -> dict[str, Any] | None:
    """A chain row's greeks → contract greeks; `iv` falls back to smv_vol if mid_iv is 0."""
    g = row.get("greeks")
    if not isinstance(g, dict):
        return None
    iv = num(g.get("mid_iv")) or num(g.get("smv_vol"))
    bid, ask = num(row.get("bid")), num(row.get("ask"))
    price = round((bid + ask) / 2, 4) if bid is not None and ask is not None else None
    fields = {
        "price": price if price is not None else num(row.get("last")),
        "iv": iv,
        "delta": num(g.get("delta")),
        "gamma": num(g.get("gamma")),
        "theta": num(g.get("theta")),
        "vega": num(g.get("vega")),
        "rho": num(g.get("rho")),
    }
    updated = time_ms(g.get("updated_at"), zone=NEW_YORK)  # `2025-01-02 15:00:00`, New York
    if updated is not None:
        fields["t"] = updated
    return fields


def timesale_candle(row: dict[str, Any]) -> dict[str, Any] | None:
    stamp = num(row.get("timestamp"))
    if stamp is None:
        return None
    t = int(stamp) * 1000
    return candle(
        t, row.get("open"), row.get("high"), row.get("low"), row.get("close"), row.get("volume")
    )


def day_candle(row: dict[str, Any]) -> dict[str, Any] | None:
    try:
        day = dt.date.fromisoformat(str(row.get("date")))
    except ValueError:
        return None
    return candle(
        date_ms(day),
        row.get("open"),
        row.get("high"),
        row.get("low"),
        row.get("close"),
        row.get("volume"),
    )
