"""Order entry at a broker: the values a ticket hands an adapter, and what it answers.

An order is in the contract's vocabulary (docs/streaming-contract.md, "Trading"): legs of
(instrument, action, quantity), each instrument resolved once (streaming/instruments),
`Limit`/`Market`/`Stop`/`Stop Limit`/`Trailing Stop`/`Notional Market`, `Day`/`GTC`/`IOC`.
Each adapter that trades (`SupportsOrders`) spells it the broker's way, runs the broker's
own dry run where there is one, and tags every order with the ticket's client order id
so that a lost answer can be looked up before anything is placed again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any, Literal, Protocol, runtime_checkable

from streaming.instruments.instrument import Instrument, parse
from streaming.instruments.kinds import Kind

ACTIONS = ("Buy to Open", "Sell to Close", "Sell to Open", "Buy to Close")
ORDER_TYPES = ("Limit", "Market", "Stop", "Stop Limit", "Trailing Stop", "Notional Market")
#: A dollar amount at market: the broker sizes it when it fills.
NOTIONAL_MARKET = "Notional Market"
#: The types armed at a trigger (one leg each).
STOP_TYPES = frozenset({"Stop", "Stop Limit", "Trailing Stop"})
TIMES_IN_FORCE = ("Day", "GTC", "IOC")


@dataclass(frozen=True, kw_only=True)
class OrderLeg:
    """One leg: the instrument (resolved once: its price is its own quote), and its
    quantity: exact (a part of a share or a coin where the broker takes it), None in a
    `Notional Market` order, which the broker sizes when it fills."""

    instrument: Instrument
    action: str
    quantity: Decimal | None

    @classmethod
    def of(cls, symbol: str, action: str, quantity: Decimal | None) -> OrderLeg:
        """A leg of a symbol read by its spelling alone (no broker's facts)."""
        instrument = parse(symbol)
        if instrument is None:
            raise ValueError(f"{symbol!r} names no instrument")
        return cls(instrument=instrument, action=action, quantity=quantity)

    @property
    def symbol(self) -> str:
        """The contract's symbol: the instrument's feed symbol, its quote's key."""
        return self.instrument.symbol

    @property
    def kind(self) -> Kind:
        return self.instrument.kind

    @property
    def size(self) -> Decimal:
        """The quantity of a leg sized in units (every order but a `Notional Market`)."""
        if self.quantity is None:
            raise ValueError(f"{self.symbol}: a dollar amount's leg has no quantity")
        return self.quantity

    @property
    def whole(self) -> bool:
        return self.quantity is None or self.quantity == self.quantity.to_integral_value()

    @property
    def is_option(self) -> bool:
        """An equity option or an option on a future."""
        return self.instrument.kind.is_option

    @property
    def multiplier(self) -> Decimal:
        """Dollars per point of its price per unit (1 where not known)."""
        return self.instrument.multiplier or Decimal(1)

    def broker_symbol(self, broker: str) -> str:
        """The symbol `broker` takes in an order; `OrderRefused` when it cannot be told."""
        symbol = self.instrument.broker_symbol(broker)
        if symbol is None:
            raise OrderRefused(
                "unknown_symbol",
                f"{self.instrument.display}: the broker's own symbol is not known here; "
                "trade it from its position, or by the broker's symbol.",
            )
        return symbol

    @property
    def buys(self) -> bool:
        return self.action.startswith("Buy")


@dataclass(frozen=True, kw_only=True)
class OrderRequest:
    """What a ticket asks a broker to do, checked already (streaming/trading/input.py)."""

    account: str
    legs: tuple[OrderLeg, ...]
    order_type: str
    time_in_force: str
    #: Limit price per unit (a multi-leg's net price, positive); None for Market.
    price: Decimal | None = None
    #: The trigger of a Stop or Stop Limit; None for the others.
    stop_price: Decimal | None = None
    #: A Trailing Stop's trail: in dollars or in percent (one of the two).
    trail_amount: Decimal | None = None
    trail_percent: Decimal | None = None
    #: A `Notional Market` order's dollar amount (its leg has no quantity).
    notional: Decimal | None = None
    #: The client order id (`sd-<ticket id>`): tastytrade's external-identifier,
    #: Tradier's tag, Alpaca's client_order_id.
    client_order_id: str = ""
    #: The live quote's far side per unit (the ask for a buy), set by the owner: what a
    #: market order's cost is estimated at where the broker has no dry run (Alpaca).
    reference_price: Decimal | None = None

    @property
    def estimated_price(self) -> Decimal | None:
        """What one unit is priced at before it fills, unsigned: the limit, else a stop's
        trigger, else the live quote's far side (None without any)."""
        for price in (self.price, self.stop_price, self.reference_price):
            if price is not None:
                return price
        return None

    def pays_at(self, mids: Sequence[float | Decimal | None]) -> bool | None:
        """Whether the order pays (a debit) at its legs' mids, in leg order: the buys
        worth more than the sells; None where a leg has no mid."""
        if any(m is None for m in mids):
            return None
        net = sum(
            float(m) * float(leg.size) * (1 if leg.buys else -1)
            for m, leg in zip(mids, self.legs, strict=True)
            if m is not None
        )
        return net > 0


#: The linked orders a group can be: (trigger, number of orders after it).
LINKED = {"OCO": (False, 2), "OTO": (True, 1), "OTOCO": (True, 2)}


@dataclass(frozen=True, kw_only=True)
class LinkedOrder:
    """Orders the broker links (the contract's "Linked orders"): an OCO pair, an OTO
    (a trigger, then one order) or an OTOCO (a trigger, then an OCO pair: a bracket).
    Checked already (streaming/trading/input.py): one leg each, one symbol."""

    account: str
    complex: str
    trigger: OrderRequest | None
    orders: tuple[OrderRequest, ...]
    #: The group's client order id (the ticket's); its members carry it too.
    client_order_id: str = ""

    @property
    def members(self) -> tuple[OrderRequest, ...]:
        """Every order of the group, the trigger first."""
        return self.orders if self.trigger is None else (self.trigger, *self.orders)

    @property
    def first(self) -> OrderRequest:
        """What fills first (the trigger, else the first order): what a broker's preview
        of the group answers for."""
        return self.trigger or self.orders[0]

    @property
    def pair(self) -> tuple[OrderRequest, OrderRequest] | None:
        """The OCO pair as (take-profit, stop-loss), or None (an OTO)."""
        if len(self.orders) != 2:
            return None
        limit = next((o for o in self.orders if o.order_type == "Limit"), self.orders[0])
        stop = next(o for o in self.orders if o is not limit)
        return limit, stop

    def preview_of(self, result: PreviewResult) -> PreviewResult:
        """The group's preview from the broker's dry run of it, which answers for what fills
        first (the trigger). An OCO has no first (one of its orders fills, the other is
        cancelled): the one order's cost and what it leaves are no amount of the group."""
        if self.trigger is not None:
            return result
        return replace(result, cost=None, buying_power_after=None)


#: Which buying power a preview's figures are (`PreviewResult.buying_power_kind`).
BuyingPowerKind = Literal["equity", "derivative"]
#: The buying power an order of each kind uses (a coin's: the broker's one figure).
BUYING_POWER_KINDS: dict[Kind, BuyingPowerKind] = {
    Kind.EQUITY: "equity",
    Kind.EQUITY_OPTION: "derivative",
    Kind.FUTURE: "derivative",
    Kind.FUTURE_OPTION: "derivative",
}


@dataclass(kw_only=True)
class PreviewResult:
    """A dry run's answer, in US dollars; None where the broker gives no value."""

    #: "broker" (the broker's own dry run) or "app" (checks made here: Alpaca).
    checks: str
    cost: float | None = None
    fees: float | None = None
    buying_power_before: float | None = None
    buying_power_after: float | None = None
    #: Which buying power the two are, the one the order uses: "equity" (stock: the balance's
    #: `equity_buying_power`), "derivative" (options, futures: `derivative_buying_power`),
    #: None where the broker gives one figure for every kind.
    buying_power_kind: BuyingPowerKind | None = None
    margin_change: float | None = None
    warnings: list[str] = field(default_factory=list)
    #: The broker's answer as it came (for the audit trail: no header, token or secret).
    said: dict[str, Any] = field(default_factory=dict)


@dataclass(kw_only=True)
class PlaceResult:
    """A placed (or replaced, or cancelled) order: its broker id and the status the
    broker answered; `with_it`: the other orders the broker cancelled with it (a linked
    order's members, cancelled as one)."""

    order_id: str
    status: str
    said: dict[str, Any] = field(default_factory=dict)
    with_it: list[str] = field(default_factory=list)


class OrderRefused(Exception):
    """The broker (or the adapter, for what the broker does not take) refused: `code` is
    the contract's (`rejected`, `unsupported`, `unknown_symbol`, `not_found`), the message
    a sentence a trader can act on."""

    def __init__(self, code: str, message: str, said: Mapping[str, object] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.said = said or {}

    @property
    def status(self) -> int:
        """The HTTP status the refusal answers with: 404 for what does not exist, else 400."""
        return 404 if self.code == "not_found" else 400


@runtime_checkable
class SupportsOrders(Protocol):
    """An adapter that places orders (all three brokers). Every call may raise
    `OrderRefused` (the broker said no, in words) or a transport error (the answer is
    unknown: the caller reconciles by `find` before trying again)."""

    async def preview_order(self, order: OrderRequest) -> PreviewResult:
        """The broker's dry run (nothing placed), or the app's checks where none exists."""
        ...

    async def place_order(self, order: OrderRequest) -> PlaceResult:
        """Place `order` once, tagged with `order.client_order_id`."""
        ...

    async def find_order(self, account: str, client_order_id: str) -> PlaceResult | None:
        """The order of `account` tagged `client_order_id` (today's and working orders),
        or None: how a lost answer is reconciled."""
        ...

    async def replace_order(self, order_id: str, order: OrderRequest) -> PlaceResult:
        """Replace working order `order_id` with `order` (same legs); the answer's id is
        the order that works now (tastytrade and Alpaca: a new id; Tradier: the same)."""
        ...

    async def preview_linked(self, group: LinkedOrder) -> PreviewResult:
        """The broker's dry run of the whole group (or the app's checks of each member)."""
        ...

    async def place_linked(self, group: LinkedOrder) -> PlaceResult:
        """Place the group once, tagged with `group.client_order_id`; the answer's id is
        the group's at the broker (`find_order` finds it by the same tag)."""
        ...

    async def cancel_order(self, account: str, order_id: str) -> PlaceResult:
        """Ask the broker to cancel `order_id` (the Cancelled status comes over the stream);
        a linked order's member cancels its whole group, as the broker does it."""
        ...

    async def working_orders(self, account: str) -> list[str]:
        """The ids of `account`'s orders that can still change (for cancel-all): every
        member of a linked order, the contingent ones included."""
        ...
