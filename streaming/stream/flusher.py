"""The stream's clock: once per flush interval the quote batch goes out (when something
changed and no earlier batch still waits), and now and then the tabs are expired, the
links swept for staleness and the head told to relays in other processes."""

from __future__ import annotations

from collections.abc import Callable

from streaming.contract.layer import HeadFrame
from streaming.runtime.clock import SYSTEM, Clock
from streaming.stream.outbox import Outbox, QuoteBatch
from streaming.stream.quote_feed import QuoteFeed
from streaming.stream.state import UserState

#: How often relays in other processes are told the stream's head (seconds).
HEAD_INTERVAL = 2.0
#: How often silent tabs are expired, and the links swept for staleness (seconds).
EXPIRE_EVERY = 10.0
SWEEP_EVERY = 1.0


class Flusher:
    def __init__(
        self,
        *,
        interval: float,
        outbox: Outbox,
        batch: QuoteBatch,
        feed: QuoteFeed,
        state: UserState,
        expire_tabs: Callable[[], None],
        clock: Clock = SYSTEM,
    ) -> None:
        self.interval = interval
        #: The stream's clock: a replay's moves the flushes with the replayed day.
        self.clock = clock
        self._outbox = outbox
        self._batch = batch
        self._feed = feed
        self._state = state
        self._expire_tabs = expire_tabs

    def send_head(self) -> None:
        """Where the stream is (not a client frame): relays in other processes compare it
        with what they relayed and fetch what they missed from the event log."""
        frame: HeadFrame = {"type": "head", "epoch": self._state.epoch, "seq": self._state.seq}
        self._outbox.put(frame)

    async def run(self) -> None:
        """One quote batch per interval, only when something changed (latest wins)."""
        clock = self.clock
        last_sweep = last_stale = last_head = clock.monotonic()
        while True:
            await clock.sleep(self.interval)
            now = clock.monotonic()
            self._feed.flush_tick_counts()
            if now - last_sweep > EXPIRE_EVERY:
                last_sweep = now
                self._expire_tabs()
            if now - last_stale >= SWEEP_EVERY:
                last_stale = now
                self._feed.sweep()
            if now - last_head >= HEAD_INTERVAL and not self._outbox.waiting("head"):
                last_head = now
                self.send_head()
            if self._outbox.waiting("quotes"):
                # publishing is behind (slow Redis, a busy process): the batch waiting in
                # the outbox goes first; newer ticks merge into the next one meanwhile, so
                # neither the outbox nor the quotes' age grows with the lag
                continue
            batch = self._batch.take(clock.now_ms())
            if batch is not None:
                self._outbox.put(batch)
