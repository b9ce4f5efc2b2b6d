"""What SQLite's errors mean for the person running watcher: one line naming the file and the
condition, and what to do about it."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from watcher.errors import DatabaseProblem

# SQLite's messages (lower-cased fragments) and what a person should read instead.
_CONDITIONS: tuple[tuple[str, str], ...] = (
    ("locked", "is locked by another process; try again later"),
    ("busy", "is locked by another process; try again later"),
    ("full", "cannot grow: the disk is full"),
    ("readonly", "is read-only (file or filesystem): watcher must be able to write it"),
    ("read-only", "is read-only (file or filesystem): watcher must be able to write it"),
    ("malformed", "is malformed: restore it from a backup or move it aside"),
    ("not a database", "is not a database (or is encrypted): restore it or move it aside"),
    ("unable to open", "cannot be opened (check the path and its folder's permissions)"),
    ("disk i/o", "cannot be read or written (disk I/O error)"),
)


def is_locked(exc: sqlite3.Error) -> bool:
    """Another process holds the lock this statement needed (SQLITE_BUSY or SQLITE_LOCKED):
    worth trying again, unlike every other condition here."""
    text = str(exc).lower()
    return isinstance(exc, sqlite3.OperationalError) and ("locked" in text or "busy" in text)


def describe(path: Path | str, exc: sqlite3.Error) -> str:
    """`database /x/watcher.db is locked by another process; try again later`."""
    text = str(exc).lower()
    for fragment, condition in _CONDITIONS:
        if fragment in text:
            return f"database {path} {condition}"
    return f"database {path}: {exc}"


def problem(path: Path | str, exc: sqlite3.Error) -> DatabaseProblem:
    return DatabaseProblem(describe(path, exc))
