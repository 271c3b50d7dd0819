"""A quote's change over the day: last, change and change % from its previous close, and
their text as the browser writes them (static/js/stream/overview.js). Pure: the market
overview's tiles and a chart's header show them first, server-rendered."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

DASH = "—"


def _dec(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def tile_values(quote: Mapping[str, object] | None) -> dict[str, Decimal | None]:
    """`last`, `change` (last - prev_close) and `change_pct` of one quote, for the
    server-rendered page (static/js/stream/overview.js computes the same in the browser).
    A value that cannot be computed is None (shown "—"), never 0."""
    quote = quote or {}
    last = _dec(quote.get("last"))
    prev = _dec(quote.get("prev_close"))
    change = last - prev if last is not None and prev is not None else None
    pct = change / prev * 100 if change is not None and prev is not None and prev > 0 else None
    return {"last": last, "prev_close": prev, "change": change, "change_pct": pct}


def tile_text(values: dict[str, Decimal | None]) -> dict[str, str]:
    """The tile's text as the browser writes it (overview.js `tileText`): "—" if None."""
    last, change, pct = values["last"], values["change"], values["change_pct"]

    def signed(v: Decimal, text: str) -> str:
        if Decimal(text.replace(",", "").rstrip("%")) == 0:
            return text
        return f"{'+' if v > 0 else '-'}{text}"

    return {
        "last": DASH if last is None else f"{last:,.2f}",
        "change": DASH if change is None else signed(change, f"{abs(change):,.2f}"),
        "change_pct": DASH if pct is None else signed(pct, f"{abs(pct):.2f}%"),
    }
