"""`watcher run` starting as operators see it: real processes, their logs, exit codes and status.

A new watch polls at once; a short interval is kept whatever the default jitter; each planned
next poll is logged and shown by `watcher status`; one daemon per database; an endpoint that
cannot listen ends the daemon.
"""

from __future__ import annotations

import json
import re
import socket
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.daemons import ROOT, Running, polls_of, wait_until
from tests.test_cli import watcher
from tests.world import config_file
from watcher.clock import iso, parse_iso
from watcher.daemon_lock import lock_path
from watcher.sim.audius import AudiusSim
from watcher.store import Store

NEXT_POLL = r"next poll of audius curator following at (\S+Z) \(in (\d+[dhms](?: \d+[dhms])?)\)"


@pytest.fixture
def base_url() -> Iterator[str]:
    sim = AudiusSim(seed=7, replicas=3)
    curator = sim.add_user(handle="curator", name="Curator", base_followers=10)
    sim.follow_many(curator, sim.add_users(30, prefix="artist", base_followers=lambda i: i % 2))
    with sim.serve() as url:
        yield url


def write_config(
    folder: Path,
    base_url: str,
    defaults: dict[str, Any],
    *,
    listen: str = "127.0.0.1:0",
    log: str = "text",
) -> Path:
    """One watch of curator; `defaults` are the [defaults] keys (no jitter: the default 30s)."""
    return config_file(
        folder,
        base_url,
        defaults=defaults,
        tables={"http": {"listen": listen}, "log": {"format": log}},
    )


def next_poll_entries(daemon: Running) -> list[dict[str, Any]]:
    entries = [json.loads(line) for line in list(daemon.lines) if line.startswith("{")]
    return [e for e in entries if e["message"].startswith("next poll of ")]


def status_row(config: Path) -> dict[str, Any]:
    result = watcher("status", "--json", "--config", str(config), cwd=ROOT)
    assert result.returncode == 0, result.stderr
    row: dict[str, Any] = json.loads(result.stdout.splitlines()[0])
    return row


def test_a_watch_never_polled_polls_right_after_the_start_despite_the_default_jitter(
    base_url: str, tmp_path: Path, running: Callable[[Path], Running]
) -> None:
    database = tmp_path / "watcher.db"
    daemon = running(write_config(tmp_path, base_url, {"interval": "1h"}, log="json"))
    wait_until(lambda: next_poll_entries(daemon), f"no next-poll line:\n{daemon.stderr}")
    first = next_poll_entries(daemon)[0]
    assert first["account"] == "curator" and first["relation"] == "following"
    assert first["next_poll_in_s"] <= 3.0  # not 0..30 s: the default jitter is for later polls
    wait_until(lambda: polls_of(database, "curator") >= 1, "not polled soon after the start")
    assert daemon.stop() < 10 and daemon.process.returncode == 0, daemon.stderr


def test_a_two_second_interval_polls_about_every_two_seconds_whatever_the_default_jitter(
    base_url: str, tmp_path: Path, running: Callable[[Path], Running]
) -> None:
    database = tmp_path / "watcher.db"
    daemon = running(write_config(tmp_path, base_url, {"interval": "2s"}, log="json"))
    # With a 30 s jitter on top of each 2 s, three polls would take 45 s on average.
    wait_until(lambda: polls_of(database, "curator") >= 3, f"too few polls:\n{daemon.stderr}")
    assert daemon.stop() < 10 and daemon.process.returncode == 0, daemon.stderr
    plans = next_poll_entries(daemon)
    assert len(plans) >= 3  # one at the start, one after each poll
    assert plans[0]["next_poll_in_s"] <= 0.2  # within the capped jitter, not 3 s
    # After each poll the next one is planned at most interval + a tenth of it ahead.
    assert all(plan["next_poll_in_s"] <= 2.2 + 0.001 for plan in plans[1:]), plans
    assert [p["next_poll_at"] for p in plans] == sorted(p["next_poll_at"] for p in plans)


