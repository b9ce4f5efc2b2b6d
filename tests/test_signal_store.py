"""The signal's reads stay cheap however long the event log: `watcher trending` reads only the
events of its window and a signal's evaluation only its target's, over the indexes migration 10
adds. Measured in SQLite's own virtual-machine steps (a progress handler), which, unlike
seconds, a busy machine cannot change."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

from tests import store_reads
from watcher.clock import iso
from watcher.store import Store

NOW = datetime(2026, 12, 1, tzinfo=UTC)
WEEK_AGO = iso(NOW - timedelta(days=7))


def log_of(path: Path, old: int) -> tuple[Store, list[int]]:
    """A store whose 20 watches recorded `old` follows more than a week ago (of 20,000
    targets), then three tastemakers' follows of `hot0`..`hot2` within the last day."""
    store = Store.open(path)
    watches = [
        store.watches.ensure(f"audius:t{n}:following", "audius", f"t{n}", "following", "x").id
        for n in range(20)
    ]
    rng = random.Random(old)
    follows = [
        (
            w,
            f"acc{w}",
            f"old{rng.randrange(20_000)}",
            iso(NOW - timedelta(days=8 + rng.random() * 400)),
        )
        for w in rng.choices(watches, k=old)
    ]
    follows += [
        (w, f"acc{w}", f"hot{k}", iso(NOW - timedelta(hours=5 + n)))
        for k in range(3)
        for n, w in enumerate(watches[:3])
    ]
    store_reads.insert_follows(store, follows)
    return store, watches


def test_trending_and_a_signals_count_read_the_same_however_long_the_log(tmp_path: Path) -> None:
    cost: dict[int, tuple[int, int]] = {}
    for old in (200, 20_000):
        store, watches = log_of(tmp_path / f"{old}.db", old)
        try:
            rows = store.signals.trending(watches, after=WEEK_AGO, min_accounts=2)
            assert [(row.target.id, len(row.accounts)) for row in rows] == [
                ("hot0", 3),
                ("hot1", 3),
                ("hot2", 3),
            ]
            assert len(store.signals.follows_of("hot1", watches, WEEK_AGO)) == 3
            cost[old] = (
                store_reads.vm_steps(
                    store, partial(store.signals.trending, watches, after=WEEK_AGO, min_accounts=2)
                ),
                store_reads.vm_steps(
                    store, partial(store.signals.follows_of, "hot1", watches, WEEK_AGO)
                ),
            )
        finally:
            store.close()

    assert cost[20_000] == cost[200]  # a hundred times the log, not one step more
