"""Profiles (the `accounts` table): of watched accounts and of every account an event names,
so messages and alerts can name an account after it has left the list."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
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

    def save(self, platform: str, profiles: Iterable[Profile]) -> None:
        """Insert or refresh, in one statement for them all (the poll's transaction)."""
        self.db.conn.executemany(
            "INSERT INTO accounts (platform, id, handle, name, url, follower_count,"
            " following_count, is_verified, deactivated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT(platform, id) DO UPDATE SET handle = excluded.handle,"
            " name = excluded.name, url = excluded.url, follower_count = excluded.follower_count,"
            " following_count = excluded.following_count, is_verified = excluded.is_verified,"
            " deactivated = excluded.deactivated",
            [(platform, p.id, *profile_fields(p)) for p in profiles],
        )
