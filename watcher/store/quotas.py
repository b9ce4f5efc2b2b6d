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
from watcher.store.base import Part, transaction

# A block never takes more than this share of what is left of a quota, so near the end of a
# period the requests claimed but not yet sent by one process are few (see `claim`).
_BLOCK_SHARE = 8


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


@dataclass(frozen=True)
class Limits:
    """A platform's quotas (0: none)."""

    per_month: int = 0
    per_day: int = 0


@dataclass(frozen=True)
class Grant:
    """Requests a claim granted, and the use it saw (granted ones included)."""

    granted: int
    use: QuotaUse


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

    def claim(self, platform: str, wanted: int, now: datetime, limits: Limits) -> Grant:
        """Up to `wanted` requests from the platform's month and day, counted at once and
        atomically (under the write lock), never past a limit: no process can overshoot.

        Near the end of a quota a block shrinks to an eighth of what is left, so what one
        process claimed but did not send yet cannot starve the others for long.
        """
        with transaction(self.db):
            use = self.used(platform, now)
            rooms = [
                limit - used
                for limit, used in ((limits.per_month, use.month), (limits.per_day, use.day))
                if limit > 0
            ]
            grant = wanted
            if rooms:
                room = min(rooms)
                grant = min(wanted, max(1, room // _BLOCK_SHARE)) if room > 0 else 0
            self.count(platform, grant, now)
        return Grant(grant, QuotaUse(use.month + grant, use.day + grant))

    def give_back(self, platform: str, requests: int, claimed_at: datetime) -> None:
        """Return requests claimed at `claimed_at` but never sent, to the periods they came
        from (a month that has turned since gets them back, not the new one)."""
        if requests <= 0:
            return
        with transaction(self.db):
            for period in (month_key(claimed_at), day_key(claimed_at)):
                self.db.execute(
                    "UPDATE quota_usage SET used = MAX(0, used - ?)"
                    " WHERE platform = ? AND period = ?",
                    [requests, platform, period],
                )

    def all_used(self, now: datetime) -> dict[str, QuotaUse]:
        """Every platform's use in the current month and day (for /metrics)."""
        month, day = month_key(now), day_key(now)
        found: dict[str, dict[str, int]] = {}
        for platform, period, used in self.db.execute(
            "SELECT platform, period, used FROM quota_usage WHERE period IN (?, ?)", [month, day]
        ).fetchall():
            found.setdefault(platform, {})[period] = int(used)
        return {
            name: QuotaUse(periods.get(month, 0), periods.get(day, 0))
            for name, periods in found.items()
        }

    def alert_once(self, platform: str, period: str, now: datetime) -> bool:
        """True for the first caller, in any process, to report `platform`'s `period`
        (a key like `month:2026-12`) spent; False for every later one."""
        cursor = self.db.execute(
            "INSERT OR IGNORE INTO quota_alerts (platform, period, sent_at) VALUES (?, ?, ?)",
            [platform, period, iso(now)],
        )
        return cursor.rowcount == 1

    def claim_pace(self, platform: str, span: float, now: float) -> float:
        """The start of `span` seconds of the platform's request pace that belong to the
        caller alone: each process claims the next free stretch, so their stretches never
        overlap. `now` is CLOCK_MONOTONIC (the same in every process of this machine); a
        stretch absurdly far ahead (a reboot reset the clock) is forgotten."""
        with transaction(self.db):
            row = self.db.execute(
                "SELECT next_free FROM platform_pace WHERE platform = ?", [platform]
            ).fetchone()
            start = now
            if row is not None and now < row[0] < now + 3600:
                start = row[0]
            self.db.execute(
                "INSERT INTO platform_pace (platform, next_free) VALUES (?, ?)"
                " ON CONFLICT(platform) DO UPDATE SET next_free = excluded.next_free",
                [platform, start + span],
            )
        return float(start)
