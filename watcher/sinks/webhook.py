"""Standard Webhooks delivery: one signed POST of the event envelope, classified honestly.

The receiver authenticates us by the `webhook-signature` header (HMAC-SHA256 over id, timestamp
and body, see https://www.standardwebhooks.com/), and deduplicates retries by `webhook-id`, which
is why the caller passes the event id and the same body on every attempt.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import functools
import math
from datetime import UTC, datetime

import httpx
from standardwebhooks import Webhook

from watcher.http.client import DirectClient
from watcher.http.identity import USER_AGENT
from watcher.sinks.base import SendResult, one_line, redact_url, result_for_status

SECRET_PREFIX = "whsec_"
# The spec recommends 24 to 64 bytes; fewer than 16 is too weak to be worth signing with.
MIN_SECRET_BYTES = 16
MAX_SECRET_BYTES = 64


@functools.lru_cache(maxsize=64)
def check_secret(secret: str) -> str | None:
    """What is wrong with a webhook secret, or None; for config-time validation.

    The answer never quotes the secret: it ends up in error output and logs.
    """
    if not secret.startswith(SECRET_PREFIX):
        return f"must start with {SECRET_PREFIX!r} followed by base64"
    key = _decode_key(secret[len(SECRET_PREFIX) :])
    if key is None:
        return f"is not valid base64 after {SECRET_PREFIX!r}"
    if len(key) < MIN_SECRET_BYTES:
        return f"is too short ({len(key)} bytes; use at least {MIN_SECRET_BYTES}, ideally 32)"
    if len(key) > MAX_SECRET_BYTES:
        return f"is too long ({len(key)} bytes; the maximum is {MAX_SECRET_BYTES})"
    return None


def _decode_key(text: str) -> bytes | None:
    """Strict standard base64 (padding optional): a typo must not silently become another key."""
    stripped = text.rstrip("=")
    if not stripped or len(stripped) % 4 == 1:
        return None
    try:
        return base64.b64decode(stripped + "=" * (-len(stripped) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None


def sign(*, secret: str, event_id: str, timestamp: datetime, body: str) -> str:
    """The `webhook-signature` value (`v1,<base64>`) for this id, moment and body.

    The library assumes a UTC datetime (it replaces the zone rather than converting), so an
    aware timestamp is converted first; a naive one is taken to be UTC already.
    """
    moment = timestamp.astimezone(UTC) if timestamp.tzinfo else timestamp.replace(tzinfo=UTC)
    signature: str = Webhook(secret).sign(event_id, moment, body)
    return signature


def unix_seconds(timestamp: datetime) -> int:
    """The `webhook-timestamp` value: whole seconds, rounded down as the signature does."""
    moment = timestamp if timestamp.tzinfo else timestamp.replace(tzinfo=UTC)
    return math.floor(moment.timestamp())


async def send_webhook(
    http: DirectClient,
    *,
    url: str,
    secret: str,
    event_id: str,
    body: str,
    timestamp: datetime,
    timeout: float,  # noqa: ASYNC109 -- the per-request httpx timeout, part of the API
) -> SendResult:
    """POST `body` (the envelope JSON, sent byte for byte) to `url`, signed; never raises.

    Redirects are not followed: a signed request re-sent somewhere we were not configured to
    trust is worse than a failure the operator can see and fix.
    """
    where = _where(url)
    problem = check_secret(secret)
    if problem is not None:
        return SendResult(ok=False, error=f"webhook secret {problem}", permanent=True)
    headers = {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": event_id,
        "webhook-timestamp": str(unix_seconds(timestamp)),
        "webhook-signature": sign(secret=secret, event_id=event_id, timestamp=timestamp, body=body),
    }
    answered: SendResult | None = None
    try:
        # One deadline for the whole exchange (connecting, the answer's headers, reading up
        # its body): httpx's timeouts are per read, so a receiver trickling a byte a second
        # would otherwise hold this delivery, and its notifier's others, indefinitely.
        async with asyncio.timeout(timeout):
            async with http.stream(
                "POST",
                url,
                content=body.encode("utf-8"),
                headers=headers,
                timeout=timeout,
                follow_redirects=False,
            ) as response:
                answered = result_for_status(
                    response.status_code,
                    what=where,
                    retry_after=response.headers.get("retry-after"),
                    location=response.headers.get("location"),
                )
                # Only the status and headers matter. A short body is read (and dropped) so
                # the connection can carry the next delivery; a long one is cut off, closing
                # the connection, so a hostile receiver cannot make us buffer megabytes.
                await _discard_body(response)
    except (TimeoutError, httpx.TimeoutException) as exc:
        if answered is not None:  # the status came in time; only its body was slow
            return answered
        kind = "no complete answer" if isinstance(exc, TimeoutError) else _kind(exc)
        error = one_line(f"timed out after {timeout:g}s ({kind}): {where}")
        return SendResult(ok=False, error=error)
    except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
        return SendResult(
            ok=False, error=one_line(f"bad webhook URL ({_kind(exc)}): {where}"), permanent=True
        )
    except httpx.HTTPError as exc:
        return SendResult(
            ok=False, error=one_line(f"connection failed ({_describe(exc, url)}): {where}")
        )
    assert answered is not None
    return answered


DISCARD_LIMIT = 64 * 1024


async def _discard_body(response: httpx.Response) -> None:
    """Read and drop up to DISCARD_LIMIT bytes; the status is the answer, so a receiver that
    hangs up mid-body has still answered."""
    read = 0
    try:
        async for chunk in response.aiter_raw():
            read += len(chunk)
            if read > DISCARD_LIMIT:
                return
    except httpx.HTTPError:
        return


@functools.lru_cache(maxsize=64)
def _where(url: str) -> str:
    """How messages name the endpoint (credentials removed); the same for every delivery."""
    return f"POST {redact_url(url)}"


def _kind(exc: Exception) -> str:
    return type(exc).__name__


def _describe(exc: Exception, url: str) -> str:
    """The exception's class and message, with the URL (and so its credentials) removed."""
    message = str(exc).replace(url, redact_url(url)) if url else str(exc)
    message = one_line(message, 120)
    return f"{_kind(exc)}: {message}" if message else _kind(exc)
