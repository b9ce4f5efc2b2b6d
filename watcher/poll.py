"""One poll of one watch (resolve, fetch, reconcile, commit), and the engine owning the clients."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import httpx

from watcher import __version__, metrics, progress
from watcher.alerts import FAILING, RECOVERED, Alert
from watcher.budget import RequestBudget
from watcher.clock import Clock, SystemClock, iso
from watcher.config import Config, Watch
from watcher.connections import Connections
from watcher.direct_http import DirectClient, open_client
from watcher.errors import AccountNotFound, AccountUnavailable, WatcherError
from watcher.events import Event
from watcher.lock_wait import patiently
from watcher.platforms import registry
from watcher.platforms.base import Listing, Platform, Profile
from watcher.poll_lease import LEASE_DURATION, LeaseHolder, PollLease
from watcher.redaction import redact
from watcher.retry import RetryPolicy
from watcher.sinks.base import one_line
from watcher.sinks.routing import routes
from watcher.snapshot import Changes, Reading, Timing, reconcile
from watcher.store import PollOutcome, ScratchMembers, Store, WatchRow

log = logging.getLogger("watcher.poll")
# Builds a platform's budget from (requests per second, max concurrent); tests pass one
# running on virtual time.
BudgetFactory = Callable[[float, int], RequestBudget]
# Verifying rounds a baseline may take before it is left for the next poll to finish.
BASELINE_ROUNDS = 3


@dataclass(slots=True)
class Tally:
    """What one poll's reads cost, over every pass it made."""

    passes: int = 0
    pages: int = 0
    requests: int = 0

    def add(self, listing: Listing) -> Listing:
        self.passes += listing.passes
        self.pages += listing.pages
        self.requests += listing.requests
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
    # Why the poll recorded nothing though nothing failed: another process polls the watch.
    skipped: str | None = None

    @property
    def outcome(self) -> str:
        """ok, error or skipped (a skip is not a failure: `ok` stays true)."""
        return "error" if not self.ok else "skipped" if self.skipped else "ok"

    def line(self) -> str:
        """The one line a human reads for this poll."""
        who = f"{self.watch.platform} {self.watch.account} {self.watch.relation}"
        if self.skipped:
            return f"skipped {who}: {self.skipped}"
        if not self.ok:
            return f"FAILED {who}: {self.error}"
        added = sum(1 for e in self.events if e.type.endswith(".added"))
        removed = len(self.events) - added
        note = " (baseline)" if self.baseline else "" if self.complete else " (incomplete)"
        return (
            f"ok {who}: {self.size} entries, {self.passes} pass(es), {self.pages} page(s),"
            f" +{added} -{removed}{note} in {self.duration:.2f}s"
        )

    def fields(self) -> dict[str, object]:
        """The same facts as `line()`, as fields for JSON logs."""
        added = sum(1 for e in self.events if e.type.endswith(".added"))
        return {
            "platform": self.watch.platform,
            "account": self.watch.account,
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
            "duration_s": round(self.duration, 3),
        }


