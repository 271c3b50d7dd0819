"""The strategies table's POP and P50 cells, and each option position's POP cell (the
dashboard's), as text (docs/streaming-contract.md, "The odds", "On the /risk page").
Mirrored by static/js/stream/odds.js `oddsCells`, `positionPops`: every number is
rounded half up (`floor(x·10^d + 0.5)`), the same float operations in both languages, so the
server's text and the browser's never differ at a tie (Python's format rounds half to even).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import TypedDict

from streaming.risk.odds.answer import StrategyOdds, StrategyRow
from streaming.risk.odds.inputs import PopInputs

DASH = "—"


def half_up(value: float, digits: int) -> str:
    """`value` to `digits` decimals, en-US grouping, a tie rounded up: 590.125 → "590.13"."""
    scale = 10**digits
    rounded = math.floor(value * scale + 0.5) / scale
    return f"{rounded:,.{digits}f}"


def percent(probability: float) -> str:
    """A probability (0 to 1) as a whole percentage: 0.745 → "75%"."""
    return f"{math.floor(probability * 100 + 0.5)}%"


def inputs_text(inputs: PopInputs) -> str:
    """ "price 590.12, IV 24.0%, rate 4.0%, 45.3 days": what the odds were weighed from."""
    return (
        f"price {half_up(inputs['price'], 2)}, IV {half_up(inputs['iv'] * 100, 1)}%, "
        f"rate {half_up(inputs['rate'] * 100, 1)}%, {half_up(inputs['days'], 1)} days"
    )


def odds_cells(odds: StrategyOdds) -> dict[str, str]:
    """`pop`, `p50`: the percentages or "—"; `*_title`: the inputs, or the note when null;
    `*_why`: the note for a screen reader ("" beside a number)."""
    found = odds.get("pop_inputs")
    inputs = "" if found is None else inputs_text(found)
    cells: dict[str, str] = {}
    for key, value, note in (
        ("pop", odds.get("probability_of_profit"), odds.get("pop_note")),
        ("p50", odds.get("p50"), odds.get("p50_note")),
    ):
        why = "" if value is not None else note or "unknown"
        cells[key] = DASH if value is None else percent(value)
        cells[f"{key}_title"] = inputs if value is not None else why
        cells[f"{key}_why"] = why
    return cells


class PopCell(TypedDict):
    """A position's POP cell: the text, its title, the note for a screen reader."""

    text: str
    title: str
    why: str


def position_pops(rows: Iterable[StrategyRow]) -> dict[str, PopCell]:
    """Each option position's POP cell, "<account>|<leg symbol>" → the cell of the strategy it
    is part of (the first listed where a position is split across two: two short calls
    against 100 shares). Stock legs have none. Mirrored by static/js/stream/odds.js
    `positionPops`."""
    cells: dict[str, PopCell] = {}
    for row in rows:
        c = odds_cells(row)
        for leg in row["legs"]:
            key = f"{row['account']}|{leg['symbol']}"
            if leg["kind"] != "stock" and key not in cells:
                cells[key] = {"text": c["pop"], "title": c["pop_title"], "why": c["pop_why"]}
    return cells
