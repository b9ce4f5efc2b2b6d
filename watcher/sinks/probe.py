"""`watcher notify-test`: one test message through one notifier now, with each URL's real
outcome. It bypasses the outbox on purpose: the operator wants the answer, not a retry."""

from __future__ import annotations

import json
from datetime import datetime

from watcher.clock import iso
from watcher.config import AppriseNotifier, WebhookNotifier
from watcher.events import new_event_id
from watcher.http.client import open_client
from watcher.http.identity import USER_AGENT
from watcher.sinks.apprise_sink import preferred_format, send_apprise_within
from watcher.sinks.base import SendResult, redact_url
from watcher.sinks.message import notify_test_body, notify_test_title
from watcher.sinks.webhook import send_webhook

TEST_TYPE = "watcher.test"


def probe_envelope(name: str, moment: datetime) -> dict[str, object]:
    """What a webhook receiver gets: the event envelope's shape, with a type of its own."""
    return {
        "id": new_event_id(moment),
        "type": TEST_TYPE,
        "timestamp": iso(moment),
        "data": {"notifier": name, "message": f"Notifier {name} works."},
    }


async def probe(
    name: str,
    notifier: AppriseNotifier | WebhookNotifier,
    moment: datetime,
    *,
    throttle: bool | None = None,
) -> list[tuple[str, SendResult]]:
    """Send the test message; one (redacted target, result) per URL."""
    if isinstance(notifier, WebhookNotifier):
        body = json.dumps(probe_envelope(name, moment), ensure_ascii=False, separators=(",", ":"))
        async with open_client(
            timeout=notifier.timeout, headers={"User-Agent": USER_AGENT}
        ) as http:
            result = await send_webhook(
                http,
                url=notifier.url,
                secret=notifier.secret,
                event_id=str(json.loads(body)["id"]),
                body=body,
                timestamp=moment,
                timeout=notifier.timeout,
            )
        return [(f"POST {redact_url(notifier.url)}", result)]
    results: list[tuple[str, SendResult]] = []
    for url in notifier.urls:
        fmt = preferred_format(url) or "text"
        result = await send_apprise_within(
            url,
            title=notify_test_title(name, fmt),
            body=notify_test_body(name, fmt),
            body_format=fmt,
            timeout=notifier.timeout,
            throttle=throttle,
        )
        results.append((redact_url(url), result))
    return results
