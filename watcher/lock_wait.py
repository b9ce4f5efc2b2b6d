"""Waiting for another process's database lock without stopping the event loop.

The daemon's connection waits at most `store.LOCK_SLICE` in SQLite for a lock (see
`Store.open(sliced=True)`); an async caller wraps the store call in `patiently`, which tries
again after an `asyncio.sleep` until the store's patience runs out. Meanwhile /healthz
answers, signals are handled and a stop can cancel the wait (a cancelled write committed
nothing). Past the patience the lock is one line naming the database: a `DatabaseProblem`.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from watcher import database_problems
from watcher.store import Store

P = ParamSpec("P")
T = TypeVar("T")

# Between two tries: long enough not to spin on a lock held for seconds, short enough that a
# lock held for a moment costs a moment.
RETRY_PAUSE = 0.1


async def patiently(store: Store, call: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """`call(*args, **kwargs)`, tried again while the database is locked, for up to
    `store.patience` seconds; then `DatabaseProblem` ("database ... is locked ...").

    `call` must change nothing when it fails on a lock (one statement, or one transaction
    that rolls back), so trying it again is safe.
    """
    deadline = time.monotonic() + store.patience
    while True:
        try:
            return call(*args, **kwargs)
        except sqlite3.OperationalError as exc:
            if not database_problems.is_locked(exc):
                raise
            if time.monotonic() >= deadline:
                raise database_problems.problem(store.path, exc) from None
        await asyncio.sleep(RETRY_PAUSE)
