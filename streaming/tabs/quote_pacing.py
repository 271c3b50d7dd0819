"""One tab's quote pacing (docs/streaming-contract.md "Under load"): the values that wait
for the tab's quote interval, or for a slow socket's backlog to drain, merged.

Idle, each quotes frame passes at once; under a backlog or a saturated process they are
merged (latest wins per symbol) into one frame per the socket's interval
(tabs/adaptive_flush.py), and the client's `pace` message (Lightstreamer's "max frequency")
sets a longer one; the page is told when the interval the server sets changes
(`quote_pace`). A slow socket's quotes and statuses wait, latest wins, until its backlog
drains. Account frames never wait here: they are the session's.
"""

from __future__ import annotations

import asyncio
import time
from typing import Literal, Protocol

import orjson

from streaming.brokers.payloads import GreeksFields, QuoteFields
from streaming.brokers.values import now_ms
from streaming.contract.frames import QuotePaceFrame, QuotesFrame
from streaming.contract.layer import FrameMessage
from streaming.stream.state import merge_values
from streaming.tabs import adaptive_flush
from streaming.tabs.slow_client import HOLD_QUOTES_ABOVE


class PacedTab(Protocol):
    """What the pacing needs of its tab (tabs/session.TabSession is one)."""

    @property
    def closing(self) -> bool: ...

    @property
    def order_lock(self) -> asyncio.Lock:
        """Held while frames go out, so that they leave in order."""

    async def emit(self, text: str, seq: int | None = None, epoch: str | None = None) -> None: ...

    def backlog(self) -> int: ...


