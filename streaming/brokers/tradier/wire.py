"""Tradier's wire format → the contract (docs/streaming-contract.md): balances,
positions, orders (fills synthesized by `fills.FillBook`), stream quotes, chain
greeks and history bars."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, Literal, cast

from streaming.brokers.bars import candle, date_ms
from streaming.brokers.orders.shape import (
    EXTENDED,
    UNSUPPORTED,
    Fill,
    Leg,
    Order,
    Role,
    Unsupported,
    exit_role,
    group,
    unsupported,
)
from streaming.brokers.payloads import Balance, GreeksFields, Position, QuoteFields
from streaming.brokers.tradier.client import as_list
from streaming.brokers.tradier.fills import FillBook
from streaming.brokers.tradier.payloads import TradierBalances, TradierMarginBalances, TradierOrder
from streaming.brokers.values import decimal, now_ms, num, order_status, time_ms
from streaming.instruments.symbols import (
    NEW_YORK,
    occ_parts,
    occ_to_streamer_symbol,
    option_expiry_ms,
)


def balance_payload(b: TradierBalances) -> Balance:
    """Tradier balances → the contract's balance (short values as positive amounts)."""
    margin = b.get("margin") if isinstance(b.get("margin"), dict) else None
    cash = b.get("cash") if isinstance(b.get("cash"), dict) else None
    pdt = b.get("pdt") if isinstance(b.get("pdt"), dict) else None
    nested: TradierMarginBalances = margin or pdt or {}
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


def position_payload(p: Mapping[str, object], quote: Mapping[str, object] | None) -> Position:
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


#: Tradier's single-order types in the contract's names.
ORDER_TYPES = {"market": "Market", "limit": "Limit", "stop": "Stop", "stop_limit": "Stop Limit"}
#: Tradier's net-price types of a multileg or combo order: a limit that pays (debit),
#: receives (credit) or neither (even, at price 0).
NET_PRICE_EFFECTS = {"debit": "Debit", "credit": "Credit", "even": None}
TYPE_NAMES = {**ORDER_TYPES, **dict.fromkeys(NET_PRICE_EFFECTS, "Limit")}
#: A single order's price effect, from the first word of its side (buy_to_open: buy).
SIDE_EFFECTS = {"buy": "Debit", "sell": "Credit"}
DURATIONS = {"day": "Day", "gtc": "GTC", "pre": "Pre", "post": "Post"}
#: One order, one leg: the row is its own leg.
SIMPLE_CLASSES = frozenset({"equity", "option"})
#: One order whose `leg` rows are its legs (shares and options in a combo).
LEGGED_CLASSES = frozenset({"multileg", "combo"})
#: Linked orders: each `leg` row is a whole order of its own.
LINKED_CLASSES = frozenset({"oto", "oco", "otoco"})
#: Fields a linked order's member may leave to its parent (the form's one duration).
SharedField = Literal["symbol", "duration", "create_date", "transaction_date"]
SHARED_FIELDS: tuple[SharedField, ...] = ("symbol", "duration", "create_date", "transaction_date")


def order_payloads(o: TradierOrder, book: FillBook) -> list[Order]:
    """A Tradier order → the contract's orders, fills synthesized: one order, or one per
    member of a linked order (oto, oco, otoco), each with its own id, type, prices and
    status, all grouped under the parent's id."""
    order_class = text(o.get("class"))
    if order_class not in LINKED_CLASSES:
        return [_order(o, book, order_class)]
    # the edge: the `leg` rows' JSON objects as the member orders they are
    members = [cast(TradierOrder, m) for m in as_list(o.get("leg")) if isinstance(m, dict)] or [o]
    orders = []
    for index, member in enumerate(members):
        # each member is read from its own fields (an OCO's parent leaves its own empty),
        # the parent's only for a shared field the member lacks
        merged: TradierOrder = {**member}
        for key in SHARED_FIELDS:
            if text(member.get(key)) is None:
                merged[key] = o.get(key)
        payload = _order(merged, book, order_class)
        trigger = index == 0 and order_class in ("oto", "otoco")
        role: Role = "trigger" if trigger else exit_role(payload["order_type"])
        payload["group"] = group(o.get("id"), order_class, role)
        orders.append(payload)
    return orders


