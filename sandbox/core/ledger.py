"""The account ledger: the opening deposit and one trade entry per leg fill, with fees.

A future's trade is worth what it realizes (nothing for an opening fill, the profit or
loss for a closing one): its notional never changes hands (`futures_margin.py`)."""

from __future__ import annotations

from decimal import Decimal

from sandbox.core.account_state import ZERO, Account, Fill, Leg, Order, cents
from sandbox.core.futures_margin import marked_to_market
from sandbox.core.records import EQUITY_OPTION, FUTURE, FUTURE_OPTION, TransactionRecord

__all__ = ["FEE_PER_CONTRACT", "fees", "opening_deposit", "trade"]

FEE_PER_CONTRACT = Decimal("1.00")
#: What pays a commission per contract: options (on a stock or a future) and futures.
CONTRACTS = (EQUITY_OPTION, FUTURE_OPTION, FUTURE)


def fees(legs: list[Leg], units: Decimal | None) -> Decimal:
    """Commission: 1.00 per contract of an option or a future, nothing for equities and
    coins (`units` None: all)."""
    total = ZERO
    for leg in legs:
        if leg.instrument.instrument_type in CONTRACTS:
            qty = leg.quantity if units is None else leg.ratio * units
            total += qty * FEE_PER_CONTRACT
    return total


def opening_deposit(acct: Account, transaction_id: int) -> TransactionRecord:
    """The cash the account started with plus what its starting positions cost."""
    cost = sum(
        (
            p.quantity * p.average_open_price * p.instrument.multiplier
            for p in acct.positions.values()
            if not marked_to_market(p.instrument)  # a future costs no notional
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
    acct: Account,
    order: Order,
    leg: Leg,
    fill: Fill,
    transaction_id: int,
    *,
    realized: Decimal = ZERO,
) -> TransactionRecord:
    """One trade transaction for one leg fill: gross value, commission, net value (a
    future's value is what the fill `realized`)."""
    instrument = leg.instrument
    if marked_to_market(instrument):
        value = realized
    else:
        value = cents(-leg.sign * fill.quantity * fill.price * instrument.multiplier)
    paid = instrument.instrument_type in CONTRACTS
    commission = fill.quantity * FEE_PER_CONTRACT if paid else ZERO
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
