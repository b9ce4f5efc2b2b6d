"""The JSON API for receivers: `/api/events` (the event log, page by page, as webhooks carry
it) and `/api/watches` (the watches and notifiers as `watcher status --json` shows them).

`GET /api/events?after=<event id>&limit=N` answers

    {"events": [<envelope>, ...], "next": "evt_..."}

the events after that one, oldest first (`after` absent or empty: from the first), at most
`limit` (default 100, at most 1,000). Each envelope is the stored body, byte for byte the
JSON a webhook POSTs for that event, so a receiver handles both alike. `next` is the last
event's id while more follow it (ask again with `after=` that id), and null once the page
reaches the newest event: a receiver that was down walks `next` until it is null, then keeps
the last id it handled for its next call. Pages follow the log's order (`seq`), never an
offset, so page 1,000 costs what page 1 does. An unknown `after` id or a bad `limit` is 400
with `{"error": "..."}`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from watcher.clock import iso
from watcher.daemon_lock import daemon_holds
from watcher.store import EventRow
from watcher.watch_status import notifier_rows, watch_rows
from watcher.web.reads import (
    BadParameter,
    Reading,
    RouteRead,
    StoreReader,
    limit_param,
    request_params,
)

EVENTS_LIMIT = 100
EVENTS_MAX = 1000
JSON_TYPE = "application/json"


@dataclass(frozen=True, slots=True)
class EventsPage:
    rows: list[EventRow]
    more: bool  # events follow the last row


def read_events_page(reading: Reading, params: Mapping[str, str]) -> EventsPage:
    limit = limit_param(params, EVENTS_LIMIT, EVENTS_MAX)
    after = params.get("after", "")
    seq = 0
    if after:
        found = reading.store.events.seq_of(after)
        if found is None:
            raise BadParameter(f"after: no event has the id {after!r}")
        seq = found
    rows = reading.store.events.after(seq, limit + 1)
    return EventsPage(rows[:limit], more=len(rows) > limit)


def read_watches(reading: Reading, params: Mapping[str, str]) -> dict[str, Any]:
    config, store, now = reading.config, reading.store, reading.now
    running = daemon_holds(config.database_path)
    return {
        "read_at": iso(now),
        "watches": watch_rows(config, store, now, daemon_running=running),
        "notifiers": notifier_rows(config, store, now),
    }


# What each route queries, for the bench to time alone.
ROUTE_READS: dict[str, RouteRead] = {
    "/api/events": read_events_page,
    "/api/watches": read_watches,
}


def events_body(page: EventsPage) -> bytes:
    """The page as JSON, each envelope the stored body as it is (not decoded and encoded
    again: a receiver gets the bytes a webhook carried)."""
    last = page.rows[-1].id if page.more and page.rows else None
    bodies = ",".join(row.body for row in page.rows)
    return f'{{"events":[{bodies}],"next":{json.dumps(last)}}}'.encode()


def add_routes(app: web.Application, reader: StoreReader) -> None:
    async def events(request: web.Request) -> web.Response:
        params = request_params(request)
        try:
            page = await reader.read(lambda reading: read_events_page(reading, params))
        except BadParameter as exc:
            return _json_response({"error": str(exc)}, status=400)
        return web.Response(body=events_body(page), content_type=JSON_TYPE, charset="utf-8")

    async def watches(request: web.Request) -> web.Response:
        params = request_params(request)
        return _json_response(await reader.read(lambda reading: read_watches(reading, params)))

    app.router.add_get("/api/events", events)
    app.router.add_get("/api/watches", watches)


def _json_response(value: object, status: int = 200) -> web.Response:
    body = json.dumps(value, ensure_ascii=False).encode()
    return web.Response(body=body, status=status, content_type=JSON_TYPE, charset="utf-8")
