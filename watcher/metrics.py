"""Prometheus metrics named `watcher_*`: what happened in this process, what the database holds.

Two kinds, on purpose. Things that happen (polls, events, platform requests, 429s) are counters
this process increments as they happen. Things that *are* (list sizes, failing watches, pending
and dead deliveries, token expiry) are read from the database at scrape time by
`StoreCollector`, so they are right after a restart, include work done by other processes
(`watcher once`, a redelivery), and never drift from what `watcher status` shows.

The registry is watcher's own, not prometheus_client's process-wide default, so embedding or
testing watcher never collides with someone else's metrics.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

from watcher.clock import Clock, SystemClock, iso, parse_iso
from watcher.store.quotas import Limits, QuotaUse
from watcher.wording import watched_account

if TYPE_CHECKING:
    from watcher.config import Config
    from watcher.fleet_plan import FleetPlan
    from watcher.store import Store

CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4
UNKNOWN_PLATFORM = "unknown"
# Polls of small lists take well under a second; a 100k-follower list can take minutes.
POLL_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 900.0)

log = logging.getLogger("watcher.metrics")

# The platform whose work the current task is doing; set around each poll by the engine, so a
# request is counted under its platform whichever client made it.
_platform: ContextVar[str] = ContextVar("watcher_platform", default=UNKNOWN_PLATFORM)


class Metrics:
    """The counters and histograms of one process, in a registry of their own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self.polls = Counter(
            "watcher_polls",
            "Polls finished, by platform and outcome (ok, error, or skipped: another process"
            " was polling the watch).",
            ["platform", "outcome"],
            registry=self.registry,
        )
        self.poll_duration = Histogram(
            "watcher_poll_duration_seconds",
            "Wall time of one poll, from the profile request to the commit.",
            ["platform"],
            buckets=POLL_BUCKETS,
            registry=self.registry,
        )
        self.events = Counter(
            "watcher_events",
            "Follow/unfollow events recorded by this process, by type.",
            ["type"],
            registry=self.registry,
        )
        self.platform_requests = Counter(
            "watcher_platform_requests",
            "HTTP requests to platform APIs (every attempt), by platform and status code"
            " ('error' when no answer came).",
            ["platform", "status"],
            registry=self.registry,
        )
        self.platform_throttled = Counter(
            "watcher_platform_throttled",
            "HTTP 429 answers from platform APIs, by platform.",
            ["platform"],
            registry=self.registry,
        )
        self.reloads = Counter(
            "watcher_config_reloads",
            "Configuration reloads on SIGHUP, by outcome (ok or rejected).",
            ["outcome"],
            registry=self.registry,
        )

    def exposition(self) -> bytes:
        """The Prometheus text format of everything registered, collected now."""
        return generate_latest(self.registry)


_current = Metrics()


def current() -> Metrics:
    return _current


def reset() -> Metrics:
    """A fresh set of metrics (tests, or an embedding that starts over)."""
    global _current
    _current = Metrics()
    return _current


@contextmanager
def platform_scope(platform: str) -> Iterator[None]:
    """Count requests made inside this block (this task and the tasks it starts) for `platform`."""
    token = _platform.set(platform)
    try:
        yield
    finally:
        _platform.reset(token)


class RequestTally:
    """The platform requests (every attempt) one piece of work made, across the tasks it
    starts: what a poll really cost, for its record (a planner budgets with it)."""

    __slots__ = ("count",)

    def __init__(self) -> None:
        self.count = 0


_tally: ContextVar[RequestTally | None] = ContextVar("watcher_request_tally", default=None)


@contextmanager
def requests_tallied() -> Iterator[RequestTally]:
    """Tally the platform requests made inside this block (this task and those it starts)."""
    tally = RequestTally()
    token = _tally.set(tally)
    try:
        yield tally
    finally:
        _tally.reset(token)


