"""What every route module finds on the application: the running config, the store reader,
the clock, the templates. Typed keys, so `request.app[CONFIG]` is a `Config`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from watcher.clock import Clock
from watcher.config import Config
from watcher.web.reader import StoreReader
from watcher.web.templating import Templates

# The daemon's liveness (or `watcher serve`'s): (healthy, JSON body).
HealthCheck = Callable[[], Awaitable[tuple[bool, dict[str, Any]]]]
# Prometheus' text exposition.
Scrape = Callable[[], bytes]

# The config in force, asked for at each request: a daemon's SIGHUP changes it.
CurrentConfig = Callable[[], Config]

CONFIG = web.AppKey[CurrentConfig]("config")
READER = web.AppKey("reader", StoreReader)
CLOCK = web.AppKey("clock", Clock)
TEMPLATES = web.AppKey("templates", Templates)
HEALTH = web.AppKey[HealthCheck]("health")
SCRAPE = web.AppKey[Scrape]("scrape")
