"""What a position is worth now, read from the contract's shapes: a number as the browser
reads one, an option told apart from the rest, the live mark (docs/streaming-contract.md,
"Objects"). Pure: the totals, the risk numbers, the limits and the P&L samples all value
positions here, as static/js/stream/totals.js does in the browser.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def number(value: Any) -> float | None:
    """A finite number (or numeric string) or None, as contract.js's `num`."""
    if isinstance(value, str):
        try:
            value = float(value.strip()) if value.strip() else None
        except ValueError:
            return None
    if not isinstance(value, int | float):
        return None
    number = float(value)
    return number if number == number and abs(number) != float("inf") else None


def is_option_position(p: Mapping[str, object]) -> bool:
    """Whether a position is an option: its instrument type says so, or its feed symbol
    is an option's (a leading dot)."""
    return "option" in str(p.get("instrument_type") or "").lower() or str(
        p.get("streamer_symbol") or ""
    ).startswith(".")


def live_mark(
    symbol: str, fallback: Any, quotes: Mapping[str, object]
) -> tuple[float | None, bool]:
    """The live quote's mid (or last), else the broker's mark; and whether it is live."""
    q = quotes.get(symbol)
    if isinstance(q, dict):
        bid, ask, last = number(q.get("bid")), number(q.get("ask")), number(q.get("last"))
        if bid is not None and ask is not None:
            return (bid + ask) / 2, True
        if last is not None:
            return last, True
    return number(fallback), False
