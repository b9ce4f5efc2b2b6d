"""What `/accounts/{platform}/{id}` shows: one watched account (its profile, each watched
relation's state), one of its lists now or at a chosen moment (sorted, searched, a page at a
time), its history charts, its newest events and, when both its lists are watched, its
mutuals.

`{id}` is the account id as stored; any other form `watcher list` takes (a handle, a
profile URL, a URN) is sent to that canonical address, and an account no watch of the
platform covers is the 404 page (`AccountNotWatched`).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from watcher.account_lookup import AccountLookup, AccountNotWatched, WatchedAccount
from watcher.list_views import ListUnavailable, watched_list
from watcher.store import Store
from watcher.store.memberships import SORTS, Cursor, Member, Sort, cursor_of
from watcher.web.event_lines import EventLine, event_lines
from watcher.web.events_view import moment_param
from watcher.web.filters import account_path
from watcher.web.reads import BadParameter, Reading, Redirect, limit_param
from watcher.wording import handle_of

PAGE = 50
PAGE_MAX = 500
RECENT_EVENTS = 10
MUTUALS_SHOWN = 50
SEARCH_MAX = 100
LIST_PARAMS = ("relation", "at", "sort", "q", "limit")


@dataclass(frozen=True, slots=True)
class Relation:
    """One watched relation of the account, as the page's summary shows it."""

    watched: WatchedAccount

    @property
    def name(self) -> str:
        return self.watched.watch.relation

    @property
    def row(self) -> Any:
        return self.watched.row


@dataclass(frozen=True, slots=True)
class MemberList:
    relation: str
    watch_id: int
    members: list[Member]
    size: int | None  # the list's size then (now: the last poll's)
    next_url: str | None
    first_url: str | None  # on a page after the first


def read_account(reading: Reading, params: Mapping[str, str]) -> dict[str, Any] | Redirect:
    store = reading.store
    platform, typed = params["platform"], params["id"]
    lookup = AccountLookup(reading.config.watch, store)
    found = [w for w in lookup.watches_of(typed) if w.watch.platform == platform]
    if not found:
        raise AccountNotWatched(f"no {platform} watch covers {typed!r}")
    if len({w.identity for w in found}) > 1:
        raise AccountNotWatched(f"{typed!r} names more than one watched {platform} account")
    account_id = found[0].account_id
    if account_id is not None and typed != account_id:
        query = {k: params[k] for k in LIST_PARAMS if params.get(k)}
        return Redirect(
            account_path(platform, account_id) + (f"?{urlencode(query)}" if query else "")
        )
    profile = store.profiles.get(platform, [account_id]).get(account_id) if account_id else None
    relations: dict[str, WatchedAccount] = {w.watch.relation: w for w in found}
    named = handle_of(found[0].handle) if found[0].handle else found[0].watch.account
    context: dict[str, Any] = {
        "title": named,
        "platform": platform,
        "account_id": account_id or typed,
        "profile": profile,
        "relations": [Relation(w) for w in found],
        "events": _events(store, lookup, found),
        "events_url": "/events?" + urlencode({"account": account_id or typed}),
        "feed_url": account_path(platform, account_id or typed) + "/feed.atom",
        "csv_account": profile.handle if profile is not None else found[0].watch.account,
        "sorts": SORTS,
        "form": {k: params.get(k, "") for k in LIST_PARAMS},
    }
    try:
        relation = _relation(params, relations)
        context["form"]["relation"] = relation
        context["list"] = _member_list(store, relations[relation], params)
    except (BadParameter, ListUnavailable) as exc:
        context["problem"] = str(exc)
        if isinstance(exc, BadParameter):
            context["status"] = 400
    context["mutuals"] = _mutuals(store, relations)
    return context


def _relation(params: Mapping[str, str], relations: Mapping[str, WatchedAccount]) -> str:
    wanted = params.get("relation", "").strip()
    if not wanted:
        return "following" if "following" in relations else next(iter(relations))
    if wanted not in relations:
        watched = " and ".join(sorted(relations))
        raise BadParameter(f"relation: {wanted!r} is not watched here (watched: {watched})")
    return wanted


def _member_list(store: Store, watched: WatchedAccount, params: Mapping[str, str]) -> MemberList:
    target = watched_list(store, watched)
    sort_text = params.get("sort", "").strip() or "since"
    if sort_text not in SORTS:
        raise BadParameter(f"sort: {sort_text!r} is not one of {', '.join(SORTS)}")
    sort: Sort = (
        "followers" if sort_text == "followers" else "name" if sort_text == "name" else "since"
    )
    at = moment_param(params.get("at", ""), "at", end=True)
    if at is not None:
        target.check_moment(at, "at")
    search = params.get("q", "").strip()[:SEARCH_MAX] or None
    limit = limit_param(params, PAGE, PAGE_MAX)
    after = _cursor(params, sort)
    rows = store.memberships.page(
        target.row.id,
        target.platform,
        at=at,
        sort=sort,
        search=search,
        after=after,
        limit=limit + 1,
    )
    kept = {k: params[k] for k in LIST_PARAMS if params.get(k, "").strip()}
    kept["relation"] = watched.watch.relation
    next_url = None
    if len(rows) > limit:
        rows = rows[:limit]
        key, last_id = cursor_of(rows[-1], sort)
        next_url = "?" + urlencode(
            {**kept, "key": "" if key is None else str(key), "after": last_id}
        )
    size = target.row.size if at is None else store.memberships.size_at(target.row.id, at)
    return MemberList(
        relation=watched.watch.relation,
        watch_id=target.row.id,
        members=rows,
        size=None if search else size,
        next_url=next_url,
        first_url=("?" + urlencode(kept)) if after is not None else None,
    )


def _cursor(params: Mapping[str, str], sort: Sort) -> Cursor | None:
    """The page's start: `after` (the last member id of the page before) and `key` (its
    sort key)."""
    last_id = params.get("after", "")
    if not last_id:
        return None
    key = params.get("key", "")
    if sort == "followers":
        if key and not (key.isascii() and key.isdigit() and len(key) <= 18):
            raise BadParameter(f"key: {key[:40]!r} is not a follower count")
        return (int(key) if key else None), last_id
    return key, last_id


def _events(store: Store, lookup: AccountLookup, found: list[WatchedAccount]) -> list[EventLine]:
    return event_lines(store.events.newest(RECENT_EVENTS, watch_ids=lookup.store_ids(found)))


def _mutuals(store: Store, relations: Mapping[str, WatchedAccount]) -> list[Member] | None:
    """The first mutuals, newest first; None unless both lists are watched and read."""
    following, followers = relations.get("following"), relations.get("followers")
    if following is None or followers is None:
        return None
    if following.row is None or followers.row is None:
        return None
    if following.row.baseline_at is None or followers.row.baseline_at is None:
        return None
    rows = store.memberships.mutuals(following.row.id, followers.row.id, following.row.platform)
    return list(itertools.islice(rows, MUTUALS_SHOWN))
