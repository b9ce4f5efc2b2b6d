"""What `/events` shows: the timeline, newest first, filtered by account (any form `watcher
events --account` takes), type and date, a page at a time.

Pages are a keyset on `seq` (`before=` the oldest event shown, for the page down; `after=`
the newest, for the page up), never an offset: a log of 100,000 events pages from anywhere
at the cost of one page. A filter the page cannot use (an unwatched account, a date that is
not one) is said on the page, above no rows, with the form still holding it to correct.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from watcher import periods
from watcher.account_lookup import AccountLookup, AccountNotWatched
from watcher.config_fields import EVENT_TYPES, SIGNAL_TYPES
from watcher.store import Store
from watcher.web.event_lines import EventLine, event_lines
from watcher.web.filters import account_path
from watcher.web.reads import BadParameter, Reading, limit_param

PAGE = 50
PAGE_MAX = 500
# What the type filter offers: each family, then each exact type.
TYPES = ("following", "follower", "signal", *EVENT_TYPES, *SIGNAL_TYPES)
FILTERS = ("account", "type", "from", "to")


@dataclass(frozen=True, slots=True)
class EventsQuery:
    account: str | None
    type: str | None
    since: str | None  # timestamp >= since
    until: str | None  # timestamp < until
    before: int | None
    after: int | None
    limit: int


@dataclass(frozen=True, slots=True)
class Timeline:
    """One page of events and where the pages around it are."""

    lines: list[EventLine]
    older: str | None = None  # the next page's URL
    newer: str | None = None
    account_pages: list[tuple[str, str]] = field(default_factory=list)  # (path, label)


def parse_query(params: Mapping[str, str]) -> EventsQuery:
    """The filters and the cursor; BadParameter (one line) for a value not usable."""
    kind = params.get("type", "").strip() or None
    if kind is not None and kind not in TYPES:
        raise BadParameter(f"type: {kind!r} is not one of {', '.join(TYPES)}")
    return EventsQuery(
        account=params.get("account", "").strip() or None,
        type=kind,
        since=moment_param(params.get("from", ""), "from", end=False),
        until=moment_param(params.get("to", ""), "to", end=True),
        before=_seq(params.get("before", ""), "before"),
        after=_seq(params.get("after", ""), "after"),
        limit=limit_param(params, PAGE, PAGE_MAX),
    )


def form(params: Mapping[str, str]) -> dict[str, Any]:
    """What the form shows: the filters asked for (even a wrong one, to correct it)."""
    return {
        "values": {name: params.get(name, "") for name in FILTERS},
        "types": TYPES,
        "filtered": any(params.get(name, "").strip() for name in FILTERS),
    }


def timeline(reading: Reading, query: EventsQuery, params: Mapping[str, str]) -> Timeline:
    """The page of events `query` asks for; AccountNotWatched for an account no watch
    covers."""
    store = reading.store
    watch_ids, pages = None, []
    if query.account is not None:
        lookup = AccountLookup(reading.config.watch, store)
        found = lookup.watches_of(query.account)
        watch_ids = lookup.store_ids(found)
        pages = _account_pages(found)
    filters: dict[str, Any] = {
        "watch_ids": watch_ids,
        "type_prefix": query.type,
        "since": query.since,
        "until": query.until,
    }
    rows = store.events.page(
        query.limit + 1, before_seq=query.before, after_seq=query.after, **filters
    )
    if query.after is not None:
        more_newer, rows = len(rows) > query.limit, rows[-query.limit :]
        more_older = bool(rows) and _any(store, filters, before=rows[-1].seq)
    else:
        more_older, rows = len(rows) > query.limit, rows[: query.limit]
        more_newer = query.before is not None and _any(
            store, filters, after=rows[0].seq if rows else query.before - 1
        )
    kept = {name: params[name] for name in (*FILTERS, "limit") if params.get(name, "").strip()}
    return Timeline(
        lines=event_lines(rows),
        older=_url(kept, before=rows[-1].seq) if more_older and rows else None,
        newer=_url(kept, after=rows[0].seq if rows else 0) if more_newer else None,
        account_pages=pages,
    )


def read_events(reading: Reading, params: Mapping[str, str]) -> dict[str, Any]:
    """The page's context; a filter it cannot use is its `problem` (400 for a malformed
    value, 200 for an account no watch covers: the page says so)."""
    context: dict[str, Any] = {"title": "Events", **form(params), "any_event": True}
    try:
        query = parse_query(params)
        found = timeline(reading, query, params)
    except BadParameter as exc:
        return {**context, "problem": str(exc), "status": 400, "timeline": Timeline([])}
    except AccountNotWatched as exc:
        return {**context, "problem": str(exc), "timeline": Timeline([])}
    if not found.lines:
        context["any_event"] = reading.store.events.last_seq() > 0
    return {**context, "timeline": found}


def _any(store: Store, filters: dict[str, Any], **cursor: int) -> bool:
    before, after = cursor.get("before"), cursor.get("after")
    return bool(store.events.page(1, before_seq=before, after_seq=after, **filters))


def _account_pages(found: list[Any]) -> list[tuple[str, str]]:
    """The dashboard pages of the accounts the filter names (each once)."""
    pages: dict[str, str] = {}
    for w in found:
        if w.account_id:
            pages.setdefault(account_path(w.watch.platform, w.account_id), w.shown)
    return list(pages.items())


def _url(kept: Mapping[str, str], **cursor: int) -> str:
    return "/events?" + urlencode({**kept, **{k: str(v) for k, v in cursor.items()}})


def _seq(text: str, name: str) -> int | None:
    text = text.strip()
    if not text:
        return None
    if not (text.isascii() and text.isdigit() and len(text) <= 18):
        raise BadParameter(f"{name}: {text!r} is not an event position")
    return int(text)


def moment_param(text: str, name: str, *, end: bool) -> str | None:
    """A date (`2026-11-01`: the whole day, so `to` includes it) or an ISO time, as the
    timestamp bound it means."""
    text = text.strip()
    if not text:
        return None
    try:
        return periods.moment(text, end_of_day=end)
    except ValueError:
        raise BadParameter(
            f"{name}: {text[:40]!r} is not a date (2026-11-01) or a time (2026-11-01T12:00:00Z)"
        ) from None
