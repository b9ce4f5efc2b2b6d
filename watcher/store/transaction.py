"""The one way the store writes several statements atomically."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlite_utils


@contextmanager
def transaction(db: sqlite_utils.Database) -> Iterator[None]:
    """`BEGIN IMMEDIATE`: the write lock is taken up front, so a transaction that reads before
    it writes never meets a lock it cannot wait for (a deferred one would fail at once)."""
    conn = db.conn
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
