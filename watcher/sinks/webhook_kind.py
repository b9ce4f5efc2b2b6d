"""Webhook notifiers (`type = "webhook"`): each event's envelope, POSTed and signed.

One row is one message, never a digest: the receiver gets the event envelope byte for byte and
deduplicates on its id (`webhook-id`), so a success may wait to be marked with others. The
signing and sending is `webhook.py`, imported when a message is sent, so that reading the
config never loads the HTTP stack.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Literal

from pydantic import Field, field_validator

from watcher.clock import iso
from watcher.config_fields import Timeout, check_event_types, require_http
from watcher.events import new_event_id
from watcher.sinks.base import SendResult, redact_url
from watcher.sinks.sink import Attempt, NotifierSettings, SinkContext, SinkKind

if TYPE_CHECKING:
    from watcher.store import DeliveryRow

TEST_TYPE = "watcher.test"


class WebhookSettings(NotifierSettings):
    type: Literal["webhook"]
    url: str
    secret: str = Field(min_length=1)
    events: list[str] | None = None
    timeout: Timeout = 15.0

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        return require_http(value)

    @field_validator("secret")
    @classmethod
    def _standard_secret(cls, value: str) -> str:
        from watcher.sinks.webhook import check_secret

        problem = check_secret(value)
        if problem is not None:
            raise ValueError(problem)
        return value

    @field_validator("events")
    @classmethod
    def _known_events(cls, value: list[str] | None) -> list[str] | None:
        return check_event_types(value)


def probe_envelope(name: str, moment: datetime) -> dict[str, object]:
    """What a receiver gets from `notify-test`: the event envelope's shape, a type of its own."""
    return {
        "id": new_event_id(moment),
        "type": TEST_TYPE,
        "timestamp": iso(moment),
        "data": {"notifier": name, "message": f"Notifier {name} works."},
    }


class WebhookSink:
    digest = False
    idempotent = True

    def __init__(self, name: str, settings: WebhookSettings, context: SinkContext) -> None:
        self.name = name
        self.settings = settings
        self.http = context.http

    async def send(self, rows: Sequence[DeliveryRow], now: datetime) -> Attempt:
        row = rows[0]  # never a digest: one row is one message
        result = await self._post(_webhook_id(row), row.body, now)
        return Attempt(result, list(row.urls_done))

    async def test(self, moment: datetime) -> list[tuple[str, SendResult]]:
        envelope = probe_envelope(self.name, moment)
        body = json.dumps(envelope, ensure_ascii=False, separators=(",", ":"))
        result = await self._post(str(envelope["id"]), body, moment)
        return [(f"POST {redact_url(self.settings.url)}", result)]

    async def _post(self, event_id: str, body: str, timestamp: datetime) -> SendResult:
        from watcher.sinks.webhook import send_webhook

        return await send_webhook(
            self.http,
            url=self.settings.url,
            secret=self.settings.secret,
            event_id=event_id,
            body=body,
            timestamp=timestamp,
            timeout=self.settings.timeout,
        )


def _webhook_id(row: DeliveryRow) -> str:
    """The `webhook-id`: the event id, read from its column; an alert's from its body."""
    if row.kind == "event" and row.event_id and row.body.startswith("{"):
        return row.event_id
    return str(row.envelope()["id"])


def _open(name: str, settings: NotifierSettings, context: SinkContext) -> WebhookSink:
    assert isinstance(settings, WebhookSettings)
    return WebhookSink(name, settings, context)


KIND = SinkKind("webhook", WebhookSettings, _open)
