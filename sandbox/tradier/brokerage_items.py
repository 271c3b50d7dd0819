"""Tradier's account objects from the brokerage's records (accounts, balances, positions,
orders) and Tradier's order form as the brokerage's `OrderRequest`."""

from __future__ import annotations

import hashlib
from typing import Any

from sandbox.core.records import (
    AccountRecord,
    LegRecord,
    LegRequest,
    OrderRecord,
    OrderRejected,
    OrderRequest,
    PositionRecord,
    parse_decimal,
)
from sandbox.core.simulation import Simulation
from sandbox.core.symbols import parse_occ_symbol
from sandbox.tradier.multileg import combo_request, multileg_request, multileg_type
from sandbox.tradier.wire import (
    EQUITY_SIDE,
    ORDER_STATUS,
    ORDER_TYPES,
    SIDE_ACTION,
    TYPE_NAMES,
    iso_at,
    occ_symbol,
    p4,
    stop_price,
    time_in_force,
)

__all__ = ["BrokerageItems"]


class BrokerageItems:
    """The brokerage half of `TradierSandbox` (see `api.py`)."""

    sandbox: Simulation

    def account_item(self, account: AccountRecord) -> dict[str, Any]:
        margin = account.margin
        opened = iso_at(account.opened_at)
        return {
            "account_number": account.number,
            "classification": "individual" if margin else "ira",
            "date_created": opened,
            "day_trader": False,
            "option_level": 6 if margin else 2,
            "status": "active",
            "type": "margin" if margin else "cash",
            "last_update_date": opened,
        }

    def balances_item(self, number: str) -> dict[str, Any]:
        brokerage = self.sandbox.brokerage
        b = brokerage.balance(number)
        account = brokerage.account(number)
        margin = account is not None and account.margin
        long_eq, short_eq = float(b.long_equity_value), float(b.short_equity_value)
        long_opt, short_opt = float(b.long_derivative_value), float(b.short_derivative_value)
        open_pl = 0.0
        for p in brokerage.positions(number):
            mark = p.mark_price if p.mark_price is not None else p.close_price
            open_pl += (p4(mark) - p4(p.average_open_price)) * float(p.quantity) * p.multiplier
        working = [o for o in brokerage.live_orders(number) if o.working]
        item: dict[str, Any] = {
            "option_short_value": -short_opt,
            "total_equity": float(b.net_liquidating_value),
            "account_number": number,
            "account_type": "margin" if margin else "cash",
            "close_pl": 0.0,
            "current_requirement": float(b.maintenance_requirement),
            "equity": 0,
            "long_market_value": round(long_eq + long_opt, 2),
            "market_value": round(long_eq + long_opt - short_eq - short_opt, 2),
            "open_pl": round(open_pl, 2),
            "option_long_value": long_opt,
            "option_requirement": float(b.used_derivative_buying_power),
            "pending_orders_count": len(working),
            "short_market_value": -round(short_eq + short_opt, 2),
            "stock_long_value": long_eq,
            "total_cash": float(b.cash_balance),
            "uncleared_funds": 0,
            "pending_cash": 0.0,
        }
        if margin:
            item["margin"] = {
                "fed_call": 0,
                "maintenance_call": float(b.maintenance_call_value),
                "option_buying_power": float(b.derivative_buying_power),
                "stock_buying_power": float(b.equity_buying_power),
                "stock_short_value": -short_eq,
                "sweep": 0,
            }
        else:
            item["cash"] = {
                "cash_available": float(b.cash_available_to_withdraw),
                "sweep": 0,
                "unsettled_funds": 0,
            }
        return item

    def position_items(self, number: str) -> list[dict[str, Any]]:
        return [self.position_item(number, p) for p in self.sandbox.brokerage.positions(number)]

    def position_item(self, number: str, p: PositionRecord) -> dict[str, Any]:
        qty = float(p.quantity)
        option = parse_occ_symbol(p.symbol)
        symbol = occ_symbol(option) if option else p.symbol
        digest = hashlib.sha256(f"{number}|{symbol}".encode()).digest()
        return {
            "cost_basis": round(p4(p.average_open_price) * qty * p.multiplier, 2),
            "date_acquired": iso_at(p.created_at),
            "id": int.from_bytes(digest[:3], "big"),
            "quantity": qty,
            "symbol": symbol,
        }

    def order_item(self, order: OrderRecord, include_tag: bool = False) -> dict[str, Any]:
        """Tradier's order object; `tag` only when asked for (`includeTags=true`) and set."""
        legs = [self._leg_item(order, leg) for leg in order.legs]
        item: dict[str, Any] = {
            "id": order.id,
            "type": TYPE_NAMES.get(order.order_type, order.order_type.lower()),
            "symbol": order.underlying_symbol,
            "duration": "gtc" if order.time_in_force.startswith("GTC") else "day",
            "price": p4(abs(order.price)) if order.price is not None else None,
            "create_date": iso_at(order.received_at),
            "transaction_date": iso_at(order.updated_at),
        }
        if order.stop_trigger is not None:  # a stop or stop_limit order's trigger
            item["stop_price"] = p4(order.stop_trigger)
        if include_tag and order.client_order_id:
            item["tag"] = order.client_order_id
        if len(legs) == 1:
            leg = legs[0]
            item.update({k: v for k, v in leg.items() if k != "id"})
            item["status"] = self._status(order, [leg])
            if leg["class"] == "equity":
                item.pop("option_symbol", None)
        else:
            kind = multileg_type(order)
            for leg in legs:  # each leg carries the order's terms, as Tradier's do
                leg.update(
                    status=self._status(order, [leg]),
                    type=kind,
                    duration=item["duration"],
                    price=item["price"],
                    create_date=item["create_date"],
                    transaction_date=item["transaction_date"],
                )
                if leg["price"] is None:
                    leg.pop("price")
                if leg["class"] == "equity":  # a combo's shares
                    leg.pop("option_symbol", None)
            item.update(
                {
                    "type": kind,
                    # shares with options on them: a combo (place-combo-order)
                    "class": "combo" if any(g["class"] == "equity" for g in legs) else "multileg",
                    "status": self._status(order, legs),
                    "quantity": sum(leg["quantity"] for leg in legs),
                    "exec_quantity": sum(leg["exec_quantity"] for leg in legs),
                    "remaining_quantity": sum(leg["remaining_quantity"] for leg in legs),
                    "num_legs": len(legs),
                    "leg": legs,
                }
            )
        if item["price"] is None:
            item.pop("price")
        return item

    @staticmethod
    def _status(order: OrderRecord, legs: list[dict[str, Any]]) -> str:
        status = ORDER_STATUS.get(order.status, "open")
        if status == "open" and any(leg["exec_quantity"] for leg in legs):
            return "partially_filled"
        return status

    def _leg_item(self, order: OrderRecord, leg: LegRecord) -> dict[str, Any]:
        fills = leg.fills
        executed = sum(float(f.quantity) for f in fills)
        paid = sum(float(f.quantity) * p4(f.price) for f in fills)
        option = parse_occ_symbol(leg.symbol)
        action = leg.action
        side = action.lower().replace(" ", "_") if option else EQUITY_SIDE.get(action, "buy")
        digest = hashlib.sha256(f"{order.id}|{leg.symbol}".encode()).digest()
        return {
            "id": int.from_bytes(digest[:3], "big"),
            "class": "option" if option else "equity",
            "symbol": option.underlying if option else leg.symbol,
            "option_symbol": occ_symbol(option) if option else None,
            "side": side,
            "quantity": float(leg.quantity),
            "status": ORDER_STATUS.get(order.status, "open"),
            "avg_fill_price": round(paid / executed, 4) if executed else 0.0,
            "exec_quantity": executed,
            "last_fill_price": p4(fills[-1].price) if fills else 0.0,
            "last_fill_quantity": float(fills[-1].quantity) if fills else 0.0,
            "remaining_quantity": float(leg.remaining_quantity),
        }

    def order_request(self, form: dict[str, str]) -> OrderRequest:
        """Tradier's order form as the brokerage's order request: `type` market, limit,
        stop or stop_limit; `price` for limit and stop_limit, `stop` for stop and
        stop_limit (docs.tradier.com, place-equity-order / place-option-order)."""
        order_class = form.get("class", "equity")
        if order_class == "multileg":
            if (form.get("stop") or "").strip():
                raise OrderRejected(
                    "invalid_stop",
                    f"Invalid stop {form['stop'].strip()}: a multileg order takes none "
                    "(stop and stop_limit orders are class equity or option)",
                )
            return multileg_request(form)
        if order_class == "combo":
            return combo_request(form)
        side = form.get("side", "")
        if order_class not in ("equity", "option"):
            raise OrderRejected("invalid_class", f"Unsupported order class {order_class!r}.")
        if side not in SIDE_ACTION:
            raise OrderRejected("invalid_side", f"Unsupported side {side!r}.")
        if order_class == "option":
            option = parse_occ_symbol(form.get("option_symbol", ""))
            if option is None:
                raise OrderRejected("invalid_symbol", "option_symbol is not an OCC symbol.")
            symbol, instrument = option.occ_symbol, "Equity Option"
        else:
            symbol, instrument = form.get("symbol", "").upper(), "Equity"
        if not symbol.strip():
            raise OrderRejected("invalid_symbol", "Each leg needs a symbol.")
        order_type = form.get("type", "market")
        if order_type not in ORDER_TYPES:
            raise OrderRejected("invalid_type", f"Unsupported order type {order_type!r}.")
        quantity = parse_decimal(form.get("quantity", ""))
        if quantity is None:
            raise OrderRejected("invalid_quantity", f"Bad quantity {form.get('quantity', '')!r}.")
        stop = stop_price(form.get("stop"), order_type)
        price = None
        limited = order_type in ("limit", "stop_limit")
        if limited and form.get("price") is not None:
            price = parse_decimal(form.get("price"))
            if price is None:
                raise OrderRejected("invalid_price", f"Bad price {form.get('price')!r}.")
        if order_type == "stop_limit" and price is None:
            raise OrderRejected("price_required", "A stop_limit order needs a price: send price")
        return OrderRequest(
            order_type=ORDER_TYPES[order_type],
            legs=(
                LegRequest(
                    symbol=symbol,
                    action=SIDE_ACTION[side],
                    quantity=quantity,
                    instrument_type=instrument,
                ),
            ),
            time_in_force=time_in_force(form.get("duration", "").strip() or None),
            price=price,
            price_effect=("Debit" if side.startswith("buy") else "Credit") if limited else None,
            client_order_id=form.get("tag") or None,
            stop_trigger=stop,
        )
