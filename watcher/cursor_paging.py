"""Follow a cursor-paged list (`next_href`) to its end, refusing every way it can go wrong.

SoundCloud pages lists with `linked_partitioning=true`: each page carries the absolute URL of
the next one (`next_href`) until it is absent or null. Nothing obliges a server to get that
right, so the chain is checked as it is followed: a `next_href` on another host is never
fetched (it would carry our token there), one that repeats an earlier page is a loop, and so
is a page that shows only entries already listed. Each of those fails the poll clearly rather
than spinning or trusting a list that went round in circles.

A cursor keyed on the list itself does not skip when the list changes mid-read, but nothing
promises that the server's cursor is not an offset in disguise, so an absence from one
cursor pass is never believed on its own either (see snapshot.py).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from watcher import progress
from watcher.errors import PlatformError
from watcher.platforms.base import Listing, Members, Profile

# A list longer than this is a runaway server, not a real account.
MAX_POSITIONS = 20_000_000
# Empty pages that still point further: a few happen, an endless run of them is a loop.
MAX_EMPTY_PAGES = 20


@dataclass(frozen=True, slots=True)
class CursorPage:
    entries: list[Profile]
    next_href: str | None


# Fetch one page: the URL, plus the query parameters of the first request (None afterwards:
# a next_href carries its own).
FetchCursorPage = Callable[[str, Mapping[str, str | int] | None], Awaitable[CursorPage]]


async def collect_by_cursor(
    fetch: FetchCursorPage,
    first_url: str,
    first_params: Mapping[str, str | int],
    page_size: int,
    members: Members | None = None,
) -> Listing:
    """Fetch a whole cursor-paged list; raises PlatformError if the chain misbehaves."""
    listing = Listing(passes=1) if members is None else Listing(members=members, passes=1)
    listing.members.begin_round()
    origin = _origin(first_url)
    followed: set[str] = set()
    url: str = first_url
    params: Mapping[str, str | int] | None = first_params
    empty_run = 0
    while True:
        page = await fetch(url, params)
        listing.pages += 1
        listing.requests += 1
        _take(page, page_size, listing)
        progress.page_fetched(len(page.entries))
        empty_run = empty_run + 1 if not page.entries else 0
        if not page.next_href:
            return listing
        next_url = urljoin(url, page.next_href)
        if _origin(next_url) != origin:
            host = urlsplit(next_url).hostname or "?"
            raise PlatformError(
                f"page {listing.pages}'s next_href points at another host ({host}); not followed"
            )
        key = _normalised(next_url)
        if key in followed or _normalised(url) == key:
            raise PlatformError(f"page {listing.pages}'s next_href repeats an earlier page: a loop")
        if empty_run > MAX_EMPTY_PAGES:
            raise PlatformError(f"{empty_run} empty pages in a row that still point further")
        if listing.positions > MAX_POSITIONS:
            raise PlatformError(f"list does not end after {MAX_POSITIONS} entries")
        followed.add(key)
        url, params = next_url, None


def _take(page: CursorPage, page_size: int, listing: Listing) -> None:
    """Add a page's entries; a page of nothing but entries already listed is a loop."""
    if len(page.entries) > page_size:
        raise PlatformError(
            f"a page returned {len(page.entries)} entries where {page_size} were asked"
        )
    repeats = listing.members.add_page(page.entries, 1)
    listing.positions += len(page.entries)
    if page.entries and len(repeats) == len(page.entries):
        raise PlatformError(
            f"page {listing.pages} repeats only entries already listed: the paging loops"
        )


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme.lower(), (parts.hostname or "").lower(), port


def _normalised(url: str) -> str:
    """Same page, same key: fragment dropped, query kept (the cursor lives there)."""
    parts = urlsplit(url)
    return parts._replace(fragment="").geturl()
