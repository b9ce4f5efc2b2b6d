"""What `/deliveries` shows: each notifier's state and counts, then the outbox rows that are
not delivered yet (pending, held for a digest, retrying, dead) with their last error, newest
first; or, asked for, the dead ones only, or every row."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from watcher.clock import iso
from watcher.config import Config
from watcher.sinks.holding import holding_line, waits_for_digest
from watcher.sinks.labels import describe
from watcher.store import DeliveryRow, Store
from watcher.watch_status import notifier_rows

# What the `show` control offers, the first being the default.
SHOWS = {"undelivered": "not delivered yet", "dead": "dead", "all": "all"}
LIMIT = 200


@dataclass(frozen=True, slots=True)
class DeliveryLine:
    row: DeliveryRow
    what: str  # the event's sentence, or what the send held
    state: str  # pending, held, retrying, dead or delivered
    now: str

    @property
    def waiting_until(self) -> str | None:
        """When a pending, held or retrying row is tried next (None: never again)."""
        return self.row.next_attempt_at if self.row.state == "pending" else None

    @property
    def due(self) -> bool:
        """Pending and due: the next dispatch sends it (a daemon's, or cron's `once`)."""
        waiting = self.waiting_until
        return waiting is not None and waiting <= self.now


def delivery_state(row: DeliveryRow, now: str) -> str:
    if waits_for_digest(row, now):
        return "held"
    if row.state == "pending" and row.last_error is not None:
        return "retrying"
    return row.state


def outbox(config: Config, store: Store, now: datetime, show: str) -> dict[str, Any]:
    at = iso(now)
    notifiers = notifier_rows(config, store, now)
    held = store.outbox.held(at)
    for notifier in notifiers:
        hold = config.notifiers[notifier["notifier"]].hold()
        name = notifier["notifier"]
        notifier["holding"] = None if hold is None else holding_line(name, hold, held.get(name))
    rows = store.outbox.recent(show=show, limit=LIMIT)[::-1]
    lines = [DeliveryLine(row, describe([row]), delivery_state(row, at), at) for row in rows]
    return {
        "notifiers": notifiers,
        "deliveries": lines,
        "show": show,
        "shows": SHOWS,
        "limit": LIMIT,
        "any_delivery": bool(lines) or store.outbox.states() not in (None, {}),
    }
