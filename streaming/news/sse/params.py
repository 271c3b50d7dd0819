"""The news SSE stream's request parameters (docs/streaming-contract.md, "News"): the
symbols, the cursor (`after` or `Last-Event-ID`), `backlog` and `duration`, checked before
anything is opened."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from streaming import validation
from streaming.contract.frames import Rejection

#: `?symbols=` longer than this many bytes is refused before it is split (200 symbols
#: of at most 32 characters and their commas).
MAX_SYMBOLS_BYTES = validation.MAX_SYMBOLS_PER_LIST * 33
#: `?backlog=` at most.
MAX_BACKLOG = 100
#: A cursor or a number parameter: ASCII digits only (no sign, no spaces, no other digits).
_NUMBER = re.compile(r"[0-9]{1,15}", re.ASCII)


class BadRequest(ValueError):
    """A parameter the stream refuses: a 400 `{"error": code, "message": message}`."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Params:
    """A stream request's parameters, checked (symbols None: the watchlist)."""

    symbols: list[str] | None
    rejected: list[Rejection]
    after: int | None
    backlog: int
    duration: int | None


def parse_symbols(raw: str) -> tuple[list[str], list[Rejection]]:
    """`A,B,…` → (accepted, sorted; rejected with reasons). Over 200 symbols or
    `MAX_SYMBOLS_BYTES` is refused whole, before anything is split."""
    if len(raw) > MAX_SYMBOLS_BYTES:
        raise BadRequest(
            "bad_symbols",
            f"'symbols' is {len(raw)} characters; at most {MAX_SYMBOLS_BYTES} "
            f"({validation.MAX_SYMBOLS_PER_LIST} symbols)",
        )
    parts = [p for p in raw.split(",") if p.strip()]
    if len(parts) > validation.MAX_SYMBOLS_PER_LIST:
        raise BadRequest(
            "bad_symbols",
            f"at most {validation.MAX_SYMBOLS_PER_LIST} symbols per stream "
            f"('symbols' has {len(parts)})",
        )
    accepted: set[str] = set()
    rejected: list[Rejection] = []
    for part in parts:
        symbol = validation.normalize_symbol(part)
        if symbol is None:
            rejected.append({"symbol": part[:40], "reason": "invalid_symbol"})
        else:
            accepted.add(symbol)
    return sorted(accepted), rejected


def _number(raw: str, name: str, code: str, low: int, high: int) -> int:
    if not _NUMBER.fullmatch(raw) or not low <= int(raw) <= high:
        raise BadRequest(code, f"'{name}' must be a whole number from {low} to {high}")
    return int(raw)


def parse_params(query: Any, last_event_id: str | None) -> Params:
    """The query (`symbols`, `after`, `backlog`, `duration`) and `Last-Event-ID` (which
    wins over `after`: a browser's reconnect sends it with the original URL)."""
    symbols: list[str] | None = None
    rejected: list[Rejection] = []
    if query.get("symbols") is not None:
        symbols, rejected = parse_symbols(query["symbols"])
        if not symbols:
            raise BadRequest("bad_symbols", "no valid symbol in 'symbols'")
    raw_after = last_event_id or query.get("after")
    after = None
    if raw_after is not None:
        name = "Last-Event-ID" if last_event_id else "after"
        if not _NUMBER.fullmatch(raw_after.strip()):
            raise BadRequest(
                "bad_cursor",
                f"'{name}' must be a news cursor (a whole number), not {raw_after[:40]!r}",
            )
        after = int(raw_after.strip())
    backlog = _number(query.get("backlog", "0"), "backlog", "bad_backlog", 0, MAX_BACKLOG)
    duration = None
    if query.get("duration") is not None:
        high = settings.NEWS_STREAM_MAX_SECONDS
        duration = _number(query["duration"], "duration", "bad_duration", 1, high)
    return Params(symbols, rejected, after, backlog, duration)
