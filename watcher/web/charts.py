"""Charts drawn on the server by pygal, as SVG images: no script in the page, nothing fetched
from another host, and a page of 200 watches costs no chart work at all (each chart is an
`<img>` the browser fetches, lazily, as it scrolls into view).

A chart is drawn again only when its data changed: drawings are kept by their data, and the
browser revalidates with the ETag (the data's hash) and gets a `304` while nothing moved.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

import pygal
from aiohttp import web
from pygal.style import Style

from watcher.store import Store
from watcher.web.reads import StoreReader
from watcher.web.security import CHART_POLICY

SVG = "image/svg+xml"
SIZE_DAYS = 30
SPARK_WIDTH, SPARK_HEIGHT = 132, 30
# Drawings kept: a fleet's charts several times over.
KEPT = 2048

_SPARK_STYLE = Style(
    background="transparent",
    plot_background="transparent",
    colors=("#2563eb",),
    stroke_width=1.6,
)


def add_routes(app: web.Application, reader: StoreReader) -> None:
    async def size_chart(request: web.Request) -> web.StreamResponse:
        return await _size_chart(request, reader)

    app.router.add_get(r"/charts/watches/{watch_id:\d+}/size.svg", size_chart)


def days_of(sizes: Sequence[tuple[str, int]], last_day: date) -> list[int]:
    """One size per day from the first day in `sizes` to `last_day`, each day without a
    complete poll carrying the size before it."""
    if not sizes:
        return []
    known = dict(sizes)
    day, values, current = date.fromisoformat(sizes[0][0]), [], sizes[0][1]
    while day <= last_day:
        current = known.get(day.isoformat(), current)
        values.append(current)
        day += timedelta(days=1)
    return values


def size_series(store: Store, watch_id: int, now: datetime, days: int = SIZE_DAYS) -> list[int]:
    """The list's size per day over the last `days` days (today included), from the first day
    a complete poll read it."""
    first = (now - timedelta(days=days - 1)).date()
    sizes = store.memberships.daily_sizes(watch_id, f"{first.isoformat()}T00:00:00Z")
    return days_of(sizes, now.date())


@functools.lru_cache(maxsize=KEPT)
def sparkline(
    values: tuple[int, ...], width: int = SPARK_WIDTH, height: int = SPARK_HEIGHT
) -> bytes:
    """A small line of `values`, without axes or labels (one value: a dot)."""
    chart = pygal.Line(
        style=_SPARK_STYLE,
        fill=False,
        js=(),  # no script: the chart is an image
        disable_xml_declaration=False,
        show_dots=len(values) == 1,
        dots_size=2,
        interpolate=None,
        include_x_axis=False,
    )
    chart.add("size", list(values))
    chart.add_xml_filter(_without_scripts)
    svg = chart.render_sparkline(width=width, height=height, show_dots=len(values) == 1)
    return svg if isinstance(svg, bytes) else str(svg).encode()


def _without_scripts(root: Any) -> Any:
    """pygal writes its config into a `<script>` for its optional tooltips (which need a
    script from its site): an image runs none, and ours carries none at all."""
    for parent in list(root.iter()):
        for child in list(parent):
            if isinstance(child.tag, str) and child.tag.rsplit("}", 1)[-1] == "script":
                parent.remove(child)
    return root


def etag_of(values: Sequence[int], width: int, height: int) -> str:
    text = f"{width}x{height}:" + ",".join(map(str, values))
    return '"' + hashlib.sha256(text.encode()).hexdigest()[:20] + '"'


async def _size_chart(request: web.Request, reader: StoreReader) -> web.StreamResponse:
    watch_id = int(request.match_info["watch_id"])
    values = await reader.read(lambda r: size_series(r.store, watch_id, r.now))
    if not values:
        raise web.HTTPNotFound(text="no size known for this watch yet\n")
    etag = etag_of(values, SPARK_WIDTH, SPARK_HEIGHT)
    headers = {
        "ETag": etag,
        "Cache-Control": "private, no-cache",  # kept, but asked about each time: a poll moves it
        "Content-Security-Policy": CHART_POLICY,
    }
    if etag in request.headers.get("If-None-Match", ""):
        return web.Response(status=304, headers=headers)
    body = sparkline(tuple(values))
    return web.Response(body=body, headers={**headers, "Content-Type": SVG})
