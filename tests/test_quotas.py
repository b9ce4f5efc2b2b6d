"""Request quotas and the SoundCloud hold, kept in the database for every process on it."""

from __future__ import annotations

import asyncio
import itertools
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from prometheus_client import CollectorRegistry, generate_latest

from tests.world import AudiusWorld, SoundCloudWorld, VirtualTime, run_polls
from watcher import metrics
from watcher.clock import iso
from watcher.http.quota import next_day, next_month
from watcher.http.shared_pace import SharedPace
from watcher.runtime import Runtime
from watcher.scheduler import Daemon
from watcher.store import Store
from watcher.store.quotas import Limits, QuotaUse


def used(world: AudiusWorld | SoundCloudWorld) -> QuotaUse:
    store = world.store()
    try:
        return store.quotas.used(world.platform, world.clock.now())
    finally:
        store.close()


def spend(world: AudiusWorld | SoundCloudWorld, requests: int) -> None:
    store = world.store()
    try:
        store.quotas.count(world.platform, requests, world.clock.now())
    finally:
        store.close()


def test_every_request_counts_once_tokens_and_retries_included(sc: SoundCloudWorld) -> None:
    sc.curator(450)  # 3 pages of 200
    sc.watch()
    sc.sim.faults.add("/followings", status=503, times=1)
    now = sc.clock.now()
    report = sc.poll()
    assert report.ok
    served = sc.sim.request_count
    assert any(r.path == "/oauth/token" for r in sc.sim.requests)
    store = sc.store()
    try:
        # Exact once the run settled: what was claimed and not sent went back.
        assert store.quotas.used("soundcloud", now) == QuotaUse(month=served, day=served)
    finally:
        store.close()


def test_a_quota_never_overshoots_and_a_spent_one_sends_nothing_until_the_month_turns(
    harness: AudiusWorld,
) -> None:
    harness.curator(1000)  # 1 profile + 10 pages
    harness.watch()
    harness.settings["requests_per_month"] = 5
    report = harness.poll()
    assert report.ok and report.paused and report.skipped
    assert harness.sim.request_count == 5
    assert used(harness).month == 5
    again = harness.poll()
    assert again.paused and harness.sim.request_count == 5  # nothing more was sent
    harness.clock.advance((next_month(harness.clock.now()) - harness.clock.now()).total_seconds())
    harness.settings["requests_per_month"] = 500
    assert harness.poll().ok and harness.sim.request_count > 5


def test_a_spent_day_pauses_until_the_next_utc_day(harness: AudiusWorld) -> None:
    harness.curator(10)
    harness.watch()
    harness.settings["requests_per_day"] = 3
    spend(harness, 3)
    report = harness.poll()
    turn = iso(next_day(harness.clock.now() - timedelta(seconds=harness.settle)))
    assert report.skipped == f"quota spent: audius 3/3 requests today (resets {turn})"
    assert harness.sim.request_count == 0
    harness.clock.advance(86_400)
    harness.settings["requests_per_day"] = 30  # a first poll reads the list more than once
    assert not harness.poll().paused


def test_a_spent_quota_is_not_a_failure_of_each_watch(harness: AudiusWorld) -> None:
    harness.curator(10)
    harness.watch()
    harness.watch("curator", relation="followers")
    harness.settings["requests_per_month"] = 1
    spend(harness, 1)
    reports = harness.poll_all()
    assert all(r.ok and r.paused for r in reports)
    store = harness.store()
    try:
        assert all(row.consecutive_failures == 0 for row in store.watches.all())
    finally:
        store.close()


