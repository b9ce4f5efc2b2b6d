"""One poll of one watch, end to end: resolve, fetch, reconcile, commit.

The clients it polls with are built elsewhere (runtime.py); this module is the algorithm."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from watcher import metrics, progress
from watcher.alerts import FAILING, RECOVERED, Alert
from watcher.clock import Clock, iso
from watcher.config import Config, Watch
from watcher.errors import AccountNotFound, AccountUnavailable, WatcherError
from watcher.events import Event
from watcher.http.quota import PlatformPaused
from watcher.lock_wait import patiently
from watcher.platforms.base import Listing, Platform, Profile
from watcher.poll_lease import LEASE_DURATION, LeaseHolder, PollLease
from watcher.quiet_check import reason_to_read
from watcher.redaction import redact
from watcher.signals.rules import signal_rules
from watcher.sinks.base import one_line
from watcher.sinks.routing import routes
from watcher.snapshot import Changes, Reading, Timing, reconcile
from watcher.store import PollOutcome, ScratchMembers, SignalEvent, Store, WatchRow
from watcher.wording import describe, describe_envelope, watched_account

log = logging.getLogger("watcher.poll")
# Verifying rounds a baseline may take before it is left for the next poll to finish.
BASELINE_ROUNDS = 3


@dataclass(slots=True)
class Tally:
    """What one poll's list reads covered, over every pass it made (its requests are tallied
    apart, all of them: see `metrics.requests_tallied`)."""

    passes: int = 0
    pages: int = 0
    repairs: int = 0

    def add(self, listing: Listing) -> Listing:
        self.passes += listing.passes
        self.pages += listing.pages
        self.repairs += listing.repairs
        return listing


@dataclass(slots=True)
class PollReport:
    watch: Watch
    ok: bool
    error: str | None = None
    size: int = 0
    passes: int = 0
    pages: int = 0
    complete: bool = True
    baseline: bool = False
    duration: float = 0.0
    events: list[Event] = field(default_factory=list)
    # Pages re-read to repair gaps in tie groups (see offset_paging.py); the demo tells of them.
    repairs: int = 0
    # Why the poll recorded nothing though nothing failed: another process polls the watch,
    # or the platform is paused (its quota spent, a rate limit's hold: `paused`).
    skipped: str | None = None
    paused: bool = False
    # A counts check found the relation's count unchanged and did not read the list.
    counts_only: bool = False
    # The watched account's handle, once a poll resolved it: lines name the account by it
    # rather than by what the config says (a URL, an id, a share link).
    handle: str | None = None

    @property
    def account(self) -> str:
        """The watched account as lines name it (`wording.watched_account`)."""
        return watched_account(self.watch.account, self.handle)

    # Signals this poll's follows fired (recorded with them).
    signals: list[SignalEvent] = field(default_factory=list)

    @property
    def outcome(self) -> str:
        """ok, error or skipped (a skip is not a failure: `ok` stays true)."""
        return "error" if not self.ok else "skipped" if self.skipped else "ok"

    def line(self) -> str:
        """The one line a human reads for this poll."""
        who = f"{self.watch.platform} {self.account} {self.watch.relation}"
        if self.skipped:
            return f"skipped {who}: {self.skipped}"
        if not self.ok:
            return f"FAILED {who}: {self.error}"
        added = sum(1 for e in self.events if e.type.endswith(".added"))
        removed = len(self.events) - added
        note = " (baseline)" if self.baseline else "" if self.complete else " (incomplete)"
        if self.counts_only:
            note = " (count unchanged, list not read)"
        return (
            f"ok {who}: {self.size} entries, {self.passes} pass(es), {self.pages} page(s),"
            f" +{added} -{removed}{note} in {self.duration:.2f}s"
        )

    def fields(self) -> dict[str, object]:
        """The same facts as `line()`, as fields for JSON logs."""
        added = sum(1 for e in self.events if e.type.endswith(".added"))
        return {
            "platform": self.watch.platform,
            "account": self.account,
            "configured_account": self.watch.account,
            "relation": self.watch.relation,
            "outcome": self.outcome,
            "error": self.error,
            "size": self.size,
            "passes": self.passes,
            "pages": self.pages,
            "added": added,
            "removed": len(self.events) - added,
            "complete": self.complete,
            "baseline": self.baseline,
            "counts_only": self.counts_only,
            "duration_s": round(self.duration, 3),
        }


class Poller:
    """Polls watches against one store, never two polls of one watch at once.

    `config` and `platforms` are the runtime's current ones (it swaps them on reload); a poll
    takes its platform client when it starts reading.
    """

    def __init__(
        self,
        config: Config,
        store: Store,
        platforms: Mapping[str, Platform],
        *,
        clock: Clock,
        holder: LeaseHolder,
        lease_duration: timedelta = LEASE_DURATION,
        members_in_memory: int = 50_000,
    ) -> None:
        self.config = config
        self.store = store
        self.platforms = platforms
        self.clock = clock
        # Names this process in the poll leases it takes (see poll_lease.py).
        self.holder = holder
        self.lease_duration = lease_duration
        # A listing longer than this moves from a dict to a temporary table (flat memory).
        self.members_in_memory = members_in_memory
        self._locks: dict[str, asyncio.Lock] = {}

    async def poll(self, watch: Watch) -> PollReport:
        """Poll one watch; never two at once for the same watch. Never raises a WatcherError."""
        lock = self._locks.setdefault(watch.key, asyncio.Lock())
        async with lock:
            with metrics.platform_scope(watch.platform):
                try:
                    report = await self._poll_leased(watch)
                except Exception as exc:  # even recording the failure failed (a locked database)
                    report = PollReport(watch, ok=False, error=redact(failure_reason(exc, watch)))
        if report.handle is None:
            report.handle = self._stored_handle(watch)
        types = [e.type for e in report.events] + [s.type for s in report.signals]
        metrics.poll_finished(watch.platform, report.outcome, report.duration, types)
        return report

    def _stored_handle(self, watch: Watch) -> str | None:
        """The handle a poll stored for the watch's account; None before any resolved it,
        or when the database cannot say now (the line then names the account as configured)."""
        try:
            return self.store.watches.handle_of(watch.key)
        except sqlite3.Error:
            return None

    async def _poll_leased(self, watch: Watch) -> PollReport:
        """Poll under the watch's lease; skip the watch while another process holds it."""
        started = self.clock.now()
        clock_start = time.monotonic()
        # Each write waits out another process's lock off the loop (see lock_wait.py).
        row = await patiently(
            self.store,
            self.store.watches.ensure,
            watch.key,
            watch.platform,
            watch.account,
            watch.relation,
            iso(started),
        )
        lease = PollLease(self.store, row.id, self.holder, self.clock, self.lease_duration)
        busy = await patiently(self.store, lease.claim)
        if busy is not None:
            return PollReport(watch, ok=True, skipped=busy, duration=time.monotonic() - clock_start)
        members: ScratchMembers | None = None
        try:
            # Read again under the lease: another process may have recorded a poll meanwhile.
            row = self.store.watches.get(watch.key) or row
            platform = self.platforms[watch.platform]
            members = self.store.listings.scratch(self.members_in_memory)
            with progress.on_page(lease.keep), metrics.requests_tallied() as spent:
                one = _Poll(self, watch, row, platform, members, lease, started, clock_start)
                one.spent = spent
                return await one.run()
        finally:
            if members is not None:
                members.drop()
            lease.release()


