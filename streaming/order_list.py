"""Which orders a list holds, and in what order (docs/streaming-contract.md, "Orders").

Pure: no I/O. One rule for the snapshot, the dashboard's panel, `GET /api/orders` and the
CSV exports, mirrored in the browser by static/js/stream/orders.js:

- **Newest first** by the order key `(placed, link, id)`: `placed` is when the broker
  received the order (`received_at`, else `updated_at`, else 0; epoch ms), ids compare as
  text. It never changes while the order lives (an order is updated in place, it does
  not move), it is the order the brokers list their own history in, and it is total, so
  a cursor (the key of the last order a page listed) says exactly where the next starts.
- **Status groups**: `filled` (Filled), `ended` (cancelled, rejected, expired and the
  other final statuses that filled nothing more), `working` (everything else, i.e. an
  order that can still change).
- **The bound**: a list keeps the newest `ORDERS_KEPT` orders, every working one and the
  `RECENT_CHANGES_KEPT` changed last.
- **An exit larger than its position** is said on the panel's order (`oversized_exits`,
  the browser's `oversizedExits`).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypedDict, TypeVar

from streaming.instruments.instrument import parse
from streaming.instruments.resolve import clean, from_position
from streaming.order_terms import (
    display_name,
    fill_text,
    group_text,
    leg_filled_text,
    leg_text,
    order_terms,
    quantity_text,
    underlying_text,
)

#: Orders a snapshot, the panel and the browser keep (plus every working order).
ORDERS_KEPT = 50
#: And the orders changed last: an old order that just filled stays listed.
RECENT_CHANGES_KEPT = 10
#: The statuses of each final group (the contract's vocabulary: streaming/brokers/values.py).
FILLED_STATUSES = frozenset({"Filled"})
ENDED_STATUSES = frozenset(
    {
        "Cancelled",
        "Rejected",
        "Expired",
        "Removed",
        "Partially Removed",
        "Replaced",
        "Done For Day",
    }
)
STATUS_GROUPS = ("all", "working", "filled", "ended")
#: A cursor: `<placed ms>:<link>:<order id>` (the id may contain ':').
CURSOR = re.compile(r"(\d{1,15}):(\d{1,12}):(.{1,100})", re.S)

Key = tuple[int, int, str]
#: An order as a list holds it: read-only here, kept as given.
OrderT = TypeVar("OrderT", bound=Mapping[str, object])


class FillLine(TypedDict):
    id: object
    text: str


class LegLine(TypedDict):
    """A leg in words, as the panel's script writes it."""

    desc: str
    symbol: object
    filled: str | None
    fills: list[FillLine]


class PanelAccount(TypedDict):
    number: str
    broker: str
    label: str


class OrdersPanel(TypedDict):
    """The panel's rows (each order's JSON with its words added) and the filter's accounts."""

    orders: list[dict[str, object]]
    accounts: list[PanelAccount]


class QueryError(ValueError):
    """Bad input to an order list: the message is a sentence for the person who sent it."""


def status_group(status: Any) -> str:
    """`filled`, `ended` or `working` for an order status."""
    if status in FILLED_STATUSES:
        return "filled"
    if status in ENDED_STATUSES:
        return "ended"
    return "working"


def _int(value: Any) -> int:
    if isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value == value and abs(value) < 2**62:
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return 0


def placed_ms(order: Mapping[str, object]) -> int:
    """When the broker received the order (epoch ms): `received_at`, else `updated_at`."""
    return _int(order.get("received_at")) or _int(order.get("updated_at"))


def order_key(order: Mapping[str, object]) -> Key:
    """The order's place in every list: (placed ms, link, id as text)."""
    return (placed_ms(order), _int(order.get("link")), str(order.get("id")))


def newest_first(orders: Iterable[OrderT]) -> list[OrderT]:
    return sorted(orders, key=order_key, reverse=True)


