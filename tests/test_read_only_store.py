"""The store the web routes read: it reads what polls wrote, cannot write, creates nothing,
and refuses a database at another schema version in one line."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.world import AudiusWorld, curator_following
from watcher.errors import DatabaseProblem
from watcher.store import MIGRATIONS, Store


def test_a_read_only_store_reads_what_polls_wrote_and_cannot_write(audius: AudiusWorld) -> None:
    audius.watch("curator")
    curator, artists = curator_following(audius)
    audius.poll()
    audius.sim.follow(curator, artists[30])
    audius.poll()

    store = Store.open_read_only(audius.db_path)
    try:
        (row,) = store.events.newest(10)
        with store.snapshot():
            assert store.events.after(0, 10) == [row]
        with pytest.raises(sqlite3.OperationalError, match="attempt to write a readonly database"):
            store.db.execute("DELETE FROM events")
    finally:
        store.close()
    assert [t for t, _ in audius.event_types()] == ["following.added"]  # still there


def test_a_missing_database_is_one_line_and_no_file(tmp_path: Path) -> None:
    missing = tmp_path / "nothing.db"

    with pytest.raises(DatabaseProblem) as raised:
        Store.open_read_only(missing)

    assert (
        str(raised.value)
        == f"database {missing} cannot be opened (check the path and its folder's permissions)"
    )
    assert not missing.exists()


@pytest.mark.parametrize("version", [len(MIGRATIONS) - 1, len(MIGRATIONS) + 1])
def test_a_database_at_another_schema_version_is_refused_in_one_line(
    tmp_path: Path, version: int
) -> None:
    path = tmp_path / "watcher.db"
    Store.open(path, migrations=MIGRATIONS[: min(version, len(MIGRATIONS))]).close()
    if version > len(MIGRATIONS):
        with sqlite3.connect(path) as conn:
            conn.execute(f"PRAGMA user_version = {version}")

    with pytest.raises(DatabaseProblem) as raised:
        Store.open_read_only(path)

    expected = (
        f"database {path} is at schema version {version}, older than this watcher reads"
        f" ({len(MIGRATIONS)}): run `watcher once` to bring it up to date"
        if version < len(MIGRATIONS)
        else f"database {path}: schema version {version} is newer than this watcher knows"
        f" ({len(MIGRATIONS)}); upgrade watcher"
    )
    assert str(raised.value) == expected
