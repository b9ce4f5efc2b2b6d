"""A simulated SoundCloud API, faithful to the behaviour in API-NOTES that clients must survive.

Served over real HTTP by `watcher.sim.http.SimServer`, token endpoint included (`/oauth/token`
on the same server: point `token_url` at `{base_url}/oauth/token`). Reproduced on purpose:

* every API request needs `Authorization: OAuth <token>` (or `Bearer`) with a live token,
  else 401 in SoundCloud's error shape; tokens expire, can be expired or revoked on demand,
  and every token request is counted (`tokens.requests`, `tokens.grants`);
* lists are cursor-paged: `linked_partitioning=true`, `limit` 1..200 (default 50), each page
  `{"collection": [...], "next_href": "..."}` until `next_href` is null (or, with
  `end_style = "absent"`, missing); newest follow first;
* an unknown or deleted account lists as an empty 200 while `GET /users/{id}` answers 404;
* ids are URNs (`soundcloud:users:N`); the plain number N reaches the same account;
* `/resolve?url=https://soundcloud.com/<permalink>` answers 302 to `/users/<N>` (the body
  carries the location too); so does a share link made by `share_link(permalink)`
  (`https://on.soundcloud.com/<code>`), and any other share link is a 404;
* `counts_broken = True` makes every `followers_count` / `followings_count` 0, as seen live;
* traps for the paging guards (`paging_trap`): a `next_href` that repeats ("loop"), points at
  another host ("foreign"), or goes back to the start under a new URL ("cycle"); and
  `cursor_style = "offset"`, a cursor that is an offset in disguise (skips when the list
  changes under it);
* 429s in the observed shapes (`rate_limit(...)`), besides the generic faults of the base.

Of `Adversity` (`watcher.sim.adversity`), SoundCloud takes what has a meaning for it: `counts`
(what `followers_count` / `followings_count` show; "zero" is what `counts_broken` does) and
`mid_read` (the list changes between two cursor pages). Ties, replicas and hydration are
Audius matters. Ground truth: `history()`, `state_at()` and `visible_at()` as on `AudiusSim`,
ids as URNs, times from `clock` (default: the `monotonic` the tokens use).
"""

from __future__ import annotations

import random
import re
import threading
import time
from bisect import bisect_right
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import urlencode, urlsplit

from watcher.sim.adversity import HONEST, Adversity
from watcher.sim.graph import DELETED, Graph, Relation
from watcher.sim.history import Change, History
from watcher.sim.http import (
    Fault,
    Router,
    SimRequest,
    SimResponse,
    SimServer,
    json_response,
    redirect_response,
)
from watcher.sim.soundcloud_auth import Monotonic, TokenIssuer
from watcher.sim.truth import GroundTruth

__all__ = ["Adversity", "Change", "SoundCloudSim", "SoundCloudUser"]

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
URN_PREFIX = "soundcloud:users:"
_ID_OFFSET = 100_000_007  # numeric ids look like real ones and are not small integers
_ID_STRIDE = 7_919
_PERMALINK = re.compile(r"[a-z0-9_-]{1,100}")
_PROFILE_HOSTS = frozenset({"soundcloud.com", "www.soundcloud.com", "m.soundcloud.com"})
SHARE_HOST = "on.soundcloud.com"
_SHARE_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
_LIST_PATHS: dict[str, Relation] = {"followings": "following", "followers": "followers"}
FOREIGN_HOST = "api.soundcloud.invalid"

PagingTrap = Literal["loop", "foreign", "cycle"]
RateLimitShape = Literal["code", "error", "text", "documented"]
# The 429 body SoundCloud documents, with its `reset_time` (see `rate_limit`).
_DOCUMENTED_RATE_LIMIT = (
    '{{"errors":[{{"meta":{{"rate_limit":{{"group":"plays","max_nr_of_requests":15000,'
    '"time_window":"PT24H"}},"remaining_requests":0,"reset_time":"{reset}"}}}}]}}'
)
DOCUMENTED_RESET = datetime(2015, 6, 1, 9, 49, 40, tzinfo=UTC)
_RATE_LIMIT_BODIES: dict[RateLimitShape, str] = {
    "documented": _DOCUMENTED_RATE_LIMIT.format(reset="2015/06/01 09:49:40 +0000"),
    "code": '{"code":429,"message":"Too Many Requests","link":"","status":"429 - Too Many'
    ' Requests","errors":[{"error_message":"rate limit exceeded"}],"error":null}',
    "error": '{"error":"Rate Limit Exceeded"}',
    "text": "Too Many Requests",
}


