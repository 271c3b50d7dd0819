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
cyclic garbage among frozen objects waits for a thaw (the next full collection looks at
everything once, ~0.65 µs per tracked object: 260-330 ms at ~400,000). That garbage is
left by long-lived things that ended while frozen (a closed tab socket, a stopped stream
manager, a broker connection that dropped: `Lifetimes`), so the thaw comes once as many of
them (of those that lived through a freeze) have ended since the last full look as are
alive now (the population turned over once, and what it left may be as large as what
lives), or, for garbage of any other source, once the frozen set has grown `GROWTH`-fold.
Not when it merely doubled: users connecting double it with live objects, and a thaw then
stopped every stream of the process for ~300 ms, as its users arrived, to reclaim ~300
objects (docs/performance.md, "Pauses of the garbage collector").
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

from django.conf import settings

#: Never thaw below this many frozen objects (a small process has nothing to gain).
MIN_THAW = 200_000
#: Thaw for garbage of sources `Lifetimes` does not count once the frozen set has grown
#: this many times over since the last full look.
GROWTH = 4


class Lifetimes:
    """The process's long-lived things (tabs, stream managers, broker connections),
    counted as they begin and end: whether they turned over since the last full look. Only
    one that lived through a freeze counts as turned over: what a shorter one leaves was
    never frozen (a young collection takes it). The process's node holds one
    (streaming/node.py) and hands it to what counts in it."""

    __slots__ = ("_began", "_ended", "_freezes", "_turned", "_turned_at_look")

    def __init__(self) -> None:
        self._began = 0
        self._ended = 0
        #: Ended after living through a freeze (their leftovers may be frozen).
        self._turned = 0
        self._turned_at_look = 0
        self._freezes = 0

    def began(self) -> int:
        """One more alive; the token its `ended` takes."""
        self._began += 1
        return self._freezes

    def ended(self, began: int) -> None:
        self._ended += 1
        if began < self._freezes:
            self._turned += 1

    @contextlib.contextmanager
    def living(self) -> Iterator[None]:
        """Alive while the block runs (a broker connection's attempt)."""
        began = self.began()
        try:
            yield
        finally:
            self.ended(began)

    @property
    def alive(self) -> int:
        return self._began - self._ended

    @property
    def ended_total(self) -> int:
        return self._ended

    def froze(self) -> None:
        """A full collection froze what survived it."""
        self._freezes += 1

    def looked(self) -> None:
        """A full collection looked at every object: count the turned over from here."""
        self._turned_at_look = self._turned

    def turned_over(self) -> bool:
        """As many ended (having lived through a freeze) since the last full look as are
        alive now, and one at least."""
        turned = self._turned - self._turned_at_look
        return turned > 0 and turned >= self.alive


class FreezingCollector:
    """A `gc.callbacks` entry: freeze after each full collection, thaw once `lives` turned
    over or the frozen set grew `GROWTH`-fold."""

    def __init__(self, lives: Lifetimes, min_thaw: int = MIN_THAW) -> None:
        self.min_thaw = min_thaw
        self.lives = lives
        #: Thaw once more objects than this are frozen (None: the last full collection
        #: looked at everything; the next freeze sets it).
        self.thaw_above: int | None = None
        self.thaws = 0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase != "stop" or info["generation"] != 2:
            return
        gc.freeze()
        self.lives.froze()
        frozen = gc.get_freeze_count()
        if self.thaw_above is None:
            self.thaw_above = max(GROWTH * frozen, self.min_thaw)
            self.lives.looked()
        elif frozen > self.thaw_above or (frozen >= self.min_thaw and self.lives.turned_over()):
            gc.unfreeze()  # the next full collection sees every object once
            self.thaw_above = None
            self.thaws += 1

    def uninstall(self) -> None:
        """For tests: back to CPython's collector, nothing frozen."""
        if self in gc.callbacks:
            gc.callbacks.remove(self)
        gc.unfreeze()


def install_freezing_collector(lives: Lifetimes) -> FreezingCollector | None:
    """The collector of a server process (daphne's ASGI app, stream_workers, the
    sandbox), counting `lives` (the process's node's: it keeps what this returns); None
    with `STREAM_GC_FREEZE` off."""
    if not settings.STREAM_GC_FREEZE:
        return None
    collector = FreezingCollector(lives)
    gc.callbacks.append(collector)
    return collector
