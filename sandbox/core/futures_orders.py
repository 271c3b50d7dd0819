"""What a futures order may be: tastytrade's documented rules (developer.tastytrade.com
"Order Submission"), the one façade that trades futures.

- "Futures orders can contain only 1 leg", of a listed contract (`instruments.py`), in
  whole contracts (`order_entry`'s whole quantities);
- `Buy` and `Sell` are for "single leg outright futures trades": "tastytrade's system will
  convert it to the appropriate action" — a `Sell` while long closes, with no position (or
  short) it opens; the same for `Buy`. The order reads back with the converted action;
- a Market order's "time-in-force must not be GTC", nor a Stop's "for opening orders"; the
  extended-hours times in force are for single-leg equity orders only;
- only a margin account trades them (the accounts say `is-futures-approved`): a cash
  account's requirements are nil, and a future moves no cash when it fills (`futures_margin`).
"""

from __future__ import annotations

from sandbox.core.account_state import ZERO, Account, Order
from sandbox.core.instruments import Instrument
from sandbox.core.records import FUTURE, OrderRejected

__all__ = ["OUTRIGHT", "check", "leg_action"]

#: The outright actions and the side each takes.
OUTRIGHT = {"Buy": 1, "Sell": -1}
#: tastytrade's extended-hours times in force: "single leg equity orders" only.
_EQUITY_SESSIONS = ("Ext", "Ext Overnight", "GTC Ext", "GTC Ext Overnight")


def leg_action(acct: Account, instrument: Instrument, action: object) -> object:
    """A leg's action, an outright `Buy` / `Sell` of a future converted by the position:
    to Close while the account holds the other side, else to Open. Outright actions on
    anything but a future are refused; any other action is returned as given."""
    if not isinstance(action, str) or action not in OUTRIGHT:
        return action
    if instrument.instrument_type != FUTURE:
        raise OrderRejected(
            "invalid_action",
            f"{action!r} is for single-leg outright futures orders: "
            f"use {action} to Open or {action} to Close.",
        )
    held = acct.positions.get(instrument.symbol)
    closing = held is not None and held.quantity * OUTRIGHT[action] < ZERO
    return f"{action} to {'Close' if closing else 'Open'}"


def check(acct: Account, order: Order) -> None:
    """Refuse a futures order tastytrade documents as invalid; any other order passes."""
    if not any(leg.instrument.instrument_type == FUTURE for leg in order.legs):
        return
    if len(order.legs) != 1:
        raise OrderRejected("invalid_legs", "A futures order has one leg only.")
    if not acct.margin:
        raise OrderRejected(
            "futures_not_approved",
            f"Account {acct.number} ({acct.type_name}) is not approved for futures: "
            "a margin account trades them.",
        )
    tif, kind = order.time_in_force, order.order_type
    if tif in _EQUITY_SESSIONS:
        raise OrderRejected(
            "invalid_time_in_force",
            f"{tif} is for single-leg orders of equities; a future trades Day or GTC.",
        )
    if kind == "Market" and tif == "GTC":
        raise OrderRejected(
            "invalid_time_in_force", "A Market order's time in force is not GTC: send it Day."
        )
    if kind == "Stop" and tif == "GTC" and order.legs[0].action.endswith("to Open"):
        raise OrderRejected(
            "invalid_time_in_force", "A Stop order's time in force is not GTC for opening orders."
        )
