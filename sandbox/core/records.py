"""Typed, frozen records of the simulated brokerage: what every façade renders.

The brokerage speaks no broker's protocol: it hands out these records and takes an
`OrderRequest`, and each façade (tastytrade, Tradier, Alpaca) turns them into its own wire
format. Amounts are `Decimal`, signed the way the SDKs think (negative = debit / short),
times are epoch seconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

#: Instrument types, spelled as the brokerage (and tastytrade) names them.
EQUITY = "Equity"
EQUITY_OPTION = "Equity Option"
CRYPTOCURRENCY = "Cryptocurrency"
FUTURE = "Future"
FUTURE_OPTION = "Future Option"

#: Order statuses: working ones can still fill, be replaced or cancelled.
WORKING_STATUSES = ("Received", "Live", "Contingent")
TERMINAL_STATUSES = ("Filled", "Cancelled", "Rejected", "Expired", "Replaced")

_ZERO = Decimal(0)


class OrderRejected(Exception):
    """An order request the broker refuses; the REST layer turns it into an error body.

    `status` is the HTTP status the real API would use (404 for unknown accounts/orders).
    """

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status


def parse_decimal(raw: Any) -> Decimal | None:
    """A wire number (int, float or numeric string) as a Decimal; None if it is not one."""
    if isinstance(raw, bool) or raw is None:
        return None
    try:
        value = Decimal(str(raw).strip())
    except (InvalidOperation, ValueError):
        return None
    return value


@dataclass(frozen=True)
class AccountRecord:
    """One brokerage account of a customer."""

    number: str
    customer_id: str
    margin: bool
    nickname: str
    type_name: str
    opened_at: float

    @property
    def options_level(self) -> str:
        return "No Restrictions" if self.margin else "Limited"


@dataclass(frozen=True)
class BalanceFigures:
    """One balance snapshot marked at `as_of`; anything a broker sends beyond these is zero.

    All amounts are non-negative except `cash_balance`, which is signed (a margin loan is
    negative cash). Futures are marked to the market (`futures_margin.py`): their open
    profit or loss is in the net liquidating value, their notional in the futures values
    (not in the derivative values), their margin in `futures_margin_requirement` (and in
    the maintenance and Reg T requirements).
    """

    account_number: str
    cash_balance: Decimal
    long_equity_value: Decimal
    short_equity_value: Decimal
    long_derivative_value: Decimal
    short_derivative_value: Decimal
    net_liquidating_value: Decimal
    long_margineable_value: Decimal
    short_margineable_value: Decimal
    margin_equity: Decimal
    equity_buying_power: Decimal
    derivative_buying_power: Decimal
    day_trading_buying_power: Decimal
    available_trading_funds: Decimal
    cash_available_to_withdraw: Decimal
    maintenance_requirement: Decimal
    maintenance_call_value: Decimal
    maintenance_excess: Decimal
    reg_t_margin_requirement: Decimal
    used_derivative_buying_power: Decimal
    day_trade_excess: Decimal
    as_of: float = 0.0
    long_futures_value: Decimal = _ZERO
    short_futures_value: Decimal = _ZERO
    futures_margin_requirement: Decimal = _ZERO


@dataclass(frozen=True)
class PositionRecord:
    """An open (or just closed: quantity 0) position, marked now."""

    account_number: str
    symbol: str  # ticker or padded OCC symbol
    streamer_symbol: str
    instrument_type: str
    underlying_symbol: str
    quantity: Decimal  # signed: negative is short
    multiplier: int
    average_open_price: Decimal
    close_price: Decimal  # the market's previous close
    mark_price: Decimal | None  # per unit
    realized_today: Decimal  # signed: a gain is positive
    created_at: float
    updated_at: float
    expires_at: float | None = None

    @property
    def is_short(self) -> bool:
        return self.quantity < 0


@dataclass(frozen=True)
class FillRecord:
    fill_id: str
    quantity: Decimal
    price: Decimal
    filled_at: float


@dataclass(frozen=True)
class LegRecord:
    instrument_type: str
    symbol: str
    action: str  # "Buy to Open" | "Buy to Close" | "Sell to Open" | "Sell to Close"
    quantity: Decimal
    remaining_quantity: Decimal
    fills: tuple[FillRecord, ...] = ()

    @property
    def filled_quantity(self) -> Decimal:
        return self.quantity - self.remaining_quantity

    @property
    def is_buy(self) -> bool:
        return self.action.startswith("Buy")


@dataclass(frozen=True)
class OrderRecord:
    """An order as it stands; `id` is None for a dry run (never placed)."""

    id: int | None
    account_number: str
    time_in_force: str
    #: "Market" | "Limit" | "Marketable Limit" | "Stop" | "Stop Limit" | "Trailing Stop"
    order_type: str
    underlying_symbol: str
    status: str  # "Received" | "Live" | "Filled" | "Cancelled" | "Replaced"
    size: Decimal
    price: Decimal | None  # signed limit per unit (negative = debit); None for Market
    legs: tuple[LegRecord, ...]
    received_at: float
    updated_at: float
    live_at: float | None = None
    terminal_at: float | None = None
    cancelled_at: float | None = None
    source: str | None = None
    client_order_id: str | None = None
    edited: bool = False
    replaces_order_id: int | None = None
    replaced_by_order_id: int | None = None
    #: A Stop or Stop Limit order's trigger (unsigned); a Trailing Stop's current stop
    stop_trigger: Decimal | None = None
    triggered_at: float | None = None  # when the market reached the trigger
    trail_price: Decimal | None = None  # a Trailing Stop's trail in dollars per unit
    trail_percent: Decimal | None = None  # or in percent of its high-water mark
    #: A Trailing Stop's high-water mark: the highest mark since it was placed (a sell),
    #: the lowest (a buy); it stops following once the order triggers
    hwm: Decimal | None = None
    #: A notional (dollar) Market order's amount (unsigned); its leg is sized at the fill
    notional: Decimal | None = None

    group_id: int | None = None  # a linked order's member: its group (core/linked.py)
    group_kind: str | None = None  # OCO | OTO | OTOCO
    group_role: str | None = None  # trigger | oco | member

    @property
    def working(self) -> bool:
        return self.status in WORKING_STATUSES

    @property
    def filled_units(self) -> Decimal:
        """Order units filled so far (leg quantity / leg ratio of the first leg)."""
        first = self.legs[0]
        if not first.quantity:
            return _ZERO
        return first.filled_quantity * self.size / first.quantity


@dataclass(frozen=True)
class OrderPreview:
    """What filling a whole order now would do: buying power change and fees (signed from
    the account's side: a requirement that grows or buying power that shrinks is negative)."""

    change_in_margin_requirement: Decimal
    change_in_buying_power: Decimal
    current_buying_power: Decimal
    new_buying_power: Decimal
    isolated_order_margin_requirement: Decimal
    is_spread: bool
    commission: Decimal


@dataclass(frozen=True)
class PlacedOrder:
    """The answer to a placement (or a dry run, or a replacement)."""

    order: OrderRecord
    preview: OrderPreview
    replaced: OrderRecord | None = None  # the order a replacement took the place of


@dataclass(frozen=True)
class LinkedRequest:
    """Linked orders to place as one group (sandbox/core/linked.py): `kind` OCO, OTO or
    OTOCO, the `trigger` that must fill first (OTO, OTOCO) and the `orders` it links."""

    kind: str
    trigger: OrderRequest | None
    orders: tuple[OrderRequest, ...]


@dataclass(frozen=True)
class PlacedLinked:
    """A placed linked order: its group id and kind, its members (the trigger first) and
    the buying-power effect of what can fill first (the trigger, else the first order)."""

    group_id: int | None
    kind: str
    orders: tuple[OrderRecord, ...]
    preview: OrderPreview


@dataclass(frozen=True)
class LegRequest:
    symbol: str
    action: str | None  # None: missing on the wire (refused: `invalid_action`)
    quantity: Decimal
    instrument_type: str | None = None  # None: inferred from the symbol


@dataclass(frozen=True)
class OrderRequest:
    """A broker-neutral order request each façade builds from its own wire input.

    `price` is the unsigned limit per order unit; `price_effect` ("Debit" / "Credit")
    says who pays, None lets the brokerage infer it from the legs.
    """

    order_type: str
    legs: tuple[LegRequest, ...]
    time_in_force: str = "Day"
    price: Decimal | None = None
    price_effect: str | None = None
    source: str | None = None
    client_order_id: str | None = None
    #: A Stop or Stop Limit order's trigger price per unit (unsigned).
    stop_trigger: Decimal | None = None
    #: A Trailing Stop's trail: dollars per unit or percent of the high-water mark (one).
    trail_price: Decimal | None = None
    trail_percent: Decimal | None = None
    #: The façade takes fractional quantities (Alpaca's fractional and notional orders and
    #: coins): a one-leg order of an equity or a coin may then be in parts of a unit, to
    #: `matching.QUANTITY_STEP`; without it a fractional quantity is refused, as
    #: tastytrade's and Tradier's orders are.
    fractional: bool = False
    #: A notional (dollar) Market order: one leg, `fractional`, its quantity the notional
    #: over the price it fills at (rounded down to `matching.QUANTITY_STEP`; a Sell to
    #: Close never more than is held), worked out when it fills; the leg's `quantity` is
    #: ignored (until the fill the order carries the quantity at the current price).
    notional: Decimal | None = None


@dataclass(frozen=True)
class TransactionRecord:
    """One ledger entry: a trade (one fill of one leg) or a money movement (the deposit)."""

    id: int
    account_number: str
    transaction_type: str  # "Trade" | "Money Movement"
    transaction_sub_type: str  # "Buy to Open" ... | "Deposit"
    description: str
    executed_at: float
    value: Decimal  # signed gross: negative when cash left the account
    net_value: Decimal  # signed, after commission and fees
    commission: Decimal = _ZERO  # a cost, non-negative
    clearing_fees: Decimal = _ZERO
    regulatory_fees: Decimal = _ZERO
    symbol: str | None = None
    instrument_type: str | None = None
    underlying_symbol: str | None = None
    action: str | None = None
    quantity: Decimal | None = None
    price: Decimal | None = None
    order_id: int | None = None
    leg_count: int | None = None
    is_estimated_fee: bool = False


@dataclass(frozen=True)
class NetLiqPoint:
    """Net liquidating value at one moment (an OHLC bar of the moment's value)."""

    at: float
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    total_open: Decimal
    total_high: Decimal
    total_low: Decimal
    total_close: Decimal


@dataclass(frozen=True)
class MarginRequirement:
    """Maintenance requirement of the positions on one underlying."""

    underlying_symbol: str
    description: str
    long_equity_value: Decimal
    short_equity_value: Decimal
    long_derivative_value: Decimal
    short_derivative_value: Decimal
    maintenance_requirement: Decimal
    initial_requirement: Decimal
    buying_power: Decimal  # the requirement as it reduces buying power (non-negative)


@dataclass(frozen=True)
class MarginReport:
    """Requirements per underlying; they add up to the balance's maintenance requirement."""

    account_number: str
    margin: bool
    entries: tuple[MarginRequirement, ...]
    maintenance_requirement: Decimal
    initial_requirement: Decimal
    net_liquidating_value: Decimal
    excess: Decimal


@dataclass(frozen=True)
class AccountEvent:
    """One change of an account, for every façade's push: the record of what changed."""

    kind: str  # "AccountBalance" | "CurrentPosition" | "Order"
    account_number: str
    record: BalanceFigures | PositionRecord | OrderRecord
