"""One poll of a watch at a time across processes: the watch's lease, held for one poll.

A `watcher once` from cron beside the daemon, or two cron runs that overlap, share one
database. Without a lease both would poll a watch at once and record the same change twice,
under two event ids. So a poll first claims the watch's lease (a short write transaction),
renews it while pages keep coming (a list of a million followers takes minutes), and drops
it when the poll is recorded or given up. A process that finds another holding the lease
skips the watch. A holder that dies keeps the watch only until the lease runs out, and not
even that long for a process of the same host: a lease whose pid is gone is taken over.

The lease alone cannot stop a holder that stalled past its lease from committing late, so
the store also refuses a poll's record unless the lease is still the poller's and the
watch's generation (one more per recorded poll) is the one the poll started from.
"""

from __future__ import annotations

import logging
import os
import socket
import sqlite3
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from watcher.clock import Clock, iso
from watcher.store import LeaseCheck, PollLeaseRow, Store

# Long enough for the slowest stretch between two pages (retries, a throttled budget), short
# enough that a watch whose poller died is polled again soon after.
LEASE_DURATION = timedelta(minutes=5)

log = logging.getLogger("watcher.poll")


@dataclass(frozen=True, slots=True)
class LeaseHolder:
    """Who holds leases: an id unique to this process's engine, and a pid and host to name it."""

    id: str
    pid: int
    host: str

    @classmethod
    def this_process(cls) -> LeaseHolder:
        return cls(uuid.uuid4().hex, os.getpid(), socket.gethostname())


class PollLease:
    """One watch's lease for one poll: `claim`, then `keep` as the poll progresses; the
    poll's record releases it, and `release` does so if the poll ends otherwise."""

    def __init__(
        self,
        store: Store,
        watch_id: int,
        holder: LeaseHolder,
        clock: Clock,
        duration: timedelta = LEASE_DURATION,
    ) -> None:
        self._store = store
        self._watch_id = watch_id
        self._holder = holder
        self._clock = clock
        self._duration = duration
        self._renew_at: datetime | None = None
        self._generation = 0
        self.lost = False  # a renewal found another process holding the watch

    def claim(self) -> str | None:
        """None once this process holds the watch; else why not, naming the process that does.

        A lease whose holder ran on this host and is gone (killed mid-poll, say) is taken over
        at once rather than waited out; should that judgement ever be wrong (another pid
        namespace under the same host name), the generation check still lets only one of the
        two polls commit.
        """
        now = self._clock.now()
        lease = self._take(now)
        if lease.holder != self._holder.id and self._gone(lease):
            log.info(
                "taking over the poll lease of watch %s from pid %s, which is gone",
                self._watch_id,
                lease.pid,
            )
            lease = self._take(now, dead_holder=lease.holder)
        if lease.holder != self._holder.id:
            return f"being polled by {self._name(lease)}"
        self._generation = lease.generation
        self._renew_at = now + self._duration / 3
        return None

    @property
    def check(self) -> LeaseCheck:
        """What the poll's record must still find: this lease, and the generation it began at."""
        return LeaseCheck(self._holder.id, self._generation)

    def keep(self, _entries: int = 0) -> None:
        """Renew the lease once a third of it has passed (a page hook: cheap when not due)."""
        if self._renew_at is None or self.lost:
            return
        now = self._clock.now()
        if now < self._renew_at:
            return
        try:
            kept = self._store.leases.renew(
                self._watch_id, self._holder.id, iso(now + self._duration)
            )
        except sqlite3.Error as exc:
            # The record's own check still stops a poll that loses the watch meanwhile.
            log.warning("could not renew the poll lease of watch %s: %s", self._watch_id, exc)
            return
        self._renew_at = now + self._duration / 3
        self.lost = not kept

    def lost_reason(self) -> str:
        """Why the poll's record was refused, naming the process that holds the watch now."""
        lease = self._store.leases.get(self._watch_id)
        if lease is not None and lease.holder != self._holder.id:
            return f"lost its lease to {self._name(lease)}"
        return "lost its lease: another process recorded a poll of it meanwhile"

    def recorded(self) -> None:
        """The poll's record released the lease with it: nothing is left to release."""
        self._renew_at = None

    def release(self) -> None:
        """Drop the lease if still held (the poll's record already dropped it if it committed)."""
        if self._renew_at is None:
            return
        self._renew_at = None
        try:
            self._store.leases.release(self._watch_id, self._holder.id)
        except sqlite3.Error as exc:
            log.warning(
                "could not release the poll lease of watch %s (it runs out by itself): %s",
                self._watch_id,
                exc,
            )

    def _take(self, now: datetime, dead_holder: str = "") -> PollLeaseRow:
        return self._store.leases.claim(
            self._watch_id,
            self._holder.id,
            self._holder.pid,
            self._holder.host,
            iso(now),
            iso(now + self._duration),
            dead_holder=dead_holder,
        )

    def _gone(self, lease: PollLeaseRow) -> bool:
        return holder_gone(lease.pid, lease.host, self._holder.host)

    def _name(self, lease: PollLeaseRow) -> str:
        where = "" if lease.host == self._holder.host else f" on {lease.host}"
        return f"pid {lease.pid}{where}"


def holder_gone(pid: int, host: str, this_host: str) -> bool:
    """True only when a holder surely no longer runs: a pid of this host that is free.
    (A reused pid looks alive: the lease is then waited out, the safe side.)"""
    if host != this_host or pid <= 0:  # kill(0) signals our group
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # exists, but not ours to signal
        return False
    return False
