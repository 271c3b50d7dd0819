"""Order entry at tastytrade (`SupportsOrders`), through the SDK on the link's own session.

The orders go over the OAuth session the adapter's loops hold (the link's `Connection`,
tastytrade/connection.py): a ticket never costs a login. One of the parts the adapter
holds; the adapter forwards `SupportsOrders` to it. The SDK signs a price (negative =
debit) and sends its `price-effect`; a one-leg order's effect follows from its action, a
multi-leg order's from the legs' quotes (the buys worth more than the sells: a debit).
The SDK raises refusals as `TastytradeError("code: message")` lines; they become
`OrderRefused` with the codes and messages the broker sent.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any, cast

from tastytrade import Account, Session
from tastytrade import order as tt
from tastytrade.account import AccountBalance
from tastytrade.market_data import get_market_data_by_type
from tastytrade.utils import TastytradeError

from streaming.brokers.orders.entry import (
    BUYING_POWER_KINDS,
    BuyingPowerKind,
    LinkedOrder,
    OrderLeg,
    OrderRefused,
    OrderRequest,
    PlaceResult,
    PreviewResult,
)
from streaming.brokers.tastytrade.connection import Connection
from streaming.brokers.values import num
from streaming.instruments.kinds import Kind

SdkOrder = tt.LimitOrder | tt.MarketOrder | tt.StopOrder | tt.StopLimitOrder | tt.NotionalOrder
#: What an OTO's orders may be (the SDK's list type), and the complex orders placed here.
OtoMember = tt.LimitOrder | tt.StopOrder | tt.StopLimitOrder | tt.MarketOrder | tt.NotionalOrder
ComplexOrder = tt.OCOOrder | tt.OTOOrder | tt.OTOCOOrder
#: Seconds an order request waits for the link to connect (as market metrics do).
ORDER_WAIT = 30.0
#: Statuses after which an order can no longer change.
FINAL = frozenset(
    {
        tt.OrderStatus.FILLED,
        tt.OrderStatus.CANCELLED,
        tt.OrderStatus.EXPIRED,
        tt.OrderStatus.REJECTED,
        tt.OrderStatus.REMOVED,
        tt.OrderStatus.PARTIALLY_REMOVED,
    }
)
#: tastytrade's error codes (the sandbox's, which follow the real API's) → the contract's.
CODES = {
    "unknown_symbol": "unknown_symbol",
    "invalid_symbol": "unknown_symbol",
    "option_expired": "unknown_symbol",
    "record_not_found": "not_found",
    "not_found": "not_found",
    "unsupported_order_type": "unsupported",
    "complex_order_not_supported": "unsupported",
}


#: The contract's kinds as the SDK's instrument types.
INSTRUMENT_TYPES = {
    Kind.EQUITY: tt.InstrumentType.EQUITY,
    Kind.EQUITY_OPTION: tt.InstrumentType.EQUITY_OPTION,
    Kind.FUTURE: tt.InstrumentType.FUTURE,
    Kind.FUTURE_OPTION: tt.InstrumentType.FUTURE_OPTION,
    Kind.CRYPTO: tt.InstrumentType.CRYPTOCURRENCY,
}


def sdk_leg(leg: OrderLeg) -> tt.Leg:
    """A leg as tastytrade takes it: its REST symbol (`SPY   270115C00590000`, `/ESZ6`,
    `./ESZ6 ESZ6 261218C6000`, `BTC/USD`) and instrument type."""
    return tt.Leg(
        instrument_type=INSTRUMENT_TYPES[leg.kind],
        symbol=leg.broker_symbol("tastytrade"),
        action=tt.OrderAction(leg.action),
        quantity=leg.quantity,  # None: a dollar amount's leg, which the fill sizes
    )


def refusal(exc: TastytradeError) -> OrderRefused:
    """The SDK's error (one `code: message` line per error) as the contract's refusal."""
    errors = []
    for line in str(exc).splitlines():
        code, _, message = line.partition(":")
        if message:
            errors.append({"code": code.strip(), "message": message.strip()})
    said: dict[str, Any] = {"error": {"errors": errors}} if errors else {"error": str(exc)}
    code = next((CODES[e["code"]] for e in errors if e["code"] in CODES), "rejected")
    sentence = " ".join(e["message"] for e in errors) or str(exc)
    return OrderRefused(code, f"tastytrade refused the order: {sentence}", said)


@contextlib.contextmanager
def sdk_refusals() -> Iterator[None]:
    """The SDK's refusals inside the block raised as the contract's."""
    try:
        yield
    except TastytradeError as exc:
        raise refusal(exc) from None


def multiplier(order: OrderRequest) -> Decimal:
    """Dollars per point of the order's (net) price: its legs' multiplier."""
    return order.legs[0].multiplier


def unpriced_unit(order: OrderRequest) -> Decimal | None:
    """The cost per unit of a one-leg order without a limit (positive for a buy): at its
    stop's trigger, else at the live quote's far side."""
    unit = order.estimated_price
    if unit is None:
        return None
    return unit if order.legs[0].buys else -unit


def order_size(order: OrderRequest) -> Decimal:
    """The number of units a (net) price is per: the legs' common quantity."""
    return min(leg.size for leg in order.legs)


