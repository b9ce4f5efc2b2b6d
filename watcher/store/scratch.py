"""One poll's listing while it is read: a dict, or a temporary table once it grows long."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from watcher.platforms.base import NOTED, ROUND, MemoryMembers, Profile
from watcher.store.profiles import profile_fields


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
            [(p.id, NOTED, *profile_fields(p)) for p in entries],
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
                    (p.id, memory.pass_of(p.id), *profile_fields(p))
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
        rows = [(p.id, pass_number, *profile_fields(p)) for p in page]
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