def test_status_shows_the_next_poll_the_daemon_logged_and_estimates_once_it_stops(
    base_url: str, tmp_path: Path, running: Callable[[Path], Running]
) -> None:
    config = write_config(tmp_path, base_url, {"interval": "1h", "jitter": "5m"})
    daemon = running(config)
    daemon.wait_for_line(r"ok audius curator following: 30 entries")

    def planned_after_the_poll() -> str | None:
        plans = re.findall(NEXT_POLL, daemon.stderr)  # the start's plan, then the poll's
        return plans[1][0] if len(plans) >= 2 else None

    planned = wait_until(planned_after_the_poll, f"no plan after the poll:\n{daemon.stderr}")
    assert status_row(config)["next_poll_at"] == planned  # what the log said, to the second
    table = watcher("status", "--config", str(config), cwd=ROOT)
    assert planned in table.stdout.splitlines()[1]

    assert daemon.stop() < 10 and daemon.process.returncode == 0, daemon.stderr
    row = status_row(config)
    estimate = iso(parse_iso(row["last_poll_at"]) + timedelta(hours=1))
    assert row["next_poll_at"] == estimate  # no daemon plans it now: last poll + interval
    # the plan was the interval plus up to its 5 m jitter after that poll
    ahead = parse_iso(planned) - parse_iso(row["last_poll_at"])
    assert timedelta(minutes=59) <= ahead <= timedelta(minutes=66)


def test_a_second_daemon_on_the_same_database_exits_1_at_once_naming_the_first(
    base_url: str, tmp_path: Path, running: Callable[[Path], Running]
) -> None:
    config = write_config(tmp_path, base_url, {"interval": "1h"})
    database = tmp_path.resolve() / "watcher.db"
    first = running(config)
    first.base_url()
    wait_until(lambda: polls_of(database, "curator") >= 1, "the first daemon never polled")

    started = time.monotonic()
    second = watcher("run", "--config", str(config), cwd=ROOT, timeout=30)
    assert time.monotonic() - started < 10  # at once: it neither waits nor polls
    assert second.returncode == 1
    assert second.stderr.splitlines() == [
        f"watcher run: {database} is already used by a running daemon (pid {first.process.pid})"
    ]
    assert polls_of(database, "curator") == 1

    once = watcher("once", "--config", str(config), cwd=ROOT)  # not blocked by the daemon
    assert once.returncode == 0, once.stderr
    assert polls_of(database, "curator") == 2
    assert first.process.poll() is None
    assert first.stop() < 10 and first.process.returncode == 0, first.stderr


def test_a_daemon_killed_with_sigkill_does_not_block_the_next_start(
    base_url: str, tmp_path: Path, running: Callable[[Path], Running]
) -> None:
    config = write_config(tmp_path, base_url, {"interval": "1h"})
    database = tmp_path / "watcher.db"
    killed = running(config)
    killed.wait_for_line(NEXT_POLL)
    wait_until(lambda: polls_of(database, "curator") >= 1, "the first daemon never polled")
    wait_until(lambda: len(re.findall(NEXT_POLL, killed.stderr)) >= 2, "no plan after the poll")
    killed.kill()  # SIGKILL: no cleanup at all
    assert killed.process.returncode == -9

    # Its plan is left in the database, but no daemon holds it: status estimates instead.
    store = Store.open(database)
    try:
        assert store.watches.planned_next_poll("audius:curator:following") is not None
    finally:
        store.close()
    row = status_row(config)
    assert row["next_poll_at"] == iso(parse_iso(row["last_poll_at"]) + timedelta(hours=1))

    restarted = running(config)
    restarted.base_url()  # it got past the lock
    restarted.wait_for_line(NEXT_POLL)
    assert lock_path(database).read_text() == f"{restarted.process.pid}\n"
    assert restarted.stop() < 10 and restarted.process.returncode == 0, restarted.stderr
    assert "already used" not in restarted.stderr


def test_a_daemon_whose_endpoint_cannot_listen_exits_1_naming_the_address(
    base_url: str, tmp_path: Path
) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = write_config(tmp_path, base_url, {"interval": "1h"}, listen=f"127.0.0.1:{port}")
        result = watcher("run", "--config", str(config), cwd=ROOT, timeout=30)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"watcher run: cannot listen on 127.0.0.1:{port}: address already in use"
    ]
    assert polls_of(tmp_path / "watcher.db", "curator") == 0  # it stopped before polling
