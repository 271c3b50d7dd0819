"""Closed tax lots, first in first out, from the brokerage's ledger.

The ledger (`Brokerage.transactions`) books one trade per leg fill, but a gain/loss report
needs to know which opening trade each closing trade closed. This matches them FIFO per
symbol. Positions an account started with are not trades in the ledger (their cost is
folded into the opening deposit), so the caller hands them in as opening lots.

Broker-neutral: any façade can render the `ClosedLot`s in its own wire format.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from sandbox.core.instruments import multiplier_of
from sandbox.core.records import PositionRecord, TransactionRecord

_ZERO = Decimal(0)


@dataclass(frozen=True)
class ClosedLot:
    """One opening lot (or part of it) closed by one closing trade.

    `quantity` is signed as the lot was: negative for a short closed by a buy. `cost` is
    what buying cost and `proceeds` what selling brought, per side, commissions included
    (a commission adds to the cost and comes off the proceeds).
    """

    symbol: str
    underlying_symbol: str | None
    instrument_type: str | None
    quantity: Decimal
    opened_at: float
    closed_at: float
    cost: Decimal
    proceeds: Decimal

    @property
    def gain_loss(self) -> Decimal:
        return self.proceeds - self.cost


@dataclass
class _Lot:
    quantity: Decimal  # signed: negative is short
    price: Decimal  # per unit, before the multiplier
    commission_per_unit: Decimal
    opened_at: float


def closed_lots(
    opening: Iterable[PositionRecord], transactions: Iterable[TransactionRecord]
) -> list[ClosedLot]:
    """Every closed lot, in the order the closing trades happened.

    `opening` are the positions the account held before its first ledger trade;
    `transactions` is the ledger, oldest first (only trades are read).
    """
    books: dict[str, deque[_Lot]] = {}
    kinds: dict[str, tuple[str | None, str | None]] = {}
    for p in opening:
        if p.quantity:
            books.setdefault(p.symbol, deque()).append(
                _Lot(p.quantity, p.average_open_price, _ZERO, p.created_at)
            )
            kinds[p.symbol] = (p.underlying_symbol, p.instrument_type)
    closed: list[ClosedLot] = []
    for t in transactions:
        if t.transaction_type != "Trade" or not t.symbol or not t.quantity or t.price is None:
            continue
        kinds.setdefault(t.symbol, (t.underlying_symbol, t.instrument_type))
        underlying, instrument_type = kinds[t.symbol]
        multiplier = multiplier_of(t.symbol, instrument_type)
        buying = (t.action or "").startswith("Buy")
        remaining = t.quantity if buying else -t.quantity
        fee = t.commission / t.quantity
        lots = books.setdefault(t.symbol, deque())
        while remaining and lots and (lots[0].quantity > 0) != (remaining > 0):
            lot = lots[0]
            matched = min(abs(remaining), abs(lot.quantity))
            opening_value = matched * lot.price * multiplier
            closing_value = matched * t.price * multiplier
            if lot.quantity > 0:  # a long lot sold
                cost = opening_value + matched * lot.commission_per_unit
                proceeds = closing_value - matched * fee
                signed = matched
            else:  # a short lot bought back
                proceeds = opening_value - matched * lot.commission_per_unit
                cost = closing_value + matched * fee
                signed = -matched
            closed.append(
                ClosedLot(
                    symbol=t.symbol,
                    underlying_symbol=underlying,
                    instrument_type=instrument_type,
                    quantity=signed,
                    opened_at=lot.opened_at,
                    closed_at=t.executed_at,
                    cost=cost,
                    proceeds=proceeds,
                )
            )
            lot.quantity += matched if lot.quantity < 0 else -matched
            remaining += matched if remaining < 0 else -matched
            if not lot.quantity:
                lots.popleft()
        if remaining:  # opens (or flips into) a lot of its own
            lots.append(_Lot(remaining, t.price, fee, t.executed_at))
    return closed
