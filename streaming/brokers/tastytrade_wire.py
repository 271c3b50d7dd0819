"""tastytrade's SDK models in the contract's shapes (docs/streaming-contract.md).

The account streamer's and REST's balances, positions and orders, and DXLink's quote,
trade, summary and greeks events, as the normalized payloads every adapter emits. Broker
values are kept as they came: Decimals become JSON numbers, a missing value is None (null),
never 0; order statuses are already the contract's vocabulary (tastytrade's).
"""

from __future__ import annotations

from typing import Any

from tastytrade.account import AccountBalance, CurrentPosition
from tastytrade.dxfeed import Greeks, Quote, Summary, Trade
from tastytrade.order import PlacedOrder

from streaming.brokers.symbols import streamer_symbol_for
from streaming.brokers.values import num, time_ms


def balance_payload(b: AccountBalance) -> dict[str, Any]:
    return {
        "net_liquidating_value": num(b.net_liquidating_value),
        "buying_power": num(b.equity_buying_power),
        "equity_buying_power": num(b.equity_buying_power),
        "derivative_buying_power": num(b.derivative_buying_power),
        "day_trading_buying_power": num(b.day_trading_buying_power),
        "cash": num(b.cash_balance),
        "cash_available_to_withdraw": num(b.cash_available_to_withdraw),
        "maintenance_requirement": num(b.maintenance_requirement),
        "long_equity_value": num(b.long_equity_value),
        "short_equity_value": num(b.short_equity_value),
        "long_derivative_value": num(b.long_derivative_value),
        "short_derivative_value": num(b.short_derivative_value),
        "pending_cash": num(b.pending_cash),
        "updated_at": time_ms(b.updated_at),
    }


def position_payload(p: CurrentPosition) -> dict[str, Any]:
    streamer_symbol = getattr(p, "streamer_symbol", None) or streamer_symbol_for(
        p.symbol, str(p.instrument_type.value)
    )
    return {
        "symbol": p.symbol,
        "streamer_symbol": streamer_symbol,
        "underlying": p.underlying_symbol,
        "instrument_type": p.instrument_type.value,
        "quantity": num(p.quantity),
        "direction": p.quantity_direction,
        "average_open_price": num(p.average_open_price),
        "close_price": num(p.close_price),
        "mark_price": num(p.mark_price),
        "multiplier": num(p.multiplier),
        "cost_effect": p.cost_effect,
        "realized_day_gain": num(p.realized_day_gain),
        "expires_at": time_ms(p.expires_at),
    }


def order_payload(o: PlacedOrder) -> dict[str, Any]:
    return {
        "id": o.id,
        "status": o.status.value,
        "order_type": o.order_type.value,
        "time_in_force": o.time_in_force.value,
        "price": num(abs(o.price)) if o.price is not None else None,
        "price_effect": ("Debit" if o.price < 0 else "Credit") if o.price else None,
        "underlying": o.underlying_symbol,
        "legs": [
            {
                "symbol": leg.symbol,
                "instrument_type": leg.instrument_type.value,
                "action": leg.action.value,
                "quantity": num(leg.quantity),
                "remaining_quantity": num(leg.remaining_quantity),
                "fills": [
                    {
                        "id": f.fill_id,
                        "quantity": num(f.quantity),
                        "price": num(f.fill_price),
                        "at": time_ms(f.filled_at),
                    }
                    for f in leg.fills or []
                ],
            }
            for leg in o.legs
        ],
        "received_at": time_ms(o.received_at),
        "updated_at": time_ms(o.updated_at),
    }


def _event_time(*times: int | None) -> dict[str, int]:
    """`t` is the broker's own event time when it sent one (data age and latency are
    measured from the source); otherwise the manager stamps the receipt time."""
    newest = max((t for t in times if t), default=0)
    return {"t": newest} if newest > 0 else {}


def quote_fields(q: Quote) -> dict[str, Any]:
    return {
        "bid": num(q.bid_price),
        "ask": num(q.ask_price),
        "bid_size": num(q.bid_size),
        "ask_size": num(q.ask_size),
        **_event_time(q.bid_time, q.ask_time),
    }


def trade_fields(t: Trade) -> dict[str, Any]:
    return {
        "last": num(t.price),
        "change": num(t.change),
        "volume": num(t.day_volume),
        **_event_time(t.time),
    }


def summary_fields(s: Summary) -> dict[str, Any]:
    return {
        "day_high": num(s.day_high_price),
        "day_low": num(s.day_low_price),
        "prev_close": num(s.prev_day_close_price),
    }


def greeks_fields(g: Greeks) -> dict[str, Any]:
    return {
        **_event_time(g.time),
        "price": num(g.price),
        "iv": num(g.volatility),
        "delta": num(g.delta),
        "gamma": num(g.gamma),
        "theta": num(g.theta),
        "vega": num(g.vega),
        "rho": num(g.rho),
    }
