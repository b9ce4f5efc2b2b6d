"""The cycle collector settings `watcher once` and `watcher run` apply once they have started."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from watcher import gc_tuning


@pytest.fixture
def restored_gc() -> Iterator[None]:
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


@pytest.mark.usefixtures("restored_gc")
def test_settle_freezes_what_exists_and_makes_young_collections_rarer() -> None:
    gc.unfreeze()
    before = gc.get_threshold()

    gc_tuning.settle()

    assert gc.get_freeze_count() > 1000  # modules, functions, config... out of the walk
    assert gc.get_threshold() == (gc_tuning.YOUNG_THRESHOLD, before[1], before[2])


@pytest.mark.usefixtures("restored_gc")
def test_objects_made_after_settling_are_still_collected() -> None:
    gc_tuning.settle()

    class Node:
        def __init__(self) -> None:
            self.other: Node | None = None

    a, b = Node(), Node()
    a.other, b.other = b, a  # a cycle: only the collector frees it
    del a, b
    assert gc.collect() >= 2
