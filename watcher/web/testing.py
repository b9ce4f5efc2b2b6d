"""An application serving this package's feeds and JSON API over a config's database, with
nothing around them: what the tests and the bench serve over loopback.

The dashboard's own application (its pages, authentication and security headers) adds the
same routes with `feeds.add_routes` and `api.add_routes`; this one stands in for it wherever
only those routes are needed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from watcher.web import api, feeds
from watcher.web.reads import StoreReader, install

if TYPE_CHECKING:
    from watcher.clock import Clock
    from watcher.config import Config


def feeds_app(config: Config, clock: Clock | None = None) -> web.Application:
    """The feeds and the JSON API of `config`'s database (read-only), timed by `clock`."""
    app = web.Application()
    reader = install(app, StoreReader(config.database_path, lambda: config, clock))
    feeds.add_routes(app, reader)
    api.add_routes(app, reader)
    return app
