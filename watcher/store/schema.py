"""The schema: ordered migrations, each run once in its own transaction.

`PRAGMA user_version` counts the migrations a database has had, so an existing database
opens unchanged and a newer one is refused rather than misread.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import sqlite_utils

from watcher.errors import DatabaseProblem
from watcher.store.base import transaction

Migration = Callable[[sqlite_utils.Database], None]


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


def _v5_quotas(db: sqlite_utils.Database) -> None:
    _script(
        db,
        """
        CREATE TABLE quota_usage (
            platform TEXT NOT NULL,
            period TEXT NOT NULL,
            used INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (platform, period)
        );
        CREATE TABLE platform_holds (
            platform TEXT PRIMARY KEY,
            until TEXT NOT NULL,
            reason TEXT NOT NULL
        );
        """,
    )


def _v6_counts_check(db: sqlite_utils.Database) -> None:
    """What a counts check (`check = "counts"`) compares with, kept per poll of the watch.

    `polls.relation_count` is the watched relation's count as the account's profile showed it
    when the poll started; `polls.counts_only` marks a poll that read only that profile. Kept
    with the poll rather than in `accounts`: that row is refreshed by any watch whose list or
    events show the account, so it is no record of what this watch's last list read saw.
    """
    _script(
        db,
        """
        ALTER TABLE polls ADD COLUMN relation_count INTEGER;
        ALTER TABLE polls ADD COLUMN counts_only INTEGER NOT NULL DEFAULT 0;
        """,
    )


def _v7_shared_pace(db: sqlite_utils.Database) -> None:
    """The shared request pace per platform and the quota alerts already sent (one per
    platform and period, whichever process noticed first)."""
    _script(
        db,
        """
        CREATE TABLE platform_pace (
            platform TEXT PRIMARY KEY,
            next_free REAL NOT NULL
        );
        CREATE TABLE quota_alerts (
            platform TEXT NOT NULL,
            period TEXT NOT NULL,
            sent_at TEXT NOT NULL,
            PRIMARY KEY (platform, period)
        );
        """,
    )


def _v8_concurrency_slots(db: sqlite_utils.Database) -> None:
    """`max_concurrent` shared by every process: a row per platform slot leased (slots.py)."""
    _script(
        db,
        """
        CREATE TABLE platform_slots (
            platform TEXT NOT NULL,
            slot INTEGER NOT NULL,
            holder TEXT NOT NULL,
            pid INTEGER NOT NULL,
            host TEXT NOT NULL,
            until REAL NOT NULL,
            PRIMARY KEY (platform, slot)
        );
        """,
    )


def _v9_membership_history(db: sqlite_utils.Database) -> None:
    """Who was in each list when: a member's current period starts at `edges.joined_at`, and
    each ended period is a `past_members` row (memberships.py). `accounts.counted_on` is the
    UTC day a member's counts were last written (profiles.py writes them once a day at most).

    A database from before this history starts it at its watches' baselines, refined by the
    events it kept: a member followed after the baseline joined at its follow event, and each
    unfollow event closes a period that began at the follow before it (or the baseline).
    """
    _script(
        db,
        """
        ALTER TABLE edges ADD COLUMN joined_at TEXT;
        CREATE TABLE past_members (
            watch_id INTEGER NOT NULL,
            target_id TEXT NOT NULL,
            joined_at TEXT NOT NULL,
            left_at TEXT NOT NULL
        );
        CREATE INDEX past_members_by_target ON past_members (watch_id, target_id);
        ALTER TABLE accounts ADD COLUMN counted_on TEXT;
        CREATE INDEX events_by_target ON events (watch_id, target_id, seq);
        """,
    )
    # The follow that began each member's current period, else the baseline.
    db.execute(
        "UPDATE edges SET joined_at = COALESCE("
        " (SELECT MAX(e.timestamp) FROM events AS e WHERE e.watch_id = edges.watch_id"
        "  AND e.target_id = edges.target_id AND e.type LIKE '%.added'),"
        " (SELECT w.baseline_at FROM watches AS w WHERE w.id = edges.watch_id), edges.since)"
    )
    # Each unfollow ends a period that began at the latest follow before it, else the baseline.
    db.execute(
        "INSERT INTO past_members (watch_id, target_id, joined_at, left_at)"
        " SELECT r.watch_id, r.target_id, COALESCE("
        "  (SELECT MAX(a.timestamp) FROM events AS a WHERE a.watch_id = r.watch_id"
        "   AND a.target_id = r.target_id AND a.type LIKE '%.added' AND a.seq < r.seq),"
        "  (SELECT w.baseline_at FROM watches AS w WHERE w.id = r.watch_id), r.timestamp),"
        "  r.timestamp"
        " FROM events AS r WHERE r.type LIKE '%.removed'"
    )


def _v10_signals(db: sqlite_utils.Database) -> None:
    """Signals (`[[signal]]`): when each signal last fired for a target, so a target signals
    once per window; and the indexes that count follows per target (a signal, in the poll's
    transaction) and per period (`watcher trending`) without scanning the event log."""
    _script(
        db,
        """
        CREATE TABLE signal_state (
            signal TEXT NOT NULL,
            platform TEXT NOT NULL,
            target_id TEXT NOT NULL,
            signaled_at TEXT NOT NULL,
            event_id TEXT NOT NULL,
            PRIMARY KEY (signal, platform, target_id)
        ) WITHOUT ROWID;
        CREATE INDEX events_by_target_time ON events (target_id, timestamp);
        CREATE INDEX events_by_type_time ON events (type, timestamp);
        """,
    )


def _v11_polls_by_time(db: sqlite_utils.Database) -> None:
    """The dashboard's charts read a watch's polls of the last days (its size per day): an
    index by watch and start time reads just those, however long the watch's history."""
    _script(db, "CREATE INDEX polls_by_watch_time ON polls (watch_id, started_at);")


