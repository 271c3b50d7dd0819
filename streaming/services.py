"""Writes for streaming preferences."""

from __future__ import annotations

from .models import Watchlist
from .validation import MAX_SYMBOLS_PER_SOCKET, normalize_symbol


class WatchlistError(ValueError):
    """A watchlist that cannot be saved, with a message for the user."""


def watchlist_set(*, user_id: int, symbols: list[str]) -> list[str]:
    """Validate, normalize and store a user's watchlist (order kept, duplicates dropped)."""
    if not isinstance(symbols, list) or not all(isinstance(s, str) for s in symbols):
        raise WatchlistError("symbols must be a list of strings")
    if len(symbols) > MAX_SYMBOLS_PER_SOCKET:
        raise WatchlistError(f"a watchlist holds at most {MAX_SYMBOLS_PER_SOCKET} symbols")
    clean: list[str] = []
    for raw in symbols:
        symbol = normalize_symbol(raw)
        if symbol is None:
            raise WatchlistError(f"not a valid symbol: {raw[:40]!r}")
        if symbol not in clean:
            clean.append(symbol)
    Watchlist.objects.update_or_create(user_id=user_id, defaults={"symbols": clean})
    return clean
