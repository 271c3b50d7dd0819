"""The interface every broker adapter implements, and what it reports into.

An adapter owns one broker link's upstream sessions: it connects, takes a REST snapshot,
streams, reconnects with jittered backoff and reports normalized events into a sink.
The stream manager drives adapters without knowing which broker they speak.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, Protocol


class CredentialRejected(Exception):
    """The broker refused the credential itself: retrying soon will not help."""


class StreamSilent(Exception):
    """The broker stopped sending without closing (detected by the liveness watchdog)."""


class AdapterSink(Protocol):
    """Where an adapter reports. Quote methods are sync and cheap (called per tick)."""

    def quote(self, symbol: str, fields: dict[str, Any]) -> None: ...

    def greeks(self, symbol: str, fields: dict[str, Any]) -> None: ...

    async def account_event(self, kind: str, link_id: int, account: str, payload: Any) -> None: ...

    async def status(self, link_id: int, state: str, reason: str = "", **extra: Any) -> None: ...


class BrokerAdapter(Protocol):
    link_id: int

    async def run(self, sink: AdapterSink) -> None:
        """Stream until cancelled, reconnecting as needed; never returns normally."""

    def set_symbols(self, symbols: set[str]) -> None:
        """The quote symbols wanted now (streamer form); the adapter diffs and subscribes."""


@dataclass
class Backoff:
    """Jittered exponential backoff: base doubling up to cap, ±jitter, reset on success."""

    base: float = 0.5
    cap: float = 30.0
    jitter: float = 0.3
    attempt: int = 0

    def next_delay(self) -> float:
        delay = min(self.cap, self.base * (2**self.attempt))
        self.attempt += 1
        return delay * random.uniform(1 - self.jitter, 1 + self.jitter)

    def reset(self) -> None:
        self.attempt = 0
