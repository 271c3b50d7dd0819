"""The account ledger: the opening deposit and one trade entry per leg fill, with fees."""

from __future__ import annotations

from decimal import Decimal

from sandbox.core.account_state import ZERO, Account, Fill, Leg, Order, cents
from sandbox.core.records import EQUITY_OPTION, FUTURE_OPTION, TransactionRecord

__all__ = ["FEE_PER_CONTRACT", "fees", "opening_deposit", "trade"]

FEE_PER_CONTRACT = Decimal("1.00")
OPTIONS = (EQUITY_OPTION, FUTURE_OPTION)


def fees(legs: list[Leg], units: Decimal | None) -> Decimal:
    """Commission: 1.00 per option contract (on a stock or a future), nothing for equities
    and coins (`units` None: all)."""
    total = ZERO
    for leg in legs:
        if leg.instrument.instrument_type in OPTIONS:
            qty = leg.quantity if units is None else leg.ratio * units
            total += qty * FEE_PER_CONTRACT
    return total


def opening_deposit(acct: Account, transaction_id: int) -> TransactionRecord:
    """The cash the account started with plus what its starting positions cost."""
    cost = sum(
        (
            p.quantity * p.average_open_price * p.instrument.multiplier
            for p in acct.positions.values()
        ),
        ZERO,
    )
    deposit = cents(acct.cash + cost)
    return TransactionRecord(
        id=transaction_id,
        account_number=acct.number,
        transaction_type="Money Movement",
        transaction_sub_type="Deposit",
        description="Opening deposit",
        executed_at=acct.opened_at,
        value=deposit,
        net_value=deposit,
    )


def trade(
    acct: Account, order: Order, leg: Leg, fill: Fill, transaction_id: int
) -> TransactionRecord:
    """One trade transaction for one leg fill: gross value, commission, net value."""
    instrument = leg.instrument
    value = cents(-leg.sign * fill.quantity * fill.price * instrument.multiplier)
    commission = fill.quantity * FEE_PER_CONTRACT if instrument.instrument_type in OPTIONS else ZERO
    verb = "Bought" if leg.sign > 0 else "Sold"
    return TransactionRecord(
        id=transaction_id,
        account_number=acct.number,
        transaction_type="Trade",
        transaction_sub_type=leg.action,
        description=f"{verb} {fill.quantity} {instrument.symbol.strip()} @ {fill.price}",
        executed_at=fill.filled_at,
        value=value,
        net_value=value - commission,
        commission=commission,
        symbol=instrument.symbol,
        instrument_type=instrument.instrument_type,
        underlying_symbol=instrument.underlying,
        action=leg.action,
        quantity=fill.quantity,
        price=fill.price,
        order_id=order.id,
        leg_count=len(order.legs),
    )
