"""GET JSON from a platform with the retry policy; every failure becomes one PlatformError line."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import httpx

from watcher import metrics
from watcher.errors import PlatformError
from watcher.retry import RetryPolicy, parse_retry_after

RETRYABLE = frozenset({408, 425, 429, 500, 502, 503, 504})


class HttpStatusError(PlatformError):
    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


async def get_json(
    http: httpx.AsyncClient,
    url: str,
    *,
    params: Mapping[str, str | int] | None = None,
    headers: Mapping[str, str] | None = None,
    retry: RetryPolicy,
    ok_statuses: frozenset[int] = frozenset({200}),
) -> tuple[int, Any]:
    """(status, decoded body) of the first answer in `ok_statuses`; retries transient failures.

    Statuses outside `ok_statuses` that are not transient raise at once: they will not change.
    """
    last: PlatformError | None = None
    for attempt in range(1, retry.attempts + 1):
        retry_after: float | None = None
        try:
            response = await http.get(url, params=params, headers=headers)
        except httpx.TimeoutException:
            metrics.platform_request(None, "timeout")
            last = PlatformError(f"timed out: GET {_short(url)}")
        except httpx.HTTPError as exc:
            metrics.platform_request(None, "error")
            last = PlatformError(f"request failed: GET {_short(url)}: {type(exc).__name__}")
        else:
            metrics.platform_request(None, response.status_code)
            if response.status_code in ok_statuses:
                try:
                    return response.status_code, response.json()
                except (json.JSONDecodeError, UnicodeDecodeError):
                    last = PlatformError(f"malformed JSON body from GET {_short(url)}")
            else:
                last = HttpStatusError(
                    f"HTTP {response.status_code} from GET {_short(url)}{_reason(response)}",
                    response.status_code,
                )
                if response.status_code not in RETRYABLE:
                    raise last
                retry_after = parse_retry_after(response.headers.get("retry-after"))
        if attempt < retry.attempts:
            await retry.sleep(retry.delay(attempt, retry_after))
    assert last is not None
    raise last


def _short(url: str) -> str:
    """The URL without its query string: enough to act on, and never a credential."""
    return url.split("?", 1)[0]


def _reason(response: httpx.Response) -> str:
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return ""
    if isinstance(body, dict):
        message = body.get("error") or body.get("message")
        if isinstance(message, str) and message:
            return f": {message[:200]}"
    return ""