class Engine:
    """Owns the HTTP client and the platform clients; polls watches against one store."""

    def __init__(
        self,
        config: Config,
        store: Store,
        *,
        clock: Clock | None = None,
        retry: RetryPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        budget_factory: BudgetFactory = RequestBudget,
        members_in_memory: int = 50_000,
        holder: LeaseHolder | None = None,
        lease_duration: timedelta = LEASE_DURATION,
    ) -> None:
        self.config = config
        self.store = store
        self.clock = clock or SystemClock()
        # Names this engine in the poll leases it takes (see poll_lease.py).
        self.holder = holder or LeaseHolder.this_process()
        self._lease_duration = lease_duration
        self._transport = transport
        # A listing longer than this moves from a dict to a temporary table (flat memory).
        self._members_in_memory = members_in_memory
        # One TLS context for every client: building one reads the CA bundle (~50 ms).
        self._tls = httpx.create_ssl_context()
        self._connections: list[Connections] = []
        self._retry = retry or RetryPolicy()
        self._budget_factory = budget_factory
        self.platforms: dict[str, Platform] = {
            name: registry.create(name, self._context(config, name))
            for name in {w.platform for w in config.watch}
        }
        self._retired: list[Platform] = []
        self._locks: dict[str, asyncio.Lock] = {}

    def reconfigure(self, config: Config) -> None:
        """Take a reloaded config. Platform clients are rebuilt when platform settings changed;
        polls in flight finish with the clients they started with (closed at `aclose`)."""
        unchanged = _platform_settings(config) == _platform_settings(self.config)
        for name in sorted({w.platform for w in config.watch}):
            if unchanged and name in self.platforms:
                continue
            if name in self.platforms:
                self._retired.append(self.platforms[name])
            self.platforms[name] = registry.create(name, self._context(config, name))
        for connections in self._connections:
            connections.set_timeout(config.defaults.timeout)
        self.config = config

    def _context(self, config: Config, platform: str) -> registry.PlatformContext:
        """What one platform's client gets, with the one request budget all its watches share."""
        settings = config.platform_settings(platform)
        budget = self._budget_factory(settings.requests_per_second, settings.max_concurrent)
        connections = Connections(self._client)
        self._connections.append(connections)
        return registry.PlatformContext(
            config, connections, self.store, self._retry, self.clock, budget
        )

    def _client(self, limits: httpx.Limits) -> DirectClient:
        return open_client(
            timeout=self.config.defaults.timeout,
            headers={"User-Agent": f"watcher/{__version__}"},
            transport=self._transport,
            limits=limits,
            verify=self._tls,
        )

    async def aclose(self) -> None:
        for platform in [*self.platforms.values(), *self._retired]:
            await platform.aclose()
        for connections in self._connections:
            await connections.aclose()

    async def poll_all(self, watches: Sequence[Watch] | None = None) -> list[PollReport]:
        return list(await asyncio.gather(*(self.poll(w) for w in watches or self.config.watch)))

    async def poll(self, watch: Watch) -> PollReport:
        """Poll one watch; never two at once for the same watch. Never raises a WatcherError."""
        lock = self._locks.setdefault(watch.key, asyncio.Lock())
        async with lock:
            with metrics.platform_scope(watch.platform):
                try:
                    report = await self._poll_locked(watch)
                except Exception as exc:  # even recording the failure failed (a locked database)
                    report = PollReport(watch, ok=False, error=redact(failure_reason(exc, watch)))
        metrics.poll_finished(
            watch.platform, report.outcome, report.duration, [e.type for e in report.events]
        )
        return report

    async def _poll_locked(self, watch: Watch) -> PollReport:
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
        lease = PollLease(self.store, row.id, self.holder, self.clock, self._lease_duration)
        busy = await patiently(self.store, lease.claim)
        if busy is not None:
            return PollReport(watch, ok=True, skipped=busy, duration=time.monotonic() - clock_start)
        members: ScratchMembers | None = None
        try:
            # Read again under the lease: another process may have recorded a poll meanwhile.
            row = self.store.watches.get(watch.key) or row
            platform = self.platforms[watch.platform]
            members = self.store.listings.scratch(self._members_in_memory)
            with progress.on_page(lease.keep):
                return await self._poll_into(
                    watch, row, platform, members, started, clock_start, lease
                )
        finally:
            if members is not None:
                members.drop()
            lease.release()

    async def _poll_into(
        self,
        watch: Watch,
        row: WatchRow,
        platform: Platform,
        members: ScratchMembers,
        started: datetime,
        clock_start: float,
        lease: PollLease,
    ) -> PollReport:
        tally = Tally()
        try:
            account = await self._account(platform, row)
            lease.keep()
            listing = tally.add(await self._read(platform, watch, account, members))
            if row.baseline_at is None:
                changes = Changes()
                baseline = await self._baseline(platform, watch, account, members, tally)
            else:
                baseline = False
                changes = await reconcile(
                    self._reading(row.id, members, listing, started),
                    account=account,
                    relation=watch.relation,
                    timing=self._timing(started),
                    read_again=lambda: self._read_again(
                        platform, watch, account, row, tally, not_empty=len(members) > 0
                    ),
                    fetch_profiles=platform.profiles,
                    fetch_profile=platform.profile,
                )
        except Exception as exc:  # whatever it is, it is this watch's failed poll, not a crash
            reason = failure_reason(exc, watch)
            return await self._failed(watch, row, started, clock_start, reason, lease)
        finished = self.clock.now()
        events = self._events(watch, account, changes)
        duration = time.monotonic() - clock_start
        size = len(members)
        committed = await patiently(
            self.store,
            self.store.polls.commit,
            platform.name,
            PollOutcome(
                watch_id=row.id,
                started_at=iso(started),
                finished_at=iso(finished),
                duration_ms=int(duration * 1000),
                account=account,
                profiles=changes.profiles,
                set_state=changes.set_state,
                delete=changes.delete,
                checked=changes.checked,
                adopt=members if row.baseline_at is None else None,
                events=events,
                baseline=baseline,
                size=size,
                passes=tally.passes,
                pages=tally.pages,
                requests=tally.requests,
                complete=baseline or (row.baseline_at is not None and listing.complete),
                added=len(changes.added),
                removed=len(changes.removed),
                routes=routes(self.config, watch),
                recovered=self._alert(
                    RECOVERED, watch, row, row.consecutive_failures, finished, account=account
                )
                if row.consecutive_failures
                else None,
                lease=lease.check,
            ),
        )
        if not committed:
            return self._lost(watch, lease, clock_start)
        lease.recorded()
        return PollReport(
            watch,
            ok=True,
            size=size,
            passes=tally.passes,
            pages=tally.pages,
            complete=baseline or (row.baseline_at is not None and listing.complete),
            baseline=baseline,
            duration=duration,
            events=events,
        )

    async def _read(
        self,
        platform: Platform,
        watch: Watch,
        account: Profile,
        members: ScratchMembers,
        *,
        verify: bool = False,
        at_least: int = 0,
    ) -> Listing:
        label = f"{watch.platform} {watch.account} {watch.relation}"
        with progress.track(label, account.count_of(watch.relation)):
            return await platform.listing(
                account, watch.relation, members, verify=verify, at_least=at_least
            )

    def _timing(self, started: datetime) -> Timing:
        return Timing(started, settle=self.config.defaults.confirm_after)

    def _reading(
        self, watch_id: int, members: ScratchMembers, listing: Listing, started: datetime
    ) -> Reading:
        recheck_before = iso(self._timing(started).recheck_before())
        comparison = self.store.listings.compare(watch_id, members, recheck_before)
        return Reading(listing, comparison, len(members))

    async def _read_again(
        self,
        platform: Platform,
        watch: Watch,
        account: Profile,
        row: WatchRow,
        tally: Tally,
        *,
        not_empty: bool,
    ) -> Reading:
        """A verifying pass into a listing of its own, compared with what is stored. When the
        first pass listed anyone, an empty answer is doubted, never believed outright."""
        members = self.store.listings.scratch(self._members_in_memory)
        try:
            listing = tally.add(
                await self._read(
                    platform, watch, account, members, verify=True, at_least=int(not_empty)
                )
            )
            return self._reading(row.id, members, listing, self.clock.now())
        finally:
            members.drop()

    async def _baseline(
        self,
        platform: Platform,
        watch: Watch,
        account: Profile,
        members: ScratchMembers,
        tally: Tally,
    ) -> bool:
        """Verifying rounds pooled into the first pass's listing until one adds nobody: a
        baseline that missed an account would later report it as a false new follow."""
        size = len(members)
        for _ in range(BASELINE_ROUNDS):
            again = tally.add(await self._read(platform, watch, account, members, verify=True))
            grown, size = len(members) > size, len(members)
            if again.complete and not grown:
                return True
        return False

    async def _failed(
        self,
        watch: Watch,
        row: WatchRow,
        started: datetime,
        clock_start: float,
        message: str,
        lease: PollLease,
    ) -> PollReport:
        message = redact(message)  # a peer may echo a credential in its error text
        duration = time.monotonic() - clock_start
        failed_at = self.clock.now()
        alert_after = self.config.defaults.alert_after
        failures = row.consecutive_failures + 1
        recorded = await patiently(
            self.store,
            self.store.polls.record_failure,
            row.id,
            iso(started),
            iso(failed_at),
            int(duration * 1000),
            message,
            routes=routes(self.config, watch),
            # Whether this failure is the one that alerts is decided by the store, in the
            # transaction that counts it: the one place the rule lives.
            failing=self._alert(FAILING, watch, row, failures, failed_at, error=message)
            if alert_after > 0
            else None,
            alert_after=alert_after,
            lease=lease.check,
        )
        if not recorded:
            return self._lost(watch, lease, clock_start)
        lease.recorded()
        return PollReport(watch, ok=False, error=message, duration=duration)

    def _lost(self, watch: Watch, lease: PollLease, clock_start: float) -> PollReport:
        """A poll whose record was refused: another process took the watch meanwhile (its
        lease ran out mid-poll). It recorded nothing, so it is a skip, not a failure."""
        duration = time.monotonic() - clock_start
        return PollReport(watch, ok=True, skipped=lease.lost_reason(), duration=duration)

    def _alert(
        self,
        type_: str,
        watch: Watch,
        row: WatchRow,
        failures: int,
        moment: datetime,
        *,
        error: str | None = None,
        account: Profile | None = None,
    ) -> Alert:
        """A failing/recovered alert naming the account as last seen (or as configured)."""
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

    async def _account(self, platform: Platform, row: WatchRow) -> Profile:
        """The watched account's current profile; a gone or deactivated one fails the poll."""
        if row.account_id is None:
            account = await platform.resolve(row.account)
            await patiently(self.store, self.store.watches.set_account_id, row.id, account.id)
        else:
            found = await platform.profile(row.account_id)
            if found is None:
                raise AccountNotFound(
                    f"account {row.account!r} (id {row.account_id}) no longer exists"
                )
            account = found
        if account.deactivated:
            raise AccountUnavailable(f"account {row.account!r} is deactivated")
        return account

    def _events(self, watch: Watch, account: Profile, changes: Changes) -> list[Event]:
        moment = self.clock.now()
        return [
            Event.create(
                platform=watch.platform,
                relation=watch.relation,
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


def _platform_settings(config: Config) -> dict[str, object]:
    """Everything platform clients may depend on: all but watches, notifiers and daemon setup."""
    return config.model_dump(exclude={"watch", "notifiers", "http", "log"})


def log_report(report: PollReport) -> None:
    """One poll as log lines, the same from `watcher once --log-format json` and the daemon:
    its summary (fields for JSON logs), then one line per event."""
    (log.info if report.ok else log.warning)(report.line(), extra=report.fields())
    for event in report.events:
        log.info(
            "event %s %s -> %s",
            event.type,
            event.account.handle,
            event.target.handle,
            extra={"event_id": event.id, "type": event.type, "target_id": event.target.id},
        )
