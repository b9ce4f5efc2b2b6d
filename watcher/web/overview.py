"""What `/` shows: every watch with its account, size, last and next poll and planned
interval; what needs someone (failing watches, dead deliveries, disabled notifiers); each
platform's quota use; the newest events; the targets trending now.

Read from one snapshot of the database (see `reader.py`), in a few queries for the whole
fleet rather than a few per watch: 200 watches cost what 20 would.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from watcher import health
from watcher.config import Config
from watcher.daemon_lock import daemon_holds
from watcher.fleet_plan import PlatformPlan, plan_fleet
from watcher.next_poll import next_poll_shown
from watcher.platforms.base import Profile
from watcher.store import Store, TrendingRow, WatchRow
from watcher.web.event_lines import EventLine, event_lines
from watcher.web.trending_cache import TrendingCache

# Events shown under the watches, newest first.
RECENT_EVENTS = 15
# Trending targets shown: the signal's usual question, over a week.
TRENDING_WINDOW = 7 * 86_400.0
TRENDING_MIN = 2
TRENDING_SHOWN = 10


@dataclass(frozen=True, slots=True)
class WatchLine:
    """One watch as `/` shows it."""

    key: str
    platform: str
    relation: str
    configured: str
    row: WatchRow | None
    profile: Profile | None
    interval: float
    planned: float
    next_poll: str  # a time, `due` or `at start`

    @property
    def watch_id(self) -> int | None:
        return None if self.row is None else self.row.id

    @property
    def account_id(self) -> str | None:
        return None if self.row is None else self.row.account_id

    @property
    def handle(self) -> str | None:
        return None if self.profile is None else self.profile.handle

    @property
    def stretched(self) -> bool:
        return self.planned > self.interval

    @property
    def polled(self) -> bool:
        return self.row is not None and self.row.last_poll_at is not None

    @property
    def charted(self) -> bool:
        """Whether a size chart exists: a complete poll has read the list."""
        return self.row is not None and self.row.baseline_at is not None


@dataclass(frozen=True, slots=True)
class Overview:
    watches: list[WatchLine]
    problems: list[str]
    quotas: list[PlatformPlan]
    events: list[EventLine]
    trending: list[TrendingRow]
    daemon_running: bool
    notifiers: int = 0
    totals: dict[str, int] = field(default_factory=dict)

    def context(self) -> dict[str, Any]:
        return {"overview": self, "trending_window": TRENDING_WINDOW, "trending_min": TRENDING_MIN}


# The trending rows `/` shows, kept between requests (see trending_cache.py).
TRENDING = TrendingCache()


def overview(config: Config, store: Store, now: datetime) -> Overview:
    running = daemon_holds(Path(store.path))
    plan = plan_fleet(config, store, now)
    planned_intervals = plan.intervals()
    rows = {row.key: row for row in store.watches.all()}
    planned_polls = store.watches.planned_next_polls() if running else {}
    profiles = _profiles(store, rows.values())
    lines = []
    for watch in config.watch:
        row = rows.get(watch.key)
        every = planned_intervals[watch.key]
        profile = None
        if row is not None and row.account_id is not None:
            profile = profiles.get((watch.platform, row.account_id))
        lines.append(
            WatchLine(
                key=watch.key,
                platform=watch.platform,
                relation=watch.relation,
                configured=watch.account,
                row=row,
                profile=profile,
                interval=config.interval_of(watch),
                planned=every,
                next_poll=next_poll_shown(
                    planned_polls.get(watch.key),
                    row.last_poll_at if row else None,
                    every,
                    now,
                ),
            )
        )
    trending = TRENDING.rows(config, store, now, window=TRENDING_WINDOW, min_accounts=TRENDING_MIN)
    trending = trending[:TRENDING_SHOWN]
    failing = sum(1 for line in lines if line.row is not None and line.row.consecutive_failures)
    return Overview(
        watches=lines,
        problems=health.problems(store, config.watch, list(config.notifiers)),
        quotas=list(plan.platforms.values()),
        events=event_lines(store.events.find(limit=RECENT_EVENTS)[::-1]),
        trending=trending,
        daemon_running=running,
        notifiers=len(config.notifiers),
        totals={"watches": len(lines), "failing": failing, "events": store.events.count()},
    )


def _profiles(store: Store, rows: Any) -> dict[tuple[str, str], Profile]:
    """The watched accounts' stored profiles, by (platform, id): one query per platform."""
    wanted: dict[str, list[str]] = {}
    for row in rows:
        if row.account_id is not None:
            wanted.setdefault(row.platform, []).append(row.account_id)
    found: dict[tuple[str, str], Profile] = {}
    for platform, ids in wanted.items():
        for account_id, profile in store.profiles.get(platform, ids).items():
            found[(platform, account_id)] = profile
    return found
