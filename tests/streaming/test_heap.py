"""The server processes' collector policy (streaming/runtime/heap.py): a full collection freezes
its survivors (later full collections skip them), and cyclic garbage among frozen objects
is reclaimed once the long-lived things of the process turned over (as many ended since the
last full look as are alive), or once the frozen set grew `GROWTH`-fold; not when it merely
grew, as it does while users connect."""

from __future__ import annotations

import gc
import weakref

import pytest

from streaming.runtime import heap


class Node:
    """A cycle: reference counting alone never frees it."""

    def __init__(self) -> None:
        self.me = self


@pytest.fixture
def lives():
    return heap.Lifetimes()


@pytest.fixture
def collector(lives):
    # the test process's own (config/asgi.py installs one) would freeze and thaw too
    for other in [c for c in gc.callbacks if isinstance(c, heap.FreezingCollector)]:
        other.uninstall()
    gc.collect()
    installed = heap.install_freezing_collector(lives)
    installed.min_thaw = 0
    yield installed
    installed.uninstall()


def frozen_garbage() -> weakref.ref[Node]:
    """A cycle frozen while referenced, then let go: garbage only a thaw reclaims."""
    node = Node()
    gone = weakref.ref(node)
    gc.collect()  # the cycle survives it (still referenced): frozen
    del node
    gc.collect()
    assert gone() is not None  # frozen cyclic garbage waits
    return gone


def test_a_full_collection_freezes_its_survivors(collector):
    assert gc.get_freeze_count() == 0
    kept = [Node() for _ in range(1_000)]
    gc.collect()
    assert gc.get_freeze_count() >= len(kept)
    assert gc.is_tracked(kept[0])
    assert collector.thaw_above >= heap.GROWTH * len(kept)


def test_the_frozen_set_doubling_with_live_objects_does_not_thaw(collector, lives):
    """Users connecting: the frozen set grows with what lives; a thaw would stop the
    process at its busiest to reclaim next to nothing."""
    frozen_garbage()
    base = gc.get_freeze_count()
    for _ in range(10):
        lives.began()  # sockets, managers, broker connections arriving
    keep = [Node() for _ in range(2 * base)]  # the frozen set more than doubles
    gc.collect()
    assert gc.get_freeze_count() > 2 * base
    assert collector.thaws == 0
    assert keep


def test_frozen_garbage_is_reclaimed_once_the_population_turned_over(collector, lives):
    began = [lives.began() for _ in range(10)]
    gc.collect()  # a full look (and a freeze they lived through): the turnover counts from here
    gone = frozen_garbage()
    for token in began[:4]:
        lives.ended(token)
    gc.collect()
    assert collector.thaws == 0  # 4 ended, 6 alive
    lives.ended(began[4])
    gc.collect()  # 5 ended since the last full look, 5 alive: thawed
    assert collector.thaws == 1
    gc.collect()  # this full collection looks at everything once
    assert gone() is None  # ...and the garbage is reclaimed
    lives.ended(began[5])
    gc.collect()
    assert collector.thaws == 1  # counted again from that full look: 1 ended, 4 alive


def test_what_ended_before_a_freeze_does_not_turn_the_population_over(collector, lives):
    """A connection that failed at once, a tab closed in a second: none of their objects
    was frozen (a young collection takes what they leave), so they do not call a thaw."""
    lives.began()  # one that lives on
    gc.collect()
    for _ in range(5):
        lives.ended(lives.began())  # began and ended between two freezes
    gc.collect()
    assert lives.alive == 1
    assert collector.thaws == 0


def test_frozen_garbage_of_any_source_is_reclaimed_once_the_frozen_set_grew_n_fold(collector):
    gone = frozen_garbage()
    assert collector.thaws == 0
    keep = [Node() for _ in range(collector.thaw_above)]  # past GROWTH times the last look
    gc.collect()
    assert collector.thaws == 1
    gc.collect()
    assert gone() is None
    assert gc.get_freeze_count() >= len(keep)  # the survivors are frozen again


def test_a_small_process_never_thaws_for_a_turnover(collector, lives):
    collector.min_thaw = 10**9
    began = lives.began()
    gc.collect()
    lives.ended(began)
    gc.collect()
    assert collector.thaws == 0
