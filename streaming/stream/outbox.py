"""What leaves a user's stream manager, in order: frames serialized once, quotes conflated.

Every frame is serialized here once, for every tab of the user, and queued; one sender
publishes them in order (`Sender`), an account frame once it is in the event log.
Quotes and greeks are not queued per tick: they merge into a batch (latest wins per
symbol) that the manager flushes once per interval, and only while no earlier batch
still waits to be published, so neither the queue nor the age of the quotes grows when
publishing falls behind.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

import orjson

from streaming import metrics
from streaming.brokers.payloads import GreeksFields, QuoteFields
from streaming.contract.frames import QuotesFrame
from streaming.stream.state import UserState, merge_values

log = logging.getLogger(__name__)

#: Outbox frames that only carry the newest state (one queued at a time is enough).
LATEST_WINS = frozenset({"quotes", "head"})

#: A frame as queued: one of the contract's frames (a TypedDict), or the `head`.
Frame = Mapping[str, Any]
#: Where a frame goes (injected: fanout.py in the server, the terminal in `stream_test`).
Publish = Callable[[Frame, str], Awaitable[None]]


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
        self.quotes: dict[str, QuoteFields] = {}
        self.greeks: dict[str, GreeksFields] = {}

    def add_quote(self, symbol: str, fields: QuoteFields) -> QuotesFrame | None:
        """Merge a tick; returns a frame to send now (never, here: a benchmark's baseline
        may, bench/baselines.py)."""
        merge_values(self.quotes, symbol, fields)
        return None

    def add_greeks(self, symbol: str, fields: GreeksFields) -> None:
        merge_values(self.greeks, symbol, fields)

    def add_known(self, state: UserState, symbols: Iterable[str]) -> None:
        """The stream's whole values of `symbols` (a tab just asked for them): batches
        carry only what changed."""
        for symbol in symbols:
            quote = state.quotes.get(symbol)
            if quote is not None:
                self.add_quote(symbol, quote.copy())
            greeks = state.greeks.get(symbol)
            if greeks is not None:
                self.add_greeks(symbol, greeks.copy())

    def take(self, now_ms: int) -> QuotesFrame | None:
        """The batch as a `quotes` frame (None if nothing changed), and a fresh batch."""
        if not (self.quotes or self.greeks):
            return None
        quotes, self.quotes = self.quotes, {}
        greeks, self.greeks = self.greeks, {}
        return {"type": "quotes", "quotes": quotes, "greeks": greeks, "t": now_ms}


class Sender:
    """Publishes the outbox in order: an account frame once its write to the event log
    is done, nothing once this process no longer owns the user."""

    def __init__(
        self,
        user_id: int,
        outbox: Outbox,
        publish: Publish,
        *,
        wait_written: Callable[[asyncio.Future[None]], Awaitable[None]],
        authorized: Callable[[], Awaitable[bool]],
        recovered: Callable[[], None],
    ) -> None:
        self.user_id = user_id
        self._outbox = outbox
        self._publish = publish
        self._wait_written = wait_written
        self._authorized = authorized
        #: Called when publishing works again after a failure (the latest state again).
        self._recovered = recovered
        #: A layer publish failed (Redis away): other processes' tabs missed quotes and
        #: statuses; they get the latest of each once publishing works again.
        self._failing = False

    async def run(self) -> None:
        while True:
            frame, text, written = await self._outbox.get()
            if written is not None:
                await self._wait_written(written)  # written ahead: published only once logged
                metrics.observe_account_stage(frame, "logged")
            if not await self._authorized():
                continue  # not the owner any more: the new owner speaks for this user
            try:
                await self._publish(frame, text)
            except Exception as exc:
                if not self._failing:
                    log.warning("user %s: publishing frames failed: %s", self.user_id, exc)
                self._failing = True
                continue
            if self._failing:
                # other processes' tabs missed quotes and statuses: send the latest ones
                # (account frames they missed come from the event log: see `head` frames)
                self._failing = False
                log.warning("user %s: publishing frames works again", self.user_id)
                self._recovered()
