"""The pages: `/` (the overview), `/events`, `/accounts/{platform}/{id}`, `/trending` and
`/deliveries`. Each handler reads through the store reader (in its worker thread, one
snapshot, never a write) and renders its template.

A read returns the template's context; a `status` in it is the response's (a filter the page
cannot use), a `Redirect` sends the browser to the page's canonical address, and
`AccountNotWatched` is the 404 page.

Each page's reads are a `RouteRead` of `ROUTE_READS` (see `reads.py`): from the request's
parameters to what its template shows, so the bench can time a page's reads alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiohttp import web

from watcher.account_lookup import AccountNotWatched
from watcher.web import account_view, events_view, outbox_view, overview, trending_view
from watcher.web.app_keys import CLOCK, TEMPLATES
from watcher.web.reads import Reading, Redirect, RouteRead, StoreReader, request_params


def read_overview(reading: Reading, params: Mapping[str, str]) -> dict[str, Any]:
    page = overview.overview(reading.config, reading.store, reading.now)
    return {"title": "Overview", **page.context()}


def read_trending(reading: Reading, params: Mapping[str, str]) -> dict[str, Any]:
    """The trending page's rows for its controls (`trending_view.BadQuery` when one is not
    usable)."""
    query = trending_view.parse_query(params)
    found = trending_view.trending(reading.config, reading.store, reading.now, query)
    return {"title": "Trending", "controls": trending_view.controls(params), **found}


def read_deliveries(reading: Reading, params: Mapping[str, str]) -> dict[str, Any]:
    show = params.get("show", "undelivered")
    if show not in outbox_view.SHOWS:
        show = "undelivered"
    found = outbox_view.outbox(reading.config, reading.store, reading.now, show)
    return {"title": "Deliveries", **found}


ROUTE_READS: dict[str, RouteRead] = {
    "/": read_overview,
    "/events": events_view.read_events,
    "/accounts/{platform}/{id}": account_view.read_account,
    "/trending": read_trending,
    "/deliveries": read_deliveries,
}
TEMPLATE_OF = {
    "/": "overview.html",
    "/events": "events.html",
    "/accounts/{platform}/{id}": "account.html",
    "/trending": "trending.html",
    "/deliveries": "deliveries.html",
}


def add_routes(app: web.Application, reader: StoreReader) -> None:
    for path, read in ROUTE_READS.items():
        app.router.add_get(path, _page(reader, read, TEMPLATE_OF[path]))


def _page(reader: StoreReader, read: RouteRead, template: str) -> Any:
    async def handler(request: web.Request) -> web.Response:
        params = request_params(request)
        templates = request.app[TEMPLATES]
        try:
            context, now = await reader.read(lambda r: (read(r, params), r.now))
        except trending_view.BadQuery as exc:
            problem = {"title": "Trending", "controls": trending_view.controls(params)}
            now = request.app[CLOCK].now()
            return templates.render(
                template, {**problem, "problem": str(exc)}, now=now, path=request.path, status=400
            )
        except AccountNotWatched as exc:
            now = request.app[CLOCK].now()
            missing = {"title": "Not watched", "problem": str(exc)}
            return templates.render(
                "not_found.html", missing, now=now, path=request.path, status=404
            )
        if isinstance(context, Redirect):
            raise web.HTTPFound(context.location)
        assert isinstance(context, dict)
        status = int(context.pop("status", 200))
        return templates.render(template, context, now=now, path=request.path, status=status)

    return handler
