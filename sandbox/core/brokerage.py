"""The sandbox's simulated brokerage: customers, accounts, positions, balances, orders, fills.

It is the state behind the fake tastytrade REST routes and account streamer. Prices come from
a `PriceSource` (the sandbox market); everything else is simulated here, deterministically:
the same seed, the same calls, the same clock and the same prices give the same events.

Life of an order: `place_order` accepts it as `Received`; the next `step()` makes it `Live`;
later steps fill it against the current quotes (a Market order at once, at the ask for buys
and the bid for sells; a Limit order once marketable, a larger one in 2-3 partial fills on
consecutive steps; an IOC order only at its first fill attempt, the rest cancelled there).
Every fill moves cash and positions and yields, in this order, an `Order`
event, one `CurrentPosition` event per leg and an `AccountBalance` event, ready for the account
streamer. Orders placed or cancelled through `place_order`/`cancel_order` come back as records:
the caller (the REST route) publishes those `Order` events itself; `step()` does not repeat them.

Everything leaves as a typed record (`records.py`); each broker façade renders them in its
own wire format, and builds the `OrderRequest` it places from its own wire input. Nothing
here knows a broker protocol.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import math
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, Protocol

from sandbox.core import chains
from sandbox.core.net_liq_history import TIME_BACK, NetLiqHistory
from sandbox.core.records import (
    EQUITY,
    EQUITY_OPTION,
    AccountRecord,
    BalanceFigures,
    FillRecord,
    LegRecord,
    LegRequest,
    MarginReport,
    MarginRequirement,
    NetLiqPoint,
    OrderPreview,
    OrderRecord,
    OrderRequest,
    PlacedOrder,
    PositionRecord,
    TransactionRecord,
)
from sandbox.core.trading_calendar import market_date

__all__ = [
    "AccountEvent",
    "Brokerage",
    "OrderRejected",
    "PriceSource",
    "parse_decimal",
    "snapshot_date",
]


class PriceSource(Protocol):
    """What the brokerage needs from the market (`sandbox.market.Market` fits)."""

    def ensure(self, symbol: str) -> bool:
        """Register a ticker or option streamer symbol; False if it cannot be priced."""
        ...

    def mid(self, symbol: str) -> float:
        """Current mid price."""
        ...

    def last(self, symbol: str) -> float:
        """Last trade price."""
        ...

    def quote(self, symbol: str) -> dict:
        """Current quote, at least `{"bidPrice": float, "askPrice": float}`."""
        ...

    def prev_close(self, symbol: str) -> float:
        """The previous day's close: the one number every quote and position reports."""
        ...


class OrderRejected(Exception):
    """An order request the broker refuses; the REST layer turns it into an error body.

    `status` is the HTTP status the real API would use (404 for unknown accounts/orders).
    """

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status


@dataclass(frozen=True)
class AccountEvent:
    """One change of an account, for every façade's push: the record of what changed."""

    kind: str  # "AccountBalance" | "CurrentPosition" | "Order"
    account_number: str
    record: BalanceFigures | PositionRecord | OrderRecord


# --------------------------------------------------------------------------- constants

_CENT = Decimal("0.01")
_TICK4 = Decimal("0.0001")
_ZERO = Decimal(0)
_FEE_PER_CONTRACT = Decimal("1.00")
_OPTION_MULTIPLIER = 100
_WORKING = ("Received", "Live")
_ACTION_SIGN = {"Buy to Open": 1, "Buy to Close": 1, "Sell to Open": -1, "Sell to Close": -1}
_TIME_IN_FORCE = (
    "Day",
    "GTC",
    "GTD",
    "Ext",
    "Ext Overnight",
    "GTC Ext",
    "GTC Ext Overnight",
    "IOC",
)
_ORDER_TYPES = ("Limit", "Market", "Marketable Limit")
#: a marketable Limit order at least this big (in order units) fills in 2-3 partial fills
_PARTIAL_FROM = {EQUITY: Decimal(100), EQUITY_OPTION: Decimal(3)}
_FIRST_ORDER_ID = 100001
_MAX_ORDERS = 20_000
_OCC_RE = re.compile(r"^([A-Z][A-Z0-9]{0,5})\s*(\d{6})([CP])(\d{8})$")
_TICKER_RE = re.compile(r"^[A-Z][A-Z0-9./]{0,9}$")

_MARGIN_SHORTS = ("TSLA", "NVDA", "AMD", "META")
_IRA_ETFS = ("VTI", "VOO", "SCHD", "QQQ", "VXUS", "BND")
_DEMO_MARGIN_TICKERS = ("SPY", "QQQ", "AAPL", "MSFT")
_DEMO_IRA_TICKERS = ("VTI", "VOO", "SCHD")


# --------------------------------------------------------------------------- instruments


@dataclass(frozen=True)
class _Instrument:
    """A tradeable symbol in both spellings: wire (ticker / OCC) and streamer (for prices)."""

    symbol: str
    streamer_symbol: str
    instrument_type: str
    underlying: str
    multiplier: int
    expires_on: date | None = None

    @property
    def expires_at(self) -> float | None:
        """Expiry as epoch seconds (21:00 UTC, the close on the expiration date)."""
        if self.expires_on is None:
            return None
        moment = datetime(*self.expires_on.timetuple()[:3], 21, tzinfo=UTC)
        return moment.timestamp()


def _strike_text(strike: Decimal) -> str:
    """Strike as the streamer spells it: `590`, `590.5`."""
    if strike == strike.to_integral_value():
        return str(int(strike))
    return format(strike.normalize(), "f")


def _option(root: str, expiry: date, call_put: str, strike: Decimal) -> _Instrument:
    """An equity option with its OCC symbol (`SPY   250221C00590000`) and `.SPY250221C590`."""
    ymd = expiry.strftime("%y%m%d")
    occ = f"{root:<6}{ymd}{call_put}{int(strike * 1000):08d}"
    streamer = f".{root}{ymd}{call_put}{_strike_text(strike)}"
    return _Instrument(occ, streamer, EQUITY_OPTION, root, _OPTION_MULTIPLIER, expiry)


def _occ_to_streamer(occ: str) -> str:
    """OCC option symbol to streamer symbol; '' if `occ` is not an OCC symbol."""
    match = _OCC_RE.match(occ.strip())
    if match is None:
        return ""
    root, ymd, call_put, strike = match.groups()
    return f".{root}{ymd}{call_put}{_strike_text(Decimal(strike) / 1000)}"


def _equity(ticker: str) -> _Instrument:
    return _Instrument(ticker, ticker, EQUITY, ticker, 1)


