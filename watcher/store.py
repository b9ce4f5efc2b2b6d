"""The SQLite schema and every query. Nothing else in watcher writes SQL.

Storage grows with changes, not with polls: the current edge set per watch, the event log,
the profiles of watched accounts and of every account an event names, and one small metadata
row per poll. A poll's edges, events and metadata commit in one transaction, so a crash
mid-poll leaves the previous state intact.

A poll's listing is streamed into a temporary table (`ScratchMembers`) and compared with the
stored edges in SQL, so a list of a million followers never sits in Python objects.
"""

from __future__ import annotations

import itertools
import json
import os
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlite_utils

from watcher import database_problems
from watcher.alerts import Alert
from watcher.errors import ConfigError, DatabaseProblem
from watcher.events import Event
from watcher.platforms.base import NOTED, ROUND, MemoryMembers, Profile
from watcher.redaction import redact

PRESENT, PENDING, HIDDEN = "present", "pending", "hidden"
_SCRATCH_NAMES = itertools.count(1)
_PROFILE_COLUMNS = (
    "id, handle, name, url, follower_count, following_count, is_verified, deactivated"
)
DELIVERY_COUNTS = ("pending", "retrying", "dead", "delivered")
_WAL_RETRY_PAUSE = 0.02


def _script(db: sqlite_utils.Database, sql: str) -> None:
    """Run DDL statements one by one: sqlite3's executescript would COMMIT the migration's
    transaction first, and a crash half-way would leave a half-migrated schema."""
    for statement in sql.split(";"):
        if statement.strip():
            db.execute(statement)


def _v1(db: sqlite_utils.Database) -> None:
    _script(
        db,
        """
        CREATE TABLE watches (
            id INTEGER PRIMARY KEY,
            key TEXT NOT NULL UNIQUE,
            platform TEXT NOT NULL,
            account TEXT NOT NULL,
            relation TEXT NOT NULL,
            account_id TEXT,
            created_at TEXT NOT NULL,
            baseline_at TEXT,
            last_poll_at TEXT,
            last_outcome TEXT,
            last_error TEXT,
            last_passes INTEGER,
            last_pages INTEGER,
            last_duration_ms INTEGER,
            consecutive_failures INTEGER NOT NULL DEFAULT 0,
            size INTEGER
        );
        CREATE TABLE accounts (
            platform TEXT NOT NULL,
            id TEXT NOT NULL,
            handle TEXT NOT NULL,
            name TEXT NOT NULL,
            url TEXT NOT NULL,
            follower_count INTEGER,
            following_count INTEGER,
            is_verified INTEGER NOT NULL DEFAULT 0,
            deactivated INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (platform, id)
        ) WITHOUT ROWID;
        CREATE TABLE edges (
            watch_id INTEGER NOT NULL REFERENCES watches(id) ON DELETE CASCADE,
            target_id TEXT NOT NULL,
            state TEXT NOT NULL CHECK (state IN ('present', 'pending', 'hidden')),
            since TEXT NOT NULL,
            PRIMARY KEY (watch_id, target_id)
        ) WITHOUT ROWID;
        CREATE TABLE events (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            id TEXT NOT NULL UNIQUE,
            watch_id INTEGER NOT NULL,
            type TEXT NOT NULL,
            timestamp TEXT NOT NULL,
            account_id TEXT NOT NULL,
            account_handle TEXT NOT NULL,
            target_id TEXT NOT NULL,
            body TEXT NOT NULL
        );
        CREATE INDEX events_by_watch ON events (watch_id, seq);
        CREATE TABLE polls (
            id INTEGER PRIMARY KEY,
            watch_id INTEGER NOT NULL,
            started_at TEXT NOT NULL,
            duration_ms INTEGER NOT NULL,
            outcome TEXT NOT NULL,
            error TEXT,
            size INTEGER,
            passes INTEGER,
            pages INTEGER,
            requests INTEGER,
            complete INTEGER,
            added INTEGER NOT NULL DEFAULT 0,
            removed INTEGER NOT NULL DEFAULT 0
        );
        CREATE INDEX polls_by_watch ON polls (watch_id, id);
        """,
    )


def _v2_outbox(db: sqlite_utils.Database) -> None:
    """The delivery outbox: one row per (event, notifier), written with the poll's events.

    `batch` groups the rows one digest message carries (one watch's poll, one notifier);
    `urls_done` lists the Apprise URLs that already succeeded, so a retry resends only the
    others. Alerts (a watch failing, then recovered) are rows with no event.
    """
    _script(
        db,
        """
        CREATE TABLE deliveries (
            id INTEGER PRIMARY KEY,
            notifier TEXT NOT NULL,
            watch_id INTEGER NOT NULL,
            batch TEXT NOT NULL,
            event_id TEXT,
            kind TEXT NOT NULL DEFAULT 'event',
            payload TEXT,
            state TEXT NOT NULL DEFAULT 'pending'
                CHECK (state IN ('pending', 'delivered', 'dead')),
            attempts INTEGER NOT NULL DEFAULT 0,
            created_at TEXT NOT NULL,
            next_attempt_at TEXT NOT NULL,
            last_attempt_at TEXT,
            delivered_at TEXT,
            last_status INTEGER,
            last_error TEXT,
            urls_done TEXT NOT NULL DEFAULT '[]'
        );
        CREATE UNIQUE INDEX deliveries_once ON deliveries (event_id, notifier)
            WHERE event_id IS NOT NULL;
        CREATE INDEX deliveries_due ON deliveries (state, next_attempt_at);
        CREATE TABLE notifier_state (
            name TEXT PRIMARY KEY,
            disabled_at TEXT,
            disabled_reason TEXT
        ) WITHOUT ROWID;
        ALTER TABLE watches ADD COLUMN alerted_at TEXT;
        """,
    )


def _v3_tokens(db: sqlite_utils.Database) -> None:
    """OAuth tokens per platform, so one token serves every poll and every process start.

    `grants` counts the tokens this database obtained (each one a rationed request).
    `token_leases` says which process is fetching a platform's next token, and until when,
    so processes starting together ask for one token, not one each.
    """
    _script(
        db,
        """
        CREATE TABLE tokens (
            platform TEXT PRIMARY KEY,
            access_token TEXT NOT NULL,
            refresh_token TEXT,
            expires_at TEXT NOT NULL,
            obtained_at TEXT NOT NULL,
            grants INTEGER NOT NULL DEFAULT 0
        ) WITHOUT ROWID;
        CREATE TABLE token_leases (
            platform TEXT PRIMARY KEY,
            holder TEXT NOT NULL,
            until TEXT NOT NULL
        ) WITHOUT ROWID;
        """,
    )


