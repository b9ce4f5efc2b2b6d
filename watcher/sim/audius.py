"""A simulated Audius API (`/v1`), faithful to the behaviour in API-NOTES that clients must survive.

Served over real HTTP by `watcher.sim.http.SimServer`. The traps are reproduced on purpose:
lists ordered by `follower_count DESC` with no tie-breaker and a random replica per request
(offset paging skips and repeats tied entries), deactivated accounts left out of lists while
still counted, unknown ids listing as an empty 200, `user_id` answered with 403.
"""

from __future__ import annotations

import json
import random
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from importlib import resources
from typing import Any
from urllib.parse import urlsplit

from watcher.sim.audius_users import UserFacts, data_body, data_one, render_user
from watcher.sim.graph import DEACTIVATED, DELETED, VERIFIED, Graph, Relation
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
from watcher.sim.ordering import EntryKey, ReplicaOrders

__all__ = ["AudiusSim", "SimRequest", "SimUser"]

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
SMALL_BULK = 16  # below this, bulk changes patch cached lists instead of dropping them
# Rendered user objects kept (about 1 KB each); past this the cache starts over.
RENDER_CACHE = 20_000
_DIGITS = re.compile(r"[0-9]+")
_HANDLE = re.compile(r"[^\s/?#]+")
_PROFILE_HOSTS = frozenset({"audius.co", "www.audius.co"})

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


class AudiusSim(SimServer):
    """Simulated Audius: a social graph you mutate from Python, served at `{base_url}`.

    Deterministic for a given `seed` (and a given sequence of requests). The ten real users of
    `audius_seed.json` are loaded with their real ids unless `load_seed=False`; their
    `follower_count` becomes their base, their `followee_count` reflects the simulated graph.
    """

    base_path = "/v1"

    def __init__(
        self,
        seed: int = 0,
        replicas: int = 3,
        *,
        load_seed: bool = True,
        api_key: str | None = None,
        log_limit: int | None = 100_000,
    ) -> None:
        super().__init__(log_limit=log_limit)
        self.api_key = api_key
        self.shuffle_each_request = False
        self._lock = threading.RLock()
        self._graph = Graph()
        self._codec = IdCodec()
        self._orders = ReplicaOrders(self._graph, replicas, seed)
        self._rng = random.Random(f"{seed}:requests")
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
            a, b = self._number(follower), self._number(followee)
            if not self._graph.following.contains(a, b):
                return
            with self._orders.moving(b):
                self._orders.remove(b, "followers", a)
                self._graph.unfollow(a, b)

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

    def deactivate(self, user: str) -> None:
        """Hide the account from every list (its follows still count); profile stays 200."""
        self._set_flag(user, DEACTIVATED, True)

    def reactivate(self, user: str) -> None:
        self._set_flag(user, DEACTIVATED, False)

    def delete(self, user: str) -> None:
        """Make the account gone: its profile 404s, its lists are empty, no list shows it."""
        self._set_flag(user, DELETED, True)
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

    def following(self, user: str) -> list[str]:
        """Who `user` follows, as a complete snapshot would show it (visible accounts only)."""
        return self._listed(user, "following")

    def followers(self, user: str) -> list[str]:
        return self._listed(user, "followers")

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
        if not self._authorized(request):
            return error_response(401, "invalid api key")
        response = self._router.dispatch(request, path[len(self.base_path) :])
        return response or error_response(404, "route not found")

    def _make_router(self) -> Router:
        router = Router()
        router.add("GET", r"/users/handle/(?P<handle>[^/]+)", self._get_by_handle)
        router.add("GET", r"/users/(?P<id>[^/]+)", self._get_user)
        router.add("GET", r"/users/(?P<id>[^/]+)/(?P<relation>following|followers)", self._list)
        router.add("GET", r"/resolve", self._resolve)
        return router

    def _authorized(self, request: SimRequest) -> bool:
        """The key is optional; only a key that is present and wrong is refused."""
        header = request.headers.get("Authorization")
        if self.api_key is None or header is None:
            return True
        scheme, _, key = header.partition(" ")
        return scheme.lower() == "bearer" and key.strip() == self.api_key

    def _get_user(self, request: SimRequest, params: dict[str, str]) -> SimResponse:
        number = self._codec.decode(params["id"])
        if number is None:
            return error_response(400, "invalid userId")
        with self._lock:
            if not self._present(number):
                return error_response(404, "user not found")
            return SimResponse(200, data_one(self._render(number)))

    def _get_by_handle(self, request: SimRequest, params: dict[str, str]) -> SimResponse:
        with self._lock:
            number = self._graph.find_handle(params["handle"])
            if number is None or not self._present(number):
                return error_response(404, "user not found")
            return SimResponse(200, data_one(self._render(number)))

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
            if self.shuffle_each_request:
                page = self._orders.shuffled_page(number, relation, offset, limit, self._rng)
            else:
                replica = self._rng.randrange(self.replicas)
                page = self._orders.page(number, relation, replica, offset, limit)
            return SimResponse(200, data_body(self._render_many(page)))

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

    def _render_now(self, u: int) -> bytes:
        graph = self._graph
        return render_user(
            UserFacts(
                number=u,
                id=self._codec.encode(u),
                handle=graph.handles[u],
                name=self._name(u),
                follower_count=graph.shown[u],
                followee_count=graph.following.count(u),
                verified=graph.has_flag(u, VERIFIED),
                deactivated=graph.has_flag(u, DEACTIVATED),
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

    def _new_edges(self, owner: int, others: Iterable[int], relation: Relation) -> list[int]:
        """The distinct `others` not yet linked to `owner` by `relation`; refuses self-follows."""
        edges = self._graph.edges(relation)
        new = [o for o in dict.fromkeys(others) if not edges.contains(owner, o)]
        if owner in new:
            raise ValueError("an account cannot follow itself")
        return new

    def _set_flag(self, user: str, flag: int, on: bool) -> None:
        with self._lock:
            number = self._number(user)
            with self._orders.moving(number):
                self._graph.set_flag(number, flag, on)

    def _listed(self, user: str, relation: Relation) -> list[str]:
        with self._lock:
            number = self._number(user)
            if not self._present(number):
                return []
            graph, encode = self._graph, self._codec.encode
            members = sorted(graph.edges(relation).members(number))
            return [encode(u) for u in members if graph.visible(u)]


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
