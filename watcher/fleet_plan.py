"""The planner fed from a config and a store: what each watch costs, what each platform's
quotas allow, and the intervals that fit. Read by `watcher plan`, `status`, `once` and the
daemon; light enough for the reading commands (no HTTP stack, no scheduler).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from statistics import fmean

from watcher import planner
from watcher.clock import iso, parse_iso
from watcher.config import Config, Watch
from watcher.next_poll import format_wait
from watcher.periods import day_of, month_of
from watcher.store import Store, WatchRow

# Polls a watch's cost is averaged over: enough to span a `full_every` cycle of a
# `check = "counts"` watch, whose quiet polls cost one request and every few a full read.
RECENT_POLLS = 12
# The cost of a watch known by nothing yet (no poll, no stored profile): a profile and ten
# pages, a list of 1,000 on Audius.
DEFAULT_COST = 11.0
# Every poll reads the watched account's profile before its list (`polls.requests` counts
# it with every other request; an estimate from the profile's count adds it).
PROFILE_REQUESTS = 1
_PERIOD_WORDS = {"month": "monthly", "day": "daily"}


def watch_cost(config: Config, store: Store, watch: Watch) -> float:
    """Requests one poll of `watch` is expected to spend.

    The average of its recent good polls since its baseline (a baseline reads the list more
    than once and is no guide to the polls after it); before any, one request per page of
    the list its stored profile counts, plus the profile; else DEFAULT_COST.
    """
    return _cost(config, store, watch, store.watches.get(watch.key))


def _cost(config: Config, store: Store, watch: Watch, row: WatchRow | None) -> float:
    """`watch_cost`, the watch's row already read (None: it has none)."""
    if row is None:
        return DEFAULT_COST
    if row.baseline_at is not None:
        recent = store.polls.recent_requests(row.id, since=row.baseline_at, limit=RECENT_POLLS)
        if recent:
            return fmean(recent)
    if row.account_id is not None:
        profile = store.profiles.get(watch.platform, [row.account_id]).get(row.account_id)
        count = profile.count_of(watch.relation) if profile is not None else None
        if count is not None:
            page = _page_size(config, watch.platform)
            return float(PROFILE_REQUESTS + max(math.ceil(count / page), 1))
    return DEFAULT_COST


def _page_size(config: Config, platform: str) -> int:
    size = getattr(config.platform_settings(platform), "page_size", 100)
    return size if isinstance(size, int) and size > 0 else 100


def watch_costs(config: Config, store: Store) -> dict[str, float]:
    """Every watch's cost, its rows read at once (a fleet of 200 costs 200 small reads)."""
    rows = {row.key: row for row in store.watches.all()}
    return {watch.key: _cost(config, store, watch, rows.get(watch.key)) for watch in config.watch}


@dataclass(frozen=True, slots=True)
class WatchPlan:
    watch: Watch
    cost: float  # requests per poll
    interval: float  # configured
    planned: float
    month_seconds: float

    @property
    def stretched(self) -> bool:
        return self.planned > self.interval

    @property
    def requests_per_month(self) -> int:
        """Requests a whole calendar month (this one's length) at the planned interval."""
        return round(self.cost * self.month_seconds / self.planned)


@dataclass(frozen=True, slots=True)
class PlatformPlan:
    platform: str
    per_month: int
    per_day: int
    reserve: float
    used_month: int
    used_day: int
    projected_month: int
    projected_day: int
    month_resets_at: str
    day_resets_at: str
    binding: str | None  # the period whose quota stretches intervals (None: none does)

    def binding_word(self) -> str:
        """`monthly` or `daily`, for "to stay within the monthly quota"."""
        return _PERIOD_WORDS.get(self.binding or "month", "monthly")


@dataclass(frozen=True, slots=True)
class FleetPlan:
    at: datetime
    watches: list[WatchPlan]
    platforms: dict[str, PlatformPlan]

    def of(self, watch: Watch) -> WatchPlan | None:
        for plan in self.watches:
            if plan.watch.key == watch.key:
                return plan
        return None

    def intervals(self) -> dict[str, float]:
        return {plan.watch.key: plan.planned for plan in self.watches}


def plan_fleet(
    config: Config, store: Store, now: datetime, costs: Mapping[str, float] | None = None
) -> FleetPlan:
    """Each watch's planned interval and each platform's quota picture at `now`; `costs`
    (by watch key) saves re-reading them (the daemon keeps them up to date itself)."""
    known = dict(costs) if costs is not None else watch_costs(config, store)
    month_start, month_end = month_of(now)
    day_start, day_end = day_of(now)
    month_seconds = (month_end - month_start).total_seconds()
    watches: list[WatchPlan] = []
    platforms: dict[str, PlatformPlan] = {}
    for name in sorted({watch.platform for watch in config.watch}):
        mine = [w for w in config.watch if w.platform == name]
        demands = [
            planner.Demand(
                w.key,
                known[w.key] if w.key in known else watch_cost(config, store, w),
                config.interval_of(w),
            )
            for w in mine
        ]
        settings = config.platform_settings(name)
        use = store.quotas.used(name, now)
        periods = [
            planner.Period("month", settings.requests_per_month, use.month, month_start, month_end),
            planner.Period("day", settings.requests_per_day, use.day, day_start, day_end),
        ]
        allowed = planner.allowance(periods, settings.quota_reserve, now)
        intervals = planner.plan(demands, allowed.rate)
        for watch, demand in zip(mine, demands, strict=True):
            watches.append(
                WatchPlan(watch, demand.cost, demand.interval, intervals[watch.key], month_seconds)
            )
        stretched = any(intervals[d.key] > d.interval for d in demands)
        platforms[name] = PlatformPlan(
            platform=name,
            per_month=settings.requests_per_month,
            per_day=settings.requests_per_day,
            reserve=settings.quota_reserve,
            used_month=use.month,
            used_day=use.day,
            projected_month=round(planner.projection(demands, intervals, periods[0], now)),
            projected_day=round(planner.projection(demands, intervals, periods[1], now)),
            month_resets_at=iso(month_end),
            day_resets_at=iso(day_end),
            binding=allowed.binding if stretched else None,
        )
    order = {watch.key: i for i, watch in enumerate(config.watch)}
    watches.sort(key=lambda plan: order[plan.watch.key])
    return FleetPlan(now, watches, platforms)


def skip_reason(plan: FleetPlan, watch: Watch, last_poll_at: str | None) -> str | None:
    """Why `watcher once` leaves `watch` alone now (None: poll it).

    cron cannot be stretched, so a watch the plan stretched is polled only once its planned
    next poll (last poll + planned interval) is due; unstretched watches poll on every run.
    """
    mine = plan.of(watch)
    if mine is None or not mine.stretched or last_poll_at is None:
        return None
    due = parse_iso(last_poll_at).timestamp() + mine.planned
    if due <= plan.at.timestamp():
        return None
    word = plan.platforms[watch.platform].binding_word()
    return (
        f"planned every {format_interval(mine.planned)} to stay within the {word} quota;"
        f" next at {iso(datetime.fromtimestamp(due, tz=plan.at.tzinfo))}"
    )


def format_interval(seconds: float) -> str:
    """`47m`, `2h 5m`, `1d 3h`, `30s`: an interval in its two largest units."""
    return format_wait(seconds) if seconds >= 1 else f"{seconds:g}s"
