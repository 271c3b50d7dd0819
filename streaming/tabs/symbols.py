"""A tab's choice of symbols: the client's `subscribe`/`unsubscribe` applied within the
socket's limit (docs/streaming-contract.md "Limits"), rejected per symbol, never as a
whole message."""

from __future__ import annotations

from collections.abc import Iterable

from streaming import validation
from streaming.contract.frames import Rejection


def apply_change(
    current: set[str], subscribe: bool, raw_symbols: Iterable[str]
) -> tuple[set[str], list[Rejection]]:
    """The tab's symbols after the message (a new set: `current` may be shared with other
    tabs), and the symbols refused: invalid ones, and those over the socket's limit."""
    rejected: list[Rejection] = []
    symbols = set(current)
    for raw in raw_symbols:
        symbol = validation.normalize_symbol(raw)
        if not subscribe:
            if symbol is not None:
                symbols.discard(symbol)
        elif symbol is None:
            rejected.append({"symbol": raw[:40], "reason": "invalid_symbol"})
        elif symbol not in symbols and len(symbols) >= validation.MAX_SYMBOLS_PER_SOCKET:
            rejected.append({"symbol": symbol, "reason": "limit_reached"})
        else:
            symbols.add(symbol)
    return symbols, rejected


def over_user_limit(refused: Iterable[str]) -> list[Rejection]:
    """The owner refused these: the user's stream is at its symbol limit."""
    return [{"symbol": s, "reason": "user_limit_reached"} for s in refused]
