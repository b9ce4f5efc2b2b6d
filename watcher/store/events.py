"""The event log: every follow and unfollow a poll found, in the order found."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
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

    def envelope(self) -> dict[str, Any]: ...

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


_SELECT = "SELECT seq, id, type, timestamp, account_handle, body FROM events"


def _matching(
    type_prefix: str | None, since: str | None, until: str | None, *, column: str
) -> tuple[list[str], list[Any]]:
    """The conditions of the type and time filters, each column written `{column}type`
    (`+`: checked on the way, never an index to choose)."""
    where: list[str] = []
    params: list[Any] = []
    if type_prefix:
        where.append(f"({column}type = ? OR {column}type LIKE ?)")
        params += [type_prefix, type_prefix.rstrip(".") + ".%"]
    if since:
        where.append(f"{column}timestamp >= ?")
        params.append(since)
    if until:
        where.append(f"{column}timestamp < ?")
        params.append(until)
    return where, params


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
        """Events after `after_seq`, oldest first; with `limit`, only the newest `limit`.
        `account`: an account id or handle as stored (case-insensitive)."""
        where, params = self._filters(type_prefix, since, after_seq)
        if account:
            where.append("(account_id = ? OR lower(account_handle) = lower(?))")
            params += [account, account]
        return list(self._rows(where, params, limit, chunk=1000))

    def stream(
        self,
        *,
        watch_ids: Sequence[int] | None = None,
        type_prefix: str | None = None,
        since: str | None = None,
        limit: int | None = None,
        chunk: int = 1000,
    ) -> Iterator[EventRow]:
        """Events oldest first, read from one cursor `chunk` rows at a time: an export of
        every event holds one chunk in memory, however many there are. `watch_ids`: only
        the events those watches recorded (an empty list: none); `limit`: only the newest."""
        if watch_ids is not None and not watch_ids:
            return
        where, params = self._filters(type_prefix, since, 0)
        if watch_ids is not None:
            where.append(f"watch_id IN ({', '.join('?' for _ in watch_ids)})")
            params += list(watch_ids)
        yield from self._rows(where, params, limit, chunk=chunk)

    @staticmethod
    def _filters(
        type_prefix: str | None, since: str | None, after_seq: int
    ) -> tuple[list[str], list[Any]]:
        where, params = _matching(type_prefix, since, None, column="")
        return ["seq > ?", *where], [after_seq, *params]

    def _rows(
        self, where: list[str], params: list[Any], limit: int | None, *, chunk: int
    ) -> Iterator[EventRow]:
        sql = f"{_SELECT} WHERE {' AND '.join(where)} ORDER BY seq"
        if limit is not None:
            # The newest `limit` events, still given oldest first.
            sql = f"SELECT * FROM ({sql.replace('ORDER BY seq', 'ORDER BY seq DESC')} LIMIT ?)"
            sql += " ORDER BY seq"
            params = [*params, limit]
        cursor = self.db.execute(sql, params)
        while rows := cursor.fetchmany(chunk):
            for row in rows:
                yield EventRow(*row)

    def count(self) -> int:
        return self.table.count

    def last_seq(self) -> int:
        """The newest event's `seq` (0 for none): it moves whenever an event is recorded."""
        row = self.db.execute("SELECT MAX(seq) FROM events").fetchone()
        return int(row[0] or 0)

    def seq_of(self, event_id: str) -> int | None:
        """Where event `event_id` stands in the log (its `seq`), None for an unknown id."""
        row = self.db.execute("SELECT seq FROM events WHERE id = ?", [event_id]).fetchone()
        return int(row[0]) if row is not None else None

    def after(self, seq: int, limit: int) -> list[EventRow]:
        """At most `limit` events after `seq`, oldest first: one page of a reader catching
        up. A walk of the primary key from `seq`, so page 1,000 costs what page 1 does."""
        return [
            EventRow(*row)
            for row in self.db.execute(
                f"{_SELECT} WHERE seq > ? ORDER BY seq LIMIT ?", [seq, limit]
            ).fetchall()
        ]

    def newest(self, limit: int, *, watch_ids: Sequence[int] | None = None) -> list[EventRow]:
        """The newest `limit` events, newest first; `watch_ids`: only those watches' (an
        empty list: none): the first page of the timeline (`page`), so an account with
        100,000 events costs what one with 100 does."""
        return self.page(limit, watch_ids=watch_ids)

    def page(
        self,
        limit: int,
        *,
        watch_ids: Sequence[int] | None = None,
        type_prefix: str | None = None,
        since: str | None = None,
        until: str | None = None,
        before_seq: int | None = None,
        after_seq: int | None = None,
    ) -> list[EventRow]:
        """One page of the timeline, newest first: at most `limit` events older than
        `before_seq` (the next page down), or, with `after_seq`, the `limit` just newer than it
        (the page up); `since` <= timestamp < `until`; `watch_ids` as for `stream`.

        A walk of `seq` from the cursor (of each watch's index with `watch_ids`), the
        filters checked on the way (`+column`: never an index by type or time, which would
        read every match and sort them), so page 1,000 of 100,000 costs what page 1 does."""
        if watch_ids is not None and not watch_ids:
            return []
        where, params = _matching(type_prefix, since, until, column="+")
        where.insert(0, "1")
        upward = after_seq is not None
        if upward:
            where.append("seq > ?")
            params.append(after_seq)
        elif before_seq is not None:
            where.append("seq < ?")
            params.append(before_seq)
        order = "seq" if upward else "seq DESC"
        condition = " AND ".join(where)
        if watch_ids is None:
            sql, bound = f"{_SELECT} WHERE {condition} ORDER BY {order} LIMIT ?", [*params, limit]
        else:
            each = (
                f"SELECT * FROM ({_SELECT} WHERE watch_id = ? AND {condition}"
                f" ORDER BY {order} LIMIT ?)"
            )
            sql = " UNION ALL ".join(each for _ in watch_ids) + f" ORDER BY {order} LIMIT ?"
            bound = [value for w in watch_ids for value in (w, *params, limit)]
            bound.append(limit)
        rows = [EventRow(*row) for row in self.db.execute(sql, bound).fetchall()]
        return rows[::-1] if upward else rows

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
