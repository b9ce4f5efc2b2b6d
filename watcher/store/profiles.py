"""Profiles (the `accounts` table): of watched accounts, of every member of a watched list,
and of every account an event names, so lists show people and messages can name an account
after it has left the list.

A profile is each account's as last seen. Listings show every member's profile at every
poll; writing them all each time would make quiet polls write as much as the list is long.
So a listed profile is written only when its handle, name, URL, verification or deactivation
changed, and its counts (which move all the time) at most once a UTC day (`counted_on`).
Profiles read one by one (the watched account, an event's target) are written as they are.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from watcher.platforms.base import Profile
from watcher.store.base import Part

PROFILE_COLUMNS = "id, handle, name, url, follower_count, following_count, is_verified, deactivated"
# Ids per `IN (...)` read: well under SQLite's limit on bound parameters.
_CHUNK = 500


def prefixed(prefix: str) -> str:
    """The profile columns of a joined table (`m.id, m.handle, ...`)."""
    return ", ".join(prefix + column for column in PROFILE_COLUMNS.split(", "))


def profile_fields(p: Profile) -> tuple[Any, ...]:
    """A profile's columns after its id, as `accounts` and the scratch tables store them."""
    return (
        p.handle,
        p.name,
        p.url,
        p.follower_count,
        p.following_count,
        int(p.is_verified),
        int(p.deactivated),
    )


def profile_row(row: Sequence[Any]) -> Profile:
    return Profile(row[0], row[1], row[2], row[3], row[4], row[5], bool(row[6]), bool(row[7]))


class Profiles(Part):
    TABLE = "accounts"

    def get(self, platform: str, ids: Iterable[str]) -> dict[str, Profile]:
        """The stored profiles among `ids` (the others are simply missing)."""
        found: dict[str, Profile] = {}
        id_list = list(ids)
        for start in range(0, len(id_list), _CHUNK):
            chunk = id_list[start : start + _CHUNK]
            marks = ", ".join("?" for _ in chunk)
            cursor = self.db.execute(
                f"SELECT {PROFILE_COLUMNS} FROM accounts WHERE platform = ? AND id IN ({marks})",
                [platform, *chunk],
            )
            for row in cursor.fetchall():
                found[row[0]] = profile_row(row)
        return found

    def save(self, platform: str, profiles: Iterable[Profile], day: str) -> None:
        """Insert or refresh, in one statement for them all (the poll's transaction); `day`
        is the UTC day (`2026-12-06`) the counts were seen."""
        self.db.conn.executemany(
            _UPSERT, [(platform, p.id, *profile_fields(p), day) for p in profiles]
        )

    def refresh_listed(
        self, platform: str, watch_id: int, listed: Mapping[str, Profile], day: str
    ) -> None:
        """A listing's profiles (a dict of them), written where they changed (see above)."""
        cursor = self.db.execute(
            f"SELECT {prefixed('a.')}, a.counted_on FROM edges AS e JOIN accounts AS a"
            " ON a.platform = ? AND a.id = e.target_id WHERE e.watch_id = ?",
            [platform, watch_id],
        )
        stored = {row[0]: row for row in cursor}
        changed = []
        for account_id, p in listed.items():
            row = stored.get(account_id)
            if row is None:
                changed.append(p)
                continue
            fields = profile_fields(p)
            # Most members of a quiet poll are as stored: one comparison settles them.
            if row[1:8] != fields and _differs(row, fields, day):
                changed.append(p)
        self.save(platform, changed, day)

    def refresh_listed_table(self, platform: str, table: str, day: str) -> None:
        """As `refresh_listed`, for a listing kept in a temporary table: one statement."""
        fields = ("handle", "name", "url", "is_verified", "deactivated")
        counts = ("follower_count", "following_count")
        changed = " OR ".join(f"a.{f} IS NOT m.{f}" for f in fields)
        recount = " OR ".join(f"a.{f} IS NOT m.{f}" for f in counts)
        self.db.execute(
            f"{_INSERT} SELECT ?, {prefixed('m.')}, ? FROM temp.{table} AS m"
            " LEFT JOIN accounts AS a ON a.platform = ? AND a.id = m.id"
            f" WHERE a.id IS NULL OR {changed} OR (({recount}) AND a.counted_on IS NOT ?)"
            f" {_ON_CONFLICT}",
            [platform, day, platform, day],
        )


_INSERT = (
    "INSERT INTO accounts (platform, id, handle, name, url, follower_count, following_count,"
    " is_verified, deactivated, counted_on)"
)
_ON_CONFLICT = (
    "ON CONFLICT(platform, id) DO UPDATE SET handle = excluded.handle, name = excluded.name,"
    " url = excluded.url, follower_count = excluded.follower_count,"
    " following_count = excluded.following_count, is_verified = excluded.is_verified,"
    " deactivated = excluded.deactivated, counted_on = excluded.counted_on"
)
_UPSERT = f"{_INSERT} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) {_ON_CONFLICT}"


def _differs(row: Sequence[Any], fields: tuple[Any, ...], day: str) -> bool:
    """Whether a stored row (id, profile fields, counted_on) must be rewritten: any field but
    the counts changed, or the counts changed and were not written today."""
    handle, name, url, followers, following, verified, deactivated = fields
    if (row[1], row[2], row[3], row[6], row[7]) != (handle, name, url, verified, deactivated):
        return True
    return (row[4], row[5]) != (followers, following) and row[8] != day
