"""The `watcher` command as a user runs it: a real process, a real config file, exit codes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.world import config_file
from watcher.sim.audius import AudiusSim
from watcher.store import Store

ROOT = Path(__file__).resolve().parent.parent


def watcher(
    *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "watcher", *args],
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture
def world() -> Iterator[tuple[AudiusSim, str]]:
    sim = AudiusSim(seed=5, replicas=3)
    artists = sim.add_users(40, prefix="artist", base_followers=lambda i: i % 2)
    curator = sim.add_user(handle="curator", name="Curator", base_followers=10)
    sim.follow_many(curator, artists[:30])
    with sim.serve() as base_url:
        yield sim, base_url


def write_config(folder: Path, base_url: str, *accounts: str) -> Path:
    (folder / "state").mkdir(exist_ok=True)
    return config_file(
        folder,
        base_url,
        *accounts,
        database="state/watcher.db",
        defaults={"jitter": "0s", "confirm_after": "0s"},
    )


def test_once_exits_0_and_the_database_lands_beside_the_config(
    world: tuple[AudiusSim, str], tmp_path: Path
) -> None:
    _, base_url = world
    write_config(tmp_path, base_url)
    result = watcher("once", cwd=tmp_path)  # ./watcher.toml is the default
    assert result.returncode == 0, result.stderr
    assert "ok audius curator following: 30 entries" in result.stdout
    assert (tmp_path / "state" / "watcher.db").is_file()


def test_once_reports_changes_and_events_json_prints_envelopes(
    world: tuple[AudiusSim, str], tmp_path: Path
) -> None:
    sim, base_url = world
    config = write_config(tmp_path, base_url)
    assert watcher("once", "--config", str(config), cwd=ROOT).returncode == 0
    newcomer = sim.add_user(handle="newcomer", name="New <b>Comer</b>", base_followers=3)
    sim.follow(sim.id_of("curator"), newcomer)
    second = watcher("once", "--config", str(config), cwd=ROOT)
    assert second.returncode == 0, second.stderr
    assert "  @curator followed @newcomer (New <b>Comer</b>)\n" in second.stdout

    listed = watcher("events", "--json", cwd=ROOT, env={"WATCHER_CONFIG": str(config)})
    assert listed.returncode == 0, listed.stderr
    envelopes = [json.loads(line) for line in listed.stdout.splitlines()]
    assert [e["type"] for e in envelopes] == ["following.added"]
    event = envelopes[0]
    assert event["id"].startswith("evt_")
    assert event["data"]["platform"] == "audius"
    assert event["data"]["relation"] == "following"
    assert event["data"]["account"]["handle"] == "curator"
    assert event["data"]["target"]["handle"] == "newcomer"
    assert event["data"]["target"]["url"] == "https://audius.co/newcomer"

    filtered = watcher(
        "events", "--type", "follower", "--config", str(config), cwd=ROOT
    )  # the other relation: nothing
    assert filtered.returncode == 0 and filtered.stdout == ""


def test_once_exits_1_naming_the_failed_watch_and_still_polls_the_others(
    world: tuple[AudiusSim, str], tmp_path: Path
) -> None:
    _, base_url = world
    config = write_config(tmp_path, base_url, "curator", "nobody-by-this-name")
    result = watcher("once", "--config", str(config), cwd=ROOT)
    assert result.returncode == 1
    assert "ok audius curator following" in result.stdout
    failures = result.stderr.strip().splitlines()
    assert len(failures) == 1 and "nobody-by-this-name" in failures[0]
    assert "Traceback" not in result.stderr


def test_a_dead_endpoint_is_exit_1_with_one_line(tmp_path: Path) -> None:
    config = write_config(tmp_path, "http://127.0.0.1:9/v1")  # discard port: connection refused
    result = watcher("once", "--config", str(config), cwd=ROOT)
    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1
    assert "curator" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("database = \n", "not valid TOML"),
        ('[defaults]\ninterval = "soon"\n', "defaults.interval"),
        ('[[watch]]\nplatform = "myspace"\naccount = "x"\n', "watch 'x': platform"),
        ('[[watch]]\nplatform = "audius"\naccount = "x"\nnotify = ["nope"]\n', "notify"),
        ('colour = "blue"\n', "colour: unknown key"),
    ],
)
def test_a_bad_config_is_exit_2_with_one_line_naming_file_and_key(
    tmp_path: Path, text: str, fragment: str
) -> None:
    config = tmp_path / "bad.toml"
    config.write_text(text, encoding="utf-8")
    result = watcher("once", "--config", str(config), cwd=ROOT)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert str(config) in lines[0] and fragment in lines[0]


def test_a_missing_config_file_is_exit_2(tmp_path: Path) -> None:
    result = watcher("status", cwd=tmp_path, env={"WATCHER_CONFIG": ""})
    assert result.returncode == 2
    assert "watcher.toml: no such file" in result.stderr


def test_status_shows_one_row_per_watch_with_size_and_outcome(
    world: tuple[AudiusSim, str], tmp_path: Path
) -> None:
    _, base_url = world
    config = write_config(tmp_path, base_url)
    before = watcher("status", "--json", "--config", str(config), cwd=ROOT)
    assert json.loads(before.stdout)["last_poll_at"] is None
    watcher("once", "--config", str(config), cwd=ROOT)
    table = watcher("status", "--config", str(config), cwd=ROOT)
    assert table.returncode == 0, table.stderr
    header, row = table.stdout.strip().splitlines()
    assert header.split()[:4] == ["PLATFORM", "ACCOUNT", "RELATION", "SIZE"]
    assert row.split()[:6][:4] == ["audius", "curator", "following", "30"]
    assert " ok " in row
    data = json.loads(watcher("status", "--json", "--config", str(config), cwd=ROOT).stdout)
    assert data["size"] == 30 and data["outcome"] == "ok" and data["passes"] >= 1


def wait_for_poll(database: Path, deadline: float) -> bool:
    """Wait on a condition with a deadline (not a fixed sleep): a poll committed to the file."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if database.exists():
            store = Store.open(database)
            try:
                if any(row.last_outcome == "ok" for row in store.watches.all()):
                    return True
            finally:
                store.close()
        time.sleep(0.05)
    return False


