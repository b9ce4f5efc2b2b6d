"""The templates (packaged in `watcher/web/templates/`), with autoescaping on for every one of
them, and the filters that format for people (`filters.py`).

Every page extends `base.html` (nav, the page's heading, the footer saying when its data was
read) and gets `now` (that moment) in its context: the times on a page are relative to it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime
from importlib import resources
from typing import Any

import jinja2
from aiohttp import web

from watcher import __version__
from watcher.clock import iso
from watcher.platforms import registry
from watcher.web import filters

STATIC = resources.files("watcher.web") / "static"
HTML = "text/html"

# The pages the nav links, in order: (path, label).
NAV = (
    ("/", "Overview"),
    ("/events", "Events"),
    ("/trending", "Trending"),
    ("/deliveries", "Deliveries"),
)


class Templates:
    def __init__(self, *, token_required: bool = False) -> None:
        self.env = jinja2.Environment(
            loader=jinja2.PackageLoader("watcher.web", "templates"),
            autoescape=True,  # every template, whatever its name
            undefined=jinja2.StrictUndefined,  # a misspelt name fails the test, not the page
            trim_blocks=True,
            lstrip_blocks=True,
            auto_reload=False,  # packaged templates: no file check on every render
        )
        self.env.filters.update(
            number=filters.number,
            exact=filters.exact,
            interval=filters.interval,
            profile_link=filters.profile_link,
            account_path=filters.account_path,
        )
        self.env.filters["moment"] = jinja2.pass_context(_moment)
        self.env.globals.update(
            static_url=_static_urls(),
            nav=NAV,
            version=__version__,
            token_required=token_required,
            platform_title=_platform_title,
        )

    def render(
        self,
        name: str,
        context: Mapping[str, Any],
        *,
        now: datetime,
        path: str = "/",
        status: int = 200,
    ) -> web.Response:
        page = {**context, "now": now, "read_at": iso(now), "path": path}
        html = self.env.get_template(name).render(page)
        return web.Response(text=html, content_type=HTML, status=status)


def _platform_title(name: str) -> str:
    """`SoundCloud`: a platform as people write it."""
    return registry.display_name(name)


def _moment(context: jinja2.runtime.Context, timestamp: str | None) -> Any:
    """`{{ row.at | moment }}`: relative to the page's `now`, exact in the title."""
    return filters.moment(timestamp, context["now"])


def _static_urls() -> Any:
    """`static_url('watcher.css')`: the file's URL with a hash of its content, so a browser
    may keep it for a long time and still never shows a stale one."""
    versions = {
        entry.name: hashlib.sha256(entry.read_bytes()).hexdigest()[:12]
        for entry in STATIC.iterdir()
        if entry.is_file()
    }

    def static_url(name: str) -> str:
        return f"/static/{name}?v={versions[name]}"

    return static_url
