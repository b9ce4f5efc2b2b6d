"""One daemon per database: the lock beside it, its holder's pid, and status's probe of it."""

from __future__ import annotations

import fcntl
import os
import threading
from pathlib import Path

import pytest

from watcher.daemon_lock import DaemonLock, DatabaseInUse, daemon_holds, lock_path
from watcher.errors import ConfigError


def test_the_lock_file_sits_beside_the_database_and_names_its_holder(tmp_path: Path) -> None:
    database = tmp_path / "state" / "watcher.db"
    database.parent.mkdir()
    assert lock_path(database) == tmp_path / "state" / "watcher.db.lock"
    with DaemonLock.acquire(database) as lock:
        assert lock.path == lock_path(database)
        assert lock.path.read_text() == f"{os.getpid()}\n"
    assert lock.path.read_text() == ""  # a released lock names nobody


def test_a_second_lock_on_the_same_database_fails_naming_the_holders_pid(tmp_path: Path) -> None:
    database = tmp_path / "watcher.db"
    with DaemonLock.acquire(database), pytest.raises(DatabaseInUse) as caught:
        DaemonLock.acquire(database, patience=0)
    assert caught.value.pid == os.getpid()
    assert str(caught.value) == (
        f"{database} is already used by a running daemon (pid {os.getpid()})"
    )
    with DaemonLock.acquire(database, patience=0):  # released: free again
        pass


def test_daemon_holds_tells_whether_a_daemon_holds_the_database(tmp_path: Path) -> None:
    database = tmp_path / "watcher.db"
    assert not daemon_holds(database)  # no lock file yet
    lock = DaemonLock.acquire(database)
    try:
        assert daemon_holds(database)
    finally:
        lock.release()
    assert not daemon_holds(database)


def test_a_start_waits_out_a_status_probe_holding_the_lock_for_a_moment(tmp_path: Path) -> None:
    database = tmp_path / "watcher.db"
    lock_path(database).touch()
    probe = os.open(lock_path(database), os.O_RDONLY)
    fcntl.flock(probe, fcntl.LOCK_SH)  # what daemon_holds takes, here held on purpose
    released = threading.Timer(0.1, os.close, [probe])
    released.start()
    try:
        with DaemonLock.acquire(database, patience=10):
            assert daemon_holds(database)
    finally:
        released.join()


def test_a_lock_file_that_cannot_be_created_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "plain-file").write_text("")
    with pytest.raises(ConfigError, match="database: cannot open the lock file"):
        DaemonLock.acquire(tmp_path / "plain-file" / "watcher.db")
