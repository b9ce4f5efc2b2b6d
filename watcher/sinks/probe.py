"""`watcher notify-test`: one test message through one notifier now, with each URL's real
outcome. It bypasses the outbox on purpose (the operator wants the answer, not a retry), but
not the sending: the notifier's sink sends it as it sends a delivery, over the same client."""

from __future__ import annotations

from datetime import datetime

from watcher.sinks import registry
from watcher.sinks.base import SendResult
from watcher.sinks.sink import NotifierSettings, SinkContext, SinkOptions, open_http


async def probe(
    name: str,
    notifier: NotifierSettings,
    moment: datetime,
    *,
    options: SinkOptions | None = None,
) -> list[tuple[str, SendResult]]:
    """Send the test message; one (redacted target, result) per URL."""
    async with open_http() as http:
        context = SinkContext(http, options or SinkOptions())
        return await registry.open_sink(name, notifier, context).test(moment)
