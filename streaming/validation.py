"""Client-message and symbol validation for the browser stream (docs/streaming-contract.md).

Pure functions, so the consumer stays thin and every rule is unit-tested.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import orjson

from streaming.contract.frames import CLIENT_MESSAGE_TYPES
from streaming.instruments.instrument import parse
from streaming.instruments.resolve import clean

MAX_MESSAGE_BYTES = 4096
#: The largest `POST /watchlist` body, checked before it is parsed.
MAX_WATCHLIST_BODY_BYTES = 16 * 1024
MAX_SYMBOLS_PER_MESSAGE = 50
#: The union of every tab's symbols and the watchlist (positions always stream).
MAX_SYMBOLS_PER_USER = 400
#: One socket may carry every tab of a browser (docs "One connection per browser"): its
#: cap is the user's, which still bounds the total across the user's sockets.
MAX_SYMBOLS_PER_SOCKET = MAX_SYMBOLS_PER_USER
#: A list the user names symbol by symbol: the watchlist, a news stream's `symbols`.
MAX_SYMBOLS_PER_LIST = 200
RATE_LIMIT = 30  # messages
RATE_WINDOW = 10.0  # seconds
#: The quote frames a socket may ask for per second (`pace`): between these.
MIN_PACE_FREQUENCY = 0.5
MAX_PACE_FREQUENCY = 20.0


class MessageError(Exception):
    """A client message that is refused; `code` is the contract's error code."""

    def __init__(self, code: str, message: str, ref: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.ref = ref


def normalize_symbol(raw: Any) -> str | None:
    """The contract's symbol (the instrument's feed symbol) of a client's symbol, or None
    if it names no instrument (streaming/instruments: any spelling that names one thing).

    Non-ASCII input is refused *before* `.upper()`, which would otherwise turn `ß` into
    `SS` or `ﬀ` into `FF`; Unicode digits never pass for `0-9`. Options need a real
    expiration date and a strike > 0.
    """
    text = clean(raw)
    instrument = parse(text) if text is not None else None
    return instrument.symbol if instrument is not None else None


@dataclass
class ClientMessage:
    type: str
    symbols: list[str]
    ping_id: Any = None
    #: `pace`: the quote frames per second asked for (None: as fast as they come).
    max_frequency: float | None = None


def parse_client_message(text: str | None) -> ClientMessage:
    """Parse and check one client frame; raises MessageError with the contract's code."""
    if text is None:
        raise MessageError("bad_message", "Only text frames are accepted")
    if len(text.encode()) > MAX_MESSAGE_BYTES:
        raise MessageError("too_large", f"Messages are limited to {MAX_MESSAGE_BYTES} bytes")
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError:
        raise MessageError("bad_json", "Message is not valid JSON") from None
    if not isinstance(data, dict) or not isinstance(data.get("type"), str):
        raise MessageError("bad_message", "Message must be a JSON object with a string 'type'")
    kind = data["type"]
    if kind not in CLIENT_MESSAGE_TYPES:
        raise MessageError("unknown_type", f"Unknown message type {kind[:40]!r}", ref=kind[:40])
    if kind == "ping":
        ping_id = data.get("id")
        if not isinstance(ping_id, str | int | float | type(None)) or isinstance(ping_id, bool):
            raise MessageError("bad_message", "ping id must be a string or a number", ref=kind)
        if isinstance(ping_id, str):
            ping_id = ping_id[:64]
        return ClientMessage(kind, [], ping_id)
    if kind == "pace":
        value = data.get("max_frequency", "missing")
        ok = value is None or (
            isinstance(value, int | float)
            and not isinstance(value, bool)
            and MIN_PACE_FREQUENCY <= value <= MAX_PACE_FREQUENCY
        )
        if not ok:
            raise MessageError(
                "bad_message",
                f"max_frequency must be a number from {MIN_PACE_FREQUENCY:g} to "
                f"{MAX_PACE_FREQUENCY:g} (frames per second), or null",
                ref=kind,
            )
        return ClientMessage(kind, [], max_frequency=None if value is None else float(value))
    symbols = data.get("symbols")
    if not isinstance(symbols, list) or not symbols or not all(isinstance(s, str) for s in symbols):
        raise MessageError("bad_symbols", "'symbols' must be a non-empty list of strings", kind)
    if len(symbols) > MAX_SYMBOLS_PER_MESSAGE:
        raise MessageError(
            "bad_symbols", f"At most {MAX_SYMBOLS_PER_MESSAGE} symbols per message", ref=kind
        )
    return ClientMessage(kind, symbols)


class RateLimiter:
    """A sliding-window count of messages; `allow()` is False once the window is full."""

    def __init__(self, limit: int = RATE_LIMIT, window: float = RATE_WINDOW) -> None:
        self.limit = limit
        self.window = window
        self._times: list[float] = []

    def allow(self, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        cutoff = now - self.window
        self._times = [t for t in self._times if t > cutoff]
        if len(self._times) >= self.limit:
            return False
        self._times.append(now)
        return True


def symbols_param(raw: str | None) -> set[str] | None:
    """A `?symbols=A,B` query parameter (SSE, polling) as contract symbols: invalid ones
    skipped, at most `MAX_SYMBOLS_PER_SOCKET` read (the rest is never split: the work is
    bounded whatever the length; daphne reads request lines up to 16 KiB); None when
    absent."""
    if raw is None:
        return None
    symbols = set()
    for part in raw.split(",", MAX_SYMBOLS_PER_SOCKET)[:MAX_SYMBOLS_PER_SOCKET]:
        symbol = normalize_symbol(part)
        if symbol is not None:
            symbols.add(symbol)
    return symbols


def clean_symbol_list(
    raw: Any, *, field: str, limit: int, holder: str, error: type[ValueError]
) -> list[str]:
    """A request's list of symbols, normalized (order kept, duplicates dropped), for a
    list the user keeps (`holder`: "a watchlist", "the overview"). Raises `error` naming
    the problem: not a list of strings, more than `limit`, or a symbol the stream's rules
    refuse."""
    if not isinstance(raw, list) or not all(isinstance(s, str) for s in raw):
        raise error(f"'{field}' must be a list of strings")
    if len(raw) > limit:
        raise error(f"{holder} holds at most {limit} symbols ('{field}' has {len(raw)})")
    clean: list[str] = []
    for item in raw:
        symbol = normalize_symbol(item)
        if symbol is None:
            raise error(f"not a valid symbol: {item[:40]!r}")
        if symbol not in clean:
            clean.append(symbol)
    return clean
