"""`watcher trending`: the targets several watched accounts followed lately, as a table, CSV
or JSON Lines.

The counting is the trending signal's (a follow counts while younger than the window, an
unfollow takes its account out, each account once), read over the following watches the
config names. The printers here are this command's own for now; they are meant to move to
the shared output formats of the reading commands.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import datetime, timedelta

from watcher.clock import iso
from watcher.config import Config
from watcher.durations import spell_duration
from watcher.printable import json_line, printable
from watcher.store import Store, TrendingRow

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


def table_lines(rows: list[TrendingRow]) -> Iterator[str]:
    headers = ["ACCOUNTS", "PLATFORM", "TARGET", "NAME", "FOLLOWERS", "FOLLOWED BY"]
    table = [headers] + [
        [
            str(len(row.accounts)),
            row.platform,
            "@" + printable(row.target.handle),
            printable(row.target.name),
            "-" if row.target.follower_count is None else f"{row.target.follower_count:,}",
            ", ".join(
                f"@{printable(a.handle)} ({_short_time(a.followed_at)})" for a in row.accounts
            ),
        ]
        for row in rows
    ]
    widths = [max(len(line[i]) for line in table) for i in range(len(headers))]
    for line in table:
        yield "  ".join(
            cell.ljust(width) for cell, width in zip(line, widths, strict=True)
        ).rstrip()


def _short_time(timestamp: str) -> str:
    """`2026-11-20 09:15` (UTC) from an event timestamp."""
    return timestamp.replace("T", " ")[:16]


def csv_text(rows: list[TrendingRow]) -> str:
    """A header row, then one row per target; strangers' text with its control characters
    written as visible escapes, as everywhere watcher prints."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        target = row.target
        writer.writerow(
            [
                row.platform,
                printable(target.id),
                printable(target.handle),
                printable(target.name),
                "" if target.follower_count is None else target.follower_count,
                "true" if target.is_verified else "false",
                len(row.accounts),
                row.first_followed_at,
                "; ".join(f"{printable(a.handle)} {a.followed_at}" for a in row.accounts),
                printable(target.url),
            ]
        )
    return out.getvalue()


def json_lines(rows: list[TrendingRow]) -> Iterator[str]:
    for row in rows:
        target = row.target
        document = {
            "platform": row.platform,
            "target": {
                "id": target.id,
                "handle": target.handle,
                "name": target.name,
                "url": target.url,
                "follower_count": target.follower_count,
                "is_verified": target.is_verified,
            },
            "count": len(row.accounts),
            "first_followed_at": row.first_followed_at,
            "accounts": [
                {"id": a.id, "handle": a.handle, "followed_at": a.followed_at} for a in row.accounts
            ],
        }
        yield json_line(json.dumps(document, ensure_ascii=False))
