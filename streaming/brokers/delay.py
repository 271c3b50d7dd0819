"""Whether a link's market data is delayed: a known delayed environment, or quote event
times that lag their receipt (the quotes kind's status then says `delayed`)."""

from __future__ import annotations

import statistics
import time
from collections import deque
from typing import Any, TypedDict

#: Quote event times lagging receipt by more than this (median) mark a link delayed (ms).
DELAYED_AFTER_MS = 60_000


class DelayExtra(TypedDict):
    """What a quote feed's status says of its delay."""

    delayed: bool
    delay_ms: int | None


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
        self.window = window
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

    def extra(self) -> DelayExtra:
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
        if len(self.lags) < self.window // 2 or self._samples % 5:
            return False
        was = self.detected_ms is not None
        median = int(statistics.median(self.lags))
        if median > self.threshold_ms:
            self.detected_ms = median
        elif median < self.threshold_ms // 2:  # hysteresis: no flapping around the line
            self.detected_ms = None
        return was != (self.detected_ms is not None)

    def quoted(self, symbol: str) -> bool:
        """Whether a quote of `symbol` with an event time came on this stream."""
        return symbol in self._last_t

    def forget(self) -> None:
        """A new upstream stream: its first quotes are snapshots again."""
        self._last_t.clear()
