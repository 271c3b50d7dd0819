"""The interface every broker adapter implements, and what it reports into.

An adapter owns one broker link's upstream sessions: it connects, takes a REST snapshot,
streams, reconnects with jittered backoff and reports normalized events into a sink.
The stream manager drives adapters without knowing which broker they speak.

A link carries two data kinds, `quotes` (market data) and `account` (balances, positions,
orders), and an adapter runs one supervised loop per kind it serves, each with its own
backoff and its own status: account trouble never takes market data down, nor the
reverse (docs/streaming-contract.md, "link status").
"""

from __future__ import annotations

import asyncio
import logging
import random
import statistics
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from streaming import metrics
from streaming.brokers.errors import StreamSilent, describe, is_rejection, retry_after
from streaming.brokers.values import without

log = logging.getLogger(__name__)

#: The data kinds a link reports on separately; "all" in a status means both.
KINDS = ("quotes", "account")
#: How often a refused lease gate (`AdapterSink.authorized`) is asked again (seconds).
AUTHORIZE_RECHECK = 1.0
#: Quote event times lagging receipt by more than this (median) mark a link delayed (ms).
DELAYED_AFTER_MS = 60_000
#: The states in which a kind waits to try again, the one an operator must see first.
WAITING = ("error", "reconnecting")


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


@dataclass(kw_only=True, eq=False)
class StreamConfig:
    """Timings of one adapter (seconds); defaults suit the real APIs, tests shorten them."""

    handshake_timeout: float = 20.0
    watchdog_timeout: float = 60.0
    reconcile_interval: float = 60.0
    refresh_margin: float = 120.0
    #: A rejected credential is tried again `rejected_retry_base` seconds after the first
    #: rejection, doubling per rejection up to `rejected_retry` (the longest wait): a
    #: credential made valid again heals within one wait by itself, and a dead one costs
    #: the broker one login per `rejected_retry` (never a storm).
    rejected_retry_base: float = 15.0
    rejected_retry: float = 300.0
    backoff_base: float = 0.5
    backoff_cap: float = 30.0
    #: A connection live this long was stable: the next reconnect starts from `base`.
    stable_after: float = 10.0
    #: Brokers without an account push (Tradier): balances/positions re-read this often.
    account_poll_interval: float = 15.0
    #: Orders are polled this often where no order stream is available (Tradier, and
    #: Alpaca while its event stream is down).
    order_poll_interval: float = 2.0
    #: Option chains (with greeks, which the broker refreshes hourly) are cached this long.
    chain_cache_ttl: float = 300.0
    #: Account streams with a heartbeat (tastytrade) send one this often; nothing heard
    #: for `STALE_HEARTBEATS` intervals means the stream is silent.
    account_heartbeat_interval: float = 5.0
    #: Polled account data (Tradier): this many failed rounds in a row reconnect.
    poll_failures_before_reconnect: int = 3


#: An account stream that sent nothing for this many heartbeat intervals is silent.
STALE_HEARTBEATS = 2.5


class AdapterSink(Protocol):
    """Where an adapter reports (the stream manager implements it).

    - `quote`/`greeks`: sync and cheap (called per tick); a quote also counts as
      "quotes are fresh" for the link.
    - `account_event`: one normalized account event (never dropped).
    - `status`: the state of one data kind (`kind` "quotes", "account" or "all") —
      connecting | live | stale | reconnecting | error | idle; `extra` may carry
      `reconnects`, `token_expires_at`, `retry_in`, `expect_every` (seconds: how often
      the adapter confirms this kind fresh), `delayed` (bool) and `delay_ms` (int).
    - `fresh`: data of `kind` is confirmed current right now (a heartbeat, a poll round).
    - `authorized`: the lease gate, awaited before every upstream connect, token refresh
      and REST batch; False means "do not do that I/O" (the manager cancels soon).
    """

    def quote(self, symbol: str, fields: dict[str, Any]) -> None: ...

    def greeks(self, symbol: str, fields: dict[str, Any]) -> None: ...

    async def account_event(self, kind: str, link_id: int, account: str, payload: Any) -> None: ...

    async def status(
        self, link_id: int, state: str, reason: str = "", *, kind: str = "all", **extra: Any
    ) -> None: ...

    def fresh(self, link_id: int, kind: str) -> None: ...

    async def authorized(self) -> bool: ...