def platform_request(platform: str | None, status: int | str) -> None:
    """One HTTP attempt to a platform; `platform=None` means the one of the poll in progress."""
    tally = _tally.get()
    if tally is not None:
        tally.count += 1
    name = platform or _platform.get()
    _current.platform_requests.labels(name, str(status)).inc()
    if status == 429:
        _current.platform_throttled.labels(name).inc()


def poll_finished(platform: str, outcome: str, duration: float, event_types: Iterable[str]) -> None:
    """One poll ended: `outcome` is ok, error or skipped (another process polls the watch;
    a skip is no poll, so its duration is not observed)."""
    _current.polls.labels(platform, outcome).inc()
    if outcome != "skipped":
        _current.poll_duration.labels(platform).observe(duration)
    for event_type in event_types:
        _current.events.labels(event_type).inc()


def config_reloaded(ok: bool) -> None:
    _current.reloads.labels("ok" if ok else "rejected").inc()


WatchKey = tuple[str, str, str, str]  # key, platform, account, relation


def watch_keys(config: Config) -> list[WatchKey]:
    """The watches a config has, as `StoreCollector` labels them."""
    return [(w.key, w.platform, w.account, w.relation) for w in config.watch]


def quota_limits(config: Config) -> dict[str, Limits]:
    """Each watched platform's quotas, as a config says."""
    return {
        name: Limits(settings.requests_per_month, settings.requests_per_day)
        for name in sorted({w.platform for w in config.watch})
        for settings in [config.platform_settings(name)]
    }


# A watch's labels: `account` names it by its handle once a poll resolved it (as lines do);
# `configured_account` is the account as the config writes it, which never changes.
WATCH_LABELS = ["platform", "account", "relation", "configured_account"]


def watch_label_values(
    platform: str, configured: str, relation: str, handle: str | None
) -> list[str]:
    return [platform, watched_account(configured, handle), relation, configured]


