"""CSV exports of positions, orders and fills (docs/streaming-contract.md, "CSV exports").

Pure: rows from a snapshot (positions) or from order pages (orders, fills); the views
(orders/views.py) fetch those and send the file. The rules a spreadsheet can trust:

- **Numbers as the broker sent them**: every number is written from `Decimal(str(x))`
  (the shortest text of the JSON number, never a float's binary expansion), and the few
  derived ones (a signed quantity, the mid of bid and ask, P&L) are computed in Decimal,
  so no `0.30000000000000004` appears that the broker did not send. Missing is empty,
  never 0.
- **Money in cents**: the money columns (a position's day and open P&L, an order's
  notional) have exactly two decimals, rounded half away from zero as the dashboard rounds
  them (`107.90`, `-39.36`: never the `107.900` or `-39.35875` the arithmetic leaves);
  prices and quantities stay as the broker sent them (a mark that is a mid: exact).
- **Signs as the dashboard shows them**: a position's quantity is negative when short;
  an order leg's and a fill's quantity is unsigned with its `action` (Buy to Open, sell…).
- **Times** in ISO 8601 with their UTC offset, in one zone named in each time column's
  header (`updated_at (ISO 8601, America/New_York)`).
- **Text cells cannot be formulas**: a text cell starting with `=`, `+`, `-`, `@`, a tab
  or a carriage return is written with a leading `'` (OWASP's CSV injection advice).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterable, Mapping
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from streaming.order_list import QueryError, account_names

KINDS = ("positions", "orders", "fills")
#: Characters a spreadsheet reads as the start of a formula.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
#: Most orders one export lists (newest first): the stream's and the brokers' history.
EXPORT_MAX_ORDERS = 1000
ZONE_NAME = re.compile(r"[A-Za-z0-9_+\-/]{1,64}")
#: Money's places: a cent.
CENT = Decimal("0.01")


# -- cells -----------------------------------------------------------------------------------
def decimal_of(value: Any) -> Decimal | None:
    """A JSON number (or numeric text) as the exact Decimal of its shortest spelling."""
    if value is None or isinstance(value, bool):
        return None
    try:
        result = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    return result if result.is_finite() else None


def number(value: Any) -> str:
    """A number cell: plain notation (no exponent), `-0` written `0`; "" when missing."""
    d = value if isinstance(value, Decimal) else decimal_of(value)
    if d is None:
        return ""
    if d == 0:
        d = abs(d)
    return format(d, "f")


def money(value: Any) -> str:
    """A money cell: exactly two decimals, half a cent away from zero; "" when missing."""
    d = value if isinstance(value, Decimal) else decimal_of(value)
    return "" if d is None else number(d.quantize(CENT, rounding=ROUND_HALF_UP))


def text(value: Any) -> str:
    """A text cell that no spreadsheet evaluates."""
    if value is None:
        return ""
    s = str(value)
    return "'" + s if s.startswith(FORMULA_START) else s


def when(ms: Any, zone: dt.tzinfo) -> str:
    """An epoch-ms time as ISO 8601 with its offset in `zone` (milliseconds kept)."""
    d = decimal_of(ms)
    if d is None or d <= 0:
        return ""
    moment = dt.datetime.fromtimestamp(float(d) / 1000, dt.UTC).astimezone(zone)
    return moment.isoformat(timespec="milliseconds")


def parse_zone(raw: str | None) -> tuple[dt.tzinfo, str]:
    """`?tz=` (an IANA zone such as America/New_York; default UTC) and its name."""
    if raw is None or raw == "" or raw == "UTC":
        return dt.UTC, "UTC"
    if not ZONE_NAME.fullmatch(raw):
        raise QueryError(
            f"tz must be an IANA time zone such as America/New_York (got {raw[:64]!r})"
        )
    try:
        return ZoneInfo(raw), raw
    except (ZoneInfoNotFoundError, ValueError):
        raise QueryError(
            f"unknown time zone {raw!r}: use an IANA name such as Europe/Berlin"
        ) from None


# -- rows ------------------------------------------------------------------------------------
def _time_header(name: str, zone_name: str) -> str:
    return f"{name} (ISO 8601, {zone_name})"


def _is_option(p: Mapping[str, object]) -> bool:
    return "option" in str(p.get("instrument_type") or "").lower() or str(
        p.get("streamer_symbol") or ""
    ).startswith(".")


def _mark(p: Mapping[str, object], quotes: Mapping[str, object]) -> tuple[Decimal | None, str, Any]:
    """The dashboard's mark (format.js `markOf`): the live quote's mid, else its last,
    else the broker's mark; with where it came from and the quote's time."""
    q = quotes.get(str(p.get("streamer_symbol") or p.get("symbol")))
    if isinstance(q, dict):
        source = "delayed quote" if q.get("delayed") else "quote"
        bid, ask, last = (
            decimal_of(q.get("bid")),
            decimal_of(q.get("ask")),
            decimal_of(q.get("last")),
        )
        if bid is not None and ask is not None:
            return (bid + ask) / 2, source, q.get("t")
        if last is not None:
            return last, source, q.get("t")
    mark = decimal_of(p.get("mark_price"))
    return mark, ("broker" if mark is not None else ""), None


POSITION_COLUMNS = [
    "broker",
    "account",
    "account_label",
    "symbol",
    "display",
    "underlying",
    "instrument_type",
    "quantity",
    "average_open_price",
    "close_price",
    "mark",
    "mark_source",
    "quote_time",
    "day_pnl",
    "open_pnl",
    "multiplier",
    "expires_at",
]


def positions_rows(
    snapshot: dict[str, Any], account: str | None, zone: dt.tzinfo, zone_name: str
) -> tuple[list[str], list[list[str]]]:
    """One row per position (every account, or one), accounts in the dashboard's order."""
    quotes = snapshot.get("quotes") or {}
    header = [
        _time_header(c, zone_name) if c in ("quote_time", "expires_at") else c
        for c in POSITION_COLUMNS
    ]
    rows = []
    for acct in snapshot.get("accounts") or []:
        if not isinstance(acct, dict) or (
            account is not None and str(acct.get("number")) != account
        ):
            continue
        for p in acct.get("positions") or []:
            if not isinstance(p, dict):
                continue
            sign = -1 if p.get("direction") == "Short" else 1
            qty = decimal_of(p.get("quantity"))
            mult = decimal_of(p.get("multiplier"))
            mult = Decimal(1) if mult is None else mult
            avg, close = decimal_of(p.get("average_open_price")), decimal_of(p.get("close_price"))
            mark, source, quote_t = _mark(p, quotes)
            open_pnl = (mark - avg) * qty * mult * sign if None not in (mark, avg, qty) else None  # type: ignore[operator]
            day_pnl = (mark - close) * qty * mult * sign if None not in (mark, close, qty) else None  # type: ignore[operator]
            rows.append(
                [
                    text(acct.get("broker")),
                    text(acct.get("number")),
                    text(acct.get("label")),
                    text(p.get("symbol")),
                    text(p.get("display")),
                    text(p.get("underlying")),
                    text(p.get("instrument_type")),
                    number(qty * sign if qty is not None else None),
                    number(avg),
                    number(close),
                    number(mark),
                    text(source),
                    when(quote_t, zone),
                    money(day_pnl),
                    money(open_pnl),
                    number(mult if p.get("multiplier") is not None else None),
                    when(p.get("expires_at"), zone),
                ]
            )
    return header, rows


