"""A simulated Audius API (`/v1`), faithful to the behaviour in API-NOTES that clients must survive.

Served over real HTTP by `watcher.sim.http.SimServer`. The traps are reproduced on purpose:
lists ordered by `follower_count DESC` with no tie-breaker and a random replica per request
(offset paging skips and repeats tied entries), deactivated accounts left out of lists while
still counted, unknown ids listing as an empty 200, `user_id` answered with 403. Bulk profiles
come from `GET /users?id=A&id=B` (up to 100 ids; unknown ones left out).

Harsher traps are switched on by an `Adversity` (`watcher.sim.adversity`): ties reordered per
request, replicas that lag each other, a page's order and its profiles from two replicas
(short pages, 500s), short pages, wrong counts, and the list changing while it is read.

Credentials and limits, as API-NOTES has them: an app sends its key as the query parameter
`api_key` and may send a bearer token (`Authorization: Bearer`, a different credential). A sim
given an `api_key` knows that one key and answers any other with 401 (a mistyped key is a
setup error worth hearing about, not a quiet fall to the anonymous limit); a sim given none
takes any key as valid. A Bearer header must carry the sim's `bearer_token` (or, as watcher
sent it before, its `api_key`; such a request is still anonymous) when it knows either, else
401. Rate limits are off by default, so tests and the bench run at full speed without a key;
`limits = RateLimits()` (or the constructor's `limits`, as `watcher sim` should) switches on
the free plan's 10 requests a second and 500,000 a month per key and 5 a second per address
for requests without a key, answering the rest 429 with a Retry-After (see `rate_limits`).
The address is the first `X-Forwarded-For` entry, else 127.0.0.1: a loopback sim sees no
other, and tests name addresses through that header.

Ground truth for property tests: `history()` lists every change made through the sim's
methods (mid-read changes included) with its time on the sim's `clock`; `state_at()` and
`visible_at()` say what was true at any moment.
"""

from __future__ import annotations

import itertools
import json
import random
import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from importlib import resources
from typing import Any
from urllib.parse import urlsplit

from watcher.sim.adversity import HONEST, Adversity
from watcher.sim.audius_users import UserFacts, data_body, data_one, render_user
from watcher.sim.graph import DEACTIVATED, DELETED, HIDDEN, VERIFIED, Graph, Relation
from watcher.sim.history import FOLLOW, UNFOLLOW, Change, History
from watcher.sim.http import (
    Router,
    SimRequest,
    SimResponse,
    SimServer,
    error_response,
    json_response,
    redirect_response,
)
from watcher.sim.ids import IdCodec
from watcher.sim.lag import FLAG_CHANGE, ReplicaLag, ReplicaView
from watcher.sim.ordering import EntryKey, ReplicaOrders
from watcher.sim.rate_limits import RateLimiter, RateLimits
from watcher.sim.truth import GroundTruth

__all__ = ["Adversity", "AudiusSim", "Change", "RateLimits", "SimRequest", "SimUser"]

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
SMALL_BULK = 16  # below this, bulk changes patch cached lists instead of dropping them
# Rendered user objects kept (about 1 KB each); past this the cache starts over.
RENDER_CACHE = 20_000
_DIGITS = re.compile(r"[0-9]+")
_HANDLE = re.compile(r"[^\s/?#]+")
_PROFILE_HOSTS = frozenset({"audius.co", "www.audius.co"})
LOOPBACK = "127.0.0.1"

BaseFollowers = int | Callable[[int], int]


@dataclass(frozen=True, slots=True)
class SimUser:
    """A snapshot of one simulated account (change it through the `AudiusSim` methods)."""

    id: str
    handle: str
    name: str
    base_followers: int
    verified: bool
    deactivated: bool
    deleted: bool
    follower_count: int  # as the API shows it: base + every follower, deactivated ones too
    followee_count: int


def _load_seed() -> list[dict[str, Any]]:
    text = resources.files("watcher.sim").joinpath("audius_seed.json").read_text("utf-8")
    users: list[dict[str, Any]] = json.loads(text)
    return users


