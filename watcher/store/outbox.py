"""The delivery outbox: one row per (event or alert, notifier).

Rows are written with the poll that produced them, sent by the dispatcher, and only then
marked: a crash in between re-sends (with the same id) rather than loses.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from watcher.alerts import Alert
from watcher.platforms.base import Profile
from watcher.redaction import redact
from watcher.store.base import Part, transaction
from watcher.store.schema import has_table
from watcher.target_filter import TargetFilter

DELIVERY_COUNTS = ("pending", "retrying", "dead", "delivered")
# How a row held for a digest starts its batch (`held <due> <spec>`, see sinks/holding.py),
# and what makes it still waiting: never attempted, due later, at the time its batch names
# (not one postponed behind a failed send).
_HELD = "held "
_WAITING = (
    f"state = 'pending' AND next_attempt_at > ? AND attempts = 0 AND batch LIKE '{_HELD}%'"
    f" AND substr(batch, {len(_HELD) + 1}, 20) = next_attempt_at"
)
# Ids per `IN (...)` statement: well under SQLite's limit on bound parameters.
_CHUNK = 500
_COLUMNS = (
    "d.id, d.notifier, d.watch_id, d.batch, d.event_id, d.kind,"
    " COALESCE(d.payload, e.body, 'null'), d.state, d.attempts, d.created_at,"
    " d.next_attempt_at, d.last_attempt_at, d.delivered_at, d.last_status, d.last_error,"
    " d.urls_done FROM deliveries d LEFT JOIN events e ON e.id = d.event_id"
)


class Placement(Protocol):
    """Where a notifier that holds messages for a digest puts a new row (sinks/holding.py)."""

    def place(self, kind: str, now: str) -> tuple[str, str] | None:
        """(batch, due) for a row of `kind` ("event" or "alert") written at `now`; None: the
        row is sent as it comes (its own batch, due now)."""
        ...


@dataclass(frozen=True, slots=True)
class Route:
    """A notifier a watch's deliveries go to, the types it wants (None: every type), the
    targets it wants (None: every target; alerts have no target, so a filter never holds one
    back), and where it holds them for a digest (None: it never does)."""

    notifier: str
    types: frozenset[str] | None = None
    targets: TargetFilter | None = None
    hold: Placement | None = None

    def wants(self, type_: str) -> bool:
        return self.types is None or type_ in self.types

    def takes(self, routed: Routed) -> bool:
        """Whether this notifier gets the event: its type, then its target."""
        if not self.wants(routed.type):
            return False
        return self.targets is None or self.targets.passes(routed.platform, routed.target)


class Routed(Protocol):
    """An event as routing sees it (a follow event or a signal): what it is and about whom."""

    @property
    def id(self) -> str: ...

    @property
    def type(self) -> str: ...

    @property
    def platform(self) -> str: ...

    @property
    def target(self) -> Profile: ...


@dataclass(frozen=True, slots=True)
class DeliveryRow:
    """One outbox row: one event (or alert) for one notifier, and how its delivery went."""

    id: int
    notifier: str
    watch_id: int
    batch: str
    event_id: str | None
    kind: str  # "event" or "alert"
    body: str  # the envelope JSON: what a webhook POSTs and what messages are built from
    state: str  # pending, delivered or dead
    attempts: int
    created_at: str
    next_attempt_at: str
    last_attempt_at: str | None
    delivered_at: str | None
    last_status: int | None
    last_error: str | None
    urls_done: list[str]  # digests of the Apprise URLs that already have it

    def envelope(self) -> dict[str, Any]:
        value: dict[str, Any] = json.loads(self.body)
        return value


@dataclass(frozen=True, slots=True)
class AttemptRecord:
    """What one delivery attempt changes: `state` pending means "try again at next_attempt_at"."""

    state: str
    attempted_at: str
    status: int | None = None
    error: str | None = None
    next_attempt_at: str | None = None
    urls_done: list[str] = field(default_factory=list)


# A plain success (no Apprise URLs to remember) of one moment and status.
_Delivered = dict[tuple[str, int | None], list[int]]


class Outbox(Part):
    TABLE = "deliveries"

    # -- writing, inside the transaction that records a poll ------------------------------

    def enqueue(
        self,
        watch_id: int,
        batch: str,
        now: str,
        routes: Iterable[Route],
        items: Sequence[tuple[str, str | None, str | None]],
    ) -> None:
        """One pending row per (item, route) the route wants; items are (type, event id,
        payload), the payload only for rows without an event. A row is due now in `batch`,
        unless its route holds it for a digest (then its batch and due time are the hold's).
        (`executemany`: one row per event and notifier, so as many as the events; see
        `Events.insert`.)"""
        rows: list[tuple[Any, ...]] = []
        for route in routes:
            placed: dict[str, tuple[str, str]] = {}  # kind -> (batch, due): one per kind
            for type_, event_id, payload in items:
                if not route.wants(type_):
                    continue
                kind = "event" if event_id else "alert"
                if kind not in placed:
                    held = route.hold.place(kind, now) if route.hold is not None else None
                    placed[kind] = held or (batch, now)
                row_batch, due = placed[kind]
                rows.append(
                    (route.notifier, watch_id, row_batch, event_id, kind, payload, now, due)
                )
        self.db.conn.executemany(
            "INSERT INTO deliveries (notifier, watch_id, batch, event_id, kind, payload,"
            " created_at, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )

    def enqueue_events(
        self, watch_id: int, batch: str, now: str, routes: Iterable[Route], events: Sequence[Routed]
    ) -> None:
        """One pending row per (event, route) the route takes, by type and by target, due now
        in `batch` unless the route holds it for a digest (then in the hold's batch, due at
        its time); the body is the event's, read from the events table."""
        rows: list[tuple[Any, ...]] = []
        for route in routes:
            taken = [event for event in events if route.takes(event)]
            if not taken:
                continue
            held = route.hold.place("event", now) if route.hold is not None else None
            row_batch, due = held or (batch, now)
            rows += [(route.notifier, watch_id, row_batch, e.id, now, due) for e in taken]
        self.db.conn.executemany(
            "INSERT INTO deliveries (notifier, watch_id, batch, event_id, kind, payload,"
            " created_at, next_attempt_at) VALUES (?, ?, ?, ?, 'event', NULL, ?, ?)",
            rows,
        )

    def enqueue_alert(self, watch_id: int, now: str, routes: Iterable[Route], alert: Alert) -> None:
        self.enqueue(watch_id, alert.id, now, routes, [(alert.type, None, alert.to_json())])

    # -- reading ----------------------------------------------------------------------------

    def _rows(self, where: str, params: list[Any]) -> list[DeliveryRow]:
        cursor = self.db.execute(f"SELECT {_COLUMNS} {where}", params)
        rows = []
        for row in cursor.fetchall():
            values = list(row)
            # urls_done: almost always empty (a webhook never has any, Apprise only mid-retry)
            values[-1] = [] if values[-1] == "[]" else json.loads(values[-1])
            rows.append(DeliveryRow(*values))
        return rows

    def due(self, now: str, limit: int = 500, *, notifier: str | None = None) -> list[DeliveryRow]:
        """Pending rows whose next attempt has come, oldest first (only `notifier`'s, if named)."""
        # The ids first (from the index alone), then the bodies of just those: ordering the
        # joined rows would carry every due row's body through the sort, for a page of them.
        only = "" if notifier is None else " AND notifier = ?"
        return self._rows(
            "WHERE d.id IN (SELECT id FROM deliveries WHERE state = 'pending'"
            f" AND next_attempt_at <= ?{only} ORDER BY id LIMIT ?) ORDER BY d.id",
            [now, limit] if notifier is None else [now, notifier, limit],
        )

    def due_held(self, now: str, notifier: str, after: int) -> list[DeliveryRow]:
        """`notifier`'s due held event rows past id `after`: the rest of a digest that a page
        of `due` cut off (one digest is one message, however many events it holds)."""
        return self._rows(
            "WHERE d.state = 'pending' AND d.next_attempt_at <= ? AND d.notifier = ?"
            f" AND d.id > ? AND d.kind = 'event' AND d.batch LIKE '{_HELD}%' ORDER BY d.id",
            [now, notifier, after],
        )

    def held_waiting(self, now: str) -> list[tuple[int, str, str, str]]:
        """(id, notifier, kind, batch) of every row held for a digest that is not due yet."""
        cursor = self.db.execute(
            f"SELECT id, notifier, kind, batch FROM deliveries WHERE {_WAITING} ORDER BY id",
            [now],
        )
        return [(int(i), str(n), str(k), str(b)) for i, n, k, b in cursor.fetchall()]

    def held(self, now: str) -> dict[str, tuple[int, str]]:
        """Each notifier holding rows for a digest -> (how many, when the first is due)."""
        cursor = self.db.execute(
            f"SELECT notifier, COUNT(*), MIN(next_attempt_at) FROM deliveries WHERE {_WAITING}"
            " GROUP BY notifier",
            [now],
        )
        return {str(name): (int(count), str(due)) for name, count, due in cursor.fetchall()}

    def pending_notifiers(self) -> dict[str, str]:
        """Each notifier with pending deliveries -> when its earliest one is due."""
        cursor = self.db.execute(
            "SELECT notifier, MIN(next_attempt_at) FROM deliveries WHERE state = 'pending'"
            " GROUP BY notifier"
        )
        return {name: str(due) for name, due in cursor.fetchall()}

    def recent(self, *, show: str = "all", limit: int = 50) -> list[DeliveryRow]:
        """The newest `limit` rows, oldest first. `show`: all, failed (the last attempt
        failed: retrying or dead) or dead."""
        where = {
            "all": "",
            "failed": "WHERE (d.state = 'pending' AND d.last_error IS NOT NULL)"
            " OR d.state = 'dead'",
            "dead": "WHERE d.state = 'dead'",
        }[show]
        rows = self._rows(f"{where} ORDER BY d.id DESC LIMIT ?", [limit])
        return rows[::-1]

    def counts(self) -> dict[str, dict[str, int]]:
        """Per notifier: pending, retrying (pending after a failure), dead, delivered."""
        cursor = self.db.execute(
            "SELECT notifier, state, last_error IS NOT NULL AND state = 'pending', COUNT(*)"
            " FROM deliveries GROUP BY 1, 2, 3"
        )
        counts: dict[str, dict[str, int]] = {}
        for notifier, state, retrying, count in cursor.fetchall():
            per = counts.setdefault(notifier, dict.fromkeys(DELIVERY_COUNTS, 0))
            per[state] += int(count)
            if retrying:
                per["retrying"] += int(count)
        return counts

    def states(self) -> dict[str, int] | None:
        """Deliveries by state (pending, delivered, dead); None without an outbox table, so
        health reporting never depends on the feature being present."""
        if not has_table(self.db, "deliveries"):
            return None
        cursor = self.db.execute("SELECT state, COUNT(*) FROM deliveries GROUP BY state")
        return {state: int(count) for state, count in cursor.fetchall()}

    # -- marking ----------------------------------------------------------------------------

    def record_attempts(self, attempts: Iterable[tuple[Iterable[int], AttemptRecord]]) -> None:
        """The outcomes of several attempts (no row in two of them) in one transaction: the
        dispatcher marks its successful webhook sends in batches."""
        params: list[tuple[Any, ...]] = []
        # Plain successes of one second and status take one statement for all their rows:
        # less than half the cost of a statement per row.
        delivered: _Delivered = {}
        for ids, record in attempts:
            if record.state == "delivered" and not record.urls_done:
                delivered.setdefault((record.attempted_at, record.status), []).extend(ids)
            else:
                params += _attempt_params(ids, record)
        if not params and not delivered:
            return
        with transaction(self.db):
            self.db.conn.executemany(
                "UPDATE deliveries SET state = ?, attempts = attempts + 1, last_attempt_at = ?,"
                " last_status = ?, last_error = ?, urls_done = ?,"
                " next_attempt_at = COALESCE(?, next_attempt_at),"
                " delivered_at = CASE WHEN ? = 'delivered' THEN ? END WHERE id = ?",
                params,
            )
            self._mark_delivered(delivered)

    def _mark_delivered(self, delivered: _Delivered) -> None:
        for (at, status), marked in delivered.items():
            for start in range(0, len(marked), _CHUNK):
                chunk = marked[start : start + _CHUNK]
                self.db.conn.execute(
                    "UPDATE deliveries SET state = 'delivered', attempts = attempts + 1,"
                    " last_attempt_at = ?, last_status = ?, last_error = NULL,"
                    " urls_done = '[]', delivered_at = ?"
                    f" WHERE id IN ({', '.join('?' * len(chunk))})",
                    [at, status, at, *chunk],
                )

    def move(self, moves: Iterable[tuple[str, str, int]]) -> None:
        """Held rows placed again: (batch, due, id) each; only rows still never attempted."""
        params = list(moves)
        if not params:
            return
        with transaction(self.db):
            self.db.conn.executemany(
                "UPDATE deliveries SET batch = ?, next_attempt_at = ?"
                " WHERE id = ? AND state = 'pending' AND attempts = 0",
                params,
            )

    def bury(self, ids: Iterable[int], error: str) -> None:
        """Dead without an attempt: its notifier is gone from the config, or disabled."""
        self.db.conn.executemany(
            "UPDATE deliveries SET state = 'dead', last_error = ? WHERE id = ?",
            [(redact(error), delivery_id) for delivery_id in ids],
        )

    def postpone(self, ids: Iterable[int], until: str) -> None:
        """Not attempted now (its receiver just failed another delivery); not an attempt."""
        self.db.conn.executemany(
            "UPDATE deliveries SET next_attempt_at = ? WHERE id = ? AND state = 'pending'",
            [(until, delivery_id) for delivery_id in ids],
        )

    def requeue(self, ids: Iterable[int], now: str) -> list[int]:
        """Due now with a fresh retry schedule; the ids that exist. A delivered row is sent
        again in full; a dead or pending one only to the Apprise URLs that lack it."""
        found: list[int] = []
        with transaction(self.db):
            for delivery_id in ids:
                cursor = self.db.execute(
                    "UPDATE deliveries SET state = 'pending', attempts = 0, next_attempt_at = ?,"
                    " urls_done = CASE WHEN state = 'delivered' THEN '[]' ELSE urls_done END,"
                    " delivered_at = NULL WHERE id = ?",
                    [now, delivery_id],
                )
                if cursor.rowcount:
                    found.append(delivery_id)
        return found

    def requeue_dead(self, now: str) -> int:
        cursor = self.db.execute(
            "UPDATE deliveries SET state = 'pending', attempts = 0, next_attempt_at = ?"
            " WHERE state = 'dead'",
            [now],
        )
        return int(cursor.rowcount)


def _attempt_params(ids: Iterable[int], record: AttemptRecord) -> list[tuple[Any, ...]]:
    """The UPDATE's parameters for every row one attempt carried."""
    error = None if record.error is None else redact(record.error)
    done = json.dumps(record.urls_done)
    return [
        (
            record.state,
            record.attempted_at,
            record.status,
            error,
            done,
            record.next_attempt_at,
            record.state,
            record.attempted_at,
            delivery_id,
        )
        for delivery_id in ids
    ]
