"""What every sink reports back, and the helpers that keep those reports safe to log and store.

A send result ends up in logs, in the database and in `watcher status` output, so its error line
must never carry a secret: URLs are shown through `redact_url`, and sinks build their own
messages instead of passing on text from libraries or receivers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from http import HTTPStatus
from urllib.parse import urlsplit

from watcher.http.retry import parse_retry_after
from watcher.http.statuses import delivery_is_permanent

MASK = "****"

MAX_ERROR_LEN = 300

# Schemes whose netloc and path mean what they mean in http: host is a host, path a path.
_HTTP_LIKE = frozenset({"http", "https", "json", "jsons", "xml", "xmls", "form", "forms"})
# A host an operator would recognise; in Apprise URLs a dotless "host" is usually a token.
_DOTTED_HOST = re.compile(r"^(?:localhost|[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+|\[[0-9A-Fa-f:.]+\])$")
_ANY_HOST = re.compile(r"^(?:[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*|\[[0-9A-Fa-f:.]+\])$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")


@dataclass(frozen=True)
class SendResult:
    """The outcome of one delivery attempt to one receiver."""

    ok: bool
    status: int | None = None  # HTTP status when there was one
    error: str | None = None  # one line, never containing a secret, token or URL credentials
    retry_after: float | None = None  # seconds, when the receiver said so (Retry-After)
    gone: bool = False  # the receiver said 410 Gone: disable this notifier
    permanent: bool = False  # retrying cannot help (e.g. 400, 401, 403, 404, bad URL)

    @property
    def retryable(self) -> bool:
        """A failure that another attempt (later, same content) might turn into a success."""
        return not self.ok and not self.permanent and not self.gone


def redact_url(url: str) -> str:
    """`url` with credentials and token-like parts replaced by `****`, for logs and errors.

    Scheme and host stay so an operator can tell notifiers apart. For Apprise schemes other
    than the http-like ones, the "host" and path are usually ids and tokens (`discord://id/token`,
    `tgram://bottoken/chat`), so the host is kept only when it looks like a real hostname and
    every path segment is hidden. Queries are never shown: they often carry `?token=`.
    """
    text = _CONTROL.sub("", url.strip())
    try:
        parts = urlsplit(text)
        scheme = parts.scheme.lower()
        netloc = parts.netloc
        path = parts.path
    except ValueError:
        return MASK
    if not scheme or "://" not in text:
        return MASK
    userinfo, _, hostport = netloc.rpartition("@")
    http_like = scheme in _HTTP_LIKE
    host_text = _host_or_mask(hostport, _ANY_HOST if http_like else _DOTTED_HOST)
    shown = f"{scheme}://"
    if userinfo:
        shown += f"{MASK}@"
    shown += host_text
    segments = path.split("/")
    if http_like:
        shown += "/".join(_path_segment(segment) for segment in segments)
    else:
        shown += "/".join(MASK if segment else segment for segment in segments)
    if parts.query:
        shown += "?..."
    if parts.fragment:
        shown += "#..."
    return shown


def _host_or_mask(hostport: str, pattern: re.Pattern[str]) -> str:
    if not hostport:
        return ""
    host, _, port = hostport.rpartition(":") if not hostport.endswith("]") else (hostport, "", "")
    if not host or (port and not port.isdigit()):
        host, port = hostport, ""
    if not pattern.match(host):
        return MASK
    return f"{host}:{port}" if port else host


def _path_segment(segment: str) -> str:
    """A path segment of an http URL, hidden when it looks like an id or token."""
    digits = sum(ch.isdigit() for ch in segment)
    mixed_case = segment.lower() != segment and segment.upper() != segment
    if len(segment) >= 20 or (digits and len(segment) >= 6) or digits >= 4:
        return MASK
    if mixed_case and len(segment) >= 12:
        return MASK
    return segment


def one_line(text: str, limit: int = MAX_ERROR_LEN) -> str:
    """`text` as a single bounded line: errors are shown in tables and stored in one column."""
    flat = " ".join(_CONTROL.sub(" ", text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def result_for_status(
    status: int,
    *,
    what: str,
    retry_after: str | None = None,
    location: str | None = None,
    now: datetime | None = None,
) -> SendResult:
    """Classify an HTTP answer: only 2xx is success; the rest says whether to try again.

    `what` names the request in the error line (e.g. "POST https://host/****"); it must already
    be redacted.
    """
    if 200 <= status < 300:
        return SendResult(ok=True, status=status)
    if 300 <= status < 400:
        where = f" to {redact_url(location)}" if location else ""
        return SendResult(
            ok=False,
            status=status,
            error=one_line(f"HTTP {status} redirect{where} not followed: {what}"),
            permanent=True,
        )
    if status == 410:
        return SendResult(
            ok=False,
            status=status,
            error=one_line(f"HTTP 410 Gone: the receiver retired this endpoint: {what}"),
            gone=True,
            permanent=True,
        )
    permanent = delivery_is_permanent(status)
    return SendResult(
        ok=False,
        status=status,
        error=one_line(f"HTTP {status}{_reason(status)} from {what}"),
        retry_after=None if permanent else parse_retry_after(retry_after, now),
        permanent=permanent,
    )


def _reason(status: int) -> str:
    try:
        return f" {HTTPStatus(status).phrase}"
    except ValueError:
        return ""