def _v12_members_by_joined(db: sqlite_utils.Database) -> None:
    """The dashboard pages a list of a million newest member first (memberships.page): an
    index of each watch's members by the start of their period reads a page from anywhere in
    the list without sorting it. Its cost (bench scenario 11): about 40 bytes a member, and a
    quiet poll writes no edge, so nothing to it."""
    _script(
        db,
        "CREATE INDEX edges_by_joined ON edges (watch_id, COALESCE(joined_at, since) DESC,"
        " target_id);",
    )


# Ordered migrations: index i brings the schema to version i + 1. Only ever append.
MIGRATIONS: list[Migration] = [
    _v1,
    _v2_outbox,
    _v3_tokens,
    _v4_honest_polls,
    _v5_quotas,
    _v6_counts_check,
    _v7_shared_pace,
    _v8_concurrency_slots,
    _v9_membership_history,
    _v10_signals,
    _v11_polls_by_time,
    _v12_members_by_joined,
]


def version(db: sqlite_utils.Database) -> int:
    row = db.execute("PRAGMA user_version").fetchone()
    return int(row[0])


def migrate(db: sqlite_utils.Database, migrations: Sequence[Migration] = MIGRATIONS) -> None:
    """Bring the schema to `len(migrations)`; several processes may start at once."""
    current = version(db)
    if current > len(migrations):
        raise DatabaseProblem(
            f"database: schema version {current} is newer than this watcher knows "
            f"({len(migrations)}); upgrade watcher"
        )
    while current < len(migrations):
        with transaction(db):
            # Re-read under the write lock: another process may have migrated meanwhile.
            current = version(db)
            if current < len(migrations):
                migrations[current](db)
                db.execute(f"PRAGMA user_version = {current + 1}")
                current += 1


def has_table(db: sqlite_utils.Database, name: str) -> bool:
    """Health reads tolerate a schema without a feature's table (see `Store.open`'s callers)."""
    return db.table(name).exists()
