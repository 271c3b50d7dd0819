"""What leaves a user's stream manager, in order: frames serialized once, quotes conflated.

Every frame is serialized here once, for every tab of the user, and queued; one sender
publishes them in order. Quotes and greeks are not queued per tick: they merge into a
batch (latest wins per symbol) that the manager flushes once per interval, and only
while no earlier batch still waits to be published, so neither the queue nor the age of
the quotes grows when publishing falls behind.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import orjson

from streaming.contract import QuotesFrame, now_ms
from streaming.stream.state import merge_values

#: Outbox frames that only carry the newest state (one queued at a time is enough).
LATEST_WINS = frozenset({"quotes", "head"})

Frame = dict[str, Any]


class Outbox:
    """The ordered queue of (frame, its one serialization)."""

    def __init__(self) -> None:
        self._queue: asyncio.Queue[tuple[Frame, str, asyncio.Future[None] | None]] = asyncio.Queue()
        self._waiting: Counter[str] = Counter()

    def put(
        self, frame: Frame, text: str | None = None, written: asyncio.Future[None] | None = None
    ) -> None:
        """Queue a frame; `written`: its write to the event log, which must be done before
        the frame is published (the sender waits for it)."""
        if frame["type"] in LATEST_WINS:
            self._waiting[frame["type"]] += 1
        self._queue.put_nowait((frame, text or orjson.dumps(frame).decode(), written))

    async def get(self) -> tuple[Frame, str, asyncio.Future[None] | None]:
        frame, text, written = await self._queue.get()
        if frame["type"] in LATEST_WINS:
            self._waiting[frame["type"]] -= 1
        return frame, text, written

    def waiting(self, kind: str) -> bool:
        """Whether a latest-wins frame of `kind` is queued and not yet published."""
        return self._waiting[kind] > 0


class QuoteBatch:
    """Quotes and greeks since the last flush, newest values per symbol."""

    def __init__(self) -> None:
        self.quotes: dict[str, dict[str, Any]] = {}
        self.greeks: dict[str, dict[str, Any]] = {}

    def add_quote(self, symbol: str, fields: dict[str, Any]) -> Frame | None:
        """Merge a tick; returns a frame to send now (never, here: see PerTickQuotes)."""
        merge_values(self.quotes, symbol, fields)
        return None

    def add_greeks(self, symbol: str, fields: dict[str, Any]) -> None:
        merge_values(self.greeks, symbol, fields)

    def take(self, now_ms: int) -> QuotesFrame | None:
        """The batch as a `quotes` frame (None if nothing changed), and a fresh batch."""
        if not (self.quotes or self.greeks):
            return None
        quotes, self.quotes = self.quotes, {}
        greeks, self.greeks = self.greeks, {}
        return {"type": "quotes", "quotes": quotes, "greeks": greeks, "t": now_ms}


class PerTickQuotes(QuoteBatch):
    """The benchmarks' baseline of what not to do (`STREAM_NAIVE_FANOUT`): one frame
    per tick, no conflation."""

    def add_quote(self, symbol: str, fields: dict[str, Any]) -> Frame | None:
        # the frame's `t` is when it was made (as a batch's): tabs order it by that
        return {"type": "quotes", "quotes": {symbol: fields}, "greeks": {}, "t": now_ms()}
