"""Apprise notifiers (`type = "apprise"`): chat, push and mail services, each URL on its own.

A message goes to each URL that lacks it; one failing URL does not fail another, and a retry
sends only to the URLs still lacking it (`urls_done`, by digest: a URL may hold a token). Chat
services deduplicate nothing, so each success is marked at once. Events of one poll go out as
one digest unless `digest = false`; a `schedule` or `quiet_hours` holds them for one digest of
all its watches at a later time (sinks/holding.py). The sending itself is `apprise_sink.py`,
imported when a message is sent, so that reading the config never loads Apprise.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Literal

from pydantic import Field, field_validator, model_validator

from watcher.alerts import Alert
from watcher.config_fields import Timeout, check_event_types
from watcher.digest_times import parse_quiet_hours, parse_schedule, zone
from watcher.events import Event
from watcher.signals import registry as signal_registry
from watcher.sinks.base import SendResult, one_line, redact_url
from watcher.sinks.holding import Hold, is_held
from watcher.sinks.message import (
    alert_body,
    alert_title,
    digest_body,
    digest_of_watches_body,
    digest_of_watches_title,
    digest_title,
    event_body,
    event_title,
    notify_test_body,
    notify_test_title,
    quota_message,
)
from watcher.sinks.sink import Attempt, NotifierSettings, SinkContext, SinkKind

if TYPE_CHECKING:
    from watcher.sinks.renderers import Renderer
    from watcher.store import DeliveryRow

# Title and body of a message, written by a service's renderer.
Render = Callable[["Renderer"], tuple[str, str]]


class AppriseSettings(NotifierSettings):
    type: Literal["apprise"]
    urls: list[str] = Field(min_length=1)
    digest: bool = True
    events: list[str] | None = None
    # The longest a delivery waits for one URL's send (every part of it), see apprise_sink.
    timeout: Timeout = 60.0
    # Events collected and sent as one digest at these times (sinks/holding.py).
    schedule: str | None = None
    # Messages held while the notifier's clock shows a time in this window, then one digest.
    quiet_hours: str | None = None
    # Failure, recovery and quota alerts wait out the quiet hours too.
    quiet_alerts: bool = False
    # The IANA time zone of `schedule` and `quiet_hours`.
    timezone: str = "UTC"

    @field_validator("schedule")
    @classmethod
    def _schedule(cls, value: str | None) -> str | None:
        return None if value is None else parse_schedule(value).text

    @field_validator("quiet_hours")
    @classmethod
    def _quiet_hours(cls, value: str | None) -> str | None:
        return None if value is None else parse_quiet_hours(value).text

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        return zone(value).key

    @model_validator(mode="after")
    def _alerts_need_quiet_hours(self) -> AppriseSettings:
        if self.quiet_alerts and self.quiet_hours is None:
            raise ValueError("quiet_alerts: holds alerts during quiet_hours, which are not set")
        return self

    def hold(self) -> Hold | None:
        if self.schedule is None and self.quiet_hours is None:
            return None
        return _hold(self.schedule, self.quiet_hours, self.timezone, self.quiet_alerts)

    @field_validator("urls")
    @classmethod
    def _usable_urls(cls, value: list[str]) -> list[str]:
        from watcher.sinks.apprise_sink import describe_urls

        for index, problem in enumerate(describe_urls(value)):
            if problem is not None:
                raise ValueError(f"[{index}] {problem}")
        return value

    @field_validator("events")
    @classmethod
    def _known_events(cls, value: list[str] | None) -> list[str] | None:
        return check_event_types(value)


@functools.cache
def _hold(schedule: str | None, quiet_hours: str | None, timezone: str, alerts: bool) -> Hold:
    """One `Hold` per distinct setting: routes are built for every poll."""
    return Hold(
        zone(timezone),
        parse_schedule(schedule) if schedule is not None else None,
        parse_quiet_hours(quiet_hours) if quiet_hours is not None else None,
        alerts,
    )


def url_digest(url: str) -> str:
    """How `urls_done` names an Apprise URL: the URL itself may hold a token."""
    return hashlib.sha256(url.encode("utf-8")).hexdigest()[:16]


class AppriseSink:
    idempotent = False

    def __init__(self, name: str, settings: AppriseSettings, context: SinkContext) -> None:
        self.name = name
        self.settings = settings
        self.options = context.options

    @property
    def digest(self) -> bool:
        return self.settings.digest

    async def send(self, rows: Sequence[DeliveryRow], now: datetime) -> Attempt:
        done = list(rows[0].urls_done)
        pending = [url for url in self.settings.urls if url_digest(url) not in done]
        sent = await self._each(pending, lambda renderer: _message(self.settings, rows, renderer))
        failures = [result for _, result in sent if not result.ok]
        done += [url_digest(url) for url, result in sent if result.ok]
        succeeded = len(failures) < len(sent)
        if not failures:
            return Attempt(SendResult(ok=True), done, succeeded)
        return Attempt(_combine(failures, len(self.settings.urls)), done, succeeded)

    async def test(self, moment: datetime) -> list[tuple[str, SendResult]]:
        def render(renderer: Renderer) -> tuple[str, str]:
            return notify_test_title(self.name, renderer), notify_test_body(self.name, renderer)

        sent = await self._each(self.settings.urls, render)
        return [(redact_url(url), result) for url, result in sent]

    async def _each(self, urls: Sequence[str], render: Render) -> list[tuple[str, SendResult]]:
        """The message to each URL in turn, written by the renderer of that URL's service."""
        from watcher.sinks.apprise_sink import renderer_for, send_apprise_within
        from watcher.sinks.renderers import PLAIN_TEXT

        sent: list[tuple[str, SendResult]] = []
        for url in urls:
            renderer = renderer_for(url) or PLAIN_TEXT  # Apprise refuses the URL when sending
            title, body = render(renderer)
            result = await send_apprise_within(
                url,
                title=title,
                body=body,
                body_format=renderer.body_format,
                line_end=renderer.markup.line_end,
                timeout=self.settings.timeout,
                throttle=self.options.throttle,
                limits=self.options.limits,
            )
            sent.append((url, result))
        return sent


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


def _message(
    settings: AppriseSettings, rows: Sequence[DeliveryRow], renderer: Renderer
) -> tuple[str, str]:
    """Title and body, written by `renderer`: an alert, a signal, one event, or a digest of
    one poll's events."""
    if rows[0].kind == "alert" and rows[0].envelope()["type"] == "quota.exhausted":
        return quota_message(rows[0].envelope()["data"], renderer)
    if rows[0].kind == "alert":
        alert = Alert.from_envelope(rows[0].envelope())
        return alert_title(alert, renderer), alert_body(alert, renderer)
    signal = signal_registry.of_event(rows[0].envelope()["type"])
    if signal is not None:  # a signal is a message of its own, never part of a digest
        return signal.message(rows[0].envelope(), renderer)
    events = [Event.from_envelope(row.envelope()) for row in rows]
    if is_held(rows[0].batch):  # a schedule's or quiet hours' digest: one or several watches
        return digest_of_watches_title(events, renderer), digest_of_watches_body(events, renderer)
    if not settings.digest:
        return event_title(events[0], renderer), event_body(events[0], renderer)
    return digest_title(events, renderer), digest_body(events, renderer)


def _open(name: str, settings: NotifierSettings, context: SinkContext) -> AppriseSink:
    assert isinstance(settings, AppriseSettings)
    return AppriseSink(name, settings, context)


KIND = SinkKind("apprise", AppriseSettings, _open)
