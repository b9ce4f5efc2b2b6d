"""The dashboard's aiohttp application: its route modules, the middlewares every route shares
(security headers, the token, database trouble as one line), its static files.

A route module has a function `add_routes(app, reader)`; a page is a handler in one of them
(reading through the `reader`, see `reads.py`) and a template extending `base.html`. What else
a handler needs is on the application under the keys of `app_keys.py`.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from pathlib import Path

from aiohttp import web
from aiohttp.typedefs import Handler

from watcher import database_problems
from watcher.clock import Clock
from watcher.errors import DatabaseProblem
from watcher.web import api, auth, charts, feeds, operations, pages
from watcher.web.app_keys import (
    CLOCK,
    DATABASE,
    HEALTH,
    SCRAPE,
    TEMPLATES,
    CurrentConfig,
    HealthCheck,
    Scrape,
)
from watcher.web.reads import StoreReader, install
from watcher.web.security import security_headers
from watcher.web.templating import STATIC, Templates

log = logging.getLogger("watcher.web")

# Each adds its routes; the order does not matter (no two claim a path).
ROUTES: tuple[Callable[[web.Application, StoreReader], None], ...] = (
    operations.add_routes,
    pages.add_routes,
    charts.add_routes,
    feeds.add_routes,
    api.add_routes,
)
STATIC_FILES = {entry.name: Path(str(entry)) for entry in STATIC.iterdir() if entry.is_file()}
# Static URLs carry a hash of their file (templating.static_url): a browser may keep them.
STATIC_CACHE = "public, max-age=604800, immutable"


def build_app(
    config: CurrentConfig,
    database: Path,
    clock: Clock,
    *,
    health: HealthCheck,
    scrape: Scrape,
) -> web.Application:
    """The whole application: pages, charts, /healthz and /metrics, static files; the token
    asked for everywhere but /healthz when `[http] token` is set. Its reader of `database`
    opens as the application starts and closes with it."""
    token = config().http.token
    app = web.Application(middlewares=[security_headers, _errors])
    app[DATABASE] = database
    app[CLOCK] = clock
    app[TEMPLATES] = Templates(token_required=token is not None)
    app[HEALTH] = health
    app[SCRAPE] = scrape
    auth.install(app, token)
    reader = install(app, StoreReader(database, config, clock))
    for add_routes in ROUTES:
        add_routes(app, reader)
    app.router.add_get("/static/{name}", _static)
    return app


async def _static(request: web.Request) -> web.StreamResponse:
    path = STATIC_FILES.get(request.match_info["name"])
    if path is None:
        raise web.HTTPNotFound()
    return web.FileResponse(path, headers={"Cache-Control": STATIC_CACHE})


@web.middleware
async def _errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """A database that cannot be read right now (locked past patience, damaged, gone) is one
    line and a 503, as the CLI says it; a bug is a 500 and its traceback in the log, never on
    the page."""
    try:
        return await handler(request)
    except web.HTTPException:
        raise
    except DatabaseProblem as exc:
        line = str(exc)
    except sqlite3.Error as exc:
        line = database_problems.describe(request.app[DATABASE], exc)
    except Exception:
        log.exception("dashboard: %s %s failed", request.method, request.path)
        raise web.HTTPInternalServerError(text="500: internal error (see the log)\n") from None
    log.warning("dashboard: %s %s: %s", request.method, request.path, line)
    raise web.HTTPServiceUnavailable(text=f"503: {line}\n")
