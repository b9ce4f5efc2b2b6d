"""The daemon's one log line when the quota plan changes, not one per poll.

Planned intervals drift a little with every poll (the quota's use grows, the period's rest
shrinks), so a change is what a reader would call one: another set of watches stretched,
another quota binding, or the longest stretch moving by a quarter or more.
"""

from __future__ import annotations

from dataclasses import dataclass

from watcher.fleet_plan import FleetPlan, PlatformPlan, WatchPlan, format_interval

# The longest stretch (planned over configured) must move by this factor to be news.
NEWS_FACTOR = 1.25


@dataclass(frozen=True, slots=True)
class _Shape:
    stretched: frozenset[str]
    binding: str | None
    factor: float


class PlanLog:
    """Remembers the plan last logged, per platform."""

    def __init__(self) -> None:
        self._logged: dict[str, _Shape] = {}

    def changed(self, plan: FleetPlan) -> str | None:
        """The line to log for `plan`, or None when it says nothing new."""
        lines = []
        for name, platform in plan.platforms.items():
            mine = [w for w in plan.watches if w.watch.platform == name]
            shape = _shape_of(mine, platform)
            before = self._logged.get(name, _Shape(frozenset(), None, 1.0))
            if not _news(before, shape):
                continue
            self._logged[name] = shape
            lines.append(_line(platform, mine, shape))
        return "; ".join(lines) if lines else None


def _shape_of(watches: list[WatchPlan], platform: PlatformPlan) -> _Shape:
    stretched = [w for w in watches if w.stretched]
    factor = max((w.planned / w.interval for w in stretched), default=1.0)
    return _Shape(frozenset(w.watch.key for w in stretched), platform.binding, factor)


def _news(before: _Shape, now: _Shape) -> bool:
    if (before.stretched, before.binding) != (now.stretched, now.binding):
        return True
    ratio = now.factor / before.factor
    return ratio >= NEWS_FACTOR or ratio <= 1 / NEWS_FACTOR


def _line(platform: PlatformPlan, watches: list[WatchPlan], shape: _Shape) -> str:
    name = platform.platform
    if not shape.stretched:
        return f"quota plan for {name}: every watch polls on its configured interval again"
    stretched = [w for w in watches if w.stretched]
    worst = max(stretched, key=lambda w: w.planned / w.interval)
    return (
        f"quota plan for {name}: {len(stretched)} of {len(watches)} watch(es) polled less often"
        f" to stay within the {platform.binding_word()} quota (projected"
        f" {platform.projected_month:,} of {platform.per_month:,} requests this month);"
        f" the most stretched: {worst.watch.account} {worst.watch.relation} every"
        f" {format_interval(worst.planned)} instead of {format_interval(worst.interval)};"
        " `watcher plan` lists them all"
    )
