"""The outbox dispatcher: pick the deliveries that are due, send each, record how it went.

Send, then mark. A crash between the two leaves the row pending, and the next dispatch sends
it again with the same id (the `webhook-id` header, the event id in the body): at least once
through any crash, exactly once when nothing crashes. Only the dispatcher writes outcomes, and
only one process dispatches at a time (see `dispatch_lock`).

Successful sends to receivers that deduplicate (webhooks: their sink is `idempotent`) are
marked in batches (a transaction per send cost about a tenth of the send itself): their marks
wait in memory and are committed together, in one transaction, every MARK_BATCH sends and at
most MARK_SECONDS after the oldest waiting one (a timer, so a slow send in flight does not
hold them back); before a failure is recorded (in the same
transaction, the successes first); before the next page of due rows is read; and when the
dispatch returns, stops (`should_stop`) or is cancelled (the daemon's shutdown grace ran out).
Only a crash loses marks, at most those still waiting: those deliveries are sent again after
the restart with the same `webhook-id`, which receivers deduplicate on. The contract above is
unchanged; its window is wider. Other sends (Apprise's chat and mail: nothing deduplicates
those) are slow anyway and are marked one by one, at once.

Each notifier has a lane of its own: a task that sends that notifier's due rows in order, one
at a time, reading them page by page until none is left. Lanes never wait for each other, so
a receiver that hangs until its deadline delays only its own deliveries: a row committed for
another notifier meanwhile starts (or joins) that notifier's lane at once. `dispatch()` runs
the lanes until everything due is sent (`watcher once`); the daemon `start()`s lanes as polls
commit and retries fall due, and `finish()`es them when it stops. The lock is held while any
lane runs. When a receiver fails in a way worth retrying and nothing got through, its other
due rows wait for the same retry instead of hitting it again now.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from watcher.clock import Clock, SystemClock, iso, parse_iso
from watcher.config import Config
from watcher.http.client import DirectClient
from watcher.lock_wait import patiently
from watcher.retry import DeliverySchedule
from watcher.sinks import registry
from watcher.sinks.base import SendResult, one_line
from watcher.sinks.dispatch_lock import DispatchLock, lock_path_for
from watcher.sinks.labels import LabelSource, label_of, source_of
from watcher.sinks.sink import Attempt, NotifierSettings, Sink, SinkContext, SinkOptions, open_http
from watcher.store import AttemptRecord, DeliveryRow, Store

DELIVERED, RETRYING, DEAD, POSTPONED = "delivered", "retrying", "dead", "postponed"
# Successful idempotent sends marked per transaction, at most; and the longest a mark waits.
MARK_BATCH = 50
MARK_SECONDS = 0.5

log = logging.getLogger("watcher")


# What a send's label is made from: the rows' kind, first event id and bodies. Only strings,
# so the garbage collector stops tracking it: a report of 10,000 sends stays cheap to keep.


@dataclass(frozen=True, slots=True)
class Outcome:
    """What happened to one send (one row, or the rows of one digest) in this dispatch."""

    notifier: str
    ids: tuple[int, ...]
    state: str  # delivered, retrying, dead or postponed
    error: str | None = None
    next_attempt_at: str | None = None
    disabled: bool = False  # this answer (410 Gone) disabled the notifier
    source: LabelSource = field(default=("event", None, ()), repr=False, compare=False)

    @property
    def what(self) -> str:
        """The send's label (the event's sentence), built only when someone reads it."""
        return label_of(*self.source)

    def line(self) -> str:
        """The one line a human reads for this send: `delivered to chat [3]: @curator followed
        @artist_12 (Artist Twelve)`, the error after a `;` when it failed."""
        ids = ",".join(str(i) for i in self.ids)
        head = f"to {self.notifier} [{ids}]: {self.what}"
        if self.state == DELIVERED:
            return f"delivered {head}"
        if self.state == RETRYING:
            return f"delivery failed {head}; retry at {self.next_attempt_at}: {self.error}"
        if self.state == POSTPONED:
            return f"delivery postponed {head}; until {self.next_attempt_at}: {self.error}"
        note = "; notifier disabled" if self.disabled else ""
        return f"delivery DEAD {head}; {self.error}{note}"


@dataclass
class DispatchReport:
    outcomes: list[Outcome] = field(default_factory=list)
    busy: bool = False  # another process was dispatching: nothing was attempted
    # When set, each outcome goes to it as it happens instead of into `outcomes` (the daemon
    # logs them; a report that lives as long as the daemon must not grow).
    listener: Callable[[Outcome], None] | None = field(default=None, repr=False)

    def add(self, outcome: Outcome) -> None:
        if self.listener is not None:
            self.listener(outcome)
        else:
            self.outcomes.append(outcome)

    def count(self, state: str) -> int:
        return sum(len(outcome.ids) for outcome in self.outcomes if outcome.state == state)

    @property
    def needs_attention(self) -> bool:
        """Something only an operator can fix: a delivery died or a notifier was disabled."""
        return any(outcome.state == DEAD or outcome.disabled for outcome in self.outcomes)


@dataclass
class _Send:
    """One message: a single row, or every due row of one digest batch."""

    notifier: str
    rows: list[DeliveryRow]

    @property
    def ids(self) -> tuple[int, ...]:
        return tuple(row.id for row in self.rows)


class _Marks:
    """Outcomes of successful sends not yet committed; `flush` commits them in one transaction.

    A mark waits at most `seconds` (a timer on the event loop flushes it while a slow send
    is in flight) and at most `limit` marks wait. A flush that fails keeps its marks for the
    next one; if none comes (the process dies) those rows are sent again: at least once.
    """

    def __init__(self, store: Store, *, seconds: float = MARK_SECONDS) -> None:
        self.store = store
        self.limit = MARK_BATCH
        self.seconds = seconds
        self.waiting: list[tuple[tuple[int, ...], AttemptRecord]] = []
        self._timer: asyncio.TimerHandle | None = None

    def add(self, ids: tuple[int, ...], record: AttemptRecord) -> None:
        """Wait with the others; once `full`, the caller flushes (waiting out any lock)."""
        self.waiting.append((ids, record))
        if not self.full and self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self.seconds, self._on_timer)

    @property
    def full(self) -> bool:
        return len(self.waiting) >= self.limit

    def flush(self, ids: tuple[int, ...] = (), record: AttemptRecord | None = None) -> None:
        """Commit the waiting marks and then, in the same transaction, `record` for `ids`."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        attempts = list(self.waiting)
        if record is not None:
            attempts.append((ids, record))
        if attempts:
            self.store.outbox.record_attempts(attempts)
        self.waiting.clear()  # only once committed: a failed flush leaves them for the next

    def flush_or_log(self) -> None:
        try:
            self.flush()
        except Exception as exc:  # kept: the next flush tries again; if none, they are re-sent
            log.warning("marking sent deliveries failed: %s", one_line(str(exc)))

    def _on_timer(self) -> None:
        self._timer = None
        self.flush_or_log()


