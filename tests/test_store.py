from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlite_utils

from tests import store_reads
from watcher.errors import DatabaseProblem
from watcher.events import Event
from watcher.platforms.base import Profile
from watcher.snapshot import PENDING, PRESENT
from watcher.store import MIGRATIONS, PollOutcome, Store

ACCOUNT = Profile("eJ57D", "Audius", "Audius", "https://audius.co/Audius", 10, 2)
ALICE = Profile("a1", "alice", "Alice", "https://audius.co/alice", 3)
BOB = Profile("b2", "bob", "Bob", "https://audius.co/bob", 3)
MOMENT = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def outcome(watch_id: int, **kwargs: object) -> PollOutcome:
    base: dict[str, object] = dict(
        watch_id=watch_id,
        started_at="2026-11-22T12:00:00Z",
        finished_at="2026-11-22T12:00:01Z",
        duration_ms=1000,
        account=ACCOUNT,
    )
    base.update(kwargs)
    return PollOutcome(**base)  # type: ignore[arg-type]


def added(target: Profile) -> Event:
    return Event.create(
        platform="audius",
        relation="following",
        added=True,
        account=ACCOUNT,
        target=target,
        moment=MOMENT,
    )


def test_a_new_database_is_migrated_to_the_latest_version(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "w.db")
    assert store.version == len(MIGRATIONS)
    store.close()
    reopened = Store.open(tmp_path / "w.db")  # migrating twice is a no-op
    assert reopened.version == len(MIGRATIONS)


def test_a_database_from_a_newer_watcher_is_refused(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "w.db")
    conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    conn.close()
    with pytest.raises(DatabaseProblem, match="newer than this watcher knows"):
        Store.open(tmp_path / "w.db")


def test_a_poll_commits_edges_events_and_metadata_together(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "w.db")
    watch = store.watches.ensure("audius:Audius:following", "audius", "Audius", "following", "t")
    event = added(ALICE)
    store.polls.commit(
        "audius",
        outcome(
            watch.id,
            profiles=[ALICE],
            set_state={"a1": PRESENT},
            events=[event],
            size=1,
            added=1,
            baseline=True,
        ),
    )
    assert store_reads.edges(store, watch.id) == {"a1": PRESENT}
    assert [row.id for row in store.events.find()] == [event.id]
    assert store.profiles.get("audius", ["a1", "eJ57D"]).keys() == {"a1", "eJ57D"}
    row = store.watches.get(watch.key)
    assert row is not None and row.last_outcome == "ok" and row.baseline_at is not None
    assert store_reads.polls(store, watch.id)[0]["added"] == 1


def test_a_poll_that_fails_to_commit_leaves_the_previous_state_intact(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "w.db")
    watch = store.watches.ensure("k", "audius", "Audius", "following", "t")
    first = added(ALICE)
    store.polls.commit("audius", outcome(watch.id, set_state={"a1": PRESENT}, events=[first]))
    # The second commit carries a duplicate event id: the whole transaction must roll back.
    with pytest.raises(sqlite3.IntegrityError):
        store.polls.commit(
            "audius",
            outcome(watch.id, set_state={"b2": PRESENT, "a1": PENDING}, events=[added(BOB), first]),
        )
    assert store_reads.edges(store, watch.id) == {"a1": PRESENT}
    assert store.events.count() == 1
    assert len(store_reads.polls(store, watch.id)) == 1


def test_a_failed_poll_records_only_the_failure(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "w.db")
    watch = store.watches.ensure("k", "audius", "Audius", "following", "t")
    store.polls.commit("audius", outcome(watch.id, set_state={"a1": PRESENT}))
    store.polls.record_failure(watch.id, "s", "f", 5, "HTTP 500 from GET /v1/users/x/following")
    store.polls.record_failure(watch.id, "s", "f", 5, "timed out")
    row = store.watches.get("k")
    assert row is not None
    assert (row.last_outcome, row.last_error, row.consecutive_failures) == ("error", "timed out", 2)
    assert store_reads.edges(store, watch.id) == {"a1": PRESENT}


def test_events_filters_and_limit_keep_oldest_first(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "w.db")
    watch = store.watches.ensure("k", "audius", "Audius", "following", "t")
    events = [added(ALICE), added(BOB)]
    store.polls.commit("audius", outcome(watch.id, events=events))
    assert [r.id for r in store.events.find(limit=1)] == [events[1].id]
    assert [r.id for r in store.events.find(account="audius")] == [e.id for e in events]
    assert store.events.find(account="someone-else") == []
    assert len(store.events.find(type_prefix="following")) == 2
    assert store.events.find(type_prefix="follower") == []


def test_a_migration_that_fails_half_way_leaves_the_previous_version(tmp_path: Path) -> None:
    path = tmp_path / "w.db"
    conn = sqlite3.connect(path, isolation_level=None)
    MIGRATIONS[0](sqlite_utils.Database(conn))  # a database at version 1: v2 on still to come
    conn.execute("PRAGMA user_version = 1")
    conn.close()

    def broken(db: sqlite_utils.Database) -> None:
        db.execute("CREATE TABLE half_done (x)")
        db.execute("CREATE TABLE half_done (x)")

    with pytest.raises(DatabaseProblem, match="half_done already exists"):
        Store.open(path, migrations=[MIGRATIONS[0], broken, *MIGRATIONS[2:]])
    conn = sqlite3.connect(path)
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
    assert "half_done" not in tables
    conn.close()
    assert Store.open(path).version == len(MIGRATIONS)


def test_two_processes_opening_a_new_database_at_once_both_succeed(tmp_path: Path) -> None:
    import subprocess
    import sys

    path = tmp_path / "race.db"
    code = f"from watcher.store import Store; Store.open({str(path)!r}).close()"
    procs = [subprocess.Popen([sys.executable, "-c", code]) for _ in range(4)]
    assert [p.wait(timeout=60) for p in procs] == [0, 0, 0, 0]
    assert Store.open(path).version == len(MIGRATIONS)
