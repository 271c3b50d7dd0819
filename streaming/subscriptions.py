"""Which symbols a user's stream wants: the union of every open tab's, the watchlist's
and the positions', capped per user (docs/streaming-contract.md "Client messages")."""

from __future__ import annotations

import time
from collections.abc import Iterable

from .validation import MAX_SYMBOLS_PER_USER

#: A tab that has not re-sent its symbols for this long is gone (its process may have died).
TAB_TTL = 90.0


class TabSymbols:
    """Each tab's wanted symbols, wherever the tab runs, and when it last said so."""

    def __init__(self) -> None:
        self.by_tab: dict[str, set[str]] = {}
        self._seen: dict[str, float] = {}

    def union(self, exclude: str | None = None) -> set[str]:
        wanted: set[str] = set()
        for tab, symbols in self.by_tab.items():
            if tab != exclude:
                wanted |= symbols
        return wanted

    def set(self, tab: str, symbols: Iterable[str], others: set[str]) -> tuple[bool, list[str]]:
        """One tab's symbols, given what everything else wants (`others`): the union stays
        within `MAX_SYMBOLS_PER_USER`. Returns whether the tab's set changed, and the
        symbols refused for that limit."""
        self._seen[tab] = time.monotonic()
        wanted = set(symbols)
        room = MAX_SYMBOLS_PER_USER - len(others)
        new = sorted(wanted - others)
        refused = new[max(room, 0) :]
        wanted -= set(refused)
        if self.by_tab.get(tab) == wanted:
            return False, refused
        self.by_tab[tab] = wanted
        return True, refused

    def drop(self, tab: str) -> bool:
        """Forget a tab; True if it had symbols."""
        self._seen.pop(tab, None)
        return self.by_tab.pop(tab, None) is not None

    def silent(self, ttl: float = TAB_TTL) -> list[str]:
        """Tabs that stopped re-sending their symbols (their process died)."""
        cutoff = time.monotonic() - ttl
        return [tab for tab, seen in self._seen.items() if seen < cutoff]
