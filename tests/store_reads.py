"""What tests read from (or write into) a store that watcher itself never needs: kept here,
not in the store, so the store holds only what the product uses."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from watcher.store import AttemptRecord, Store


def edges(store: Store, watch_id: int) -> dict[str, str]:
    """Member id -> state (present, pending, hidden) of one watch."""
    cursor = store.db.execute("SELECT target_id, state FROM edges WHERE watch_id = ?", [watch_id])
    return dict(cursor.fetchall())


def edge_counts(store: Store, watch_id: int) -> dict[str, int]:
    cursor = store.db.execute(
        "SELECT state, COUNT(*) FROM edges WHERE watch_id = ? GROUP BY state", [watch_id]
    )
    return {state: int(count) for state, count in cursor.fetchall()}


def polls(store: Store, watch_id: int, limit: int = 20) -> list[dict[str, Any]]:
    """The watch's poll records, newest first."""
    cursor = store.db.execute(
        "SELECT started_at, duration_ms, outcome, error, size, passes, pages, requests,"
        " complete, added, removed FROM polls WHERE watch_id = ? ORDER BY id DESC LIMIT ?",
        [watch_id, limit],
    )
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def next_delivery_at(store: Store) -> str | None:
    """When the earliest pending delivery is due (None: nothing pending)."""
    row = store.db.execute(
        "SELECT MIN(next_attempt_at) FROM deliveries WHERE state = 'pending'"
    ).fetchone()
    return str(row[0]) if row[0] is not None else None


def record_attempt(store: Store, ids: Iterable[int], record: AttemptRecord) -> None:
    """One attempt's outcome for every row it carried."""
    store.outbox.record_attempts([(ids, record)])


def insert_follows(store: Store, follows: Iterable[tuple[int, str, str, str]]) -> None:
    """Follow events written straight into the log, (watch id, account id, target id,
    timestamp) each, with the least body a signal reads: for tests that need a long log
    faster than polls could make one."""
    with store.transaction():
        _insert_follows(store, follows)


def _insert_follows(store: Store, follows: Iterable[tuple[int, str, str, str]]) -> None:
    store.db.conn.executemany(
        "INSERT INTO events (id, watch_id, type, timestamp, account_id, account_handle,"
        " target_id, body) VALUES (?, ?, 'following.added', ?, ?, ?, ?, ?)",
        [
            (
                f"evt_test_{number}",
                watch_id,
                timestamp,
                account,
                account,
                target,
                json.dumps({"data": {"account": {"id": account, "handle": account}}}),
            )
            for number, (watch_id, account, target, timestamp) in enumerate(follows)
        ],
    )


def vm_steps(store: Store, read: Callable[[], object]) -> int:
    """How many hundreds of SQLite virtual-machine steps `read` takes: a cost that, unlike
    seconds, a busy machine cannot change."""
    counted = 0

    def tick() -> int:
        nonlocal counted
        counted += 1
        return 0

    store.db.conn.set_progress_handler(tick, 100)
    try:
        read()
    finally:
        store.db.conn.set_progress_handler(None, 0)
    return counted