@dataclass(frozen=True, slots=True)
class SoundCloudUser:
    """A snapshot of one simulated account (change it through the `SoundCloudSim` methods)."""

    urn: str
    id: int
    permalink: str
    username: str
    deleted: bool
    followers_count: int  # the true counts, whatever `counts_broken` makes the API show
    followings_count: int


class _Orders:
    """Each list's members by follow sequence (newest last), with a sorted view per list."""

    def __init__(self) -> None:
        self._seq = 0
        self._lists: dict[tuple[int, Relation], dict[int, int]] = {}
        self._views: dict[tuple[int, Relation], tuple[list[int], list[int]]] = {}

    def add(self, owner: int, relation: Relation, member: int) -> None:
        self._seq += 1
        self._lists.setdefault((owner, relation), {})[member] = self._seq
        self._views.pop((owner, relation), None)

    def remove(self, owner: int, relation: Relation, member: int) -> None:
        members = self._lists.get((owner, relation))
        if members is not None and members.pop(member, None) is not None:
            self._views.pop((owner, relation), None)

    def newest_first(self, owner: int, relation: Relation) -> tuple[list[int], list[int]]:
        """(negated sequences ascending, members) in newest-first order: bisectable."""
        key = (owner, relation)
        view = self._views.get(key)
        if view is None:
            items = sorted(self._lists.get(key, {}).items(), key=lambda item: -item[1])
            view = self._views[key] = ([-seq for _, seq in items], [m for m, _ in items])
        return view


