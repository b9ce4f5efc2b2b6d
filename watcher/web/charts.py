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

    async def history_chart(request: web.Request) -> web.StreamResponse:
        return await _history_chart(request, reader)

    app.router.add_get(r"/charts/watches/{watch_id:\d+}/size.svg", size_chart)
    app.router.add_get(r"/charts/watches/{watch_id:\d+}/{show:sizes|changes}.svg", history_chart)


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


HISTORY_WIDTH, HISTORY_HEIGHT = 960, 260
_HISTORY_STYLE = Style(
    background="transparent",
    plot_background="transparent",
    colors=("#2563eb", "#157347", "#b42318"),
    font_family="system-ui, sans-serif",
    label_font_size=11,
    major_label_font_size=11,
    legend_font_size=12,
    foreground="#5f6b7a",
    foreground_strong="#1c2330",
    foreground_subtle="#e2e6ec",
)


def history_days(
    rows: Sequence[tuple[str, int | None, int, int]],
) -> list[tuple[str, int | None, int, int]]:
    """`memberships.history`'s days with each day without a complete poll carrying the size
    before it (a list keeps its size until a poll says otherwise)."""
    carried, last = [], None
    for day, size, follows, unfollows in rows:
        last = size if size is not None else last
        carried.append((day, last, follows, unfollows))
    return carried


@functools.lru_cache(maxsize=256)
def history_chart(show: str, days: tuple[tuple[str, int | None, int, int], ...]) -> bytes:
    """The list's size per day (`sizes`), or its follows and unfollows per day (`changes`)."""
    options: dict[str, Any] = {
        "style": _HISTORY_STYLE,
        "js": (),
        "width": HISTORY_WIDTH,
        "height": HISTORY_HEIGHT,
        "show_legend": show == "changes",
        "legend_at_bottom": True,
        "x_label_rotation": 0,
        "show_minor_x_labels": False,
        "x_labels_major_every": max(1, len(days) // 8),
        "truncate_label": -1,
        "margin": 8,
    }
    labels = [day[5:] for day, *_ in days]  # MM-DD
    if show == "sizes":
        chart: Any = pygal.Line(
            **options, show_dots=len(days) < 40, dots_size=2, fill=False, show_y_guides=True
        )
        chart.add("size", [size for _, size, _, _ in days])
    else:
        chart = pygal.Bar(**options)
        chart.add("follows", [follows for _, _, follows, _ in days])
        chart.add("unfollows", [unfollows for _, _, _, unfollows in days])
    chart.x_labels = labels
    chart.add_xml_filter(_without_scripts)
    svg = chart.render()
    return svg if isinstance(svg, bytes) else str(svg).encode()


async def _history_chart(request: web.Request, reader: StoreReader) -> web.StreamResponse:
    watch_id, show = int(request.match_info["watch_id"]), request.match_info["show"]
    days = await reader.read(lambda r: history_days(list(r.store.memberships.history(watch_id))))
    if not days:
        raise web.HTTPNotFound(text="no history of this watch yet\n")
    etag = '"' + hashlib.sha256(f"{show}:{days}".encode()).hexdigest()[:20] + '"'
    headers = {
        "ETag": etag,
        "Cache-Control": "private, no-cache",
        "Content-Security-Policy": CHART_POLICY,
    }
    if etag in request.headers.get("If-None-Match", ""):
        return web.Response(status=304, headers=headers)
    body = history_chart(show, tuple(days))
    return web.Response(body=body, headers={**headers, "Content-Type": SVG})
