"""GET /healthz and GET /metrics, for supervisors and Prometheus (README: Operations)."""

from __future__ import annotations

import json

from aiohttp import web

from watcher.metrics import CONTENT_TYPE
from watcher.web.app_keys import HEALTH, SCRAPE
from watcher.web.reads import StoreReader

JSON = "application/json"


def add_routes(app: web.Application, reader: StoreReader) -> None:
    """Neither reads through `reader`: health has its own check, metrics their collector."""
    app.router.add_get("/healthz", _healthz)
    app.router.add_get("/metrics", _metrics)


async def _healthz(request: web.Request) -> web.Response:
    """200 while healthy, 503 with the reason otherwise; never cached."""
    healthy, body = await request.app[HEALTH]()
    return web.Response(
        body=(json.dumps(body) + "\n").encode(),
        status=200 if healthy else 503,
        headers={"Content-Type": JSON},
    )


async def _metrics(request: web.Request) -> web.Response:
    # Prometheus' content type carries its own parameters (version=0.0.4): set it whole.
    return web.Response(body=request.app[SCRAPE](), headers={"Content-Type": CONTENT_TYPE})
