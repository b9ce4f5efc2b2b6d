"""Watches: one row per configured watch, with the summary of its last poll."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from watcher.store.base import Part


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


_FIELDS = ", ".join(WatchRow.__slots__)


class Watches(Part):
    TABLE = "watches"

    def ensure(self, key: str, platform: str, account: str, relation: str, now: str) -> WatchRow:
        """The watch's row, created on its first poll (a key already stored is kept as is)."""
        self.table.insert(
            {
                "key": key,
                "platform": platform,
                "account": account,
                "relation": relation,
                "created_at": now,
            },
            ignore=True,
        )
        row = self.get(key)
        assert row is not None
        return row

    def get(self, key: str) -> WatchRow | None:
        rows = self._rows("key = ?", [key])
        return rows[0] if rows else None

    def all(self) -> list[WatchRow]:
        return self._rows(None, [])

    def _rows(self, where: str | None, params: list[Any]) -> list[WatchRow]:
        found = self.table.rows_where(where, params, select=_FIELDS, order_by="id")
        return [WatchRow(**row) for row in found]

    def handles(self) -> dict[str, str]:
        """The watched account's handle of each watch whose account a poll has resolved, by
        watch key (as its profile was last stored); watches never resolved are missing."""
        cursor = self.db.execute(
            "SELECT w.key, a.handle FROM watches w JOIN accounts a"
            " ON a.platform = w.platform AND a.id = w.account_id"
        )
        return {key: handle for key, handle in cursor.fetchall()}

    def handle_of(self, key: str) -> str | None:
        """The handle of one watch's account, once a poll has resolved it."""
        cursor = self.db.execute(
            "SELECT a.handle FROM watches w JOIN accounts a"
            " ON a.platform = w.platform AND a.id = w.account_id WHERE w.key = ?",
            [key],
        )
        row = cursor.fetchone()
        return None if row is None else str(row[0])

    def set_account_id(self, watch_id: int, account_id: str) -> None:
        self.db.execute("UPDATE watches SET account_id = ? WHERE id = ?", [account_id, watch_id])

    def plan_next_poll(self, key: str, at: str | None) -> None:
        """Record when the running daemon polls the watch next (None: no daemon plans it)."""
        self.db.execute("UPDATE watches SET next_poll_at = ? WHERE key = ?", [at, key])

    def planned_next_polls(self) -> dict[str, str]:
        """Every watch's next poll as a daemon last planned it, by key (those with one)."""
        cursor = self.db.execute(
            "SELECT key, next_poll_at FROM watches WHERE next_poll_at IS NOT NULL"
        )
        return {str(key): str(at) for key, at in cursor.fetchall()}

    def planned_next_poll(self, key: str) -> str | None:
        """When a daemon last said it polls the watch next (it may have stopped since)."""
        for row in self.table.rows_where("key = ?", [key], select="next_poll_at"):
            return row["next_poll_at"]  # type: ignore[no-any-return]
        return None

    # The summary columns, written inside the transaction that records a poll (see polls.py).

    def record_ok(
        self,
        watch_id: int,
        account_id: str,
        at: str,
        *,
        passes: int,
        pages: int,
        duration_ms: int,
        size: int,
        baseline: bool,
    ) -> None:
        """A successful poll: failures reset, and the baseline taken if this poll made it."""
        self.db.execute(
            "UPDATE watches SET account_id = ?, last_poll_at = ?, last_outcome = 'ok',"
            " last_error = NULL, last_passes = ?, last_pages = ?, last_duration_ms = ?,"
            " consecutive_failures = 0, size = ?,"
            " baseline_at = COALESCE(baseline_at, ?) WHERE id = ?",
            [
                account_id,
                at,
                passes,
                pages,
                duration_ms,
                size,
                at if baseline else None,
                watch_id,
            ],
        )

    def record_error(self, watch_id: int, at: str, error: str, duration_ms: int) -> None:
        self.db.execute(
            "UPDATE watches SET last_poll_at = ?, last_outcome = 'error', last_error = ?,"
            " last_duration_ms = ?, consecutive_failures = consecutive_failures + 1"
            " WHERE id = ?",
            [at, error, duration_ms, watch_id],
        )

    def start_alert(self, watch_id: int, at: str, alert_after: int) -> bool:
        """Mark the watch alerted if it has failed `alert_after` times in a row and has not
        alerted yet; True when this call did (so the one "failing" message of an outage is
        due). Decided here, in the transaction that counts the failure: one place, no race."""
        cursor = self.db.execute(
            "UPDATE watches SET alerted_at = ? WHERE id = ? AND alerted_at IS NULL"
            " AND consecutive_failures >= ?",
            [at, watch_id, alert_after],
        )
        return cursor.rowcount == 1

    def end_alert(self, watch_id: int) -> bool:
        """Clear the watch's alert; True if it had one (so a "recovered" message is due)."""
        cursor = self.db.execute(
            "UPDATE watches SET alerted_at = NULL WHERE id = ? AND alerted_at IS NOT NULL",
            [watch_id],
        )
        return cursor.rowcount == 1
