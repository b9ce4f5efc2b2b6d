"""Successful webhook sends are marked in batches, not in one transaction each. Whatever ends a
run of successes commits their marks first: a failure (in the same transaction), a stop, a
cancellation, the end of the dispatch, or MARK_SECONDS passing while a slow send is in flight.
A crash loses only marks, never deliveries: those are sent again, with the same id."""

from __future__ import annotations

import asyncio
import math
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlite_utils

from tests import store_reads
from tests.receiver import Receiver
from tests.world import SECRET, dispatch_due, verified_by
from watcher.clock import FakeClock, iso
from watcher.config import Config, parse
from watcher.events import Event
from watcher.platforms.base import Profile
from watcher.retry import DELIVERY_DELAYS
from watcher.sinks.dispatcher import MARK_BATCH, DispatchReport
from watcher.store import AttemptRecord, DeliveryRow, PollOutcome, Route, Store
from watcher.store.outbox import Outbox as StoreOutbox

ROOT = Path(__file__).resolve().parent.parent


# Transaction counts exact: unless a test says otherwise, no timer flushes a mark, only the
# batch size, failures and stops do.
NO_TIMER_FLUSHES = 60.0


@dataclass
class Outbox:
    """A database holding pending webhook deliveries, and a clock that moves when told to."""

    db_path: Path
    clock: FakeClock

    def config(self, url: str) -> Config:
        return parse(
            {
                "database": str(self.db_path),
                "notifiers": {"crm": {"type": "webhook", "url": url, "secret": SECRET}},
                "watch": [{"platform": "audius", "account": "star", "notify": ["crm"]}],
            }
        )

    def add_events(self, config: Config, count: int) -> None:
        """`count` follows seen by one poll: one pending delivery each, in id order."""
        now = iso(self.clock.now())
        store = Store.open(self.db_path)
        try:
            watch = store.watches.ensure(config.watch[0].key, "audius", "star", "following", now)
            star = Profile("s1", "star", "Star", "https://audius.co/star", 10, count)
            events = [
                Event.create(
                    platform="audius",
                    relation="following",
                    added=True,
                    account=star,
                    target=Profile(f"t{i}", f"artist_{i}", f"Artist {i}", f"https://a.co/{i}"),
                    moment=self.clock.now(),
                )
                for i in range(count)
            ]
            store.polls.commit(
                "audius",
                PollOutcome(
                    watch_id=watch.id,
                    started_at=now,
                    finished_at=now,
                    duration_ms=1,
                    account=star,
                    events=events,
                    routes=[Route("crm")],
                ),
            )
        finally:
            store.close()

    async def dispatch(
        self,
        config: Config,
        *,
        should_stop: Callable[[], bool] = lambda: False,
        statements: list[str] | None = None,
        mark_seconds: float = NO_TIMER_FLUSHES,
        store_type: type[Store] = Store,
    ) -> DispatchReport:
        store = store_type.open(self.db_path)
        if statements is not None:
            store.db.conn.set_trace_callback(statements.append)
        try:
            return await dispatch_due(
                config, store, self.clock, should_stop=should_stop, mark_seconds=mark_seconds
            )
        finally:
            store.close()

    def rows(self) -> list[DeliveryRow]:
        store = Store.open(self.db_path)
        try:
            return store.outbox.recent(limit=10_000)
        finally:
            store.close()


@pytest.fixture
def outbox(tmp_path: Path) -> Outbox:
    # The real now: receivers check `webhook-timestamp` against their own clock.
    return Outbox(tmp_path / "watcher.db", FakeClock(datetime.now(UTC).replace(microsecond=0)))


