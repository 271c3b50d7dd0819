"""Positions and orders named as the contract names them: each by its instrument.

A broker sends its own symbol; the stream adds, once, when the event arrives: the
instrument's contract symbol (`streamer_symbol`, its quote's key), its display name and
its underlying's contract symbol (docs/streaming-contract.md, "Instruments"). The broker's
own symbol stays as it came. A kind the app does not act on keeps the broker's symbol as
its display. Pure, no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from streaming.instruments.instrument import parse
from streaming.instruments.resolve import from_position


def name_position(position: Mapping[str, Any], broker: str) -> dict[str, Any]:
    """The position with `display` and its contract `streamer_symbol` and `underlying`."""
    named = dict(position)
    instrument = from_position(position, broker)
    if instrument is None:
        named.setdefault("display", str(position.get("symbol") or ""))
        return named
    named["streamer_symbol"] = instrument.symbol
    named["display"] = instrument.display
    named["underlying"] = instrument.underlying
    return named


def name_order(order: Mapping[str, Any], broker: str) -> dict[str, Any]:
    """The order with each leg's `display` and `streamer_symbol`, its `display` (its one
    leg's, or its legs' underlying's) and its underlying's contract symbol."""
    named = dict(order)
    legs = []
    underlyings: list[str] = []
    for leg in order.get("legs") or ():
        instrument = from_position(leg, broker)
        legs.append(
            {
                **leg,
                "streamer_symbol": instrument.symbol if instrument else None,
                "display": instrument.display if instrument else str(leg.get("symbol") or ""),
            }
        )
        if instrument is not None:
            underlyings.append(instrument.underlying)
    named["legs"] = legs
    if underlyings:
        named["underlying"] = underlyings[0]
    if len(legs) == 1:
        named["display"] = legs[0]["display"]
    else:
        underlying = parse(underlyings[0]) if underlyings else None
        named["display"] = underlying.display if underlying else str(order.get("underlying") or "")
    return named
