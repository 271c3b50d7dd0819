"""The market overview: a user's list of symbols (selector + service) and its tiles (a
quote's change over the day, streaming/portfolio/day_change.py, and its heat).

The symbols stream through the tab's own subscription (the browser's `subscribe`
message, inside the per-user union and its cap): there is no second quote path.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any, TypedDict

from accounts.selectors import broker_link_list
from streaming.brokers.catalog import QUOTE_BROKERS
from streaming.models import MarketOverview
from streaming.portfolio.day_change import tile_text, tile_values
from streaming.validation import MAX_SYMBOLS_PER_MESSAGE, clean_symbol_list

#: The main index ETFs (and the VIX), in the order the overview shows them.
DEFAULT_OVERVIEW = ["SPY", "QQQ", "IWM", "DIA", "VIX", "GLD", "TLT", "EEM", "XLF", "XLE"]
#: At most this many symbols (one `subscribe` message carries them all).
MAX_OVERVIEW_SYMBOLS = 20
assert MAX_OVERVIEW_SYMBOLS <= MAX_SYMBOLS_PER_MESSAGE
#: The change % at which a tile's colour is one step stronger (up to 5 steps).
HEAT_STEPS = ("0.05", "0.5", "1", "2", "3")


class OverviewError(ValueError):
    """An overview list that cannot be saved, with a message for the user."""


def overview_get(*, user_id: int) -> list[str]:
    """The user's overview symbols; the default list if they never saved one."""
    row = MarketOverview.objects.filter(user_id=user_id).only("symbols").first()
    return list(DEFAULT_OVERVIEW) if row is None else list(row.symbols)


def overview_clean(raw: Any) -> list[str]:
    """Validate and normalize a list of symbols (order kept, duplicates dropped).

    Raises OverviewError naming the problem: not a list of strings, empty, more than
    `MAX_OVERVIEW_SYMBOLS`, or a symbol the stream's rules refuse.
    """
    if isinstance(raw, list) and not raw:
        raise OverviewError("the overview needs at least one symbol")
    return clean_symbol_list(
        raw, field="symbols", limit=MAX_OVERVIEW_SYMBOLS, holder="the overview", error=OverviewError
    )


def overview_set(*, user_id: int, symbols: Any) -> list[str]:
    """Replace the user's overview list (validated first; nothing is stored on error)."""
    clean = overview_clean(symbols)
    MarketOverview.objects.update_or_create(user_id=user_id, defaults={"symbols": clean})
    return clean


def heat_level(pct: Decimal | None) -> int | None:
    """-5..5 by change % (static/js/stream/overview.js `heatLevel`: the same steps)."""
    if pct is None:
        return None
    size = abs(pct)
    level = sum(size >= Decimal(step) for step in HEAT_STEPS)
    return level if pct > 0 else -level


def quote_link_exists(*, user_id: int) -> bool | None:
    """Whether one of the user's links streams quotes: True; False when links exist but
    none quotes (e.g. Alpaca only); None without any link."""
    links = broker_link_list(user_id=user_id)
    if not links:
        return None
    return any(link.broker in QUOTE_BROKERS for link in links)


class Tile(TypedDict):
    """One symbol's tile: its day change from the last known quote (None: not known)."""

    symbol: str
    last: Decimal | None
    prev_close: Decimal | None
    change: Decimal | None
    change_pct: Decimal | None
    text: dict[str, str]
    heat: int | None


class Overview(TypedDict):
    symbols: list[str]
    tiles: list[Tile]
    #: whether any link streams quotes (None: no link at all)
    quotes_available: bool | None
    max_symbols: int


class OverviewContext(TypedDict):
    overview: Overview


def overview_context(
    *, user_id: int, quotes: Mapping[str, Any], symbols: list[str] | None = None
) -> OverviewContext:
    """The template's `overview`: the tiles from the last known quotes (before the
    stream is up), and whether quotes can come at all."""
    if symbols is None:
        symbols = overview_get(user_id=user_id)
    tiles: list[Tile] = []
    for symbol in symbols:
        values = tile_values(quotes.get(symbol))
        tiles.append(
            {
                "symbol": symbol,
                "last": values["last"],
                "prev_close": values["prev_close"],
                "change": values["change"],
                "change_pct": values["change_pct"],
                "text": tile_text(values),
                "heat": heat_level(values["change_pct"]),
            }
        )
    return {
        "overview": {
            "symbols": symbols,
            "tiles": tiles,
            "quotes_available": quote_link_exists(user_id=user_id),
            "max_symbols": MAX_OVERVIEW_SYMBOLS,
        }
    }