def _order(o: TradierOrder, book: FillBook, order_class: str | None) -> Order:
    """One Tradier order (one leg, or legs in `leg` rows) → one contract order."""
    order_id = o.get("id")
    at = time_ms(o.get("transaction_date"))
    # the edge: the `leg` rows' JSON objects as the legs they are
    rows = [cast(TradierOrder, r) for r in as_list(o.get("leg")) if isinstance(r, dict)]
    keyed: dict[str, TradierOrder]
    if order_class in SIMPLE_CLASSES or order_class in LINKED_CLASSES or not rows:
        keyed = {str(order_id): o}
    else:
        keyed = {f"{order_id}:{row.get('id', index)}": row for index, row in enumerate(rows)}
    book.observe(str(order_id), o, keyed)
    legs = [_leg(row, book.update(key, row, at)) for key, row in keyed.items()]

    raw_type, raw_duration = text(o.get("type")), text(o.get("duration"))
    kept: Unsupported | None = None
    if order_class is None or order_class in SIMPLE_CLASSES:
        contract_class = "simple"
    elif order_class in LEGGED_CLASSES or order_class in LINKED_CLASSES:
        contract_class = order_class
    else:
        contract_class, kept = UNSUPPORTED, unsupported("order_class", order_class, o)
    order_type = _known(raw_type, TYPE_NAMES)
    if order_type == UNSUPPORTED:
        kept = kept or unsupported("order_type", raw_type, o)
    time_in_force = _known(raw_duration, DURATIONS)
    if time_in_force == UNSUPPORTED:
        kept = kept or unsupported("time_in_force", raw_duration, o)

    price = None if order_type in ("Market", "Stop") else num(o.get("price"))
    if raw_type in NET_PRICE_EFFECTS:
        effect = NET_PRICE_EFFECTS[raw_type]
        price = 0 if raw_type == "even" else price
    else:
        effect = SIDE_EFFECTS.get(str(o.get("side")).split("_")[0])
    stop = o.get("stop_price") if text(o.get("stop_price")) is not None else o.get("stop")
    return {
        "id": order_id,
        "status": order_status(text(o.get("status"))),
        "order_type": order_type,
        "broker_type": raw_type,
        "time_in_force": time_in_force,
        "good_till": None,
        "extended_hours": time_in_force in EXTENDED,
        "price": abs(price) if price is not None else None,
        "price_effect": effect if price is not None else None,
        "stop_price": num(stop),
        "trail": None,
        "notional": None,
        "order_class": contract_class,
        "group": None,
        "underlying": text(o.get("symbol")),
        "legs": legs,
        "received_at": time_ms(o.get("create_date")),
        "updated_at": at,
        "unsupported": kept,
    }


def _leg(row: TradierOrder, fills: list[Fill]) -> Leg:
    option_symbol = text(row.get("option_symbol"))
    return {
        "symbol": option_symbol or text(row.get("symbol")) or "",
        "instrument_type": "Equity Option" if option_symbol else "Equity",
        "action": text(row.get("side")),
        "quantity": num(decimal(row.get("quantity"))),
        "remaining_quantity": num(decimal(row.get("remaining_quantity"))),
        "fills": [
            {"id": f["id"], "quantity": f["quantity"], "price": f["price"], "at": f["at"]}
            for f in fills
        ],
    }


def _known(raw: str | None, names: dict[str, str]) -> str | None:
    """A Tradier name in the contract's words: None when absent, Unsupported when unknown."""
    if raw is None:
        return None
    return names.get(raw, UNSUPPORTED)


def text(value: Any) -> str | None:
    """A Tradier string field, None when absent (Tradier writes an empty one as "null")."""
    if value is None or value in ("", "null"):
        return None
    return str(value)


def quote_fields(event: Mapping[str, object], prev_close: float | None) -> QuoteFields | None:
    """One stream payload → contract quote fields (only what that payload carries)."""
    kind = event.get("type")
    fields: QuoteFields
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


def greeks_fields(row: Mapping[str, object]) -> GreeksFields | None:
    """A chain row's greeks → contract greeks; `iv` falls back to smv_vol if mid_iv is 0."""
    g = row.get("greeks")
    if not isinstance(g, dict):
        return None
    iv = num(g.get("mid_iv")) or num(g.get("smv_vol"))
    bid, ask = num(row.get("bid")), num(row.get("ask"))
    price = round((bid + ask) / 2, 4) if bid is not None and ask is not None else None
    fields: GreeksFields = {
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


def timesale_candle(row: Mapping[str, object]) -> dict[str, Any] | None:
    stamp = num(row.get("timestamp"))
    if stamp is None:
        return None
    t = int(stamp) * 1000
    return candle(
        t, row.get("open"), row.get("high"), row.get("low"), row.get("close"), row.get("volume")
    )


def day_candle(row: Mapping[str, object]) -> dict[str, Any] | None:
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
