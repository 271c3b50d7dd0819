"""Which symbols a user's stream wants: the union of every open tab's, the watchlist's
and the positions', capped per user (docs/streaming-contract.md "Client messages")."""

from __future__ import annotations

import sys
from collections.abc import Iterable

from streaming.runtime.clock import SYSTEM, Clock
from streaming.validation import MAX_SYMBOLS_PER_USER

#: A tab that has not re-sent its symbols for this long is gone (its process may have died).
TAB_TTL = 90.0
#: A polling page re-sends its symbols with every poll (2 s): gone after a few missed polls.
POLL_TAB_TTL = 10.0
#: A polling page's tab name: `poll:<the page's id>` (no channel to reply to).
POLL_TAB_PREFIX = "poll:"


def shared_set(symbols: Iterable[str], others: Iterable[set[str]]) -> set[str]:
    """`symbols` as a set of interned strings, or an equal set from `others` (the same
    user's other tabs: most have the same watchlist). Memory per socket
    (docs/performance.md): each tab held its own set (~2 KiB for 20 symbols) of its own
    strings. The set may be shared: it is never changed in place, only replaced."""
    wanted = {sys.intern(symbol) for symbol in symbols}
    for other in others:
        if other == wanted:
            return other
    return wanted


class TabSymbols:
    """Each tab's wanted symbols, wherever the tab runs, and when it last said so."""

    def __init__(self, clock: Clock = SYSTEM) -> None:
        #: When a tab last said its symbols is the stream's clock's (monotonic).
        self._clock = clock
        #: Shared between tabs with equal sets (`shared_set`): replaced, never changed.
        self.by_tab: dict[str, set[str]] = {}
        self._seen: dict[str, float] = {}
        self._ttl: dict[str, float] = {}

    def union(self, exclude: str | None = None) -> set[str]:
        wanted: set[str] = set()
        for tab, symbols in self.by_tab.items():
            if tab != exclude:
                wanted |= symbols
        return wanted

    def set(
        self, tab: str, symbols: Iterable[str], others: set[str], ttl: float = TAB_TTL
    ) -> tuple[bool, list[str]]:
        """One tab's symbols, given what everything else wants (`others`): the union stays
        within `MAX_SYMBOLS_PER_USER`; the tab is forgotten `ttl` s after it last said so.
        Returns whether the tab's set changed, and the symbols refused for that limit."""
        self._seen[tab] = self._clock.monotonic()
        self._ttl[tab] = ttl
        wanted = set(symbols)
        room = MAX_SYMBOLS_PER_USER - len(others)
        new = sorted(wanted - others)
        refused = new[max(room, 0) :]
        wanted -= set(refused)
        if self.by_tab.get(tab) == wanted:
            return False, refused
        self.by_tab[tab] = shared_set(wanted, self.by_tab.values())
        return True, refused

    def drop(self, tab: str) -> bool:
        """Forget a tab; True if it had symbols."""
        self._seen.pop(tab, None)
        self._ttl.pop(tab, None)
        return self.by_tab.pop(tab, None) is not None

    def silent(self, ttl: float | None = None) -> list[str]:
        """Tabs that stopped re-sending their symbols (their process died, a polling page
        closed): each after its own TTL, or after `ttl` for all when given."""
        now = self._clock.monotonic()
        return [
            tab
            for tab, seen in self._seen.items()
            if now - seen >= (self._ttl.get(tab, TAB_TTL) if ttl is None else ttl)
        ]