class BrokerAdapter(Protocol):
    link_id: int

    async def run(self, sink: AdapterSink) -> None:
        """Stream until cancelled, reconnecting as needed; never returns normally."""

    def set_symbols(self, symbols: set[str]) -> None:
        """The quote symbols wanted now (streamer form); the adapter diffs and subscribes."""

    def stopping(self) -> None:
        """Called just before `run` is cancelled: from now on nothing reconnects."""


@dataclass
class Backoff:
    """Jittered exponential backoff: `base` doubling per failed attempt up to `cap`.

    The jitter only shortens a delay (times a factor in [1 - jitter, 1]), so a delay
    never exceeds the exponential value and never `cap`. A connection that had been live
    for `stable_after` seconds resets the attempts: one drop after a long healthy run
    costs at most `base`, however bad things were before it."""

    base: float = 0.5
    cap: float = 30.0
    jitter: float = 0.3
    stable_after: float = 10.0
    attempt: int = 0

    def next_delay(self, up_for: float | None = None) -> float:
        """The wait before the next attempt. `up_for`: how long the connection that just
        ended had been live (None: it never got there)."""
        if up_for is not None and up_for >= self.stable_after:
            self.attempt = 0
        delay = min(self.cap, self.base * (2 ** min(self.attempt, 32)))
        self.attempt += 1
        return delay * random.uniform(1 - self.jitter, 1.0)

    def reset(self) -> None:
        self.attempt = 0


class DelayMonitor:
    """Tells whether a link's market data is delayed: a known delayed environment, or
    quote event times that lag their receipt by a median of more than a minute over the
    last `window` updates.

    Only updates count (a symbol's event time moved forward since its last quote): a
    snapshot of a quiet symbol after hours carries an old time without being delayed."""

    def __init__(
        self,
        known_delay_ms: int | None = None,
        *,
        threshold_ms: int = DELAYED_AFTER_MS,
        window: int = 20,
    ) -> None:
        self.known_delay_ms = known_delay_ms
        self.threshold_ms = threshold_ms
        self.lags: deque[int] = deque(maxlen=window)
        self.detected_ms: int | None = None
        self._last_t: dict[str, int] = {}
        self._samples = 0

    @property
    def delayed(self) -> bool:
        return self.known_delay_ms is not None or self.detected_ms is not None

    @property
    def delay_ms(self) -> int | None:
        return self.known_delay_ms if self.known_delay_ms is not None else self.detected_ms

    def extra(self) -> dict[str, Any]:
        return {"delayed": self.delayed, "delay_ms": self.delay_ms}

    def observe(self, symbol: str, t_ms: Any, now_ms: int | None = None) -> bool:
        """Note one quote's event time; True when the delayed verdict changed."""
        if not isinstance(t_ms, int) or t_ms <= 0:
            return False
        previous = self._last_t.get(symbol)
        self._last_t[symbol] = t_ms if previous is None else max(previous, t_ms)
        if previous is None or t_ms <= previous:
            return False
        now = now_ms if now_ms is not None else int(time.time() * 1000)
        self.lags.append(now - t_ms)
        self._samples += 1
        if len(self.lags) < self.lags.maxlen // 2 or self._samples % 5:  # type: ignore[operator]
            return False
        was = self.detected_ms is not None
        median = int(statistics.median(self.lags))
        if median > self.threshold_ms:
            self.detected_ms = median
        elif median < self.threshold_ms // 2:  # hysteresis: no flapping around the line
            self.detected_ms = None
        return was != (self.detected_ms is not None)

    def forget(self) -> None:
        """A new upstream stream: its first quotes are snapshots again."""
        self._last_t.clear()