def _v4_honest_polls(db: sqlite_utils.Database) -> None:
    """What keeps polls honest across processes and over time.

    `poll_leases` names the process polling a watch (and until when), so two processes never
    poll one watch at once; `watches.generation` grows with every recorded poll, so a poll
    that started from an older state cannot commit over a newer one. `watches.next_poll_at`
    is when the daemon plans the watch's next poll (what `watcher status` shows).
    `edges.checked_at` is when a member kept silently (hidden) was last examined.
    """
    _script(
        db,
        """
        CREATE TABLE poll_leases (
            watch_id INTEGER PRIMARY KEY,
            holder TEXT NOT NULL,
            pid INTEGER NOT NULL,
            host TEXT NOT NULL,
            until TEXT NOT NULL
        );
        ALTER TABLE watches ADD COLUMN generation INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE watches ADD COLUMN next_poll_at TEXT;
        ALTER TABLE edges ADD COLUMN checked_at TEXT;
        """,
    )


# Ordered migrations: index i brings the schema to version i + 1. Only ever append.
MIGRATIONS: list[Callable[[sqlite_utils.Database], None]] = [
    _v1,
    _v2_outbox,
    _v3_tokens,
    _v4_honest_polls,
]


@dataclass(frozen=True, slots=True)
class WatchRow:
    id: int
    key: str
    platform: str
    account: str
    relation: str
    account_id: str | None
    baseline_at: str | None
    last_poll_at: str | None
    last_outcome: str | None
    last_error: str | None
    last_passes: int | None
    last_pages: int | None
    last_duration_ms: int | None
    consecutive_failures: int
    size: int | None


@dataclass(frozen=True, slots=True)
class Absent:
    """A stored member a listing lacks: its state, and since when it has had that state."""

    target_id: str
    state: str
    since: str


@dataclass(frozen=True, slots=True)
class Comparison:
    """A listing against the stored edges of its watch (see `Store.compare_members`)."""

    new: list[tuple[Profile, str | None]]
    absent: list[Absent]
    hidden: list[str]


@dataclass(frozen=True, slots=True)
class EventRow:
    seq: int
    id: str
    type: str
    timestamp: str
    account_handle: str
    body: str

    def envelope(self) -> dict[str, Any]:
        value: dict[str, Any] = json.loads(self.body)
        return value


@dataclass(frozen=True, slots=True)
class StoredToken:
    """A platform's OAuth token as stored; the secrets stay out of reprs (and so of logs)."""

    access_token: str = field(repr=False)
    refresh_token: str | None = field(repr=False)
    expires_at: str
    obtained_at: str
    grants: int = 0


@dataclass(frozen=True, slots=True)
class PollLeaseRow:
    """Who polls a watch, and until when; with the watch's generation as read beside it."""

    holder: str
    pid: int
    host: str
    until: str
    generation: int


@dataclass(frozen=True, slots=True)
class LeaseCheck:
    """What a poll's record must still find to commit: its own lease on the watch, and the
    watch's generation as it was when the poll began."""

    holder: str
    generation: int


@dataclass(frozen=True, slots=True)
class Route:
    """A notifier a watch's deliveries go to, and the types it wants (None: every type)."""

    notifier: str
    types: frozenset[str] | None = None

    def wants(self, type_: str) -> bool:
        return self.types is None or type_ in self.types


@dataclass(frozen=True, slots=True)
class DeliveryRow:
    """One outbox row: one event (or alert) for one notifier, and how its delivery went."""

    id: int
    notifier: str
    watch_id: int
    batch: str
    event_id: str | None
    kind: str  # "event" or "alert"
    body: str  # the envelope JSON: what a webhook POSTs and what messages are built from
    state: str  # pending, delivered or dead
    attempts: int
    created_at: str
    next_attempt_at: str
    last_attempt_at: str | None
    delivered_at: str | None
    last_status: int | None
    last_error: str | None
    urls_done: list[str]  # digests of the Apprise URLs that already have it

    def envelope(self) -> dict[str, Any]:
        value: dict[str, Any] = json.loads(self.body)
        return value


@dataclass(frozen=True, slots=True)
class AttemptRecord:
    """What one delivery attempt changes: `state` pending means "try again at next_attempt_at"."""

    state: str
    attempted_at: str
    status: int | None = None
    error: str | None = None
    next_attempt_at: str | None = None
    urls_done: list[str] = field(default_factory=list)


@dataclass(slots=True)
class PollOutcome:
    """Everything one successful poll writes, applied in one transaction."""

    watch_id: int
    started_at: str
    finished_at: str
    duration_ms: int
    account: Profile
    profiles: list[Profile] = field(default_factory=list)
    set_state: dict[str, str] = field(default_factory=dict)
    delete: list[str] = field(default_factory=list)
    # Hidden members examined by this poll (and found still hidden).
    checked: list[str] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    baseline: bool = False
    size: int = 0
    passes: int = 0
    pages: int = 0
    requests: int = 0
    complete: bool = True
    added: int = 0
    removed: int = 0
    # A first listing (no baseline yet): every member becomes present in SQL, and when the
    # listing is complete (`baseline`) stored edges it lacks are dropped. No events.
    adopt: ScratchMembers | None = None
    # The watch's notifiers: each gets one delivery row per event it wants, in the same
    # transaction as the events.
    routes: list[Route] = field(default_factory=list)
    # Sent (through `routes`) only if the watch had alerted that it was failing.
    recovered: Alert | None = None
    # When set, the poll commits only while it holds its lease and the watch's generation is
    # unchanged; the commit then releases the lease.
    lease: LeaseCheck | None = None


def _enter_wal(conn: sqlite3.Connection, patience: float) -> None:
    """`PRAGMA journal_mode=WAL`, retried: while another process creates the same database
    and switches it to WAL, SQLite answers "locked" at once instead of calling its busy
    handler, so the connection's timeout alone does not cover it."""
    deadline = time.monotonic() + patience
    while True:
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if not database_problems.is_locked(exc) or time.monotonic() >= deadline:
                raise
        time.sleep(_WAL_RETRY_PAUSE)


