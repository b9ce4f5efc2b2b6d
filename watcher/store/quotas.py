"""Request quotas and holds, per platform, shared by every process on this database.

A platform's requests are counted per calendar period in UTC (the month and the day), so a
`watcher once` from cron, the daemon and a manual run spend one quota together. A hold says
no request may go to a platform before a moment (a rate limit's reset time, a quota that
turns with the period), so every process waits it out instead of retrying in vain.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from watcher.clock import iso
from watcher.redaction import redact
from watcher.store.base import Part


@dataclass(frozen=True)
class QuotaUse:
    """Requests a platform was sent in the current UTC month and day."""

    month: int
    day: int


@dataclass(frozen=True)
class Hold:
    """No request goes to the platform before `until` (ISO time, UTC), because of `reason`."""

    until: str
    reason: str


def month_key(now: datetime) -> str:
    return "month:" + now.astimezone(UTC).strftime("%Y-%m")


def day_key(now: datetime) -> str:
    return "day:" + now.astimezone(UTC).strftime("%Y-%m-%d")


class Quotas(Part):
    TABLE = "quota_usage"

    def count(self, platform: str, requests: int, now: datetime) -> None:
        """Add `requests` to the platform's month and day. Plain SQL: an upsert that adds."""
        if requests <= 0:
            return
        for period in (month_key(now), day_key(now)):
            self.db.execute(
                "INSERT INTO quota_usage (platform, period, used) VALUES (?, ?, ?)"
                " ON CONFLICT(platform, period) DO UPDATE SET used = used + excluded.used",
                [platform, period, requests],
            )

    def used(self, platform: str, now: datetime) -> QuotaUse:
        month, day = month_key(now), day_key(now)
        rows = self.db.execute(
            "SELECT period, used FROM quota_usage WHERE platform = ? AND period IN (?, ?)",
            [platform, month, day],
        ).fetchall()
        found = dict(rows)
        return QuotaUse(month=int(found.get(month, 0)), day=int(found.get(day, 0)))

    def hold(self, platform: str, until: datetime, reason: str) -> None:
        """No request to `platform` before `until`; a later hold replaces an earlier one,
        never the other way round."""
        self.db.execute(
            "INSERT INTO platform_holds (platform, until, reason) VALUES (?, ?, ?)"
            " ON CONFLICT(platform) DO UPDATE SET until = excluded.until, reason = excluded.reason"
            " WHERE excluded.until > platform_holds.until",
            [platform, iso(until), redact(reason)],
        )

    def held(self, platform: str, now: datetime) -> Hold | None:
        """The hold on `platform` still in force at `now`, if any."""
        row = self.db.execute(
            "SELECT until, reason FROM platform_holds WHERE platform = ? AND until > ?",
            [platform, iso(now)],
        ).fetchone()
        return Hold(row[0], row[1]) if row else None
