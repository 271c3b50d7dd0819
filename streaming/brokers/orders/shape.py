"""The contract's order, typed: what every adapter's wire module builds from its broker's
order (docs/streaming-contract.md, "Objects": order), and the vocabulary they share.

A broker's order reaches the screen as the broker holds it: its type with its stop price,
trail or dollar amount, its time in force with its date, its class and the linked order
it belongs to. What an adapter does not know is kept and said (`unsupported`), never
dropped or relabelled. Pure data and functions, no I/O.
"""

from __future__ import annotations

from typing import Any, Literal, NotRequired, TypedDict

#: The contract's order types (tastytrade's names, which every broker's types map to).
ORDER_TYPES = (
    "Market",
    "Limit",
    "Marketable Limit",
    "Stop",
    "Stop Limit",
    "Trailing Stop",
    "Notional Market",
)
#: The contract's times in force (tastytrade's, Alpaca's and Tradier's, one spelling).
TIMES_IN_FORCE = (
    "Day",
    "GTC",
    "GTD",
    "IOC",
    "FOK",
    "OPG",
    "CLS",
    "Ext",
    "Ext Overnight",
    "GTC Ext",
    "GTC Ext Overnight",
    "Pre",
    "Post",
)
#: Times in force that may fill outside regular hours.
EXTENDED = frozenset({"Ext", "Ext Overnight", "GTC Ext", "GTC Ext Overnight", "Pre", "Post"})
#: The contract's order classes: one order, or a member of a linked one.
ORDER_CLASSES = ("simple", "multileg", "combo", "oco", "oto", "otoco", "bracket")
LINKED = frozenset({"oco", "oto", "otoco", "bracket"})
#: The contract's instrument kinds (tastytrade's names); tastytrade's others pass as sent.
INSTRUMENT_TYPES = ("Equity", "Equity Option", "Future", "Future Option", "Cryptocurrency")
UNSUPPORTED = "Unsupported"

Role = Literal["trigger", "take_profit", "stop_loss", "member"]


class Fill(TypedDict):
    id: str
    quantity: float | int | None
    price: float | int | None
    at: int | None


class Leg(TypedDict):
    symbol: str
    #: The instrument's contract symbol and display name (added by the stream on arrival:
    #: instruments/naming.py); None / the broker's symbol for a kind the app does not act on.
    streamer_symbol: NotRequired[str | None]
    display: NotRequired[str]
    instrument_type: str
    action: str | None
    quantity: float | int | None
    remaining_quantity: float | int | None
    fills: list[Fill]


class Trail(TypedDict):
    amount: float | int | None
    percent: float | int | None
    high_water_mark: float | int | None


#: A member's link: the linked order's broker id, its class (one of `LINKED`), this
#: member's role (`class` is a keyword, hence the functional form).
Group = TypedDict("Group", {"id": str, "class": str, "role": Role})


#: The field whose value an adapter does not know.
UnsupportedKind = Literal[
    "order_type", "order_class", "time_in_force", "status", "action", "instrument_type"
]


class Unsupported(TypedDict):
    kind: UnsupportedKind
    name: str
    fields: dict[str, Any]


class Order(TypedDict):
    id: Any
    status: str | None
    order_type: str | None
    broker_type: str | None
    time_in_force: str | None
    good_till: str | None
    extended_hours: bool
    price: float | int | None
    price_effect: str | None
    stop_price: float | int | None
    trail: Trail | None
    notional: float | int | None
    order_class: str
    group: Group | None
    underlying: str | None
    display: NotRequired[str]
    legs: list[Leg]
    received_at: int | None
    updated_at: int | None
    unsupported: Unsupported | None


def group(group_id: Any, order_class: str, role: Role) -> Group:
    """A member's `group`: the linked order's broker id, its class and this member's role."""
    return {"id": str(group_id), "class": order_class, "role": role}


def exit_role(order_type: str | None) -> Role:
    """The role of a member of an exit pair (an OCO, a bracket's or OTOCO's exits), told by
    its type: the limit takes profit, a stop of any kind stops the loss."""
    if order_type in ("Limit", "Marketable Limit"):
        return "take_profit"
    if order_type in ("Stop", "Stop Limit", "Trailing Stop"):
        return "stop_loss"
    return "member"


def unsupported(kind: UnsupportedKind, name: Any, fields: Any) -> Unsupported:
    """What the adapter does not know, kept with the broker's fields as they came."""
    return {
        "kind": kind,
        "name": str(name),
        "fields": dict(fields) if isinstance(fields, dict) else {"value": fields},
    }
