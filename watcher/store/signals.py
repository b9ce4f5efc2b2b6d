"""Signals' reads and state: the follows of a target by the counted watches, when a signal last
fired for a target (`signal_state`), and the targets many watched accounts followed lately.

The counting rules live with each signal kind (watcher/signals/); this module only reads and
writes what they need, inside the poll's transaction when a signal is evaluated.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from watcher.platforms.base import Profile
from watcher.store.base import Part
from watcher.store.events import SignalEvent
from watcher.store.outbox import Route
from watcher.store.profiles import prefixed, profile_row

FOLLOW, UNFOLLOW = "following.added", "following.removed"
# Ids per `IN (...)`: well under SQLite's limit on bound parameters.
_CHUNK = 500


@dataclass(frozen=True, slots=True)
class FollowRecord:
    """One recorded follow or unfollow of a target by a watched account."""

    seq: int
    added: bool
    account_id: str
    timestamp: str
    account: dict[str, Any]  # the account as the event showed it: id, handle, name, url


@dataclass(frozen=True, slots=True)
class Fired:
    """A signal an evaluation recorded, and the notifiers it goes to."""

    event: SignalEvent
    routes: list[Route] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class TrendingAccount:
    id: str
    handle: str
    followed_at: str


@dataclass(frozen=True, slots=True)
class TrendingRow:
    """A target several watched accounts follow since a moment, and who, earliest first."""

    platform: str
    target: Profile
    accounts: list[TrendingAccount]

    @property
    def first_followed_at(self) -> str:
        return self.accounts[0].followed_at


class Signals(Part):
    TABLE = "signal_state"

    def watch_ids(self, keys: Iterable[str]) -> list[int]:
        """The stored ids of the watches with these keys (a watch never polled has none)."""
        wanted = sorted(keys)
        found: list[int] = []
        for start in range(0, len(wanted), _CHUNK):
            chunk = wanted[start : start + _CHUNK]
            cursor = self.db.execute(
                f"SELECT id FROM watches WHERE key IN ({', '.join('?' * len(chunk))})", chunk
            )
            found += [int(row[0]) for row in cursor.fetchall()]
        return sorted(found)

    def follows_of(
        self, target_id: str, watch_ids: Sequence[int], after: str
    ) -> list[FollowRecord]:
        """The follows and unfollows of `target_id` recorded by these watches, stamped after
        `after`, in the order they were recorded (over the index by target)."""
        if not watch_ids:
            return []
        marks = ", ".join("?" * len(watch_ids))
        cursor = self.db.execute(
            "SELECT seq, type, account_id, timestamp, body FROM events"
            f" WHERE target_id = ? AND timestamp > ? AND type IN (?, ?) AND watch_id IN ({marks})"
            " ORDER BY seq",
            [target_id, after, FOLLOW, UNFOLLOW, *watch_ids],
        )
        return [
            FollowRecord(int(seq), type_ == FOLLOW, account_id, timestamp, _account(body))
            for seq, type_, account_id, timestamp, body in cursor.fetchall()
        ]

    def last_signal(self, signal: str, platform: str, target_id: str) -> str | None:
        """When `signal` last fired for the target (None: never)."""
        row = self.db.execute(
            "SELECT signaled_at FROM signal_state WHERE signal = ? AND platform = ?"
            " AND target_id = ?",
            [signal, platform, target_id],
        ).fetchone()
        return None if row is None else str(row[0])

    def signaled(self, signal: str, platform: str, target_id: str, at: str, event_id: str) -> None:
        self.db.execute(
            "INSERT INTO signal_state (signal, platform, target_id, signaled_at, event_id)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (signal, platform, target_id) DO UPDATE SET"
            " signaled_at = excluded.signaled_at, event_id = excluded.event_id",
            [signal, platform, target_id, at, event_id],
        )

    def trending(
        self,
        watch_ids: Sequence[int],
        *,
        after: str,
        min_accounts: int,
        platform: str | None = None,
    ) -> list[TrendingRow]:
        """Targets that at least `min_accounts` distinct accounts of these watches followed
        after `after` and still follow (a later unfollow takes an account out), the most
        followed first, then the earliest. Reads only the events after `after` (the index
        by type and time), however long the log."""
        if not watch_ids:
            return []
        marks = ", ".join("?" * len(watch_ids))
        only = "" if platform is None else " AND w.platform = ?"
        sql = f"""
            WITH latest AS (
                SELECT w.platform AS platform, e.target_id AS target_id,
                       e.account_id AS account_id, MAX(e.seq) AS seq
                FROM events e JOIN watches w ON w.id = e.watch_id
                WHERE e.type IN (?, ?) AND e.timestamp > ? AND e.watch_id IN ({marks}){only}
                GROUP BY 1, 2, 3
            ), active AS (
                SELECT l.platform, l.target_id, l.account_id, e.account_handle, e.timestamp,
                       e.seq
                FROM latest l JOIN events e ON e.seq = l.seq
                WHERE e.type = ?
            ), hot AS (
                SELECT platform, target_id, COUNT(*) AS n, MIN(timestamp) AS first
                FROM active GROUP BY platform, target_id HAVING COUNT(*) >= ?
            )
            SELECT h.platform, h.target_id, a.account_id, a.account_handle, a.timestamp,
                   {prefixed("p.")}
            FROM hot h
            JOIN active a ON a.platform = h.platform AND a.target_id = h.target_id
            LEFT JOIN accounts p ON p.platform = h.platform AND p.id = h.target_id
            ORDER BY h.n DESC, h.first, h.platform, h.target_id, a.timestamp, a.seq
        """
        params: list[Any] = [FOLLOW, UNFOLLOW, after, *watch_ids]
        if platform is not None:
            params.append(platform)
        params += [FOLLOW, min_accounts]
        rows: dict[tuple[str, str], TrendingRow] = {}
        for row in self.db.execute(sql, params).fetchall():
            platform_name, target_id, account_id, handle, timestamp = row[:5]
            key = (platform_name, target_id)
            if key not in rows:
                profile = row[5:]
                target = (
                    profile_row(profile)
                    if profile[0] is not None
                    else Profile(target_id, target_id, target_id, "")
                )
                rows[key] = TrendingRow(platform_name, target, [])
            rows[key].accounts.append(TrendingAccount(account_id, handle, timestamp))
        return list(rows.values())


def _account(body: str) -> dict[str, Any]:
    account: dict[str, Any] = json.loads(body)["data"]["account"]
    return account
