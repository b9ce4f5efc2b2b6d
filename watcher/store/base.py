"""What every table family shares: the one connection, and how it writes atomically."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import ClassVar

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


class Part:
    """One table family's queries. Every part shares the store's connection, so a poll's
    record can span several parts inside one transaction.

    `TABLE` names the family's main table for sqlite-utils' table API; its handle is made
    once here, since making one reads the schema (two queries) each time.
    """

    TABLE: ClassVar[str]

    def __init__(self, db: sqlite_utils.Database) -> None:
        self.db = db
        self.table = db.table(self.TABLE)