def test_the_daemon_logs_and_alerts_a_spent_quota_once_per_period(
    harness: AudiusWorld, caplog: object
) -> None:
    harness.curator(10)
    harness.webhook("hook", "http://127.0.0.1:9/hook")
    harness.apprise("chat", "json://127.0.0.1:9/")
    harness.watch("curator", "hook", "chat")
    harness.watch("curator", "hook", relation="followers")
    harness.settings["requests_per_month"] = 2
    spend(harness, 2)
    config = harness.config()

    async def polls() -> None:
        store = Store.open(harness.db_path)
        runtime = Runtime(config, store, clock=harness.clock, retry=harness.retry)
        try:
            daemon = Daemon(runtime, clock=harness.clock)
            for _ in range(3):
                for watch in config.watch:
                    await daemon.poll_job(watch)
        finally:
            await runtime.aclose()
            store.close()

    asyncio.run(polls())
    asyncio.run(polls())  # a restarted daemon does not alert again
    rows = [r for r in harness.deliveries() if r.kind == "alert"]
    assert sorted(r.notifier for r in rows) == ["chat", "hook"]
    data = rows[0].envelope()
    assert data["type"] == "quota.exhausted"
    assert data["data"] == {
        "platform": "audius",
        "period": "month",
        "limit": 2,
        "resets_at": iso(next_month(harness.clock.now())),
    }
    assert harness.sim.request_count == 0


def test_soundclouds_documented_reset_time_holds_the_platform_for_every_process(
    sc: SoundCloudWorld,
) -> None:
    sc.curator(30)
    sc.watch()
    sc.watch("curator", relation="followers")
    reset = (sc.clock.now() + timedelta(hours=2)).replace(microsecond=0)
    sc.sim.rate_limit("/followings", shape="documented", times=None, reset_time=reset)
    first = sc.poll()
    assert not first.ok
    assert f"rate limited by soundcloud until {iso(reset)}" in (first.error or "")
    assert sum(1 for r in sc.sim.requests if r.path.endswith("/followings")) == 1  # no retry
    sent = sc.sim.request_count
    other = sc.poll(1)  # another process, another watch: held, nothing sent
    assert other.paused and other.skipped == f"rate limited by soundcloud until {iso(reset)}"
    assert sc.sim.request_count == sent
    sc.clock.advance(2 * 3600)
    sc.sim.faults.clear()
    assert sc.poll(1).ok


def test_the_documented_body_parses_as_the_documentation_writes_it(sc: SoundCloudWorld) -> None:
    import httpx

    sc.sim.rate_limit("/users", shape="documented")
    body = httpx.get(f"{sc.base_url}/users/1").content
    from watcher.http.rate_limit import reset_time

    assert json.loads(body)["errors"][0]["meta"]["remaining_requests"] == 0
    assert reset_time(body) == datetime(2015, 6, 1, 9, 49, 40, tzinfo=UTC)


def test_metrics_show_each_platforms_quota_and_use(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "w.db")
    now = datetime.now(UTC)
    store.quotas.count("audius", 1234, now)
    registry = CollectorRegistry()
    registry.register(
        metrics.StoreCollector(
            store, lambda: [], lambda: {"audius": Limits(500_000, 0), "soundcloud": Limits()}
        )
    )
    text = generate_latest(registry).decode()
    store.close()
    assert 'watcher_quota_limit{period="month",platform="audius"} 500000.0' in text
    assert 'watcher_quota_used{period="month",platform="audius"} 1234.0' in text
    assert 'watcher_quota_used{period="day",platform="audius"} 1234.0' in text
    assert 'watcher_quota_limit{period="month",platform="soundcloud"} 0.0' in text


def test_two_paces_on_one_database_never_start_closer_than_the_rate(tmp_path: Path) -> None:
    time = VirtualTime()
    time.now = 1000.0
    stores = [Store.open(tmp_path / "w.db") for _ in range(2)]
    paces = [SharedPace("audius", s, 10, time.monotonic, time.sleep) for s in stores]
    starts: list[float] = []

    async def both() -> None:
        # Taking turns, as two processes' requests interleave (one virtual clock for both).
        for turn in range(30):
            await paces[turn % 2 if turn < 20 else 0].start()
            starts.append(time.monotonic())

    asyncio.run(both())
    for store in stores:
        store.close()
    starts.sort()
    assert len(starts) == 30
    assert all(b - a >= 0.1 - 1e-9 for a, b in itertools.pairwise(starts))


def test_a_run_settles_what_it_claimed(harness: AudiusWorld) -> None:
    harness.curator(10)
    harness.watch()
    run_polls(harness.config(), clock=harness.clock, retry=harness.retry)
    assert used(harness).month == harness.sim.request_count > 0
