"""A sink that records what an adapter reports, with a way to wait for a condition."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

KINDS = ("quotes", "account")


class RecordingSink:
    """Implements the adapter sink interface (streaming.brokers.base.AdapterSink) by
    keeping everything it is told.

    `statuses` holds `(kind, state, reason, extra)` in order ("all" as the adapter said
    it); `states` is every reported state, `kind_states(kind)` those that apply to one
    kind ("all" included) and `state(kind)` the current one. Set `allowed = False` to
    make `authorized()` refuse (the lease gate); `authorize_calls` counts the asks."""

    def __init__(self) -> None:
        self.quotes: dict[str, dict[str, Any]] = {}
        self.quote_counts: dict[str, int] = {}
        self.greek_values: dict[str, dict[str, Any]] = {}
        self.events: list[tuple[str, int, str, Any]] = []
        self.statuses: list[tuple[str, str, str, dict[str, Any]]] = []
        self.fresh_counts: dict[str, int] = {kind: 0 for kind in KINDS}
        self.fresh_at: dict[str, float] = {}
        self.allowed = True
        self.authorize_calls = 0
        self._changed = asyncio.Event()

    def _poke(self) -> None:
        self._changed.set()

    # -- the sink interface -------------------------------------------------------------
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

    async def status(
        self, link_id: int, state: str, reason: str = "", *, kind: str = "all", **extra: Any
    ) -> None:
        assert kind in (*KINDS, "all"), kind
        self.statuses.append((kind, state, reason, extra))
        self._poke()

    def fresh(self, link_id: int, kind: str) -> None:
        assert kind in KINDS, kind
        self.fresh_counts[kind] += 1
        self.fresh_at[kind] = time.monotonic()
        self._poke()

    async def authorized(self) -> bool:
        self.authorize_calls += 1
        self._poke()
        return self.allowed

    # -- reading it back --------------------------------------------------------------
    @property
    def states(self) -> list[str]:
        """Every reported state, of any kind, in order."""
        return [s for _, s, _, _ in self.statuses]

    def of_kind(self, kind: str) -> list[tuple[str, str, dict[str, Any]]]:
        """(state, reason, extra) of the statuses that apply to `kind` ("all" included)."""
        return [(s, r, e) for k, s, r, e in self.statuses if k in (kind, "all")]

    def kind_states(self, kind: str) -> list[str]:
        return [s for s, _, _ in self.of_kind(kind)]

    def state(self, kind: str) -> str | None:
        """The current state of `kind` (None before any status)."""
        states = self.kind_states(kind)
        return states[-1] if states else None

    def reason(self, kind: str, state: str) -> str:
        """The reason of the first `state` status of `kind`."""
        return next(r for s, r, _ in self.of_kind(kind) if s == state)

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
                async with asyncio.timeout(min(remaining, 0.2)):
                    await self._changed.wait()


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
