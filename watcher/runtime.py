"""The running parts built from a config: one HTTP client, the platform clients (each with
the request budget all its watches share), the poller and the dispatcher.

The CLI (`watcher once`) and the daemon (`watcher run`) both start from here, and a SIGHUP
reload goes through `reconfigure`, so what a poll runs with is wired in one place and the
poll itself (poll.py) only polls.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import httpx

from watcher.clock import Clock, SystemClock
from watcher.config import Config, Watch
from watcher.http.budget import RequestBudget
from watcher.http.client import open_client
from watcher.http.json_client import JsonClient
from watcher.http.quota import PlatformPaused, QuotaGate
from watcher.http.retry import RetryPolicy
from watcher.http.shared_pace import SharedPace
from watcher.http.shared_slots import SharedSlots
from watcher.http.transport import Transport
from watcher.lock_wait import patiently
from watcher.platforms import registry
from watcher.platforms.base import Platform
from watcher.poll import Poller, PollReport
from watcher.poll_lease import LEASE_DURATION, LeaseHolder
from watcher.store import Store
from watcher.store.quotas import Limits

if TYPE_CHECKING:
    from watcher.sinks.dispatcher import Dispatcher

# Builds a platform's budget from (requests per second, max concurrent); tests pass one
# running on virtual time.
BudgetFactory = Callable[[float, int], RequestBudget]


class Runtime:
    """Everything a config asks to run, against one store; rebuilt in part on reload."""

    def __init__(
        self,
        config: Config,
        store: Store,
        *,
        transport: Transport | httpx.AsyncBaseTransport | None = None,
        clock: Clock | None = None,
        retry: RetryPolicy | None = None,
        budget_factory: BudgetFactory = RequestBudget,
        members_in_memory: int = 50_000,
        holder: LeaseHolder | None = None,
        lease_duration: timedelta = LEASE_DURATION,
    ) -> None:
        self.config = config
        self.store = store
        # One client, one connection pool, for every platform and notifier: each platform's
        # budget bounds how many of its requests are in flight, and each notifier's lane sends
        # one message at a time, so the pool sets no limit of its own.
        self.http = open_client(
            timeout=config.defaults.timeout,
            transport=transport,
            limits=httpx.Limits(max_connections=None),
        )
        self.clock = clock or SystemClock()
        self._retry = retry or RetryPolicy()
        self._budget_factory = budget_factory
        self.gates: dict[str, QuotaGate] = {}
        self._retired_gates: list[QuotaGate] = []
        self._in_flight: dict[str, int] = {}
        self._slots: list[SharedSlots] = []
        self._holder = holder or LeaseHolder.this_process()
        self.platforms: dict[str, Platform] = {
            name: self._platform(config, name) for name in {w.platform for w in config.watch}
        }
        self._retired: list[Platform] = []
        self.poller = Poller(
            config,
            store,
            self.platforms,
            clock=self.clock,
            holder=self._holder,
            lease_duration=lease_duration,
            members_in_memory=members_in_memory,
        )
        self.dispatcher: Dispatcher | None = None

    @property
    def holder(self) -> LeaseHolder:
        """Names this runtime in the poll leases it takes (see poll_lease.py)."""
        return self.poller.holder

    def _platform(self, config: Config, name: str) -> Platform:
        """A platform client with its own budget and quota gate, which every one of its
        requests passes; the budget keeps to the pace and the concurrency all processes on
        the database share."""
        settings = config.platform_settings(name)
        budget = self._budget_factory(settings.requests_per_second, settings.max_concurrent)
        budget.share(
            SharedPace(
                name, self.store, settings.requests_per_second, budget.monotonic, budget.sleep
            )
        )
        slots = SharedSlots(
            name, self.store, settings.max_concurrent, self._holder, budget.monotonic
        )
        budget.share_slots(slots)
        self._slots.append(slots)
        limits = Limits(settings.requests_per_month, settings.requests_per_day)
        self.gates[name] = gate = QuotaGate(name, self.store, self.clock, limits)
        http = JsonClient(self.http, retry=self._retry, budget=budget, quota=gate)
        return registry.create(name, registry.PlatformContext(config, http, self.store, self.clock))

    def pauses(self) -> list[PlatformPaused]:
        """The platforms paused during this runtime's polls (quota spent, held), one each."""
        return [pause for gate in self.gates.values() for pause in gate.pauses[-1:]]

    def reconfigure(self, config: Config) -> None:
        """Take a reloaded config. Platform clients are rebuilt when platform settings changed;
        polls in flight finish with the clients they started with (closed at `aclose`)."""
        unchanged = _platform_settings(config) == _platform_settings(self.config)
        for name in sorted({w.platform for w in config.watch}):
            if unchanged and name in self.platforms:
                continue
            if name in self.platforms:
                self._retired.append(self.platforms[name])
                self._retired_gates.append(self.gates[name])
            self.platforms[name] = self._platform(config, name)
        self.http.timeout = httpx.Timeout(config.defaults.timeout)
        self.config = self.poller.config = config
        if self.dispatcher is not None:
            self.dispatcher.config = config

    async def poll(self, watch: Watch) -> PollReport:
        """Poll one watch (see `Poller.poll`): never raises a WatcherError. When no other
        poll of its platform is in flight, the requests its gate claimed but did not send go
        back to the quota, so the database's count is what was sent between polls."""
        name = watch.platform
        self._in_flight[name] = self._in_flight.get(name, 0) + 1
        try:
            return await self.poller.poll(watch)
        finally:
            self._in_flight[name] -= 1
            gate = self.gates.get(name)
            if not self._in_flight[name] and gate is not None:
                await patiently(self.store, gate.settle)

    async def poll_all(self, watches: Sequence[Watch] | None = None) -> list[PollReport]:
        return list(await asyncio.gather(*(self.poll(w) for w in watches or self.config.watch)))

    async def poll_due(self, *, everything: bool = False) -> list[PollReport]:
        """What `watcher once` polls: every watch, except those the quota planner stretched
        whose planned next poll is not due yet (a skip report each), unless `everything`."""
        from watcher.fleet_plan import plan_fleet, skip_reason

        if everything:
            return await self.poll_all()
        plan = plan_fleet(self.config, self.store, self.clock.now())
        skipped: dict[str, PollReport] = {}
        for watch in self.config.watch:
            row = self.store.watches.get(watch.key)
            reason = skip_reason(plan, watch, row.last_poll_at if row else None)
            if reason is not None:
                handle = self.store.watches.handle_of(watch.key)
                skipped[watch.key] = PollReport(watch, ok=True, skipped=reason, handle=handle)
        due = [w for w in self.config.watch if w.key not in skipped]
        polled = iter(await self.poll_all(due) if due else [])
        return [skipped[w.key] if w.key in skipped else next(polled) for w in self.config.watch]

    def open_dispatcher(self, **options: Any) -> Dispatcher:
        """The dispatcher of this config's notifiers (`options`: the Dispatcher's own), kept
        up to date on reload and closed with the runtime. Its sends use the runtime's HTTP
        client (each with its notifier's own timeout): one client, one pool, one TLS context."""
        from watcher.sinks.dispatcher import Dispatcher

        options.setdefault("http", self.http)
        self.dispatcher = Dispatcher(self.config, self.store, **options)
        return self.dispatcher

    async def aclose(self) -> None:
        if self.dispatcher is not None:
            await self.dispatcher.aclose()
        for platform in [*self.platforms.values(), *self._retired]:
            await platform.aclose()
        for gate in [*self.gates.values(), *self._retired_gates]:
            await patiently(self.store, gate.settle)
        for slots in self._slots:
            await patiently(self.store, slots.release_all)
        await self.http.aclose()


def _platform_settings(config: Config) -> dict[str, object]:
    """Everything platform clients may depend on: all but watches, notifiers, signals and
    daemon setup."""
    return config.model_dump(exclude={"watch", "notifiers", "signal", "http", "log"})