class Dispatcher:
    def __init__(
        self,
        config: Config,
        store: Store,
        *,
        clock: Clock | None = None,
        schedule: DeliverySchedule | None = None,
        http: DirectClient | None = None,
        options: SinkOptions | None = None,
        mark_seconds: float = MARK_SECONDS,
    ) -> None:
        self.config = config
        self.store = store
        self.clock = clock or SystemClock()
        self.schedule = schedule or DeliverySchedule()
        self._own_http = http is None
        self.http = http or open_http()
        self._context = SinkContext(self.http, options or SinkOptions())
        # Each notifier's sink, made again when a reload changes its settings.
        self._sinks: dict[str, tuple[NotifierSettings, Sink]] = {}
        self._lock = DispatchLock(lock_path_for(config.database_path))
        self._marks = _Marks(store, seconds=mark_seconds)
        self._second: tuple[datetime | None, str] = (None, "")
        self._lanes: dict[str, asyncio.Task[None]] = {}  # notifier -> its lane

    async def aclose(self) -> None:
        await self.finish(grace=0.0)
        if self._own_http:
            await self.http.aclose()

    def next_due(self) -> datetime | None:
        """When the earliest pending delivery that no lane is on yet is due; None: none."""
        due = [
            at
            for name, at in self.store.outbox.pending_notifiers().items()
            if name not in self._lanes
        ]
        return parse_iso(min(due)) if due else None

    async def dispatch(self, should_stop: Callable[[], bool] = lambda: False) -> DispatchReport:
        """Send every delivery that is due now (new ones and retries whose wait is over), each
        notifier in its own lane; returns when every lane is done."""
        report = DispatchReport()
        seen: set[int] = set()  # attempted in this dispatch: not again, even if due again
        try:
            # Rounds until one attempts nothing new: a notifier whose rows fell due while the
            # others' lanes ran gets a lane in the next round.
            attempted = -1
            while len(seen) > attempted and not should_stop():
                attempted = len(seen)
                if not self.start(report, should_stop, seen=seen):
                    break
                while self._lanes:
                    done, _ = await asyncio.wait(
                        set(self._lanes.values()), return_when=asyncio.FIRST_EXCEPTION
                    )
                    for lane in done:
                        failure = None if lane.cancelled() else lane.exception()
                        if failure is not None:
                            raise failure
        except BaseException:
            # Cancelled mid-send (or failing): what was sent is marked, the send cut short is
            # not; a mark that cannot be written now must not hide why we are leaving.
            await self.finish(grace=0.0)
            raise
        await self.finish(grace=0.0)
        return report

    def start(
        self,
        report: DispatchReport,
        should_stop: Callable[[], bool] = lambda: False,
        *,
        seen: set[int] | None = None,
        on_lane_end: Callable[[str, BaseException | None], None] | None = None,
    ) -> bool:
        """Start a lane for each notifier with due deliveries and no lane running; those
        with one pick up new rows when they read their next page. False (and `report.busy`)
        when another process is dispatching: nothing is started."""
        if not self._lock.acquire():
            report.busy = True
            return False
        try:
            self._marks.flush()  # rows sent but not yet marked would still look due
            now = iso(self.clock.now())
            for name, due in sorted(self.store.outbox.pending_notifiers().items()):
                if due > now or name in self._lanes:
                    continue
                lane_seen = set() if seen is None else seen
                lane = asyncio.create_task(
                    self._lane(name, report, should_stop, lane_seen), name=f"deliveries to {name}"
                )
                self._lanes[name] = lane
                lane.add_done_callback(functools.partial(self._lane_ended, name, on_lane_end))
        finally:
            if not self._lanes:
                self._lock.release()
        return True

    async def finish(self, grace: float) -> None:
        """Give the lanes `grace` seconds for the send in flight (they stop between sends once
        `should_stop` says so), cancel the rest, mark what was sent and release the lock. A
        send cut short is not marked: it is sent again, with the same id, next time."""
        lanes = set(self._lanes.values())
        if lanes:
            _, late = await asyncio.wait(lanes, timeout=grace) if grace > 0 else (set(), lanes)
            for lane in late:
                lane.cancel()
            await asyncio.gather(*lanes, return_exceptions=True)
        self._marks.flush_or_log()
        self._lock.release()

    def _lane_ended(
        self,
        name: str,
        on_lane_end: Callable[[str, BaseException | None], None] | None,
        lane: asyncio.Task[None],
    ) -> None:
        if self._lanes.get(name) is lane:
            del self._lanes[name]
        if not self._lanes:
            self._marks.flush_or_log()
            self._lock.release()
        if on_lane_end is not None:
            failure = None if lane.cancelled() else lane.exception()
            on_lane_end(name, failure)

    async def _lane(
        self,
        name: str,
        report: DispatchReport,
        should_stop: Callable[[], bool],
        seen: set[int],
    ) -> None:
        """One notifier's due rows, page by page, in order, one send at a time."""
        behind: Outcome | None = None  # a failure the rest of its rows wait behind (or die of)
        while not should_stop():
            # Rows sent but not yet marked would still look due. Each write here waits out
            # another process's lock off the loop (see lock_wait.py).
            await patiently(self.store, self._marks.flush)
            due = self.store.outbox.due(iso(self.clock.now()), notifier=name)
            rows = [row for row in due if row.id not in seen]
            if not rows:
                return
            seen.update(row.id for row in rows)
            problem = self._unsendable(name, self.store.notifiers.disabled())
            for send in self._group(rows):
                if should_stop():
                    await patiently(self.store, self._marks.flush)
                    return
                if problem is not None:
                    await patiently(self.store, self.store.outbox.bury, send.ids, problem)
                    report.add(Outcome(name, send.ids, DEAD, problem, source=source_of(send.rows)))
                elif behind is not None:
                    report.add(await self._settle_behind(send, behind))
                else:
                    outcome, down = await self._attempt(send)
                    report.add(outcome)
                    if outcome.disabled or (down and outcome.next_attempt_at is not None):
                        behind = outcome

    async def _settle_behind(self, send: _Send, failed: Outcome) -> Outcome:
        """A row not attempted: dead if its notifier was just disabled, else postponed to the
        retry of the failure just before it (the receiver is down; this is no attempt)."""
        if failed.disabled:
            error = failed.error or "notifier disabled"
            await patiently(self.store, self.store.outbox.bury, send.ids, error)
            return Outcome(send.notifier, send.ids, DEAD, failed.error, source=source_of(send.rows))
        assert failed.next_attempt_at is not None
        note = f"{send.notifier} failed just before ({failed.error})"
        await patiently(self.store, self.store.outbox.postpone, send.ids, failed.next_attempt_at)
        return Outcome(
            send.notifier,
            send.ids,
            POSTPONED,
            one_line(note),
            failed.next_attempt_at,
            source=source_of(send.rows),
        )

    def _group(self, rows: list[DeliveryRow]) -> list[_Send]:
        """Rows as messages: digest notifiers send one message per batch of events."""
        sends: dict[tuple[str, str], _Send] = {}
        for row in rows:
            digest = row.notifier in self.config.notifiers and self._sink(row.notifier).digest
            key = (row.notifier, row.batch if digest and row.kind == "event" else f"#{row.id}")
            sends.setdefault(key, _Send(row.notifier, [])).rows.append(row)
        return list(sends.values())

    def _unsendable(self, name: str, disabled: dict[str, tuple[str, str]]) -> str | None:
        if name not in self.config.notifiers:
            return f"notifier {name!r} is no longer in the config"
        if name in disabled:
            since, reason = disabled[name]
            return (
                f"notifier {name!r} is disabled since {since} ({reason}); "
                f"`watcher notify-test {name}` re-enables it once it works"
            )
        return None

    async def _attempt(self, send: _Send) -> tuple[Outcome, bool]:
        """Send once and record the outcome; also says whether the receiver looked down."""
        sink = self._sink(send.notifier)
        now = self.clock.now()
        try:
            attempt = await sink.send(send.rows, now)
        except (KeyError, TypeError, ValueError) as exc:  # a stored body we cannot read
            error = one_line(f"stored message unreadable: {type(exc).__name__}")
            failed = SendResult(ok=False, error=error, permanent=True)
            attempt = Attempt(failed, list(send.rows[0].urls_done))
        result = attempt.result
        record, outcome = self._decide(send, result, attempt.done, now)
        if result.ok and sink.idempotent:
            self._marks.add(outcome.ids, record)  # committed with the next batch
            if self._marks.full:
                await patiently(self.store, self._marks.flush)
        else:  # the successes before it first
            await patiently(self.store, self._marks.flush, outcome.ids, record)
        if outcome.disabled:
            reason = result.error or "HTTP 410 Gone"
            await patiently(
                self.store, self.store.notifiers.disable, send.notifier, iso(now), reason
            )
        return outcome, result.retryable and not attempt.reached_some

    def _sink(self, name: str) -> Sink:
        """Notifier `name`'s sink, for the settings the current config gives it."""
        settings = self.config.notifiers[name]
        made = self._sinks.get(name)
        if made is None or made[0] is not settings:
            made = self._sinks[name] = (settings, registry.open_sink(name, settings, self._context))
        return made[1]

    def _decide(
        self, send: _Send, result: SendResult, done: list[str], now: datetime
    ) -> tuple[AttemptRecord, Outcome]:
        """Delivered, retry later (on the schedule, never before Retry-After) or dead."""
        ids, source = send.ids, source_of(send.rows)
        if result.ok:
            record = AttemptRecord(DELIVERED, self._iso(now), result.status, None, None, done)
            return record, Outcome(send.notifier, ids, DELIVERED, source=source)
        error = result.error or "failed"
        attempts = max(row.attempts for row in send.rows) + 1
        delay = None if result.permanent else self.schedule.next_delay(attempts, result.retry_after)
        if delay is None:
            if not result.permanent:
                error = one_line(f"gave up after {attempts} attempts: {error}")
            record = AttemptRecord(DEAD, iso(now), result.status, error, None, done)
            return record, Outcome(send.notifier, ids, DEAD, error, None, result.gone, source)
        next_at = iso(now + timedelta(seconds=delay) + timedelta(seconds=0.999))
        record = AttemptRecord("pending", iso(now), result.status, error, next_at, done)
        return record, Outcome(send.notifier, ids, RETRYING, error, next_at, source=source)

    def _iso(self, now: datetime) -> str:
        """`iso(now)`, formatted once per second rather than once per send."""
        second = now.replace(microsecond=0)
        if second != self._second[0]:
            self._second = (second, iso(second))
        return self._second[1]