def bounded(
    orders: Iterable[OrderT],
    kept: int = ORDERS_KEPT,
    recent: Iterable[Mapping[str, object]] = (),
) -> list[OrderT]:
    """The newest `kept` orders, every working one and those in `recent` (the orders
    changed last, as the caller knows them), newest first."""
    also = {id(o) for o in recent}
    return [
        o
        for i, o in enumerate(newest_first(orders))
        if i < kept or status_group(o.get("status")) == "working" or id(o) in also
    ]


def window_floor(orders: Iterable[Mapping[str, object]], kept: int = ORDERS_KEPT) -> Key | None:
    """The key of the oldest of the newest `kept` orders: a bounded list holds every
    order at or above it (below it only working ones); None for an empty list."""
    ordered = newest_first(orders)[:kept]
    return order_key(ordered[-1]) if ordered else None


def format_cursor(key: Key) -> str:
    return f"{key[0]}:{key[1]}:{key[2]}"


def parse_cursor(text: str) -> Key:
    match = CURSOR.fullmatch(text)
    if match is None:
        raise QueryError(
            "before must be a cursor <placed ms>:<link>:<order id> "
            "(the `next` of a page, or the key of the oldest order shown)"
        )
    return (int(match[1]), int(match[2]), match[3])


@dataclass(frozen=True)
class OrderQuery:
    """One page of a user's orders: `account` (None: all), `status` (a group or `all`),
    strictly older than `before` (None: from the newest), at most `limit`."""

    account: str | None = None
    status: str = "all"
    before: Key | None = None
    limit: int = ORDERS_KEPT

    def matches(self, order: Mapping[str, object]) -> bool:
        if self.account is not None and str(order.get("account")) != self.account:
            return False
        if self.status != "all" and status_group(order.get("status")) != self.status:
            return False
        return self.before is None or order_key(order) < self.before


#: Most orders one page may ask for.
MAX_LIMIT = 200
ACCOUNT = re.compile(r"[A-Za-z0-9._-]{1,64}")


def parse_account(raw: str | None) -> str | None:
    """An account number from a query string (None or "" for all accounts)."""
    if raw is None or raw == "":
        return None
    if not ACCOUNT.fullmatch(raw):
        raise QueryError("account must be one of your account numbers (letters, digits, . _ -)")
    return raw


def parse_query(params: dict[str, str], *, max_limit: int = MAX_LIMIT) -> OrderQuery:
    """`?account=&status=&before=&limit=` as an OrderQuery, or QueryError with a sentence."""
    unknown = sorted(set(params) - {"account", "status", "before", "limit"})
    if unknown:
        raise QueryError(f"unknown parameter {unknown[0]!r}: use account, status, before, limit")
    status = params.get("status") or "all"
    if status not in STATUS_GROUPS:
        raise QueryError(f"status must be one of {', '.join(STATUS_GROUPS)} (got {status!r})")
    raw_limit = params.get("limit") or str(ORDERS_KEPT)
    if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= max_limit:
        raise QueryError(f"limit must be a whole number from 1 to {max_limit} (got {raw_limit!r})")
    before = params.get("before")
    return OrderQuery(
        account=parse_account(params.get("account")),
        status=status,
        before=parse_cursor(before) if before else None,
        limit=int(raw_limit),
    )


def account_names(snapshot: Mapping[str, Any]) -> dict[str, dict[str, str]]:
    """Account number -> {broker, label} as the account cards show them."""
    return {
        str(a["number"]): {"broker": str(a.get("broker") or ""), "label": str(a.get("label") or "")}
        for a in snapshot.get("accounts") or []
        if isinstance(a, dict) and a.get("number") is not None
    }


