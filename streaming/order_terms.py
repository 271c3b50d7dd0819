"""An order's terms and its legs in words, for the page rendered before its script runs:
the same text as static/js/stream/order-terms.js (tests/streaming/test_order_terms.py holds
them to the same cases, and to every documented broker example), so the row does not change
when the live values arrive. A quantity the broker did not send is left out, never 0."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from streaming.instruments.instrument import parse
from streaming.instruments.resolve import clean, from_position

ROLES = {"trigger": "entry", "take_profit": "take profit", "stop_loss": "stop loss"}
CLASSES = {"oco": "OCO", "oto": "OTO", "otoco": "OTOCO", "bracket": "Bracket"}
#: What format.js writes for a value nobody sent.
DASH = "\u2014"
EXTENDED = frozenset({"Ext", "Ext Overnight", "GTC Ext", "GTC Ext Overnight", "Pre", "Post"})


def _number(value: Any) -> float | None:
    if value is None or isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _fixed(value: float, least: int, most: int) -> str:
    """en-US digits with at least `least` and at most `most` decimals, halves rounded away
    from zero on the double's exact value (format.js's `nf`, Intl.NumberFormat)."""
    exact = Decimal(value).quantize(Decimal(1).scaleb(-most), rounding=ROUND_HALF_UP)
    text = f"{exact:,.{most}f}"
    while most > least and text.endswith("0"):
        text, most = text[:-1], most - 1
    return text.removesuffix(".")


def price_text(value: float) -> str:
    return _fixed(value, 2, 4 if abs(value) < 10 else 2)


#: The places a quantity is shown to: every place a broker gives (Alpaca's 9; a coin's 8
#: at tastytrade), so the screen never rounds what the account holds (format.js QTY_PLACES).
QUANTITY_PLACES = 9


def quantity_text(value: float) -> str:
    """A quantity as format.js's `fmt.qty` writes it: every place it has, up to
    `QUANTITY_PLACES` (`0.001`, `2.61937`, `1,000`)."""
    return _fixed(value, 0, QUANTITY_PLACES)


def _trail_text(trail: Any) -> str | None:
    if not isinstance(trail, dict):
        return None
    amount, percent = _number(trail.get("amount")), _number(trail.get("percent"))
    hwm = _number(trail.get("high_water_mark"))
    if amount is not None:
        size: str | None = f"trail ${price_text(amount)}"
    elif percent is not None:
        size = f"trail {percent:g}%"
    else:
        size = "trail"
    return " · ".join(
        part for part in (size, f"high {price_text(hwm)}" if hwm is not None else None) if part
    )


#: The types armed at a trigger, and the name their trigger follows: `Stop 390.60`.
STOP_NAMES = {"Stop": "Stop", "Stop Limit": "Stop", "Trailing Stop": "Trailing Stop"}


def order_terms(o: Mapping[str, object]) -> str:
    """The type, prices and time in force, in the order a trader reads them: a stop's
    trigger right after its type's name, the word once (`Stop 390.60 GTC`, `Stop 390.60,
    limit 390.00 Credit GTC`, `Trailing Stop 97.50 trail 2.5% · high 100.00 Day`)."""
    raw = o.get("unsupported")
    u = raw if isinstance(raw, dict) else None
    parts: list[Any] = []
    if u:
        parts.append(f"unsupported: {u.get('name')}")
    typed = not u or u.get("kind") != "order_type"
    price, stop = _number(o.get("price")), _number(o.get("stop_price"))
    stop_name = STOP_NAMES.get(str(o.get("order_type"))) if typed and stop is not None else None
    if stop_name and stop is not None:
        parts.append(f"{stop_name} {price_text(stop)}{',' if price is not None else ''}")
    elif typed:
        parts.append(o.get("order_type"))
    notional = _number(o.get("notional"))
    if notional is not None:
        parts.append(f"${_fixed(notional, 2, 2)}")
    if price is not None:
        parts += [f"limit {price_text(price)}" if stop_name else price_text(price)]
        parts.append(o.get("price_effect"))
    if stop is not None and not stop_name:
        parts.append(f"stop {price_text(stop)}")
    parts.append(_trail_text(o.get("trail")))
    tif = o.get("time_in_force")
    if not u or u.get("kind") != "time_in_force":
        parts.append(tif)
    if tif == "GTD" and o.get("good_till"):
        parts.append(o.get("good_till"))
    if o.get("extended_hours") and tif not in EXTENDED:
        parts.append("ext hours")
    return " ".join(str(p) for p in parts if p is not None and p != "")


def group_name(o: Mapping[str, object], size: int | None = None) -> str:
    """A linked order by what it holds: its class as the broker names it, its underlying
    and (`size`: the orders of the group known) how many orders: `OCO on AAPL: 2 orders`."""
    g = o.get("group")
    cls = str(g.get("class")) if isinstance(g, dict) else ""
    underlying = underlying_text(o)
    on = f" on {underlying}" if underlying else ""
    count = "" if size is None else f": {size} order{'' if size == 1 else 's'}"
    return f"{CLASSES.get(cls, cls)}{on}{count}"


def group_text(o: Mapping[str, object], size: int | None = None) -> str | None:
    """A member of a linked order: its link by what it holds and this member's role
    (`OTOCO on MSFT: 3 orders · stop loss`); its id is no words (the panel's title)."""
    g = o.get("group")
    if not isinstance(g, dict):
        return None
    role = ROLES.get(str(g.get("role")), str(g.get("role")))
    return f"{group_name(o, size)} · {role}"


def display_name(item: Mapping[str, object]) -> str:
    """What a trader reads for a position or an order's leg (format.js `displayName`): its
    `display`, else its instrument's display name, else the broker's symbol as it came."""
    display = item.get("display")
    if isinstance(display, str) and display:
        return display
    instrument = from_position(item)
    return instrument.display if instrument is not None else str(item.get("symbol") or "")


def underlying_text(order: Mapping[str, object]) -> str:
    """An order's underlying as a trader reads it (order-terms.js `underlyingText`): the
    display name of its contract symbol (`BTC/USD:CXTALP` → `BTC/USD`), else as it came."""
    raw = order.get("underlying")
    text = clean(raw)
    instrument = parse(text) if text is not None else None
    return instrument.display if instrument is not None else str(raw or "")


def leg_text(leg: Mapping[str, object]) -> str:
    """A leg: its side, quantity and display name (`Buy to Open 100 AAPL`, `sell 0.25
    BTC/USD`; no quantity: `buy AAPL`)."""
    quantity = _number(leg.get("quantity"))
    parts = (
        leg.get("action"),
        quantity_text(quantity) if quantity is not None else None,
        display_name(leg),
    )
    return " ".join(str(p) for p in parts if p is not None and p != "")


def leg_filled_text(leg: Mapping[str, Any]) -> str | None:
    """How much of a leg filled, by its fills (`60/100 filled`), or None when nothing did.
    An order that ended unfilled has nothing left to fill, and still filled nothing."""
    fills = leg.get("fills") or []
    filled = sum((_number(f.get("quantity")) or 0.0) for f in fills if isinstance(f, dict))
    if not filled > 0:
        return None
    quantity = _number(leg.get("quantity"))
    if quantity is None:
        return f"{quantity_text(filled)} filled"
    return f"{quantity_text(filled)}/{quantity_text(quantity)} filled"


def fill_text(fill: Mapping[str, object]) -> str:
    """One fill: `filled 60 @ 190.25`."""
    quantity, price = _number(fill.get("quantity")), _number(fill.get("price"))
    return (
        f"filled {quantity_text(quantity) if quantity is not None else DASH}"
        f" @ {price_text(price) if price is not None else DASH}"
    )
