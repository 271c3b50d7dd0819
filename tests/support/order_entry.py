"""Orders as a trading ticket hands them to an adapter (streaming/brokers/orders/entry.py), for
the order-entry tests of every broker: one place, so each broker is asked the same."""

from __future__ import annotations

import uuid
from dataclasses import replace
from decimal import Decimal

from streaming.brokers.orders.entry import LinkedOrder, OrderLeg, OrderRequest
from streaming.instruments.instrument import Instrument, parse
from streaming.instruments.kinds import Kind
from tests.support.recording import RecordingSink

#: SPY's December 2026 calls, which every broker of the sandbox lists.
CALL_LOW = ".SPY261218C600"
CALL_HIGH = ".SPY261218C610"


def leg_of(symbol: str, action: str, quantity: Decimal | int | None) -> OrderLeg:
    """A leg of `symbol`; a symbol no instrument has (`NOSUCHTICKER`) as a ticker, so
    that a broker's own refusal of it is what a test sees."""
    instrument = parse(symbol) or Instrument(
        Kind.EQUITY, symbol, symbol, symbol, Decimal(1), symbol
    )
    return OrderLeg(
        instrument=instrument,
        action=action,
        quantity=None if quantity is None else Decimal(quantity),
    )


def limit_buy(
    account: str,
    symbol: str = "SPY",
    price: str = "1.00",
    *,
    action: str = "Buy to Open",
    quantity: int = 1,
    time_in_force: str = "Day",
    client_order_id: str = "",
) -> OrderRequest:
    """One leg at a limit far below the quote (so it stays working)."""
    return OrderRequest(
        account=account,
        legs=(leg_of(symbol, action, quantity),),
        order_type="Limit",
        time_in_force=time_in_force,
        price=Decimal(price),
        client_order_id=client_order_id or f"sd-{uuid.uuid4().hex[:12]}",
    )


def market_buy(account: str, quantity: int, reference: str, client_order_id: str) -> OrderRequest:
    """A day market buy of SPY, with the quote's ask the owner would set."""
    return OrderRequest(
        account=account,
        legs=(leg_of("SPY", "Buy to Open", quantity),),
        order_type="Market",
        time_in_force="Day",
        client_order_id=client_order_id,
        reference_price=Decimal(reference),
    )


def stop_order(
    account: str,
    order_type: str,
    *,
    action: str = "Buy to Open",
    symbol: str = "SPY",
    stop: str | None = None,
    price: str | None = None,
    trail_amount: str | None = None,
    trail_percent: str | None = None,
    time_in_force: str = "GTC",
    client_order_id: str = "",
    quantity: int = 1,
) -> OrderRequest:
    """One leg armed at a trigger: a Stop, a Stop Limit or a Trailing Stop."""
    return OrderRequest(
        account=account,
        legs=(leg_of(symbol, action, quantity),),
        order_type=order_type,
        time_in_force=time_in_force,
        price=None if price is None else Decimal(price),
        stop_price=None if stop is None else Decimal(stop),
        trail_amount=None if trail_amount is None else Decimal(trail_amount),
        trail_percent=None if trail_percent is None else Decimal(trail_percent),
        client_order_id=client_order_id or f"sd-{uuid.uuid4().hex[:12]}",
    )


def vertical(account: str, buy: str, sell: str, price: str, **kw: str) -> OrderRequest:
    """A one-lot two-leg option order: `buy` bought, `sell` sold, at a net `price`."""
    return OrderRequest(
        account=account,
        legs=(
            leg_of(buy, "Buy to Open", 1),
            leg_of(sell, "Sell to Open", 1),
        ),
        order_type="Limit",
        time_in_force=kw.get("time_in_force", "Day"),
        price=Decimal(price),
        client_order_id=kw.get("client_order_id", ""),
    )


def margin_account(sink: RecordingSink) -> str:
    """The link's margin account: the one whose balance has derivative buying power."""
    return next(
        a
        for k, _, a, p in sink.events
        if k == "balance" and p.get("derivative_buying_power") is not None
    )


def linked(
    account: str,
    complex_: str,
    *,
    entry: str | None = "1.00",
    take: str = "2.00",
    stop: str = "0.50",
    quantity: int = 1,
    symbol: str = "SPY",
    entry_tif: str = "Day",
    exit_tif: str = "GTC",
    client_order_id: str = "",
) -> LinkedOrder:
    """A linked order as input.py makes it: an OTOCO (a buy at the `entry` limit, then a
    take-profit limit and a stop-loss stop that sell it), an OTO (the entry, then the
    stop-loss) or an OCO (the exit pair alone, of shares held). Far from the quote, so
    every member keeps working."""
    cid = client_order_id or f"sd-{uuid.uuid4().hex[:12]}"
    exits = {"action": "Sell to Close", "quantity": quantity, "time_in_force": exit_tif}
    take_profit = limit_buy(account, symbol, take, **exits, client_order_id=cid)
    stop_loss = stop_order(account, "Stop", symbol=symbol, stop=stop, **exits, client_order_id=cid)
    trigger = None
    if complex_ != "OCO":
        trigger = limit_buy(
            account, symbol, entry or "1.00", quantity=quantity, time_in_force=entry_tif,
            client_order_id=cid,
        )  # fmt: skip
        if entry is None:  # a market entry
            trigger = replace(trigger, order_type="Market", price=None)
    orders = (stop_loss,) if complex_ == "OTO" else (take_profit, stop_loss)
    return LinkedOrder(
        account=account, complex=complex_, trigger=trigger, orders=orders, client_order_id=cid
    )


def dollars_of(
    account: str, amount: str, *, action: str = "Buy to Open", client_order_id: str = ""
) -> OrderRequest:
    """A day `Notional Market` order of SPY: a dollar amount the broker sizes at its fill."""
    return OrderRequest(
        account=account,
        legs=(leg_of("SPY", action, None),),
        order_type="Notional Market",
        time_in_force="Day",
        notional=Decimal(amount),
        client_order_id=client_order_id or f"sd-{uuid.uuid4().hex[:12]}",
    )
