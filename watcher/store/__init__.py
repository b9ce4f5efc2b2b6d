"""The SQLite schema and every query, one module per table family. Nothing else in watcher
writes SQL.

Storage grows with changes, not with polls: the current edge set per watch, the event log,
the profiles of watched accounts and of every account an event names, and one small metadata
row per poll. `Store.open` opens the database; its parts (`store.watches`, `store.outbox`,
...) are the API.
"""

from watcher.store.database import LOCK_SLICE, PATIENCE, Store, probe_writable
from watcher.store.events import EventRow, SignalEvent
from watcher.store.leases import LeaseCheck, PollLeaseRow
from watcher.store.outbox import DELIVERY_COUNTS, AttemptRecord, DeliveryRow, Route
from watcher.store.polls import PollOutcome, SignalRule
from watcher.store.schema import MIGRATIONS
from watcher.store.scratch import ScratchMembers
from watcher.store.signals import Fired, FollowRecord, Signals, TrendingAccount, TrendingRow
from watcher.store.tokens import StoredToken, TokenHealth
from watcher.store.watches import WatchRow

__all__ = [
    "DELIVERY_COUNTS",
    "LOCK_SLICE",
    "MIGRATIONS",
    "PATIENCE",
    "AttemptRecord",
    "DeliveryRow",
    "EventRow",
    "Fired",
    "FollowRecord",
    "LeaseCheck",
    "PollLeaseRow",
    "PollOutcome",
    "Route",
    "ScratchMembers",
    "SignalEvent",
    "SignalRule",
    "Signals",
    "Store",
    "StoredToken",
    "TokenHealth",
    "TrendingAccount",
    "TrendingRow",
    "WatchRow",
    "probe_writable",
]