def _create_private(path: Path) -> None:
    """A new database file is readable by its owner only: it holds tokens and the watch list.
    (SQLite gives its -wal and -shm files the database file's mode.)"""
    try:
        os.close(os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass
    except OSError as exc:
        raise DatabaseProblem(f"database {path} cannot be created: {exc.strerror}") from None


# How long a lock held by another process is waited for, unless the caller says otherwise.
PATIENCE = 30.0
# On an event loop, SQLite itself waits at most this long for a lock before answering
# "locked"; the rest of the wait is `lock_wait.patiently`'s, in asyncio sleeps.
LOCK_SLICE = 0.05


class Store:
    def __init__(
        self, db: sqlite_utils.Database, *, path: Path | str = "", patience: float = PATIENCE
    ) -> None:
        self.db = db
        self.path = path  # named by the one line a locked or damaged database becomes
        self.patience = patience  # seconds a lock held by another process is waited for

    @classmethod
    def open(
        cls,
        path: Path | str,
        *,
        patience: float = PATIENCE,
        sliced: bool = False,
        migrations: Sequence[Callable[[sqlite_utils.Database], None]] = MIGRATIONS,
    ) -> Store:
        """Open (creating and migrating as needed), waiting up to `patience` for locks.

        `sliced`: the connection is used from an event loop, so each statement waits at
        most LOCK_SLICE for a lock; callers on the loop wait out the rest of `patience`
        with `lock_wait.patiently`, which keeps the loop free meanwhile.
        """
        path = Path(path)
        # The folder is the user's to make: a typo in `database` must not grow a new tree.
        if str(path) != ":memory:" and not path.parent.is_dir():
            raise ConfigError(f"database: the directory {path.parent} does not exist")
        try:
            if str(path) != ":memory:":
                _create_private(path)
            conn = sqlite3.connect(str(path), timeout=patience, isolation_level=None)
            _enter_wal(conn, patience)
            # WAL + NORMAL is durable across process crashes; only an OS crash may lose
            # the last transaction, which then simply re-polls.
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            # Scratch tables (a poll's listing) need no rollback journal: they die with the
            # poll, and without one a page's insert costs a third (0.47 ms against 1.67 ms).
            conn.execute("PRAGMA temp.journal_mode=OFF")
        except sqlite3.Error as exc:
            raise database_problems.problem(path, exc) from None
        store = cls(sqlite_utils.Database(conn), path=path, patience=patience)
        try:
            store.migrate(migrations)
            if sliced:
                conn.execute(f"PRAGMA busy_timeout = {int(LOCK_SLICE * 1000)}")
        except sqlite3.Error as exc:
            conn.close()
            raise database_problems.problem(path, exc) from None
        return store

    def close(self) -> None:
        self.db.conn.close()

    def checkpoint(self) -> None:
        """Fold the write-ahead log into the database file (and empty the log)."""
        self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def used_bytes(self) -> int:
        """The database's size in pages actually in use, after a checkpoint."""
        self.checkpoint()
        pages = self.db.execute("PRAGMA page_count").fetchone()[0]
        free = self.db.execute("PRAGMA freelist_count").fetchone()[0]
        size = self.db.execute("PRAGMA page_size").fetchone()[0]
        return int((pages - free) * size)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        conn = self.db.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    # -- schema ---------------------------------------------------------------------------

    @property
    def version(self) -> int:
        row = self.db.execute("PRAGMA user_version").fetchone()
        return int(row[0])

    def migrate(
        self, migrations: Sequence[Callable[[sqlite_utils.Database], None]] = MIGRATIONS
    ) -> None:
        current = self.version
        if current > len(migrations):
            raise DatabaseProblem(
                f"database: schema version {current} is newer than this watcher knows "
                f"({len(migrations)}); upgrade watcher"
            )
        while current < len(migrations):
            with self.transaction():
                # Re-read under the write lock: another process may have migrated meanwhile.
                current = self.version
                if current < len(migrations):
                    migrations[current](self.db)
                    self.db.execute(f"PRAGMA user_version = {current + 1}")
                    current += 1

    # -- watches --------------------------------------------------------------------------

    def ensure_watch(
        self, key: str, platform: str, account: str, relation: str, now: str
    ) -> WatchRow:
        self.db.execute(
            "INSERT INTO watches (key, platform, account, relation, created_at)"
            " VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT(key) DO NOTHING",
            [key, platform, account, relation, now],
        )
        row = self.watch(key)
        assert row is not None
        return row

    def watch(self, key: str) -> WatchRow | None:
        rows = self._watch_rows("WHERE key = ?", [key])
        return rows[0] if rows else None

    def watches(self) -> list[WatchRow]:
        return self._watch_rows("ORDER BY id", [])

    def _watch_rows(self, where: str, params: list[Any]) -> list[WatchRow]:
        fields = ", ".join(WatchRow.__slots__)
        cursor = self.db.execute(f"SELECT {fields} FROM watches {where}", params)
        return [WatchRow(*row) for row in cursor.fetchall()]

    def set_account_id(self, watch_id: int, account_id: str) -> None:
        self.db.execute("UPDATE watches SET account_id = ? WHERE id = ?", [account_id, watch_id])

    def plan_next_poll(self, key: str, at: str | None) -> None:
        """Record when the running daemon polls the watch next (None: no daemon plans it)."""
        self.db.execute("UPDATE watches SET next_poll_at = ? WHERE key = ?", [at, key])

    def planned_next_poll(self, key: str) -> str | None:
        """When a daemon last said it polls the watch next (it may have stopped since)."""
        row = self.db.execute("SELECT next_poll_at FROM watches WHERE key = ?", [key]).fetchone()
        return None if row is None else row[0]

    # -- listings -------------------------------------------------------------------------

    def scratch_members(self, memory_limit: int = 50_000) -> ScratchMembers:
        """A fresh place for one poll's listing; `drop()` it when the poll ends."""
        return ScratchMembers(self.db.conn, f"listing_{next(_SCRATCH_NAMES)}", memory_limit)

    def compare_members(
        self, watch_id: int, members: ScratchMembers, recheck_before: str
    ) -> Comparison:
        """A listing against the watch's stored edges: the listed accounts not stored as
        present (with their stored state), the stored ones it lacks, and the hidden ones it
        lacks whose last examination is older than `recheck_before`."""
        memory = members.memory
        if memory is None:
            return Comparison(
                self._new_in_table(watch_id, members),
                self._absent_from_table(watch_id, members),
                self._hidden_from_table(watch_id, members, recheck_before),
            )
        # One read of the watch's edges serves every side (the dict answers membership).
        listed = memory.profiles
        rows: list[tuple[str, str, str, str | None]] = self.db.execute(
            "SELECT target_id, state, since, checked_at FROM edges WHERE watch_id = ?",
            [watch_id],
        ).fetchall()
        absent = [
            Absent(str(t), str(state), str(since))
            for t, state, since, _ in rows
            if state != HIDDEN and t not in listed
        ]
        hidden = [
            str(t)
            for t, state, since, checked in rows
            if state == HIDDEN and t not in listed and (checked or since) < recheck_before
        ]
        unseen = listed.keys() - {row[0] for row in rows if row[1] == PRESENT}
        if not unseen:  # a quiet poll: every listed account is stored as present
            return Comparison([], absent, hidden)
        stored = {row[0]: row[1] for row in rows}
        new = [(p, stored.get(t)) for t, p in listed.items() if t in unseen]  # listing order
        return Comparison(new, absent, hidden)

    def _new_in_table(
        self, watch_id: int, members: ScratchMembers
    ) -> list[tuple[Profile, str | None]]:
        cursor = self.db.execute(
            f"SELECT {_prefixed('m.')}, e.state FROM temp.{members.table} AS m"
            " LEFT JOIN edges AS e ON e.watch_id = ? AND e.target_id = m.id"
            " WHERE e.state IS NULL OR e.state != 'present'",
            [watch_id],
        )
        return [(_profile_row(row), row[8]) for row in cursor.fetchall()]

    def _absent_from_table(self, watch_id: int, members: ScratchMembers) -> list[Absent]:
        cursor = self.db.execute(
            "SELECT target_id, state, since FROM edges WHERE watch_id = ? AND state != 'hidden'"
            f" AND target_id NOT IN (SELECT id FROM temp.{members.table})",
            [watch_id],
        )
        return [Absent(str(t), str(state), str(since)) for t, state, since in cursor.fetchall()]

    def _hidden_from_table(
        self, watch_id: int, members: ScratchMembers, recheck_before: str
    ) -> list[str]:
        cursor = self.db.execute(
            "SELECT target_id FROM edges WHERE watch_id = ? AND state = 'hidden'"
            " AND COALESCE(checked_at, since) < ?"
            f" AND target_id NOT IN (SELECT id FROM temp.{members.table})",
            [watch_id, recheck_before],
        )
        return [str(t) for (t,) in cursor.fetchall()]

    # -- profiles -------------------------------------------------------------------------

    def profiles(self, platform: str, ids: Iterable[str]) -> dict[str, Profile]:
        found: dict[str, Profile] = {}
        id_list = list(ids)
        for start in range(0, len(id_list), 500):
            chunk = id_list[start : start + 500]
            marks = ", ".join("?" for _ in chunk)
            cursor = self.db.execute(
                "SELECT id, handle, name, url, follower_count, following_count, is_verified,"
                f" deactivated FROM accounts WHERE platform = ? AND id IN ({marks})",
                [platform, *chunk],
            )
            for row in cursor.fetchall():
                found[row[0]] = _profile_row(row)
        return found

    def _save_profiles(self, platform: str, profiles: Iterable[Profile]) -> None:
        self.db.conn.executemany(
            "INSERT INTO accounts (platform, id, handle, name, url, follower_count,"
            " following_count, is_verified, deactivated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT(platform, id) DO UPDATE SET handle = excluded.handle,"
            " name = excluded.name, url = excluded.url, follower_count = excluded.follower_count,"
            " following_count = excluded.following_count, is_verified = excluded.is_verified,"
            " deactivated = excluded.deactivated",
            [(platform, p.id, *_profile_fields(p)) for p in profiles],
        )

    # -- polls ----------------------------------------------------------------------------

    def commit_poll(self, platform: str, outcome: PollOutcome) -> bool:
        """Apply one successful poll atomically: profiles, edges, events, outbox, metadata.

        With `outcome.lease`, nothing is written (False) unless the poll still holds its lease
        and the watch's generation is the one it started from: a poll that began from an older
        state never commits over a newer one, even if its lease ran out mid-poll.
        """
        with self.transaction():
            if outcome.lease is not None and not self._holds(outcome.watch_id, outcome.lease):
                return False
            self._save_profiles(platform, [outcome.account, *outcome.profiles])
            if outcome.adopt is not None:
                self._adopt(outcome.watch_id, outcome.adopt, outcome.finished_at, outcome.baseline)
            self.db.conn.executemany(
                "INSERT INTO edges (watch_id, target_id, state, since) VALUES (?, ?, ?, ?)"
                " ON CONFLICT(watch_id, target_id) DO UPDATE SET state = excluded.state,"
                " since = CASE WHEN edges.state = excluded.state THEN edges.since"
                " ELSE excluded.since END",
                [
                    (outcome.watch_id, target, state, outcome.finished_at)
                    for target, state in outcome.set_state.items()
                ],
            )
            self.db.conn.executemany(
                "DELETE FROM edges WHERE watch_id = ? AND target_id = ?",
                [(outcome.watch_id, target) for target in outcome.delete],
            )
            self.db.conn.executemany(
                "UPDATE edges SET checked_at = ? WHERE watch_id = ? AND target_id = ?",
                [(outcome.finished_at, outcome.watch_id, target) for target in outcome.checked],
            )
            self.db.conn.executemany(
                "INSERT INTO events (id, watch_id, type, timestamp, account_id, account_handle,"
                " target_id, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        e.id,
                        outcome.watch_id,
                        e.type,
                        e.timestamp,
                        e.account.id,
                        e.account.handle,
                        e.target.id,
                        e.to_json(),
                    )
                    for e in outcome.events
                ],
            )
            # "Recovered" first: the changes this poll found read best after it.
            if outcome.recovered is not None and self._end_alert(outcome.watch_id):
                self._enqueue_alert(
                    outcome.watch_id, outcome.finished_at, outcome.routes, outcome.recovered
                )
            if outcome.events:
                self._enqueue(
                    outcome.watch_id,
                    f"poll:{outcome.events[0].id}",
                    outcome.finished_at,
                    outcome.routes,
                    [(e.type, e.id, None) for e in outcome.events],
                )
            self._insert_poll(
                outcome.watch_id,
                outcome.started_at,
                outcome.duration_ms,
                "ok",
                None,
                size=outcome.size,
                passes=outcome.passes,
                pages=outcome.pages,
                requests=outcome.requests,
                complete=outcome.complete,
                added=outcome.added,
                removed=outcome.removed,
            )
            self.db.execute(
                "UPDATE watches SET account_id = ?, last_poll_at = ?, last_outcome = 'ok',"
                " last_error = NULL, last_passes = ?, last_pages = ?, last_duration_ms = ?,"
                " consecutive_failures = 0, size = ?,"
                " baseline_at = COALESCE(baseline_at, ?) WHERE id = ?",
                [
                    outcome.account.id,
                    outcome.finished_at,
                    outcome.passes,
                    outcome.pages,
                    outcome.duration_ms,
                    outcome.size,
                    outcome.finished_at if outcome.baseline else None,
                    outcome.watch_id,
                ],
            )
            self._recorded(outcome.watch_id, outcome.lease)
        return True

    def _adopt(self, watch_id: int, members: ScratchMembers, now: str, drop_absent: bool) -> None:
        memory = members.memory
        if memory is not None:
            self.db.conn.executemany(
                "INSERT INTO edges (watch_id, target_id, state, since) VALUES (?, ?, 'present', ?)"
                " ON CONFLICT(watch_id, target_id) DO UPDATE SET state = 'present', since ="
                " CASE WHEN edges.state = 'present' THEN edges.since ELSE excluded.since END",
                [(watch_id, target_id, now) for target_id in memory.profiles],
            )
            if drop_absent:
                cursor = self.db.execute(
                    "SELECT target_id FROM edges WHERE watch_id = ?", [watch_id]
                )
                gone = [(watch_id, t) for (t,) in cursor if t not in memory.profiles]
                self.db.conn.executemany(
                    "DELETE FROM edges WHERE watch_id = ? AND target_id = ?", gone
                )
            return
        self.db.execute(
            "INSERT INTO edges (watch_id, target_id, state, since)"
            f" SELECT ?, id, 'present', ? FROM temp.{members.table} WHERE true"
            " ON CONFLICT(watch_id, target_id) DO UPDATE SET state = 'present',"
            " since = CASE WHEN edges.state = 'present' THEN edges.since ELSE excluded.since END",
            [watch_id, now],
        )
        if drop_absent:
            self.db.execute(
                "DELETE FROM edges WHERE watch_id = ?"
                f" AND target_id NOT IN (SELECT id FROM temp.{members.table})",
                [watch_id],
            )

    def record_failure(
        self,
        watch_id: int,
        started_at: str,
        finished_at: str,
        duration_ms: int,
        error: str,
        *,
        routes: Iterable[Route] = (),
        failing: Alert | None = None,
        alert_after: int = 0,
        lease: LeaseCheck | None = None,
    ) -> bool:
        """A failed poll changes nothing but its own record, and perhaps sends one alert.

        The alert goes out (through `routes`) when this failure makes `alert_after` in a row
        and the watch has not alerted yet: one alert per outage, however long it lasts.
        `lease` is checked (and released) as by `commit_poll`: a failure another process's
        poll has overtaken is not recorded (False).
        """
        error = redact(error)
        with self.transaction():
            if lease is not None and not self._holds(watch_id, lease):
                return False
            self._insert_poll(watch_id, started_at, duration_ms, "error", error)
            self.db.execute(
                "UPDATE watches SET last_poll_at = ?, last_outcome = 'error', last_error = ?,"
                " last_duration_ms = ?, consecutive_failures = consecutive_failures + 1"
                " WHERE id = ?",
                [finished_at, error, duration_ms, watch_id],
            )
            if failing is not None and alert_after > 0:
                cursor = self.db.execute(
                    "UPDATE watches SET alerted_at = ? WHERE id = ? AND alerted_at IS NULL"
                    " AND consecutive_failures >= ?",
                    [finished_at, watch_id, alert_after],
                )
                if cursor.rowcount == 1:
                    self._enqueue_alert(watch_id, finished_at, routes, failing)
            self._recorded(watch_id, lease)
        return True

    # -- poll leases -----------------------------------------------------------------------
    # One process polls a watch at a time, across processes: before polling, a process takes
    # the watch's lease (a committed row, never a transaction held open across the poll),
    # renews it while the poll progresses and drops it when the poll is recorded or given up.
    # A holder that dies keeps the watch only until its lease runs out.

    def claim_poll_lease(
        self,
        watch_id: int,
        holder: str,
        pid: int,
        host: str,
        now: str,
        until: str,
        *,
        dead_holder: str = "",
    ) -> PollLeaseRow:
        """Take the watch's lease until `until` when it is free, expired (until < now),
        already `holder`'s, or `dead_holder`'s (a process known to be gone). Returns the
        lease as it stands: granted iff its holder is `holder`, else it names the process
        polling the watch."""
        with self.transaction():
            self.db.execute(
                "INSERT INTO poll_leases (watch_id, holder, pid, host, until)"
                " VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT(watch_id) DO UPDATE SET holder = excluded.holder,"
                " pid = excluded.pid, host = excluded.host, until = excluded.until"
                " WHERE poll_leases.holder IN (excluded.holder, ?) OR poll_leases.until < ?",
                [watch_id, holder, pid, host, until, dead_holder, now],
            )
            lease = self.poll_lease(watch_id)
        assert lease is not None
        return lease

    def renew_poll_lease(self, watch_id: int, holder: str, until: str) -> bool:
        """Extend `holder`'s lease to `until`; False when it is no longer `holder`'s."""
        cursor = self.db.execute(
            "UPDATE poll_leases SET until = ? WHERE watch_id = ? AND holder = ?",
            [until, watch_id, holder],
        )
        return cursor.rowcount == 1

    def release_poll_lease(self, watch_id: int, holder: str) -> None:
        self.db.execute(
            "DELETE FROM poll_leases WHERE watch_id = ? AND holder = ?", [watch_id, holder]
        )

    def poll_lease(self, watch_id: int) -> PollLeaseRow | None:
        """The watch's lease, expired or not, with the watch's current generation."""
        row = self.db.execute(
            "SELECT l.holder, l.pid, l.host, l.until, w.generation FROM poll_leases AS l"
            " JOIN watches AS w ON w.id = l.watch_id WHERE l.watch_id = ?",
            [watch_id],
        ).fetchone()
        return None if row is None else PollLeaseRow(row[0], int(row[1]), row[2], row[3], row[4])

    def generation(self, watch_id: int) -> int:
        row = self.db.execute("SELECT generation FROM watches WHERE id = ?", [watch_id]).fetchone()
        return int(row[0])

    def _holds(self, watch_id: int, lease: LeaseCheck) -> bool:
        """Inside a write transaction: the lease is still `lease.holder`'s (an expired one
        nobody took since counts: nobody else can have recorded a poll meanwhile) and the
        generation unchanged."""
        row = self.db.execute(
            "SELECT 1 FROM poll_leases AS l JOIN watches AS w ON w.id = l.watch_id"
            " WHERE l.watch_id = ? AND l.holder = ? AND w.generation = ?",
            [watch_id, lease.holder, lease.generation],
        ).fetchone()
        return row is not None

    def _recorded(self, watch_id: int, lease: LeaseCheck | None) -> None:
        """Inside the transaction recording a poll: one generation more, and the poll's lease
        released with it."""
        self.db.execute("UPDATE watches SET generation = generation + 1 WHERE id = ?", [watch_id])
        if lease is not None:
            self.release_poll_lease(watch_id, lease.holder)

    def _insert_poll(
        self,
        watch_id: int,
        started_at: str,
        duration_ms: int,
        outcome: str,
        error: str | None,
        **figures: int | bool | None,
    ) -> None:
        columns = ["watch_id", "started_at", "duration_ms", "outcome", "error", *figures]
        values = [watch_id, started_at, duration_ms, outcome, error, *figures.values()]
        marks = ", ".join("?" for _ in columns)
        self.db.execute(f"INSERT INTO polls ({', '.join(columns)}) VALUES ({marks})", values)

    # -- deliveries -----------------------------------------------------------------------
    # The outbox. Rows are written with the poll that produced them, sent by the dispatcher,
    # and only then marked: a crash in between re-sends (with the same id) rather than loses.

    _DELIVERY_COLUMNS = (
        "d.id, d.notifier, d.watch_id, d.batch, d.event_id, d.kind,"
        " COALESCE(d.payload, e.body, 'null'), d.state, d.attempts, d.created_at,"
        " d.next_attempt_at, d.last_attempt_at, d.delivered_at, d.last_status, d.last_error,"
        " d.urls_done FROM deliveries d LEFT JOIN events e ON e.id = d.event_id"
    )

    def _enqueue(
        self,
        watch_id: int,
        batch: str,
        now: str,
        routes: Iterable[Route],
        items: list[tuple[str, str | None, str | None]],
    ) -> None:
        """One pending row per (item, route) the route wants; items are (type, event id,
        payload), the payload only for rows without an event."""
        self.db.conn.executemany(
            "INSERT INTO deliveries (notifier, watch_id, batch, event_id, kind, payload,"
            " created_at, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    route.notifier,
                    watch_id,
                    batch,
                    event_id,
                    "event" if event_id else "alert",
                    payload,
                    now,
                    now,
                )
                for route in routes
                for type_, event_id, payload in items
                if route.wants(type_)
            ],
        )

    def _enqueue_alert(
        self, watch_id: int, now: str, routes: Iterable[Route], alert: Alert
    ) -> None:
        self._enqueue(watch_id, alert.id, now, routes, [(alert.type, None, alert.to_json())])

    def _end_alert(self, watch_id: int) -> bool:
        """Clear the watch's alert; True if it had one (so a "recovered" message is due)."""
        cursor = self.db.execute(
            "UPDATE watches SET alerted_at = NULL WHERE id = ? AND alerted_at IS NOT NULL",
            [watch_id],
        )
        return cursor.rowcount == 1

    def _delivery_rows(self, where: str, params: list[Any]) -> list[DeliveryRow]:
        cursor = self.db.execute(f"SELECT {self._DELIVERY_COLUMNS} {where}", params)
        rows = []
        for row in cursor.fetchall():
            values = list(row)
            # urls_done: almost always empty (a webhook never has any, Apprise only mid-retry)
            values[-1] = [] if values[-1] == "[]" else json.loads(values[-1])
            rows.append(DeliveryRow(*values))
        return rows

    def due_deliveries(
        self, now: str, limit: int = 500, *, notifier: str | None = None
    ) -> list[DeliveryRow]:
        """Pending rows whose next attempt has come, oldest first (only `notifier`'s, if named)."""
        # The ids first (from the index alone), then the bodies of just those: ordering the
        # joined rows would carry every due row's body through the sort, for a page of them.
        only = "" if notifier is None else " AND notifier = ?"
        return self._delivery_rows(
            "WHERE d.id IN (SELECT id FROM deliveries WHERE state = 'pending'"
            f" AND next_attempt_at <= ?{only} ORDER BY id LIMIT ?) ORDER BY d.id",
            [now, limit] if notifier is None else [now, notifier, limit],
        )

    def pending_notifiers(self) -> dict[str, str]:
        """Each notifier with pending deliveries -> when its earliest one is due."""
        cursor = self.db.execute(
            "SELECT notifier, MIN(next_attempt_at) FROM deliveries WHERE state = 'pending'"
            " GROUP BY notifier"
        )
        return {name: str(due) for name, due in cursor.fetchall()}

    def deliveries(self, *, show: str = "all", limit: int = 50) -> list[DeliveryRow]:
        """The newest `limit` rows, oldest first. `show`: all, failed (the last attempt
        failed: retrying or dead) or dead."""
        where = {
            "all": "",
            "failed": "WHERE (d.state = 'pending' AND d.last_error IS NOT NULL)"
            " OR d.state = 'dead'",
            "dead": "WHERE d.state = 'dead'",
        }[show]
        rows = self._delivery_rows(f"{where} ORDER BY d.id DESC LIMIT ?", [limit])
        return rows[::-1]

    def record_attempts(self, attempts: Iterable[tuple[Iterable[int], AttemptRecord]]) -> None:
        """The outcomes of several attempts (no row in two of them) in one transaction: the
        dispatcher marks its successful webhook sends in batches."""
        params = []
        # Plain successes (no Apprise URLs to remember) of one second and status take one
        # statement for all their rows: less than half the cost of a statement per row.
        delivered: dict[tuple[str, int | None], list[int]] = {}
        for ids, record in attempts:
            if record.state == "delivered" and not record.urls_done:
                delivered.setdefault((record.attempted_at, record.status), []).extend(ids)
                continue
            done = json.dumps(record.urls_done)
            params += [
                (
                    record.state,
                    record.attempted_at,
                    record.status,
                    None if record.error is None else redact(record.error),
                    done,
                    record.next_attempt_at,
                    record.state,
                    record.attempted_at,
                    delivery_id,
                )
                for delivery_id in ids
            ]
        if not params and not delivered:
            return
        conn = self.db.conn
        with self.transaction():
            conn.executemany(
                "UPDATE deliveries SET state = ?, attempts = attempts + 1, last_attempt_at = ?,"
                " last_status = ?, last_error = ?, urls_done = ?,"
                " next_attempt_at = COALESCE(?, next_attempt_at),"
                " delivered_at = CASE WHEN ? = 'delivered' THEN ? END WHERE id = ?",
                params,
            )
            for (at, status), marked in delivered.items():
                for start in range(0, len(marked), 500):
                    chunk = marked[start : start + 500]
                    conn.execute(
                        "UPDATE deliveries SET state = 'delivered', attempts = attempts + 1,"
                        " last_attempt_at = ?, last_status = ?, last_error = NULL,"
                        " urls_done = '[]', delivered_at = ?"
                        f" WHERE id IN ({', '.join('?' * len(chunk))})",
                        [at, status, at, *chunk],
                    )

    def bury(self, ids: Iterable[int], error: str) -> None:
        """Dead without an attempt: its notifier is gone from the config, or disabled."""
        self.db.conn.executemany(
            "UPDATE deliveries SET state = 'dead', last_error = ? WHERE id = ?",
            [(redact(error), delivery_id) for delivery_id in ids],
        )

    def postpone(self, ids: Iterable[int], until: str) -> None:
        """Not attempted now (its receiver just failed another delivery); not an attempt."""
        self.db.conn.executemany(
            "UPDATE deliveries SET next_attempt_at = ? WHERE id = ? AND state = 'pending'",
            [(until, delivery_id) for delivery_id in ids],
        )

    def requeue(self, ids: Iterable[int], now: str) -> list[int]:
        """Due now with a fresh retry schedule; the ids that exist. A delivered row is sent
        again in full; a dead or pending one only to the Apprise URLs that lack it."""
        found: list[int] = []
        with self.transaction():
            for delivery_id in ids:
                cursor = self.db.execute(
                    "UPDATE deliveries SET state = 'pending', attempts = 0, next_attempt_at = ?,"
                    " urls_done = CASE WHEN state = 'delivered' THEN '[]' ELSE urls_done END,"
                    " delivered_at = NULL WHERE id = ?",
                    [now, delivery_id],
                )
                if cursor.rowcount:
                    found.append(delivery_id)
        return found

    def requeue_dead(self, now: str) -> int:
        cursor = self.db.execute(
            "UPDATE deliveries SET state = 'pending', attempts = 0, next_attempt_at = ?"
            " WHERE state = 'dead'",
            [now],
        )
        return int(cursor.rowcount)

    def delivery_counts(self) -> dict[str, dict[str, int]]:
        """Per notifier: pending, retrying (pending after a failure), dead, delivered."""
        cursor = self.db.execute(
            "SELECT notifier, state, last_error IS NOT NULL AND state = 'pending', COUNT(*)"
            " FROM deliveries GROUP BY 1, 2, 3"
        )
        counts: dict[str, dict[str, int]] = {}
        for notifier, state, retrying, count in cursor.fetchall():
            per = counts.setdefault(notifier, dict.fromkeys(DELIVERY_COUNTS, 0))
            per[state] += int(count)
            if retrying:
                per["retrying"] += int(count)
        return counts

    def disable_notifier(self, name: str, at: str, reason: str) -> None:
        self.db.execute(
            "INSERT INTO notifier_state (name, disabled_at, disabled_reason) VALUES (?, ?, ?)"
            " ON CONFLICT(name) DO UPDATE SET disabled_at = excluded.disabled_at,"
            " disabled_reason = excluded.disabled_reason",
            [name, at, redact(reason)],
        )

    def enable_notifier(self, name: str) -> bool:
        """True if the notifier was disabled."""
        cursor = self.db.execute(
            "DELETE FROM notifier_state WHERE name = ? AND disabled_at IS NOT NULL", [name]
        )
        return cursor.rowcount == 1

    def disabled_notifiers(self) -> dict[str, tuple[str, str]]:
        """Disabled notifiers: name -> (since, reason)."""
        cursor = self.db.execute(
            "SELECT name, disabled_at, COALESCE(disabled_reason, '') FROM notifier_state"
            " WHERE disabled_at IS NOT NULL"
        )
        return {name: (at, reason) for name, at, reason in cursor.fetchall()}

    # -- events ---------------------------------------------------------------------------

    def events(
        self,
        *,
        account: str | None = None,
        type_prefix: str | None = None,
        since: str | None = None,
        limit: int | None = None,
        after_seq: int = 0,
    ) -> list[EventRow]:
        where = ["seq > ?"]
        params: list[Any] = [after_seq]
        if account:
            where.append("(account_id = ? OR lower(account_handle) = lower(?))")
            params += [account, account]
        if type_prefix:
            where.append("(type = ? OR type LIKE ?)")
            params += [type_prefix, type_prefix.rstrip(".") + ".%"]
        if since:
            where.append("timestamp >= ?")
            params.append(since)
        sql = (
            "SELECT seq, id, type, timestamp, account_handle, body FROM events"
            f" WHERE {' AND '.join(where)} ORDER BY seq"
        )
        if limit is not None:
            # The newest `limit` events, still printed oldest first.
            sql = f"SELECT * FROM ({sql.replace('ORDER BY seq', 'ORDER BY seq DESC')} LIMIT ?)"
            sql += " ORDER BY seq"
            params.append(limit)
        return [EventRow(*row) for row in self.db.execute(sql, params).fetchall()]

    def event_count(self) -> int:
        return int(self.db.execute("SELECT COUNT(*) FROM events").fetchone()[0])

    # -- tokens ---------------------------------------------------------------------------
    # One OAuth token per platform, shared by every poll and every process. Getting a new one
    # is rationed by the platform, so a process first takes a lease (a committed row, never a
    # transaction held open across the HTTP request, which would stall every other writer),
    # fetches, then saves the token and drops its lease in one transaction. Other processes
    # wait for the saved token; a lease whose holder died simply runs out.

    def token(self, platform: str) -> StoredToken | None:
        row = self.db.execute(
            "SELECT access_token, refresh_token, expires_at, obtained_at, grants FROM tokens"
            " WHERE platform = ?",
            [platform],
        ).fetchone()
        return None if row is None else StoredToken(row[0], row[1], row[2], row[3], int(row[4]))

    def claim_token_lease(self, platform: str, holder: str, now: str, until: str) -> bool:
        """Take (or extend) the lease to fetch `platform`'s next token; False while another
        holder's lease runs (until > now)."""
        with self.transaction():
            cursor = self.db.execute(
                "INSERT INTO token_leases (platform, holder, until) VALUES (?, ?, ?)"
                " ON CONFLICT(platform) DO UPDATE SET holder = excluded.holder,"
                " until = excluded.until"
                " WHERE token_leases.holder = excluded.holder OR token_leases.until <= ?",
                [platform, holder, until, now],
            )
            return cursor.rowcount == 1

    def release_token_lease(self, platform: str, holder: str) -> None:
        self.db.execute(
            "DELETE FROM token_leases WHERE platform = ? AND holder = ?", [platform, holder]
        )

    def save_token(self, platform: str, token: StoredToken, holder: str) -> None:
        """Store a newly granted token (counting the grant) and drop `holder`'s lease."""
        with self.transaction():
            self.db.execute(
                "INSERT INTO tokens (platform, access_token, refresh_token, expires_at,"
                " obtained_at, grants) VALUES (?, ?, ?, ?, ?, 1)"
                " ON CONFLICT(platform) DO UPDATE SET access_token = excluded.access_token,"
                " refresh_token = excluded.refresh_token, expires_at = excluded.expires_at,"
                " obtained_at = excluded.obtained_at, grants = tokens.grants + 1",
                [
                    platform,
                    token.access_token,
                    token.refresh_token,
                    token.expires_at,
                    token.obtained_at,
                ],
            )
            self.release_token_lease(platform, holder)

    # A hold (the `<platform>/hold` row of token_leases) stops 401-driven renewals for a
    # while after a brand-new token was refused too: that refusal is not about the token, and
    # asking again on every poll of every process would spend the platform's token ration.

    def hold_token_renewals(self, platform: str, until: str) -> None:
        self.db.execute(
            "INSERT INTO token_leases (platform, holder, until) VALUES (?, 'hold', ?)"
            " ON CONFLICT(platform) DO UPDATE SET until = excluded.until",
            [f"{platform}/hold", until],
        )

    def token_renewals_held_until(self, platform: str, now: str) -> str | None:
        """When a running hold on 401-driven renewals ends; None when there is none."""
        row = self.db.execute(
            "SELECT until FROM token_leases WHERE platform = ? AND until > ?",
            [f"{platform}/hold", now],
        ).fetchone()
        return None if row is None else str(row[0])

    # -- health ---------------------------------------------------------------------------
    # Read by `watcher status`, /healthz and /metrics. Each tolerates a database whose schema
    # lacks the table (None), so health reporting never depends on a feature being present.

    def _has_table(self, name: str) -> bool:
        row = self.db.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", [name]
        ).fetchone()
        return row is not None

    def delivery_states(self) -> dict[str, int] | None:
        """Deliveries by state (pending, delivered, dead); None without an outbox table."""
        if not self._has_table("deliveries"):
            return None
        cursor = self.db.execute("SELECT state, COUNT(*) FROM deliveries GROUP BY state")
        return {state: int(count) for state, count in cursor.fetchall()}

    def tokens_health(self) -> list[TokenHealth] | None:
        """Each platform's stored token expiry and grant count (never the token itself)."""
        if not self._has_table("tokens"):
            return None
        cursor = self.db.execute(
            "SELECT platform, expires_at, grants FROM tokens ORDER BY platform"
        )
        return [TokenHealth(row[0], row[1], int(row[2])) for row in cursor.fetchall()]

    def file_path(self) -> str:
        """The database file ('' for an in-memory database)."""
        for _, name, file in self.db.execute("PRAGMA database_list").fetchall():
            if name == "main":
                return str(file or "")
        return ""


