"""`watcher events` output: the recorded events as a table, CSV or their JSON envelopes.

Rows come from `Events.stream` (one cursor, read in chunks) and go out through
`output_formats` as they come: exporting 100,000 events holds one chunk in memory.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from watcher.output_formats import CHUNK, Output, write_rows
from watcher.printable import json_line
from watcher.store import EventRow
from watcher.wording import describe_envelope

# The CSV's header row, exactly.
CSV_COLUMNS = (
    "id",
    "timestamp",
    "type",
    "platform",
    "account_id",
    "account_handle",
    "target_id",
    "target_handle",
    "target_name",
    "target_follower_count",
    "target_url",
)
TABLE_COLUMNS = ("time", "platform", "event", "id")


def write_events(rows: Iterable[EventRow], fmt: str, out: Output) -> int:
    """Write `rows` as `fmt` (`table`, `csv`, or `json`: the envelopes webhooks receive, one
    a line); returns how many were written."""
    if fmt == "json":
        return _write_envelopes(rows, out)
    if fmt == "csv":
        return write_rows((csv_row(row) for row in rows), CSV_COLUMNS, "csv", out)
    return write_rows((table_row(row) for row in rows), TABLE_COLUMNS, fmt, out)


def _write_envelopes(rows: Iterable[EventRow], out: Output) -> int:
    written = 0
    lines: list[str] = []
    for row in rows:
        lines.append(json_line(row.body) + "\n")
        if len(lines) == CHUNK:
            out.write("".join(lines))
            written, lines = written + len(lines), []
    out.write("".join(lines))
    return written + len(lines)


def csv_row(row: EventRow) -> tuple[Any, ...]:
    """The values of CSV_COLUMNS for one event."""
    envelope = row.envelope()
    data = envelope["data"]
    # A signal is about no one watched account: its account columns stay empty.
    account, target = data.get("account") or {"id": "", "handle": ""}, data["target"]
    return (
        row.id,
        row.timestamp,
        row.type,
        data["platform"],
        account["id"],
        account["handle"],
        target["id"],
        target["handle"],
        target["name"],
        target.get("follower_count"),
        target["url"],
    )


def table_row(row: EventRow) -> tuple[str, str, str, str]:
    """Time, platform, the event's sentence (`wording`), its id."""
    envelope = row.envelope()
    return row.timestamp, str(envelope["data"]["platform"]), describe_envelope(envelope), row.id
