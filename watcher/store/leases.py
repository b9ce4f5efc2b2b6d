"""Poll leases and watch generations: one process polls a watch at a time, across processes.

Before polling, a process takes the watch's lease (a committed row, never a transaction held
open across the poll), renews it while the poll progresses and drops it when the poll is
recorded or given up. A holder that dies keeps the watch only until its lease runs out.
"""

from __future__ import annotations

from dataclasses import dataclass

from watcher.store.base import Part, transaction


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


class PollLeases(Part):
    TABLE = "poll_leases"

    def claim(
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
        with transaction(self.db):
            self.db.execute(
                "INSERT INTO poll_leases (watch_id, holder, pid, host, until)"
                " VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT(watch_id) DO UPDATE SET holder = excluded.holder,"
                " pid = excluded.pid, host = excluded.host, until = excluded.until"
                " WHERE poll_leases.holder IN (excluded.holder, ?) OR poll_leases.until < ?",
                [watch_id, holder, pid, host, until, dead_holder, now],
            )
            lease = self.get(watch_id)
        assert lease is not None
        return lease

    def renew(self, watch_id: int, holder: str, until: str) -> bool:
        """Extend `holder`'s lease to `until`; False when it is no longer `holder`'s."""
        cursor = self.db.execute(
            "UPDATE poll_leases SET until = ? WHERE watch_id = ? AND holder = ?",
            [until, watch_id, holder],
        )
        return cursor.rowcount == 1

    def release(self, watch_id: int, holder: str) -> None:
        self.db.execute(
            "DELETE FROM poll_leases WHERE watch_id = ? AND holder = ?", [watch_id, holder]
        )

    def get(self, watch_id: int) -> PollLeaseRow | None:
        """The watch's lease, expired or not, with the watch's current generation."""
        row = self.db.execute(
            "SELECT l.holder, l.pid, l.host, l.until, w.generation FROM poll_leases AS l"
            " JOIN watches AS w ON w.id = l.watch_id WHERE l.watch_id = ?",
            [watch_id],
        ).fetchone()
        return None if row is None else PollLeaseRow(row[0], int(row[1]), row[2], row[3], row[4])

    def generation(self, watch_id: int) -> int:
        """How many polls the watch has recorded: a poll started at another one is stale."""
        row = self.db.execute("SELECT generation FROM watches WHERE id = ?", [watch_id]).fetchone()
        return int(row[0])

    def holds(self, watch_id: int, lease: LeaseCheck) -> bool:
        """Inside a write transaction: the lease is still `lease.holder`'s (an expired one
        nobody took since counts: nobody else can have recorded a poll meanwhile) and the
        generation unchanged."""
        row = self.db.execute(
            "SELECT 1 FROM poll_leases AS l JOIN watches AS w ON w.id = l.watch_id"
            " WHERE l.watch_id = ? AND l.holder = ? AND w.generation = ?",
            [watch_id, lease.holder, lease.generation],
        ).fetchone()
        return row is not None

    def recorded(self, watch_id: int, lease: LeaseCheck | None) -> None:
        """Inside the transaction recording a poll: one generation more, and the poll's lease
        released with it."""
        self.db.execute("UPDATE watches SET generation = generation + 1 WHERE id = ?", [watch_id])
        if lease is not None:
            self.release(watch_id, lease.holder)
