"""The overview's trending targets, counted again only when they can have changed.

Counting them reads every follow of the window (a busy fleet's week: tens of thousands of
events, about 100 ms), and `/` is read far more often than the log changes. What is counted
changes in two ways only: a new event is recorded (the log's last `seq` moves), or a follow
that counts leaves the window (a target not shown can only rise by a new follow, so the
listed rows' follows are the only ones whose expiry matters). So the rows are kept until
either happens: exact, never stale. They are kept with their database's path (one process
may serve several, as the tests do).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from watcher import trending_report
from watcher.clock import parse_iso
from watcher.config import Config
from watcher.store import Store, TrendingRow


@dataclass(frozen=True, slots=True)
class _Counted:
    database: str
    last_seq: int
    keys: tuple[str, ...]
    window: float
    min_accounts: int
    until: datetime | None  # the first listed follow to leave the window (None: none listed)
    rows: list[TrendingRow]


class TrendingCache:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counted: _Counted | None = None

    def rows(
        self, config: Config, store: Store, now: datetime, *, window: float, min_accounts: int
    ) -> list[TrendingRow]:
        database, last = str(store.path), store.events.last_seq()
        keys = tuple(sorted(w.key for w in config.watch if w.relation == "following"))
        with self._lock:
            counted = self._counted
        if (
            counted is not None
            and (counted.database, counted.last_seq, counted.keys) == (database, last, keys)
            and (counted.window, counted.min_accounts) == (window, min_accounts)
            and (counted.until is None or now < counted.until)
        ):
            return counted.rows
        rows = trending_report.trending(
            config, store, now, window=window, min_accounts=min_accounts
        )
        expiries = [
            parse_iso(account.followed_at) + timedelta(seconds=window)
            for row in rows
            for account in row.accounts
        ]
        until = min(expiries, default=None)
        fresh = _Counted(database, last, keys, window, min_accounts, until, rows)
        with self._lock:
            self._counted = fresh
        return rows
