"""The event log: every follow and unfollow a poll found, in the order found."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from watcher.events import Event
from watcher.platforms.base import Profile
from watcher.store.base import Part


class SignalEvent(Protocol):
    """A signal as the event log records it: about a target, fired by a named signal."""

    @property
    def id(self) -> str: ...

    @property
    def type(self) -> str: ...

    @property
    def timestamp(self) -> str: ...

    @property
    def platform(self) -> str: ...

    @property
    def signal(self) -> str: ...

    @property
    def target(self) -> Profile: ...

    def to_json(self) -> str: ...


@dataclass(frozen=True, slots=True)
class EventRow:
    seq: int
    id: str
    type: str
    timestamp: str
    account_handle: str
    body: str

    def envelope(self) -> dict[str, Any]:
        value: dict[str, Any] = json.loads(self.body)
        return value


class Events(Part):
    TABLE = "events"

    def find(
        self,
        *,
        account: str | None = None,
        type_prefix: str | None = None,
        since: str | None = None,
        limit: int | None = None,
        after_seq: int = 0,
    ) -> list[EventRow]:
        """Events after `after_seq`, oldest first; with `limit`, only the newest `limit`."""
        where = ["seq > ?"]
        params: list[Any] = [after_seq]
        if account:
            where.append("(account_id = ? OR lower(account_handle) = lower(?))")
            params += [account, account]
        if type_prefix:
            where.append("(type = ? OR type LIKE ?)")
            params += [type_prefix, type_prefix.rstrip(".") + ".%"]
        if since:
            where.append("timestamp >= ?")
            params.append(since)
        sql = (
            "SELECT seq, id, type, timestamp, account_handle, body FROM events"
            f" WHERE {' AND '.join(where)} ORDER BY seq"
        )
        if limit is not None:
            # The newest `limit` events, still printed oldest first.
            sql = f"SELECT * FROM ({sql.replace('ORDER BY seq', 'ORDER BY seq DESC')} LIMIT ?)"
            sql += " ORDER BY seq"
            params.append(limit)
        return [EventRow(*row) for row in self.db.execute(sql, params).fetchall()]

    def count(self) -> int:
        return self.table.count

    def insert(self, watch_id: int, events: Sequence[Event]) -> None:
        """A poll's events (inside its transaction); `seq` numbers them in this order.

        `executemany`, not `insert_all`: a poll of a big change writes thousands of events,
        and the table API costs about four times as much a row."""
        self.db.conn.executemany(
            "INSERT INTO events (id, watch_id, type, timestamp, account_id, account_handle,"
            " target_id, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    e.id,
                    watch_id,
                    e.type,
                    e.timestamp,
                    e.account.id,
                    e.account.handle,
                    e.target.id,
                    e.to_json(),
                )
                for e in events
            ],
        )

    def insert_signals(self, watch_id: int, signals: Sequence[SignalEvent]) -> None:
        """Signals, after the poll's events that fired them (same transaction). A signal is
        about no one account: its row names the signal where an event names the account, so
        `watcher events` lists it by its name; the watch is the one whose poll fired it."""
        self.db.conn.executemany(
            "INSERT INTO events (id, watch_id, type, timestamp, account_id, account_handle,"
            " target_id, body) VALUES (?, ?, ?, ?, '', ?, ?, ?)",
            [
                (s.id, watch_id, s.type, s.timestamp, s.signal, s.target.id, s.to_json())
                for s in signals
            ],
        )
