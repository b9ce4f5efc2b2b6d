"""What every route module finds on the application besides the store reader (`reads.py`):
the running config, the clock, the database's path, the templates, the health check and the
metrics. Typed keys, so `request.app[CLOCK]` is a `Clock`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import web

from watcher.clock import Clock
from watcher.config import Config
from watcher.web.templating import Templates

# The daemon's liveness (or `watcher serve`'s): (healthy, JSON body).
HealthCheck = Callable[[], Awaitable[tuple[bool, dict[str, Any]]]]
# Prometheus' text exposition.
Scrape = Callable[[], bytes]

# The config in force, asked for at each request: a daemon's SIGHUP changes it.
CurrentConfig = Callable[[], Config]

DATABASE = web.AppKey("database", Path)
CLOCK = web.AppKey("clock", Clock)
TEMPLATES = web.AppKey("templates", Templates)
HEALTH = web.AppKey[HealthCheck]("health")
SCRAPE = web.AppKey[Scrape]("scrape")
