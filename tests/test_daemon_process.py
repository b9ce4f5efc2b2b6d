"""`watcher run` as operators run it: a real process with its HTTP endpoint, signals and logs."""

from __future__ import annotations

import json
import re
import signal
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.daemons import Running, metric, polls_of, wait_until
from tests.world import config_file, event_types
from watcher.sim.audius import AudiusSim


@pytest.fixture
def world() -> Iterator[tuple[AudiusSim, str]]:
    sim = AudiusSim(seed=3, replicas=3)
    artists = sim.add_users(260, prefix="artist", base_followers=lambda i: i % 3)
    curator = sim.add_user(handle="curator", name="Curator", base_followers=10)
    scout = sim.add_user(handle="scout", name="Scout", base_followers=10)
    sim.follow_many(curator, artists[:210])
    sim.follow_many(scout, artists[:12])
    with sim.serve() as base_url:
        yield sim, base_url


def write_config(folder: Path, base_url: str, *accounts: str, log: str = "text") -> Path:
    return config_file(
        folder,
        base_url,
        *accounts,
        defaults={"interval": "0.5s", "jitter": "0s", "confirm_after": "0s"},
        tables={"http": {"listen": "127.0.0.1:0"}, "log": {"format": log}},
    )


def test_daemon_serves_health_metrics_and_dashboard_reports_a_change_and_stops_on_sigterm(
    world: tuple[AudiusSim, str], tmp_path: Path, running: Callable[..., Running]
) -> None:
    sim, base_url = world
    daemon = running(write_config(tmp_path, base_url, "curator"))
    url = daemon.base_url()
    started = time.monotonic()
    database = tmp_path / "watcher.db"
    with httpx.Client(base_url=url, timeout=5, trust_env=False) as http:
        health = http.get("/healthz")
        assert health.status_code == 200, health.text
        assert health.json()["status"] == "ok"

        # polls on its interval: several polls of one watch, half a second apart
        wait_until(lambda: polls_of(database, "curator") >= 3, "not polled on its interval")
        assert time.monotonic() - started >= 0.5  # on its interval, not back to back

        curator = sim.id_of("curator")
        newcomer = sim.add_user(handle="newcomer", name="Newcomer", base_followers=1)
        sim.follow(curator, newcomer)
        wait_until(
            lambda: ("following.added", "newcomer") in event_types(database),
            f"the follow made while running was not reported:\n{daemon.stderr}",
        )

        scrape = http.get("/metrics")
        assert scrape.status_code == 200
        assert scrape.headers["content-type"].startswith("text/plain; version=0.0.4")
        text = scrape.text
        assert (metric(text, "watcher_polls_total", platform="audius", outcome="ok") or 0) >= 2
        assert metric(text, "watcher_events_total", type="following.added") == 1
        assert metric(text, "watcher_list_size", account="curator", relation="following") == 211
        assert (metric(text, "watcher_platform_requests_total", status="200") or 0) > 0
        assert metric(text, "watcher_poll_duration_seconds_count", platform="audius")
        assert metric(text, "watcher_deliveries_pending") == 0

        dashboard = http.get("/")  # the daemon's own dashboard shows the follow it recorded
        assert dashboard.status_code == 200
        assert "@curator followed @newcomer just now" in " ".join(
            re.sub(r"<[^>]+>", "", dashboard.text).split()
        )
        assert http.get("/nowhere").status_code == 404
        assert http.post("/healthz").status_code == 405

    took = daemon.stop()
    assert daemon.process.returncode == 0, daemon.stderr
    assert took < 10
    assert "Traceback" not in daemon.stderr
    assert "watcher stopped" in daemon.stderr
    # one summary line per poll: account, size, passes, changes, duration
    assert re.search(
        r"ok audius curator following: 211 entries, \d+ pass\(es\).* \+1 -0 in ", daemon.stderr
    )