def orders_panel(snapshot: Mapping[str, Any]) -> OrdersPanel:
    """The dashboard's orders panel before the script runs: the snapshot's orders, each
    with its broker and account label, and the accounts the filter offers."""
    names = account_names(snapshot)
    oversize = oversized_exits(
        [o for o in snapshot.get("orders") or [] if isinstance(o, dict)],
        [a for a in snapshot.get("accounts") or [] if isinstance(a, dict)],
    )
    links = {
        _int(link.get("id")): link for link in snapshot.get("links") or [] if isinstance(link, dict)
    }
    rows: list[dict[str, object]] = []
    listed = [o for o in snapshot.get("orders") or [] if isinstance(o, dict)]
    sizes = Counter(key for key in map(_group_key, listed) if key is not None)
    # the snapshot's list is the bound already (with the orders changed last)
    for order in newest_first(listed):
        account = str(order.get("account") or "")
        link = links.get(_int(order.get("link")), {})
        name = names.get(account, {})
        key = panel_key(order)
        group = _group_key(order)
        rows.append(
            {
                **order,
                "key": key,
                "underlying_text": underlying_text(order),
                "oversize": oversize.get(key),
                "status_group": status_group(order.get("status")),
                "terms": order_terms(order),
                "link_text": group_text(order, None if group is None else sizes[group]),
                "leg_lines": leg_lines(order),
                "broker": name.get("broker") or link.get("broker") or order.get("broker") or "",
                "account_label": name.get("label") or link.get("label") or "",
            }
        )
    accounts: list[PanelAccount] = [
        {"number": number, "broker": name["broker"], "label": name["label"]}
        for number, name in names.items()
    ]
    return {"orders": linked_together(rows), "accounts": accounts}


def panel_key(order: Mapping[str, object]) -> str:
    """The panel's key of an order: `<link>:<id>` (the browser's `orderKey`)."""
    return f"{order['link']}:{order['id']}" if order.get("link") else str(order["id"])


#: The actions that close what an account holds, and the side each closes (orders.js CLOSES);
#: a plain `sell`/`buy` closes only what is held on the other side.
CLOSES = {
    "sell to close": "Long",
    "sell_to_close": "Long",
    "buy to close": "Short",
    "buy_to_close": "Short",
    "buy_to_cover": "Short",
}
PLAIN = {"sell": "Long", "buy": "Short"}
EXIT_ROLES = frozenset({"take_profit", "stop_loss"})


def _quantity(value: Any) -> float | None:
    if value is None or isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if number == number and abs(number) != float("inf") else None


def _instrument_key(item: Mapping[str, object]) -> str:
    """A position's or a leg's instrument: its contract symbol."""
    instrument = from_position(item)
    if instrument is not None:
        return instrument.symbol
    for raw in (item.get("streamer_symbol"), item.get("symbol")):
        text = clean(raw)
        parsed = parse(text) if text is not None else None
        if parsed is not None:
            return parsed.symbol
    return str(item.get("symbol") or "")


def _holdings(accounts: Iterable[Mapping[str, Any]]) -> dict[tuple[str, str, str], float]:
    held: dict[tuple[str, str, str], float] = {}
    for account in accounts:
        for p in account.get("positions") or []:
            if not isinstance(p, dict):
                continue
            side = "Short" if p.get("direction") == "Short" else "Long"
            key = (str(account.get("number") or ""), _instrument_key(p), side)
            held[key] = held.get(key, 0.0) + abs(_quantity(p.get("quantity")) or 0.0)
    return held


@dataclass
class _Exits:
    """The working exits of one instrument and side in one account."""

    name: str
    loose: float = 0.0
    groups: dict[str, float] = field(default_factory=dict)
    keys: list[str] = field(default_factory=list)


