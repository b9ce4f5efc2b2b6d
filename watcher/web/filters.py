"""Numbers, times and links as a person reads them, for the templates (as Jinja filters).

Every value from a platform (names, handles, URLs) is somebody else's text: these helpers
put it into markup only through `escape` (quotes included, so it cannot leave an attribute),
and make a link only of an `http`/`https` URL. (`escape` and an f-string, not `Markup.format`:
a page of 200 watches calls them hundreds of times, and `format` costs ten times as much.)
"""

from __future__ import annotations

import re
from datetime import datetime
from urllib.parse import quote, urlsplit

from markupsafe import Markup, escape

from watcher.clock import parse_iso
from watcher.fleet_plan import format_interval

NOTHING = "\N{EM DASH}"
# Past this, a relative time reads worse than the date itself.
_RELATIVE_DAYS = 45
_UNITS = ((86_400, "day", "days"), (3_600, "h", "h"), (60, "min", "min"), (1, "s", "s"))


def number(value: int | float | None) -> str:
    """`12,408`; a dash for nothing known."""
    if value is None:
        return NOTHING
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.1f}"
    return f"{int(value):,}"


def exact(timestamp: str | None) -> str:
    """`2026-12-06 23:35:08 UTC`: the exact time, for a `title` or a table of times."""
    if not timestamp:
        return NOTHING
    if _CANONICAL.fullmatch(timestamp):  # as watcher writes them: no parsing needed
        return f"{timestamp[:10]} {timestamp[11:19]} UTC"
    return parse_iso(timestamp).strftime("%Y-%m-%d %H:%M:%S UTC")


# A timestamp as `clock.iso` writes every one watcher stores.
_CANONICAL = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


def relative(timestamp: str, now: datetime) -> str:
    """`3 h ago`, `in 5 min`, `just now`; the date past a month and a half."""
    moment = parse_iso(timestamp)
    seconds = (now - moment).total_seconds()
    ahead = seconds < 0
    gap = abs(seconds)
    if gap < 5:
        return "just now"
    if gap >= _RELATIVE_DAYS * 86_400:
        return moment.strftime("%Y-%m-%d")
    for size, one, many in _UNITS:
        if gap >= size:
            count = int(gap // size)
            text = f"{count} {one if count == 1 else many}"
            return f"in {text}" if ahead else f"{text} ago"
    return "just now"  # unreachable: gap >= 5 s


def moment(timestamp: str | None, now: datetime) -> Markup:
    """`<time datetime=... title="exact UTC">3 h ago</time>`; a dash for no time."""
    if not timestamp:
        return Markup(NOTHING)
    try:
        shown = relative(timestamp, now)
    except ValueError:  # not a time: shown as it is (escaped)
        return escape(timestamp)
    if _CANONICAL.fullmatch(timestamp):  # digits and punctuation only: nothing to escape
        return Markup(f'<time datetime="{timestamp}" title="{exact(timestamp)}">{shown}</time>')
    when, title = escape(timestamp), escape(exact(timestamp))
    return Markup(f'<time datetime="{when}" title="{title}">{escape(shown)}</time>')


def interval(seconds: float | None) -> str:
    """`15m`, `2h 5m`: an interval in its two largest units."""
    return NOTHING if seconds is None else format_interval(seconds)


def web_url(url: str | None) -> str | None:
    """`url` when it is an absolute http(s) URL fit for an `href`, else None: a profile URL
    comes from the platform, and `javascript:` or `data:` must never become a link."""
    if not url or any(ord(c) < 0x21 or ord(c) == 0x7F for c in url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return url


def profile_link(url: str | None, text: str) -> Markup:
    """`text` as a link to `url` when it is an http(s) URL, else the text alone (escaped);
    isolated from the text around it (`<bdi>`), whatever direction it writes in."""
    href = web_url(url)
    if href is None:
        return Markup(f"<bdi>{escape(text)}</bdi>")
    return Markup(
        f'<a class="out" href="{escape(href)}" rel="noopener noreferrer nofollow">'
        f"<bdi>{escape(text)}</bdi></a>"
    )


def account_path(platform: str, account_id: str) -> str:
    """`/accounts/audius/gdWmS`: the dashboard's page of a watched account."""
    return f"/accounts/{quote(platform, safe='')}/{quote(account_id, safe='')}"
