"""Restarts and reloads: next runs follow the last poll, and a SIGHUP changes only what changed."""

from __future__ import annotations

import asyncio
import itertools
import logging
import random
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests import store_reads
from tests.world import AudiusWorld
from watcher.clock import iso
from watcher.config import Config, parse
from watcher.http.retry import RetryPolicy
from watcher.reload import plan_reload
from watcher.runtime import Runtime
from watcher.scheduler import START_SPREAD, Daemon, first_run, trigger_of
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
            store.watches.ensure(w.key, w.platform, w.account, w.relation, iso(NOW))
            for w in conf.watch
        )
        store.polls.record_failure(recent.id, iso(NOW), iso(NOW - timedelta(minutes=2)), 10, "x")
        store.polls.record_failure(overdue.id, iso(NOW), iso(NOW - timedelta(hours=5)), 10, "x")
        recent_next = first_run(conf, store, conf.watch[0], NOW)
        overdue_runs = [first_run(conf, store, conf.watch[1], NOW) for _ in range(50)]
    finally:
        store.close()
    assert recent_next == NOW + timedelta(minutes=8)  # not now: no stampede after a restart
    assert all(NOW <= run <= NOW + timedelta(seconds=30) for run in overdue_runs)
    assert len(set(overdue_runs)) > 1  # overdue ones are spread over the jitter


def test_a_watch_never_polled_is_planned_within_seconds_of_a_start_whatever_its_jitter(
    tmp_path: Path,
) -> None:
    conf = config(
        {"platform": "audius", "account": "default-jitter"},
        {"platform": "audius", "account": "no-jitter", "jitter": "0s"},
    )
    store = Store.open(tmp_path / "w.db")
    try:
        spread = [first_run(conf, store, conf.watch[0], NOW, random.Random(i)) for i in range(50)]
        unspread = first_run(conf, store, conf.watch[1], NOW, random.Random(0))
    finally:
        store.close()
    assert conf.jitter_of(conf.watch[0]) == 30  # it is the start that is hurried, not the jitter
    assert all(NOW <= run <= NOW + timedelta(seconds=START_SPREAD) for run in spread)
    assert len(set(spread)) > 1  # staggered, not all at the same instant
    assert unspread == NOW


def test_a_two_second_interval_is_planned_every_two_seconds_whatever_the_default_jitter(
    tmp_path: Path,
) -> None:
    conf = config({"platform": "audius", "account": "a", "interval": "2s"})  # jitter 30s
    watch = conf.watch[0]
    store = Store.open(tmp_path / "w.db")
    try:
        first = first_run(conf, store, watch, NOW, random.Random(1))
    finally:
        store.close()
    assert NOW <= first <= NOW + timedelta(seconds=0.2)
    trigger = trigger_of(conf, watch)
    planned = [first]
    for _ in range(200):  # the trigger is asked as APScheduler asks it, right at each run
        planned.append(trigger.get_next_fire_time(planned[-1], planned[-1]))
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(planned)]
    assert all(2.0 <= gap <= 2.2 + 1e-6 for gap in gaps)
    assert max(gaps) - min(gaps) > 0.05  # jittered still, within a tenth of the interval


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


def stop_during_a_stalled_page(audius: AudiusWorld, stall: float, grace: float) -> float:
    """Run a daemon until its first poll waits on a page stalled for `stall` seconds, then
    stop it; returns how long the stop took."""
    sim = audius.sim
    sim.follow_many(sim.add_user(handle="curator"), sim.add_users(5, prefix="artist"))
    audius.watches.append({"platform": "audius", "account": "curator", "jitter": "0s"})
    sim.faults.add("/following", kind="timeout", delay=stall, times=1)
    config = audius.config()

    async def go() -> float:
        store = Store.open(config.database_path)
        engine = Runtime(config, store, retry=RetryPolicy.immediate(2))
        daemon = Daemon(engine, shutdown_grace=grace)
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


def test_a_stop_lets_an_in_flight_poll_finish_within_the_grace(audius: AudiusWorld) -> None:
    took = stop_during_a_stalled_page(audius, stall=0.3, grace=5.0)
    assert 0.2 < took < 2
    store = audius.store()
    try:
        (row,) = store.watches.all()
        assert row.last_outcome == "ok" and row.size == 5  # it finished and committed
    finally:
        store.close()


def test_a_stop_abandons_a_stalled_poll_after_the_grace_and_it_commits_nothing(
    audius: AudiusWorld, caplog: pytest.LogCaptureFixture
) -> None:
    took = stop_during_a_stalled_page(audius, stall=30, grace=0.3)
    assert 0.3 <= took < 2
    store = audius.store()
    try:
        (row,) = store.watches.all()
        assert row.last_poll_at is None and row.baseline_at is None
        assert store_reads.polls(store, row.id) == [] and store_reads.edges(store, row.id) == {}
    finally:
        store.close()
    assert "abandoned the poll of audius:curator:following" in caplog.text
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]  # no job traceback


def test_a_reload_plans_the_watches_it_adds_and_forgets_those_it_removes(
    audius: AudiusWorld, caplog: pytest.LogCaptureFixture
) -> None:
    sim = audius.sim
    for handle in ("curator", "scout"):
        sim.follow_many(sim.add_user(handle=handle), sim.add_users(3, prefix=f"{handle}-a"))
    audius.watches.append({"platform": "audius", "account": "curator", "interval": "1h"})
    before = audius.config()
    audius.watches[0] = {"platform": "audius", "account": "scout", "interval": "1h"}
    after = audius.config()
    curator, scout = "audius:curator:following", "audius:scout:following"

    async def go() -> tuple[str | None, str | None, str | None, str | None]:
        store = Store.open(before.database_path)
        engine = Runtime(before, store, retry=RetryPolicy.immediate(2))
        daemon = Daemon(engine, load_config=lambda: after)
        task = asyncio.create_task(daemon.run(install_signals=False))
        try:
            for _ in range(1000):  # up to 10 s for the daemon to start
                if store.watches.planned_next_poll(curator) is not None:
                    break
                await asyncio.sleep(0.01)
            at_start = store.watches.planned_next_poll(curator)
            daemon.reload()
            removed, added = (
                store.watches.planned_next_poll(curator),
                store.watches.planned_next_poll(scout),
            )
        finally:
            daemon.stop()
            await asyncio.wait_for(task, 10)
            await engine.aclose()
        try:
            return at_start, removed, added, store.watches.planned_next_poll(scout)
        finally:
            store.close()

    with caplog.at_level(logging.INFO, logger="watcher"):
        at_start, removed, added, after_stop = asyncio.run(go())
    assert at_start is not None and added is not None
    assert removed is None  # no daemon plans a removed watch
    assert after_stop is None  # nor any watch once it stopped
    assert f"next poll of audius scout following at {added}" in caplog.text
