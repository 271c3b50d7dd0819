"""A sink that records what an adapter reports, with a way to wait for a condition."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from typing import Any


class RecordingSink:
    """Implements the adapter sink interface by keeping everything it is told."""

    def __init__(self) -> None:
        self.quotes: dict[str, dict[str, Any]] = {}
        self.quote_counts: dict[str, int] = {}
        self.greek_values: dict[str, dict[str, Any]] = {}
        self.events: list[tuple[str, int, str, Any]] = []
        self.statuses: list[tuple[str, str, dict[str, Any]]] = []
        self._changed = asyncio.Event()

    def _poke(self) -> None:
        self._changed.set()

    def quote(self, symbol: str, fields: dict[str, Any]) -> None:
        self.quotes.setdefault(symbol, {}).update(fields)
        self.quote_counts[symbol] = self.quote_counts.get(symbol, 0) + 1
        self._poke()

    def greeks(self, symbol: str, fields: dict[str, Any]) -> None:
        self.greek_values.setdefault(symbol, {}).update(fields)
        self._poke()

    async def account_event(self, kind: str, link_id: int, account: str, payload: Any) -> None:
        self.events.append((kind, link_id, account, payload))
        self._poke()

    async def status(self, link_id: int, state: str, reason: str = "", **extra: Any) -> None:
        self.statuses.append((state, reason, extra))
        self._poke()

    @property
    def states(self) -> list[str]:
        return [s for s, _, _ in self.statuses]

    async def wait_for(self, condition: Callable[[], Any], within: float = 10.0) -> Any:
        """Wait until `condition()` is truthy; returns its value or fails the test."""
        deadline = time.monotonic() + within
        while True:
            value = condition()
            if value:
                return value
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"condition not met within {within} s")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), min(remaining, 0.2))


@contextlib.asynccontextmanager
async def running(adapter: Any, sink: RecordingSink) -> AsyncIterator[asyncio.Task[None]]:
    """Run an adapter into the sink for the block, then cancel it and wait until it ended."""
    task = asyncio.create_task(adapter.run(sink))
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
