"""The pages: `/` (the overview), `/trending` and `/deliveries`. Each handler reads through the
store reader (in a worker thread, one snapshot, never a write) and renders its template."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from watcher.web import outbox_view, overview, trending_view
from watcher.web.app_keys import CLOCK, CONFIG, READER, TEMPLATES
from watcher.web.trending_cache import TrendingCache

TRENDING = web.AppKey("overview_trending", TrendingCache)


def add_routes(app: web.Application) -> None:
    app[TRENDING] = TrendingCache()
    app.router.add_get("/", _overview)
    app.router.add_get("/trending", _trending)
    app.router.add_get("/deliveries", _deliveries)


async def _overview(request: web.Request) -> web.Response:
    app, now = request.app, request.app[CLOCK].now()
    config, path, counted = app[CONFIG](), app[READER].path, app[TRENDING]
    page = await app[READER].read(
        lambda store: overview.overview(config, store, now, path, counted)
    )
    context = {"title": "Overview", **page.context()}
    return app[TEMPLATES].render("overview.html", context, now=now, path=request.path)


async def _trending(request: web.Request) -> web.Response:
    app, now = request.app, request.app[CLOCK].now()
    config = app[CONFIG]()
    context: dict[str, Any] = {
        "title": "Trending",
        "controls": trending_view.controls(request.query),
    }
    try:
        query = trending_view.parse_query(request.query)
    except trending_view.BadQuery as exc:
        context["problem"] = str(exc)
        return app[TEMPLATES].render(
            "trending.html", context, now=now, path=request.path, status=400
        )
    found = await app[READER].read(lambda store: trending_view.trending(config, store, now, query))
    context.update(found, query=query)
    return app[TEMPLATES].render("trending.html", context, now=now, path=request.path)


async def _deliveries(request: web.Request) -> web.Response:
    app, now = request.app, request.app[CLOCK].now()
    config = app[CONFIG]()
    show = request.query.get("show", "undelivered")
    if show not in outbox_view.SHOWS:
        show = "undelivered"
    found = await app[READER].read(lambda store: outbox_view.outbox(config, store, now, show))
    context = {"title": "Deliveries", **found}
    return app[TEMPLATES].render("deliveries.html", context, now=now, path=request.path)
