"""Edges (a watch's stored members and their states) and how a listing compares with them.

A poll's listing is streamed into `ScratchMembers` and compared with the stored edges in
SQL once it is a table, so a list of a million followers never sits in Python objects.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable

from watcher.platforms.base import Profile
from watcher.snapshot import HIDDEN, PRESENT, Absent, Comparison
from watcher.store.base import Part
from watcher.store.profiles import prefixed, profile_row
from watcher.store.scratch import ScratchMembers

_SCRATCH_NAMES = itertools.count(1)
# A new edge opens a membership period (`joined_at`); a change of state keeps it open.
_UPSERT_EDGE = (
    "INSERT INTO edges (watch_id, target_id, state, since, joined_at) VALUES (?, ?, ?, ?, ?)"
    " ON CONFLICT(watch_id, target_id) DO UPDATE SET state = excluded.state,"
    " since = CASE WHEN edges.state = excluded.state THEN edges.since ELSE excluded.since END"
)
# A deleted edge's period ends: it moves to `past_members` (memberships.py reads both).
_CLOSE_PERIOD = (
    "INSERT INTO past_members (watch_id, target_id, joined_at, left_at)"
    " SELECT watch_id, target_id, COALESCE(joined_at, since), ? FROM edges"
)


class Listings(Part):
    TABLE = "edges"

    def scratch(self, memory_limit: int = 50_000) -> ScratchMembers:
        """A fresh place for one poll's listing; `drop()` it when the poll ends."""
        return ScratchMembers(self.db.conn, f"listing_{next(_SCRATCH_NAMES)}", memory_limit)

    def compare(self, watch_id: int, members: ScratchMembers, recheck_before: str) -> Comparison:
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
            f"SELECT {prefixed('m.')}, e.state FROM temp.{members.table} AS m"
            " LEFT JOIN edges AS e ON e.watch_id = ? AND e.target_id = m.id"
            " WHERE e.state IS NULL OR e.state != 'present'",
            [watch_id],
        )
        return [(profile_row(row), row[8]) for row in cursor.fetchall()]

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

    def state_counts(self, watch_id: int) -> dict[str, int]:
        """How many of the watch's stored members are in each state."""
        cursor = self.db.execute(
            "SELECT state, COUNT(*) FROM edges WHERE watch_id = ? GROUP BY state", [watch_id]
        )
        return {str(state): int(count) for state, count in cursor.fetchall()}

    def apply(
        self,
        watch_id: int,
        now: str,
        set_state: dict[str, str],
        delete: Iterable[str],
        checked: Iterable[str],
    ) -> None:
        """What a poll's reconciliation decided, one bulk statement per kind of change."""
        conn = self.db.conn
        conn.executemany(
            _UPSERT_EDGE,
            [(watch_id, target, state, now, now) for target, state in set_state.items()],
        )
        self._remove(watch_id, now, list(delete))
        conn.executemany(
            "UPDATE edges SET checked_at = ? WHERE watch_id = ? AND target_id = ?",
            [(now, watch_id, target) for target in checked],
        )

    def adopt(self, watch_id: int, members: ScratchMembers, now: str, drop_absent: bool) -> None:
        """A first listing: every member becomes present; with `drop_absent` (a complete
        baseline) stored edges it lacks go."""
        memory = members.memory
        if memory is None:
            self._adopt_table(watch_id, members.table, now, drop_absent)
            return
        self.db.conn.executemany(
            _UPSERT_EDGE,
            [(watch_id, target_id, PRESENT, now, now) for target_id in memory.profiles],
        )
        if drop_absent:
            cursor = self.db.execute("SELECT target_id FROM edges WHERE watch_id = ?", [watch_id])
            self._remove(watch_id, now, [t for (t,) in cursor if t not in memory.profiles])

    def _remove(self, watch_id: int, now: str, targets: list[str]) -> None:
        """Delete edges, ending their membership periods at `now`."""
        conn = self.db.conn
        pairs = [(watch_id, target) for target in targets]
        conn.executemany(
            f"{_CLOSE_PERIOD} WHERE watch_id = ? AND target_id = ?",
            [(now, watch_id, target) for target in targets],
        )
        conn.executemany("DELETE FROM edges WHERE watch_id = ? AND target_id = ?", pairs)

    def _adopt_table(self, watch_id: int, table: str, now: str, drop_absent: bool) -> None:
        self.db.execute(
            "INSERT INTO edges (watch_id, target_id, state, since, joined_at)"
            f" SELECT ?, id, 'present', ?, ? FROM temp.{table} WHERE true"
            " ON CONFLICT(watch_id, target_id) DO UPDATE SET state = 'present',"
            " since = CASE WHEN edges.state = 'present' THEN edges.since ELSE excluded.since END",
            [watch_id, now, now],
        )
        if drop_absent:
            unlisted = f"watch_id = ? AND target_id NOT IN (SELECT id FROM temp.{table})"
            self.db.execute(f"{_CLOSE_PERIOD} WHERE {unlisted}", [now, watch_id])
            self.db.execute(f"DELETE FROM edges WHERE {unlisted}", [watch_id])
