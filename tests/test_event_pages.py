"""The reads behind the feeds and `/api/events` cost the same however long the event log and
wherever in it a page starts: a page is a walk of the log's key (or of one watch's index) from
a position, never an offset counted from the start. Measured in SQLite's virtual-machine
steps, which a busy machine cannot change."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

from tests import store_reads
from watcher.clock import iso
from watcher.store import Store

START = datetime(2026, 11, 1, tzinfo=UTC)


def log_of(path: Path, events: int) -> tuple[Store, int, int]:
    """A store whose log holds `events` follows: 9 in 10 by a big watch, the rest by a
    small one. Event `n` has the id `evt_test_n`."""
    store = Store.open(path)
    big, small = (
        store.watches.ensure(f"audius:{name}:following", "audius", name, "following", "x").id
        for name in ("big", "small")
    )
    store_reads.insert_follows(
        store,
        (
            (small if n % 10 == 0 else big, "acc", f"t{n}", iso(START + timedelta(seconds=n)))
            for n in range(events)
        ),
    )
    return store, big, small


def test_a_page_costs_the_same_wherever_it_starts_and_however_long_the_log(
    tmp_path: Path,
) -> None:
    cost: dict[int, tuple[int, ...]] = {}
    scans: dict[int, int] = {}
    for events in (2_000, 40_000):
        store, big, small = log_of(tmp_path / f"{events}.db", events)
        try:
            middle = store.events.seq_of(f"evt_test_{events // 2}")
            assert middle is not None and store.events.seq_of("evt_nothing") is None
            page = store.events.after(middle, 100)
            assert [row.id for row in page] == [
                f"evt_test_{n}" for n in range(events // 2 + 1, events // 2 + 101)
            ]
            newest_small = store.events.newest(5, watch_ids=[small])
            assert [row.id for row in newest_small] == [
                f"evt_test_{n}" for n in range(events - 10, events - 60, -10)
            ]
            assert store.events.newest(3) == store.events.newest(3, watch_ids=[big, small])
            assert store.events.newest(3, watch_ids=[]) == []
            steps = partial(store_reads.vm_steps, store)
            log = store.events
            cost[events] = (
                steps(partial(log.seq_of, f"evt_test_{events // 2}")),
                steps(partial(log.after, 0, 100)),
                steps(partial(log.after, middle, 100)),
                steps(partial(log.newest, 100)),
                steps(partial(log.newest, 100, watch_ids=[big, small])),
                steps(partial(log.newest, 100, watch_ids=[small])),
            )
            scans[events] = steps(log.find)
        finally:
            store.close()

    assert cost[40_000] == cost[2_000]  # twenty times the log, not one step more
    # The steps do count rows: reading the whole log costs twenty times more with it.
    assert scans[40_000] > 15 * scans[2_000] > 15 * max(cost[2_000])