class QuotePacing:
    """One tab's quote interval and the values waiting for it (the tab's session owns it;
    the process's `flusher` looks at it while values wait)."""

    def __init__(
        self,
        tab: PacedTab,
        flusher: adaptive_flush.AdaptiveFlusher,
        policy: adaptive_flush.FlushPolicy,
    ) -> None:
        self.tab = tab
        self.flusher = flusher
        self.policy = policy
        self._pace = adaptive_flush.FlushPace(adaptive_flush.min_interval(), flusher.counts)
        self._open = False
        #: A slow socket's latest status per link (and its other waiting frames).
        self._held_live: dict[str, str] = {}
        #: Quotes waiting for the socket's interval (or a slow socket's drain), merged.
        self._held_quotes: dict[str, QuoteFields] = {}
        self._held_greeks: dict[str, GreeksFields] = {}
        #: The newest `t` (owner's clock) of the quotes frames merged into the above.
        self._held_t: int | None = None
        #: The interval the page was last told its quotes are thinned to (seconds).
        self._told = self._pace.floor

    def open(self) -> None:
        """The tab began: the process measures its load while it has tabs."""
        if not self._open:
            self._open = True
            self.flusher.opened()

    def close(self) -> None:
        if self._open:
            self._open = False
            self.flusher.closed(self)
            self._pace.release()

    def set_max_frequency(self, max_frequency: float | None) -> None:
        """The client's `pace`: its quote frames at most this many a second (None: as fast
        as they come); what waits meanwhile merges into the next."""
        self._pace.asked = 0.0 if max_frequency is None else 1.0 / max_frequency

    def interval(self) -> float:
        """The socket's quote interval now (seconds): its own, or the process's floor."""
        return self._pace.effective(self.flusher.load.floor())

    def has_waiting_values(self) -> bool:
        return bool(self._held_live or self._held_quotes or self._held_greeks)

    def drop_waiting(self) -> None:
        """A snapshot went out: what waits is older than its values."""
        self._held_live.clear()
        self.drop_quotes()

    def drop_quotes(self) -> None:
        self._held_quotes.clear()
        self._held_greeks.clear()
        self._held_t = None

    async def quotes(self, event: FrameMessage, backlog: int) -> None:
        """A quotes frame: straight out while the interval is the minimum or has passed
        (nothing waiting); else merged, and sent once the interval has passed."""
        now = time.monotonic()
        floor = self.flusher.load.floor()
        pace = self._pace
        if max(pace.interval, floor) != self._told:  # unpaced: this one comparison
            await self._tell_pace(floor)
        if not self.has_waiting_values() and (pace.effective(floor) <= pace.floor or pace.due(now)):
            await self.tab.emit(event["text"])
            pace.sent(now, backlog, floor)
            return
        self._merge_quotes(event["text"], event.get("t"))
        self.flusher.counts.merged["paced"] += 1
        if self.policy.with_arriving_frame(pace, now):
            self.flusher.sent["arrival"] += 1
            await self.send_waiting(backlog)
        else:
            self.flusher.wait(self)

    async def _tell_pace(self, floor: float) -> None:
        """The interval the server sets changed: say so ahead of the quotes at it, and
        why (the larger input: the process's floor, or this socket's own backlog)."""
        own = self._pace.interval
        self._told = interval = max(own, floor)
        cause: Literal["server", "connection"] | None = None
        if interval > self._pace.floor:
            cause = "server" if floor >= own else "connection"
        frame: QuotePaceFrame = {
            "type": "quote_pace",
            "interval_ms": round(interval * 1000),
            "cause": cause,
        }
        await self.tab.emit(orjson.dumps(frame).decode())

    def _merge_quotes(self, text: str, t: int | None) -> None:
        """Latest value wins per field and symbol; an entry's `t` never goes back."""
        frame = adaptive_flush.parsed(text)
        for symbol, quote in frame.get("quotes", {}).items():
            merge_values(self._held_quotes, symbol, quote)
        for symbol, greeks in frame.get("greeks", {}).items():
            merge_values(self._held_greeks, symbol, greeks)
        if t is None:
            t = frame.get("t")
        if t is not None and (self._held_t is None or t > self._held_t):
            self._held_t = t

    def hold(self, kind: str, text: str, t: int | None = None) -> None:
        """A slow socket: keep only the newest quotes (per symbol) and statuses (per link)
        until its backlog drains (latest wins; nothing else waits). The process's flusher
        looks at its backlog: no task per socket."""
        if kind == "quotes":
            self._merge_quotes(text, t)
            self.flusher.counts.merged["held"] += 1
        elif kind == "status":
            frame = orjson.loads(text)
            self._held_live[f"status:{frame['link']['id']}"] = text
        elif kind == "news":  # articles are not a state to replace: every frame waits
            self._held_live[f"news:{id(text)}"] = text
        else:
            self._held_live[kind] = text  # e.g. watchlist: the newest is the state
        self.flusher.wait(self)

    async def flush_waiting(self, now: float) -> bool:
        """The process's tick: send what waits once the socket's interval has passed with
        no frame to carry it, or its backlog has drained. True when nothing waits any
        more."""
        if self.tab.closing or not self.has_waiting_values():
            return True
        if not self._held_live and not self.policy.by_tick(self._pace, now):
            return False
        async with self.tab.order_lock:
            backlog = self.tab.backlog()
            if backlog > HOLD_QUOTES_ABOVE and not self.tab.closing:
                return False
            if self.has_waiting_values() and not self.tab.closing:
                self.flusher.sent["tick"] += 1
                await self.send_waiting(backlog)
        return True

    async def send_waiting(self, backlog: int) -> None:
        """Send what waits: the held frames, then the merged quotes as one frame."""
        held, self._held_live = self._held_live, {}
        for text in held.values():
            await self.tab.emit(text)
        if self._held_quotes or self._held_greeks:
            quotes, self._held_quotes = self._held_quotes, {}
            greeks, self._held_greeks = self._held_greeks, {}
            t, self._held_t = self._held_t, None
            frame: QuotesFrame = {
                "type": "quotes",
                "quotes": quotes,
                "greeks": greeks,
                "t": t if t is not None else now_ms(),
            }
            await self.tab.emit(orjson.dumps(frame).decode())
            self._pace.sent(time.monotonic(), backlog, self.flusher.load.floor())