class SoundCloudSim(GroundTruth, SimServer):
    """Simulated SoundCloud: accounts and follows you change from Python, served at `base_url`.

    Deterministic for a given `seed` (tokens, traps). `client_id` / `client_secret` are the one
    app the token endpoint knows.
    """

    base_path = ""

    def __init__(
        self,
        seed: int = 0,
        *,
        client_id: str = "sim-client-id",
        client_secret: str = "sim-client-secret",
        token_lifetime: float = 3600.0,
        monotonic: Monotonic = time.monotonic,
        log_limit: int | None = 100_000,
        adversity: Adversity = HONEST,
        clock: Callable[[], float] | None = None,
    ) -> None:
        super().__init__(log_limit=log_limit)
        self.tokens = TokenIssuer(
            client_id, client_secret, lifetime=token_lifetime, seed=seed, monotonic=monotonic
        )
        self.counts_broken = False
        self.cursor_style: Literal["keyed", "offset"] = "keyed"
        self.end_style: Literal["null", "absent"] = "null"
        self.paging_trap: PagingTrap | None = None
        self.paging_trap_after = 1  # pages served normally in each listing before the trap
        self._lock = threading.RLock()
        self._graph = Graph()
        self._orders = _Orders()
        self._rng = random.Random(f"{seed}:soundcloud")
        self.adversity = adversity
        self._adverse_rng = random.Random(f"{seed}:adversity")
        self._history = History(clock or monotonic)
        self._suffixes: dict[str, int] = {}
        self._share_codes: dict[str, int] = {}  # on.soundcloud.com code -> account
        self._profile_urls: dict[int, str] = {}  # permalink_url set by set_permalink_url
        self._share_rng = random.Random(f"{seed}:share")
        self._graph.append(None, None, 0, 0)  # integer 0 is no one
        self._router = self._make_router()

    @property
    def token_url(self) -> str:
        return f"{self.base_url}/oauth/token"

    # -- building the world --------------------------------------------------------------

    def add_user(self, permalink: str, username: str | None = None, base_followers: int = 0) -> str:
        """Create an account; returns its URN. `username` defaults to the permalink."""
        if not _PERMALINK.fullmatch(permalink):
            raise ValueError(f"not a usable permalink: {permalink!r}")
        with self._lock:
            if self._graph.handle_taken(permalink):
                raise ValueError(f"permalink already taken: {permalink!r}")
            number = self._graph.append(permalink, username or permalink, max(base_followers, 0), 0)
            return _urn(number)

    def add_users(self, n: int, prefix: str = "user", base_followers: int = 0) -> list[str]:
        """Create `n` accounts `{prefix}-{k}`; returns their URNs in creation order."""
        with self._lock:
            urns: list[str] = []
            k = self._suffixes.get(prefix, 0)
            while len(urns) < n:
                permalink, name = f"{prefix}-{k}", f"{prefix.title()} {k}"
                k += 1
                if not self._graph.handle_taken(permalink):
                    urns.append(self.add_user(permalink, name, base_followers))
            self._suffixes[prefix] = k
            return urns

    def follow(self, follower: str, followee: str) -> None:
        """`follower` follows `followee` (no-op if it already does): the newest follow."""
        with self._lock:
            a, b = self._number(follower), self._number(followee)
            self._follow(a, b)

    def unfollow(self, follower: str, followee: str) -> None:
        with self._lock:
            self._unfollow(self._number(follower), self._number(followee))

    def follow_many(self, follower: str, followees: Iterable[str]) -> None:
        for followee in followees:
            self.follow(follower, followee)

    def add_followers(self, followee: str, followers: Iterable[str]) -> None:
        for follower in followers:
            self.follow(follower, followee)

    def set_permalink_url(self, user: str, url: str) -> None:
        """Make the account's `permalink_url` exactly `url`: the API passes on whatever string
        an account's record holds, so a test can serve a broken or hostile profile link."""
        with self._lock:
            self._profile_urls[self._number(user)] = url

    def delete(self, user: str) -> None:
        """The account is gone: its profile 404s, its lists are empty, no list shows it."""
        self._set_deleted(user, True)

    def restore(self, user: str) -> None:
        self._set_deleted(user, False)

    # -- tokens ----------------------------------------------------------------------------

    def expire_tokens(self) -> None:
        self.tokens.expire_all()

    def revoke_tokens(self) -> None:
        self.tokens.revoke_all()

    @property
    def token_requests(self) -> int:
        return self.tokens.requests

    # -- faults ------------------------------------------------------------------------------

    def rate_limit(
        self,
        path_contains: str = "",
        *,
        shape: RateLimitShape = "code",
        times: int | None = 1,
        after: int = 0,
        headers: dict[str, str] | None = None,
        reset_time: datetime | None = None,
    ) -> Fault:
        """Answer 429 in one of the shapes seen live (headers may be nonsense, as seen live),
        or in the documented one, whose `reset_time` says when the window resets (by default
        the documentation's own example)."""
        body = _RATE_LIMIT_BODIES[shape]
        if shape == "documented" and reset_time is not None:
            reset = reset_time.astimezone(UTC).strftime("%Y/%m/%d %H:%M:%S +0000")
            body = _DOCUMENTED_RATE_LIMIT.format(reset=reset)
        return self.faults.add(
            path_contains,
            kind="status",
            status=429,
            times=times,
            after=after,
            body=body,
            headers=headers,
        )

    # -- ground truth --------------------------------------------------------------------

    def user(self, user: str) -> SoundCloudUser:
        with self._lock:
            u = self._number(user)
            graph = self._graph
            return SoundCloudUser(
                urn=_urn(u),
                id=_numeric(u),
                permalink=graph.handles[u],
                username=graph.names[u] or graph.handles[u],
                deleted=graph.has_flag(u, DELETED),
                followers_count=graph.shown[u],
                followings_count=graph.following.count(u),
            )

    def urn_of(self, permalink: str) -> str:
        with self._lock:
            number = self._graph.find_handle(permalink)
            if number is None:
                raise KeyError(permalink)
            return _urn(number)

    def share_link(self, user: str) -> str:
        """A new `https://on.soundcloud.com/<code>` link to `user` (a permalink or URN), as
        the app's Share button makes; /resolve takes it like the profile URL."""
        with self._lock:
            number = self._graph.find_handle(user) if not user.startswith(URN_PREFIX) else None
            number = self._number(user) if number is None else number
            code = "".join(self._share_rng.choices(_SHARE_ALPHABET, k=10))
            self._share_codes[code] = number
            return f"https://{SHARE_HOST}/{code}"

    def unknown_urn(self) -> str:
        """A well-formed URN that no account has (lists as an empty 200, profile 404)."""
        return _urn(10_000_000)

    # -- HTTP ----------------------------------------------------------------------------

    def route(self, request: SimRequest) -> SimResponse:
        if request.path == "/oauth/token" and request.method == "POST":
            return self.tokens.answer(request)
        if not self._authorized(request):
            return _error(401, "401 - Unauthorized", "invalid_token")
        response = self._router.dispatch(request, request.path)
        return response or _error(404, "404 - Not Found", "route not found")

    def _make_router(self) -> Router:
        router = Router()
        router.add("GET", r"/resolve", self._resolve)
        router.add("GET", r"/users/(?P<id>[^/]+)", self._get_user)
        router.add("GET", r"/users/(?P<id>[^/]+)/(?P<relation>followings|followers)", self._list)
        return router

    def _authorized(self, request: SimRequest) -> bool:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        return scheme.lower() in ("oauth", "bearer") and self.tokens.valid(token.strip())

    def _get_user(self, request: SimRequest, params: dict[str, str]) -> SimResponse:
        with self._lock:
            number = self._decode(params["id"])
            if number is None or not self._present(number):
                return _error(404, "404 - Not Found", "user not found")
            stale = None
            if self.adversity.counts == "stale":
                since = self._history.now() - self.adversity.counts_age
                stale = self._history.count_changes_since(since)
            return json_response(self._render(number, stale))

    def _resolve(self, request: SimRequest, params: dict[str, str]) -> SimResponse:
        url = request.query.get("url", "")
        permalink = _profile_permalink(url)
        with self._lock:
            number = None if permalink is None else self._graph.find_handle(permalink)
            if number is None:
                number = self._share_codes.get(_share_code(url) or "")
            if number is None or not self._present(number):
                return _error(404, "404 - Not Found", "not found")
            location = f"{self.base_url}/users/{_numeric(number)}"
        response = redirect_response(location)
        response.body = json_response({"status": "302 - Found", "location": location}).body
        response.content_type = "application/json"
        return response

    def _list(self, request: SimRequest, params: dict[str, str]) -> SimResponse:
        limit = _limit(request.query.get("limit"))
        if limit is None:
            return _error(400, "400 - Bad Request", f"limit must be 1..{MAX_LIMIT}")
        linked = request.query.get("linked_partitioning", "").lower() in ("true", "1")
        relation = _LIST_PATHS[params["relation"]]
        with self._lock:
            number = self._decode(params["id"])
            if number is None:
                return _error(400, "400 - Bad Request", "invalid user id")
            if not self._present(number):  # unknown or deleted: an empty 200, not a 404
                return json_response({"collection": [], "next_href": None} if linked else [])
            cursor = request.query.get("cursor")
            mid_read = self.adversity.mid_read
            if cursor and mid_read.active and self._adverse_rng.random() < mid_read.probability:
                self._change_mid_read(number, relation)
            page, position, more = self._page(number, relation, cursor, limit)
            stale = None
            if self.adversity.counts == "stale":
                since = self._history.now() - self.adversity.counts_age
                stale = self._history.count_changes_since(since)
            users = [self._render(u, stale) for u in page]
        if not linked:
            return json_response(users)
        body: dict[str, Any] = {"collection": users}
        if more:
            body["next_href"] = self._next_href(request, params, position, limit)
        elif self.end_style == "null":
            body["next_href"] = None
        return json_response(body)

    def _page(
        self, owner: int, relation: Relation, cursor: str | None, limit: int
    ) -> tuple[list[int], int, bool]:
        """(members, cursor after them, whether more follow); hidden accounts are skipped."""
        keys, members = self._orders.newest_first(owner, relation)
        decoded = _cursor_value(cursor)
        if self.cursor_style == "offset":
            start = decoded or 0
        else:
            start = 0 if decoded is None else bisect_right(keys, -decoded)
        visible = self._graph.visible
        page: list[int] = []
        index = start
        while index < len(members) and len(page) < limit:
            if visible(members[index]):
                page.append(members[index])
            index += 1
        more = any(visible(m) for m in members[index:])
        if self.cursor_style == "offset":
            return page, start + len(page), more
        return page, (-keys[index - 1] if index > 0 else 0), more

    def _next_href(
        self, request: SimRequest, params: dict[str, str], position: int, limit: int
    ) -> str:
        served = int(request.query.get("_page", "0")) + 1  # pages of this listing so far
        path = f"/users/{params['id']}/{params['relation']}"
        trapped = self.paging_trap is not None and served > self.paging_trap_after
        if trapped and self.paging_trap == "loop":
            return f"{self.base_url}{path}?{urlencode(request.query)}"  # this page, again
        query: dict[str, str | int] = {
            "cursor": _cursor_text(position),
            "limit": limit,
            "linked_partitioning": "true",
        }
        base = self.base_url
        if trapped and self.paging_trap == "foreign":
            base = f"https://{FOREIGN_HOST}"
        elif trapped and self.paging_trap == "cycle":
            query.pop("cursor")  # back to the first page, under a URL never seen before
            query["_n"] = self._rng.randrange(1 << 30)
        query["_page"] = served
        return f"{base}{path}?{urlencode(query)}"

    def _counts(
        self, u: int, stale: tuple[dict[int, int], dict[int, int]] | None
    ) -> tuple[int, int]:
        """(followers_count, followings_count) as `counts_broken` and `adversity` show them."""
        graph, adversity = self._graph, self.adversity
        followers, followings = graph.shown[u], graph.following.count(u)
        if self.counts_broken or adversity.counts == "zero":
            return 0, 0
        if stale is not None:
            return followers - stale[0].get(u, 0), followings - stale[1].get(u, 0)
        skew = adversity.counts_skew
        if adversity.counts == "low":
            return max(followers - skew, 0), max(followings - skew, 0)
        if adversity.counts == "high":
            return followers + skew, followings + skew
        return followers, followings

    def _render(
        self, u: int, stale: tuple[dict[int, int], dict[int, int]] | None = None
    ) -> dict[str, Any]:
        graph = self._graph
        permalink = graph.handles[u]
        followers, followings = self._counts(u, stale)
        return {
            "avatar_url": f"https://i1.sndcdn.invalid/avatars-{u:08x}-large.jpg",
            "city": None,
            "country": None,
            "created_at": "2019/03/14 12:00:00 +0000",
            "description": None,
            "discogs_name": None,
            "first_name": "",
            "followers_count": followers,
            "followings_count": followings,
            "full_name": "",
            "id": _numeric(u),
            "kind": "user",
            "last_modified": "2026/11/01 12:00:00 +0000",
            "last_name": "",
            "permalink": permalink,
            "permalink_url": self._profile_urls.get(u, f"https://soundcloud.com/{permalink}"),
            "plan": "Free",
            "playlist_count": 0,
            "public_favorites_count": 0,
            "reposts_count": 0,
            "track_count": (u * 7) % 23,
            "uri": f"https://api.soundcloud.com/users/{_urn(u)}",
            "urn": _urn(u),
            "username": graph.names[u] or permalink,
            "website": None,
            "website_title": None,
        }

    # -- internals -------------------------------------------------------------------------

    def _decode(self, text: str) -> int | None:
        """The integer behind a URN or a numeric id (existing or not); None if malformed."""
        digits = text.removeprefix(URN_PREFIX)
        if not digits.isascii() or not digits.isdigit() or len(digits) > 15:
            return None
        value = int(digits) - _ID_OFFSET
        if value <= 0 or value % _ID_STRIDE:
            return -1  # well-formed, but no account could have it
        return value // _ID_STRIDE

    def _encode(self, number: int) -> str:
        return _urn(number)

    def _number(self, user: str) -> int:
        number = self._decode(user)
        if number is None or number <= 0 or not self._graph.exists(number):
            raise KeyError(user)
        return number

    def _present(self, number: int) -> bool:
        return (
            number > 0 and self._graph.exists(number) and not self._graph.has_flag(number, DELETED)
        )

    def _set_deleted(self, user: str, deleted: bool) -> None:
        with self._lock:
            number = self._number(user)
            before = self._graph.flags[number]
            self._graph.set_flag(number, DELETED, deleted)
            after = self._graph.flags[number]
            if after != before:
                kind = "delete" if deleted else "restore"
                self._history.record_flags(kind, number, before, after)

    def _follow(self, a: int, b: int) -> None:
        if a == b:
            raise ValueError("an account cannot follow itself")
        if self._graph.follow(a, b):
            self._orders.add(a, "following", b)
            self._orders.add(b, "followers", a)
            self._history.record("follow", a, b)

    def _unfollow(self, a: int, b: int) -> None:
        if self._graph.unfollow(a, b):
            self._orders.remove(a, "following", b)
            self._orders.remove(b, "followers", a)
            self._history.record("unfollow", a, b)

    def _change_mid_read(self, owner: int, relation: Relation) -> None:
        """One change to the list being read, as `adversity.mid_read` describes."""
        mid_read, rng = self.adversity.mid_read, self._adverse_rng
        kind = rng.choice(mid_read.kinds)
        if kind in ("unfollow", "swap"):
            _, members = self._orders.newest_first(owner, relation)
            listed = [m for m in members if self._graph.visible(m)]
            if listed:
                self._link(owner, relation, listed[rng.randrange(len(listed))], on=False)
        if kind in ("follow", "swap"):
            newcomer = self._mid_read_newcomer(owner, relation)
            if newcomer is not None:
                self._link(owner, relation, newcomer, on=True)

    def _mid_read_newcomer(self, owner: int, relation: Relation) -> int | None:
        """Someone not in the list: from the pool (URNs or permalinks), else a fresh account."""
        mid_read, graph = self.adversity.mid_read, self._graph
        edges = graph.edges(relation)
        candidates = []
        for entry in mid_read.pool:
            number = self._decode(entry)
            if number is None or number <= 0 or not graph.exists(number):
                number = graph.find_handle(entry)
            fits = number is not None and number != owner and graph.visible(number)
            if fits and number is not None and not edges.contains(owner, number):
                candidates.append(number)
        if candidates:
            return self._adverse_rng.choice(candidates)
        if not mid_read.fresh:
            return None
        return self._number(self.add_users(1, prefix="midread")[0])

    def _link(self, owner: int, relation: Relation, member: int, *, on: bool) -> None:
        """Make `member` join (`on`) or leave `owner`'s list."""
        follower, followee = (owner, member) if relation == "following" else (member, owner)
        if on:
            self._follow(follower, followee)
        else:
            self._unfollow(follower, followee)

    def _listed(self, user: str, relation: Relation) -> list[str]:
        with self._lock:
            number = self._number(user)
            if not self._present(number):
                return []
            _, members = self._orders.newest_first(number, relation)
            return [_urn(m) for m in members if self._graph.visible(m)]


