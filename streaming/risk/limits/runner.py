"""The portfolio limits of one user's stream: the values evaluated every so often while
quotes move, crossings written in the background, sent as account-class `limit` frames.

Per tick (`on_quote`) only a flag: the portfolio's values need every position, so they
are computed in the runner's own task, at most every `interval` seconds (the setting
RISK_LIMITS_INTERVAL). A breach is the store's compare-and-set (limits/store.py,
injected), tried only while this process owns the stream (`authorized()`); only a breach
that won it becomes a frame, through the stream's `account_event_logged` (the same seq,
event log and outbox as fills), then is marked delivered once logged. At start the task
loads the limits, puts the newest breaches into the stream's state (the snapshot's
`limit_breaches`, for a tab that resyncs and never got their frames) and sends the
breaches a previous owner committed but did not log (docs/streaming-contract.md
"Portfolio limits"). The runner is one of the stream's
listeners (streaming/stream/listener.py), handed to the manager by streaming/wiring.py.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from streaming.brokers.values import now_ms
from streaming.portfolio.totals import portfolio_totals
from streaming.risk.exposure import portfolio_beta_delta
from streaming.risk.limits.rules import LimitBook, Values
from streaming.stream.listener import QuietHooks, StreamHost

if TYPE_CHECKING:
    from streaming.risk.limits.store import LimitStore

log = logging.getLogger(__name__)

#: After database trouble the limits are read again this long after (seconds, doubling
#: up to RETRY_CAP): the book then matches the store again.
RETRY_FIRST = 1.0
RETRY_CAP = 30.0
#: The currency whose day P&L the daily loss limit watches.
CURRENCY = "USD"


def portfolio_values(snapshot: dict[str, Any], now: int) -> Values:
    """The β-weighted delta (None without every input, e.g. no `metrics`) and the day P&L
    (None when partial or without accounts) of a snapshot-shaped dict."""
    beta_delta = portfolio_beta_delta(snapshot, now_ms=now)
    day_pnl = None
    for group in portfolio_totals(snapshot)["groups"]:
        total = group["day_pnl"]
        if group["currency"] == CURRENCY and not total["partial"] and total["have"]:
            day_pnl = total["value"]
    return Values(beta_delta=beta_delta, day_pnl=day_pnl)


class LimitRunner(QuietHooks):
    """The portfolio limits as a `StreamListener`: attached to the user's stream manager."""

    def __init__(self, store: LimitStore, interval: float) -> None:
        self._manager: StreamHost | None = None
        self.store = store
        self.interval = interval
        self.book = LimitBook()
        self._wake = asyncio.Event()
        self._dirty = False
        self._reload_wanted = True
        self._last_evaluated = 0.0
        #: Whether any limit is on (the book's, kept for the per-tick check).
        self._any_set = False
        #: Set once the limits were loaded (tests wait on it).
        self.loaded = asyncio.Event()
        #: Evaluations done (tests and the bench read it).
        self.evaluations = 0

    # -- per tick ------------------------------------------------------------------------
    def on_quote(self, symbol: str, quote: Mapping[str, object]) -> None:
        """A quote moved: evaluate soon (no work here); with no limit set, nothing."""
        if self._any_set and not self._dirty:
            self._dirty = True
            self._wake.set()

    # -- the rest of the listener's hooks ---------------------------------------------------
    def attach(self, stream: StreamHost) -> None:
        self._manager = stream

    @property
    def manager(self) -> StreamHost:
        assert self._manager is not None, "attached when the manager is built"
        return self._manager

    def watches_positions(self) -> bool:
        """A limit set is evaluated from the positions' live marks, page or not."""
        return self._any_set

    def on_user_changed(self, what: str) -> None:
        if what == "limits":
            self.reload()

    def reload(self) -> None:
        """The user saved their limits (any process): read them again, then evaluate."""
        self._reload_wanted = True
        self._wake.set()

    # -- the task --------------------------------------------------------------------------
    async def run(self) -> None:
        """Load (retried while the database is away), list the recent breaches, deliver
        what a previous owner left, then evaluate whenever quotes moved, at most every
        `interval`."""
        retry = RETRY_FIRST
        delivered = listed = False
        self._wake.set()
        while True:
            await self._wake.wait()
            self._wake.clear()
            try:
                if self._reload_wanted:
                    await self._reload()
                if not listed:  # before the undelivered ones go out (they join it then)
                    self.manager.state.set_limit_breaches(await self.store.recent())
                    listed = True
                if not delivered:
                    delivered = await self._deliver_undelivered()
                if self._dirty:
                    wait = self._last_evaluated + self.interval - time.monotonic()
                    if wait > 0:
                        await asyncio.sleep(wait)
                    await self.evaluate()
                retry = RETRY_FIRST
            except Exception as exc:
                log.warning(
                    "user %s: limits work failed (%s); limits read again in %.0f s",
                    self.manager.user_id,
                    exc,
                    retry,
                )
                asyncio.get_running_loop().call_later(retry, self.reload)
                retry = min(retry * 2, RETRY_CAP)

    async def _reload(self) -> None:
        self._reload_wanted = False
        limits, states = await self.store.load()
        watched = self._any_set
        self.book.replace(limits, states)
        self._any_set = self.book.any_set()
        self.loaded.set()
        if self._any_set != watched:
            self.manager.symbols_changed()  # the positions stream for a limit, page or not
        self._dirty = True  # a value already outside crosses at once

    async def evaluate(self) -> None:
        """One evaluation: the book's proposals, breaches tried in the store."""
        self._dirty = False
        if not self._any_set:
            return  # nothing to evaluate: the portfolio's values are not computed
        self._last_evaluated = time.monotonic()
        self.evaluations += 1
        now = now_ms()
        changes = self.book.check(portfolio_values(self.manager.state.portfolio(), now), now)
        for change in changes:
            if change.action == "rearm":
                await self.store.rearm(change.kind)
                continue
            if not await self.manager.authorized():
                self._reload_wanted = True  # not the owner any more: the new one evaluates
                continue
            payload = await self.store.fire(change, now)
            if payload is not None:
                await self._send(payload)
            else:
                self._reload_wanted = True  # crossed elsewhere, or edited: read again
        if self._reload_wanted:
            self._wake.set()

    async def _send(self, payload: Mapping[str, Any]) -> None:
        await self.manager.account_event_logged("limit", 0, "", payload)
        await self.store.mark_delivered([payload["id"]])

    async def _deliver_undelivered(self) -> bool:
        """Breaches committed by an owner that died before logging them: sent now (a
        client may see one twice if it was logged after all: it deduplicates by id).
        False while this process is not the owner (tried again on the next wake)."""
        if not await self.manager.authorized():
            return False
        for payload in await self.store.undelivered():
            await self._send(payload)
        return True
