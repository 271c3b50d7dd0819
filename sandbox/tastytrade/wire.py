"""tastytrade wire-format builders for the sandbox brokerage.

The sandbox's REST routes and account streamer hand these dicts to the real, unmodified
`tastytrade` SDK, whose pydantic models are strict: one push that fails validation kills the
client's account stream. So every builder here emits exactly what the SDK models require
(kebab-case keys, decimals as strings, ISO-8601 datetimes with milliseconds and `+00:00`), and
follows the API's sign convention: amounts are never negative on the wire, an `X-effect` of
`"Debit"` makes the SDK negate `X`, `"Credit"` keeps it positive, and `"None"` goes with zero.

Builders take *signed* Python values (negative = debit, the SDK's own convention) and split
them into an unsigned amount plus its effect, so callers never hand-write an effect string.
Nothing here keeps state; `core/brokerage.py` owns the simulation and hands out typed
records (`core/records.py`); `record_wire.py` turns those into the wire dicts with these.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sandbox.core.records import (
    EQUITY,
    EQUITY_OPTION,
    BalanceFigures,
)

__all__ = ["EQUITY", "EQUITY_OPTION", "BalanceFigures"]

_ZERO = Decimal(0)


# --------------------------------------------------------------------------- formatting


def money(value: Decimal) -> str:
    """Format an amount of dollars with 2 decimals (never `-0.00`)."""
    q = value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return str(q.copy_abs() if q.is_zero() else q)


def price(value: Decimal) -> str:
    """Format a per-unit price: up to 4 decimals, at least 2, so `1.245` and `590.00` survive."""
    q = value.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)
    if q.is_zero():
        return "0.00"
    text = format(q.normalize(), "f")
    whole, _, frac = text.partition(".")
    return f"{whole}.{frac.ljust(2, '0')}"


def quantity(value: Decimal) -> str:
    """Format a share/contract count: integral counts without a decimal point."""
    if value == value.to_integral_value():
        return str(int(value))
    return format(value.normalize(), "f")


def effect(signed: Decimal) -> str:
    """The tastytrade effect of a signed amount: negative is a Debit, positive a Credit."""
    if signed < 0:
        return "Debit"
    if signed > 0:
        return "Credit"
    return "None"


def iso(epoch: float) -> str:
    """ISO-8601 UTC with milliseconds, the format every tastytrade timestamp uses."""
    moment = datetime.fromtimestamp(epoch, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+00:00"


def epoch_ms(epoch: float) -> int:
    """Epoch milliseconds (the SDK parses ints as datetimes; orders use them)."""
    return round(epoch * 1000)


def signed(key: str, value: Decimal) -> dict[str, str]:
    """`{key: |value|, key-effect: effect}` for one signed amount."""
    return {key: money(abs(value)), f"{key}-effect": effect(value)}


# --------------------------------------------------------------------------- accounts


def account(
    *,
    account_number: str,
    nickname: str,
    account_type_name: str,
    margin_or_cash: str,
    opened_at: float,
    options_level: str,
) -> dict[str, Any]:
    """One ACCOUNT object (`tastytrade.account.Account`)."""
    return {
        "account-number": account_number,
        "external-id": f"A{account_number[3:]}",
        "opened-at": iso(opened_at),
        "nickname": nickname,
        "account-type-name": account_type_name,
        "day-trader-status": False,
        "is-closed": False,
        "is-firm-error": False,
        "is-firm-proprietary": False,
        "is-futures-approved": margin_or_cash == "Margin",  # futures_orders.py
        "is-test-drive": False,
        "margin-or-cash": margin_or_cash,
        "is-foreign": False,
        "funding-date": datetime.fromtimestamp(opened_at, UTC).date().isoformat(),
        "investment-objective": "GROWTH",
        "suitable-options-level": options_level,
        "created-at": iso(opened_at),
    }


def account_item(account_dict: dict[str, Any]) -> dict[str, Any]:
    """An entry of GET /customers/me/accounts: the account wrapped with its authority level."""
    return {"account": account_dict, "authority-level": "owner"}


# --------------------------------------------------------------------------- balances


_ZERO_BALANCE_FIELDS = (
    "long-futures-derivative-value",
    "short-futures-derivative-value",
    "reg-t-call-value",
    "day-trading-call-value",
    "day-equity-call-value",
    "long-cryptocurrency-value",
    "short-cryptocurrency-value",
    "cryptocurrency-margin-requirement",
    "closed-loop-available-balance",
    "equity-offering-margin-requirement",
    "long-bond-value",
    "bond-margin-requirement",
    "futures-overnight-margin-requirement",
    "futures-intraday-margin-requirement",
    "pending-margin-interest",
    "effective-cryptocurrency-buying-power",
)


def balance(figures: BalanceFigures, *, now: float) -> dict[str, Any]:
    """One BALANCE object (`tastytrade.account.AccountBalance`, all 44 required keys)."""
    data: dict[str, Any] = {
        "account-number": figures.account_number,
        "currency": "USD",
        "cash-balance": money(figures.cash_balance),
        "long-equity-value": money(figures.long_equity_value),
        "short-equity-value": money(figures.short_equity_value),
        "long-derivative-value": money(figures.long_derivative_value),
        "short-derivative-value": money(figures.short_derivative_value),
        "long-margineable-value": money(figures.long_margineable_value),
        "short-margineable-value": money(figures.short_margineable_value),
        "margin-equity": money(figures.margin_equity),
        "equity-buying-power": money(figures.equity_buying_power),
        "derivative-buying-power": money(figures.derivative_buying_power),
        "day-trading-buying-power": money(figures.day_trading_buying_power),
        "available-trading-funds": money(figures.available_trading_funds),
        "maintenance-requirement": money(figures.maintenance_requirement),
        "maintenance-call-value": money(figures.maintenance_call_value),
        "net-liquidating-value": money(figures.net_liquidating_value),
        "cash-available-to-withdraw": money(figures.cash_available_to_withdraw),
        "day-trade-excess": money(figures.day_trade_excess),
        "used-derivative-buying-power": money(figures.used_derivative_buying_power),
        "reg-t-margin-requirement": money(figures.reg_t_margin_requirement),
        "maintenance-excess": money(figures.maintenance_excess),
        "long-futures-value": money(figures.long_futures_value),
        "short-futures-value": money(figures.short_futures_value),
        "futures-margin-requirement": money(figures.futures_margin_requirement),
        "pending-cash": "0.00",
        "pending-cash-effect": "None",
        "unsettled-cryptocurrency-fiat-amount": "0.00",
        "unsettled-cryptocurrency-fiat-effect": "None",
        "buying-power-adjustment": "0.00",
        "buying-power-adjustment-effect": "None",
        "snapshot-date": datetime.fromtimestamp(now, UTC).date().isoformat(),
        "updated-at": iso(now),
    }
    for key in _ZERO_BALANCE_FIELDS:
        data[key] = "0.00"
    return data


# --------------------------------------------------------------------------- positions


def position(
    *,
    account_number: str,
    symbol: str,
    streamer_symbol: str,
    instrument_type: str,
    underlying_symbol: str,
    signed_quantity: Decimal,
    multiplier: int,
    average_open_price: Decimal,
    close_price: Decimal,
    mark_price: Decimal | None,
    realized_today: Decimal,
    created_at: float,
    updated_at: float,
    expires_at: float | None,
) -> dict[str, Any]:
    """One POSITION object (`tastytrade.account.CurrentPosition`).

    `signed_quantity` is negative for a short; the wire carries it unsigned with a
    `quantity-direction` ("Zero" for a just-closed position). `realized_today` is signed
    (a gain is a Credit). `mark` is the position's market value and `mark-price` the per-unit
    mark, as the real API sends them with `include-marks`.
    """
    size = abs(signed_quantity)
    if signed_quantity > 0:
        direction, cost = "Long", "Debit"
    elif signed_quantity < 0:
        direction, cost = "Short", "Credit"
    else:
        direction, cost = "Zero", "None"
    today = datetime.fromtimestamp(updated_at, UTC).date().isoformat()
    data: dict[str, Any] = {
        "account-number": account_number,
        "symbol": symbol,
        "streamer-symbol": streamer_symbol,
        "instrument-type": instrument_type,
        "underlying-symbol": underlying_symbol,
        "quantity": quantity(size),
        "quantity-direction": direction,
        "close-price": price(close_price),
        "average-open-price": price(average_open_price),
        "average-daily-market-close-price": price(close_price),
        "average-yearly-market-close-price": price(average_open_price),
        "multiplier": str(multiplier),
        "cost-effect": cost,
        "is-suppressed": False,
        "is-frozen": False,
        "restricted-quantity": "0",
        "realized-day-gain": money(abs(realized_today)),
        "realized-day-gain-effect": effect(realized_today),
        "realized-day-gain-date": today,
        "realized-today": money(abs(realized_today)),
        "realized-today-effect": effect(realized_today),
        "realized-today-date": today,
        "created-at": iso(created_at),
        "updated-at": iso(updated_at),
    }
    if mark_price is not None:
        data["mark-price"] = price(mark_price)
        data["mark"] = money(mark_price * size * multiplier)
    if expires_at is not None:
        data["expires-at"] = iso(expires_at)
    return data


# --------------------------------------------------------------------------- orders


def fill(*, fill_id: str, fill_quantity: Decimal, fill_price: Decimal, filled_at: float) -> dict:
    """One entry of a leg's `fills` (`tastytrade.order.FillInfo`)."""
    return {
        "fill-id": fill_id,
        "quantity": quantity(fill_quantity),
        "fill-price": price(fill_price),
        "filled-at": iso(filled_at),
        "destination-venue": "SANDBOX",
        "ext-exec-id": fill_id,
    }


