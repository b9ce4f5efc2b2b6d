"""The daemon: APScheduler polls each watch on its interval plus jitter until told to stop.

Each watch's next poll is logged and stored (`watches.next_poll_at`) whenever it is planned:
at start, after each poll, and when a reload adds or retimes the watch.
"""

from __future__ import annotations

import asyncio
import logging
import random
import signal
import sqlite3
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from watcher import metrics, quota_alerts
from watcher.clock import Clock, SystemClock, iso, parse_iso
from watcher.config import Config, Watch
from watcher.fleet_plan import FleetPlan, plan_fleet, watch_cost, watch_costs
from watcher.health import HEARTBEAT_EVERY, Health
from watcher.http.quota import QuotaSpent
from watcher.next_poll import NextPoll
from watcher.plan_log import PlanLog
from watcher.poll import PollReport, log_report
from watcher.reload import plan_reload
from watcher.runtime import Runtime
from watcher.sinks.delivery_loop import DeliveryLoop
from watcher.store import Store
from watcher.store.quotas import Limits

if TYPE_CHECKING:
    from watcher.web.server import WebServer

log = logging.getLogger("watcher")


# Watches never polled start within this many seconds of a start (or less, with less jitter):
# spread a little, but at once; the per-platform request budget keeps a fleet from bursting.
START_SPREAD = 3.0


def first_run(
    config: Config,
    store: Store,
    watch: Watch,
    now: datetime,
    rng: random.Random | None = None,
    *,
    interval: float | None = None,
) -> datetime:
    """When a watch next polls after a start: from its last poll, so restarts do not stampede.

    A watch never polled runs at once (within START_SPREAD). An overdue watch runs soon,
    spread over its jitter so a fleet does not fire at once. `interval`: the planned one
    (the configured one when None).
    """
    uniform = (rng or random).uniform
    jitter = config.jitter_of(watch)
    row = store.watches.get(watch.key)
    if row is None or row.last_poll_at is None:
        return now + timedelta(seconds=uniform(0, min(jitter, START_SPREAD)))
    spread = timedelta(seconds=uniform(0, jitter))
    every = interval if interval is not None else config.interval_of(watch)
    due = parse_iso(row.last_poll_at) + timedelta(seconds=every)
    return due if due > now + spread else now + spread


def trigger_of(config: Config, watch: Watch, interval: float | None = None) -> IntervalTrigger:
    """Runs every interval (the planned one when given) plus a random 0..jitter (jitter capped
    by `Config.jitter_of`)."""
    every = interval if interval is not None else config.interval_of(watch)
    return IntervalTrigger(seconds=every, jitter=config.jitter_of(watch))


HEARTBEAT_JOB = "watcher:heartbeat"

# Seconds in-flight polls (and the send in flight) get to finish after a stop signal.
SHUTDOWN_GRACE = 5.0


