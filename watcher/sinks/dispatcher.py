"""The outbox dispatcher: pick the deliveries that are due, send each, record how it went.

Send, then mark. A crash between the two leaves the row pending, and the next dispatch sends
it again with the same id (the `webhook-id` header, the event id in the body): at least once
through any crash, exactly once when nothing crashes. Only the dispatcher writes outcomes, and
only one process dispatches at a time (see `dispatch_lock`).

Rows for one notifier are sent in order, one at a time; notifiers are served concurrently, so a
slow receiver delays only its own deliveries. When a receiver fails in a way worth retrying and
nothing got through, its other due rows wait for the same retry instead of hitting it again now.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx

from watcher import __version__
from watcher.alerts import Alert
from watcher.clock import Clock, SystemClock, iso, parse_iso
from watcher.config import AppriseNotifier, Config, WebhookNotifier
from watcher.events import Event
from watcher.retry import DeliverySchedule
from watcher.sinks.apprise_sink import preferred_format, send_apprise
from watcher.sinks.base import SendResult, one_line
from watcher.sinks.dispatch_lock import DispatchLock, lock_path_for
from watcher.sinks.message import (
    alert_body,
    alert_title,
    digest_body,
    digest_title,
    event_body,
    event_title,
)
from watcher.sinks.webhook import send_webhook
from watcher.store import AttemptRecord, DeliveryRow, Store

DELIVERED, RETRYING, DEAD, POSTPONED = "delivered", "retrying", "dead", "postponed"
_BIDI = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


@dataclass(frozen=True)
class Outcome:
    """What happened to one send (one row, or the rows of one digest) in this dispatch."""

    notifier: str
    ids: tuple[int, ...]
    what: str
    state: str  # delivered, retrying, dead or postponed
    error: str | None = None
    next_attempt_at: str | None = None
    disabled: bool = False  # this answer (410 Gone) disabled the notifier

    def line(self) -> str:
        """The one line a human reads for this send."""
        ids = ",".join(str(i) for i in self.ids)
        head = f"{self.what} -> {self.notifier} [{ids}]"
        if self.state == DELIVERED:
            return f"delivered {head}"
        if self.state == RETRYING:
            return f"delivery failed {head}, retry at {self.next_attempt_at}: {self.error}"
        if self.state == POSTPONED:
            return f"delivery waits {head} until {self.next_attempt_at}: {self.error}"
        note = "; notifier disabled" if self.disabled else ""
        return f"delivery DEAD {head}: {self.error}{note}"


@dataclass
class DispatchReport:
    outcomes: list[Outcome] = field(default_factory=list)
    busy: bool = False  # another process was dispatching: nothing was attempted

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


def url_digest(url: str) -> str:
    """How `urls_done` names an Apprise URL: the URL itself may hold a token."""
    return hashlib.sha256(url.encode("utf-8")).hexdigest()[:16]


class Dispatcher:
    def __init__(
        self,
        config: Config,
        store: Store,
        *,
        clock: Clock | None = None,
        schedule: DeliverySchedule | None = None,
        http: httpx.AsyncClient | None = None,
        throttle: bool | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.clock = clock or SystemClock()
        self.schedule = schedule or DeliverySchedule()
        self.throttle = throttle
        self._own_http = http is None
        self.http = http or httpx.AsyncClient(
            follow_redirects=False, headers={"User-Agent": f"watcher/{__version__}"}
        )
        self._lock = DispatchLock(lock_path_for(config.database_path))

    async def aclose(self) -> None:
        self._lock.release()
        if self._own_http:
            await self.http.aclose()

    def next_due(self) -> datetime | None:
        """When the earliest pending delivery is due; None when nothing is pending."""
        due = self.store.next_delivery_at()
        return parse_iso(due) if due else None

    async def dispatch(self, should_stop: Callable[[], bool] = lambda: False) -> DispatchReport:
        """Send every delivery that is due now (new ones and retries whose wait is over)."""
        report = DispatchReport()
        if not self._lock.acquire():
            report.busy = True
            return report
        try:
            seen: set[int] = set()
            while not should_stop():
                rows = [
                    row
                    for row in self.store.due_deliveries(iso(self.clock.now()))
                    if row.id not in seen
                ]
                if not rows:
                    break
                seen.update(row.id for row in rows)
                await self._dispatch_rows(rows, report, should_stop)
        finally:
            self._lock.release()
        return report

    async def _dispatch_rows(
        self, rows: list[DeliveryRow], report: DispatchReport, should_stop: Callable[[], bool]
    ) -> None:
        disabled = self.store.disabled_notifiers()
        per_notifier: dict[str, list[_Send]] = {}
        for send in self._group(rows):
            problem = self._unsendable(send.notifier, disabled)
            if problem is not None:
                self.store.bury(send.ids, problem)
                report.outcomes.append(
                    Outcome(send.notifier, send.ids, describe(send.rows), DEAD, problem)
                )
                continue
            per_notifier.setdefault(send.notifier, []).append(send)
        results = await asyncio.gather(
            *(self._serve(sends, should_stop) for sends in per_notifier.values())
        )
        for outcomes in results:
            report.outcomes.extend(outcomes)

    def _group(self, rows: list[DeliveryRow]) -> list[_Send]:
        """Rows as messages: digest notifiers send one message per batch of events."""
        sends: dict[tuple[str, str], _Send] = {}
        for row in rows:
            notifier = self.config.notifiers.get(row.notifier)
            digest = isinstance(notifier, AppriseNotifier) and notifier.digest
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

    async def _serve(self, sends: list[_Send], should_stop: Callable[[], bool]) -> list[Outcome]:
        """One notifier's sends, in order; a receiver that is down is not asked again now."""
        outcomes: list[Outcome] = []
        for index, send in enumerate(sends):
            if should_stop():
                break
            outcome, down = await self._attempt(send)
            outcomes.append(outcome)
            rest = sends[index + 1 :]
            if outcome.disabled:
                for other in rest:
                    self.store.bury(other.ids, outcome.error or "notifier disabled")
                    outcomes.append(
                        Outcome(
                            other.notifier, other.ids, describe(other.rows), DEAD, outcome.error
                        )
                    )
                break
            if down and outcome.next_attempt_at is not None:
                note = f"{send.notifier} failed just before ({outcome.error})"
                for other in rest:
                    self.store.postpone(other.ids, outcome.next_attempt_at)
                    outcomes.append(
                        Outcome(
                            other.notifier,
                            other.ids,
                            describe(other.rows),
                            POSTPONED,
                            one_line(note),
                            outcome.next_attempt_at,
                        )
                    )
                break
        return outcomes

    async def _attempt(self, send: _Send) -> tuple[Outcome, bool]:
        """Send once and record the outcome; also says whether the receiver looked down."""
        notifier = self.config.notifiers[send.notifier]
        now = self.clock.now()
        done = list(send.rows[0].urls_done)
        reached_some = False  # some Apprise URL took it: the notifier is not down
        try:
            if isinstance(notifier, WebhookNotifier):
                result = await self._send_webhook(notifier, send.rows[0], now)
            else:
                result, done, reached_some = await self._send_apprise(notifier, send.rows, done)
        except (KeyError, TypeError, ValueError) as exc:  # a stored body we cannot read
            error = one_line(f"stored message unreadable: {type(exc).__name__}")
            result = SendResult(ok=False, error=error, permanent=True)
        record, outcome = self._decide(send, result, done, now)
        self.store.record_attempt(send.ids, record)
        if outcome.disabled:
            self.store.disable_notifier(send.notifier, iso(now), result.error or "HTTP 410 Gone")
        return outcome, result.retryable and not reached_some

    async def _send_webhook(
        self, notifier: WebhookNotifier, row: DeliveryRow, now: datetime
    ) -> SendResult:
        return await send_webhook(
            self.http,
            url=notifier.url,
            secret=notifier.secret,
            event_id=str(row.envelope()["id"]),
            body=row.body,
            timestamp=now,
            timeout=notifier.timeout,
        )

    async def _send_apprise(
        self, notifier: AppriseNotifier, rows: list[DeliveryRow], done: list[str]
    ) -> tuple[SendResult, list[str], bool]:
        """Each URL that lacks the message gets it; one failing URL does not fail another.

        Returns the combined result, the URLs done after this attempt, and whether any URL
        succeeded in this attempt (then the notifier is not "down").
        """
        failures: list[SendResult] = []
        succeeded = False
        for url in notifier.urls:
            if url_digest(url) in done:
                continue
            fmt = preferred_format(url) or "text"
            title, body = _message(notifier, rows, fmt)
            result = await asyncio.to_thread(
                send_apprise, url, title=title, body=body, body_format=fmt, throttle=self.throttle
            )
            if result.ok:
                done = [*done, url_digest(url)]
                succeeded = True
            else:
                failures.append(result)
        if not failures:
            return SendResult(ok=True), done, succeeded
        return _combine(failures, len(notifier.urls)), done, succeeded

    def _decide(
        self, send: _Send, result: SendResult, done: list[str], now: datetime
    ) -> tuple[AttemptRecord, Outcome]:
        """Delivered, retry later (on the schedule, never before Retry-After) or dead."""
        what = describe(send.rows)
        if result.ok:
            record = AttemptRecord(DELIVERED, iso(now), result.status, None, None, done)
            return record, Outcome(send.notifier, send.ids, what, DELIVERED)
        error = result.error or "failed"
        attempts = max(row.attempts for row in send.rows) + 1
        delay = None if result.permanent else self.schedule.next_delay(attempts, result.retry_after)
        if delay is None:
            if not result.permanent:
                error = one_line(f"gave up after {attempts} attempts: {error}")
            record = AttemptRecord(DEAD, iso(now), result.status, error, None, done)
            return record, Outcome(send.notifier, send.ids, what, DEAD, error, None, result.gone)
        next_at = iso(now + timedelta(seconds=delay) + timedelta(seconds=0.999))
        record = AttemptRecord("pending", iso(now), result.status, error, next_at, done)
        return record, Outcome(send.notifier, send.ids, what, RETRYING, error, next_at)


