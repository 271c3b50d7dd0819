"""The brokerage's mutable state: accounts, their positions, orders with legs and fills.

Plain dataclasses, changed only by the brokerage's modules (order entry, matching, the
ledger, demo seeding); the outside world sees them as the frozen records of `records.py`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import TypeGuard

from sandbox.core.instruments import Instrument
from sandbox.core.net_liq_history import NetLiqHistory
from sandbox.core.records import PositionRecord, TransactionRecord

CENT = Decimal("0.01")
TICK4 = Decimal("0.0001")
ZERO = Decimal(0)
#: A member of a linked order waiting for its trigger to fill (sandbox/core/linked.py).
CONTINGENT = "Contingent"
WORKING = ("Received", "Live", CONTINGENT)
ACTION_SIGN = {"Buy to Open": 1, "Buy to Close": 1, "Sell to Open": -1, "Sell to Close": -1}


@dataclass
class Position:
    instrument: Instrument
    quantity: Decimal  # signed: negative is short
    average_open_price: Decimal
    created_at: float
    updated_at: float
    realized_today: Decimal = ZERO  # signed: a gain is positive


@dataclass
class Account:
    number: str
    customer_id: str
    margin: bool
    nickname: str
    type_name: str
    opened_at: float
    cash: Decimal
    positions: dict[str, Position] = field(default_factory=dict)
    transactions: list[TransactionRecord] = field(default_factory=list)
    net_liq: NetLiqHistory = field(default_factory=NetLiqHistory)
    #: The positions the account opened with (bought before its ledger starts: their cost
    #: is in the opening deposit), as the first lots of any cost-basis report.
    opening: tuple[PositionRecord, ...] = ()


@dataclass
class Fill:
    fill_id: str
    quantity: Decimal
    price: Decimal
    filled_at: float


@dataclass
class Leg:
    instrument: Instrument
    action: str
    quantity: Decimal
    ratio: Decimal  # leg quantity per unit of order size
    fills: list[Fill] = field(default_factory=list)

    @property
    def sign(self) -> int:
        return ACTION_SIGN[self.action]

    @property
    def remaining(self) -> Decimal:
        return self.quantity - sum((f.quantity for f in self.fills), ZERO)


@dataclass(frozen=True)
class Link:
    """A linked order's member: its group (`kind` OCO, OTO or OTOCO) and its `role`:
    `trigger`, `oco` (one of the pair that cancel each other: an OCO's two, an OTOCO's
    exits) or `member` (an OTO's others)."""

    group_id: int
    kind: str
    role: str


@dataclass
class Order:
    id: int | None
    account_number: str
    time_in_force: str
    order_type: str
    legs: list[Leg]
    size: Decimal
    limit: Decimal | None  # signed net price per unit (negative = debit); None for Market
    status: str
    received_at: float
    updated_at: float
    chunks: list[Decimal]  # planned fill sizes, in order units
    source: str | None = None
    client_order_id: str | None = None
    live_at: float | None = None
    terminal_at: float | None = None
    cancelled_at: float | None = None
    filled_units: Decimal = ZERO
    edited: bool = False
    replaces: int | None = None
    replaced_by: int | None = None
    #: A Stop or Stop Limit order's trigger per unit (unsigned); it works (a Stop as a
    #: Market order, a Stop Limit as a Limit order) from `triggered_at` on. A Trailing
    #: Stop's is its current stop, moved with `hwm` (`matching.follow`) until it triggers.
    stop: Decimal | None = None
    triggered_at: float | None = None
    trail_price: Decimal | None = None  # a Trailing Stop's trail in dollars per unit
    trail_percent: Decimal | None = None  # or in percent of the high-water mark
    hwm: Decimal | None = None  # the best mark since placing (highest: sell, lowest: buy)
    link: Link | None = None  # a member of a linked order (sandbox/core/linked.py)
    #: A notional (dollar) Market order's amount: its one leg is sized at the fill
    #: (`matching.size_notional`); until then its quantity is the one at the current price.
    notional: Decimal | None = None

    @property
    def underlying(self) -> str:
        return self.legs[0].instrument.underlying


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def to_decimal(value: float) -> Decimal:
    return Decimal(repr(float(value)))


def finite_positive(value: object) -> TypeGuard[float]:
    """A usable price: a finite positive number."""
    return isinstance(value, int | float) and math.isfinite(value) and value > 0


def snapshot_date(now: float) -> date:
    """Today's date as the sandbox sees it (UTC, from the injected clock)."""
    return datetime.fromtimestamp(now, UTC).date()
