"""The interface every broker adapter implements, and what it reports into.

An adapter owns one broker link's upstream sessions: it connects, takes a REST snapshot,
streams, reconnects with jittered backoff and reports normalized events into a sink.
The stream manager drives adapters without knowing which broker they speak.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from dataclasses import dataclass
from typing import Any, Protocol

log = logging.getLogger(__name__)


class CredentialRejected(Exception):
    """The broker refused the credential itself: retrying soon will not help."""


class StreamSilent(Exception):
    """The broker stopped sending without closing (detected by the liveness watchdog)."""


class BrokerHTTPError(Exception):
    """A broker REST/stream request answered with an error status (not a rejection)."""

    def __init__(self, status: int, message: str, retry_after: float | None = None) -> None:
        super().__init__(f"HTTP {status}: {message}")
        self.status = status
        self.message = message
        self.retry_after = retry_after


class Checkpoint(Protocol):
    """Where an adapter keeps its replay cursor (e.g. Alpaca's last event id) so that a
    restarted process resumes from it. The database-backed one is streaming.checkpoints."""

    async def load(self) -> str | None: ...

    async def save(self, cursor: str) -> None: ...


class MemoryCheckpoint:
    """A checkpoint that lives as long as the object (tests, `stream_test --no-save`)."""

    def __init__(self, cursor: str | None = None) -> None:
        self.cursor = cursor
        self.saves = 0

    async def load(self) -> str | None:
        return self.cursor

    async def save(self, cursor: str) -> None:
        self.cursor = cursor
        self.saves += 1


class StreamConfig:
    """Timings of one adapter; defaults suit the real APIs, tests shorten them."""

    def __init__(
        self,
        *,
        handshake_timeout: float = 20.0,
        watchdog_timeout: float = 60.0,
        reconcile_interval: float = 60.0,
        refresh_margin: float = 120.0,
        rejected_retry: float = 300.0,
        backoff_base: float = 0.5,
        backoff_cap: float = 30.0,
        stable_after: float = 10.0,
        account_poll_interval: float = 15.0,
        order_poll_interval: float = 2.0,
        chain_cache_ttl: float = 300.0,
    ) -> None:
        self.handshake_timeout = handshake_timeout
        self.watchdog_timeout = watchdog_timeout
        self.reconcile_interval = reconcile_interval
        self.refresh_margin = refresh_margin
        self.rejected_retry = rejected_retry
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.stable_after = stable_after
        #: Brokers without an account push (Tradier): balances/positions re-read this often.
        self.account_poll_interval = account_poll_interval
        #: Orders are polled this often where no order stream is available (Tradier, and
        #: Alpaca while its event stream is down).
        self.order_poll_interval = order_poll_interval
        #: Option chains (with greeks, which the broker refreshes hourly) are cached this long.
        self.chain_cache_ttl = chain_cache_ttl


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


def leaves(exc: BaseException) -> list[BaseException]:
    """The real exceptions inside (possibly nested) exception groups."""
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for inner in exc.exceptions for leaf in leaves(inner)]
    return [exc]


def retry_after(exc: BaseException) -> float:
    """The longest `Retry-After` a broker asked for in this failure (0 if none)."""
    waits = [
        leaf.retry_after
        for leaf in leaves(exc)
        if isinstance(leaf, BrokerHTTPError) and leaf.retry_after
    ]
    return max(waits, default=0.0)


class SupervisedAdapter:
    """The reconnect loop every adapter shares: run one connection, and when it ends,
    classify the failure, report it, wait (jittered backoff, at least any Retry-After)
    and connect again. A rejected credential is reported as `error` and retried only
    every `rejected_retry` seconds, so a dead credential never hammers the broker.

    Subclasses implement `_connect_once` (report `connecting` … `live` and stream until
    something fails), `_describe` (a short, secret-free reason) and `_is_rejection`.
    """

    broker = "broker"
    link_id: int
    config: StreamConfig
    reconnects: int = 0

    async def _connect_once(self, sink: AdapterSink) -> None:
        raise NotImplementedError

    def _describe(self, exc: BaseException) -> str:
        raise NotImplementedError

    def _is_rejection(self, exc: BaseException) -> bool:
        return any(isinstance(leaf, CredentialRejected) for leaf in leaves(exc))

    def _status_extra(self) -> dict[str, Any]:
        return {"reconnects": self.reconnects, "token_expires_at": None}

    def _entering(self, state: str) -> None:
        """Called before the loop reports `error` or `reconnecting` (for subclasses)."""

    async def run(self, sink: AdapterSink) -> None:
        backoff = Backoff(self.config.backoff_base, self.config.backoff_cap)
        while True:
            started = time.monotonic()
            wait_at_least = 0.0
            try:
                await self._connect_once(sink)
                reason = "stream ended"
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # ExceptionGroups included: classify, report, retry
                reason = self._describe(exc)
                if self._is_rejection(exc):
                    log.warning("%s link %s: %s", self.broker, self.link_id, reason)
                    self._entering("error")
                    await sink.status(self.link_id, "error", reason, **self._status_extra())
                    await asyncio.sleep(self.config.rejected_retry)
                    continue
                wait_at_least = retry_after(exc)
                if reason.startswith("unexpected"):
                    log.error("%s link %s failed", self.broker, self.link_id, exc_info=exc)
                else:
                    log.info("%s link %s reconnecting: %s", self.broker, self.link_id, reason)
            if time.monotonic() - started > self.config.stable_after:
                backoff.reset()
            self.reconnects += 1
            delay = max(backoff.next_delay(), wait_at_least)
            self._entering("reconnecting")
            await sink.status(
                self.link_id,
                "reconnecting",
                reason,
                retry_in=round(delay, 2),
                **self._status_extra(),
            )
            await asyncio.sleep(delay)