Once = Callable[["AdapterSink"], Awaitable[None]]


class SupervisedAdapter:
    """The reconnect loops every adapter shares. An adapter runs one loop per data kind
    it serves (`_loops`: kind -> one connection); each loop runs its connection, and when
    it ends classifies the failure, reports it *for its kind*, waits (its own jittered
    backoff, at least any Retry-After) and connects again. A rejected credential is
    reported as `error` and retried on a slower backoff of its own (`rejected_retry_base`
    doubling to `rejected_retry`), so a dead credential never hammers the broker and a
    credential made valid again heals by itself. Every `reconnecting` and `error` status
    says when the next attempt is (`retry_in`, seconds from that status).

    Subclasses implement `_loops` (or `_connect_once` for a single "all" loop). A
    connection reports its progress with `_report(sink, kind, state)` — `live` starts
    the stability clock the backoff uses — and awaits `_gate(sink)` before upstream I/O.
    What every adapter shares is here once: failures are described by
    `errors.describe` and classified by `errors.is_rejection` (the rule verify uses too),
    a stream is watched by `_watchdog`, quotes go out through `_quote` (which notices
    delayed data) and account events through `_emit_changed` (only what changed).
    """

    broker = "broker"
    link_id: int
    config: StreamConfig
    reconnects: int = 0
    #: When the current access token expires (epoch s), for brokers that have one.
    token_expires_at: float | None = None
    #: Tells whether the link's market data is delayed (quote brokers set one).
    delay: DelayMonitor | None = None

    def __init__(
        self,
        link_id: int = 0,
        config: StreamConfig | None = None,
        account_numbers: Iterable[str] = (),
    ) -> None:
        self.link_id = link_id
        self.config = config or StreamConfig()
        #: The link's accounts (empty: every account the credential reaches).
        self._wanted_accounts = set(account_numbers)
        #: Per kind: the state and reason last reported.
        self._kind_state: dict[str, tuple[str, str]] = {}
        #: Per kind: when its current connection went live (monotonic), None if not yet.
        self._live_since: dict[str, float | None] = {}
        #: Per kind waiting to try again: its state (error, reconnecting) and the wait
        #: announced with it (seconds), until the kind reports another state.
        self._waits: dict[str, tuple[str, float]] = {}
        self.reconnects = 0
        self._stopping = False
        #: When the watched stream last delivered anything (monotonic; see `_watchdog`).
        self.last_data = time.monotonic()
        #: The last account payloads emitted, by key, to emit only what changed.
        self._known: dict[tuple[str, str], Any] = {}

    def stopping(self) -> None:
        """The manager stops this adapter (its task is cancelled next)."""
        self._stopping = True

    def _raise_if_stopping(self, cause: BaseException | None = None) -> None:
        """A loop that caught a failure (or saw its connection end) while the adapter is
        being stopped ends instead of reconnecting. The cancellation itself can be lost
        on Python 3.11: a TaskGroup whose child fails just as its task is cancelled raises
        the child's error and drops the cancellation (CPython gh-116720); a retry loop
        would then reconnect, and a stopped manager keep a broker session open."""
        if self._stopping:
            raise asyncio.CancelledError from cause

    # -- for subclasses ---------------------------------------------------------------
    def _loops(self) -> dict[str, Once]:
        return {"all": self._connect_once}

    async def _connect_once(self, sink: AdapterSink) -> None:
        raise NotImplementedError

    def _describe(self, exc: BaseException) -> str:
        return describe(exc)

    def _is_rejection(self, exc: BaseException) -> bool:
        return is_rejection(exc)

    @property
    def account_every(self) -> float | None:
        """How often this adapter confirms its account data fresh (seconds; None: never
        says). Reported as `expect_every` with the account kind's status."""
        return None

    def _status_extra(self, kind: str) -> dict[str, Any]:
        extra: dict[str, Any] = {
            "reconnects": self.reconnects,
            "token_expires_at": self.token_expires_at,
        }
        if kind in ("quotes", "all") and self.delay is not None:
            extra.update(self.delay.extra())
        if kind == "account" and self.account_every is not None:
            extra["expect_every"] = self.account_every
        return extra

    def _entering(self, kind: str, state: str) -> None:
        """Called before a loop reports `error` or `reconnecting` (for subclasses)."""

    def _wants(self, account_number: object) -> bool:
        """Whether this link streams an account the credential reaches."""
        return not self._wanted_accounts or str(account_number) in self._wanted_accounts

    # -- state bookkeeping ------------------------------------------------------------
    def kind_state(self, kind: str) -> str:
        """The state this adapter last reported for a kind ("stopped" before any)."""
        return self._kind_state.get(kind, ("stopped", ""))[0]

    def _mark_up(self, kind: str) -> None:
        """The loop of `kind` is up now (starts its stability clock)."""
        self._live_since[kind] = time.monotonic()

    async def _report(
        self, sink: AdapterSink, kind: str, state: str, reason: str = "", **extra: Any
    ) -> None:
        """Report one kind's state (with the adapter's extras) and remember it.

        `retry_in` is the link's (one number for both kinds): unless given, it is the
        wait announced by a kind still waiting to try again (an `error` kind's first),
        else None, so a healed link no longer says it will retry."""
        targets = KINDS if kind == "all" else (kind,)
        for name in targets:
            self._kind_state[name] = (state, reason)
            if state not in WAITING:
                self._waits.pop(name, None)
            elif extra.get("retry_in") is not None:
                self._waits[name] = (state, float(extra["retry_in"]))
        if "retry_in" not in extra:
            extra["retry_in"] = self._pending_wait()
        if state == "live" and self._live_since.get(kind) is None:
            self._mark_up(kind)
        await sink.status(
            self.link_id, state, reason, kind=kind, **{**self._status_extra(kind), **extra}
        )

    def _pending_wait(self) -> float | None:
        """The wait announced by a kind still waiting to try again (error first), or None."""
        waits = sorted(self._waits.values(), key=lambda w: WAITING.index(w[0]))
        return waits[0][1] if waits else None

    async def _report_change(
        self, sink: AdapterSink, kind: str, state: str, reason: str = "", **extra: Any
    ) -> None:
        """Report only if the kind's state or reason changed."""
        targets = KINDS if kind == "all" else (kind,)
        if any(self._kind_state.get(name) != (state, reason) for name in targets):
            await self._report(sink, kind, state, reason, **extra)

    # -- what every connection does -----------------------------------------------------
    async def _watchdog(
        self, what: str = "market data", *, armed: Callable[[], bool] = lambda: True
    ) -> None:
        """Run beside a stream: raise StreamSilent (ending the connection, so its loop
        reconnects) once nothing arrived for `watchdog_timeout` while `armed()` (e.g. while
        symbols are subscribed). A stream can go quiet without closing; whatever reads it
        stamps `last_data`."""
        timeout = self.config.watchdog_timeout
        while True:
            await asyncio.sleep(min(1.0, timeout / 4))
            idle = time.monotonic() - self.last_data
            if armed() and idle > timeout:
                raise StreamSilent(f"no {what} for {idle:.0f} s (watchdog)")

    async def _quote(self, sink: AdapterSink, symbol: str, fields: dict[str, Any]) -> None:
        """Report a quote; when its event time turns the delayed verdict, say so (the
        quotes kind's status carries `delayed` and `delay_ms`)."""
        self.last_data = time.monotonic()
        sink.quote(symbol, fields)
        if self.delay is not None and self.delay.observe(symbol, fields.get("t")):
            log.info(
                "%s link %s: market data delayed=%s (%s ms)",
                self.broker,
                self.link_id,
                self.delay.delayed,
                self.delay.delay_ms,
            )
            state, reason = self._kind_state.get("quotes", ("live", ""))
            await self._report(sink, "quotes", state, reason)

    async def _emit_changed(
        self,
        sink: AdapterSink,
        kind: str,
        account: str,
        payload: Any,
        *,
        full: bool = False,
        key: tuple[str, str] | None = None,
        volatile: tuple[str, ...] = (),
    ) -> None:
        """Report an account event if it differs from the last one of its key (default:
        kind and account), or always on a `full` snapshot. `volatile` fields (a timestamp,
        a mark) do not count as a change."""
        key = key or (kind, account)
        seen = without(payload, *volatile)
        if full or self._known.get(key) != seen:
            await sink.account_event(kind, self.link_id, account, payload)
        self._known[key] = seen

    async def _gate(self, sink: AdapterSink) -> None:
        """The lease gate before upstream I/O: wait (never act) while not authorized."""
        while not await sink.authorized():
            log.info("%s link %s: not authorized; holding off", self.broker, self.link_id)
            await asyncio.sleep(AUTHORIZE_RECHECK)

    # -- the loops ----------------------------------------------------------------------
    async def run(self, sink: AdapterSink) -> None:
        await self._run_loops(sink, self._loops())

    async def _run_loops(
        self, sink: AdapterSink, loops: dict[str, Once], *, propagate_rejection: bool = False
    ) -> None:
        """Run one supervised loop per kind until cancelled (or a loop raises)."""
        if len(loops) == 1:
            ((kind, once),) = loops.items()
            await self._supervise(sink, kind, once, propagate_rejection=propagate_rejection)
            return
        async with asyncio.TaskGroup() as tg:
            for kind, once in loops.items():
                tg.create_task(
                    self._supervise(sink, kind, once, propagate_rejection=propagate_rejection),
                    name=f"{self.broker}-{self.link_id}-{kind}",
                )

    async def _supervise(
        self, sink: AdapterSink, kind: str, once: Once, *, propagate_rejection: bool = False
    ) -> None:
        """Run `once` for `kind` forever. `propagate_rejection`: a rejected credential is
        not this loop's to report (a shared session's supervisor above handles it)."""
        config = self.config
        backoff = Backoff(config.backoff_base, config.backoff_cap, stable_after=config.stable_after)
        rejected = Backoff(
            config.rejected_retry_base, config.rejected_retry, stable_after=config.stable_after
        )
        while True:
            self._live_since[kind] = None
            wait_at_least = 0.0
            failure: BaseException | None = None
            try:
                await once(sink)
                self._raise_if_stopping()
                reason = "stream ended"
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # ExceptionGroups included: classify, report, retry
                self._raise_if_stopping(exc)
                reason = self._describe(exc)
                failure = exc
                if self._is_rejection(exc):
                    if propagate_rejection:
                        raise
                    metrics.RECONNECTS.labels(self.broker, kind, "rejected").inc()
                    # live for `stable_after` before the rejection: back to the first wait
                    delay = rejected.next_delay(self._up_for(kind))
                    log.warning(
                        "%s link %s (%s): %s; trying again in %.0f s",
                        self.broker,
                        self.link_id,
                        kind,
                        reason,
                        delay,
                    )
                    self._entering(kind, "error")
                    await self._report(sink, kind, "error", reason, retry_in=round(delay, 2))
                    await asyncio.sleep(delay)
                    backoff.reset()
                    continue
                wait_at_least = retry_after(exc)
                if reason.startswith("unexpected"):
                    log.error(
                        "%s link %s (%s) failed", self.broker, self.link_id, kind, exc_info=exc
                    )
                else:
                    log.info(
                        "%s link %s (%s) reconnecting: %s", self.broker, self.link_id, kind, reason
                    )
            self.reconnects += 1
            metrics.count_reconnect(self.broker, kind, failure)
            delay = max(backoff.next_delay(self._up_for(kind)), wait_at_least)
            self._entering(kind, "reconnecting")
            await self._report(sink, kind, "reconnecting", reason, retry_in=round(delay, 2))
            await asyncio.sleep(delay)

    def _up_for(self, kind: str) -> float | None:
        """How long the connection of `kind` that just ended had been live (None: never)."""
        live_since = self._live_since.get(kind)
        return time.monotonic() - live_since if live_since is not None else None
