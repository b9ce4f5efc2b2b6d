"""JSON from a platform with the retry policy and the request budget; every failure becomes one
PlatformError line."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
import msgspec

from watcher import metrics
from watcher.budget import RequestBudget
from watcher.direct_http import BodyTooLarge, DeadlineExceeded, Requester
from watcher.errors import PlatformError
from watcher.retry import RetryPolicy, parse_retry_after

RETRYABLE = frozenset({408, 425, 429, 500, 502, 503, 504})
Decode = Callable[[bytes], Any]


class HttpStatusError(PlatformError):
    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True, slots=True)
class JsonAnswer:
    status: int
    body: Any  # None for an accepted redirect without a JSON body
    headers: httpx.Headers


async def request_json(
    http: Requester,
    method: str,
    url: str,
    *,
    params: Mapping[str, str | int | list[str]] | None = None,
    headers: Mapping[str, str] | None = None,
    form: Mapping[str, str] | None = None,
    retry: RetryPolicy,
    budget: RequestBudget | None = None,
    ok_statuses: frozenset[int] = frozenset({200}),
    retryable: frozenset[int] = RETRYABLE,
    decode: Decode | None = None,
) -> JsonAnswer:
    """The first answer in `ok_statuses`, decoded; retries transient failures.

    Statuses outside `ok_statuses` that are not `retryable` raise at once: they will not
    change. Every attempt passes through `budget`; a 429 pauses the whole budget while it
    backs off, so the platform's other requests wait too instead of hammering it. Each
    attempt has the client's whole-request deadline (see `DirectClient.request`). A
    Retry-After is waited out up to `retry.max_retry_after`; a longer one fails at once,
    saying so, and holds the budget for that long. `decode`
    turns the body's bytes into a typed value (a msgspec decoder reads only the fields it
    names, and list pages are most of the work); the default is plain JSON.
    """
    last: PlatformError | None = None
    for attempt in range(1, retry.attempts + 1):
        retry_after: float | None = None
        rate_limited = False
        try:
            response = await _send(http, method, url, params, headers, form, budget)
        except BodyTooLarge as exc:
            metrics.platform_request(None, "error")
            raise PlatformError(f"{exc}: {method} {_short(url)}") from None
        except httpx.TimeoutException as exc:
            metrics.platform_request(None, "timeout")
            last = PlatformError(f"timed out{_after(exc)}: {method} {_short(url)}")
        except httpx.HTTPError as exc:
            metrics.platform_request(None, "error")
            last = PlatformError(f"request failed: {method} {_short(url)}: {type(exc).__name__}")
        else:
            metrics.platform_request(None, response.status_code)
            if response.status_code in ok_statuses:
                try:
                    body = _decode(response, decode)
                except msgspec.ValidationError as exc:
                    message = f"unexpected body from {method} {_short(url)}: {exc}"
                    raise PlatformError(message) from None
                # JSON and Unicode errors, and JSON nested deeper than Python recurses.
                except (ValueError, msgspec.DecodeError, RecursionError):
                    last = PlatformError(f"malformed JSON body from {method} {_short(url)}")
                else:
                    return JsonAnswer(response.status_code, body, response.headers)
            else:
                last = HttpStatusError(
                    f"HTTP {response.status_code} from {method} {_short(url)}{_reason(response)}",
                    response.status_code,
                )
                if response.status_code not in retryable:
                    raise last
                retry_after = parse_retry_after(response.headers.get("retry-after"))
                rate_limited = response.status_code == 429
                if retry_after is not None and not retry.waits_out(retry_after):
                    raise _asked_to_wait(last, retry_after, retry, budget)
        if attempt < retry.attempts:
            delay = retry.delay(attempt, retry_after, rate_limited)
            if rate_limited and budget is not None:
                async with budget.paused():
                    await retry.sleep(delay)
            else:
                await retry.sleep(delay)
    assert last is not None
    raise last


async def get_json(
    http: Requester,
    url: str,
    *,
    params: Mapping[str, str | int | list[str]] | None = None,
    headers: Mapping[str, str] | None = None,
    retry: RetryPolicy,
    budget: RequestBudget | None = None,
    ok_statuses: frozenset[int] = frozenset({200}),
    decode: Decode | None = None,
) -> tuple[int, Any]:
    """(status, decoded body) of the first GET answer in `ok_statuses`; see `request_json`."""
    answer = await request_json(
        http,
        "GET",
        url,
        params=params,
        headers=headers,
        retry=retry,
        budget=budget,
        ok_statuses=ok_statuses,
        decode=decode,
    )
    return answer.status, answer.body


async def _send(
    http: Requester,
    method: str,
    url: str,
    params: Mapping[str, str | int | list[str]] | None,
    headers: Mapping[str, str] | None,
    form: Mapping[str, str] | None,
    budget: RequestBudget | None,
) -> httpx.Response:
    if budget is None:
        return await http.request(method, url, params=params, headers=headers, data=form)
    async with budget.slot():
        return await http.request(method, url, params=params, headers=headers, data=form)


def _decode(response: httpx.Response, decode: Decode | None) -> Any:
    """The JSON body; a redirect may come without one (its Location header is the answer)."""
    if response.is_redirect and not response.content.strip():
        return None
    if decode is not None:
        return decode(response.content)
    return json.loads(response.content)


def _asked_to_wait(
    answer: HttpStatusError, seconds: float, retry: RetryPolicy, budget: RequestBudget | None
) -> HttpStatusError:
    """The poll's failure when the platform asks for a longer wait than a poll waits out.

    The platform's other requests wait with it: the budget holds them for as long as it
    asked (those that would wait longer than a poll does fail at once with the same reason).
    """
    reason = (
        f"the platform asked to wait {seconds:,.0f} s (Retry-After), longer than the "
        f"{retry.max_retry_after:,.0f} s a poll waits: {answer}"
    )
    if budget is not None:
        budget.hold(seconds, reason, patience=retry.max_retry_after)
    return HttpStatusError(reason, answer.status)


def _after(exc: httpx.TimeoutException) -> str:
    """` after 2s (no complete answer)`: which deadline ran out, when the client says."""
    if isinstance(exc, DeadlineExceeded):
        return f" after {exc.seconds:g}s (no complete answer)"
    return ""


def _short(url: str) -> str:
    """The URL without its query string: enough to act on, and never a credential."""
    return url.split("?", 1)[0]


def _reason(response: httpx.Response) -> str:
    try:
        body = response.json()
    except (ValueError, RecursionError):  # not JSON, not UTF-8, or nested absurdly deep
        return ""
    if isinstance(body, dict):
        message = body.get("error") or body.get("message") or _first_error_message(body)
        if isinstance(message, str) and message:
            return f": {message[:200]}"
    return ""


def _first_error_message(body: dict[str, Any]) -> Any:
    """SoundCloud's shape: `{"errors": [{"error_message": "..."}], "error": null, ...}`."""
    errors = body.get("errors")
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        return errors[0].get("error_message")
    return None