def _parse_instrument(symbol: Any, instrument_type: Any) -> _Instrument:
    """The instrument an order leg names, or OrderRejected for anything we cannot trade."""
    if not isinstance(symbol, str) or not symbol.strip():
        raise OrderRejected("invalid_symbol", "Each leg needs a symbol.")
    match = _OCC_RE.match(symbol.strip())
    kind = EQUITY_OPTION if match is not None else EQUITY
    if instrument_type is not None and instrument_type != kind:
        if instrument_type in (EQUITY, EQUITY_OPTION):
            raise OrderRejected(
                "invalid_symbol", f"{symbol!r} is not a valid {instrument_type} symbol."
            )
        raise OrderRejected(
            "unsupported_instrument_type", f"The sandbox does not trade {instrument_type!r}."
        )
    if match is not None:
        root, ymd, call_put, strike = match.groups()
        try:
            expiry = datetime.strptime(ymd, "%y%m%d").date()
        except ValueError:
            raise OrderRejected("invalid_symbol", f"Bad expiration in {symbol!r}.") from None
        return _option(root, expiry, call_put, Decimal(strike) / 1000)
    ticker = symbol.strip().upper()
    if not _TICKER_RE.match(ticker):
        raise OrderRejected("invalid_symbol", f"{symbol!r} is not a valid equity symbol.")
    return _equity(ticker)


# --------------------------------------------------------------------------- state


@dataclass
class _Position:
    instrument: _Instrument
    quantity: Decimal  # signed: negative is short
    average_open_price: Decimal
    created_at: float
    updated_at: float
    realized_today: Decimal = _ZERO  # signed: a gain is positive


@dataclass
class _Account:
    number: str
    customer_id: str
    margin: bool
    nickname: str
    type_name: str
    opened_at: float
    cash: Decimal
    positions: dict[str, _Position] = field(default_factory=dict)
    transactions: list[TransactionRecord] = field(default_factory=list)
    net_liq: NetLiqHistory = field(default_factory=lambda: NetLiqHistory([]))
    #: The positions the account opened with (bought before its ledger starts: their cost
    #: is in the opening deposit), as the first lots of any cost-basis report.
    opening: tuple[PositionRecord, ...] = ()


@dataclass
class _Fill:
    fill_id: str
    quantity: Decimal
    price: Decimal
    filled_at: float


@dataclass
class _Leg:
    instrument: _Instrument
    action: str
    quantity: Decimal
    ratio: Decimal  # leg quantity per unit of order size
    fills: list[_Fill] = field(default_factory=list)

    @property
    def sign(self) -> int:
        return _ACTION_SIGN[self.action]

    @property
    def remaining(self) -> Decimal:
        return self.quantity - sum((f.quantity for f in self.fills), _ZERO)


@dataclass
class _Order:
    id: int | None
    account_number: str
    time_in_force: str
    order_type: str
    legs: list[_Leg]
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
    filled_units: Decimal = _ZERO
    edited: bool = False
    replaces: int | None = None
    replaced_by: int | None = None

    @property
    def underlying(self) -> str:
        return self.legs[0].instrument.underlying


@dataclass(frozen=True)
class _Excess:
    """Balance figures plus the unfloored excess the buying-power check needs."""

    figures: BalanceFigures
    excess: Decimal


def _cents(value: Decimal) -> Decimal:
    return value.quantize(_CENT, rounding=ROUND_HALF_UP)


def _dec(value: float) -> Decimal:
    return Decimal(repr(float(value)))


def _finite_positive(value: Any) -> bool:
    return isinstance(value, int | float) and math.isfinite(value) and value > 0


def parse_decimal(raw: Any) -> Decimal | None:
    """A wire number (int, float or numeric string) as a Decimal; None if it is not one."""
    if isinstance(raw, bool) or raw is None:
        return None
    try:
        value = Decimal(str(raw).strip())
    except (InvalidOperation, ValueError):
        return None
    return value


def snapshot_date(now: float) -> date:
    """Today's date as the sandbox sees it (UTC, from the injected clock)."""
    return datetime.fromtimestamp(now, UTC).date()


# --------------------------------------------------------------------------- brokerage