def _numeric(number: int) -> int:
    return _ID_OFFSET + number * _ID_STRIDE


def _urn(number: int) -> str:
    return f"{URN_PREFIX}{_numeric(number)}"


def _cursor_text(value: int) -> str:
    """Opaque-looking cursors, as the real ones are."""
    return format(value ^ 0x5EED_CAFE, "x")


def _cursor_value(text: str | None) -> int | None:
    if not text:
        return None
    try:
        return int(text, 16) ^ 0x5EED_CAFE
    except ValueError:
        return None


def _limit(text: str | None) -> int | None:
    if text is None:
        return DEFAULT_LIMIT
    if not text.isdigit() or not 1 <= int(text) <= MAX_LIMIT:
        return None
    return int(text)


def _error(status: int, status_text: str, message: str) -> SimResponse:
    """SoundCloud's error shape."""
    return json_response(
        {
            "code": status,
            "message": "",
            "link": "https://developers.soundcloud.com/docs/api/explorer/open-api",
            "status": status_text,
            "errors": [{"error_message": message}],
            "error": None,
        },
        status,
    )


def _share_code(url: str) -> str | None:
    """The code in `https://on.soundcloud.com/<code>`; None for anything else."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or parts.hostname != SHARE_HOST:
        return None
    return parts.path.strip("/") or None


def _profile_permalink(url: str) -> str | None:
    """The permalink in `https://soundcloud.com/<permalink>`; None for anything else."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or parts.hostname not in _PROFILE_HOSTS:
        return None
    permalink = parts.path.strip("/").lower()
    return permalink if _PERMALINK.fullmatch(permalink) else None