def test_sighup_applies_added_and_removed_watches_and_keeps_the_old_config_if_the_new_is_bad(
    world: tuple[AudiusSim, str], tmp_path: Path, running: Callable[..., Running]
) -> None:
    _, base_url = world
    config = write_config(tmp_path, base_url, "curator", log="json")
    database = tmp_path / "watcher.db"
    daemon = running(config)
    url = daemon.base_url()
    wait_until(lambda: polls_of(database, "curator") >= 1, "curator never polled")

    write_config(tmp_path, base_url, "scout", log="json")
    daemon.process.send_signal(signal.SIGHUP)
    daemon.wait_for_line(r"config reloaded: watches 1 added, 1 removed, 0 changed")
    wait_until(lambda: polls_of(database, "scout") >= 1, "the added watch was never polled")
    settled = polls_of(database, "curator")
    wait_until(lambda: polls_of(database, "scout") >= 3, "the added watch stopped polling")
    assert polls_of(database, "curator") <= settled + 1  # at most one poll that was in flight

    config.write_text("this is [not toml", encoding="utf-8")
    daemon.process.send_signal(signal.SIGHUP)
    daemon.wait_for_line(r"config reload rejected, keeping the running config")
    before = polls_of(database, "scout")
    wait_until(lambda: polls_of(database, "scout") > before, "stopped polling after a bad reload")
    assert httpx.get(f"{url}/healthz", timeout=5, trust_env=False).status_code == 200

    assert daemon.stop() < 10
    assert daemon.process.returncode == 0, daemon.stderr
    assert "Traceback" not in daemon.stderr
    entries = [json.loads(line) for line in daemon.lines]  # every line, the last one too
    assert entries[-1]["message"] == "watcher stopped"
    summary = next(e for e in entries if e.get("account") == "scout" and e.get("outcome") == "ok")
    assert summary["size"] == 12 and summary["passes"] >= 1 and "duration_s" in summary
    assert summary["added"] == 0 and summary["removed"] == 0


@contextmanager
def write_locked(database: Path) -> Iterator[None]:
    """Another process's writer (this test's own connection) holding the write lock."""
    holder = sqlite3.connect(database, isolation_level=None)
    try:
        holder.execute("BEGIN EXCLUSIVE")
        holder.execute("UPDATE watches SET size = size")
        yield
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def locked_failures(daemon: Running) -> int:
    return sum(
        1 for line in list(daemon.lines) if re.search(r"FAILED audius curator .*db is locked", line)
    )


def test_a_database_locked_by_another_process_blocks_neither_healthz_nor_a_stop(
    world: tuple[AudiusSim, str], tmp_path: Path, running: Callable[..., Running]
) -> None:
    _, base_url = world
    config = write_config(tmp_path, base_url, "curator")
    # [defaults] timeout is also how long a lock is waited for before the poll fails
    config.write_text(config.read_text().replace('timeout = "5s"', 'timeout = "2s"'))
    daemon = running(config)
    url = daemon.base_url()
    database = tmp_path / "watcher.db"
    wait_until(lambda: polls_of(database, "curator") >= 1, f"never polled:\n{daemon.stderr}")
    with httpx.Client(base_url=url, timeout=2, trust_env=False) as http:
        with write_locked(database):
            started = time.monotonic()
            health = http.get("/healthz")  # the client's timeout: an answer within 2 s
            assert time.monotonic() - started < 2
            assert health.status_code == 503
            assert health.json() == {"status": "unavailable", "reason": "database locked"}
            # a poll waits out the lock up to [defaults] timeout, then fails in one line
            wait_until(lambda: locked_failures(daemon) >= 1, f"no failure:\n{daemon.stderr}")
            polls = polls_of(database, "curator")

        # released: polls record again, and the daemon is healthy
        wait_until(lambda: polls_of(database, "curator") >= polls + 2, daemon.stderr)
        wait_until(lambda: http.get("/healthz").status_code == 200, "still unhealthy")

        with write_locked(database):
            failures = locked_failures(daemon)
            wait_until(lambda: locked_failures(daemon) > failures, daemon.stderr)
            assert http.get("/healthz").status_code == 503
            took = daemon.stop()  # while the next poll waits for the lock
    assert daemon.process.returncode == 0, daemon.stderr
    assert took < 10
    assert "Traceback" not in daemon.stderr
    assert "watcher stopped" in daemon.stderr
