"""Restarts and reloads: next runs follow the last poll, and a SIGHUP changes only what changed."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Harness
from watcher.clock import iso
from watcher.config import Config, parse
from watcher.poll import Engine
from watcher.reload import plan_reload
from watcher.retry import RetryPolicy
from watcher.scheduler import Daemon, first_run
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


def stop_during_a_stalled_page(harness: Harness, stall: float, grace: float) -> float:
    """Run a daemon until its first poll waits on a page stalled for `stall` seconds, then
    stop it; returns how long the stop took."""
    sim = harness.sim
    sim.follow_many(sim.add_user(handle="curator"), sim.add_users(5, prefix="artist"))
    harness.watches.append({"platform": "audius", "account": "curator", "jitter": "0s"})
    sim.faults.add("/following", kind="timeout", delay=stall, times=1)
    config = harness.config()

    async def go() -> float:
        store = Store.open(config.database_path)
        engine = Engine(config, store, retry=RetryPolicy.immediate(2))
        daemon = Daemon(config, engine)
        daemon.shutdown_grace = grace
        task = asyncio.create_task(daemon.run(install_signals=False))
        try:
            for _ in range(1000):  # up to 10 s for the poll to reach its stalled page
                if any("/following" in r.path for r in sim.requests):
                    break
                await asyncio.sleep(0.01)
            started = time.monotonic()
            daemon.stop()
            await asyncio.wait_for(task, 10)
            return time.monotonic() - started
        finally:
            await engine.aclose()
            store.close()

    return asyncio.run(go())


def test_a_stop_lets_an_in_flight_poll_finish_within_the_grace(harness: Harness) -> None:
    took = stop_during_a_stalled_page(harness, stall=0.3, grace=5.0)
    assert 0.2 < took < 2
    store = harness.store()
    try:
        (row,) = store.watches()
        assert row.last_outcome == "ok" and row.size == 5  # it finished and committed
    finally:
        store.close()


def test_a_stop_abandons_a_stalled_poll_after_the_grace_and_it_commits_nothing(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    took = stop_during_a_stalled_page(harness, stall=30, grace=0.3)
    assert 0.3 <= took < 2
    store = harness.store()
    try:
        (row,) = store.watches()
        assert row.last_poll_at is None and row.baseline_at is None
        assert store.polls(row.id) == [] and store.edges(row.id) == {}
    finally:
        store.close()
    assert "abandoned the poll of audius:curator:following" in caplog.text
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]  # no job traceback
