"""Jittered exponential backoff: how long a broker connection (or a news feed) waits
before it tries again."""

from __future__ import annotations

import random
from dataclasses import dataclass


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
