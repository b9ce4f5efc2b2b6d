"""Opening the database: the file, its connection settings and its schema.

`Store` is the one entry point: it opens (creating and migrating as needed) and hands out
one part per table family, so each caller names the family it uses (`store.outbox.due`).
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import sqlite_utils

from watcher import database_problems
from watcher.errors import ConfigError, DatabaseProblem
from watcher.store import schema
from watcher.store.base import transaction
from watcher.store.events import Events
from watcher.store.leases import PollLeases
from watcher.store.listings import Listings
from watcher.store.memberships import Memberships
from watcher.store.notifiers import NotifierStates
from watcher.store.outbox import Outbox
from watcher.store.polls import PollParts, Polls
from watcher.store.profiles import Profiles
from watcher.store.quotas import Quotas
from watcher.store.signals import Signals
from watcher.store.slots import ConcurrencySlots
from watcher.store.tokens import Tokens
from watcher.store.watches import Watches

_WAL_RETRY_PAUSE = 0.02


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
    """The database, and its table families as parts (`watches`, `leases`, `listings`,
    `memberships`, `profiles`, `events`, `outbox`, `notifiers`, `tokens`, `quotas`,
    `signals`, and `polls`, which records a poll across them in one transaction)."""

    def __init__(
        self, db: sqlite_utils.Database, *, path: Path | str = "", patience: float = PATIENCE
    ) -> None:
        self.db = db
        self.path = path  # named by the one line a locked or damaged database becomes
        self.patience = patience  # seconds a lock held by another process is waited for
        self.watches = Watches(db)
        self.leases = PollLeases(db)
        self.listings = Listings(db)
        self.memberships = Memberships(db)
        self.profiles = Profiles(db)
        self.events = Events(db)
        self.outbox = Outbox(db)
        self.notifiers = NotifierStates(db)
        self.tokens = Tokens(db)
        self.quotas = Quotas(db)
        self.slots = ConcurrencySlots(db)
        self.signals = Signals(db)
        parts = PollParts(
            self.watches,
            self.leases,
            self.listings,
            self.profiles,
            self.events,
            self.outbox,
            self.signals,
        )
        self.polls = Polls(db, parts)

    @classmethod
    def open(
        cls,
        path: Path | str,
        *,
        patience: float = PATIENCE,
        sliced: bool = False,
        migrations: Sequence[schema.Migration] = schema.MIGRATIONS,
    ) -> Store:
        """Open (creating and migrating as needed), waiting up to `patience` for locks.

        `sliced`: the connection is used from an event loop, so each statement waits at
        most LOCK_SLICE for a lock; callers on the loop wait out the rest of `patience`
        with `lock_wait.patiently`, which keeps the loop free meanwhile.
        """
        path = Path(path)
        conn = _connect(path, patience)
        try:
            db = sqlite_utils.Database(conn)
            schema.migrate(db, migrations)
            if sliced:
                conn.execute(f"PRAGMA busy_timeout = {int(LOCK_SLICE * 1000)}")
            return cls(db, path=path, patience=patience)  # the parts read the schema
        except sqlite3.Error as exc:
            conn.close()
            raise database_problems.problem(path, exc) from None

    @classmethod
    def open_read_only(cls, path: Path | str) -> Store:
        """A connection that cannot write, for readers beside the writers (the web routes):
        nothing is created or migrated, and a database at another schema version than this
        watcher's is refused (its queries would meet missing tables or columns)."""
        path = Path(path)
        try:
            conn = sqlite3.connect(
                f"{path.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None
            )
        except sqlite3.Error as exc:
            raise database_problems.problem(path, exc) from None
        try:
            conn.execute("PRAGMA query_only = ON")
            db = sqlite_utils.Database(conn)
            _require_version(path, schema.version(db), len(schema.MIGRATIONS))
            return cls(db, path=path)
        except sqlite3.Error as exc:
            conn.close()
            raise database_problems.problem(path, exc) from None
        except DatabaseProblem:
            conn.close()
            raise

    def close(self) -> None:
        self.db.conn.close()

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """One read transaction: every query inside sees the database as of its first one,
        whatever commits meanwhile (a page's counts and its rows agree)."""
        conn = self.db.conn
        conn.execute("BEGIN")
        try:
            yield
        finally:
            conn.execute("COMMIT")

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with transaction(self.db):
            yield

    @property
    def version(self) -> int:
        return schema.version(self.db)

    def migrate(self, migrations: Sequence[schema.Migration] = schema.MIGRATIONS) -> None:
        schema.migrate(self.db, migrations)

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

    def file_path(self) -> str:
        """The database file ('' for an in-memory database)."""
        for _, name, file in self.db.execute("PRAGMA database_list").fetchall():
            if name == "main":
                return str(file or "")
        return ""


def _require_version(path: Path, found: int, expected: int) -> None:
    if found < expected:
        raise DatabaseProblem(
            f"database {path} is at schema version {found}, older than this watcher reads"
            f" ({expected}): run `watcher once` to bring it up to date"
        )
    if found > expected:
        raise DatabaseProblem(
            f"database {path}: schema version {found} is newer than this watcher knows"
            f" ({expected}); upgrade watcher"
        )


def _connect(path: Path, patience: float) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit) with WAL on."""
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
    return conn


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
