"""How the risk views name what they show: an underlying and a position by their display
names, a quantity exactly, and an underlying asked for in any spelling resolved through
the user's holdings (docs/streaming-contract.md "Instruments", "The /risk page"). Pure.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from streaming.instruments.instrument import Instrument, parse
from streaming.instruments.resolve import book_of, clean

DASH = "—"


def underlying_display(symbol: str) -> str:
    """An underlying's display name from its contract symbol (`/ESZ26:XCME` → `/ES Dec 26`,
    `BTC/USD:CXTALP` → `BTC/USD`); the symbol itself when it names no instrument."""
    text = clean(symbol)
    found = parse(text) if text else None
    return found.display if found is not None else symbol


def position_display(position: Mapping[str, object]) -> str:
    """What a trader reads for a position: its `display`, else the broker's symbol."""
    return str(position.get("display") or position.get("symbol") or "")


def quantity_text(value: float | None, *, sign: bool = False) -> str:
    """A quantity exactly as held (0.25, -1,000, 0.000000001: never rounded away), en-US
    grouping; a "+" on a positive one when `sign`; "—" when unknown."""
    if value is None:
        return DASH
    exact = Decimal(repr(float(value))).normalize()
    if exact.is_zero():
        return "0"
    text = f"{exact:,f}"
    return f"+{text}" if sign and exact > 0 else text


def resolve_underlying(snapshot: Mapping[str, Any], raw: object) -> Instrument | None:
    """The instrument any spelling names (`BTCUSD` where Alpaca holds the coin, `BTC/USD`,
    `/ESZ6`, `/ESZ26:XCME`), the user's holdings first; None when it names none."""
    return book_of(snapshot.get("accounts") or []).resolve(raw)
