"""The server processes' collector policy (streaming/runtime/heap.py): a full collection freezes
its survivors (later full collections skip them), and cyclic garbage among frozen objects
is reclaimed once the permanent generation has doubled."""

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
def collector():
    heap.uninstall()
    gc.collect()
    installed = heap.install_freezing_collector()
    installed.min_thaw = 0
    yield installed
    heap.uninstall()


def test_a_full_collection_freezes_its_survivors(collector):
    assert gc.get_freeze_count() == 0
    kept = [Node() for _ in range(1_000)]
    gc.collect()
    assert gc.get_freeze_count() >= len(kept)
    assert gc.is_tracked(kept[0])
    assert collector.thaw_above >= 2 * len(kept)  # thawed once the frozen ones double


def test_frozen_cyclic_garbage_is_reclaimed_once_the_frozen_objects_double(collector):
    node = Node()
    gone = weakref.ref(node)
    gc.collect()  # the cycle survives it (still referenced): frozen
    del node
    gc.collect()
    assert gone() is not None  # frozen cyclic garbage waits...
    assert collector.thaws == 0
    keep = [Node() for _ in range(collector.thaw_above)]  # the frozen objects double
    gc.collect()  # frozen past the limit: thawed
    assert collector.thaws == 1
    gc.collect()  # this full collection looks at everything once
    assert gone() is None  # ...and is reclaimed
    assert gc.get_freeze_count() >= len(keep)  # the survivors are frozen again
