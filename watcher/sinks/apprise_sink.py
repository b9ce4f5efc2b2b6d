"""Chat and push delivery through Apprise, one URL at a time, with the real outcome kept.

Each call builds a fresh `apprise.Apprise` holding exactly one service, so each notifier URL
gets its own recorded outcome and one broken URL never makes the others look failed. Apprise
answers a notify with little more than success or failure; the HTTP status is recovered from
the log lines it captures per call (its plugins log `error=<status>`), so the operator sees
"HTTP 404" rather than "failed". Apprise is synchronous: `send_apprise_within` runs a send in
a thread of its own and waits for it at most the notifier's `timeout`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass, replace
from urllib.parse import parse_qs, urlsplit

import apprise
from apprise.common import OverflowMode

from watcher.sinks import renderers
from watcher.sinks.base import MASK, SendResult, one_line, redact_url, result_for_status
from watcher.sinks.message import split_message
from watcher.sinks.renderers import FORMATS, Renderer

# Apprise logs every failure itself. Those lines may quote pieces of a URL (tokens) and would
# repeat, unredacted, the one line each send result carries; each call's lines are captured
# in its result (`_failure` reads them), so they go nowhere else.
_apprise_log = logging.getLogger("apprise")
_apprise_log.addHandler(logging.NullHandler())
_apprise_log.propagate = False

# "error=503" is how Apprise plugins log the HTTP status of a failed request.
_STATUS_IN_LOG = re.compile(r"\berror=(\d{3})\b")
_URL_IN_TEXT = re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s'\"<>]+", re.IGNORECASE)
_URL_PIECES = re.compile(r"[^/:@?&=#;,+]+")


@dataclass(frozen=True)
class ServiceLimits:
    """Limits that replace those of the service a URL names (None: the service's own).

    The seam for stand-ins: a `json://` receiver sent to as if it were a service with a short
    message limit or a pause between requests, without touching Apprise's classes.
    """

    body_maxlen: int | None = None
    title_maxlen: int | None = None
    request_rate_per_sec: float | None = None

    def apply(self, service: apprise.plugins.NotifyBase) -> None:
        if self.body_maxlen is not None:
            service.body_maxlen = self.body_maxlen
        if self.title_maxlen is not None:
            service.title_maxlen = self.title_maxlen
        if self.request_rate_per_sec is not None:
            service.request_rate_per_sec = self.request_rate_per_sec


def _service(url: str) -> apprise.plugins.NotifyBase | None:
    service: apprise.plugins.NotifyBase | None = apprise.Apprise.instantiate(
        url, suppress_exceptions=True
    )
    return service


def malformed(url: str) -> str:
    return f"unsupported or malformed Apprise URL {redact_url(url)}"


def describe_urls(urls: Iterable[str]) -> list[str | None]:
    """For each URL: None when Apprise can use it, else a one-line problem (secret-free)."""
    return [None if url.strip() and _service(url) is not None else malformed(url) for url in urls]


def renderer_for(url: str) -> Renderer | None:
    """How to write messages for the service `url` names (see renderers.py); None for a URL
    Apprise cannot use.

    The service's own renderer, picked by the schemas of the service Apprise made of the URL
    (so `https://discord.com/api/webhooks/...` is Discord too), as long as the service takes that
    renderer's format as it is; a `?format=` that says otherwise picks a renderer for the
    richest format the service then takes without converting it, Markdown first (building in
    a format Apprise must convert would show escapes literally or grow a body past its limit).
    """
    service = _service(url) if url.strip() else None
    if service is None:
        return None

    def takes_as_is(fmt: str) -> bool:
        return bool(service.resolve_format(fmt).value == fmt)

    richest = next((fmt for fmt in FORMATS if takes_as_is(fmt)), service.resolve_format(None).value)
    return renderers.for_service(
        _schemas(service),
        takes_as_is,
        richest,
        blended_title=service.title_maxlen <= 0,
    )


def _schemas(service: apprise.plugins.NotifyBase) -> list[str]:
    """The schemas of a service's URLs (`mailto`, `mailtos`): each plugin declares one or
    several, for plain and secure transport."""
    schemas: list[str] = []
    for declared in (service.secure_protocol, service.protocol):
        schemas += [declared] if isinstance(declared, str) else list(declared or ())
    return [schema.lower() for schema in schemas]


def send_apprise(
    url: str,
    *,
    title: str,
    body: str,
    body_format: str,
    line_end: str = "",
    throttle: bool | None = None,
    limits: ServiceLimits | None = None,
) -> SendResult:
    """Send one message to the one service `url` names; never raises for delivery problems.

    `body_format` is what Apprise is told the body is (the renderer's `body_format`), and
    `line_end` how the body's lines end (its markup's). A body longer than the service's
    `body_maxlen` is sent as several `(part i/n)` messages, cut between lines; Apprise's own
    overflow handling is set to split as a safety net, so nothing is truncated or dropped.
    Sending stops at the first failed part (a retry resends every part: receivers may see the
    first parts twice, never a gap). `throttle=False` skips Apprise's pause between parts
    (`request_rate_per_sec`), which protects rate-limited services in production; tests that
    send several parts turn it off to stay fast.
    """
    if body_format not in FORMATS:
        raise ValueError(f"unknown body format {body_format!r}; use one of {', '.join(FORMATS)}")
    service = _service(url) if url.strip() else None
    if service is None:
        return SendResult(ok=False, error=malformed(url), permanent=True)
    if limits is not None:
        limits.apply(service)
    if throttle is False:  # None: Apprise's own pause, as in production
        service.request_rate_per_sec = 0
    if "overflow" not in _query_keys(url):
        service.overflow_mode = OverflowMode.SPLIT
    parts = _parts(service, title, body, body_format, line_end)
    notifier = apprise.Apprise()
    notifier.add(service)
    for index, part in enumerate(parts, start=1):
        try:
            outcome = notifier.notify(body=part, title=title, body_format=body_format)
        except Exception as exc:  # a plugin bug must fail this URL, not the dispatcher
            return SendResult(
                ok=False,
                error=one_line(f"Apprise raised {type(exc).__name__}: {_where(service, url)}"),
            )
        if not outcome:
            result = _failure(outcome, service, url)
            if len(parts) > 1 and result.error:
                return _with_error(result, f"part {index}/{len(parts)}: {result.error}")
            return result
    return SendResult(ok=True)


async def send_apprise_within(
    url: str,
    *,
    title: str,
    body: str,
    body_format: str,
    timeout: float,  # noqa: ASYNC109 -- the notifier's deadline for one URL's send
    line_end: str = "",
    throttle: bool | None = None,
    limits: ServiceLimits | None = None,
) -> SendResult:
    """`send_apprise` in a thread of its own, waited for at most `timeout` seconds.

    What is bounded is the wait, not Apprise: a thread cannot be stopped, so a send past its
    deadline is reported as a (retryable) timeout while its thread carries on in the
    background, bounded only by the plugin's own socket timeouts, and its outcome is dropped.
    If it does get through late, the retry sends the message again: a chat reader may see it
    twice, never miss it. The thread is a daemon, outside any pool: a hung send neither holds
    up the process's exit nor takes a worker other sends wait for.
    """
    loop = asyncio.get_running_loop()
    outcome: asyncio.Future[SendResult] = loop.create_future()

    def settle(result: SendResult | BaseException) -> None:
        if outcome.done():
            return
        if isinstance(result, BaseException):
            outcome.set_exception(result)
        else:
            outcome.set_result(result)

    def run() -> None:
        result: SendResult | BaseException
        try:
            result = send_apprise(
                url,
                title=title,
                body=body,
                body_format=body_format,
                line_end=line_end,
                throttle=throttle,
                limits=limits,
            )
        except BaseException as exc:  # handed to the waiting task, which raises it
            result = exc
        # RuntimeError: the loop closed while this send hung, and nobody waits for it.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(settle, result)

    threading.Thread(target=run, name="apprise-send", daemon=True).start()
    try:
        async with asyncio.timeout(timeout):
            return await outcome
    except TimeoutError:
        where = redact_url(url)
        return SendResult(
            ok=False,
            error=one_line(f"timed out after {timeout:g}s (Apprise still sending): {where}"),
        )


def _query_keys(url: str) -> set[str]:
    try:
        return {key.lower() for key in parse_qs(urlsplit(url).query, keep_blank_values=True)}
    except ValueError:
        return set()


def _parts(
    service: apprise.plugins.NotifyBase, title: str, body: str, body_format: str, line_end: str
) -> list[str]:
    """The body split to the service's limit, counting the title where the service does.

    With very small limits (some SMS services) the title leaves no room; the title is then
    not counted and Apprise, in split mode, shortens or splits what it puts around the body.
    """
    budget = _body_budget(service, body_format)
    try:
        return split_message(_counted_title(service, title), body, budget, line_end=line_end)
    except ValueError:
        return split_message("", body, budget, line_end=line_end)


def _counted_title(service: apprise.plugins.NotifyBase, title: str) -> str:
    """The title when the service measures it together with the body, else ""."""
    if service.title_maxlen <= 0 or service.overflow_amalgamate_title:
        return title
    return ""


def _body_budget(service: apprise.plugins.NotifyBase, body_format: str) -> int:
    """Characters per part: the service's own limit, halved when Apprise will convert the body
    (escaping text for Markdown or rendering Markdown as HTML can double its length)."""
    limit = int(service.body_maxlen)
    if limit <= 0:
        limit = 32_768
    if service.resolve_format(body_format).value != body_format:
        limit //= 2
    return limit


def _failure(
    outcome: apprise.AppriseResult, service: apprise.plugins.NotifyBase, url: str
) -> SendResult:
    """What went wrong, from the log lines Apprise captured for this call."""
    where = _where(service, url)
    messages = [
        entry.message for entry in outcome.logs() if entry.level in ("WARNING", "ERROR", "CRITICAL")
    ]
    for message in reversed(messages):
        found = _STATUS_IN_LOG.search(message)
        if found:
            return result_for_status(int(found.group(1)), what=where)
    if outcome.status == apprise.AppriseResultStatus.TIMEOUT:
        return SendResult(ok=False, error=one_line(f"timed out: {where}"))
    reason = _scrub(messages[-1], url) if messages else "Apprise gave no reason"
    return SendResult(ok=False, error=one_line(f"delivery failed via {where}: {reason}"))


def _where(service: apprise.plugins.NotifyBase, url: str) -> str:
    return f"{service.service_name} {redact_url(url)}"


def _with_error(result: SendResult, error: str) -> SendResult:
    return replace(result, error=one_line(error))


def _scrub(message: str, url: str) -> str:
    """A library's log line with every URL redacted and every hidden piece of `url` masked.

    Plugins usually log safely, but not all of them, and this line is stored and shown.
    """
    text = _URL_IN_TEXT.sub(lambda match: redact_url(match.group(0)), message)
    shown = redact_url(url)
    _, _, rest = url.partition("://")
    hidden = {piece for piece in _URL_PIECES.findall(rest) if piece not in shown}
    for piece in sorted(hidden, key=len, reverse=True):
        if len(piece) >= 3:
            text = text.replace(piece, MASK)
    return text