def _default_name(handle: str) -> str:
    """`artist_12` -> `Artist 12`: bulk users get a display name without storing one."""
    return handle.replace("_", " ").title()


class AudiusSim(GroundTruth, SimServer):
    """Simulated Audius: a social graph you mutate from Python, served at `{base_url}`.

    Deterministic for a given `seed` (and a given sequence of requests and clock readings). The
    ten real users of `audius_seed.json` are loaded with their real ids unless
    `load_seed=False`; their `follower_count` becomes their base, their `followee_count`
    reflects the simulated graph.

    `adversity` (settable later too) picks the traps beyond the always-on ones; the honest
    default costs nothing. `clock` gives the simulated time in seconds (history times, lag,
    stale counts, requests per second); tests pass a fake one they advance, the default is
    `time.monotonic`. `calendar` (epoch seconds, default `time.time`) says which UTC month a
    key's monthly count belongs to. `api_key`, `bearer_token` and `limits`: see the module.
    """

    base_path = "/v1"

    def __init__(
        self,
        seed: int = 0,
        replicas: int = 3,
        *,
        load_seed: bool = True,
        api_key: str | None = None,
        bearer_token: str | None = None,
        limits: RateLimits | None = None,
        log_limit: int | None = 100_000,
        adversity: Adversity = HONEST,
        clock: Callable[[], float] | None = None,
        calendar: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(log_limit=log_limit)
        self.api_key = api_key
        self.bearer_token = bearer_token
        self._clock = clock or time.monotonic
        self._calendar = calendar
        self._limiter: RateLimiter | None = None
        self.limits = limits
        self._adversity = adversity
        self._lock = threading.RLock()
        self._graph = Graph()
        self._codec = IdCodec()
        self._orders = ReplicaOrders(self._graph, replicas, seed)
        self._rng = random.Random(f"{seed}:requests")
        # Adversity draws its own numbers: the honest path's draws stay as they always were.
        self._adverse_rng = random.Random(f"{seed}:adversity")
        self._history = History(clock or time.monotonic)
        self._lag = ReplicaLag(replicas, seed)
        self._extras: dict[int, dict[str, Any]] = {}  # seed users' bio, location, pictures
        self._rendered: dict[int, bytes] = {}  # user objects as of graph version `_rendered_at`
        self._rendered_at = -1
        self._suffixes: dict[str, int] = {}  # next number of each add_users prefix
        self._graph.append(None, None, 0, 0)  # integer 0 is no one
        if load_seed:
            self._add_seed_users(_load_seed())
        self._router = self._make_router()

    # -- building the world --------------------------------------------------------------

    @property
    def replicas(self) -> int:
        return self._orders.replicas

    @property
    def adversity(self) -> Adversity:
        return self._adversity

    @adversity.setter
    def adversity(self, adversity: Adversity) -> None:
        with self._lock:
            self._adversity = adversity

    @property
    def limits(self) -> RateLimits | None:
        """The rate limits enforced (None: off, the default)."""
        return None if self._limiter is None else self._limiter.limits

    @limits.setter
    def limits(self, limits: RateLimits | None) -> None:
        """Switch limits on (counts start afresh), change them (counts kept), or off."""
        if limits is None:
            self._limiter = None
        elif self._limiter is None:
            self._limiter = RateLimiter(limits, clock=self._clock, calendar=self._calendar)
        else:
            self._limiter.limits = limits

    def used_this_month(self, key: str) -> int:
        """Requests served to `key` this UTC month while limits were on."""
        return 0 if self._limiter is None else self._limiter.used_this_month(key)

    @property
    def shuffle_each_request(self) -> bool:
        """The older name of `adversity.tie_shuffle`."""
        return self._adversity.tie_shuffle

    @shuffle_each_request.setter
    def shuffle_each_request(self, on: bool) -> None:
        with self._lock:
            self._adversity = replace(self._adversity, tie_shuffle=on)

    def add_user(
        self,
        handle: str,
        name: str | None = None,
        base_followers: int = 0,
        verified: bool = False,
    ) -> str:
        """Create an account; returns its new opaque id. `name` defaults to the handle."""
        _check_count(base_followers)
        with self._lock:
            self._check_handle(handle)
            while (text := self._codec.fresh(self._graph.size)) is None:
                self._graph.append(None, None, 0, 0)
            self._graph.append(handle, name or handle, base_followers, VERIFIED * verified)
            self._orders.grow()
            return text

    def add_users(
        self, n: int, prefix: str = "user", base_followers: BaseFollowers = 0
    ) -> list[str]:
        """Create `n` accounts `{prefix}_{k}` fast; `base_followers` may be a function of the
        index 0..n-1 within this call. Returns their ids in creation order."""
        if not _HANDLE.fullmatch(prefix):
            raise ValueError(f"not a usable handle prefix: {prefix!r}")
        counts = base_followers if callable(base_followers) else (lambda _: base_followers)
        with self._lock:
            handles: list[str | None] = []
            bases: list[int] = []
            ids: list[str] = []
            fresh, taken = self._codec.fresh, self._graph.by_handle
            number, suffix = self._graph.size, self._suffixes.get(prefix, 0)
            for index in range(n):
                while (text := fresh(number)) is None:
                    handles.append(None)
                    bases.append(0)
                    number += 1
                handle = f"{prefix}_{suffix}"
                while handle.lower() in taken:
                    suffix += 1
                    handle = f"{prefix}_{suffix}"
                handles.append(handle)
                bases.append(_check_count(counts(index)))
                ids.append(text)
                number += 1
                suffix += 1
            self._graph.extend(handles, bases)
            self._suffixes[prefix] = suffix
            self._orders.grow()
            return ids

    def follow(self, follower: str, followee: str) -> None:
        """`follower` follows `followee` (no-op if it already does)."""
        with self._lock:
            self._follow(self._number(follower), self._number(followee))

    def unfollow(self, follower: str, followee: str) -> None:
        """`follower` stops following `followee` (no-op if it did not)."""
        with self._lock:
            self._unfollow(self._number(follower), self._number(followee))

    def follow_many(self, follower: str, followees: Iterable[str]) -> None:
        """Bulk `follow`: `follower` follows every one of `followees`."""
        with self._lock:
            a = self._number(follower)
            new = self._new_edges(a, (self._number(b) for b in followees), "following")
            if len(new) <= SMALL_BULK:
                for b in new:
                    self._follow(a, b)
                return
            lists: set[EntryKey] = {(b, "followers") for b in new}
            lists.add((a, "following"))
            self._orders.forget(lists, touching=set(new))  # every b's count moves
            self._graph.follow_new(a, new)
            self._note_follows(a, new)

    def add_followers(self, followee: str, followers: Iterable[str]) -> None:
        """Bulk `follow`: every one of `followers` follows `followee`."""
        with self._lock:
            b = self._number(followee)
            new = self._new_edges(b, (self._number(a) for a in followers), "followers")
            if len(new) <= SMALL_BULK:
                for a in new:
                    self._follow(a, b)
                return
            with self._orders.moving(b):
                lists: set[EntryKey] = {(a, "following") for a in new}
                lists.add((b, "followers"))
                self._orders.forget(lists)
                self._graph.gain_new(b, new)
            self._note_follows(new, b)

    def deactivate(self, user: str) -> None:
        """Hide the account from every list (its follows still count); profile stays 200."""
        self._set_flag(user, DEACTIVATED, True, "deactivate")

    def reactivate(self, user: str) -> None:
        self._set_flag(user, DEACTIVATED, False, "reactivate")

    def delete(self, user: str) -> None:
        """Make the account gone: its profile 404s, its lists are empty, no list shows it."""
        self._set_flag(user, DELETED, True, "delete")
        with self._lock:
            number = self._number(user)
            self._orders.forget({(number, "following"), (number, "followers")})

    def set_base_followers(self, user: str, n: int) -> None:
        """Change the part of `follower_count` that does not come from simulated follows."""
        _check_count(n)
        with self._lock:
            number = self._number(user)
            with self._orders.moving(number):
                self._graph.set_base(number, n)

    # -- ground truth --------------------------------------------------------------------

    def user(self, user: str) -> SimUser:
        with self._lock:
            u = self._number(user)
            graph = self._graph
            return SimUser(
                id=self._codec.encode(u),
                handle=graph.handles[u],
                name=self._name(u),
                base_followers=graph.base[u],
                verified=graph.has_flag(u, VERIFIED),
                deactivated=graph.has_flag(u, DEACTIVATED),
                deleted=graph.has_flag(u, DELETED),
                follower_count=graph.shown[u],
                followee_count=graph.following.count(u),
            )

    def id_of(self, handle: str) -> str:
        """The id of the account with this handle (case-insensitive); KeyError if none."""
        with self._lock:
            number = self._graph.find_handle(handle.lstrip("@"))
            if number is None:
                raise KeyError(handle)
            return self._codec.encode(number)

    def numeric_id(self, user: str) -> int:
        """The integer behind an id: `/users/{integer}` reaches the same account."""
        with self._lock:
            return self._number(user)

    def encode_id(self, number: int) -> str:
        """The well-formed id of any integer, e.g. to ask about an account that never existed."""
        return self._codec.encode(number)

    # -- HTTP ----------------------------------------------------------------------------

    def route(self, request: SimRequest) -> SimResponse:
        path = request.path
        if path != self.base_path and not path.startswith(self.base_path + "/"):
            return error_response(404, "not found")
        if "user_id" in request.query:
            return error_response(403, "user_id requires a request signed by that user's wallet")
        refused = self._refused_credentials(request) or self._over_limit(request)
        if refused is not None:
            return refused
        response = self._router.dispatch(request, path[len(self.base_path) :])
        return response or error_response(404, "route not found")

    def _make_router(self) -> Router:
        router = Router()
        router.add("GET", r"/users", self._get_users)
        router.add("GET", r"/users/handle/(?P<handle>[^/]+)", self._get_by_handle)
        router.add("GET", r"/users/(?P<id>[^/]+)", self._get_user)
        router.add("GET", r"/users/(?P<id>[^/]+)/(?P<relation>following|followers)", self._list)
        router.add("GET", r"/resolve", self._resolve)
        return router

    def _refused_credentials(self, request: SimRequest) -> SimResponse | None:
        """401 for a key or bearer token the sim does not know; credentials are optional."""
        key = request.query.get("api_key")
        if key is not None and self.api_key is not None and key != self.api_key:
            return error_response(401, "invalid api key")
        header = request.headers.get("Authorization")
        known = {c for c in (self.bearer_token, self.api_key) if c is not None}
        if header is None or not known:
            return None
        scheme, _, token = header.partition(" ")
        if scheme.lower() == "bearer" and token.strip() in known:
            return None
        return error_response(401, "invalid api key")

    def _over_limit(self, request: SimRequest) -> SimResponse | None:
        """429 for a request past its key's limits, or past its address's without a key."""
        limiter = self._limiter
        if limiter is None:
            return None
        forwarded = request.headers.get("X-Forwarded-For", "").split(",")[0].strip()
        refusal = limiter.admit(request.query.get("api_key"), forwarded or LOOPBACK)
        if refusal is None:
            return None
        return error_response(429, refusal.message, {"Retry-After": str(refusal.retry_after)})

    def _get_user(self, request: SimRequest, params: dict[str, str]) -> SimResponse:
        number = self._codec.decode(params["id"])
        if number is None:
            return error_response(400, "invalid userId")
        with self._lock:
            if not self._present(number):
                return error_response(404, "user not found")
            return SimResponse(200, data_one(self._profiles([number])[0]))

    def _get_users(self, request: SimRequest, params: dict[str, str]) -> SimResponse:
        """Bulk profiles: `?id=A&id=B...`, found ones in the order asked, unknown ones left out."""
        texts = request.query_all.get("id", [])
        if not texts:
            return error_response(400, "id is required")
        if len(texts) > MAX_LIMIT:
            return error_response(400, f"at most {MAX_LIMIT} ids")
        numbers: list[int] = []
        for text in texts:
            number = self._codec.decode(text)
            if number is None:
                return error_response(400, "invalid id")
            numbers.append(number)
        with self._lock:
            found = [number for number in dict.fromkeys(numbers) if self._present(number)]
            return SimResponse(200, data_body(self._profiles(found)))

    def _get_by_handle(self, request: SimRequest, params: dict[str, str]) -> SimResponse:
        with self._lock:
            number = self._graph.find_handle(params["handle"])
            if number is None or not self._present(number):
                return error_response(404, "user not found")
            return SimResponse(200, data_one(self._profiles([number])[0]))

    def _resolve(self, request: SimRequest, params: dict[str, str]) -> SimResponse:
        url = request.query.get("url")
        if not url:
            return error_response(400, "url is required")
        handle = _profile_handle(url)
        with self._lock:
            number = None if handle is None else self._graph.find_handle(handle)
            if number is None or not self._present(number):
                return error_response(404, "not found")
            return redirect_response(f"{self.base_path}/users/{self._codec.encode(number)}")

    def _list(self, request: SimRequest, params: dict[str, str]) -> SimResponse:
        number = self._codec.decode(params["id"])
        if number is None:
            return error_response(400, "invalid userId")
        paging = _paging(request.query)
        if isinstance(paging, str):
            return error_response(400, paging)
        offset, limit = paging
        relation: Relation = "following" if params["relation"] == "following" else "followers"
        with self._lock:
            if not self._present(number):
                return json_response({"data": []})  # unknown or deleted: empty, not 404
            if not self._adversity.plain:
                return self._adverse_page(number, relation, offset, limit)
            if self._adversity.tie_shuffle:
                page = self._orders.shuffled_page(number, relation, offset, limit, self._rng)
            else:
                replica = self._rng.randrange(self.replicas)
                page = self._orders.page(number, relation, replica, offset, limit)
            return SimResponse(200, data_body(self._render_many(page)))

    def _profiles(self, users: list[int]) -> list[bytes]:
        """Profiles as one random replica shows them, with the counts `adversity` wants."""
        if self._adversity.plain:
            return self._render_many(users)
        view = None
        if self._lag.in_flight:
            view = self._view(self._adverse_rng.randrange(self.replicas), self._history.now())
        return self._render_on(users, view)

    def _adverse_page(self, owner: int, relation: Relation, offset: int, limit: int) -> SimResponse:
        """One page with every trap `adversity` turns on (the caller holds the lock)."""
        adversity, rng = self._adversity, self._adverse_rng
        mid_read = adversity.mid_read
        if offset > 0 and mid_read.active and rng.random() < mid_read.probability:
            self._change_mid_read(owner, relation)
        now = self._history.now()
        ordering = rng.randrange(self.replicas)
        hydrating = rng.randrange(self.replicas) if adversity.split_hydration else ordering
        order_view = self._view(ordering, now)
        hydration_view = order_view if hydrating == ordering else self._view(hydrating, now)
        page, total = self._page_on(owner, relation, ordering, order_view, offset, limit)
        full = len(page) == limit and offset + limit < total
        if hydrating != ordering:
            missing = {u for u in page if not self._listed_on(hydration_view, owner, relation, u)}
            if missing and rng.random() < adversity.hydration_500:
                return error_response(500, "failed to hydrate users")
            page = [u for u in page if u not in missing]
        if full and adversity.short_pages and rng.random() < adversity.short_pages:
            if rng.random() < adversity.short_empty:
                page = []
            else:
                del page[rng.randrange(len(page))]
        return SimResponse(200, data_body(self._render_on(page, hydration_view)))

    def _view(self, replica: int, now: float) -> ReplicaView | None:
        return self._lag.view(replica, now) if self._lag.in_flight else None

    def _page_on(
        self,
        owner: int,
        relation: Relation,
        replica: int,
        view: ReplicaView | None,
        offset: int,
        limit: int,
    ) -> tuple[list[int], int]:
        """(the page, the list's length) as `replica` (seeing `view`) serves it."""
        graph, orders = self._graph, self._orders
        tie_shuffle = self._adversity.tie_shuffle
        if view is None or not view.touches(owner, relation, graph.edges(relation)):
            if tie_shuffle:  # the replica's order does not matter: ties are drawn afresh
                total = len(orders.ordered(owner, relation, 0))
                return orders.shuffled_page(
                    owner, relation, offset, limit, self._adverse_rng
                ), total
            order = orders.ordered(owner, relation, replica)
            return order[offset : offset + limit], len(order)
        flags, shown = graph.flags, graph.shown
        members = view.members(owner, relation, graph.edges(relation).members(owner))
        listed = [u for u in members if not view.flags_of(u, flags[u]) & HIDDEN]

        def count(u: int) -> int:
            return view.follower_count(u, shown[u])

        if tie_shuffle:
            order = orders.shuffle_sort(listed, count, self._adverse_rng)
        else:
            order = orders.sort(listed, replica, count)
        return order[offset : offset + limit], len(order)

    def _listed_on(self, view: ReplicaView | None, owner: int, relation: Relation, u: int) -> bool:
        """Whether a replica seeing `view` has `u` as a visible member of the list."""
        graph = self._graph
        present = graph.edges(relation).contains(owner, u)
        if view is None:
            return present and graph.visible(u)
        return view.has_edge(owner, relation, u, present) and not (
            view.flags_of(u, graph.flags[u]) & HIDDEN
        )

    def _render_on(self, users: list[int], view: ReplicaView | None) -> list[bytes]:
        """Users as a replica seeing `view` hydrates them, counts as `adversity.counts` says."""
        counts = self._adversity.counts
        if counts == "true" and (view is None or view.changed.isdisjoint(users)):
            return self._render_many(users)
        stale: tuple[dict[int, int], dict[int, int]] | None = None
        if counts == "stale":
            since = self._history.now() - self._adversity.counts_age
            stale = self._history.count_changes_since(since)
        return [self._render_now(u, view, stale) for u in users]

    def _shown_counts(
        self,
        u: int,
        view: ReplicaView | None,
        stale: tuple[dict[int, int], dict[int, int]] | None,
    ) -> tuple[int, int]:
        """(follower_count, followee_count) as the profile shows them."""
        graph, adversity = self._graph, self._adversity
        followers, followees = graph.shown[u], graph.following.count(u)
        if stale is not None:  # the true counts of `counts_age` ago, whatever the replica
            return followers - stale[0].get(u, 0), followees - stale[1].get(u, 0)
        if view is not None:
            followers = view.follower_count(u, followers)
            followees = view.followee_count(u, followees)
        if adversity.counts == "low":
            skew = adversity.counts_skew
            return max(followers - skew, 0), max(followees - skew, 0)
        if adversity.counts == "high":
            return followers + adversity.counts_skew, followees + adversity.counts_skew
        if adversity.counts == "zero":
            return 0, 0
        return followers, followees

    def _render(self, u: int) -> bytes:
        return self._render_many([u])[0]

    def _render_many(self, users: list[int]) -> list[bytes]:
        """Users as JSON, kept until the world changes (pages repeat most users)."""
        graph, rendered = self._graph, self._rendered
        if self._rendered_at != graph.version or len(rendered) + len(users) > RENDER_CACHE:
            rendered.clear()
            self._rendered_at = graph.version
        texts: list[bytes] = []
        for u in users:
            text = rendered.get(u)
            if text is None:
                text = rendered[u] = self._render_now(u)
            texts.append(text)
        return texts

    def _render_now(
        self,
        u: int,
        view: ReplicaView | None = None,
        stale: tuple[dict[int, int], dict[int, int]] | None = None,
    ) -> bytes:
        graph = self._graph
        if view is None and stale is None and self._adversity.honest_counts:
            followers, followees = graph.shown[u], graph.following.count(u)
        else:
            followers, followees = self._shown_counts(u, view, stale)
        flags = graph.flags[u] if view is None else view.flags_of(u, graph.flags[u])
        return render_user(
            UserFacts(
                number=u,
                id=self._codec.encode(u),
                handle=graph.handles[u],
                name=self._name(u),
                follower_count=followers,
                followee_count=followees,
                verified=graph.has_flag(u, VERIFIED),
                deactivated=bool(flags & DEACTIVATED),
                extra=self._extras.get(u),
            )
        )

    # -- internals -------------------------------------------------------------------------

    def _add_seed_users(self, seed_users: list[dict[str, Any]]) -> None:
        """Real users keep their real ids, fixed onto the next integers."""
        for record in seed_users:
            number = self._graph.size
            self._codec.fix(number, str(record["id"]))
            flags = VERIFIED * bool(record.get("is_verified")) | DEACTIVATED * bool(
                record.get("is_deactivated")
            )
            handle = str(record["handle"])
            self._graph.append(handle, str(record.get("name") or handle), 0, flags)
            self._graph.set_base(number, int(record.get("follower_count") or 0))
            keep = ("bio", "location", "profile_picture", "cover_photo")
            self._extras[number] = {k: record[k] for k in keep if k in record}
        self._orders.grow()

    def _check_handle(self, handle: str) -> None:
        if not _HANDLE.fullmatch(handle):
            raise ValueError(f"not a usable handle: {handle!r}")
        if self._graph.handle_taken(handle):
            raise ValueError(f"handle already taken: {handle!r}")

    def _encode(self, number: int) -> str:
        return self._codec.encode(number)

    def _number(self, user: str) -> int:
        """The integer of an existing account id (deleted included); KeyError otherwise."""
        number = self._codec.decode(user)
        if number is None or not self._graph.exists(number):
            raise KeyError(user)
        return number

    def _present(self, number: int) -> bool:
        """Whether the API admits the account exists: created, and not deleted."""
        return self._graph.exists(number) and not self._graph.has_flag(number, DELETED)

    def _name(self, u: int) -> str:
        return self._graph.names[u] or _default_name(self._graph.handles[u])

    def _follow(self, a: int, b: int) -> None:
        if a == b:
            raise ValueError("an account cannot follow itself")
        if self._graph.following.contains(a, b):
            return
        with self._orders.moving(b):  # b's count grows; b joins a's following
            self._graph.follow(a, b)
        self._orders.insert(b, "followers", a)
        self._note_follows(a, b)

    def _unfollow(self, a: int, b: int) -> None:
        if not self._graph.following.contains(a, b):
            return
        with self._orders.moving(b):
            self._orders.remove(b, "followers", a)
            self._graph.unfollow(a, b)
        time = self._history.record("unfollow", a, b)
        if self._adversity.lag:
            self._lag.record(self._adversity.lag, time, UNFOLLOW, a, b)

    def _note_follows(self, followers: list[int] | int, followees: list[int] | int) -> None:
        """Record new follow edges (one side may be a single account) in the history and,
        with lag, for the replicas."""
        lag = self._adversity.lag
        if isinstance(followers, int) and isinstance(followees, int):
            time = self._history.record("follow", followers, followees)
            if lag:
                self._lag.record(lag, time, FOLLOW, followers, followees)
            return
        time = self._history.record_many("follow", followers, followees)
        if lag:  # one side is a list: zip ends with it
            for a, b in zip(_repeat(followers), _repeat(followees), strict=False):
                self._lag.record(lag, time, FOLLOW, a, b)

    def _change_mid_read(self, owner: int, relation: Relation) -> None:
        """One change to the list being read, as `adversity.mid_read` describes."""
        mid_read, rng = self._adversity.mid_read, self._adverse_rng
        kind = rng.choice(mid_read.kinds)
        if kind in ("unfollow", "swap"):
            order = self._orders.ordered(owner, relation, 0)
            if order:
                self._link(owner, relation, order[rng.randrange(len(order))], on=False)
        if kind in ("follow", "swap"):
            newcomer = self._mid_read_newcomer(owner, relation)
            if newcomer is not None:
                self._link(owner, relation, newcomer, on=True)

    def _mid_read_newcomer(self, owner: int, relation: Relation) -> int | None:
        """Someone not in the list: from the pool, else (if allowed) a fresh account."""
        mid_read, rng, graph = self._adversity.mid_read, self._adverse_rng, self._graph
        edges = graph.edges(relation)
        candidates = []
        for entry in mid_read.pool:
            number = self._codec.decode(entry)
            if number is None or not self._present(number):
                number = graph.find_handle(entry.lstrip("@"))
            fits = number is not None and number != owner and graph.visible(number)
            if fits and number is not None and not edges.contains(owner, number):
                candidates.append(number)
        if candidates:
            return rng.choice(candidates)
        if not mid_read.fresh:
            return None
        order = self._orders.ordered(owner, relation, 0)
        tied_with = graph.shown[order[rng.randrange(len(order))]] if order else 0
        fresh = self.add_users(1, prefix="midread", base_followers=tied_with)[0]
        return self._number(fresh)

    def _link(self, owner: int, relation: Relation, member: int, *, on: bool) -> None:
        """Make `member` join (`on`) or leave `owner`'s list."""
        follower, followee = (owner, member) if relation == "following" else (member, owner)
        if on:
            self._follow(follower, followee)
        else:
            self._unfollow(follower, followee)

    def _new_edges(self, owner: int, others: Iterable[int], relation: Relation) -> list[int]:
        """The distinct `others` not yet linked to `owner` by `relation`; refuses self-follows."""
        edges = self._graph.edges(relation)
        new = [o for o in dict.fromkeys(others) if not edges.contains(owner, o)]
        if owner in new:
            raise ValueError("an account cannot follow itself")
        return new

    def _set_flag(self, user: str, flag: int, on: bool, kind: str) -> None:
        with self._lock:
            number = self._number(user)
            before = self._graph.flags[number]
            with self._orders.moving(number):
                self._graph.set_flag(number, flag, on)
            after = self._graph.flags[number]
            if after == before:
                return
            time = self._history.record_flags(kind, number, before, after)
            if self._adversity.lag:
                self._lag.record(self._adversity.lag, time, FLAG_CHANGE, number, before=before)

    def _listed(self, user: str, relation: Relation) -> list[str]:
        with self._lock:
            number = self._number(user)
            if not self._present(number):
                return []
            graph, encode = self._graph, self._codec.encode
            members = sorted(graph.edges(relation).members(number))
            return [encode(u) for u in members if graph.visible(u)]


def _repeat(side: list[int] | int) -> Iterable[int]:
    """A list as it is, a single account forever (zip with a list to pair them)."""
    return itertools.repeat(side) if isinstance(side, int) else side


def _check_count(count: int) -> int:
    if count < 0:
        raise ValueError("follower counts are never negative")
    return count


def _paging(query: dict[str, str]) -> tuple[int, int] | str:
    """(offset, limit) from the query, or the 400 message the current server would give."""
    offset_text = query.get("offset", "0")
    limit_text = query.get("limit", str(DEFAULT_LIMIT))
    if not _DIGITS.fullmatch(offset_text):
        return "offset must be a non-negative integer"
    if not _DIGITS.fullmatch(limit_text) or not 1 <= int(limit_text) <= MAX_LIMIT:
        return f"limit must be an integer between 1 and {MAX_LIMIT}"
    return int(offset_text), int(limit_text)


def _profile_handle(url: str) -> str | None:
    """The handle in `https://audius.co/<handle>`; None for anything else."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or parts.hostname not in _PROFILE_HOSTS:
        return None
    handle = parts.path.strip("/")
    return handle if _HANDLE.fullmatch(handle) else None
