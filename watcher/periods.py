"""The calendar periods quotas are counted in: months and days in UTC.

One place for them, so the quota gate (when a spent quota resets), the planner (how many
seconds a period has left) and the store's counters agree on where a period turns.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


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
