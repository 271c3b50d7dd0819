"""Short full collections in the server processes: the survivors of each full collection
are frozen, so the next one looks only at what is new.

CPython 3.11's cyclic collector stops the world for a full (generation 2) collection in
time proportional to every object it tracks: 150-280 ms every 7-25 s in a daphne holding
200 sockets and 50 users' stream managers (docs/performance.md, "Pauses of the garbage
collector"). Every frame waits the pause out, and the loop lag it causes raises the
adaptive flush's floor for every socket. Most of those objects live as long as the
process (managers, broker sessions, sockets), so after each full collection
`gc.freeze()` moves the survivors to the permanent generation, which collections skip:
the next full collection traverses only the objects made since (14-53 ms there).

Objects freed by reference counting leave the permanent generation as always; only
cyclic garbage among frozen objects waits. It is bounded: once the permanent generation
has doubled since it was last thawed, it is thawed, and the next full collection looks at
everything once (one long pause per doubling, not one per collection).
"""

from __future__ import annotations

import gc
from typing import Any

from django.conf import settings

#: Never thaw below this many frozen objects (a small process has nothing to gain).
MIN_THAW = 200_000


class FreezingCollector:
    """A `gc.callbacks` entry: freeze after each full collection, thaw on doubling."""

    def __init__(self, min_thaw: int = MIN_THAW) -> None:
        self.min_thaw = min_thaw
        #: Thaw once more objects than this are frozen (None: the last full collection
        #: looked at everything; the next freeze sets it).
        self.thaw_above: int | None = None
        self.thaws = 0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase != "stop" or info["generation"] != 2:
            return
        gc.freeze()
        frozen = gc.get_freeze_count()
        if self.thaw_above is None:
            self.thaw_above = max(2 * frozen, self.min_thaw)
        elif frozen > self.thaw_above:
            gc.unfreeze()  # the next full collection sees every object once
            self.thaw_above = None
            self.thaws += 1


_installed: FreezingCollector | None = None


def install_freezing_collector() -> FreezingCollector | None:
    """In a server process (daphne's ASGI app, stream_workers), once; not with
    `STREAM_GC_FREEZE` off."""
    global _installed
    if _installed is None and settings.STREAM_GC_FREEZE:
        _installed = FreezingCollector()
        gc.callbacks.append(_installed)
    return _installed


def uninstall() -> None:
    """For tests: back to CPython's collector, nothing frozen."""
    global _installed
    if _installed is not None:
        gc.callbacks.remove(_installed)
        _installed = None
    gc.unfreeze()
