"""The state of every watch and notifier as rows: what `watcher status --json` prints and
`/api/watches` serves, built in one place so the two never disagree.

    rows = watch_rows(config, store, now, daemon_running=daemon_holds(config.database_path))
    notifiers = notifier_rows(config, store, now)

Everything here reads; nothing writes (the web routes run it on a read-only connection).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from watcher.clock import iso
from watcher.next_poll import shown_next_poll
from watcher.wording import watched_account

if TYPE_CHECKING:
    from watcher.config import Config, Watch
    from watcher.store import Store


def watch_rows(
    config: Config, store: Store, now: datetime, *, daemon_running: bool
) -> list[dict[str, Any]]:
    """One row per configured watch, in config order: what it is, its last poll, its
    configured and planned interval and its next poll (see `watcher status`)."""
    from watcher.fleet_plan import plan_fleet

    planned = plan_fleet(config, store, now).intervals()
    handles = store.watches.handles()
    return [
        _watch_row(config, store, watch, now, daemon_running, planned[watch.key], handles)
        for watch in config.watch
    ]


def _watch_row(
    config: Config,
    store: Store,
    watch: Watch,
    now: datetime,
    daemon_running: bool,
    planned: float,
    handles: dict[str, str],
) -> dict[str, Any]:
    row = store.watches.get(watch.key)
    next_poll = shown_next_poll(
        config, store, watch, now, daemon_running=daemon_running, interval=planned
    )
    return {
        "platform": watch.platform,
        "account": watched_account(watch.account, handles.get(watch.key)),
        "configured_account": watch.account,
        "relation": watch.relation,
        "account_id": row.account_id if row else None,
        "size": row.size if row else None,
        "last_poll_at": row.last_poll_at if row else None,
        "outcome": row.last_outcome if row else None,
        "error": row.last_error if row else None,
        "passes": row.last_passes if row else None,
        "duration_ms": row.last_duration_ms if row else None,
        "consecutive_failures": row.consecutive_failures if row else 0,
        "baseline_at": row.baseline_at if row else None,
        "interval_s": config.interval_of(watch),
        "planned_interval_s": planned,
        "next_poll_at": next_poll,
    }


def notifier_rows(config: Config, store: Store, now: datetime) -> list[dict[str, Any]]:
    """Per notifier: its state, its deliveries by state (`pending` without those `held` for
    a digest) and, for one that holds messages, its settings and its next digest."""
    from watcher.store import DELIVERY_COUNTS

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
