"""The brokerage's state as the frozen records every façade renders (`records.py`)."""

from __future__ import annotations

from sandbox.core.account_state import Account, Order, Position
from sandbox.core.marks import Marks
from sandbox.core.records import (
    AccountEvent,
    AccountRecord,
    FillRecord,
    LegRecord,
    OrderRecord,
    PositionRecord,
)

__all__ = ["account_record", "order_event", "order_record", "position_record"]


def account_record(acct: Account) -> AccountRecord:
    return AccountRecord(
        number=acct.number,
        customer_id=acct.customer_id,
        margin=acct.margin,
        nickname=acct.nickname,
        type_name=acct.type_name,
        opened_at=acct.opened_at,
    )


def position_record(acct: Account, pos: Position, marks: Marks) -> PositionRecord:
    """The position marked now: its close and mark come from the market."""
    instrument = pos.instrument
    return PositionRecord(
        account_number=acct.number,
        symbol=instrument.symbol,
        streamer_symbol=instrument.streamer_symbol,
        instrument_type=instrument.instrument_type,
        underlying_symbol=instrument.underlying,
        quantity=pos.quantity,
        multiplier=instrument.multiplier,
        average_open_price=pos.average_open_price,
        close_price=marks.close_price(instrument.streamer_symbol),
        mark_price=marks.mark(instrument.streamer_symbol),
        realized_today=pos.realized_today,
        created_at=pos.created_at,
        updated_at=pos.updated_at,
        expires_at=instrument.expires_at,
    )


def order_record(order: Order) -> OrderRecord:
    legs = tuple(
        LegRecord(
            instrument_type=leg.instrument.instrument_type,
            symbol=leg.instrument.symbol,
            action=leg.action,
            quantity=leg.quantity,
            remaining_quantity=leg.quantity if order.id is None else leg.remaining,
            fills=tuple(FillRecord(f.fill_id, f.quantity, f.price, f.filled_at) for f in leg.fills),
        )
        for leg in order.legs
    )
    return OrderRecord(
        id=order.id,
        account_number=order.account_number,
        time_in_force=order.time_in_force,
        order_type=order.order_type,
        underlying_symbol=order.underlying,
        status=order.status,
        size=order.size,
        price=order.limit,
        legs=legs,
        received_at=order.received_at,
        updated_at=order.updated_at,
        live_at=order.live_at,
        terminal_at=order.terminal_at,
        cancelled_at=order.cancelled_at,
        source=order.source,
        client_order_id=order.client_order_id,
        edited=order.edited,
        replaces_order_id=order.replaces,
        replaced_by_order_id=order.replaced_by,
        group_id=order.link.group_id if order.link else None,
        group_kind=order.link.kind if order.link else None,
        group_role=order.link.role if order.link else None,
        stop_trigger=order.stop,
        triggered_at=order.triggered_at,
        trail_price=order.trail_price,
        trail_percent=order.trail_percent,
        hwm=order.hwm,
        notional=order.notional,
    )


def order_event(order: Order) -> AccountEvent:
    return AccountEvent("Order", order.account_number, order_record(order))