def oversized_exits(
    orders: Iterable[Mapping[str, Any]], accounts: Iterable[Mapping[str, Any]]
) -> dict[str, str]:
    """The working exits larger than what their account holds (docs/streaming-contract.md
    "The dashboard's panel"; static/js/stream/orders.js `oversizedExits`, the same rule): a
    working closing order whose remaining quantity, with every other working exit of the
    same instrument in the same account, each linked group counted once, is more than the
    account holds of it (holding none counts); a member waiting for its trigger
    (`Contingent`) is not counted. Order key (`<link>:<id>`) → the sentence."""
    held = _holdings(accounts)
    exits: dict[tuple[str, str, str], _Exits] = {}
    for o in orders:
        if status_group(o.get("status")) != "working" or o.get("status") == "Contingent":
            continue
        account = str(o.get("account") or "")
        group = o.get("group") if isinstance(o.get("group"), dict) else None
        group_key = f"{_int(o.get('link'))}|{group.get('id')}" if group else None
        for leg in o.get("legs") or []:
            if not isinstance(leg, dict):
                continue
            action = str(leg.get("action") or "").lower()
            rest = _quantity(leg.get("remaining_quantity"))
            if rest is None:
                rest = _quantity(leg.get("quantity"))
            if rest is None or not rest > 0:
                continue
            instrument = _instrument_key(leg)
            side = CLOSES.get(action)
            if side is None and action in PLAIN:
                closes = PLAIN[action]
                by_role = group is not None and group.get("role") in EXIT_ROLES
                if by_role or held.get((account, instrument, closes)):
                    side = closes
            if side is None:
                continue
            at = (account, instrument, side)
            e = exits.setdefault(at, _Exits(display_name(leg)))
            if group_key is None:
                e.loose += rest
            else:
                e.groups[group_key] = max(e.groups.get(group_key, 0.0), rest)
            e.keys.append(panel_key(o))
    out: dict[str, str] = {}
    for at, e in exits.items():
        total = e.loose + sum(e.groups.values())
        have = held.get(at, 0.0)
        if not total > have + 1e-9:
            continue
        sentence = oversize_text(total, e.name, have)
        for key in e.keys:
            out[key] = sentence
    return out


def oversize_text(total: float, name: str, have: float) -> str:
    """`Exits for 10 MSFT, but 2 are held.` (1 is held; none are held)."""
    if have > 0:
        held = f"{quantity_text(have)} {'is' if have == 1 else 'are'} held"
    else:
        held = "none are held"
    return f"Exits for {quantity_text(total)} {name}, but {held}."


def leg_lines(order: Mapping[str, Any]) -> list[LegLine]:
    """Each leg in words as the panel's script writes it (order-terms.js): `desc`, `filled`
    (None when nothing filled) and its fills, each with its `id` and `text`."""
    return [
        {
            "desc": leg_text(leg),
            "symbol": leg.get("symbol"),
            "filled": leg_filled_text(leg),
            "fills": [
                {"id": f.get("id"), "text": fill_text(f)}
                for f in leg.get("fills") or []
                if isinstance(f, dict)
            ],
        }
        for leg in order.get("legs") or []
        if isinstance(leg, dict)
    ]


#: A linked order's members in the order a trader reads them (static/js/stream/orders.js).
ROLE_ORDER = ("trigger", "take_profit", "stop_loss", "member")


def _group_key(row: Mapping[str, object]) -> tuple[object, str] | None:
    """A linked order's group, per link (the browser's `groupKey`); None for a single order."""
    g = row.get("group")
    return (row.get("link"), str(g.get("id"))) if isinstance(g, dict) else None


def linked_together(rows: list[dict[str, object]]) -> list[dict[str, object]]:
    """Rows (newest first) with each linked order's members together at the place of its
    newest member, in `ROLE_ORDER` (then by key), each after the first marked `member`:
    the same as the browser's `linkedTogether`."""
    group_key = _group_key

    def rank(row: Mapping[str, object]) -> tuple[int, str]:
        group = row["group"]
        role = group.get("role") if isinstance(group, dict) else None
        return (ROLE_ORDER.index(role) if role in ROLE_ORDER else len(ROLE_ORDER), str(row["key"]))

    groups: dict[tuple[object, str], list[dict[str, object]]] = {}
    for row in rows:
        if (key := group_key(row)) is not None:
            groups.setdefault(key, []).append(row)
    out: list[dict[str, object]] = []
    for row in rows:
        key = group_key(row)
        if key is None:
            out.append(row)
        elif key in groups:
            members = sorted(groups.pop(key), key=rank)
            out += [members[0], *({**m, "member": True} for m in members[1:])]
    return out
