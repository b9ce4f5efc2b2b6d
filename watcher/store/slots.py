"""`max_concurrent` across every process on one database: leased concurrency slots.

A platform has `max_concurrent` slots (rows numbered 0..n-1). A process holds a slot while
it has requests to send, renews its lease while it holds it, and gives it back when idle;
a process that dies keeps its slots only until their leases run out (or not even that long:
a holder of this host whose pid is gone is taken over, as for poll leases). Times are
CLOCK_MONOTONIC, the same in every process of this machine, like the shared pace's.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from watcher.store.base import Part, transaction

# A lease ending further ahead than this was written before a reboot reset the clock.
_ABSURD = 3600.0


@dataclass(frozen=True, slots=True)
class SlotHolder:
    """Who holds one of a platform's slots: a holder id, and a pid and host to name it."""

    holder: str
    pid: int
    host: str


class ConcurrencySlots(Part):
    TABLE = "platform_slots"

    def claim(
        self,
        platform: str,
        limit: int,
        holder: SlotHolder,
        now: float,
        until: float,
        *,
        dead_holders: tuple[str, ...] = (),
    ) -> int | None:
        """One more of the platform's `limit` slots for `holder` until `until`, or None while
        the live ones (not expired, not of `dead_holders`) already number `limit`.

        A read decides first, so a process waiting for a slot writes nothing until one frees.
        """
        if self._live(platform, now, dead_holders) >= limit:
            return None
        with transaction(self.db):
            if self._live(platform, now, dead_holders) >= limit:
                return None
            taken = {
                int(row[0])
                for row in self.db.execute(
                    f"SELECT slot FROM platform_slots WHERE platform = ? AND {_LIVE}",
                    [platform, now, now + _ABSURD, *_dead(dead_holders)],
                ).fetchall()
            }
            slot = min(n for n in range(limit + len(taken)) if n not in taken)
            self.db.execute(
                "INSERT INTO platform_slots (platform, slot, holder, pid, host, until)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(platform, slot) DO UPDATE SET"
                " holder = excluded.holder, pid = excluded.pid, host = excluded.host,"
                " until = excluded.until",
                [platform, slot, holder.holder, holder.pid, holder.host, until],
            )
        return slot

    def renew(self, platform: str, slots: list[int], holder: str, until: float) -> list[int]:
        """Extend `holder`'s leases on `slots` to `until`; the ones it still held."""
        kept = []
        with transaction(self.db):
            for slot in slots:
                cursor = self.db.execute(
                    "UPDATE platform_slots SET until = ?"
                    " WHERE platform = ? AND slot = ? AND holder = ?",
                    [until, platform, slot, holder],
                )
                if cursor.rowcount == 1:
                    kept.append(slot)
        return kept

    def release(self, platform: str, slots: list[int], holder: str) -> None:
        with transaction(self.db):
            for slot in slots:
                self.db.execute(
                    "DELETE FROM platform_slots WHERE platform = ? AND slot = ? AND holder = ?",
                    [platform, slot, holder],
                )

    def holders(self, platform: str, now: float) -> list[SlotHolder]:
        """The holders of the platform's live slots (to find one that is gone)."""
        rows = self.db.execute(
            "SELECT DISTINCT holder, pid, host FROM platform_slots"
            " WHERE platform = ? AND until >= ? AND until < ?",
            [platform, now, now + _ABSURD],
        ).fetchall()
        return [SlotHolder(row[0], int(row[1]), row[2]) for row in rows]

    def _live(self, platform: str, now: float, dead_holders: tuple[str, ...]) -> int:
        row = self.db.execute(
            f"SELECT COUNT(*) FROM platform_slots WHERE platform = ? AND {_LIVE}",
            [platform, now, now + _ABSURD, *_dead(dead_holders)],
        ).fetchone()
        return int(row[0])


# A slot counts while its lease runs and its holder is not known to be gone (the gone ones
# passed as one JSON list).
_LIVE = "until >= ? AND until < ? AND holder NOT IN (SELECT value FROM json_each(?))"


def _dead(dead_holders: tuple[str, ...]) -> list[str]:
    return [json.dumps(list(dead_holders))]