ORDER_COLUMNS = [
    "broker",
    "account",
    "account_label",
    "order_id",
    "status",
    "order_type",
    "time_in_force",
    "price",
    "price_effect",
    "stop_price",
    "trail_amount",
    "trail_percent",
    "high_water_mark",
    "notional",
    "good_till",
    "extended_hours",
    "order_class",
    "group_id",
    "group_class",
    "group_role",
    "unsupported",
    "underlying",
    "leg",
    "action",
    "quantity",
    "filled_quantity",
    "remaining_quantity",
    "symbol",
    "display",
    "instrument_type",
    "updated_at",
]


def _part(o: Mapping[str, object], key: str) -> dict[str, Any]:
    """An order's object field (`trail`, `group`, `unsupported`), {} when it has none."""
    value = o.get(key)
    return value if isinstance(value, dict) else {}


def orders_rows(
    snapshot: Mapping[str, Any],
    orders: Iterable[Mapping[str, Any]],
    zone: dt.tzinfo,
    zone_name: str,
) -> tuple[list[str], list[list[str]]]:
    """One row per order leg (a leg-less order: one row), newest order first."""
    header = [_time_header(c, zone_name) if c == "updated_at" else c for c in ORDER_COLUMNS]
    rows = []
    names = account_names(snapshot)
    for o in orders:
        name = names.get(str(o.get("account")), {})
        broker = name.get("broker") or str(o.get("broker") or "")
        trail, group, unsupported = (_part(o, key) for key in ("trail", "group", "unsupported"))
        head = [
            text(broker),
            text(o.get("account")),
            text(name.get("label") or ""),
            text(o.get("id")),
            text(o.get("status")),
            text(o.get("order_type")),
            text(o.get("time_in_force")),
            number(o.get("price")),
            text(o.get("price_effect")),
            number(o.get("stop_price")),
            number(trail.get("amount")),
            number(trail.get("percent")),
            number(trail.get("high_water_mark")),
            money(o.get("notional")),
            text(o.get("good_till")),
            "true" if o.get("extended_hours") else "false",
            text(o.get("order_class")),
            text(group.get("id")),
            text(group.get("class")),
            text(group.get("role")),
            text(unsupported.get("name")),
            text(o.get("underlying")),
        ]
        legs = [leg for leg in o.get("legs") or [] if isinstance(leg, dict)] or [{}]
        for index, leg in enumerate(legs, start=1):
            qty, rem = decimal_of(leg.get("quantity")), decimal_of(leg.get("remaining_quantity"))
            filled = sum(
                (
                    decimal_of(f.get("quantity")) or Decimal(0)
                    for f in leg.get("fills") or []
                    if isinstance(f, dict)
                ),
                Decimal(0),
            )
            rows.append(
                [
                    *head,
                    str(index) if leg else "",
                    text(leg.get("action")),
                    number(qty),
                    number(filled if leg else None),
                    number(rem),
                    text(leg.get("symbol")),
                    text(leg.get("display")),
                    text(leg.get("instrument_type")),
                    when(o.get("updated_at"), zone),
                ]
            )
    return header, rows


