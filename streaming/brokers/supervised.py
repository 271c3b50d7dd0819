"""The supervised base every broker adapter builds on: one reconnect loop per data kind
it serves, each with its own backoff and status (docs/streaming-contract.md, "link
status"): account trouble never takes market data down, nor the reverse.

It is an adapter's one base class, because it is what an adapter is: a link's lifecycle
(the loops the manager runs and stops, their states, backoff and lease gate). What an
adapter does is in parts it holds, the same at every broker: its streams (each one
kind's connection, run by a loop here), its reads and its order entry. A stream part
reports through its adapter's methods below (`_report`, `_gate`, `_quote`,
`_emit_changed`, `_watchdog`, `last_data`); no part is a base class.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Literal, TypedDict, cast, overload

from streaming import metrics
from streaming.brokers.backoff import Backoff
from streaming.brokers.base import AdapterSink, StreamConfig
from streaming.brokers.delay import DelayMonitor
from streaming.brokers.errors import StreamSilent, describe, is_rejection, retry_after
from streaming.brokers.orders.shape import Order
from streaming.brokers.payloads import Balance, Position, QuoteFields
from streaming.brokers.reconnects import count_reconnect
from streaming.brokers.values import without
from streaming.runtime.heap import Lifetimes

log = logging.getLogger(__name__)

#: The data kinds a link reports on separately; "all" in a status means both.
KINDS = ("quotes", "account")
#: How often a refused lease gate (`AdapterSink.authorized`) is asked again (seconds).
AUTHORIZE_RECHECK = 1.0
#: The states in which a kind waits to try again, the one an operator must see first.
WAITING = ("error", "reconnecting")


Once = Callable[[AdapterSink], Awaitable[None]]
#: What `_known` remembers per key: an order as last emitted, or what `_emit_changed`
#: compared (a balance, an account's positions) without its volatile fields.
Known = Order | dict[str, object] | list[dict[str, object]]
#: The account events `_emit_changed` reports (only what changed).
ChangedKind = Literal["balance", "positions", "order"]


class StatusExtra(TypedDict, total=False):
    """What a status report adds for the health page: reconnects, the token's expiry,
    a quote feed's delay, how often the account kind confirms itself (seconds)."""

    reconnects: int
    token_expires_at: float | None
    delayed: bool
    delay_ms: int | None
    expect_every: float


class SupervisedAdapter:
    """The reconnect loops every adapter shares. An adapter runs one loop per data kind
    it serves (`_loops`: kind -> one connection); each loop runs its connection, and when
    it ends classifies the failure, reports it *for its kind*, waits (its own jittered
    backoff, at least any Retry-After) and connects again. A rejected credential is
    reported as `error` and retried on a slower backoff of its own (`rejected_retry_base`
    doubling to `rejected_retry`), so a dead credential never hammers the broker and a
    credential made valid again heals by itself. Every `reconnecting` and `error` status
    says when the next attempt is (`retry_in`, seconds from that status).

    Subclasses implement `_loops` (or `_connect_once` for a single "all" loop): each
    kind's loop runs one connection of a stream part (`quotes.once`, `account.once`). A
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
        self._known: dict[tuple[str, str], Known] = {}
        #: Where its connections count among the process's long-lived things
        #: (runtime/heap.py): the process's, handed in by catalog.make_adapter; its own
        #: until then (an adapter a test built counts alone).
        self.lifetimes = Lifetimes()

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

    def _status_extra(self, kind: str) -> StatusExtra:
        extra: StatusExtra = {
            "reconnects": self.reconnects,
            "token_expires_at": self.token_expires_at,
        }
        if kind in ("quotes", "all") and self.delay is not None:
            delay = self.delay.extra()
            extra["delayed"] = delay["delayed"]
            extra["delay_ms"] = delay["delay_ms"]
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

    async def _quote(self, sink: AdapterSink, symbol: str, fields: QuoteFields) -> None:
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

    @overload
    async def _emit_changed(
        self,
        sink: AdapterSink,
        kind: Literal["balance"],
        account: str,
        payload: Balance,
        *,
        full: bool = False,
        key: tuple[str, str] | None = None,
        volatile: tuple[str, ...] = (),
    ) -> None: ...

    @overload
    async def _emit_changed(
        self,
        sink: AdapterSink,
        kind: Literal["positions"],
        account: str,
        payload: list[Position],
        *,
        full: bool = False,
        key: tuple[str, str] | None = None,
        volatile: tuple[str, ...] = (),
    ) -> None: ...

    @overload
    async def _emit_changed(
        self,
        sink: AdapterSink,
        kind: Literal["order"],
        account: str,
        payload: Order,
        *,
        full: bool = False,
        key: tuple[str, str] | None = None,
        volatile: tuple[str, ...] = (),
    ) -> None: ...

    async def _emit_changed(
        self,
        sink: AdapterSink,
        kind: ChangedKind,
        account: str,
        payload: Balance | list[Position] | Order,
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
            # The overloads above pair each kind with its payload; in here both are
            # unions, which the sink's overloads cannot pair again (mypy would try every
            # kind with every payload), so the payload passes on unchecked.
            await sink.account_event(kind, self.link_id, account, cast(Any, payload))
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
                with self.lifetimes.living():  # its objects may be cyclic garbage once it ended
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
            count_reconnect(self.broker, kind, failure)
            delay = max(backoff.next_delay(self._up_for(kind)), wait_at_least)
            self._entering(kind, "reconnecting")
            await self._report(sink, kind, "reconnecting", reason, retry_in=round(delay, 2))
            await asyncio.sleep(delay)

    def _up_for(self, kind: str) -> float | None:
        """How long the connection of `kind` that just ended had been live (None: never)."""
        live_since = self._live_since.get(kind)
        return time.monotonic() - live_since if live_since is not None else None
