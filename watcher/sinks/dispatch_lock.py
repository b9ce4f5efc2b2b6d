"""One dispatcher at a time per database, so two processes never send the same delivery.

`watcher once` from cron and a `watcher run` daemon may share a database; without this both
would pick the same due rows and chat services would show each message twice. The lock is an
advisory `flock` on a file beside the database: the kernel releases it when its holder exits,
even by SIGKILL, so a crash never leaves deliveries stuck behind a stale lock.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from watcher.errors import ConfigError


class DispatchLock:
    def __init__(self, path: Path | None) -> None:
        """`path` None (an in-memory database) means nobody else can see the rows: no lock."""
        self.path = path
        self._fd: int | None = None

    def acquire(self) -> bool:
        """Take the lock without waiting; False when another process holds it."""
        if self.path is None or self._fd is not None:
            return True
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise ConfigError(f"database: cannot create {self.path}: {exc.strerror}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


def lock_path_for(database: Path) -> Path | None:
    if str(database) == ":memory:":
        return None
    return database.with_name(database.name + ".dispatch-lock")