def leg(
    *,
    instrument_type: str,
    symbol: str,
    action: str,
    leg_quantity: Decimal,
    remaining_quantity: Decimal,
    fills: list[dict[str, Any]],
) -> dict[str, Any]:
    """One order leg (`tastytrade.order.Leg`), with its fills so far."""
    return {
        "instrument-type": instrument_type,
        "symbol": symbol,
        "quantity": quantity(leg_quantity),
        "remaining-quantity": quantity(remaining_quantity),
        "action": action,
        "fills": fills,
    }


def order(
    *,
    order_id: int | None,
    account_number: str,
    time_in_force: str,
    order_type: str,
    underlying_symbol: str,
    status: str,
    size: Decimal,
    signed_price: Decimal | None,
    legs: list[dict[str, Any]],
    received_at: float,
    updated_at: float,
    live_at: float | None = None,
    terminal_at: float | None = None,
    cancelled_at: float | None = None,
    source: str | None = None,
) -> dict[str, Any]:
    """One order (`tastytrade.order.PlacedOrder`; without `order_id`, an `UnplacedOrder`).

    `signed_price` follows the SDK: negative is a debit (paying), positive a credit. Market
    orders pass None and carry no price.
    """
    working = status in ("Received", "Live")
    data: dict[str, Any] = {}
    if order_id is not None:
        data["id"] = order_id
    data.update(
        {
            "account-number": account_number,
            "time-in-force": time_in_force,
            "order-type": order_type,
            "size": quantity(size),
            "underlying-symbol": underlying_symbol,
            "underlying-instrument-type": EQUITY,
            "status": status,
            "cancellable": working,
            "editable": working,
            "edited": False,
            "received-at": iso(received_at),
            "updated-at": epoch_ms(updated_at),
            "legs": legs,
        }
    )
    if signed_price is not None:
        data["price"] = price(abs(signed_price))
        data["price-effect"] = effect(signed_price)
    if live_at is not None:
        data["live-at"] = iso(live_at)
    if cancelled_at is not None:
        data["cancelled-at"] = iso(cancelled_at)
    if terminal_at is not None:
        data["terminal-at"] = iso(terminal_at)
    if source is not None:
        data["source"] = source
    return data