class StoreCollector:
    """Gauges read from the database at scrape time (a handful of indexed COUNTs).

    `watches` says which watches the running config has, so a watch removed from the config
    stops being reported even though its rows stay in the database.
    """

    def __init__(
        self,
        store: Store,
        watches: Callable[[], Iterable[WatchKey]],
        quotas: Callable[[], Mapping[str, Limits]] | None = None,
        clock: Clock | None = None,
        plan: Callable[[], FleetPlan | None] | None = None,
    ) -> None:
        self._store = store
        self._watches = watches
        self._quotas = quotas  # each watched platform's limits, from the running config
        self._clock = clock or SystemClock()
        self._plan = plan  # the daemon's quota plan in force, if it has one

    def collect(self) -> Iterator[Metric]:
        try:
            handles = self._store.watches.handles()
        except sqlite3.Error:
            handles = {}  # the accounts named as configured this once; the reads below log it
        yield from self._plan_metrics(handles)
        try:
            yield from self._watch_metrics(handles)
            yield from self._delivery_metrics()
            yield from self._token_metrics()
            yield from self._quota_metrics()
        except sqlite3.Error as exc:
            # A scrape must not take the daemon down; the gap in the series says enough.
            log.warning("metrics: cannot read the database: %s", exc)

    def _watch_metrics(self, handles: Mapping[str, str]) -> Iterator[Metric]:
        labels = WATCH_LABELS
        size = GaugeMetricFamily(
            "watcher_list_size", "Entries in the list at the last good poll.", labels=labels
        )
        failures = GaugeMetricFamily(
            "watcher_watch_consecutive_failures",
            "Polls of this watch that failed in a row (0: the last poll was good).",
            labels=labels,
        )
        last = GaugeMetricFamily(
            "watcher_watch_last_poll_timestamp_seconds",
            "Unix time of the last poll of this watch, good or failed.",
            labels=labels,
        )
        rows = {row.key: row for row in self._store.watches.all()}
        for key, platform, account, relation in self._watches():
            row = rows.get(key)
            if row is None:
                continue
            values = watch_label_values(platform, account, relation, handles.get(key))
            if row.size is not None:
                size.add_metric(values, row.size)
            failures.add_metric(values, row.consecutive_failures)
            if row.last_poll_at:
                last.add_metric(values, parse_iso(row.last_poll_at).timestamp())
        yield from (size, failures, last)

    def _plan_metrics(self, handles: Mapping[str, str]) -> Iterator[Metric]:
        """The quota plan in force: no database read, the daemon keeps it up to date."""
        plan = self._plan() if self._plan is not None else None
        if plan is None:
            return
        projected = GaugeMetricFamily(
            "watcher_quota_projected",
            "Requests the platform is projected to have been sent by the end of the UTC"
            " period (month or day) at the planned intervals.",
            labels=["platform", "period"],
        )
        for name, platform in plan.platforms.items():
            projected.add_metric([name, "month"], platform.projected_month)
            projected.add_metric([name, "day"], platform.projected_day)
        planned = GaugeMetricFamily(
            "watcher_watch_planned_interval_seconds",
            "Seconds between polls of this watch as the quota planner has it (its configured"
            " interval unless a quota needs it stretched).",
            labels=WATCH_LABELS,
        )
        for entry in plan.watches:
            w = entry.watch
            values = watch_label_values(w.platform, w.account, w.relation, handles.get(w.key))
            planned.add_metric(values, entry.planned)
        yield from (projected, planned)

    def _delivery_metrics(self) -> Iterator[Metric]:
        states = self._store.outbox.states()
        if states is None:
            return
        finished = CounterMetricFamily(
            "watcher_deliveries",
            "Deliveries (one event or digest to one notifier) that reached an outcome.",
            labels=["outcome"],
        )
        for outcome in ("delivered", "dead"):
            finished.add_metric([outcome], states.get(outcome, 0))
        yield finished
        yield GaugeMetricFamily(
            "watcher_deliveries_pending",
            "Deliveries waiting for their first or next attempt (held ones included).",
            value=states.get("pending", 0),
        )
        held = GaugeMetricFamily(
            "watcher_deliveries_held",
            "Deliveries a notifier holds for its next digest (schedule, quiet hours).",
            labels=["notifier"],
        )
        for notifier, (count, _) in sorted(self._store.outbox.held(iso(self._clock.now())).items()):
            held.add_metric([notifier], count)
        yield held
        yield GaugeMetricFamily(
            "watcher_deliveries_dead",
            "Deliveries that gave up; see `watcher deliveries`.",
            value=states.get("dead", 0),
        )

    def _token_metrics(self) -> Iterator[Metric]:
        tokens = self._store.tokens.health()
        if tokens is None:
            return
        expiry = GaugeMetricFamily(
            "watcher_token_expiry_timestamp_seconds",
            "Unix time at which the platform's stored access token expires.",
            labels=["platform"],
        )
        grants = CounterMetricFamily(
            "watcher_token_requests",
            "Access tokens obtained from the platform (token requests that succeeded).",
            labels=["platform"],
        )
        for token in tokens:
            expiry.add_metric([token.platform], parse_iso(token.expires_at).timestamp())
            grants.add_metric([token.platform], token.grants)
        yield expiry
        yield grants

    def _quota_metrics(self) -> Iterator[Metric]:
        if self._quotas is None:
            return
        labels = ["platform", "period"]
        limit = GaugeMetricFamily(
            "watcher_quota_limit",
            "Requests the platform allows per calendar month or day in UTC (0: no quota).",
            labels=labels,
        )
        used = GaugeMetricFamily(
            "watcher_quota_used",
            "Requests counted against the platform's quota this month or day, by every process"
            " on the database (claimed in blocks: see the README's Quotas).",
            labels=labels,
        )
        counted = self._store.quotas.all_used(self._clock.now())
        for platform, limits in sorted(self._quotas().items()):
            use = counted.get(platform, QuotaUse(0, 0))
            for period, allowed, spent in (
                ("month", limits.per_month, use.month),
                ("day", limits.per_day, use.day),
            ):
                limit.add_metric([platform, period], allowed)
                used.add_metric([platform, period], spent)
        yield limit
        yield used
