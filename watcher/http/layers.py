"""What is composed around every attempt of a platform request, once, as middleware.

A layer takes the request and the next `Send` and answers for it, like dramatiq's middleware
around a message: the budget and the metrics wrap the send in one place instead of being
passed into every platform call. Retries wrap the composed attempt (json_client.py).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import httpx

from watcher import metrics
from watcher.http.budget import RequestBudget
from watcher.http.quota import QuotaGate
from watcher.http.transport import Outgoing
from watcher.lock_wait import patiently

Send = Callable[[Outgoing], Awaitable[httpx.Response]]
Layer = Callable[[Outgoing, Send], Awaitable[httpx.Response]]


def compose(send: Send, layers: Sequence[Layer]) -> Send:
    """`send` wrapped in `layers`, the first outermost."""
    for layer in reversed(layers):
        send = _around(layer, send)
    return send


def _around(layer: Layer, send: Send) -> Send:
    async def sent(request: Outgoing) -> httpx.Response:
        return await layer(request, send)

    return sent


async def counted(request: Outgoing, send: Send) -> httpx.Response:
    """Every attempt counted in the platform request metrics, by status or by failure."""
    try:
        response = await send(request)
    except httpx.TimeoutException:
        metrics.platform_request(None, "timeout")
        raise
    except httpx.HTTPError:  # an answer too long to read among them
        metrics.platform_request(None, "error")
        raise
    metrics.platform_request(None, response.status_code)
    return response


@dataclass(frozen=True, slots=True)
class WithinBudget:
    """Each attempt holds one of the platform's budget slots while it is in flight."""

    budget: RequestBudget

    async def __call__(self, request: Outgoing, send: Send) -> httpx.Response:
        async with self.budget.slot():
            return await send(request)


@dataclass(frozen=True, slots=True)
class WithinQuota:
    """Each attempt is counted against the platform's quotas before it is sent, and none is
    sent while the quota is spent or the platform is held (see quota.py)."""

    gate: QuotaGate

    async def __call__(self, request: Outgoing, send: Send) -> httpx.Response:
        await patiently(self.gate.store, self.gate.admit)  # a lock is waited out off the loop
        return await send(request)
