"""What a reloaded config changes for a running daemon (SIGHUP), decided before anything moves.

Watches are matched by key (platform, account, relation). A new key is a new job, a missing
key a removed job, a kept key whose watch or effective interval/jitter differs is a changed
job. Settings the daemon took at start (the database, the HTTP endpoint, the log setup) are
listed as needing a restart rather than half-applied.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from watcher.config import Config, Watch

# Top-level settings a running daemon cannot swap safely; changing them needs a restart.
RESTART_KEYS = ("database", "http", "log")


@dataclass(frozen=True, slots=True)
class ReloadPlan:
    added: list[Watch] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)  # keys
    changed: list[Watch] = field(default_factory=list)  # the new definitions
    retimed: set[str] = field(default_factory=set)  # keys whose interval or jitter changed
    needs_restart: list[str] = field(default_factory=list)  # top-level keys, ignored until then

    def summary(self) -> str:
        parts = [
            f"{len(self.added)} added",
            f"{len(self.removed)} removed",
            f"{len(self.changed)} changed",
        ]
        line = "config reloaded: watches " + ", ".join(parts)
        if self.needs_restart:
            line += f"; restart to apply: {', '.join(self.needs_restart)}"
        return line


def plan_reload(old: Config, new: Config) -> ReloadPlan:
    before = {watch.key: watch for watch in old.watch}
    after = {watch.key: watch for watch in new.watch}
    changed: list[Watch] = []
    retimed: set[str] = set()
    for key in before.keys() & after.keys():
        if _timing(old, before[key]) != _timing(new, after[key]):
            retimed.add(key)
        if before[key] != after[key] or key in retimed:
            changed.append(after[key])
    return ReloadPlan(
        added=[watch for key, watch in after.items() if key not in before],
        removed=[key for key in before if key not in after],
        changed=sorted(changed, key=lambda watch: watch.key),
        retimed=retimed,
        needs_restart=[key for key in RESTART_KEYS if _setting(old, key) != _setting(new, key)],
    )


def _timing(config: Config, watch: Watch) -> tuple[float, float]:
    return config.interval_of(watch), config.jitter_of(watch)


def _setting(config: Config, key: str) -> object:
    if key == "database":
        return config.database_path.resolve()
    return getattr(config, key)