@dataclass(slots=True)
class _Poll:
    """One poll of one watch under its lease: what it read so far, and each step of it."""

    poller: Poller
    watch: Watch
    row: WatchRow
    platform: Platform
    members: ScratchMembers
    lease: PollLease
    started: datetime
    clock_start: float  # time.monotonic() at the start, for the duration
    tally: Tally = field(default_factory=Tally)
    # Every platform request the poll made (retries and profile reads included).
    spent: metrics.RequestTally = field(default_factory=metrics.RequestTally)

    @property
    def store(self) -> Store:
        return self.poller.store

    @property
    def config(self) -> Config:
        return self.poller.config

    async def run(self) -> PollReport:
        """Read, reconcile and commit; any failure is this watch's failed poll, not a crash."""
        try:
            account = await self._account()
            self.lease.keep()
            if self._list_unneeded(account):
                return await self._commit(account, Changes(), baseline=False, counts_only=True)
            listing = self.tally.add(await self._read(account, self.members))
            baseline, changes = await self._changes(account, listing)
        except PlatformPaused as exc:
            # The platform's pause, not this watch's failure: reported once per platform.
            duration = time.monotonic() - self.clock_start
            return PollReport(self.watch, ok=True, skipped=exc.line, paused=True, duration=duration)
        except Exception as exc:
            return await self._failed(failure_reason(exc, self.watch))
        complete = baseline or (self.row.baseline_at is not None and listing.complete)
        return await self._commit(account, changes, baseline=baseline, complete=complete)

    def _list_unneeded(self, account: Profile) -> bool:
        """Whether a counts check may stop at the profile (see quiet_check.py)."""
        check, full_every = self.config.check_of(self.watch)
        if check != "counts" or self.row.baseline_at is None:
            return False
        stored = self.store.polls.counts_check_state(self.row.id)
        why = reason_to_read(account.count_of(self.watch.relation), stored, full_every)
        if why is not None:
            log.debug("%s reads its list: %s", self.watch.key, why)
        return why is None

    async def _changes(self, account: Profile, listing: Listing) -> tuple[bool, Changes]:
        """(whether a baseline was taken, the changes against what is stored)."""
        if self.row.baseline_at is None:
            return await self._baseline(account), Changes()
        changes = await reconcile(
            self._reading(self.members, listing, self.started),
            account=account,
            relation=self.watch.relation,
            timing=self._timing(self.started),
            read_again=lambda: self._read_again(account, not_empty=len(self.members) > 0),
            fetch_profiles=self.platform.profiles,
            fetch_profile=self.platform.profile,
        )
        return False, changes

    async def _commit(
        self,
        account: Profile,
        changes: Changes,
        *,
        baseline: bool,
        complete: bool = True,
        counts_only: bool = False,
    ) -> PollReport:
        """Record the poll and its events in one transaction, unless the lease was lost."""
        finished = self.poller.clock.now()
        events = self._events(account, changes)
        duration = time.monotonic() - self.clock_start
        outcome = self._outcome(
            account, changes, events, (finished, duration), baseline=baseline, complete=complete
        )
        if counts_only:  # the stored list stands as it is: its size is the last one read
            outcome.size, outcome.counts_only = self.row.size or 0, True
            outcome.listed = None
        committed = await patiently(
            self.store, self.store.polls.commit, self.platform.name, outcome
        )
        if not committed:
            return self._lost()
        self.lease.recorded()
        return PollReport(
            self.watch,
            ok=True,
            size=outcome.size,
            passes=self.tally.passes,
            pages=self.tally.pages,
            complete=complete,
            baseline=baseline,
            duration=duration,
            events=events,
            repairs=self.tally.repairs,
            counts_only=counts_only,
            handle=account.handle,
            signals=[fired.event for fired in outcome.fired],
        )

    def _outcome(
        self,
        account: Profile,
        changes: Changes,
        events: list[Event],
        times: tuple[datetime, float],
        *,
        baseline: bool,
        complete: bool,
    ) -> PollOutcome:
        """What the store records of a successful poll; `times`: (finished, duration)."""
        (finished, duration), row = times, self.row
        recovered = None
        if row.consecutive_failures:
            recovered = self._alert(RECOVERED, row.consecutive_failures, finished, account=account)
        return PollOutcome(
            watch_id=row.id,
            started_at=iso(self.started),
            finished_at=iso(finished),
            duration_ms=int(duration * 1000),
            account=account,
            profiles=changes.profiles,
            set_state=changes.set_state,
            delete=changes.delete,
            checked=changes.checked,
            adopt=self.members if row.baseline_at is None else None,
            listed=self.members,
            events=events,
            baseline=baseline,
            size=len(self.members),
            passes=self.tally.passes,
            pages=self.tally.pages,
            requests=self.spent.count,
            complete=complete,
            added=len(changes.added),
            removed=len(changes.removed),
            relation_count=account.count_of(self.watch.relation),
            routes=routes(self.config, self.watch),
            recovered=recovered,
            signals=signal_rules(self.config, self.watch) if events else (),
            lease=self.lease.check,
        )

    async def _read(
        self, account: Profile, members: ScratchMembers, *, verify: bool = False, at_least: int = 0
    ) -> Listing:
        watch = self.watch
        label = (
            f"{watch.platform} {watched_account(watch.account, account.handle)} {watch.relation}"
        )
        with progress.track(label, account.count_of(watch.relation)):
            return await self.platform.listing(
                account, watch.relation, members, verify=verify, at_least=at_least
            )

    def _timing(self, started: datetime) -> Timing:
        return Timing(started, settle=self.config.defaults.confirm_after)

    def _reading(self, members: ScratchMembers, listing: Listing, started: datetime) -> Reading:
        recheck_before = iso(self._timing(started).recheck_before())
        comparison = self.store.listings.compare(self.row.id, members, recheck_before)
        return Reading(listing, comparison, len(members))

    async def _read_again(self, account: Profile, *, not_empty: bool) -> Reading:
        """A verifying pass into a listing of its own, compared with what is stored. When the
        first pass listed anyone, an empty answer is doubted, never believed outright."""
        members = self.store.listings.scratch(self.poller.members_in_memory)
        try:
            listing = self.tally.add(
                await self._read(account, members, verify=True, at_least=int(not_empty))
            )
            return self._reading(members, listing, self.poller.clock.now())
        finally:
            members.drop()

    async def _baseline(self, account: Profile) -> bool:
        """Verifying rounds pooled into the first pass's listing until one adds nobody: a
        baseline that missed an account would later report it as a false new follow."""
        size = len(self.members)
        for _ in range(BASELINE_ROUNDS):
            again = self.tally.add(await self._read(account, self.members, verify=True))
            grown, size = len(self.members) > size, len(self.members)
            if again.complete and not grown:
                return True
        return False

    async def _failed(self, message: str) -> PollReport:
        message = redact(message)  # a peer may echo a credential in its error text
        duration = time.monotonic() - self.clock_start
        failed_at = self.poller.clock.now()
        alert_after = self.config.defaults.alert_after
        failures = self.row.consecutive_failures + 1
        recorded = await patiently(
            self.store,
            self.store.polls.record_failure,
            self.row.id,
            iso(self.started),
            iso(failed_at),
            int(duration * 1000),
            message,
            routes=routes(self.config, self.watch),
            # Whether this failure is the one that alerts is decided by the store, in the
            # transaction that counts it: the one place the rule lives.
            failing=self._alert(FAILING, failures, failed_at, error=message)
            if alert_after > 0
            else None,
            alert_after=alert_after,
            lease=self.lease.check,
        )
        if not recorded:
            return self._lost()
        self.lease.recorded()
        return PollReport(self.watch, ok=False, error=message, duration=duration)

    def _lost(self) -> PollReport:
        """A poll whose record was refused: another process took the watch meanwhile (its
        lease ran out mid-poll). It recorded nothing, so it is a skip, not a failure."""
        duration = time.monotonic() - self.clock_start
        return PollReport(self.watch, ok=True, skipped=self.lease.lost_reason(), duration=duration)

    def _alert(
        self,
        type_: str,
        failures: int,
        moment: datetime,
        *,
        error: str | None = None,
        account: Profile | None = None,
    ) -> Alert:
        """A failing/recovered alert naming the account as last seen (or as configured)."""
        watch, row = self.watch, self.row
        if account is None and row.account_id:
            account = self.store.profiles.get(watch.platform, [row.account_id]).get(row.account_id)
        if account is None:
            account = Profile("", watch.account, watch.account, "")
        return Alert.create(
            type_,
            platform=watch.platform,
            relation=watch.relation,
            account=account,
            failures=failures,
            moment=moment,
            error=error,
        )

    async def _account(self) -> Profile:
        """The watched account's current profile; a gone or deactivated one fails the poll."""
        row = self.row
        if row.account_id is None:
            account = await self.platform.resolve(row.account)
            await patiently(self.store, self.store.watches.set_account_id, row.id, account.id)
        else:
            found = await self.platform.profile(row.account_id)
            if found is None:
                raise AccountNotFound(
                    f"account {row.account!r} (id {row.account_id}) no longer exists"
                )
            account = found
        if account.deactivated:
            raise AccountUnavailable(f"account {row.account!r} is deactivated")
        return account

    def _events(self, account: Profile, changes: Changes) -> list[Event]:
        moment = self.poller.clock.now()
        return [
            Event.create(
                platform=self.watch.platform,
                relation=self.watch.relation,
                added=added,
                account=account,
                target=target,
                moment=moment,
            )
            for added, targets in ((True, changes.added), (False, changes.removed))
            for target in targets
        ]


def failure_reason(exc: Exception, watch: Watch) -> str:
    """One line for a failed poll. Our own errors say what happened; anything else (a library's
    or Python's: an OverflowError, a RecursionError) is named by its type, and its traceback
    goes to the debug log."""
    if isinstance(exc, WatcherError):
        return one_line(str(exc))
    log.debug("poll of %s failed unexpectedly", watch.key, exc_info=exc)
    return one_line(f"unexpected {type(exc).__name__}: {exc}")


def log_report(report: PollReport) -> None:
    """One poll as log lines, the same from `watcher once --log-format json` and the daemon:
    its summary (fields for JSON logs), then one line per event."""
    (log.info if report.ok else log.warning)(report.line(), extra=report.fields())
    for event in report.events:
        log.info(
            "%s",
            describe(event),
            extra={"event_id": event.id, "type": event.type, "target_id": event.target.id},
        )
    for signal in report.signals:
        log.info(
            "%s",
            describe_envelope(signal.envelope()),
            extra={"event_id": signal.id, "type": signal.type, "target_id": signal.target.id},
        )
