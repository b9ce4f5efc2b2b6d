"""A database that cannot be used is one line and exit 1 (a supervisor may retry), never a
traceback and never exit 2; a new database is private to its owner; SIGTERM stops `once`
cleanly."""

from __future__ import annotations

import os
import signal
import sqlite3
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.commands import run_watcher
from tests.world import config_file
from watcher.sim.audius import AudiusSim
from watcher.store import Store

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def world() -> Iterator[tuple[AudiusSim, str]]:
    sim = AudiusSim(seed=8)
    curator = sim.add_user("curator")
    sim.follow_many(curator, sim.add_users(30, prefix="artist"))
    with sim.serve() as base_url:
        yield sim, base_url


def write_config(folder: Path, base_url: str, timeout: str = "5s") -> Path:
    return config_file(folder, base_url, defaults={"confirm_after": "0s", "timeout": timeout})


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_database_and_its_log_are_readable_by_their_owner_only(tmp_path: Path) -> None:
    os.umask(0o022)
    store = Store.open(tmp_path / "watcher.db")
    try:
        store.migrate()
        assert mode_of(tmp_path / "watcher.db") == 0o600
        assert mode_of(tmp_path / "watcher.db-wal") == 0o600
    finally:
        store.close()


def test_an_existing_database_keeps_the_mode_its_owner_gave_it(tmp_path: Path) -> None:
    Store.open(tmp_path / "watcher.db").close()
    os.chmod(tmp_path / "watcher.db", 0o640)
    Store.open(tmp_path / "watcher.db").close()
    assert mode_of(tmp_path / "watcher.db") == 0o640


def test_a_file_that_is_not_a_database_is_one_line_and_exit_1(
    world: tuple[AudiusSim, str], tmp_path: Path
) -> None:
    config = write_config(tmp_path, world[1])
    (tmp_path / "watcher.db").write_bytes(b"these are not the pages you are looking for\n" * 200)
    for command in ("status", "once", "events"):
        result = run_watcher(config, command)
        assert result.returncode == 1, result.stderr
        lines = result.stderr.splitlines()
        assert lines == [
            f"watcher: database {tmp_path / 'watcher.db'} is not a database (or is encrypted):"
            " restore it or move it aside"
        ]


def test_a_damaged_page_is_one_line_naming_the_file_and_exit_1(
    world: tuple[AudiusSim, str], tmp_path: Path
) -> None:
    config = write_config(tmp_path, world[1])
    assert run_watcher(config, "once").returncode == 0
    database = tmp_path / "watcher.db"
    with sqlite3.connect(database) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.close()
    data = bytearray(database.read_bytes())
    for page in range(1, pages):  # every page but the header page
        data[page * page_size + 8 : page * page_size + 64] = b"\xa5" * 56
    database.write_bytes(bytes(data))
    for command in ("status", "events"):
        result = run_watcher(config, command)
        assert result.returncode == 1, result.stderr
        assert "Traceback" not in result.stderr
        assert result.stderr.splitlines() == [
            f"watcher: database {database} is malformed: restore it from a backup or move it aside"
        ]


def test_sigterm_stops_once_with_exit_143_and_commits_nothing_in_flight(
    world: tuple[AudiusSim, str], tmp_path: Path
) -> None:
    sim, base_url = world
    config = write_config(tmp_path, base_url)
    assert run_watcher(config, "once").returncode == 0
    curator = sim.id_of("curator")
    sim.follow(curator, sim.add_user("newcomer"))
    seen = sim.request_count
    sim.faults.add("/following", kind="timeout", delay=30, times=None)
    process = subprocess.Popen(
        [sys.executable, "-m", "watcher", "once", "--config", str(config)],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 30
    while not any("/following" in r.path for r in sim.requests[seen:]):
        assert time.monotonic() < deadline, "the poll never reached its list"
        time.sleep(0.02)  # until the poll waits on its stalled page
    sent = time.monotonic()
    process.send_signal(signal.SIGTERM)
    stdout, stderr = process.communicate(timeout=20)
    assert time.monotonic() - sent < 5
    assert process.returncode == 143
    assert stderr.splitlines() == ["terminated by SIGTERM; polls in flight committed nothing"]
    assert stdout == ""
    store = Store.open(tmp_path / "watcher.db")
    try:
        assert store.events.count() == 0 and store.watches.all()[0].size == 30
    finally:
        store.close()


def test_once_on_a_database_another_process_keeps_locked_fails_in_one_line_within_its_timeout(
    world: tuple[AudiusSim, str], tmp_path: Path
) -> None:
    _, base_url = world
    config = write_config(tmp_path, base_url, timeout="1s")  # it bounds the wait for a lock too
    database = tmp_path / "watcher.db"
    Store.open(database).close()
    holder = sqlite3.connect(database, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    holder.execute("UPDATE watches SET size = size")
    try:
        started = time.monotonic()
        result = run_watcher(config, "once")
        took = time.monotonic() - started
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    (line,) = result.stderr.splitlines()
    locked = f"database {database} is locked by another process; try again later"
    assert line == f"FAILED audius curator following: {locked}"
    assert 1 <= took < 15  # waited its timeout (1 s) for the lock, not SQLite's 30 s

    assert run_watcher(config, "once").returncode == 0  # released: the same command polls
