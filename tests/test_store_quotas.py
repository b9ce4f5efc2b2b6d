"""Quota counts and holds live in the database: every process on it sees the same ones."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from watcher.store import Store
from watcher.store.quotas import Hold, QuotaUse

NEW_YEARS_EVE = datetime(2026, 12, 31, 23, 59, 30, tzinfo=UTC)


def test_requests_are_counted_per_utc_month_and_day_across_connections(tmp_path: Path) -> None:
    one, two = Store.open(tmp_path / "w.db"), Store.open(tmp_path / "w.db")
    try:
        one.quotas.count("audius", 3, NEW_YEARS_EVE)
        two.quotas.count("audius", 4, NEW_YEARS_EVE)
        two.quotas.count("soundcloud", 1, NEW_YEARS_EVE)
        assert one.quotas.used("audius", NEW_YEARS_EVE) == QuotaUse(month=7, day=7)
        next_year = NEW_YEARS_EVE + timedelta(seconds=31)
        one.quotas.count("audius", 2, next_year)
        assert two.quotas.used("audius", next_year) == QuotaUse(month=2, day=2)
        # A moment given in another zone counts in the UTC period it falls in.
        local = NEW_YEARS_EVE.astimezone(datetime.now().astimezone().tzinfo)
        assert two.quotas.used("audius", local) == QuotaUse(month=7, day=7)
        assert two.quotas.used("soundcloud", NEW_YEARS_EVE) == QuotaUse(month=1, day=1)
    finally:
        one.close()
        two.close()


def test_a_hold_is_seen_by_every_connection_until_it_ends_and_never_shortened(
    tmp_path: Path,
) -> None:
    one, two = Store.open(tmp_path / "w.db"), Store.open(tmp_path / "w.db")
    try:
        now = NEW_YEARS_EVE
        one.quotas.hold("soundcloud", now + timedelta(hours=2), "rate limited")
        two.quotas.hold("soundcloud", now + timedelta(minutes=5), "a shorter one")
        assert two.quotas.held("soundcloud", now) == Hold("2027-01-01T01:59:30Z", "rate limited")
        assert two.quotas.held("audius", now) is None
        assert one.quotas.held("soundcloud", now + timedelta(hours=2)) is None
    finally:
        one.close()
        two.close()
