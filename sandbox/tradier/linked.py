"""Tradier's advanced orders (`class=oto|oco|otoco`): the indexed form as the core's
linked order (sandbox/core/linked.py), and a linked order as Tradier lists it — one parent
item with the group's id and a `leg` array of its members, each a full order item.

Tradier's pages "Place an OTO order", "Place an OCO order" and "Place an OTOCO order"
(docs.tradier.com) index every field per order: `symbol[i]`, `quantity[i]`, `type[i]`,
`side[i]`, `option_symbol[i]`, `price[i]`, `stop[i]`, and `duration[i]` when the one
top-level `duration` is not sent. Their rules, refused here in words:
- OTO: 2 orders; the first limit, stop or stop_limit, the second market, limit, stop or
  stop_limit. The second works once the first has filled.
- OCO: 2 orders of one symbol (and option symbol) and one duration, of different types.
- OTOCO: 3 orders, each limit, stop or stop_limit; the second and third of one symbol and
  one duration, of different types. They work once the first has filled, and cancel each
  other.

The core runs the one lifecycle; this module only spells Tradier's form and answers.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from sandbox.core.records import (
    WORKING_STATUSES,
    LinkedRequest,
    OrderRecord,
    OrderRejected,
    OrderRequest,
)

__all__ = ["LINKED_CLASSES", "linked_forms", "linked_item", "linked_request", "parent_status"]

#: Tradier's advanced classes as the core's kinds
LINKED_CLASSES = {"oto": "OTO", "oco": "OCO", "otoco": "OTOCO"}
_FIELDS = ("symbol", "quantity", "type", "side", "option_symbol", "price", "stop", "duration")
_INDEXED = re.compile(rf"^({'|'.join(_FIELDS)})\[([0-9]+)\]$", re.ASCII)
_COUNTS = {"oto": 2, "oco": 2, "otoco": 3}
_LIMITS = ("limit", "stop", "stop_limit")
_ANY = ("market", "limit", "stop", "stop_limit")
#: the types each order of a class may be, by index
_TYPES = {"oto": (_LIMITS, _ANY), "oco": (_ANY, _ANY), "otoco": (_LIMITS, _LIMITS, _LIMITS)}


def _refuse(code: str, message: str) -> OrderRejected:
    return OrderRejected(code, message)


def _indexed(form: dict[str, str]) -> list[dict[str, str]]:
    """The indexed fields grouped per order, in index order (numbered from 0)."""
    found: dict[int, dict[str, str]] = {}
    for key, value in form.items():
        match = _INDEXED.match(key)
        if match and value.strip():
            found.setdefault(int(match.group(2)), {})[match.group(1)] = value.strip()
    if sorted(found) != list(range(len(found))):
        raise _refuse(
            "invalid_legs",
            f"Orders must be numbered 0 to {len(found) - 1} (symbol[0], side[0], ...).",
        )
    return [found[index] for index in range(len(found))]


def linked_forms(form: dict[str, str]) -> list[dict[str, str]]:
    """Each order of an oto/oco/otoco form as a single order's form (`class` equity, or
    option when it has an `option_symbol`), checked against the class's rules:
    OrderRejected (400) in words otherwise."""
    order_class = form.get("class", "").strip()
    count = _COUNTS[order_class]
    orders = _indexed(form)
    if len(orders) != count:
        raise _refuse(
            "invalid_legs",
            f"An {order_class} order is {count} orders (symbol[0] to symbol[{count - 1}]), "
            f"not {len(orders)}.",
        )
    top_duration = form.get("duration", "").strip()
    tag = form.get("tag", "").strip()
    flat: list[dict[str, str]] = []
    for index, fields in enumerate(orders):
        kind = fields.get("type", "")
        allowed = _TYPES[order_class][index]
        if kind not in allowed:
            raise _refuse(
                "invalid_type",
                f"Invalid type[{index}] {kind!r}: order {index} of an {order_class} order is "
                f"one of {', '.join(allowed)}.",
            )
        symbol = fields.get("symbol", "").upper()
        if not symbol:
            raise _refuse("invalid_symbol", f"Missing symbol[{index}].")
        option = fields.get("option_symbol", "").upper()
        if option and not option.startswith(symbol):
            raise _refuse(
                "invalid_symbol",
                f"option_symbol[{index}] {option} is not an option on symbol[{index}] {symbol}.",
            )
        one = {
            "class": "option" if option else "equity",
            "symbol": symbol,
            "side": fields.get("side", ""),
            "quantity": fields.get("quantity", ""),
            "type": kind,
            "duration": fields.get("duration") or top_duration,
        }
        for key in ("option_symbol", "price", "stop"):
            if fields.get(key):
                one[key] = fields[key].upper() if key == "option_symbol" else fields[key]
        if tag:
            one["tag"] = tag
        flat.append(one)
    pair = flat if order_class == "oco" else flat[1:] if order_class == "otoco" else []
    if pair:
        first, second = pair
        numbers = "0 and 1" if order_class == "oco" else "1 and 2"
        if (first["symbol"], first.get("option_symbol")) != (
            second["symbol"],
            second.get("option_symbol"),
        ):
            raise _refuse(
                "invalid_symbol",
                f"Orders {numbers} of an {order_class} order must have the same symbol "
                "and option_symbol.",
            )
        if first["type"] == second["type"]:
            raise _refuse(
                "invalid_type",
                f"Orders {numbers} of an {order_class} order must be of different types, "
                f"not both {first['type']}.",
            )
        if first["duration"] != second["duration"]:
            raise _refuse(
                "invalid_duration",
                f"Orders {numbers} of an {order_class} order must have the same duration.",
            )
    return flat


def linked_request(
    order_class: str, forms: list[dict[str, str]], single: Callable[[dict[str, str]], OrderRequest]
) -> LinkedRequest:
    """The checked forms (`linked_forms`) as the core's linked request; each order is read
    by `single` (the façade's single-leg form reader), its refusal naming the order."""
    requests = []
    for index, one in enumerate(forms):
        try:
            requests.append(single(one))
        except OrderRejected as exc:
            raise OrderRejected(exc.code, f"Order {index}: {exc.message}", exc.status) from None
    kind = LINKED_CLASSES[order_class]
    if kind == "OCO":
        return LinkedRequest(kind, None, tuple(requests))
    return LinkedRequest(kind, requests[0], tuple(requests[1:]))


def parent_status(members: list[OrderRecord]) -> str:
    """The parent's status, kept simple: `open` while any member works (waiting ones
    included); `filled` when the trigger (if any) and one other member have filled;
    otherwise `canceled` (every member canceled, or an entry filled and its exits
    canceled), or the first member's own final status (rejected, expired) when none was
    canceled."""
    if any(m.status in WORKING_STATUSES for m in members):
        return "open"
    trigger = [m for m in members if m.group_role == "trigger"]
    others = [m for m in members if m.group_role != "trigger"]
    if all(m.status == "Filled" for m in trigger) and any(m.status == "Filled" for m in others):
        return "filled"
    if any(m.status in ("Cancelled", "Canceled") for m in members):
        return "canceled"
    return members[0].status.lower()


def linked_item(
    group_id: int, members: list[OrderRecord], render: Callable[[OrderRecord], dict[str, Any]]
) -> dict[str, Any]:
    """One linked order as Tradier lists it: the group's id, `class`, the parent status,
    `num_legs` and `leg` (every member as its own order item, the trigger first). An
    OTO/OTOCO parent repeats its trigger's terms (type, symbol, side, quantity, prices,
    fills); an OCO parent leaves them empty (Tradier's does: lumibot reads them from the
    legs), keeping only the symbol and duration both members share."""
    children = [render(m) for m in members]
    first = children[0]
    kind = (members[0].group_kind or "").lower()
    item: dict[str, Any] = {"id": group_id}
    if kind == "oco":
        item.update(symbol=first["symbol"], duration=first["duration"])
        if "tag" in first:
            item["tag"] = first["tag"]
    else:
        item.update({k: v for k, v in first.items() if k not in ("id", "class", "status")})
    item.update(
        {
            "class": kind,
            "status": parent_status(members),
            "create_date": first["create_date"],
            "transaction_date": max(c["transaction_date"] for c in children),
            "num_legs": len(children),
            "leg": children,
        }
    )
    return item
