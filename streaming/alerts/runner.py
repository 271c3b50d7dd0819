"""The price alerts of one user's stream: the book checked per quote, its changes written
in the background, triggers sent as account-class `alert` frames.

Per tick (`on_quote`) only dictionary work: a symbol without alerts is one lookup; a
proposed change goes into a queue. One worker task takes the queue in order and does
the database work (streaming/alerts/store.py, injected): a trigger is the store's
compare-and-set, and only a trigger that won it becomes a frame, through the stream's
`account_event_logged` (the same seq, event log and outbox as fills), then is marked
delivered once logged. At start the worker loads the alerts, the recent triggers (for
snapshots) and sends the triggers a previous owner committed but did not log
(docs/streaming-contract.md "Price alerts").
The runner is one of the stream's listeners (streaming/stream/listener.py), handed to the
manager by the composition root (streaming/wiring.py).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any, Protocol

from streaming.alerts.rules import AlertBook, Change, Rule
from streaming.brokers.values import now_ms
from streaming.contract.frames import AlertPayload, AlertState
from streaming.stream.listener import QuietHooks, StreamHost

log = logging.getLogger(__name__)


class AlertStorage(Protocol):
    """Where a runner reads its alerts and writes what they did: the database
    (alerts/store.py `AlertStore`), or a replay's memory (alerts/replayed.py)."""

    async def load(self) -> list[AlertState]: ...
    async def recent(self) -> list[AlertPayload]: ...
    async def fire(
        self, alert_id: int, price: float, at_ms: int, pct: float | None
    ) -> AlertPayload | None: ...
    async def rearm(self, alert_id: int) -> bool: ...
    async def expire(self, alert_id: int) -> None: ...
    async def undelivered(self) -> list[AlertPayload]: ...
    async def mark_delivered(self, trigger_ids: list[int]) -> None: ...


RELOAD = "reload"
#: After database trouble the alerts are read again this long after (seconds, doubling
#: up to RETRY_CAP): the book's copy then matches the store again, and a trigger whose
#: write failed fires on the next quote (the store's compare-and-set keeps it once).
RETRY_FIRST = 1.0
RETRY_CAP = 30.0


class AlertRunner(QuietHooks):
    """The price alerts as a `StreamListener`: attached to the user's stream manager."""

    def __init__(self, store: AlertStorage) -> None:
        self._manager: StreamHost | None = None
        self.store = store
        self.book = AlertBook()
        self._work: asyncio.Queue[Change | str] = asyncio.Queue()
        self._reload_wanted = False
        #: Set once the alerts were loaded (tests and the first evaluation wait on it).
        self.loaded = asyncio.Event()

    # -- per tick ------------------------------------------------------------------------
    def on_quote(self, symbol: str, quote: Mapping[str, object]) -> None:
        """A quote's merged last values: propose what changes (no I/O)."""
        if symbol not in self.book.by_symbol:
            return
        for change in self.book.check(symbol, quote, now_ms()):
            self._work.put_nowait(change)

    def symbols(self) -> set[str]:
        return set(self.book.by_symbol)

    def watches_positions(self) -> bool:
        """An alert wants its own symbol only (`symbols`)."""
        return False

    # -- the rest of the listener's hooks ---------------------------------------------------

    def attach(self, stream: StreamHost) -> None:
        self._manager = stream

    @property
    def manager(self) -> StreamHost:
        assert self._manager is not None, "attached when the manager is built"
        return self._manager

    def on_user_changed(self, what: str) -> None:
        if what == "alerts":
            self.reload()

    # -- from the owner's control channel ------------------------------------------------
    def reload(self) -> None:
        """The user changed their alerts (any process): read them again, in order."""
        self._work.put_nowait(RELOAD)

    # -- the worker ------------------------------------------------------------------------
    async def run(self) -> None:
        """Load (retried while the database is away), then take the work in order."""
        retry = RETRY_FIRST
        while True:
            try:
                await self._reload()
                self.manager.state.set_alert_triggers(await self.store.recent())
                self.loaded.set()
                await self._deliver_undelivered()
                break
            except Exception as exc:
                log.warning(
                    "user %s: alerts not loaded (%s); again in %.0f s",
                    self.manager.user_id,
                    exc,
                    retry,
                )
                await asyncio.sleep(retry)
                retry = min(retry * 2, RETRY_CAP)
        retry = RETRY_FIRST
        while True:
            item = await self._work.get()
            try:
                if item == RELOAD:
                    self._reload_wanted = True
                else:
                    assert isinstance(item, Change)
                    await self._apply(item)
                if self._reload_wanted and self._work.empty():
                    await self._reload()
                retry = RETRY_FIRST
            except Exception as exc:
                log.warning(
                    "user %s: alert work failed (%s); alerts read again in %.0f s",
                    self.manager.user_id,
                    exc,
                    retry,
                )
                asyncio.get_running_loop().call_later(retry, self.reload)
                retry = min(retry * 2, RETRY_CAP)

    async def _reload(self) -> None:
        self._reload_wanted = False
        alerts = await self.store.load()
        self.book.replace(Rule.from_dict(alert) for alert in alerts)
        self.manager.state.alerts = alerts
        self.manager.symbols_changed()
        quotes = self.manager.state.quotes
        for symbol in self.book.symbols() & quotes.keys():
            self.on_quote(symbol, quotes[symbol])  # a condition that holds fires at once

    async def _apply(self, change: Change) -> None:
        rule = change.rule
        if change.kind == "trigger":
            if not await self.manager.authorized():
                return  # not the owner any more: the new one evaluates
            assert change.price is not None and change.at is not None
            payload = await self.store.fire(rule.id, change.price, change.at, change.pct)
            if payload is not None:
                await self._send(payload)
        elif change.kind == "rearm":
            await self.store.rearm(rule.id)
        else:
            await self.store.expire(rule.id)
        self._reload_wanted = True  # the snapshot's alerts, and the book as stored

    async def _send(self, payload: Mapping[str, Any]) -> None:
        await self.manager.account_event_logged("alert", 0, "", payload)
        await self.store.mark_delivered([payload["id"]])

    async def _deliver_undelivered(self) -> None:
        """Triggers committed by an owner that died before logging them: sent now (a
        client may see one twice if it was logged after all: it deduplicates by id)."""
        if not await self.manager.authorized():
            return
        for payload in await self.store.undelivered():
            await self._send(payload)
