"""Counting for `type = "trending"`: when a target has been followed by enough watched
accounts within the window, and whether it may signal again.

A watched account counts for a target from its recorded follow until the window has passed
since (`now - followed_at < window`) or its unfollow is recorded, whichever comes first;
each account counts once however often it follows. Evaluated at each recorded follow, in the
transaction that records it, so the follows are counted in the order they were recorded and
one process's signal is the next one's state.

A target signals once per signal and window: not again while it stays at or over
`min_accounts`, and again only once it has been under it for a whole window since its last
signal. That "under for a window" is read back from the recorded follows (each account's
span of counting, cut short by an unfollow), not kept up to date as windows pass: nothing
runs when a follow merely grows old.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import pairwise

from watcher.clock import iso, parse_iso
from watcher.events import Event
from watcher.signals.trending_event import TrendingSignal
from watcher.store import Fired, FollowRecord, Route, Signals
from watcher.target_filter import TargetFilter

FOLLOW = "following.added"
Span = tuple[datetime, datetime]  # [start, end): while one follow counts


def counting(records: Iterable[FollowRecord], now: datetime, window: float) -> list[FollowRecord]:
    """The follows that count at `now`: each account's last recorded change, if it is a
    follow less than `window` seconds old; earliest first."""
    last: dict[str, FollowRecord] = {}
    for record in sorted(records, key=lambda r: r.seq):
        last[record.account_id] = record
    limit = timedelta(seconds=window)
    active = [r for r in last.values() if r.added and now - parse_iso(r.timestamp) < limit]
    return sorted(active, key=lambda r: (r.timestamp, r.seq))


def spans(records: Iterable[FollowRecord], window: float) -> dict[str, list[Span]]:
    """Per account, the stretches of time in which one of its follows counted."""
    limit = timedelta(seconds=window)
    found: dict[str, list[Span]] = {}
    open_span: dict[str, Span] = {}
    for record in sorted(records, key=lambda r: r.seq):
        at = parse_iso(record.timestamp)
        current = open_span.pop(record.account_id, None)
        if current is not None:  # an unfollow (or a follow again) ends the one before
            start, end = current
            found.setdefault(record.account_id, []).append((start, max(start, min(end, at))))
        if record.added:
            open_span[record.account_id] = (at, at + limit)
    for account, span in open_span.items():
        found.setdefault(account, []).append(span)
    return found


def quiet_window(
    records: Iterable[FollowRecord],
    since: datetime,
    now: datetime,
    window: float,
    min_accounts: int,
) -> bool:
    """Whether, between `since` and `now`, the count stayed under `min_accounts` for at least
    a whole `window` without a break."""
    per_account = spans(records, window)
    points = {since, now}
    for account_spans in per_account.values():
        for start, end in account_spans:
            points.update(p for p in (start, end) if since < p < now)
    ordered = sorted(points)
    limit = timedelta(seconds=window)
    quiet_from: datetime | None = None
    for begin, end in pairwise(ordered):
        count = sum(
            1
            for account_spans in per_account.values()
            if any(start <= begin < stop for start, stop in account_spans)
        )
        if count >= min_accounts:
            quiet_from = None
            continue
        quiet_from = begin if quiet_from is None else quiet_from
        if end - quiet_from >= limit:
            return True
    return False


@dataclass(frozen=True)
class TrendingRule:
    """One trending signal, for the polls of one of the watches it counts."""

    name: str
    counted: frozenset[str]  # keys of the counted watches on the polled watch's platform
    min_accounts: int
    window: float  # seconds
    targets: TargetFilter | None = None
    routes: list[Route] = field(default_factory=list)

    def fire(self, signals: Signals, events: Sequence[Event]) -> list[Fired]:
        follows = [e for e in events if e.type == FOLLOW]
        if not follows:
            return []
        watch_ids = signals.watch_ids(self.counted)
        fired: list[Fired] = []
        for event in follows:
            if self.targets is not None and not self.targets.passes(event.platform, event.target):
                continue
            signal = self._evaluate(signals, watch_ids, event)
            if signal is not None:
                signals.signaled(
                    self.name, event.platform, event.target.id, signal.timestamp, signal.id
                )
                fired.append(Fired(signal, self.routes))
        return fired

    def _evaluate(
        self, signals: Signals, watch_ids: list[int], event: Event
    ) -> TrendingSignal | None:
        now = parse_iso(event.timestamp)
        window = timedelta(seconds=self.window)
        last = signals.last_signal(self.name, event.platform, event.target.id)
        since = now if last is None else min(now, parse_iso(last))
        records = signals.follows_of(event.target.id, watch_ids, iso(since - window))
        active = counting(records, now, self.window)
        if len(active) < self.min_accounts:
            return None
        if last is not None and not quiet_window(
            records, parse_iso(last), now, self.window, self.min_accounts
        ):
            return None
        accounts = [{**r.account, "followed_at": r.timestamp} for r in active]
        return TrendingSignal.create(
            signal=self.name,
            platform=event.platform,
            target=event.target,
            accounts=accounts,
            window_s=self.window,
            moment=now,
        )