def buying_power_effect(
    *,
    change_in_margin_requirement: Decimal,
    change_in_buying_power: Decimal,
    current_buying_power: Decimal,
    new_buying_power: Decimal,
    isolated_order_margin_requirement: Decimal,
    is_spread: bool,
) -> dict[str, Any]:
    """The `buying-power-effect` of a place-order response (`tastytrade.order.BuyingPowerEffect`).

    All amounts are signed from the account's point of view: a requirement that grows or
    buying power that shrinks is negative (a Debit), as the real API reports them.
    """
    return {
        **signed("change-in-margin-requirement", change_in_margin_requirement),
        **signed("change-in-buying-power", change_in_buying_power),
        **signed("current-buying-power", current_buying_power),
        **signed("new-buying-power", new_buying_power),
        **signed("isolated-order-margin-requirement", isolated_order_margin_requirement),
        "is-spread": is_spread,
        "impact": money(abs(change_in_buying_power)),
        "effect": effect(change_in_buying_power),
    }


def fee_calculation(*, commission: Decimal, clearing_fees: Decimal = _ZERO) -> dict[str, Any]:
    """The `fee-calculation` of a place-order response; fees are costs, hence Debits."""
    total = commission + clearing_fees
    return {
        **signed("regulatory-fees", _ZERO),
        **signed("clearing-fees", -clearing_fees),
        **signed("commission", -commission),
        **signed("proprietary-index-option-fees", _ZERO),
        **signed("total-fees", -total),
    }


def place_order_response(
    *,
    order_dict: dict[str, Any],
    buying_power: dict[str, Any],
    fees: dict[str, Any],
    warnings: list[dict[str, str]] | None = None,
) -> dict[str, Any]:
    """The `data` of POST /accounts/{n}/orders (`tastytrade.order.PlacedOrderResponse`)."""
    return {
        "order": order_dict,
        "buying-power-effect": buying_power,
        "fee-calculation": fees,
        "warnings": warnings or [],
    }