def test_run_polls_then_stops_cleanly_on_sigterm(
    world: tuple[AudiusSim, str], tmp_path: Path
) -> None:
    _, base_url = world
    config = write_config(tmp_path, base_url)
    process = subprocess.Popen(
        [sys.executable, "-m", "watcher", "run", "--config", str(config)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert wait_for_poll(tmp_path / "state" / "watcher.db", deadline=30), "never polled"
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, stderr
    assert "Traceback" not in stderr
    assert "watcher stopped" in stderr


def test_a_process_killed_mid_poll_loses_nothing_and_the_next_run_reports_once(
    world: tuple[AudiusSim, str], tmp_path: Path
) -> None:
    sim, base_url = world
    config = write_config(tmp_path, base_url)
    assert watcher("once", "--config", str(config), cwd=ROOT).returncode == 0
    curator = sim.id_of("curator")
    sim.unfollow(curator, sim.following(curator)[0])
    stalled = sim.request_count
    sim.faults.add("/following", kind="timeout", delay=30, times=1)
    process = subprocess.Popen(
        [sys.executable, "-m", "watcher", "once", "--config", str(config)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while (
        not any("/following" in r.path for r in sim.requests[stalled:])
        and time.monotonic() < deadline
    ):
        time.sleep(0.02)  # until the poll is waiting on its stalled page
    process.kill()
    process.wait(timeout=10)

    store = Store.open(tmp_path / "state" / "watcher.db")
    try:
        assert store.events.count() == 0
        assert store.watches.all()[0].size == 30  # the previous snapshot, intact
    finally:
        store.close()
    sim.faults.clear()
    rerun = watcher("once", "--config", str(config), cwd=ROOT)
    assert rerun.returncode == 0, rerun.stderr
    confirm = watcher("once", "--config", str(config), cwd=ROOT)  # missing twice: removed
    assert confirm.returncode == 0, confirm.stderr
    listed = watcher("events", "--json", "--config", str(config), cwd=ROOT)
    assert [json.loads(line)["type"] for line in listed.stdout.splitlines()] == [
        "following.removed"
    ]
