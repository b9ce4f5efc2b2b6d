"""Notifier state: which notifiers are disabled (after a permanent refusal), since when, why."""

from __future__ import annotations

from watcher.redaction import redact
from watcher.store.base import Part


class NotifierStates(Part):
    TABLE = "notifier_state"

    def disable(self, name: str, at: str, reason: str) -> None:
        # Plain SQL, not `upsert`: the table API wraps each write in a transaction of its own,
        # and the dispatcher counts on one transaction per batch of marks.
        self.db.execute(
            "INSERT INTO notifier_state (name, disabled_at, disabled_reason) VALUES (?, ?, ?)"
            " ON CONFLICT(name) DO UPDATE SET disabled_at = excluded.disabled_at,"
            " disabled_reason = excluded.disabled_reason",
            [name, at, redact(reason)],
        )

    def enable(self, name: str) -> bool:
        """True if the notifier was disabled."""
        cursor = self.db.execute(
            "DELETE FROM notifier_state WHERE name = ? AND disabled_at IS NOT NULL", [name]
        )
        return cursor.rowcount == 1

    def disabled(self) -> dict[str, tuple[str, str]]:
        """Disabled notifiers: name -> (since, reason)."""
        rows = self.table.rows_where(
            "disabled_at IS NOT NULL",
            select="name, disabled_at, COALESCE(disabled_reason, '') AS reason",
        )
        return {row["name"]: (row["disabled_at"], row["reason"]) for row in rows}
