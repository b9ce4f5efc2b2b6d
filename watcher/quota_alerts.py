"""`quota.exhausted`: one alert per platform and period, to the notifiers of its watches.

A spent quota stops every watch of the platform at once, so a `watch.failing` per watch (and
per poll) would be noise: the first process to meet the spent period (the daemon) enqueues
one alert (deduplicated in the database, `Quotas.alert_once`) in the envelope the failure
alerts use, with `data.platform`, `data.period`, `data.limit` and `data.resets_at`.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from watcher.clock import iso
from watcher.config import Config
from watcher.events import new_event_id
from watcher.http.quota import QuotaSpent
from watcher.sinks.routing import routes
from watcher.store import Store

QUOTA_EXHAUSTED = "quota.exhausted"


def envelope(spent: QuotaSpent, moment: datetime) -> dict[str, Any]:
    return {
        "id": new_event_id(moment),
        "type": QUOTA_EXHAUSTED,
        "timestamp": iso(moment),
        "data": {
            "platform": spent.platform,
            "period": spent.period,
            "limit": spent.limit,
            "resets_at": iso(spent.resets_at),
        },
    }


def announce(config: Config, store: Store, spent: QuotaSpent, now: datetime) -> bool:
    """Alert `spent` unless some process already did for this period; True if this call did."""
    period = f"{spent.period}:{iso(spent.resets_at)}"
    with store.transaction():
        if not store.quotas.alert_once(spent.platform, period, now):
            return False
        body = envelope(spent, now)
        payload = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
        for watch_id, route in _routes(config, store, spent.platform):
            store.outbox.enqueue(
                watch_id, body["id"], iso(now), [route], [(QUOTA_EXHAUSTED, None, payload)]
            )
    return True


def _routes(config: Config, store: Store, platform: str) -> list[tuple[int, Any]]:
    """Each notifier of the platform's watches once, with a watch that routes to it."""
    found: dict[str, tuple[int, Any]] = {}
    for watch in config.watch:
        row = store.watches.get(watch.key) if watch.platform == platform else None
        if row is None:
            continue
        for route in routes(config, watch):
            found.setdefault(route.notifier, (row.id, route))
    return list(found.values())
