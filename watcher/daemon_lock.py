"""One daemon per database: an OS lock on a file beside it, which dies with its holder.

`fcntl.flock` belongs to the open file, so the kernel drops it when the daemon exits however
it exits, SIGKILL included: a crashed daemon never blocks the next start, and no stale-pid
guessing is needed. The holder's pid is written into the file only so that a second daemon
can name it. The file is never deleted: unlinking a lock file lets two processes lock two
different files of the same name.

`watcher once` takes no part: it and a daemon coordinate per watch, not per database.
"""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path
from types import TracebackType

from watcher.errors import ConfigError, WatcherError

LOCK_SUFFIX = ".lock"
# How long a start keeps trying before it reports the holder. A lock is held for good by a
# daemon, but for microseconds by `watcher status` asking whether one runs.
ACQUIRE_PATIENCE = 0.5
_RETRY_PAUSE = 0.02


class DatabaseInUse(WatcherError):
    """Another running daemon holds the database (exit 1: a supervisor may try again)."""

    def __init__(self, database: Path, pid: int | None) -> None:
        self.database = database
        self.pid = pid
        holder = "unknown pid" if pid is None else f"pid {pid}"
        super().__init__(f"{database} is already used by a running daemon ({holder})")


def lock_path(database: Path) -> Path:
    """`<database>.lock`, beside the database, where the daemon can already write."""
    return database.with_name(database.name + LOCK_SUFFIX)


class DaemonLock:
    """Held from a daemon's start to its end; `with DaemonLock.acquire(db): ...`."""

    def __init__(self, fd: int, path: Path) -> None:
        self._fd: int | None = fd
        self.path = path

    @classmethod
    def acquire(cls, database: Path, *, patience: float = ACQUIRE_PATIENCE) -> DaemonLock:
        """Lock `database` for this process, or raise DatabaseInUse naming the holder."""
        path = lock_path(database)
        fd = _open(path, os.O_RDWR | os.O_CREAT)
        deadline = time.monotonic() + patience
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    pid = _read_pid(fd)
                    os.close(fd)
                    raise DatabaseInUse(database, pid) from None
                time.sleep(_RETRY_PAUSE)
                continue
            break
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        return cls(fd, path)

    def release(self) -> None:
        """Unlock (the pid is erased first, so the file never names a daemon that is gone)."""
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            os.ftruncate(fd, 0)
        finally:
            os.close(fd)  # closing the only descriptor drops the lock

    def __enter__(self) -> DaemonLock:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.release()


def daemon_holds(database: Path) -> bool:
    """Whether a running daemon holds `database` right now.

    Asked with a shared lock taken and dropped at once, so it never blocks a daemon (whose
    start waits out such a moment). A lock file this process cannot read counts as held:
    then nothing can be told, and the daemon's own word (what it stored) is the best guess.
    """
    try:
        fd = os.open(lock_path(database), os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return False
    except OSError:
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # also drops the shared lock when it was granted
    return False


def _open(path: Path, flags: int) -> int:
    try:
        # No mkdir: the database's directory is the user's to make (the config checks it).
        # CLOEXEC: a child process must not inherit the lock and keep it past our death.
        return os.open(path, flags | os.O_CLOEXEC, 0o640)
    except OSError as exc:
        raise ConfigError(f"database: cannot open the lock file {path}: {exc.strerror}") from None


def _read_pid(fd: int) -> int | None:
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None
