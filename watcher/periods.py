"""The calendar periods quotas are counted in: months and days in UTC.

One place for them, so the quota gate (when a spent quota resets), the planner (how many
seconds a period has left) and the store's counters agree on where a period turns.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from watcher.clock import iso, parse_iso


def month_of(now: datetime) -> tuple[datetime, datetime]:
    """The UTC calendar month around `now`: its first moment and the next month's."""
    now = now.astimezone(UTC)
    start = datetime(now.year, now.month, 1, tzinfo=UTC)
    end = datetime(now.year + now.month // 12, now.month % 12 + 1, 1, tzinfo=UTC)
    return start, end


def day_of(now: datetime) -> tuple[datetime, datetime]:
    """The UTC day around `now`: its first moment and the next day's."""
    now = now.astimezone(UTC)
    start = datetime(now.year, now.month, now.day, tzinfo=UTC)
    return start, start + timedelta(days=1)


def moment(text: str, *, end_of_day: bool = False) -> str:
    """A moment a user wrote, as the timestamp bound it means: an ISO time as it is, a date
    (`2026-11-01`) as its midnight UTC, or with `end_of_day` as the next midnight (so a
    range ending on that date includes it). ValueError for anything else."""
    if "T" in text:
        return iso(parse_iso(text))
    day = datetime.fromisoformat(f"{text}T00:00:00+00:00")
    return iso(day + timedelta(days=1) if end_of_day else day)
