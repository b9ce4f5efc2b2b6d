"""`patiently`: a lock held by another process is waited out in asyncio sleeps, so the event
loop keeps running; past the store's patience it is one line naming the database."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from watcher.errors import DatabaseProblem
from watcher.lock_wait import patiently
from watcher.store import Store


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store.open(tmp_path / "watcher.db", patience=1.0, sliced=True)
    yield opened
    opened.close()


def hold_write_lock(path: Path) -> sqlite3.Connection:
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("UPDATE watches SET size = size")
    return holder


def test_a_lock_held_past_the_patience_is_one_line_and_the_loop_ran_meanwhile(
    store: Store, tmp_path: Path
) -> None:
    holder = hold_write_lock(tmp_path / "watcher.db")
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.01)

    async def go() -> float:
        ticker = asyncio.create_task(tick())
        started = time.monotonic()
        try:
            with pytest.raises(DatabaseProblem) as caught:
                await patiently(store, store.watches.ensure, "k", "audius", "a", "followers", "t")
        finally:
            ticker.cancel()
        assert str(caught.value) == (
            f"database {tmp_path / 'watcher.db'} is locked by another process; try again later"
        )
        return time.monotonic() - started

    try:
        took = asyncio.run(go())
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert 1.0 <= took < 5.0
    assert ticks >= 20  # the loop was free: SQLite never held it for long
    assert store.watches.all() == []


def test_a_lock_released_within_the_patience_is_waited_for(store: Store, tmp_path: Path) -> None:
    holder = hold_write_lock(tmp_path / "watcher.db")

    async def go() -> str:
        loop = asyncio.get_running_loop()
        loop.call_later(0.3, holder.execute, "ROLLBACK")
        row = await patiently(store, store.watches.ensure, "k", "audius", "a", "followers", "t")
        return row.key

    try:
        assert asyncio.run(go()) == "k"
    finally:
        holder.close()


def test_errors_other_than_a_lock_are_not_retried(store: Store) -> None:
    def broken() -> None:
        raise sqlite3.OperationalError("no such table: nowhere")

    started = time.monotonic()
    with pytest.raises(sqlite3.OperationalError, match="no such table"):
        asyncio.run(patiently(store, broken))
    assert time.monotonic() - started < 0.5
