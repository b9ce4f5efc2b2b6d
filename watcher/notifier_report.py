"""Each notifier as a person checks on it: enabled or disabled (since when, why), its
deliveries by state, and whether it holds messages for a digest. `watcher status` prints it,
the dashboard's `/deliveries` shows it."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from watcher.clock import iso
from watcher.store import DELIVERY_COUNTS

if TYPE_CHECKING:
    from watcher.config import Config
    from watcher.store import Store


def notifier_rows(config: Config, store: Store, now: datetime) -> list[dict[str, Any]]:
    """Per notifier: its state, its deliveries by state (`pending` without those `held` for
    a digest) and, for one that holds messages, its settings and its next digest."""
    disabled = store.notifiers.disabled()
    counts = store.outbox.counts()
    held = store.outbox.held(iso(now))
    rows = []
    for name, notifier in config.notifiers.items():
        since, reason = disabled.get(name, (None, None))
        count = dict(counts.get(name, dict.fromkeys(DELIVERY_COUNTS, 0)))
        waiting, due = held.get(name, (0, None))
        count["pending"] -= waiting
        hold = notifier.hold()
        rows.append(
            {
                "notifier": name,
                "type": notifier.type,
                "disabled_at": since,
                "disabled_reason": reason,
                **count,
                "held": waiting,
                "holds": hold.describe() if hold is not None else None,
                "next_digest_at": due,
            }
        )
    return rows
