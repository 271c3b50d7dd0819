"""The brokerage's typed records (`core/records.py`) as tastytrade wire objects.

Each `render_*` hands a record to the builders of `wire.py`, which know the SDK's strict
models; the history renderers (transactions, net-liq points, margin reports) and the
paging of list answers are here too.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sandbox.core.account_state import snapshot_date
from sandbox.core.records import (
    CRYPTOCURRENCY,
    EQUITY,
    FUTURE,
    FUTURE_OPTION,
    AccountEvent,
    AccountRecord,
    BalanceFigures,
    LegRecord,
    MarginReport,
    NetLiqPoint,
    OrderPreview,
    OrderRecord,
    PlacedOrder,
    PositionRecord,
    TransactionRecord,
)
from sandbox.tastytrade.wire import (
    account,
    balance,
    buying_power_effect,
    epoch_ms,
    fee_calculation,
    fill,
    iso,
    leg,
    money,
    order,
    place_order_response,
    position,
    price,
    quantity,
    signed,
)

_ZERO = Decimal(0)


# --------------------------------------------------------------------------- records


def render_account(record: AccountRecord) -> dict[str, Any]:
    """An account record as an ACCOUNT object."""
    return account(
        account_number=record.number,
        nickname=record.nickname,
        account_type_name=record.type_name,
        margin_or_cash="Margin" if record.margin else "Cash",
        opened_at=record.opened_at,
        options_level=record.options_level,
    )


def render_balance(figures: BalanceFigures) -> dict[str, Any]:
    """A balance record as a BALANCE object, stamped with the time it was marked."""
    return balance(figures, now=figures.as_of)


def render_position(record: PositionRecord) -> dict[str, Any]:
    """A position record as a POSITION object."""
    return position(
        account_number=record.account_number,
        symbol=record.symbol,
        streamer_symbol=record.streamer_symbol,
        instrument_type=record.instrument_type,
        underlying_symbol=record.underlying_symbol,
        signed_quantity=record.quantity,
        multiplier=record.multiplier,
        average_open_price=record.average_open_price,
        close_price=record.close_price,
        mark_price=record.mark_price,
        realized_today=record.realized_today,
        created_at=record.created_at,
        updated_at=record.updated_at,
        expires_at=record.expires_at,
    )


def _render_leg(record: LegRecord) -> dict[str, Any]:
    return leg(
        instrument_type=record.instrument_type,
        symbol=record.symbol,
        action=record.action,
        leg_quantity=record.quantity,
        remaining_quantity=record.remaining_quantity,
        fills=[
            fill(
                fill_id=f.fill_id,
                fill_quantity=f.quantity,
                fill_price=f.price,
                filled_at=f.filled_at,
            )
            for f in record.fills
        ],
    )


def render_order(record: OrderRecord) -> dict[str, Any]:
    """An order record as a PlacedOrder (or, without an id, an UnplacedOrder) object."""
    data = order(
        order_id=record.id,
        account_number=record.account_number,
        time_in_force=record.time_in_force,
        order_type=record.order_type,
        underlying_symbol=record.underlying_symbol,
        status=record.status,
        size=record.size,
        signed_price=record.price,
        legs=[_render_leg(leg_record) for leg_record in record.legs],
        received_at=record.received_at,
        updated_at=record.updated_at,
        live_at=record.live_at,
        terminal_at=record.terminal_at,
        cancelled_at=record.cancelled_at,
        source=record.source,
    )
    if record.stop_trigger is not None:  # a Stop or Stop Limit order's trigger, unsigned
        data["stop-trigger"] = price(record.stop_trigger)
    if record.notional is not None:  # a dollar amount: tastytrade's Notional Market order
        data["order-type"] = "Notional Market"
        buying = record.legs[0].action.startswith("Buy")
        data["value"] = price(record.notional)
        data["value-effect"] = "Debit" if buying else "Credit"
    kind = record.legs[0].instrument_type if record.legs else None
    if kind == CRYPTOCURRENCY:
        data["underlying-instrument-type"] = CRYPTOCURRENCY
    elif kind in (FUTURE, FUTURE_OPTION):  # a future, or an option on one: of a future
        data["underlying-instrument-type"] = FUTURE
    if record.edited:
        data["edited"] = True
    if record.client_order_id is not None:  # the order's `external-identifier`, echoed
        data["external-identifier"] = record.client_order_id
    if record.replaces_order_id is not None:
        data["replaces-order-id"] = str(record.replaces_order_id)
    if record.replaced_by_order_id is not None:
        data["replacing-order-id"] = str(record.replaced_by_order_id)
    if record.group_id is not None:  # a component of a complex order (complex_orders.py)
        data["complex-order-id"] = record.group_id
        data.update(complex_order_fields(record.group_kind, record.group_role, record.status))
    return data


#: A component's `complex-order-tag` by its complex order's type and its role in the core's
#: group (sandbox/core/linked.py): the values developer.tastytrade.com order-management
#: shows (copy in tastytrade/tastytrade-mcp, tastytrade-llms-txt-docs/docs/order-management.md).
COMPLEX_ORDER_TAGS = {
    ("OTOCO", "trigger"): "OTOCO::trigger-order",
    ("OTOCO", "oco"): "OTOCO::oco-1-order",
    ("OTO", "trigger"): "OTO::trigger-order",
    ("OTO", "member"): "OTO::order",
    ("OCO", "oco"): "OCO::order",
}


def complex_order_fields(kind: str | None, role: str | None, status: str) -> dict[str, Any]:
    """A complex order component's `complex-order-tag`, and while it waits for its trigger
    the `contingent-status` the docs show (`Pending Order`)."""
    data: dict[str, Any] = {}
    tag = COMPLEX_ORDER_TAGS.get((kind or "", role or ""))
    if tag is not None:
        data["complex-order-tag"] = tag
    if status == "Contingent":
        data["contingent-status"] = "Pending Order"
    return data


def render_placed(placed: PlacedOrder) -> dict[str, Any]:
    """A placement (or dry run) as the `data` of POST /accounts/{n}/orders."""
    buying_power, fees = render_preview(placed.preview)
    return place_order_response(
        order_dict=render_order(placed.order), buying_power=buying_power, fees=fees
    )


def render_preview(p: OrderPreview) -> tuple[dict[str, Any], dict[str, Any]]:
    """An order's (or complex order's) buying-power effect and fee calculation."""
    return (
        buying_power_effect(
            change_in_margin_requirement=p.change_in_margin_requirement,
            change_in_buying_power=p.change_in_buying_power,
            current_buying_power=p.current_buying_power,
            new_buying_power=p.new_buying_power,
            isolated_order_margin_requirement=p.isolated_order_margin_requirement,
            is_spread=p.is_spread,
        ),
        fee_calculation(commission=p.commission),
    )


def render_event(event: AccountEvent) -> dict[str, Any]:
    """The `data` of an account-streamer push for one brokerage event."""
    record = event.record
    if isinstance(record, BalanceFigures):
        return render_balance(record)
    if isinstance(record, PositionRecord):
        return render_position(record)
    return render_order(record)


# --------------------------------------------------------------------------- history


def render_transaction(record: TransactionRecord) -> dict[str, Any]:
    """A ledger entry as a TRANSACTION object (`tastytrade.account.Transaction`)."""
    data: dict[str, Any] = {
        "id": record.id,
        "account-number": record.account_number,
        "transaction-type": record.transaction_type,
        "transaction-sub-type": record.transaction_sub_type,
        "description": record.description,
        "executed-at": iso(record.executed_at),
        "transaction-date": snapshot_date(record.executed_at).isoformat(),
        **signed("value", record.value),
        **signed("net-value", record.net_value),
        **signed("commission", -record.commission),
        **signed("clearing-fees", -record.clearing_fees),
        **signed("regulatory-fees", -record.regulatory_fees),
        **signed("proprietary-index-option-fees", _ZERO),
        "is-estimated-fee": record.is_estimated_fee,
        "currency": "USD",
    }
    if record.symbol is not None:
        data.update(
            {
                "symbol": record.symbol,
                "instrument-type": record.instrument_type,
                "underlying-symbol": record.underlying_symbol,
                "action": record.action,
                "quantity": quantity(record.quantity or _ZERO),
                "price": price(record.price or _ZERO),
                "order-id": record.order_id,
                "leg-count": record.leg_count,
                "exchange": "SANDBOX",
                "destination-venue": "SANDBOX",
            }
        )
    return data


def render_net_liq_point(point: NetLiqPoint) -> dict[str, Any]:
    """One NetLiqOhlc bar; nothing is ever pending, so the pending-cash bars are zero."""
    return {
        "open": money(point.open),
        "high": money(point.high),
        "low": money(point.low),
        "close": money(point.close),
        "pending-cash-open": "0.00",
        "pending-cash-high": "0.00",
        "pending-cash-low": "0.00",
        "pending-cash-close": "0.00",
        "total-open": money(point.total_open),
        "total-high": money(point.total_high),
        "total-low": money(point.total_low),
        "total-close": money(point.total_close),
        "time": iso(point.at),
    }


def render_margin_report(report: MarginReport, *, option_level: str, now: float) -> dict[str, Any]:
    """The margin report (`tastytrade.account.MarginReport`): requirements are Debits."""
    kind = "Reg T" if report.margin else "Cash"
    groups = [
        {
            "description": e.description,
            "code": e.underlying_symbol,
            "underlying-symbol": e.underlying_symbol,
            "underlying-type": FUTURE if e.underlying_symbol.startswith("/") else EQUITY,
            "margin-calculation-type": kind,
            **signed("margin-requirement", -e.maintenance_requirement),
            **signed("maintenance-requirement", -e.maintenance_requirement),
            **signed("initial-requirement", -e.initial_requirement),
            **signed("buying-power", -e.buying_power),
            "groups": [],
        }
        for e in report.entries
    ]
    return {
        "account-number": report.account_number,
        "description": "Margin Requirements" if report.margin else "Cash Requirements",
        "margin-calculation-type": kind,
        "option-level": option_level,
        **signed("margin-requirement", -report.maintenance_requirement),
        **signed("maintenance-requirement", -report.maintenance_requirement),
        **signed("initial-requirement", -report.initial_requirement),
        **signed("reg-t-margin-requirement", -report.initial_requirement),
        **signed("margin-equity", report.net_liquidating_value),
        **signed("option-buying-power", report.excess),
        **signed("reg-t-option-buying-power", report.excess),
        **signed("maintenance-excess", report.excess),
        "last-state-timestamp": epoch_ms(now),
        "groups": groups,
    }


def paged(items: list[Any], *, per_page: int, page_offset: int) -> tuple[list[Any], dict]:
    """One page of `items` and the top-level `pagination` object tastytrade sends with it."""
    total = len(items)
    pages = max(1, -(-total // per_page))
    start = page_offset * per_page
    page = items[start : start + per_page]
    return page, {
        "per-page": per_page,
        "page-offset": page_offset,
        "item-offset": start,
        "total-items": total,
        "total-pages": pages,
        "current-item-count": len(page),
        "previous-link": None,
        "next-link": None,
        "paging-link-template": None,
    }
