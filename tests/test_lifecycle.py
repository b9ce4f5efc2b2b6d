"""Restarts and reloads: next runs follow the last poll, and a SIGHUP changes only what changed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from watcher.clock import iso
from watcher.config import Config, parse
from watcher.reload import plan_reload
from watcher.scheduler import first_run
from watcher.store import Store

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def config(*watches: dict[str, Any], **top: Any) -> Config:
    return parse({"defaults": {"interval": "10m", "jitter": "30s"}, "watch": list(watches), **top})


def test_after_a_restart_a_watch_polls_when_its_interval_since_the_last_poll_is_up(
    tmp_path: Path,
) -> None:
    conf = config({"platform": "audius", "account": "a"}, {"platform": "audius", "account": "b"})
    store = Store.open(tmp_path / "w.db")
    try:
        recent, overdue = (
            store.ensure_watch(w.key, w.platform, w.account, w.relation, iso(NOW))
            for w in conf.watch
        )
        store.record_failure(recent.id, iso(NOW), iso(NOW - timedelta(minutes=2)), 10, "x")
        store.record_failure(overdue.id, iso(NOW), iso(NOW - timedelta(hours=5)), 10, "x")
        recent_next = first_run(conf, store, conf.watch[0], NOW)
        overdue_runs = [first_run(conf, store, conf.watch[1], NOW) for _ in range(50)]
    finally:
        store.close()
    assert recent_next == NOW + timedelta(minutes=8)  # not now: no stampede after a restart
    assert all(NOW <= run <= NOW + timedelta(seconds=30) for run in overdue_runs)
    assert len(set(overdue_runs)) > 1  # overdue ones are spread over the jitter


def test_reload_plan_sorts_watches_into_added_removed_changed_and_retimed() -> None:
    old = config(
        {"platform": "audius", "account": "kept"},
        {"platform": "audius", "account": "gone"},
        {"platform": "audius", "account": "slower"},
        {"platform": "audius", "account": "renotified"},
    )
    new = config(
        {"platform": "audius", "account": "kept"},
        {"platform": "audius", "account": "slower", "interval": "1h"},
        {"platform": "audius", "account": "renotified", "notify": ["chat"]},
        {"platform": "audius", "account": "new", "relation": "followers"},
        notifiers={"chat": {"type": "apprise", "urls": ["json://localhost/hook"]}},
    )
    plan = plan_reload(old, new)
    assert [w.key for w in plan.added] == ["audius:new:followers"]
    assert plan.removed == ["audius:gone:following"]
    assert [w.key for w in plan.changed] == [
        "audius:renotified:following",
        "audius:slower:following",
    ]
    assert plan.retimed == {"audius:slower:following"}
    assert plan.needs_restart == []
    assert plan.summary() == "config reloaded: watches 1 added, 1 removed, 2 changed"


def test_a_new_default_interval_retimes_every_watch_without_its_own() -> None:
    old = config(
        {"platform": "audius", "account": "a"},
        {"platform": "audius", "account": "b", "interval": "1m"},
    )
    new = parse(
        {
            "defaults": {"interval": "20m", "jitter": "30s"},
            "watch": [
                {"platform": "audius", "account": "a"},
                {"platform": "audius", "account": "b", "interval": "1m"},
            ],
        }
    )
    plan = plan_reload(old, new)
    assert plan.retimed == {"audius:a:following"}
    assert [w.key for w in plan.changed] == ["audius:a:following"]


def test_settings_taken_at_start_are_reported_as_needing_a_restart() -> None:
    old = config({"platform": "audius", "account": "a"})
    new = config(
        {"platform": "audius", "account": "a"},
        database="elsewhere.db",
        http={"listen": "127.0.0.1:9000"},
        log={"format": "json"},
    )
    plan = plan_reload(old, new)
    assert plan.needs_restart == ["database", "http", "log"]
    assert plan.summary().endswith("restart to apply: database, http, log")