def _combine(failures: Sequence[SendResult], total: int) -> SendResult:
    """Several URLs' failures as one: retryable if any is, waiting as long as any asks."""
    waits = [f.retry_after for f in failures if f.retry_after is not None]
    errors = "; ".join(f.error or "failed" for f in failures)
    prefix = f"{len(failures)} of {total} URLs failed: " if total > 1 else ""
    return SendResult(
        ok=False,
        status=failures[0].status,
        error=one_line(prefix + errors),
        retry_after=max(waits) if waits else None,
        permanent=not any(f.retryable for f in failures),
    )


def _message(notifier: AppriseNotifier, rows: list[DeliveryRow], fmt: str) -> tuple[str, str]:
    """Title and body in `fmt`: an alert, one event, or a digest of one poll's events."""
    if rows[0].kind == "alert":
        alert = Alert.from_envelope(rows[0].envelope())
        return alert_title(alert, fmt), alert_body(alert, fmt)
    events = [Event.from_envelope(row.envelope()) for row in rows]
    if not notifier.digest:
        return event_title(events[0], fmt), event_body(events[0], fmt)
    return digest_title(events, fmt), digest_body(events, fmt)


def describe(rows: Sequence[DeliveryRow]) -> str:
    """A short label for one send: `following.added @handle`, `3 events of @account`."""
    try:
        envelopes: list[dict[str, Any]] = [row.envelope() for row in rows]
        data = envelopes[0]["data"]
        if len(envelopes) > 1:
            label = f"{len(envelopes)} events of @{data['account']['handle']}"
        elif rows[0].kind == "alert":
            label = f"{envelopes[0]['type']} @{data['account']['handle']}"
        else:
            label = f"{envelopes[0]['type']} @{data['target']['handle']}"
    except (KeyError, TypeError, ValueError):
        label = f"{rows[0].kind} {rows[0].event_id or ''}".strip()
    return one_line(_BIDI.sub("", label), 120)