class TastytradeOrders:
    """`SupportsOrders` for a tastytrade link, on the session its loops set. `wants`:
    whether the link streams an account (its adapter's)."""

    def __init__(self, connection: Connection, wants: Callable[[object], bool]) -> None:
        self._connection = connection
        self._wants = wants

    async def _order_session(self, account: str) -> Session:
        """The link's session (REST: orders need no market data); a link still connecting
        is waited for (its DXLink up says the session is)."""
        if self._connection.session is None:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(ORDER_WAIT):
                    await self._connection.dx_up.wait()
        session = self._connection.session
        if session is None:
            raise RuntimeError("tastytrade's session is not connected")
        if not self._wants(account):
            raise OrderRefused("not_found", f"No tastytrade account {account} on this link.")
        return session

    @staticmethod
    def _account(account: str) -> Account:
        """An `Account` for the SDK's order calls (they only read its number)."""
        return Account.model_construct(account_number=account)

    async def _debit(self, session: Session, order: OrderRequest) -> bool:
        """Whether the order pays (tastytrade's Debit): one leg, a buy; several, the buys
        worth more than the sells at the quotes' mids (a net buy when no quote is read)."""
        if len(order.legs) == 1:
            return order.legs[0].buys
        symbols = [leg.broker_symbol("tastytrade") for leg in order.legs]
        by_kind: dict[Kind, list[str]] = {}
        for symbol, leg in zip(symbols, order.legs, strict=True):
            by_kind.setdefault(leg.kind, []).append(symbol)
        try:
            data = await get_market_data_by_type(
                session,
                equities=by_kind.get(Kind.EQUITY),
                options=by_kind.get(Kind.EQUITY_OPTION),
                future_options=by_kind.get(Kind.FUTURE_OPTION),
            )
        except TastytradeError:
            data = []
        mids = {d.symbol: d.mid for d in data if d.mid is not None}
        pays = order.pays_at([mids.get(s) for s in symbols])
        if pays is not None:
            return pays
        return sum(leg.size if leg.buys else -leg.size for leg in order.legs) >= 0

    async def _sdk_order(self, session: Session, order: OrderRequest) -> SdkOrder:
        common: dict[str, Any] = {
            "time_in_force": tt.OrderTimeInForce(order.time_in_force),
            "legs": [sdk_leg(leg) for leg in order.legs],
            "external_identifier": order.client_order_id or None,
        }
        if order.order_type == "Market":
            return tt.MarketOrder(**common)
        if order.notional is not None:  # tastytrade's Notional Market: `value`, signed
            amount = -order.notional if order.legs[0].buys else order.notional
            return tt.NotionalOrder(**common, value=amount)
        if order.order_type == "Trailing Stop":
            raise OrderRefused("unsupported", "tastytrade takes no trailing stops; use a Stop.")
        stop = order.stop_price
        if order.order_type in ("Stop", "Stop Limit") and stop is None:
            raise OrderRefused(
                "rejected", f"A {order.order_type.lower()} order needs a stop price."
            )
        if order.order_type == "Stop" and stop is not None:
            return tt.StopOrder(**common, stop_trigger=stop)
        if order.price is None:
            raise OrderRefused("rejected", "A limit order needs a price.")
        signed = -order.price if await self._debit(session, order) else order.price
        if order.order_type == "Stop Limit" and stop is not None:
            return tt.StopLimitOrder(**common, price=signed, stop_trigger=stop)
        return tt.LimitOrder(**common, price=signed)

    async def _prepared(self, order: OrderRequest) -> tuple[Session, SdkOrder]:
        session = await self._order_session(order.account)
        return session, await self._sdk_order(session, order)

    async def _stock_balance(self, session: Session, order: OrderRequest) -> AccountBalance | None:
        """A stock order's account balance, read beside its dry run (which answers in option
        buying power only); None for another kind, or when it cannot be read (the preview
        then gives no stock buying power rather than the option one)."""
        if BUYING_POWER_KINDS.get(order.legs[0].kind) != "equity":
            return None
        try:
            return await self._account(order.account).get_balances(session)
        except TastytradeError:
            return None

    # -- SupportsOrders --------------------------------------------------------------------
    async def preview_order(self, order: OrderRequest) -> PreviewResult:
        session, sdk_order = await self._prepared(order)
        with sdk_refusals():
            answer, balance = await asyncio.gather(
                self._account(order.account).place_order(session, sdk_order, dry_run=True),
                self._stock_balance(session, order),
            )
        price = getattr(sdk_order, "price", None)
        return dry_run_result(answer, order, -price if price is not None else None, balance)

    async def place_order(self, order: OrderRequest) -> PlaceResult:
        session, sdk_order = await self._prepared(order)
        with sdk_refusals():
            answer = await self._account(order.account).place_order(
                session, sdk_order, dry_run=False
            )
        return placed(answer.order)

    async def _complex(self, session: Session, group: LinkedOrder) -> ComplexOrder:
        """The group as the SDK's complex order (each member tagged with the group's id)."""
        trigger = None if group.trigger is None else await self._sdk_order(session, group.trigger)
        if group.complex == "OTO" and trigger is not None:
            orders: list[OtoMember] = [await self._sdk_order(session, o) for o in group.orders]
            return tt.OTOOrder(trigger_order=trigger, orders=orders)
        pair = group.pair
        take_profit = None if pair is None else await self._sdk_order(session, pair[0])
        stop_loss = None if pair is None else await self._sdk_order(session, pair[1])
        if not isinstance(take_profit, tt.LimitOrder) or not isinstance(
            stop_loss, tt.StopOrder | tt.StopLimitOrder
        ):
            raise OrderRefused(
                "bad_order", "An OCO's orders are a take-profit Limit and a stop-loss Stop."
            )
        if group.complex == "OCO":
            return tt.OCOOrder(take_profit=take_profit, stop_loss=stop_loss)
        if trigger is None:
            raise OrderRefused("bad_order", f"An {group.complex} needs a trigger.")
        return tt.OTOCOOrder(trigger_order=trigger, take_profit=take_profit, stop_loss=stop_loss)

    async def preview_linked(self, group: LinkedOrder) -> PreviewResult:
        """tastytrade's dry run of the complex order: the effect of what fills first."""
        session = await self._order_session(group.account)
        complex_order = await self._complex(session, group)
        with sdk_refusals():
            answer, balance = await asyncio.gather(
                self._account(group.account).place_complex_order(
                    session, complex_order, dry_run=True
                ),
                self._stock_balance(session, group.first),
            )
        return dry_run_result(answer, group.first, None, balance)

    async def place_linked(self, group: LinkedOrder) -> PlaceResult:
        session = await self._order_session(group.account)
        complex_order = await self._complex(session, group)
        with sdk_refusals():
            # the SDK's overloads pair each complex type with its placed type: one call here
            answer = await self._account(group.account).place_complex_order(
                session, cast(Any, complex_order), dry_run=False
            )
        placed_group = answer.complex_order
        members = [
            *([placed_group.trigger_order] if placed_group.trigger_order else []),
            *placed_group.orders,
        ]
        return PlaceResult(
            order_id=str(placed_group.id),
            status=members[0].status.value if members else "Received",
            said=placed_group.model_dump(mode="json", by_alias=True, exclude_none=True),
        )

    async def find_order(self, account: str, client_order_id: str) -> PlaceResult | None:
        """The order tagged `client_order_id`; a complex order's member answers for its
        group (the ticket's order is the complex order)."""
        for found in await self._live_orders(account):
            if client_order_id and found.get("external-identifier") == client_order_id:
                complex_id = found.get("complex-order-id")
                if complex_id is not None:
                    return PlaceResult(
                        order_id=str(complex_id), status=str(found.get("status")), said=found
                    )
                return placed(tt.PlacedOrder(**found))
        return None

    async def replace_order(self, order_id: str, order: OrderRequest) -> PlaceResult:
        session, sdk_order = await self._prepared(order)
        with sdk_refusals():
            answer = await self._account(order.account).replace_order(
                session, int(order_id), sdk_order
            )
        return placed(answer)

    async def cancel_order(self, account: str, order_id: str) -> PlaceResult:
        """One order; a complex order's component cancels the complex order, as tastytrade
        requires ("cancel with the complex id only"), its other working components with it."""
        session = await self._order_session(account)
        items = await self._live_orders(account)
        this = next((i for i in items if str(i.get("id")) == order_id), {})
        complex_id = this.get("complex-order-id")
        status = tt.OrderStatus.CANCEL_REQUESTED.value
        with sdk_refusals():
            if complex_id is None:
                await self._account(account).delete_order(session, int(order_id))
                return PlaceResult(order_id=order_id, status=status)
            await self._account(account).delete_complex_order(session, int(complex_id))
        with_it = [
            str(i.get("id"))
            for i in items
            if i.get("complex-order-id") == complex_id
            and str(i.get("id")) != order_id
            and i.get("status") not in FINAL
        ]
        return PlaceResult(order_id=order_id, status=status, with_it=with_it)

    async def working_orders(self, account: str) -> list[str]:
        """Every order that can still change, a complex order's contingent components too."""
        items = await self._live_orders(account)
        return [str(i.get("id")) for i in items if i.get("status") not in FINAL]

    async def _live_orders(self, account: str) -> list[dict[str, Any]]:
        """Today's orders as tastytrade sent them: read as JSON, not through the SDK's
        models, so an order whose values they lack (a new status) cannot hide the
        others from a cancel-all."""
        session = await self._order_session(account)
        with sdk_refusals():
            live = await session._get(f"/accounts/{account}/orders/live")
        return [i for i in live.get("items") or () if isinstance(i, dict)]


