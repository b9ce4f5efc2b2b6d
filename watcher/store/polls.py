"""Recording a poll: its edges, events, outbox rows and metadata in one transaction, so a
crash mid-poll leaves the previous state intact. The one place the poll's parts meet."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import sqlite_utils

from watcher.alerts import Alert
from watcher.events import Event
from watcher.platforms.base import Profile
from watcher.quiet_check import LastListRead, StoredState
from watcher.redaction import redact
from watcher.store.base import Part, transaction
from watcher.store.events import Events
from watcher.store.leases import LeaseCheck, PollLeases
from watcher.store.listings import Listings
from watcher.store.outbox import Outbox, Route
from watcher.store.profiles import Profiles
from watcher.store.scratch import ScratchMembers
from watcher.store.signals import Fired, Signals
from watcher.store.watches import Watches


class SignalRule(Protocol):
    """A configured signal, evaluated in the transaction that records a poll's events (after
    they are inserted): what it fires is recorded and enqueued in that same transaction, so
    two processes recording follows of one target never both fire it."""

    def fire(self, signals: Signals, events: Sequence[Event]) -> list[Fired]: ...


@dataclass(slots=True)
class PollOutcome:
    """Everything one successful poll writes, applied in one transaction."""

    watch_id: int
    started_at: str
    finished_at: str
    duration_ms: int
    account: Profile
    profiles: list[Profile] = field(default_factory=list)
    set_state: dict[str, str] = field(default_factory=dict)
    delete: list[str] = field(default_factory=list)
    # Hidden members examined by this poll (and found still hidden).
    checked: list[str] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    baseline: bool = False
    size: int = 0
    passes: int = 0
    pages: int = 0
    requests: int = 0
    complete: bool = True
    added: int = 0
    removed: int = 0
    # The watched relation's count as the profile showed it when the poll started, and whether
    # the poll read only that profile (a counts check that found it unchanged).
    relation_count: int | None = None
    counts_only: bool = False
    # A first listing (no baseline yet): every member becomes present in SQL, and when the
    # listing is complete (`baseline`) stored edges it lacks are dropped. No events.
    adopt: ScratchMembers | None = None
    # The poll's listing, whose members' profiles are written where they changed.
    listed: ScratchMembers | None = None
    # The watch's notifiers: each gets one delivery row per event it wants, in the same
    # transaction as the events.
    routes: list[Route] = field(default_factory=list)
    # Sent (through `routes`) only if the watch had alerted that it was failing.
    recovered: Alert | None = None
    # The signals that count this watch's follows, and (once committed) what they fired.
    signals: Sequence[SignalRule] = ()
    fired: list[Fired] = field(default_factory=list)
    # When set, the poll commits only while it holds its lease and the watch's generation is
    # unchanged; the commit then releases the lease.
    lease: LeaseCheck | None = None


@dataclass(frozen=True, slots=True)
class PollParts:
    """The table families a poll's record writes to."""

    watches: Watches
    leases: PollLeases
    listings: Listings
    profiles: Profiles
    events: Events
    outbox: Outbox
    signals: Signals


