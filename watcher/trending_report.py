"""`watcher trending`: the targets several watched accounts followed lately, as a table, CSV
or JSON Lines (through `output_formats`, as every reading command).

The counting is the trending signal's (a follow counts while younger than the window, an
unfollow takes its account out, each account once), read over the following watches the
config names.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from watcher.clock import iso
from watcher.config import Config
from watcher.durations import parse_duration, spell_duration
from watcher.output_formats import Output, write_rows
from watcher.store import Store, TrendingRow

# The table's columns: what a person scans. CSV and JSON have every column below.
TABLE_COLUMNS = ("accounts", "platform", "target", "name", "followers", "followed_by")
CSV_COLUMNS = (
    "platform",
    "target_id",
    "target_handle",
    "target_name",
    "target_follower_count",
    "target_verified",
    "accounts",
    "first_followed_at",
    "followed_by",
    "target_url",
)


# From a minute (a poll's pace) to a year.
WINDOW_RANGE = (60.0, 365 * 86_400.0)
MIN_ACCOUNTS_RANGE = (1, 1000)


def parse_window(value: str) -> float:
    """A window as `--window` and the dashboard take it (`7d`, `36h`, `90m`), in seconds;
    ValueError with the reason when it is not one, or is outside 1m..365d."""
    seconds = parse_duration(value)
    low, high = WINDOW_RANGE
    if not low <= seconds <= high:
        raise ValueError(f"{value!r}: must be from 1m to 365d")
    return seconds


def trending(
    config: Config,
    store: Store,
    now: datetime,
    *,
    window: float,
    min_accounts: int,
    platform: str | None = None,
) -> list[TrendingRow]:
    """Targets at least `min_accounts` watched accounts followed in the `window` seconds up to
    `now`, the most followed first, then the earliest followed."""
    keys = [w.key for w in config.watch if w.relation == "following"]
    after = iso(now - timedelta(seconds=window))
    return store.signals.trending(
        store.signals.watch_ids(keys), after=after, min_accounts=min_accounts, platform=platform
    )


def empty_line(window: float, min_accounts: int, platform: str | None) -> str:
    """`no target followed by 2+ watched accounts in the last 7 days`."""
    where = f" on {platform}" if platform else ""
    return (
        f"no target followed by {min_accounts}+ watched account{'s' if min_accounts > 1 else ''}"
        f"{where} in the last {_period(window)}"
    )


def _period(window: float) -> str:
    """`7 days`, `day`, `36 hours`, `90 minutes`: the window as a person says it."""
    for unit, seconds in (("day", 86_400), ("hour", 3_600), ("minute", 60)):
        if window % seconds == 0:
            count = int(window // seconds)
            return unit if count == 1 else f"{count} {unit}s"
    return spell_duration(window)


def write_trending(rows: list[TrendingRow], fmt: str, out: Output) -> int:
    """`rows` as `fmt`; returns how many were written."""
    if fmt == "table":
        return write_rows((_table_row(row) for row in rows), TABLE_COLUMNS, fmt, out)
    return write_rows((_full_row(row, fmt) for row in rows), CSV_COLUMNS, fmt, out)


def _table_row(row: TrendingRow) -> tuple[Any, ...]:
    followed_by = ", ".join(f"@{a.handle} ({_short_time(a.followed_at)})" for a in row.accounts)
    target = row.target
    return (
        len(row.accounts),
        row.platform,
        f"@{target.handle}",
        target.name,
        target.follower_count,
        followed_by,
    )


def _full_row(row: TrendingRow, fmt: str) -> tuple[Any, ...]:
    """CSV_COLUMNS' values; `followed_by` is a list of objects in JSON, `handle timestamp`
    pairs joined by `; ` in CSV."""
    target = row.target
    followed_by: Any = (
        [{"id": a.id, "handle": a.handle, "followed_at": a.followed_at} for a in row.accounts]
        if fmt == "json"
        else "; ".join(f"{a.handle} {a.followed_at}" for a in row.accounts)
    )
    return (
        row.platform,
        target.id,
        target.handle,
        target.name,
        target.follower_count,
        target.is_verified,
        len(row.accounts),
        row.first_followed_at,
        followed_by,
        target.url,
    )


def _short_time(timestamp: str) -> str:
    """`2026-11-20 09:15` (UTC) from an event timestamp."""
    return timestamp.replace("T", " ")[:16]
