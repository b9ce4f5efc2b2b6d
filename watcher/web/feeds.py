"""Atom feeds of the event log: `/feed.atom` (every event) and
`/accounts/{platform}/{id}/feed.atom` (one watched account's), newest first.

One entry per event: its id a URI of the event id (`urn:watcher:event:evt_...`, the same at
every request), its title the event's one sentence (as `watcher once` and `watcher events`
word it, signals included), its time the event's, its link the target's profile when that
is an http(s) address on the platform's own host (else none: a `javascript:` URL from a
platform never becomes a link), its category the event type. `?limit=N` picks how many
(default 100, at most 1,000).

`{id}` is the account id as stored, or the account in any form `watcher events --account`
takes (a handle, `@handle`, a profile URL percent-encoded, a SoundCloud URN); an account no
watch of that platform covers is 404. An account's feed holds what `watcher events
--account` lists: the events of every watch of the account (every relation, earlier watches
of it too), and the signals their polls fired.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote

from aiohttp import web
from yarl import URL

from watcher.account_lookup import AccountLookup, AccountNotWatched
from watcher.clock import iso
from watcher.platforms.base import Profile
from watcher.sinks.message import profile_url
from watcher.store import EventRow
from watcher.web import atom
from watcher.web.reads import (
    BadParameter,
    Reading,
    RouteRead,
    StoreReader,
    limit_param,
    request_params,
)
from watcher.wording import describe_envelope, handle_of

FEED_LIMIT = 100
FEED_MAX = 1000


@dataclass(frozen=True, slots=True)
class FeedRead:
    """What a feed's request read: which feed, and its newest events, newest first."""

    id: str
    title: str
    alternate_path: str  # the dashboard's page of the same events
    rows: list[EventRow]
    read_at: datetime


def read_events_feed(reading: Reading, params: Mapping[str, str]) -> FeedRead:
    limit = limit_param(params, FEED_LIMIT, FEED_MAX)
    rows = reading.store.events.newest(limit)
    return FeedRead("urn:watcher:feed:events", "watcher: every event", "/events", rows, reading.now)


def read_account_feed(reading: Reading, params: Mapping[str, str]) -> FeedRead:
    limit = limit_param(params, FEED_LIMIT, FEED_MAX)
    platform, typed = params["platform"], params["id"]
    lookup = AccountLookup(reading.config.watch, reading.store)
    found = [w for w in lookup.watches_of(typed) if w.watch.platform == platform]
    if not found:
        raise AccountNotWatched(f"no {platform} watch covers {typed!r}")
    if len({w.identity for w in found}) > 1:
        raise AccountNotWatched(f"{typed!r} names more than one watched {platform} account")
    account = found[0]
    named = handle_of(account.handle) if account.handle else account.watch.account
    key = account.account_id or account.watch.account
    rows = reading.store.events.newest(limit, watch_ids=lookup.store_ids(found))
    return FeedRead(
        f"urn:watcher:feed:{platform}:{quote(key, safe='')}",
        f"watcher: {named} on {platform}",
        f"/accounts/{platform}/{quote(key, safe='')}",
        rows,
        reading.now,
    )


FeedReader = Callable[[Reading, Mapping[str, str]], FeedRead]
_FEEDS: dict[str, FeedReader] = {
    "/feed.atom": read_events_feed,
    "/accounts/{platform}/{id}/feed.atom": read_account_feed,
}
# What each route queries, for the bench to time alone.
ROUTE_READS: dict[str, RouteRead] = dict(_FEEDS)


def add_routes(app: web.Application, reader: StoreReader) -> None:
    for path, read in _FEEDS.items():
        app.router.add_get(path, _feed_handler(reader, read))


def _feed_handler(
    reader: StoreReader, read: FeedReader
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handle(request: web.Request) -> web.Response:
        params = request_params(request)
        try:
            found = await reader.read(lambda reading: read(reading, params))
        except BadParameter as exc:
            raise web.HTTPBadRequest(text=f"{exc}\n") from None
        except AccountNotWatched as exc:
            raise web.HTTPNotFound(text=f"{exc}\n") from None
        body = atom.document(feed_of(found, _url_of(request)))
        return web.Response(body=body, content_type=atom.CONTENT_TYPE, charset="utf-8")

    return handle


def feed_of(read: FeedRead, url: URL) -> atom.Feed:
    """The Atom feed of what was read, fetched at `url`."""
    return atom.Feed(
        id=read.id,
        title=read.title,
        updated=read.rows[0].timestamp if read.rows else iso(read.read_at),
        self_url=str(url),
        alternate_url=str(url.join(URL(read.alternate_path, encoded=True))),
        entries=[entry_of(row) for row in read.rows],
    )


def entry_of(row: EventRow) -> atom.Entry:
    """An event as a feed entry: its sentence, the target's follower count and profile."""
    try:
        envelope = row.envelope()
        sentence = describe_envelope(envelope)
        data = envelope["data"]
        target = data["target"]
        profile = Profile(
            str(target["id"]),
            str(target["handle"]),
            str(target.get("name") or ""),
            str(target.get("url") or ""),
        )
        link = profile_url(str(data["platform"]), profile)
        count = target.get("follower_count")
    except (KeyError, TypeError, ValueError):  # not an event envelope: say what it is
        sentence, link, count = row.type, None, None
    lines = [sentence]
    if isinstance(count, int) and not isinstance(count, bool):
        lines.append(f"{count:,} follower{'' if count == 1 else 's'}")
    if link is not None:
        lines.append(link)
    return atom.Entry(
        id=f"urn:watcher:event:{row.id}",
        title=sentence,
        updated=row.timestamp,
        category=row.type,
        content=lines,
        link=link,
    )


def _url_of(request: web.Request) -> URL:
    """The address the request was made at; only its path and query when its Host header
    makes no URL (a relative link is still a link)."""
    try:
        return request.url
    except ValueError:
        return request.rel_url
