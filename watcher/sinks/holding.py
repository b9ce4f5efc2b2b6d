"""Holding a notifier's messages for a digest: its schedule and quiet hours, applied to outbox rows.

A held message is an ordinary outbox row, written in the poll's transaction like any other
(see `Outbox.enqueue`), so it shares the outbox's guarantees. What holds it is where it is put:

* `next_attempt_at` is the time it may go out: the schedule's next time after the row was
  written (moved to the end of the quiet hours if it falls inside them), or, without a
  schedule, the end of the quiet hours the row was written in;
* `batch` is `held <due> <spec>`, the due time and the settings that chose it
  (`daily 09:00|22:00-08:00|Europe/Berlin|-`; see `Hold.spec`).

Dispatchers pick rows by `next_attempt_at <= now` as always, so a digest goes out the first time
any dispatcher runs at or after its due time (the daemon wakes for it, a `watcher once` from
cron sends one that fell due since its last run, a daemon that was down sends it when it
starts) and never before. Every held event row of a notifier that is due is one message (the
dispatcher groups them, across watches), sent once and then marked delivered in one
transaction, as any Apprise message: a crash between the send and the mark sends the same
digest again after the restart, never a part of it, never its events one by one.

Changing the settings: the first dispatch with a config whose settings for a notifier differ
from the spec its waiting rows carry (due later, never attempted) places those rows again, by
the new settings, as if they were written at that moment: later, earlier, or due at once (still
one digest) when the notifier no longer holds messages. A notifier removed from the config gets
its rows due at once, where the dispatcher buries them as for any removed notifier. Rows
already due keep their time and go out now. A row is moved, never copied or dropped: no event
is lost or sent twice by a change.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from watcher.clock import iso, parse_iso
from watcher.digest_times import QuietHours, Schedule

if TYPE_CHECKING:  # reading a config loads this module; the store only when replanning
    from watcher.store.outbox import DeliveryRow, Outbox

HELD = "held "
# The spec of a notifier that holds nothing (and of one removed from the config).
NOT_HELD = "-"


@dataclass(frozen=True, slots=True)
class Hold:
    """A notifier's schedule and quiet hours, in its time zone."""

    zone: ZoneInfo
    schedule: Schedule | None = None
    quiet: QuietHours | None = None
    quiet_alerts: bool = False  # alerts wait out the quiet hours too

    @property
    def spec(self) -> str:
        """The settings that place rows, as stored in their batch: a change shows as a new spec."""
        return "|".join(
            [
                self.schedule.text if self.schedule else "-",
                self.quiet.text if self.quiet else "-",
                self.zone.key,
                "alerts" if self.quiet_alerts else "-",
            ]
        )

    def due(self, kind: str, moment: datetime) -> datetime | None:
        """When a row of `kind` ("event" or "alert") written at `moment` may go out; None: now.

        Alerts (a watch failing or recovered, a spent quota) are never scheduled, and wait out
        the quiet hours only with `quiet_alerts`."""
        if kind != "event":
            if self.quiet is None or not self.quiet_alerts:
                return None
            return self.quiet.end_after(moment, self.zone)
        if self.schedule is not None:
            at = self.schedule.next_after(moment, self.zone)
            later = self.quiet.end_after(at, self.zone) if self.quiet else None
            return later or at
        return self.quiet.end_after(moment, self.zone) if self.quiet else None

    def place(self, kind: str, now: str) -> tuple[str, str] | None:
        """(batch, due) of a row of `kind` written at `now`; None: sent as it comes."""
        due = self.due(kind, parse_iso(now))
        if due is None:
            return None
        at = iso(due)
        return f"{HELD}{at} {self.spec}", at

    def describe(self) -> str:
        """`digest daily 09:00, quiet 22:00-08:00 (alerts too), Europe/Berlin`."""
        parts = [f"digest {self.schedule.text}"] if self.schedule else []
        if self.quiet:
            parts.append(f"quiet {self.quiet.text}{' (alerts too)' if self.quiet_alerts else ''}")
        return f"{', '.join(parts)}, {self.zone.key}"

    def local(self, at: str) -> str:
        """A stored UTC time as the notifier's wall clock shows it: `09:00 Europe/Berlin`."""
        return f"{parse_iso(at).astimezone(self.zone):%a %H:%M} {self.zone.key}"


def is_held(batch: str) -> bool:
    return batch.startswith(HELD)


def held_spec(batch: str) -> str | None:
    """The spec a held row was placed by; None for a row that was never held."""
    if not is_held(batch):
        return None
    parts = batch.split(" ", 2)
    return parts[2] if len(parts) == 3 else None


def replan(outbox: Outbox, hold_of: Callable[[str], Hold | None], now: str) -> int:
    """Place again the waiting held rows whose notifier's settings changed (see the module's
    docstring); returns how many moved. `hold_of` gives a notifier's current hold, None when
    it holds nothing or is gone."""
    moves: list[tuple[str, str, int]] = []
    for delivery_id, notifier, kind, batch in outbox.held_waiting(now):
        hold = hold_of(notifier)
        spec = hold.spec if hold is not None else NOT_HELD
        if held_spec(batch) == spec:
            continue
        placed = hold.place(kind, now) if hold is not None else None
        new_batch, due = placed or (f"{HELD}{now} {spec}", now)
        moves.append((new_batch, due, delivery_id))
    outbox.move(moves)
    return len(moves)


def waits_for_digest(row: DeliveryRow, now: str) -> bool:
    """Whether a row is held for its digest right now (not due yet, never attempted, at the
    time its batch names): what `watcher deliveries` shows as `held`."""
    if row.state != "pending" or row.attempts or not is_held(row.batch):
        return False
    due = row.batch[len(HELD) : len(HELD) + 20]
    return row.next_attempt_at == due and due > now


def holding_line(name: str, hold: Hold, held: tuple[int, str] | None) -> str:
    """Why a notifier is quiet, for `watcher status` and `watcher deliveries`:
    `team holds its messages (digest daily 09:00, Europe/Berlin): 4 held for the digest at
    2026-03-30T07:00:00Z (Mon 09:00 Europe/Berlin)`."""
    head = f"{name} holds its messages ({hold.describe()})"
    if held is None:
        return f"{head}: none held now"
    count, due = held
    what = "delivery" if count == 1 else "deliveries"
    return f"{head}: {count} {what} held for the digest at {due} ({hold.local(due)})"
