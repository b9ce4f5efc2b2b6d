"""JSON from a platform: the layers around each attempt, one retry policy around them, and
every failure turned into one PlatformError line."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import msgspec

from watcher.errors import PlatformError
from watcher.http.budget import RequestBudget
from watcher.http.client import BodyTooLarge, DeadlineExceeded, DirectClient
from watcher.http.layers import Layer, WithinBudget, WithinQuota, compose, counted
from watcher.http.quota import QuotaGate, held_line
from watcher.http.rate_limit import reset_seconds
from watcher.http.retry import RetryPolicy, parse_retry_after
from watcher.http.transport import Outgoing, Params

Decode = Callable[[bytes], Any]
OK = frozenset({200})


class HttpStatusError(PlatformError):
    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True, slots=True)
class JsonAnswer:
    status: int
    body: Any  # None for an accepted redirect without a JSON body
    headers: httpx.Headers


@dataclass(frozen=True, slots=True)
class _TryAgain:
    """An attempt that failed in a way another attempt may not."""

    error: PlatformError
    retry_after: float | None = None
    rate_limited: bool = False


class JsonClient:
    """One platform's requests: each attempt is counted and passes through the platform's
    budget (composed once, here), and `retry` decides what is tried again.

    A 429 pauses the whole budget while it backs off, so the platform's other requests wait
    too instead of hammering it. A Retry-After is waited out up to `retry.max_retry_after`;
    a longer one fails at once, saying so, and holds the budget for that long.
    """

    def __init__(
        self,
        http: DirectClient,
        *,
        retry: RetryPolicy,
        budget: RequestBudget | None = None,
        quota: QuotaGate | None = None,
    ) -> None:
        self.http = http
        self.retry = retry
        self.budget = budget
        self.quota = quota
        layers: list[Layer] = [WithinQuota(quota)] if quota is not None else []
        layers.append(counted)
        if budget is not None:
            layers.append(WithinBudget(budget))
        self._attempt = compose(http.send, layers)

    def retrying(self, statuses: frozenset[int]) -> JsonClient:
        """The same client, budget and quota, trying again on `statuses` only."""
        return JsonClient(
            self.http, retry=self.retry.retrying(statuses), budget=self.budget, quota=self.quota
        )

    async def get_json(
        self,
        url: str,
        *,
        params: Params | None = None,
        headers: Mapping[str, str] | None = None,
        ok_statuses: frozenset[int] = OK,
        decode: Decode | None = None,
    ) -> tuple[int, Any]:
        """(status, decoded body) of the first GET answer in `ok_statuses`; see `request_json`."""
        answer = await self.request_json(
            "GET", url, params=params, headers=headers, ok_statuses=ok_statuses, decode=decode
        )
        return answer.status, answer.body

    async def request_json(
        self,
        method: str,
        url: str,
        *,
        params: Params | None = None,
        headers: Mapping[str, str] | None = None,
        form: Mapping[str, str] | None = None,
        ok_statuses: frozenset[int] = OK,
        decode: Decode | None = None,
    ) -> JsonAnswer:
        """The first answer in `ok_statuses`, decoded; retries transient failures.

        Statuses outside `ok_statuses` that the policy does not retry raise at once. Each
        attempt has the client's whole-request deadline (see `DirectClient.send`). `decode`
        turns the body's bytes into a typed value (a msgspec decoder reads only the fields it
        names, and list pages are most of the work); the default is plain JSON.
        """
        request = self.http.outgoing(method, url, params=params, headers=headers, data=form)
        last: _TryAgain | None = None
        for attempt in range(1, self.retry.attempts + 1):
            if last is not None:
                await self._back_off(attempt - 1, last)
            outcome = await self._once(request, ok_statuses, decode)
            if isinstance(outcome, JsonAnswer):
                return outcome
            last = outcome
        assert last is not None
        raise last.error

    async def _once(
        self, request: Outgoing, ok_statuses: frozenset[int], decode: Decode | None
    ) -> JsonAnswer | _TryAgain:
        """One attempt: the answer, or why to try again; raises what no retry can change."""
        what = f"{request.method} {_short(request.url)}"
        try:
            response = await self._attempt(request)
        except BodyTooLarge as exc:
            raise PlatformError(f"{exc}: {what}") from None
        except httpx.TimeoutException as exc:
            return _TryAgain(PlatformError(f"timed out{_after(exc)}: {what}"))
        except httpx.HTTPError as exc:
            return _TryAgain(PlatformError(f"request failed: {what}: {type(exc).__name__}"))
        if response.status_code in ok_statuses:
            return _decoded(response, what, decode)
        return self._refused(response, what)

    def _refused(self, response: httpx.Response, what: str) -> _TryAgain:
        """An answer outside `ok_statuses`: raised when final, else the wait it asks for."""
        status = response.status_code
        error = HttpStatusError(f"HTTP {status} from {what}{_reason(response)}", status)
        if status not in self.retry.retryable:
            raise error
        retry_after = parse_retry_after(response.headers.get("retry-after"))
        if status == 429:
            retry_after = reset_seconds(response, self._now(), retry_after)
        if retry_after is not None and not self.retry.waits_out(retry_after):
            raise self._asked_to_wait(error, retry_after)
        return _TryAgain(error, retry_after, rate_limited=status == 429)

    async def _back_off(self, attempt: int, failed: _TryAgain) -> None:
        """Wait before the next try; a 429's wait holds the whole budget still."""
        delay = self.retry.delay(attempt, failed.retry_after, failed.rate_limited)
        if failed.rate_limited and self.budget is not None:
            async with self.budget.paused():
                await self.retry.sleep(delay)
        else:
            await self.retry.sleep(delay)

    def _asked_to_wait(self, answer: HttpStatusError, seconds: float) -> HttpStatusError:
        """The poll's failure when the platform asks for a longer wait than a poll waits out.

        The platform's other requests wait with it: the budget holds them for as long as it
        asked (those that would wait longer than a poll does fail at once with the same reason).
        """
        reason = (
            f"the platform asked to wait {seconds:,.0f} s (Retry-After), longer than the "
            f"{self.retry.max_retry_after:,.0f} s a poll waits: {answer}"
        )
        if self.budget is not None:
            self.budget.hold(seconds, reason, patience=self.retry.max_retry_after)
        if self.quota is not None:
            # Every process on the database waits it out too (no futile retries meanwhile).
            until = self._now() + timedelta(seconds=seconds)
            self.quota.hold(until, reason)
            reason = f"{held_line(self.quota.platform, until)}: {reason}"
        return HttpStatusError(reason, answer.status)

    def _now(self) -> datetime:
        return self.quota.now() if self.quota is not None else datetime.now(UTC)


def _decoded(response: httpx.Response, what: str, decode: Decode | None) -> JsonAnswer | _TryAgain:
    """The answer with its body decoded; a malformed body is worth another try, a body of the
    wrong shape is not."""
    try:
        body = _decode(response, decode)
    except msgspec.ValidationError as exc:
        raise PlatformError(f"unexpected body from {what}: {exc}") from None
    # JSON and Unicode errors, and JSON nested deeper than Python recurses.
    except (ValueError, msgspec.DecodeError, RecursionError):
        return _TryAgain(PlatformError(f"malformed JSON body from {what}"))
    return JsonAnswer(response.status_code, body, response.headers)


def _decode(response: httpx.Response, decode: Decode | None) -> Any:
    """The JSON body; a redirect may come without one (its Location header is the answer)."""
    if response.is_redirect and not response.content.strip():
        return None
    if decode is not None:
        return decode(response.content)
    return json.loads(response.content)


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
