"""When a platform's 429 says its window resets: SoundCloud documents a `reset_time` in the
body (`{"errors":[{"meta":{"rate_limit":{...},"remaining_requests":0,"reset_time":
"2015/06/01 09:49:40 +0000"}}]}`); retrying before it is futile, so it counts as a wait."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import httpx

RESET_FORMAT = "%Y/%m/%d %H:%M:%S %z"


def reset_seconds(
    response: httpx.Response, now: datetime, retry_after: float | None
) -> float | None:
    """Seconds until the body's `reset_time` (the longer of it and `retry_after`), else
    `retry_after` as it was."""
    reset = reset_time(response.content)
    if reset is None:
        return retry_after
    seconds = max(0.0, (reset - now).total_seconds())
    return seconds if retry_after is None else max(seconds, retry_after)


def reset_time(body: bytes) -> datetime | None:
    """The documented `reset_time` of a 429 body (in `errors[0]` or its `meta`), if any."""
    try:
        parsed: Any = json.loads(body)
    except (ValueError, RecursionError):
        return None
    errors = parsed.get("errors") if isinstance(parsed, dict) else None
    if not isinstance(errors, list) or not errors or not isinstance(errors[0], dict):
        return None
    first = errors[0]
    meta = first.get("meta")
    text = first.get("reset_time") or (meta.get("reset_time") if isinstance(meta, dict) else None)
    if not isinstance(text, str):
        return None
    try:
        return datetime.strptime(text, RESET_FORMAT)
    except ValueError:
        return None