@dataclass(frozen=True, slots=True)
class TokenHealth:
    platform: str
    expires_at: str
    grants: int


def probe_writable(path: str, timeout: float = 2.0) -> str | None:
    """None when a write transaction can start on `path` now; else why not, in one line.

    Uses a connection of its own (so it may run in a worker thread) and writes nothing:
    `BEGIN IMMEDIATE` takes the write lock, which fails on a read-only file, a vanished
    folder or a lock held too long by someone else.
    """
    if not path:
        return None
    try:
        uri = f"{Path(path).resolve().as_uri()}?mode=rw"  # rw: never create a missing file
        conn = sqlite3.connect(uri, uri=True, timeout=timeout)
    except sqlite3.Error as exc:
        return f"database not writable: {exc}"
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("ROLLBACK")
    except sqlite3.Error as exc:
        # Locked is passing (another process writes); the rest needs someone to act.
        if database_problems.is_locked(exc):
            return "database locked"
        return f"database not writable: {exc}"
    finally:
        conn.close()
    return None


def _prefixed(prefix: str) -> str:
    return ", ".join(prefix + column for column in _PROFILE_COLUMNS.split(", "))


def _profile_fields(p: Profile) -> tuple[Any, ...]:
    """A profile's columns after its id, as `accounts` and the scratch tables store them."""
    return (
        p.handle,
        p.name,
        p.url,
        p.follower_count,
        p.following_count,
        int(p.is_verified),
        int(p.deactivated),
    )


