"""What `/trending` shows: `watcher trending` on a page, its window, minimum and platform as
the controls of a GET form (the same counting, the same bounds)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from watcher import trending_report
from watcher.config import Config
from watcher.platforms import registry
from watcher.store import Store

WINDOWS = ("1d", "3d", "7d", "14d", "30d", "90d")
DEFAULT_WINDOW, DEFAULT_MIN = "7d", 2


@dataclass(frozen=True, slots=True)
class TrendingQuery:
    window_text: str
    window: float
    min_accounts: int
    platform: str | None


class BadQuery(ValueError):
    """A control's value the page cannot use: shown on the page, with a 400."""


def parse_query(query: Mapping[str, str]) -> TrendingQuery:
    window_text = query.get("window", DEFAULT_WINDOW).strip() or DEFAULT_WINDOW
    try:
        window = trending_report.parse_window(window_text)
    except ValueError as exc:
        raise BadQuery(f"window: {exc}") from None
    low, high = trending_report.MIN_ACCOUNTS_RANGE
    text = query.get("min", str(DEFAULT_MIN)).strip() or str(DEFAULT_MIN)
    if not text.isdigit() or not low <= int(text) <= high:
        raise BadQuery(f"min: {text!r} is not a whole number from {low} to {high}")
    platform = query.get("platform", "").strip() or None
    if platform is not None and platform not in registry.names():
        raise BadQuery(f"platform: {platform!r} is not one of {', '.join(registry.names())}")
    return TrendingQuery(window_text, window, int(text), platform)


def trending(config: Config, store: Store, now: datetime, query: TrendingQuery) -> dict[str, Any]:
    rows = trending_report.trending(
        config,
        store,
        now,
        window=query.window,
        min_accounts=query.min_accounts,
        platform=query.platform,
    )
    return {
        "rows": rows,
        "empty_line": trending_report.empty_line(query.window, query.min_accounts, query.platform),
        "following_watches": sum(1 for w in config.watch if w.relation == "following"),
    }


def controls(query: Mapping[str, str]) -> dict[str, Any]:
    """What the form shows: the values asked for (even a wrong one, to correct it)."""
    return {
        "window": query.get("window", DEFAULT_WINDOW),
        "min": query.get("min", str(DEFAULT_MIN)),
        "platform": query.get("platform", ""),
        "windows": WINDOWS,
        "platforms": registry.names(),
    }
