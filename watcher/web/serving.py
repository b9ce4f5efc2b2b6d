"""The endpoint as `watcher run` and `watcher serve` start it: the application on
`[http] listen` (its store reader opens and closes with it), and the one warning an open
dashboard deserves."""

from __future__ import annotations

import logging
from pathlib import Path

from watcher.clock import Clock
from watcher.web.app import build_app
from watcher.web.app_keys import CurrentConfig, HealthCheck, Scrape
from watcher.web.server import WebServer, is_loopback

log = logging.getLogger("watcher.web")


def endpoint(
    config: CurrentConfig,
    database: str | Path,
    clock: Clock,
    *,
    health: HealthCheck,
    scrape: Scrape,
) -> WebServer:
    """The endpoint of `config()`'s `[http] listen` (which must be set) over `database`;
    warns once when it listens beyond this machine without a token."""
    settings = config().http
    address = settings.address
    assert address is not None and settings.listen is not None
    host, port = address
    if settings.token is None and not is_loopback(host):
        log.warning(
            "the dashboard on %s is open to anyone who can reach it: set [http] token"
            " (a secret of 16+ characters) to ask for it",
            settings.listen,
        )
    app = build_app(config, Path(database), clock, health=health, scrape=scrape)
    return WebServer(app, host, port, settings.listen)