def buying_power(
    effect: tt.BuyingPowerEffect, order: OrderRequest, balance: AccountBalance | None
) -> tuple[float | None, float | None, BuyingPowerKind | None]:
    """(before, after, which) of the buying power the order uses. tastytrade's dry run
    answers in option (derivative) buying power, what options and futures use; a stock
    order uses the equity buying power (the account card's): the balance's, less the dry
    run's change at the account's own ratio of equity to derivative buying power (2 in a
    Reg T margin account, 1 in a cash account). A coin's: the dry run's, unlabelled."""
    kind = BUYING_POWER_KINDS.get(order.legs[0].kind)
    if kind != "equity":
        return num(effect.current_buying_power), num(effect.new_buying_power), kind
    if balance is None:
        return None, None, kind
    equity, derivative = balance.equity_buying_power, balance.derivative_buying_power
    after = equity + effect.change_in_buying_power * equity / derivative if derivative else None
    return num(equity), num(after), kind


def dry_run_result(
    answer: Any, order: OrderRequest, unit: Decimal | None, balance: AccountBalance | None = None
) -> PreviewResult:
    """tastytrade's dry run (of an order, or of a complex order: the effect of what fills
    first, `order`) as the preview's result; `unit`: the signed cost per unit the SDK
    priced (a debit positive), else the order's own estimate; `balance`: a stock order's
    account balance (`buying_power`)."""
    if unit is None:
        unit = unpriced_unit(order)
    effect = answer.buying_power_effect
    fees = answer.fee_calculation
    cost: Decimal | None
    if order.notional is not None:  # a dollar amount costs what it says
        cost = order.notional if order.legs[0].buys else -order.notional
    elif order.legs[0].kind is Kind.FUTURE:
        cost = None  # a future moves no cash: its margin is the effect (margin_change)
    else:
        cost = unit * order_size(order) * multiplier(order) if unit is not None else None
    before, after, kind = buying_power(effect, order, balance)
    return PreviewResult(
        checks="broker",
        cost=num(cost),
        fees=num(-fees.total_fees) if fees is not None else None,
        buying_power_before=before,
        buying_power_after=after,
        buying_power_kind=kind,
        margin_change=num(-effect.change_in_margin_requirement),
        warnings=[w.message for w in answer.warnings or []],
        said=answer.model_dump(mode="json", by_alias=True, exclude_none=True),
    )


def placed(order: tt.PlacedOrder) -> PlaceResult:
    """A placed order as the contract's answer (tastytrade's statuses are the contract's)."""
    return PlaceResult(
        order_id=str(order.id),
        status=order.status.value,
        said=order.model_dump(mode="json", by_alias=True, exclude_none=True),
    )