class Daemon:
    def __init__(
        self,
        runtime: Runtime,
        *,
        load_config: Callable[[], Config] | None = None,
        clock: Clock | None = None,
        rng: random.Random | None = None,
        shutdown_grace: float = SHUTDOWN_GRACE,
    ) -> None:
        """Polls with `runtime`, and delivers with its dispatcher when it has opened one."""
        self.config = runtime.config
        self.shutdown_grace = shutdown_grace
        self.runtime = runtime
        dispatcher = runtime.dispatcher
        self.clock = clock or SystemClock()  # what plans and countdowns start from
        self._stop = asyncio.Event()
        self._rng = rng or random.Random()
        # Sends what polls commit, one lane per notifier (sinks/delivery_loop.py).
        self.deliveries = DeliveryLoop(dispatcher, self._stop) if dispatcher is not None else None
        self._running: set[asyncio.Task[Any]] = set()
        self._load_config = load_config  # SIGHUP re-reads the config with it
        self._scheduler: AsyncIOScheduler | None = None
        self.health = Health(runtime.store, self._watch_keys)
        self.endpoint_url: str | None = None  # once the HTTP endpoint listens
        # The quota plan the jobs follow, each watch's cost per poll, and its log line.
        self.plan: FleetPlan | None = None
        self._costs: dict[str, float] = {}
        self._plan_log = PlanLog()
        self._said: set[str] = set()  # the platform pauses already logged

    def stop(self) -> None:
        self._stop.set()

    async def poll_job(self, watch: Watch) -> None:
        """What the scheduler runs for a watch on its interval: poll, log, plan the next."""
        task = asyncio.current_task()
        assert task is not None
        self._running.add(task)
        try:
            report = await self.runtime.poll(watch)
        except asyncio.CancelledError:
            if not self._stop.is_set():
                raise
            # Our own stop, past the grace: not an error, and APScheduler must not log it as one.
            log.warning("abandoned the poll of %s at shutdown; it committed nothing", watch.key)
            return
        finally:
            self._running.discard(task)
            if self.deliveries is not None:
                self.deliveries.wake()  # its deliveries may be due now
        if report.paused:
            self._paused(report)
        else:
            log_report(report)
        if not self._stop.is_set():
            retimed = self._replan([watch])
            self._announce([watch, *(w for w in retimed if w.key != watch.key)])

    def _paused(self, report: PollReport) -> None:
        """A poll the platform's pause stopped: said once per pause, not once per poll; a
        spent quota also alerts the platform's notifiers, once per period (quota_alerts.py)."""
        for pause in self.runtime.pauses():
            if pause.line in self._said:
                continue
            self._said.add(pause.line)
            log.warning(pause.line)
            if isinstance(pause, QuotaSpent):
                runtime = self.runtime
                quota_alerts.announce(runtime.config, runtime.store, pause, runtime.clock.now())

    async def run(self, *, install_signals: bool = True) -> None:
        loop = asyncio.get_running_loop()
        if install_signals:
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, self.stop)
            loop.add_signal_handler(signal.SIGHUP, self.reload)
        # The endpoint first: a daemon that cannot serve it exits before it polls anything.
        endpoint = await self._start_endpoint()
        scheduler = AsyncIOScheduler(event_loop=loop, timezone="UTC")
        self._scheduler = scheduler
        now = self.clock.now()
        self._replan(None, apply=False)
        for watch in self.config.watch:
            self._add_job(scheduler, watch, now)
        scheduler.add_job(
            self.health.beat,
            IntervalTrigger(seconds=HEARTBEAT_EVERY),
            id=HEARTBEAT_JOB,
            coalesce=True,
            misfire_grace_time=None,
        )
        scheduler.start()
        count = len(self.config.watch)
        log.info("watching %d account list(s); stop with Ctrl-C or SIGTERM", count)
        self._announce(self.config.watch)
        collector = metrics.StoreCollector(
            self.runtime.store,
            self._watch_labels,
            self._quota_limits,
            self.runtime.clock,
            plan=lambda: self.plan,
        )
        registry = metrics.current().registry
        registry.register(collector)
        dispatching = asyncio.create_task(self.deliveries.run()) if self.deliveries else None
        try:
            await self._stop.wait()
        finally:
            self.health.stopping()
            # Pause, not shutdown: APScheduler's shutdown cancels running jobs at once, and
            # in-flight polls deserve their grace period first.
            scheduler.pause()
            # Polls and the send in flight finish side by side, so a stop takes at most
            # one grace period (plus closing): well inside the 10 s supervisors allow.
            finishing = [self._finish_running(grace=self.shutdown_grace)]
            if dispatching is not None and self.deliveries is not None:
                finishing.append(self.deliveries.finish(dispatching, grace=self.shutdown_grace))
            await asyncio.gather(*finishing)
            scheduler.shutdown(wait=False)
            self._forget_plans([watch.key for watch in self.config.watch])
            if endpoint is not None:
                await endpoint.close()
            registry.unregister(collector)

    async def _finish_running(self, grace: float) -> None:
        """Give in-flight polls a moment, then cancel them: a cancelled poll commits nothing."""
        if not self._running:
            return
        _, pending = await asyncio.wait(set(self._running), timeout=grace)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending)

    def _add_job(self, scheduler: AsyncIOScheduler, watch: Watch, now: datetime) -> None:
        store = self.runtime.store
        # The row exists from now on, so the plan of a watch never polled can be stored too.
        # While another process locks the database the watch's first poll creates it instead:
        # waiting here would stall the loop (this runs from a signal handler too).
        try:
            store.watches.ensure(watch.key, watch.platform, watch.account, watch.relation, iso(now))
        except sqlite3.Error as exc:
            log.warning("could not record watch %s yet: %s", watch.key, exc)
        every = self._planned(watch)
        scheduler.add_job(
            self.poll_job,
            trigger_of(self.config, watch, every),
            args=[watch],
            id=watch.key,
            name=watch.key,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=None,
            next_run_time=first_run(self.config, store, watch, now, self._rng, interval=every),
        )

    def _planned(self, watch: Watch) -> float:
        """The watch's interval as the quota plan has it (as configured before any plan)."""
        intervals = self.plan.intervals() if self.plan is not None else {}
        return intervals.get(watch.key, self.config.interval_of(watch))

    def _replan(self, polled: list[Watch] | None, *, apply: bool = True) -> list[Watch]:
        """Plan the fleet again, with the costs of `polled` re-read (every watch's when None);
        retime the jobs whose planned interval changed, and return their watches.

        Costs change only when a watch is polled, so the store is read for those alone.
        """
        store = self.runtime.store
        try:
            if polled is None:
                self._costs = watch_costs(self.config, store)
            for watch in polled or []:
                self._costs[watch.key] = watch_cost(self.config, store, watch)
            plan = plan_fleet(self.config, store, self.clock.now(), self._costs)
        except sqlite3.Error as exc:  # the plan in force still holds
            log.warning("could not plan the quotas again: %s", exc)
            return []
        self.plan = plan
        line = self._plan_log.changed(plan)
        if line is not None:
            log.info(line)
        return self._retime(plan) if apply else []

    def _retime(self, plan: FleetPlan) -> list[Watch]:
        """Jobs whose interval differs from the plan's follow the plan from their last poll."""
        if self._scheduler is None:
            return []
        now, retimed = self.clock.now(), []
        for entry in plan.watches:
            job = self._scheduler.get_job(entry.watch.key)
            if job is None or abs(job.trigger.interval_length - entry.planned) < 0.5:
                continue
            watch = entry.watch
            self._scheduler.modify_job(
                watch.key,
                trigger=trigger_of(self.config, watch, entry.planned),
                next_run_time=self._next_after_last_poll(watch, entry.planned, now),
            )
            retimed.append(watch)
        return retimed

    def _next_after_last_poll(self, watch: Watch, every: float, now: datetime) -> datetime:
        """Last poll + `every` + a jitter, or soon when that is past."""
        row = self.runtime.store.watches.get(watch.key)
        spread = timedelta(seconds=self._rng.uniform(0, self.config.jitter_of(watch)))
        if row is None or row.last_poll_at is None:
            return now + spread
        due = parse_iso(row.last_poll_at) + timedelta(seconds=every) + spread
        return max(due, now + spread)

    def _announce(self, watches: list[Watch]) -> None:
        """Log and store when each of `watches` polls next, as APScheduler has planned it."""
        if self._scheduler is None:
            return
        now = self.clock.now()
        plans = []
        handles = self._handles()
        for watch in watches:
            job = self._scheduler.get_job(watch.key)
            if job is not None and job.next_run_time is not None:
                plans.append(NextPoll(watch, job.next_run_time, now, handles.get(watch.key)))
        try:
            with self.runtime.store.transaction():
                for plan in plans:
                    self.runtime.store.watches.plan_next_poll(plan.watch.key, iso(plan.at))
        except sqlite3.Error as exc:  # the plan still holds; only status cannot show it
            log.warning("could not record the next poll times: %s", exc)
        for plan in plans:
            log.info(plan.line(), extra=plan.fields())

    def _forget_plans(self, keys: list[str]) -> None:
        """No daemon plans these watches any more: status goes back to estimating."""
        try:
            with self.runtime.store.transaction():
                for key in keys:
                    self.runtime.store.watches.plan_next_poll(key, None)
        except sqlite3.Error as exc:
            log.warning("could not clear the next poll times: %s", exc)

    def _watch_keys(self) -> set[str]:
        return {watch.key for watch in self.config.watch}

    def _quota_limits(self) -> dict[str, Limits]:
        return metrics.quota_limits(self.runtime.config)

    def _handles(self) -> dict[str, str]:
        """Each watch's account handle, once a poll resolved it (lines and labels name the
        account by it); none when the database cannot say now."""
        try:
            return self.runtime.store.watches.handles()
        except sqlite3.Error:
            return {}

    def _watch_labels(self) -> list[metrics.WatchKey]:
        return metrics.watch_keys(self.config)

    async def _start_endpoint(self) -> WebServer | None:
        """Serve the dashboard, /healthz and /metrics on `[http] listen`, or raise
        CannotListen: a daemon asked for an endpoint it cannot serve would look dead to its
        supervisor's health checks anyway."""
        address = self.config.http.address
        if address is None:
            return None
        from watcher.web.serving import endpoint  # jinja2 and pygal only when there is one

        server = endpoint(
            lambda: self.config,
            self.runtime.store.file_path(),
            self.clock,
            health=self.health.check,
            scrape=lambda: metrics.current().exposition(),
        )
        self.endpoint_url = await server.start()
        log.info("serving the dashboard, /healthz and /metrics on %s", self.endpoint_url)
        return server

    def reload(self) -> None:
        """SIGHUP: re-read the config; watches added, removed or changed take effect now.

        A config that does not load is logged and ignored: the daemon keeps the one it has.
        """
        if self._load_config is None or self._scheduler is None:
            log.warning("config reload requested, but this daemon has no config file to re-read")
            return
        try:
            new = self._load_config()
        except Exception as exc:  # ours (ConfigError) or not: nothing of it is applied
            metrics.config_reloaded(ok=False)
            log.error("config reload rejected, keeping the running config: %s", exc)
            return
        plan = plan_reload(self.config, new)
        self.runtime.reconfigure(new)  # the dispatcher's notifiers included
        self.config = new
        now = self.clock.now()
        for key in plan.removed:
            self._scheduler.remove_job(key)
        self._forget_plans(plan.removed)
        self._replan(None, apply=False)
        for watch in plan.added:
            self._add_job(self._scheduler, watch, now)
        replanned = list(plan.added)
        for watch in plan.changed:
            changes: dict[str, Any] = {"args": [watch]}
            if watch.key in plan.retimed:
                every = self._planned(watch)
                changes["trigger"] = trigger_of(new, watch, every)
                changes["next_run_time"] = first_run(
                    new, self.runtime.store, watch, now, self._rng, interval=every
                )
                replanned.append(watch)
            self._scheduler.modify_job(watch.key, **changes)
        metrics.config_reloaded(ok=True)
        log.info(plan.summary())
        if self.plan is not None:
            known = {w.key for w in replanned}
            replanned += [w for w in self._retime(self.plan) if w.key not in known]
        self._announce(replanned)