class Polls(Part):
    TABLE = "polls"

    def __init__(self, db: sqlite_utils.Database, parts: PollParts) -> None:
        super().__init__(db)
        self.parts = parts

    def commit(self, platform: str, outcome: PollOutcome) -> bool:
        """Apply one successful poll atomically: profiles, edges, events, outbox, metadata.

        With `outcome.lease`, nothing is written (False) unless the poll still holds its lease
        and the watch's generation is the one it started from: a poll that began from an older
        state never commits over a newer one, even if its lease ran out mid-poll.
        """
        parts, watch_id, now = self.parts, outcome.watch_id, outcome.finished_at
        with transaction(self.db):
            if outcome.lease is not None and not parts.leases.holds(watch_id, outcome.lease):
                return False
            day = now[:10]  # the UTC day of an RFC 3339 timestamp
            if outcome.listed is not None:
                self._refresh_listed(platform, outcome.watch_id, outcome.listed, day)
            parts.profiles.save(platform, [outcome.account, *outcome.profiles], day)
            if outcome.adopt is not None:
                parts.listings.adopt(watch_id, outcome.adopt, now, outcome.baseline)
            parts.listings.apply(watch_id, now, outcome.set_state, outcome.delete, outcome.checked)
            parts.events.insert(watch_id, outcome.events)
            fired = [
                f for rule in outcome.signals for f in rule.fire(parts.signals, outcome.events)
            ]
            parts.events.insert_signals(watch_id, [f.event for f in fired])
            self._enqueue(outcome, fired)
            self._record_ok(outcome)
            parts.leases.recorded(watch_id, outcome.lease)
        outcome.fired = fired
        return True

    def _refresh_listed(
        self, platform: str, watch_id: int, listed: ScratchMembers, day: str
    ) -> None:
        memory = listed.memory
        if memory is None:
            self.parts.profiles.refresh_listed_table(platform, listed.table, day)
        else:
            self.parts.profiles.refresh_listed(platform, watch_id, memory.profiles, day)

    def _enqueue(self, outcome: PollOutcome, fired: Sequence[Fired]) -> None:
        outbox, watch_id, now = self.parts.outbox, outcome.watch_id, outcome.finished_at
        # "Recovered" first: the changes this poll found read best after it.
        if outcome.recovered is not None and self.parts.watches.end_alert(watch_id):
            outbox.enqueue_alert(watch_id, now, outcome.routes, outcome.recovered)
        if outcome.events:
            batch = f"poll:{outcome.events[0].id}"
            outbox.enqueue_events(watch_id, batch, now, outcome.routes, outcome.events)
        # Each signal after the follows that fired it, a message of its own.
        for signal in fired:
            batch = f"signal:{signal.event.id}"
            outbox.enqueue_events(watch_id, batch, now, signal.routes, [signal.event])

    def _record_ok(self, outcome: PollOutcome) -> None:
        self.table.insert(
            {
                "watch_id": outcome.watch_id,
                "started_at": outcome.started_at,
                "duration_ms": outcome.duration_ms,
                "outcome": "ok",
                "error": None,
                "size": outcome.size,
                "passes": outcome.passes,
                "pages": outcome.pages,
                "requests": outcome.requests,
                "complete": outcome.complete,
                "added": outcome.added,
                "removed": outcome.removed,
                "relation_count": outcome.relation_count,
                "counts_only": outcome.counts_only,
            }
        )
        self.parts.watches.record_ok(
            outcome.watch_id,
            outcome.account.id,
            outcome.finished_at,
            passes=outcome.passes,
            pages=outcome.pages,
            duration_ms=outcome.duration_ms,
            size=outcome.size,
            baseline=outcome.baseline,
        )

    def recent_requests(self, watch_id: int, *, since: str | None, limit: int) -> list[int]:
        """Requests the watch's newest `limit` good polls started after `since` spent, every
        one counted (the planner's cost of a poll); newest first, over the index by watch and
        id, which stops after `limit` (the `+` keeps SQLite off the index by start time, which
        would read every poll since `since` and sort them: 25 times slower a month on)."""
        rows = self.db.execute(
            "SELECT requests FROM polls WHERE watch_id = ? AND outcome = 'ok'"
            " AND requests IS NOT NULL AND +started_at > ? ORDER BY id DESC LIMIT ?",
            [watch_id, since or "", limit],
        ).fetchall()
        return [int(row[0]) for row in rows]

    def counts_check_state(self, watch_id: int) -> StoredState:
        """What a counts check weighs (quiet_check.py): the watch's last list read, how many
        counts-only polls followed it, and its stored members."""
        states = self.parts.listings.state_counts(watch_id)
        return StoredState(
            self._last_list_read(watch_id), sum(states.values()), states.get("pending", 0)
        )

    def _last_list_read(self, watch_id: int) -> LastListRead | None:
        row = self.db.execute(
            "SELECT id, complete, relation_count FROM polls WHERE watch_id = ?"
            " AND outcome = 'ok' AND counts_only = 0 ORDER BY id DESC LIMIT 1",
            [watch_id],
        ).fetchone()
        if row is None:
            return None
        (since,) = self.db.execute(
            "SELECT COUNT(*) FROM polls WHERE watch_id = ? AND id > ? AND outcome = 'ok'"
            " AND counts_only = 1",
            [watch_id, row[0]],
        ).fetchone()
        return LastListRead(bool(row[1]), row[2], int(since))

    def record_failure(
        self,
        watch_id: int,
        started_at: str,
        finished_at: str,
        duration_ms: int,
        error: str,
        *,
        routes: Iterable[Route] = (),
        failing: Alert | None = None,
        alert_after: int = 0,
        lease: LeaseCheck | None = None,
    ) -> bool:
        """A failed poll changes nothing but its own record, and perhaps sends one alert.

        The alert goes out (through `routes`) when this failure makes `alert_after` in a row
        and the watch has not alerted yet: one alert per outage, however long it lasts.
        `lease` is checked (and released) as by `commit`: a failure another process's poll
        has overtaken is not recorded (False).
        """
        error = redact(error)
        parts = self.parts
        with transaction(self.db):
            if lease is not None and not parts.leases.holds(watch_id, lease):
                return False
            self.table.insert(
                {
                    "watch_id": watch_id,
                    "started_at": started_at,
                    "duration_ms": duration_ms,
                    "outcome": "error",
                    "error": error,
                }
            )
            parts.watches.record_error(watch_id, finished_at, error, duration_ms)
            if (
                failing is not None
                and alert_after > 0
                and parts.watches.start_alert(watch_id, finished_at, alert_after)
            ):
                parts.outbox.enqueue_alert(watch_id, finished_at, routes, failing)
            parts.leases.recorded(watch_id, lease)
        return True