def _profile_row(row: Sequence[Any]) -> Profile:
    return Profile(row[0], row[1], row[2], row[3], row[4], row[5], bool(row[6]), bool(row[7]))


class ScratchMembers:
    """One poll's listing (the `Members` of platforms/base.py): a dict while the list is small,
    a temporary table once it passes `memory_limit` entries.

    A dict costs about 0.3 us an entry, a table row about 12 us, so lists of ordinary size
    stay fast; a list of a million followers moves to a temporary table beside the
    connection, which costs SQLite's page cache rather than Python objects, so memory stays
    flat however long the list.
    """

    def __init__(self, conn: sqlite3.Connection, table: str, memory_limit: int = 50_000) -> None:
        self._conn = conn
        self.table = table
        self.memory: MemoryMembers | None = MemoryMembers()
        self._memory_limit = memory_limit
        self._inserts: dict[int, str] = {}
        self._round = 0

    def begin_round(self) -> None:
        self._round += ROUND

    def add_page(self, page: Sequence[Profile], pass_number: int) -> list[Profile]:
        number = self._round + pass_number
        if self.memory is not None:
            repeats = self.memory.add_page(page, number)
            if len(self.memory) > self._memory_limit:
                self._spill(self.memory)
            return repeats
        return self._add_rows(page, number)

    def note(self, entries: Sequence[Profile]) -> None:
        if self.memory is not None:
            self.memory.note(entries)
            if len(self.memory) > self._memory_limit:
                self._spill(self.memory)
            return
        self._conn.executemany(
            f"INSERT INTO temp.{self.table} (id, pass, handle, name, url, follower_count,"
            " following_count, is_verified, deactivated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT(id) DO NOTHING",
            [(p.id, NOTED, *_profile_fields(p)) for p in entries],
        )

    def _spill(self, memory: MemoryMembers) -> None:
        """Move what the dict holds into the table; from now on pages go to the table."""
        self._conn.execute(
            f"CREATE TEMP TABLE {self.table} (id TEXT PRIMARY KEY, pass INTEGER NOT NULL,"
            " handle TEXT, name TEXT, url TEXT, follower_count INTEGER,"
            " following_count INTEGER, is_verified INTEGER, deactivated INTEGER)"
        )
        self._conn.execute("BEGIN")
        try:
            self._conn.executemany(
                f"INSERT INTO temp.{self.table} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (p.id, memory.pass_of(p.id), *_profile_fields(p))
                    for p in memory.profiles.values()
                ],
            )
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")
        self.memory = None

    def _insert_sql(self, rows: int) -> str:
        sql = self._inserts.get(rows)
        if sql is None:
            values = ", ".join(["(?, ?, ?, ?, ?, ?, ?, ?, ?)"] * rows)
            sql = (
                f"INSERT INTO temp.{self.table} (id, pass, handle, name, url, follower_count,"
                f" following_count, is_verified, deactivated) VALUES {values}"
                " ON CONFLICT(id) DO UPDATE SET pass = excluded.pass"
                f" WHERE {self.table}.pass != excluded.pass RETURNING id"
            )
            self._inserts[rows] = sql
        return sql

    def _add_rows(self, page: Sequence[Profile], pass_number: int) -> list[Profile]:
        if not page:
            return []
        rows = [(p.id, pass_number, *_profile_fields(p)) for p in page]
        # RETURNING names the rows inserted or moved to this pass: the rest repeat it.
        params = [value for row in rows for value in row]
        fresh = [row[0] for row in self._conn.execute(self._insert_sql(len(page)), params)]
        return _unclaimed(page, fresh)

    def __len__(self) -> int:
        if self.memory is not None:
            return len(self.memory)
        row = self._conn.execute(f"SELECT COUNT(*) FROM temp.{self.table}").fetchone()
        return int(row[0])

    def __contains__(self, account_id: object) -> bool:
        if self.memory is not None:
            return account_id in self.memory
        row = self._conn.execute(
            f"SELECT 1 FROM temp.{self.table} WHERE id = ?", [account_id]
        ).fetchone()
        return row is not None

    def ids_with_follower_count(self, count: int | None) -> set[str]:
        if self.memory is not None:
            return self.memory.ids_with_follower_count(count)
        if count is None:
            sql = f"SELECT id FROM temp.{self.table} WHERE follower_count IS NULL"
            return {row[0] for row in self._conn.execute(sql)}
        sql = f"SELECT id FROM temp.{self.table} WHERE follower_count = ?"
        return {row[0] for row in self._conn.execute(sql, [count])}

    def drop(self) -> None:
        if self.memory is None:
            self._conn.execute(f"DROP TABLE IF EXISTS temp.{self.table}")
        self.memory = None


def _unclaimed(page: Sequence[Profile], fresh: list[str]) -> list[Profile]:
    """The entries of `page` not accounted for by `fresh` (ids the page added): its repeats."""
    unclaimed = set(fresh)
    repeats = []
    for entry in page:
        if entry.id in unclaimed:
            unclaimed.discard(entry.id)
        else:
            repeats.append(entry)
    return repeats