class Brokerage:
    """A deterministic simulated broker behind the sandbox's REST and account-streamer routes.

    Usage::

        broker = Brokerage(market, seed=7)
        numbers = broker.open_customer("u1")
        placed = broker.place_order(numbers[0], order_request)
        for event in broker.step():        # call periodically
            push(event.kind, event.record)
    """

    def __init__(
        self,
        prices: PriceSource,
        seed: int = 7,
        clock: Callable[[], float] = time.time,
        first_order_id: int = _FIRST_ORDER_ID,
    ) -> None:
        self._prices = prices
        self._seed = seed
        self._clock = clock
        self._rng = random.Random(f"{seed}|runtime")
        self._accounts: dict[str, _Account] = {}
        self._customers: dict[str, list[str]] = {}
        self._orders: dict[int, _Order] = {}  # every order still remembered, by id
        self._working: dict[int, _Order] = {}  # Received or Live, by id
        # order and fill ids start at `first_order_id` (the sandbox derives it from its start
        # time, so a restart never reuses an id a client may remember)
        self._next_order_id = first_order_id
        self._next_fill_id = first_order_id
        self._demo_counts: dict[str, int] = {}
        self._next_transaction_id = first_order_id

    # ----------------------------------------------------------------- customers & accounts

    def open_customer(self, customer_id: str) -> list[str]:
        """Create (once) the customer's demo accounts and return their numbers.

        Everything is derived from the seed and the customer id, so a customer sees the same
        accounts every time the sandbox starts with the same seed and prices.
        """
        if customer_id in self._customers:
            return list(self._customers[customer_id])
        rng = random.Random(f"{self._seed}|customer|{customer_id}")
        now = self._clock()
        margin = _Account(
            number=self._new_account_number(customer_id, 0),
            customer_id=customer_id,
            margin=True,
            nickname="Individual",
            type_name="Individual",
            opened_at=now - rng.randint(400, 2500) * 86400.0,
            cash=Decimal(rng.randint(25_000, 100_000)) + Decimal(rng.randint(0, 99)) / 100,
        )
        self._accounts[margin.number] = margin
        ira = _Account(
            number=self._new_account_number(customer_id, 1),
            customer_id=customer_id,
            margin=False,
            nickname="Roth IRA",
            type_name="Roth IRA",
            opened_at=now - rng.randint(100, 1500) * 86400.0,
            cash=Decimal(rng.randint(5_000, 30_000)) + Decimal(rng.randint(0, 99)) / 100,
        )
        self._accounts[ira.number] = ira
        self._seed_margin_positions(margin, rng, now)
        self._seed_ira_positions(ira, rng, now)
        for acct in (margin, ira):
            self._open_books(acct, now)
        self._customers[customer_id] = [margin.number, ira.number]
        return [margin.number, ira.number]

    def accounts(self, customer_id: str) -> list[AccountRecord]:
        """The customer's accounts (empty if the customer was never opened)."""
        return [
            self._account_record(self._accounts[n]) for n in self._customers.get(customer_id, [])
        ]

    def account(self, account_number: str) -> AccountRecord | None:
        """One account, or None for an unknown account."""
        acct = self._accounts.get(account_number)
        return None if acct is None else self._account_record(acct)

    def owner(self, account_number: str) -> str | None:
        """The customer id owning the account, so routes can refuse other customers' accounts."""
        acct = self._accounts.get(account_number)
        return None if acct is None else acct.customer_id

    # ----------------------------------------------------------------- balances & positions

    def balance(self, account_number: str) -> BalanceFigures:
        """The balance marked at current prices (KeyError for unknown accounts)."""
        acct = self._accounts[account_number]
        return self._figures(acct).figures

    def positions(self, account_number: str) -> list[PositionRecord]:
        """The open positions, marked now."""
        acct = self._accounts[account_number]
        return [self._position_record(acct, p) for p in acct.positions.values()]

    def opening_positions(self, account_number: str) -> list[PositionRecord]:
        """The positions the account opened with, as they were then: the first lots
        before the ledger's first trade (the ledger books no trades for them)."""
        return list(self._accounts[account_number].opening)

    def position_symbols(self, account_number: str) -> list[str]:
        """Streamer symbols of the open positions, for the quote subscriptions."""
        acct = self._accounts.get(account_number)
        if acct is None:
            return []
        return [p.instrument.streamer_symbol for p in acct.positions.values()]

    def balance_events(self) -> list[AccountEvent]:
        """A fresh AccountBalance event for every open account (pushed periodically)."""
        return [
            AccountEvent("AccountBalance", n, self._figures(a).figures)
            for n, a in self._accounts.items()
        ]

    # ----------------------------------------------------------------- orders

    def place_order(
        self, account_number: str, request: OrderRequest, *, dry_run: bool = False
    ) -> PlacedOrder:
        """Validate and accept an order; return it with its buying-power effect and fees.

        Raises OrderRejected for anything the broker refuses. A dry run changes nothing and
        returns an order without an `id`. The caller publishes the accepted order's
        `Received` event (`placed.order`).
        """
        acct = self._accounts.get(account_number)
        if acct is None:
            raise OrderRejected("account_not_found", f"Unknown account {account_number}.", 404)
        order = self._parse_order(acct, request, self._clock())
        preview = self._preview(acct, order)
        if not dry_run:
            self._accept(order)
        return PlacedOrder(self._order_record(order), preview)

    def cancel_order(self, account_number: str, order_id: int) -> OrderRecord:
        """Cancel a working order and return it (the caller publishes it as an Order event)."""
        order = self._find_order(account_number, order_id)
        if order.status not in _WORKING:
            raise OrderRejected(
                "order_not_cancellable",
                f"Order {order_id} is {order.status} and cannot be cancelled.",
            )
        self._cancel(order)
        return self._order_record(order)

    def live_orders(self, account_number: str) -> list[OrderRecord]:
        """Orders working now or finished today, as GET /orders/live returns them."""
        today = snapshot_date(self._clock())
        return [
            self._order_record(o)
            for o in self._orders.values()
            if o.account_number == account_number
            and (o.status in _WORKING or snapshot_date(o.updated_at) == today)
        ]

    def order(self, account_number: str, order_id: int) -> OrderRecord | None:
        """One order of the account, or None."""
        order = self._orders.get(order_id)
        if order is None or order.account_number != account_number:
            return None
        return self._order_record(order)

    def order_history(
        self,
        account_number: str,
        *,
        statuses: set[str] | None = None,
        underlying_symbol: str | None = None,
        symbol: str | None = None,
        start: float | None = None,
        end: float | None = None,
    ) -> list[OrderRecord]:
        """Every remembered order of the account, terminal ones included, newest first;
        `start`/`end` bound the time it was received (end exclusive)."""
        self._require_account(account_number)
        found = []
        for o in self._orders.values():
            if o.account_number != account_number:
                continue
            if statuses and o.status not in statuses:
                continue
            if underlying_symbol and o.underlying != underlying_symbol:
                continue
            if symbol and all(leg.instrument.symbol != symbol for leg in o.legs):
                continue
            if (start is not None and o.received_at < start) or (
                end is not None and o.received_at >= end
            ):
                continue
            found.append(o)
        found.sort(key=lambda o: (o.received_at, o.id or 0), reverse=True)
        return [self._order_record(o) for o in found]

    def order_by_client_id(self, account_number: str, client_order_id: str) -> OrderRecord | None:
        """The newest order of the account placed with this client order id, or None."""
        for o in sorted(self._orders.values(), key=lambda o: o.id or 0, reverse=True):
            if o.account_number == account_number and o.client_order_id == client_order_id:
                return self._order_record(o)
        return None

    def replace_order(
        self, account_number: str, order_id: int, request: OrderRequest
    ) -> PlacedOrder:
        """Cancel a working order and place its replacement in one step (new id).

        The replacement keeps the old order's legs (what is left of them) unless `request`
        names legs of its own; it takes the request's type, time in force and price. The old
        order ends `Cancelled` and points at its replacement. The caller publishes both
        (`placed.replaced` then `placed.order`).
        """
        old = self._find_order(account_number, order_id)
        if old.status not in _WORKING:
            raise OrderRejected(
                "order_not_replaceable",
                f"Order {order_id} is {old.status} and cannot be replaced.",
            )
        acct = self._accounts[account_number]
        legs = request.legs or tuple(
            LegRequest(
                symbol=leg.instrument.symbol,
                action=leg.action,
                quantity=leg.remaining,
                instrument_type=leg.instrument.instrument_type,
            )
            for leg in old.legs
        )
        merged = OrderRequest(
            order_type=request.order_type,
            legs=legs,
            time_in_force=request.time_in_force,
            price=request.price,
            price_effect=request.price_effect,
            source=request.source or old.source,
            client_order_id=request.client_order_id or old.client_order_id,
        )
        self._working.pop(order_id, None)  # the old order's sells must not count twice
        try:
            order = self._parse_order(acct, merged, self._clock())
            preview = self._preview(acct, order)
        except OrderRejected:
            self._working[order_id] = old
            raise
        self._cancel(old)
        self._accept(order)
        order.replaces, old.replaced_by = old.id, order.id
        return PlacedOrder(self._order_record(order), preview, replaced=self._order_record(old))

    def modify_order(
        self,
        account_number: str,
        order_id: int,
        *,
        order_type: str | None = None,
        time_in_force: str | None = None,
        price: Decimal | None = None,
        price_effect: str | None = None,
    ) -> OrderRecord:
        """Change a working order in place (same id, `edited`), as Tradier's PUT does.

        Only what is given changes; the result is checked like a new order. The caller
        publishes the returned order.
        """
        order = self._find_order(account_number, order_id)
        if order.status not in _WORKING:
            raise OrderRejected(
                "order_not_editable", f"Order {order_id} is {order.status} and cannot be changed."
            )
        acct = self._accounts[account_number]
        new_type = order_type or order.order_type
        if new_type not in _ORDER_TYPES:
            raise OrderRejected(
                "unsupported_order_type", f"Order type {new_type!r} is not supported."
            )
        new_tif = time_in_force or order.time_in_force
        if new_tif not in _TIME_IN_FORCE:
            raise OrderRejected("invalid_time_in_force", f"Unknown time-in-force {new_tif!r}.")
        limit = None
        if new_type != "Market":
            if price is None and order.limit is not None:
                limit = order.limit
            else:
                request = OrderRequest(new_type, (), price=price, price_effect=price_effect)
                limit = self._signed_limit(request, order.legs)
        saved = (order.order_type, order.time_in_force, order.limit)
        order.order_type, order.time_in_force, order.limit = new_type, new_tif, limit
        try:
            self._preview(acct, order)
        except OrderRejected:
            order.order_type, order.time_in_force, order.limit = saved
            raise
        order.edited = True
        order.updated_at = self._clock()
        return self._order_record(order)

    def cancel_all(self, account_number: str) -> list[OrderRecord]:
        """Cancel every working order of the account; the cancelled orders, oldest first."""
        self._require_account(account_number)
        working = [o for o in self._working.values() if o.account_number == account_number]
        for order in working:
            self._cancel(order)
        return [self._order_record(o) for o in working]

    def close_position(
        self,
        account_number: str,
        symbol: str,
        quantity: Decimal | None = None,
        *,
        source: str | None = None,
        client_order_id: str | None = None,
    ) -> PlacedOrder:
        """Place a Market order closing all (or `quantity`) of a position."""
        acct = self._require_account(account_number)
        pos = acct.positions.get(symbol)
        if pos is None or pos.quantity == 0:
            raise OrderRejected("position_not_found", f"No open position in {symbol}.", 404)
        held = abs(pos.quantity)
        qty = held if quantity is None else quantity
        if not isinstance(qty, Decimal) or qty <= 0 or qty > held:
            raise OrderRejected(
                "invalid_quantity", f"Can close between 1 and {held} of {symbol}, not {qty}."
            )
        action = "Sell to Close" if pos.quantity > 0 else "Buy to Close"
        request = OrderRequest(
            order_type="Market",
            legs=(LegRequest(symbol, action, qty, pos.instrument.instrument_type),),
            source=source,
            client_order_id=client_order_id,
        )
        return self.place_order(account_number, request)

    # ----------------------------------------------------------------- books

    def transactions(self, account_number: str) -> list[TransactionRecord]:
        """The account's ledger, oldest first: the opening deposit, then one trade per fill
        of each leg (value, commission and net value)."""
        return list(self._require_account(account_number).transactions)

    def transaction(self, account_number: str, transaction_id: int) -> TransactionRecord | None:
        for t in self._require_account(account_number).transactions:
            if t.id == transaction_id:
                return t
        return None

    def net_liq_history(
        self, account_number: str, *, time_back: str | None = None, start: float | None = None
    ) -> list[NetLiqPoint]:
        """Net-liq points since `start` (or `time_back`: 1d, 1m, 3m, 6m, 1y, all), oldest
        first; the last point is the current net liquidating value."""
        acct = self._require_account(account_number)
        now = self._clock()
        if start is None:
            if time_back not in (*TIME_BACK, "all"):
                raise OrderRejected(
                    "invalid_time_back",
                    f"time-back must be one of {', '.join((*TIME_BACK, 'all'))}.",
                )
            start = None if time_back == "all" else now - TIME_BACK[time_back]
        acct.net_liq.record(now, self._figures(acct).figures.net_liquidating_value)
        return acct.net_liq.since(start)

    def margin_requirements(self, account_number: str) -> MarginReport:
        """Maintenance requirement per underlying, with the same rates as the balance, so the
        entries add up to the balance's `maintenance_requirement`."""
        acct = self._require_account(account_number)
        figures = self._figures(acct).figures
        groups: dict[
            str, list[Decimal]
        ] = {}  # underlying -> [long eq, short eq, long der, short der]
        for pos in acct.positions.values():
            value = self._position_value(pos)
            slot = groups.setdefault(pos.instrument.underlying, [_ZERO] * 4)
            option = pos.instrument.instrument_type != EQUITY
            slot[(2 if option else 0) + (0 if pos.quantity > 0 else 1)] += value
        entries = []
        for underlying in sorted(groups):
            long_eq, short_eq, long_der, short_der = groups[underlying]
            if acct.margin:
                maintenance = _cents(
                    Decimal("0.25") * long_eq + Decimal("0.30") * short_eq + long_der + short_der
                )
                initial = _cents(Decimal("0.5") * (long_eq + short_eq) + long_der + short_der)
            else:
                maintenance = initial = _ZERO
            entries.append(
                MarginRequirement(
                    underlying_symbol=underlying,
                    description=underlying,
                    long_equity_value=long_eq,
                    short_equity_value=short_eq,
                    long_derivative_value=long_der,
                    short_derivative_value=short_der,
                    maintenance_requirement=maintenance,
                    initial_requirement=initial,
                    buying_power=maintenance,
                )
            )
        # per-underlying rounding may leave a cent: the balance is the truth, adjust the largest
        total = sum((e.maintenance_requirement for e in entries), _ZERO)
        drift = figures.maintenance_requirement - total
        if drift and entries:
            big = max(range(len(entries)), key=lambda i: entries[i].maintenance_requirement)
            e = entries[big]
            entries[big] = MarginRequirement(
                **{
                    **e.__dict__,
                    "maintenance_requirement": e.maintenance_requirement + drift,
                    "buying_power": e.buying_power + drift,
                }
            )
        return MarginReport(
            account_number=acct.number,
            margin=acct.margin,
            entries=tuple(entries),
            maintenance_requirement=figures.maintenance_requirement,
            initial_requirement=figures.reg_t_margin_requirement,
            net_liquidating_value=figures.net_liquidating_value,
            excess=figures.maintenance_excess,
        )

    def step(self) -> list[AccountEvent]:
        """Advance every working order one tick against current prices; return events to push.

        Per working order, in id order: `Received` -> `Live` (one Order event), or a fill
        (Order, one CurrentPosition per leg, AccountBalance). An IOC order gets one fill
        attempt: what it leaves (all of it when not marketable, the rest of a big order's
        planned fills) is cancelled in the same step (one more Order event, fills kept).
        """
        events: list[AccountEvent] = []
        for order in list(self._working.values()):
            if order.status == "Received":
                now = self._clock()
                order.status, order.live_at, order.updated_at = "Live", now, now
                events.append(self._order_event(order))
            elif order.status == "Live":
                events.extend(self._try_fill(order))
                if order.time_in_force == "IOC" and order.status == "Live":
                    events.append(self._cancel(order))  # immediate or cancel
        return events

    def demo_order(self, account_number: str) -> list[AccountEvent]:
        """Place a small realistic order (or cancel a stale one) to keep the demo lively.

        Deterministic per seed, account and call count. Returns the events to push now (the
        order's `Received` event); the order then progresses through `step()`.
        """
        acct = self._accounts.get(account_number)
        if acct is None:
            return []
        count = self._demo_counts.get(account_number, 0) + 1
        self._demo_counts[account_number] = count
        rng = random.Random(f"{self._seed}|demo|{account_number}|{count}")
        working = [o for o in self._working.values() if o.account_number == account_number]
        if len(working) >= 3:
            return [self._cancel(working[0])]
        now = self._clock()
        for request in self._demo_requests(acct, rng):
            try:
                order = self._parse_order(acct, request, now)
                self._preview(acct, order)
            except OrderRejected:
                continue
            self._accept(order)
            return [self._order_event(order)]
        return []

    # ----------------------------------------------------------------- internals: setup

    def _new_account_number(self, customer_id: str, index: int) -> str:
        """`5WT` + 5 digits from a hash of seed and customer; probe on a collision."""
        digest = hashlib.sha256(f"{self._seed}|{customer_id}|{index}".encode()).digest()
        n = int.from_bytes(digest[:8], "big") % 99999 + 1
        for _ in range(99999):
            number = f"5WT{n:05d}"
            if number not in self._accounts:
                return number
            n = n % 99999 + 1
        raise RuntimeError("the sandbox ran out of account numbers")

    def _seed_margin_positions(self, acct: _Account, rng: random.Random, now: float) -> None:
        """A few equities (one short) and one or two SPY/QQQ options about 30-60 days out."""
        short = rng.choice(_MARGIN_SHORTS)
        for ticker, qty in (("SPY", 10), ("AAPL", 50), (short, -rng.choice((10, 15, 20, 25)))):
            self._seed_position(acct, _equity(ticker), Decimal(qty), rng, now, spread=0.06)
        expiry = self._option_expiry(market_date(now), rng)
        specs = [("SPY", "C", rng.choice((1, 2, 3)))]
        if rng.random() < 0.6:
            specs.append(("QQQ", "P", -1))
        for root, call_put, qty in specs:
            if not self._prices.ensure(root):
                continue
            underlying = _dec(self._prices.mid(root))
            strike = Decimal(int((underlying / 5).to_integral_value(ROUND_HALF_UP)) * 5)
            if call_put == "P":
                strike -= 5
            instrument = _option(root, expiry, call_put, strike)
            self._seed_position(acct, instrument, Decimal(qty), rng, now, spread=0.25)

    def _seed_ira_positions(self, acct: _Account, rng: random.Random, now: float) -> None:
        """Two long-term ETF holdings."""
        for ticker in rng.sample(_IRA_ETFS, 2):
            qty = Decimal(rng.randint(4, 16) * 5)
            self._seed_position(acct, _equity(ticker), qty, rng, now, spread=0.12)

    def _seed_position(
        self,
        acct: _Account,
        instrument: _Instrument,
        qty: Decimal,
        rng: random.Random,
        now: float,
        *,
        spread: float,
    ) -> None:
        """Open a starting position with an average price near the current price."""
        if not self._prices.ensure(instrument.streamer_symbol):
            return
        mark = self._mark(instrument.streamer_symbol)
        if mark <= 0:
            return
        average = _cents(mark * _dec(1 + rng.uniform(-spread, spread / 2)))
        opened = now - rng.randint(3, 25) * 86400.0
        acct.positions[instrument.symbol] = _Position(
            instrument=instrument,
            quantity=qty,
            average_open_price=max(average, _CENT),
            created_at=opened,
            updated_at=opened,
        )

    @staticmethod
    def _option_expiry(today: date, rng: random.Random) -> date:
        """A monthly expiration 30-60 days out, else the last listed expiration in range
        (the chains' dates: a holiday Friday's expiration is the Thursday before)."""
        first, last = today + timedelta(days=30), today + timedelta(days=60)
        candidates = []
        for months_ahead in range(0, 4):
            year = today.year + (today.month - 1 + months_ahead) // 12
            month = (today.month - 1 + months_ahead) % 12 + 1
            monthly = chains.monthly_expiration(year, month)
            if first <= monthly <= last:
                candidates.append(monthly)
        if candidates:
            return rng.choice(candidates)
        expiry = chains.listed_expiration(last)
        return expiry if expiry <= last else chains.listed_expiration(last - timedelta(days=7))

    # ----------------------------------------------------------------- internals: prices

    def _close_price(self, streamer_symbol: str) -> Decimal:
        """Yesterday's close: the market's, so positions and quotes agree (the mark when
        the market has none)."""
        try:
            value = self._prices.prev_close(streamer_symbol)
        except (KeyError, ValueError):
            value = 0.0
        if _finite_positive(value):
            return _dec(value).quantize(_TICK4, rounding=ROUND_HALF_UP)
        return self._mark(streamer_symbol)

    def _mark(self, streamer_symbol: str) -> Decimal:
        """Current mark (mid, falling back to last), 4 decimals; 0 if the market has none."""
        for getter in (self._prices.mid, self._prices.last):
            try:
                value = getter(streamer_symbol)
            except (KeyError, ValueError):
                continue
            if _finite_positive(value):
                return _dec(value).quantize(_TICK4, rounding=ROUND_HALF_UP)
        return _ZERO

    def _bid_ask(self, streamer_symbol: str) -> tuple[Decimal, Decimal]:
        """Current bid and ask to the cent (the mark on both sides if the quote is unusable)."""
        try:
            quote = self._prices.quote(streamer_symbol)
        except (KeyError, ValueError):
            quote = {}
        bid, ask = quote.get("bidPrice"), quote.get("askPrice")
        if _finite_positive(bid) and _finite_positive(ask) and ask >= bid:
            return _cents(_dec(bid)), _cents(_dec(ask))
        mark = _cents(self._mark(streamer_symbol))
        return mark, mark

    def _leg_price(self, leg: _Leg) -> Decimal:
        """The price a leg trades at now: the ask when buying, the bid when selling."""
        bid, ask = self._bid_ask(leg.instrument.streamer_symbol)
        return ask if leg.sign > 0 else bid

    def _market_net(self, order: _Order) -> Decimal:
        """Net price per order unit at current quotes, signed like the SDK (debit negative)."""
        return sum((-leg.sign * leg.ratio * self._leg_price(leg) for leg in order.legs), _ZERO)

    # ----------------------------------------------------------------- internals: balances

    def _figures(self, acct: _Account) -> _Excess:
        """Balance figures from cash and positions marked now; net-liq = cash + long - short."""
        now = self._clock()
        long_eq = short_eq = long_der = short_der = _ZERO
        for pos in acct.positions.values():
            value = _cents(
                self._mark(pos.instrument.streamer_symbol)
                * abs(pos.quantity)
                * pos.instrument.multiplier
            )
            if pos.instrument.instrument_type == EQUITY:
                if pos.quantity > 0:
                    long_eq += value
                else:
                    short_eq += value
            elif pos.quantity > 0:
                long_der += value
            else:
                short_der += value
        cash = _cents(acct.cash)
        net_liq = cash + long_eq + long_der - short_eq - short_der
        if acct.margin:
            maintenance = _cents(
                Decimal("0.25") * long_eq + Decimal("0.30") * short_eq + long_der + short_der
            )
            reg_t = _cents(Decimal("0.5") * (long_eq + short_eq) + long_der + short_der)
            excess = net_liq - maintenance
            free = max(excess, _ZERO)
            figures = BalanceFigures(
                account_number=acct.number,
                cash_balance=cash,
                long_equity_value=long_eq,
                short_equity_value=short_eq,
                long_derivative_value=long_der,
                short_derivative_value=short_der,
                net_liquidating_value=net_liq,
                long_margineable_value=long_eq,
                short_margineable_value=short_eq,
                margin_equity=net_liq,
                equity_buying_power=2 * free,
                derivative_buying_power=free,
                day_trading_buying_power=4 * free if net_liq >= 25_000 else _ZERO,
                available_trading_funds=free,
                cash_available_to_withdraw=max(min(cash, excess), _ZERO),
                maintenance_requirement=maintenance,
                maintenance_call_value=max(-excess, _ZERO),
                maintenance_excess=free,
                reg_t_margin_requirement=reg_t,
                used_derivative_buying_power=long_der + short_der,
                day_trade_excess=free,
                as_of=now,
            )
            return _Excess(figures, excess)
        free = max(cash, _ZERO)
        figures = BalanceFigures(
            account_number=acct.number,
            cash_balance=cash,
            long_equity_value=long_eq,
            short_equity_value=short_eq,
            long_derivative_value=long_der,
            short_derivative_value=short_der,
            net_liquidating_value=net_liq,
            long_margineable_value=_ZERO,
            short_margineable_value=_ZERO,
            margin_equity=net_liq,
            equity_buying_power=free,
            derivative_buying_power=free,
            day_trading_buying_power=_ZERO,
            available_trading_funds=free,
            cash_available_to_withdraw=free,
            maintenance_requirement=_ZERO,
            maintenance_call_value=_ZERO,
            maintenance_excess=free,
            reg_t_margin_requirement=_ZERO,
            used_derivative_buying_power=_ZERO,
            day_trade_excess=_ZERO,
            as_of=now,
        )
        return _Excess(figures, cash)

    # ----------------------------------------------------------------- internals: orders

    def _parse_order(self, acct: _Account, request: OrderRequest, now: float) -> _Order:
        """Turn an order request into an unaccepted `_Order`, or raise OrderRejected."""
        if not isinstance(request, OrderRequest):
            raise OrderRejected("invalid_order", "The order must be an OrderRequest.")
        order_type = request.order_type
        if order_type not in _ORDER_TYPES:
            raise OrderRejected(
                "unsupported_order_type",
                f"Order type {order_type!r} is not supported (use Limit or Market).",
            )
        tif = request.time_in_force
        if tif not in _TIME_IN_FORCE:
            raise OrderRejected("invalid_time_in_force", f"Unknown time-in-force {tif!r}.")
        if not request.legs or len(request.legs) > 4:
            raise OrderRejected("invalid_legs", "An order needs 1 to 4 legs.")
        parsed: list[tuple[_Instrument, str, Decimal]] = []
        for raw in request.legs:
            instrument = _parse_instrument(raw.symbol, raw.instrument_type)
            if raw.action not in _ACTION_SIGN:
                raise OrderRejected("invalid_action", f"Unsupported leg action {raw.action!r}.")
            qty = self._check_quantity(raw.quantity)
            if instrument.expires_on is not None and instrument.expires_on < snapshot_date(now):
                raise OrderRejected("option_expired", f"{instrument.symbol} has expired.")
            if not self._prices.ensure(instrument.streamer_symbol):
                raise OrderRejected("unknown_symbol", f"Unknown symbol {instrument.symbol!r}.")
            parsed.append((instrument, raw.action, qty))
        if len({i.underlying for i, _, _ in parsed}) != 1:
            raise OrderRejected("invalid_legs", "All legs must share one underlying.")
        if len({i.symbol for i, _, _ in parsed}) != len(parsed):
            raise OrderRejected("invalid_legs", "A symbol may appear in one leg only.")
        size = Decimal(math.gcd(*(int(q) for _, _, q in parsed)))
        legs = [_Leg(i, a, q, q / size) for i, a, q in parsed]
        limit = None
        if order_type != "Market":
            limit = self._signed_limit(request, legs)
        client_id = request.client_order_id
        order = _Order(
            id=None,
            account_number=acct.number,
            time_in_force=tif,
            order_type=order_type,
            legs=legs,
            size=size,
            limit=limit,
            status="Received",
            received_at=now,
            updated_at=now,
            chunks=[],
            source=request.source,
            client_order_id=client_id[:128] if client_id else None,
        )
        self._check_account_rules(acct, order)
        return order

    @staticmethod
    def _check_quantity(qty: Decimal) -> Decimal:
        if not isinstance(qty, Decimal) or not qty.is_finite() or qty <= 0:
            raise OrderRejected("invalid_quantity", "Quantity must be greater than zero.")
        if qty != qty.to_integral_value():
            raise OrderRejected("invalid_quantity", "Fractional quantities are not supported.")
        return qty

    @staticmethod
    def _signed_limit(request: OrderRequest, legs: list[_Leg]) -> Decimal:
        """Signed limit per order unit from price + effect (negative = debit)."""
        value = request.price
        if value is None:
            raise OrderRejected("price_required", "A Limit order needs a price.")
        if not isinstance(value, Decimal) or not value.is_finite() or value < 0:
            raise OrderRejected("invalid_price", "Price must be a non-negative number.")
        price_effect = request.price_effect
        if price_effect not in ("Debit", "Credit", "None", None):
            raise OrderRejected("invalid_price_effect", f"Bad price-effect {price_effect!r}.")
        if price_effect in ("None", None):
            # infer from the legs: a net buy pays
            buying = sum(leg.sign * leg.ratio for leg in legs) > 0
            price_effect = "Debit" if buying else "Credit"
        return -value if price_effect == "Debit" else value

    def _check_account_rules(self, acct: _Account, order: _Order) -> None:
        """A cash account cannot go short, counting the sells already working."""
        if acct.margin:
            return
        for leg in order.legs:
            symbol = leg.instrument.symbol
            pos = acct.positions.get(symbol)
            held = pos.quantity if pos else _ZERO
            working_sells = sum(
                (
                    other.remaining
                    for o in self._working.values()
                    if o.account_number == acct.number
                    for other in o.legs
                    if other.instrument.symbol == symbol and other.sign < 0
                ),
                _ZERO,
            )
            if leg.sign < 0 and held - working_sells - leg.quantity < 0:
                raise OrderRejected(
                    "short_not_allowed", f"A {acct.type_name} account cannot hold short positions."
                )

    def _preview(self, acct: _Account, order: _Order) -> OrderPreview:
        """Buying-power effect and fees of filling the whole order now; refuse if unaffordable."""
        # positions are all a fill changes; the books (ledger, history) are not copied
        trial = dataclasses.replace(acct, positions=copy.deepcopy(acct.positions), transactions=[])
        for leg in order.legs:
            fill_price = self._leg_price(leg)
            if order.limit is not None and len(order.legs) == 1:
                fill_price = abs(order.limit)
            self._apply_leg_fill(trial, leg, leg.quantity, fill_price, now=order.received_at)
        fees = self._fees(order.legs, None)
        trial.cash -= fees
        before, after = self._figures(acct), self._figures(trial)
        if after.excess < 0 and after.excess < before.excess:
            raise OrderRejected(
                "insufficient_buying_power",
                "This order exceeds the account's buying power.",
            )
        b, a = before.figures, after.figures
        if acct.margin:
            requirement_change = a.maintenance_requirement - b.maintenance_requirement
        else:
            requirement_change = max(b.cash_balance - a.cash_balance, _ZERO)
        return OrderPreview(
            change_in_margin_requirement=-requirement_change,
            change_in_buying_power=a.derivative_buying_power - b.derivative_buying_power,
            current_buying_power=b.derivative_buying_power,
            new_buying_power=a.derivative_buying_power,
            isolated_order_margin_requirement=-abs(requirement_change),
            is_spread=len(order.legs) > 1,
            commission=fees,
        )

    @staticmethod
    def _fees(legs: list[_Leg], units: Decimal | None) -> Decimal:
        """Commission: 1.00 per option contract, nothing for equities."""
        total = _ZERO
        for leg in legs:
            if leg.instrument.instrument_type == EQUITY_OPTION:
                qty = leg.quantity if units is None else leg.ratio * units
                total += qty * _FEE_PER_CONTRACT
        return total

    def _accept(self, order: _Order) -> None:
        """Give the order its id and fill plan, and start tracking it."""
        order.id = self._next_order_id
        self._next_order_id += 1
        order.chunks = self._plan_chunks(order)
        self._orders[order.id] = order
        self._working[order.id] = order
        if len(self._orders) > _MAX_ORDERS:
            self._forget_old_orders()

    def _forget_old_orders(self) -> None:
        """Bound memory for a long-running demo: drop the oldest finished orders."""
        excess = len(self._orders) - _MAX_ORDERS
        for order_id in [i for i, o in self._orders.items() if o.status not in _WORKING][:excess]:
            del self._orders[order_id]

    def _plan_chunks(self, order: _Order) -> list[Decimal]:
        """Fill sizes: one fill, or 2-3 partial fills for a big enough Limit order."""
        threshold = min(_PARTIAL_FROM[leg.instrument.instrument_type] for leg in order.legs)
        units = int(order.size)
        if order.order_type == "Market" or order.size < threshold or units < 2:
            return [order.size]
        parts = min(self._rng.choice((2, 3)), units)
        cuts = sorted(self._rng.sample(range(1, units), parts - 1))
        bounds = [0, *cuts, units]
        return [Decimal(bounds[i + 1] - bounds[i]) for i in range(parts)]

    def _require_account(self, account_number: str) -> _Account:
        acct = self._accounts.get(account_number)
        if acct is None:
            raise OrderRejected("account_not_found", f"Unknown account {account_number}.", 404)
        return acct

    def _position_value(self, pos: _Position) -> Decimal:
        """Market value of a position (unsigned), as the balance marks it."""
        return _cents(
            self._mark(pos.instrument.streamer_symbol)
            * abs(pos.quantity)
            * pos.instrument.multiplier
        )

    def _open_books(self, acct: _Account, now: float) -> None:
        """The opening deposit (the cash the account started with, plus what its starting
        positions cost) and a seeded back-history ending at today's net-liq."""
        acct.opening = tuple(self._position_record(acct, p) for p in acct.positions.values())
        cost = sum(
            (
                p.quantity * p.average_open_price * p.instrument.multiplier
                for p in acct.positions.values()
            ),
            _ZERO,
        )
        deposit = _cents(acct.cash + cost)
        acct.transactions.append(
            TransactionRecord(
                id=self._new_transaction_id(),
                account_number=acct.number,
                transaction_type="Money Movement",
                transaction_sub_type="Deposit",
                description="Opening deposit",
                executed_at=acct.opened_at,
                value=deposit,
                net_value=deposit,
            )
        )
        net_liq = self._figures(acct).figures.net_liquidating_value
        acct.net_liq = NetLiqHistory(f"{self._seed}|netliq|{acct.number}", net_liq, now)
        acct.net_liq.record(now, net_liq)

    def _new_transaction_id(self) -> int:
        self._next_transaction_id += 1
        return self._next_transaction_id - 1

    def _book_fill(self, acct: _Account, order: _Order, leg: _Leg, fill: _Fill) -> None:
        """One trade transaction for one leg fill: gross value, commission, net value."""
        instrument = leg.instrument
        value = _cents(-leg.sign * fill.quantity * fill.price * instrument.multiplier)
        commission = (
            fill.quantity * _FEE_PER_CONTRACT
            if instrument.instrument_type == EQUITY_OPTION
            else _ZERO
        )
        verb = "Bought" if leg.sign > 0 else "Sold"
        acct.transactions.append(
            TransactionRecord(
                id=self._new_transaction_id(),
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
        )

    def _find_order(self, account_number: str, order_id: int) -> _Order:
        if account_number not in self._accounts:
            raise OrderRejected("account_not_found", f"Unknown account {account_number}.", 404)
        order = self._orders.get(order_id)
        if order is None or order.account_number != account_number:
            raise OrderRejected("order_not_found", f"Order {order_id} not found.", 404)
        return order

    def _cancel(self, order: _Order) -> AccountEvent:
        now = self._clock()
        order.status = "Cancelled"
        self._working.pop(order.id or 0, None)
        order.cancelled_at = order.terminal_at = order.updated_at = now
        return self._order_event(order)

    def _try_fill(self, order: _Order) -> list[AccountEvent]:
        """Fill the next planned chunk if the order is marketable now."""
        if order.limit is not None and self._market_net(order) < order.limit:
            return []
        acct = self._accounts[order.account_number]
        now = self._clock()
        units = self._next_chunk(order)
        touched: list[_Position] = []
        for leg in order.legs:
            qty = leg.ratio * units
            fill_price = self._leg_price(leg)
            leg.fills.append(_Fill(f"F{self._next_fill_id:08d}", qty, fill_price, now))
            self._next_fill_id += 1
            touched.append(self._apply_leg_fill(acct, leg, qty, fill_price, now=now))
        acct.cash -= self._fees(order.legs, units)
        for leg in order.legs:
            self._book_fill(acct, order, leg, leg.fills[-1])
        order.filled_units += units
        order.updated_at = now
        if order.filled_units >= order.size:
            order.status, order.terminal_at = "Filled", now
            self._working.pop(order.id or 0, None)
        events = [self._order_event(order)]
        for pos in touched:
            events.append(
                AccountEvent("CurrentPosition", acct.number, self._position_record(acct, pos))
            )
            if pos.quantity == 0:
                acct.positions.pop(pos.instrument.symbol, None)
        figures = self._figures(acct).figures
        acct.net_liq.record(now, figures.net_liquidating_value)
        events.append(AccountEvent("AccountBalance", acct.number, figures))
        return events

    @staticmethod
    def _next_chunk(order: _Order) -> Decimal:
        """Size of the next fill: the next planned chunk, capped by what remains."""
        filled = order.filled_units
        cumulative = _ZERO
        for chunk in order.chunks:
            cumulative += chunk
            if cumulative > filled:
                return cumulative - filled
        return order.size - filled

    def _apply_leg_fill(
        self, acct: _Account, leg: _Leg, qty: Decimal, fill_price: Decimal, *, now: float
    ) -> _Position:
        """Move cash and the position for one leg fill; return the (possibly closed) position."""
        instrument = leg.instrument
        delta = leg.sign * qty
        acct.cash -= delta * fill_price * instrument.multiplier
        pos = acct.positions.get(instrument.symbol)
        if pos is None:
            pos = _Position(
                instrument=instrument,
                quantity=delta,
                average_open_price=fill_price,
                created_at=now,
                updated_at=now,
            )
            acct.positions[instrument.symbol] = pos
            return pos
        pos.updated_at = now
        if pos.quantity == 0 or (pos.quantity > 0) == (delta > 0):
            total = abs(pos.quantity) + abs(delta)
            pos.average_open_price = (
                abs(pos.quantity) * pos.average_open_price + abs(delta) * fill_price
            ) / total
            pos.quantity += delta
            return pos
        closing = min(abs(delta), abs(pos.quantity))
        direction = 1 if pos.quantity > 0 else -1
        pos.realized_today += _cents(
            (fill_price - pos.average_open_price) * closing * instrument.multiplier * direction
        )
        pos.quantity += delta
        if pos.quantity != 0 and (pos.quantity > 0) != (direction > 0):
            pos.average_open_price = fill_price  # flipped: the remainder opened at this fill
            pos.created_at = now
        return pos

    # ----------------------------------------------------------------- internals: records

    @staticmethod
    def _account_record(acct: _Account) -> AccountRecord:
        return AccountRecord(
            number=acct.number,
            customer_id=acct.customer_id,
            margin=acct.margin,
            nickname=acct.nickname,
            type_name=acct.type_name,
            opened_at=acct.opened_at,
        )

    def _position_record(self, acct: _Account, pos: _Position) -> PositionRecord:
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
            close_price=self._close_price(instrument.streamer_symbol),
            mark_price=self._mark(instrument.streamer_symbol),
            realized_today=pos.realized_today,
            created_at=pos.created_at,
            updated_at=pos.updated_at,
            expires_at=instrument.expires_at,
        )

    @staticmethod
    def _order_record(order: _Order) -> OrderRecord:
        legs = tuple(
            LegRecord(
                instrument_type=leg.instrument.instrument_type,
                symbol=leg.instrument.symbol,
                action=leg.action,
                quantity=leg.quantity,
                remaining_quantity=leg.quantity if order.id is None else leg.remaining,
                fills=tuple(
                    FillRecord(f.fill_id, f.quantity, f.price, f.filled_at) for f in leg.fills
                ),
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
        )

    def _order_event(self, order: _Order) -> AccountEvent:
        return AccountEvent("Order", order.account_number, self._order_record(order))

    # ----------------------------------------------------------------- internals: demo

    def _demo_requests(self, acct: _Account, rng: random.Random) -> list[OrderRequest]:
        """A few plausible order requests in random order; the first one accepted is placed."""
        requests: list[OrderRequest] = []
        pool = _DEMO_MARGIN_TICKERS if acct.margin else _DEMO_IRA_TICKERS
        held = [p for p in acct.positions.values() if p.instrument.instrument_type == EQUITY]
        tickers = sorted({*pool, *(p.instrument.symbol for p in held if p.quantity > 0)})
        ticker = rng.choice(tickers)
        requests.append(self._demo_body(_equity(ticker), "Buy to Open", rng.randint(1, 10), rng))
        longs = [p for p in held if p.quantity > 0]
        if longs:
            pos = rng.choice(longs)
            qty = rng.randint(1, int(min(pos.quantity, 10)))
            requests.append(self._demo_body(pos.instrument, "Sell to Close", qty, rng))
        options = [
            p for p in acct.positions.values() if p.instrument.instrument_type == EQUITY_OPTION
        ]
        if options:
            pos = rng.choice(options)
            if pos.quantity > 0:
                action = rng.choice(("Buy to Open", "Sell to Close"))
            else:
                action = rng.choice(("Sell to Open", "Buy to Close"))
            requests.append(self._demo_body(pos.instrument, action, 1, rng))
        rng.shuffle(requests)
        return requests

    def _demo_body(
        self, instrument: _Instrument, action: str, qty: int, rng: random.Random
    ) -> OrderRequest:
        """A demo order: Market, a marketable Limit, or a resting Limit."""
        legs = (
            LegRequest(
                symbol=instrument.symbol,
                action=action,
                quantity=Decimal(qty),
                instrument_type=instrument.instrument_type,
            ),
        )
        market = OrderRequest(order_type="Market", legs=legs, source="streamdesk-sandbox-demo")
        roll = rng.random()
        if roll < 0.3 and instrument.instrument_type == EQUITY:
            return market
        if not self._prices.ensure(instrument.streamer_symbol):
            return market
        bid, ask = self._bid_ask(instrument.streamer_symbol)
        buying = _ACTION_SIGN[action] > 0
        marketable = roll < 0.75
        # a marketable limit crosses the spread; a resting one waits on its own side
        limit = (ask if marketable else bid) if buying else (bid if marketable else ask)
        return OrderRequest(
            order_type="Limit",
            legs=legs,
            price=max(limit, _CENT),
            price_effect="Debit" if buying else "Credit",
            source="streamdesk-sandbox-demo",
        )