FILL_COLUMNS = [
    "broker",
    "account",
    "account_label",
    "order_id",
    "fill_id",
    "underlying",
    "symbol",
    "display",
    "action",
    "quantity",
    "price",
    "filled_at",
]


def fills_rows(
    snapshot: Mapping[str, Any],
    orders: Iterable[Mapping[str, Any]],
    zone: dt.tzinfo,
    zone_name: str,
) -> tuple[list[str], list[list[str]]]:
    """One row per fill, as the order's last state lists them (each fill once: ids are
    unique within an order), newest order first, fills in the broker's order."""
    header = [_time_header(c, zone_name) if c == "filled_at" else c for c in FILL_COLUMNS]
    rows = []
    names = account_names(snapshot)
    for o in orders:
        name = names.get(str(o.get("account")), {})
        broker = name.get("broker") or str(o.get("broker") or "")
        seen: set[str] = set()
        for leg in o.get("legs") or []:
            if not isinstance(leg, dict):
                continue
            for f in leg.get("fills") or []:
                if not isinstance(f, dict) or str(f.get("id")) in seen:
                    continue
                seen.add(str(f.get("id")))
                rows.append(
                    [
                        text(broker),
                        text(o.get("account")),
                        text(name.get("label") or ""),
                        text(o.get("id")),
                        text(f.get("id")),
                        text(o.get("underlying")),
                        text(leg.get("symbol")),
                        text(leg.get("display")),
                        text(leg.get("action")),
                        number(f.get("quantity")),
                        number(f.get("price")),
                        when(f.get("at"), zone),
                    ]
                )
    return header, rows


# -- the file --------------------------------------------------------------------------------
def csv_text(header: list[str], rows: list[list[str]]) -> str:
    """RFC 4180 text (CRLF line ends, quoted where needed)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def filename(kind: str, account: str | None, day: dt.date) -> str:
    """`streamdesk-<kind>-<account or all-accounts>-<YYYY-MM-DD>.csv` (the account is
    one of the user's: letters, digits, `.`, `_`, `-`)."""
    return f"streamdesk-{kind}-{account or 'all-accounts'}-{day.isoformat()}.csv"