async def until(condition: Callable[[], bool], seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        await asyncio.sleep(0.01)


def commits(statements: list[str]) -> int:
    return sum(1 for statement in statements if statement.strip().upper() == "COMMIT")


def marks(r: DeliveryRow) -> tuple[object, ...]:
    """Every column an attempt writes."""
    return (
        r.state,
        r.attempts,
        r.last_attempt_at,
        r.last_status,
        r.last_error,
        r.next_attempt_at,
        r.delivered_at,
        r.urls_done,
    )


def states(rows: list[DeliveryRow]) -> list[tuple[str, int]]:
    return [(row.state, row.attempts) for row in rows]


def test_a_drain_marks_its_successes_a_batch_per_transaction(outbox: Outbox) -> None:
    count = 2 * MARK_BATCH + 20
    statements: list[str] = []
    with Receiver(check=verified_by(), keep_alive=True) as rx:
        config = outbox.config(rx.url("/hook"))
        outbox.add_events(config, count)
        report = asyncio.run(outbox.dispatch(config, statements=statements))

    assert rx.rejections == []  # every signature verifies (the id now comes from its column)
    assert report.count("delivered") == count and len(rx.requests) == count
    ids = [request.headers["webhook-id"] for request in rx.requests]
    assert ids == [request.json()["id"] for request in rx.requests]
    assert len(set(ids)) == count
    assert states(outbox.rows()) == [("delivered", 1)] * count
    assert commits(statements) == math.ceil(count / MARK_BATCH) == 3


@pytest.mark.parametrize(
    ("status", "first", "later", "transactions"),
    [
        # Down: the rest wait for the same retry (postponed, not an attempt).
        (503, ["retrying"] + ["postponed"] * 19, ["delivered"] * 20, 1),
        # Refused for good: that one is dead, the receiver is up, the rest go out.
        (400, ["dead"] + ["delivered"] * 19, [], 2),
        # Gone: the notifier is disabled, and the rest are dead with it.
        (410, ["dead"] * 20, [], 1),
    ],
)
def test_a_failure_mid_batch_leaves_the_earlier_successes_marked(
    outbox: Outbox, status: int, first: list[str], later: list[str], transactions: int
) -> None:
    statements: list[str] = []
    with Receiver(keep_alive=True) as rx:
        config = outbox.config(rx.url("/hook"))
        outbox.add_events(config, 30)
        for _ in range(10):
            rx.reply(204)
        rx.reply(status)
        report = asyncio.run(outbox.dispatch(config, statements=statements))
        after_first = outbox.rows()
        outbox.clock.advance(DELIVERY_DELAYS[0])
        second = asyncio.run(outbox.dispatch(config))

    assert [o.state for o in report.outcomes] == ["delivered"] * 10 + first
    # The successes before the failure were committed with it (or before it), not lost.
    assert states(after_first[:10]) == [("delivered", 1)] * 10
    assert after_first[10].last_status == status and after_first[10].attempts == 1
    assert commits(statements) == transactions
    assert [o.state for o in second.outcomes] == later
    rows = outbox.rows()
    ids = [request.headers["webhook-id"] for request in rx.requests]
    if status == 503:
        retry_at = {row.next_attempt_at for row in after_first[10:]}
        assert len(retry_at) == 1  # the failed one and the postponed ones: the same retry
        assert states(after_first[11:]) == [("pending", 0)] * 19
        assert (
            states(rows) == [("delivered", 1)] * 10 + [("delivered", 2)] + [("delivered", 1)] * 19
        )
        assert len(ids) == 31 and ids[10] == ids[11] and len(set(ids)) == 30
    elif status == 400:
        assert states(rows) == [("delivered", 1)] * 10 + [("dead", 1)] + [("delivered", 1)] * 19
        assert len(ids) == 30 == len(set(ids))
    else:
        assert states(rows) == [("delivered", 1)] * 10 + [("dead", 1)] + [("dead", 0)] * 19
        assert len(ids) == 11
        assert report.outcomes[10].disabled


def test_a_batch_of_marks_writes_what_one_mark_at_a_time_wrote(outbox: Outbox) -> None:
    config = outbox.config("http://127.0.0.1:9/hook")
    outbox.add_events(config, 6)
    first, second = "2026-11-25T10:00:00Z", "2026-11-25T10:00:07Z"
    store = Store.open(outbox.db_path)
    try:
        a, b, c, d, e, f = (row.id for row in store.outbox.recent())
        store_reads.record_attempt(
            store, [b], AttemptRecord("pending", first, 503, "HTTP 503", second, [])
        )
        store.outbox.record_attempts(
            [
                ((a,), AttemptRecord("delivered", first, 204)),
                ((b,), AttemptRecord("delivered", second, 200)),  # its retry got through
                ((c,), AttemptRecord("pending", second, 429, "HTTP 429", "2026-11-26T00:00:00Z")),
                ((d,), AttemptRecord("dead", second, 400, "HTTP 400")),
                ((e,), AttemptRecord("delivered", second, 204, urls_done=["u1", "u2"])),
                ((f,), AttemptRecord("delivered", second, 204)),
            ]
        )
        rows = store.outbox.recent()
    finally:
        store.close()

    created = rows[0].next_attempt_at
    assert [marks(row) for row in rows] == [
        ("delivered", 1, first, 204, None, created, first, []),
        ("delivered", 2, second, 200, None, second, second, []),
        ("pending", 1, second, 429, "HTTP 429", "2026-11-26T00:00:00Z", None, []),
        ("dead", 1, second, 400, "HTTP 400", created, None, []),
        ("delivered", 1, second, 204, None, created, second, ["u1", "u2"]),
        ("delivered", 1, second, 204, None, created, second, []),
    ]


def test_a_stop_marks_what_was_sent_and_leaves_the_rest_pending(outbox: Outbox) -> None:
    statements: list[str] = []
    with Receiver(keep_alive=True) as rx:
        config = outbox.config(rx.url("/hook"))
        outbox.add_events(config, 10)
        report = asyncio.run(
            outbox.dispatch(
                config, should_stop=lambda: len(rx.requests) >= 4, statements=statements
            )
        )

    assert report.count("delivered") == 4 and len(rx.requests) == 4
    assert states(outbox.rows()) == [("delivered", 1)] * 4 + [("pending", 0)] * 6
    assert commits(statements) == 1


def test_a_cancelled_dispatch_marks_what_got_through_and_resends_the_send_cut_short(
    outbox: Outbox,
) -> None:
    """The daemon cancels a dispatch still sending when its shutdown grace runs out."""

    async def cancel_during_the_fourth_send(config: Config, rx: Receiver) -> None:
        task = asyncio.create_task(outbox.dispatch(config))
        await until(lambda: len(rx.requests) >= 4 or task.done())
        assert not task.done()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    with Receiver() as rx:
        config = outbox.config(rx.url("/hook"))
        outbox.add_events(config, 5)
        for _ in range(3):
            rx.reply(204)
        release = rx.hold()
        asyncio.run(cancel_during_the_fourth_send(config, rx))
        after_cancel = outbox.rows()
        release.set()
        rerun = asyncio.run(outbox.dispatch(config))

    assert states(after_cancel) == [("delivered", 1)] * 3 + [("pending", 0)] * 2
    assert rerun.count("delivered") == 2
    assert states(outbox.rows()) == [("delivered", 1)] * 5
    ids = [request.headers["webhook-id"] for request in rx.requests]
    assert len(ids) == 6 and ids[3] == ids[4] and len(set(ids)) == 5
    assert rx.requests[3].body == rx.requests[4].body


def test_a_slow_send_does_not_hold_back_the_marks_before_it(outbox: Outbox) -> None:
    async def look_while_the_second_send_hangs(config: Config, rx: Receiver) -> list[str]:
        task = asyncio.create_task(outbox.dispatch(config, mark_seconds=0.1))
        await until(lambda: len(rx.requests) >= 2 or task.done())
        await until(lambda: outbox.rows()[0].state == "delivered" or task.done())
        seen = [row.state for row in outbox.rows()]
        assert not task.done()  # the second send is still in flight
        release.set()
        await task
        return seen

    with Receiver() as rx:
        config = outbox.config(rx.url("/hook"))
        outbox.add_events(config, 2)
        rx.reply(204)
        release = rx.hold()
        seen = asyncio.run(look_while_the_second_send_hangs(config, rx))

    assert seen == ["delivered", "pending"]
    assert states(outbox.rows()) == [("delivered", 1)] * 2


def test_a_mark_that_fails_to_commit_is_kept_for_the_next_flush(
    outbox: Outbox, caplog: pytest.LogCaptureFixture
) -> None:
    calls: list[int] = []

    class FlakyOutbox(StoreOutbox):
        """An outbox whose first commit of marks meets a lock."""

        def record_attempts(self, attempts: Iterable[tuple[Iterable[int], AttemptRecord]]) -> None:
            attempts = list(attempts)
            calls.append(len(attempts))
            if len(calls) == 1:  # the timer's flush, while the second send hangs
                raise sqlite3.OperationalError("database is locked")
            super().record_attempts(attempts)

    class FlakyStore(Store):
        def __init__(self, db: sqlite_utils.Database, **options: Any) -> None:
            super().__init__(db, **options)
            self.outbox = FlakyOutbox(db)

    async def release_after_the_failed_flush(config: Config, rx: Receiver) -> DispatchReport:
        task = asyncio.create_task(
            outbox.dispatch(config, mark_seconds=0.05, store_type=FlakyStore)
        )
        await until(lambda: bool(calls) or task.done())
        release.set()
        return await task

    with Receiver() as rx:
        config = outbox.config(rx.url("/hook"))
        outbox.add_events(config, 2)
        rx.reply(204)
        release = rx.hold()
        report = asyncio.run(release_after_the_failed_flush(config, rx))

    assert report.count("delivered") == 2 and len(rx.requests) == 2
    assert calls == [1, 2]  # the mark that failed went with the next one
    assert states(outbox.rows()) == [("delivered", 1)] * 2
    assert "marking sent deliveries failed: database is locked" in caplog.text


CHILD = """
import asyncio, sys
sys.path.insert(0, sys.argv[3])
from tests.test_delivery_batching import Outbox
from watcher.clock import FakeClock, parse_iso
outbox = Outbox(__import__("pathlib").Path(sys.argv[1]), FakeClock(parse_iso(sys.argv[4])))
asyncio.run(outbox.dispatch(outbox.config(sys.argv[2])))
"""


def test_a_crash_mid_batch_loses_marks_not_deliveries(outbox: Outbox) -> None:
    """SIGKILL while five successes wait for their mark: all five are sent again, with the
    same ids and bodies, and every row ends delivered once."""
    with Receiver(keep_alive=True) as rx:
        url = rx.url("/hook")
        config = outbox.config(url)
        outbox.add_events(config, 8)
        for _ in range(5):
            rx.reply(204)
        release = rx.hold()  # the sixth POST gets no answer until the process is dead
        args = [str(outbox.db_path), url, str(ROOT), iso(outbox.clock.now())]
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD, *args],
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 30
            while len(rx.requests) < 6:
                assert time.monotonic() < deadline, "the sixth webhook never arrived"
                assert child.poll() is None, "the dispatching process ended early"
                time.sleep(0.01)
        finally:
            child.kill()
            child.wait(timeout=10)
        after_crash = outbox.rows()
        release.set()
        rerun = asyncio.run(outbox.dispatch(config))

    assert child.returncode == -9
    assert states(after_crash) == [("pending", 0)] * 8  # the five marks died with it
    assert rerun.count("delivered") == 8
    assert states(outbox.rows()) == [("delivered", 1)] * 8
    ids = [request.headers["webhook-id"] for request in rx.requests]
    assert len(ids) == 14 and ids[:6] == ids[6:12] and len(set(ids)) == 8
    assert [r.body for r in rx.requests[:6]] == [r.body for r in rx.requests[6:12]]
