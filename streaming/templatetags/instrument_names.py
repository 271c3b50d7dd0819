"""Instruments in a server-rendered page by the names a trader reads (the display names
of docs/streaming-contract.md "Instruments", as static/js/stream/instruments.js writes
them), so the first paint and the live page say the same."""

from __future__ import annotations

from typing import Any

from django import template

from streaming.instruments.instrument import parse
from streaming.instruments.resolve import clean

register = template.Library()


@register.filter
def display(symbol: Any) -> str:
    """A symbol's display name (`BTC/USD:CXTALP` → `BTC/USD`, `/ESZ26:XCME` → `/ES Dec 26`);
    the symbol as it came when it names no instrument."""
    text = clean(symbol)
    instrument = parse(text) if text is not None else None
    return instrument.display if instrument is not None else str(symbol or "")
