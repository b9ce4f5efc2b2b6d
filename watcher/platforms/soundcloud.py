"""SoundCloud: rationed OAuth tokens, cursor paging by next_href, URN ids.

Facts this client relies on (see API-NOTES): every request carries `Authorization: OAuth
<token>` from a token that is persisted and shared (`watcher.oauth`); lists are paged with
`linked_partitioning=true` and followed by `next_href` until it is absent or null, never by
offset; an unknown or deleted id lists as an empty 200 while `GET /users/{id}` says 404, so the
account's existence is checked apart from its list; `followers_count` / `followings_count`
have been seen at 0 for everyone, so they are never the only check; `/resolve` answers a 302
whose Location (and body) names the user, and takes `on.soundcloud.com` share links too; ids
are URNs (`soundcloud:users:123`), with plain numbers still around.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

import msgspec

from watcher.cursor_paging import CursorPage, collect_by_cursor
from watcher.errors import AccountNotFound, PlatformError
from watcher.http.json_client import Decode, HttpStatusError, JsonAnswer
from watcher.oauth import ClientCredentials, TokenKeeper
from watcher.platforms.base import Listing, Members, Profile, Relation, int_or_none
from watcher.platforms.registry import PlatformContext, register
from watcher.platforms.soundcloud_kind import (
    NUMERIC,
    URN,
    URN_PREFIX,
    SoundCloudSettings,
    account_form,
)

_LOCATION_USER = re.compile(
    r"/users/(soundcloud:users:[0-9]{1,20}|soundcloud%3Ausers%3A[0-9]{1,20}|[0-9]{1,20})/?$"
)
_PATHS: dict[Relation, str] = {"following": "followings", "followers": "followers"}


class SoundCloudClient:
    name = "soundcloud"

    def __init__(self, context: PlatformContext) -> None:
        settings = context.config.section(self.name, SoundCloudSettings)
        self._http = context.http
        self._base = settings.base_url
        self._page_size = settings.page_size
        self._tokens = TokenKeeper(
            self.name,
            ClientCredentials(settings.token_url, settings.client_id, settings.client_secret),
            http=context.http,
            store=context.store,
            clock=context.clock,
        )

    async def _get(
        self,
        url: str,
        params: Mapping[str, str | int] | None = None,
        ok_statuses: frozenset[int] = frozenset({200}),
        decode: Decode | None = None,
    ) -> JsonAnswer:
        """GET with the current token; a 401 gets one new token and one more try."""
        token = await self._tokens.access_token()
        try:
            return await self._send(url, params, ok_statuses, token, decode)
        except HttpStatusError as exc:
            if exc.status != 401:
                raise
        token = await self._tokens.renew(rejected=token)
        try:
            return await self._send(url, params, ok_statuses, token, decode)
        except HttpStatusError as exc:
            if exc.status == 401:
                self._tokens.refused_again()
                raise PlatformError(f"soundcloud: a new token was refused too ({exc})") from None
            raise

    async def _send(
        self,
        url: str,
        params: Mapping[str, str | int] | None,
        ok_statuses: frozenset[int],
        token: str,
        decode: Decode | None,
    ) -> JsonAnswer:
        return await self._http.request_json(
            "GET",
            url,
            params=params,
            headers={"Accept": "application/json", "Authorization": f"OAuth {token}"},
            ok_statuses=ok_statuses,
            decode=decode,
        )

    async def resolve(self, account: str) -> Profile:
        form = account_form(account)
        if form is None:
            raise AccountNotFound(
                f"soundcloud: {account!r} is not a profile URL, share link, permalink, "
                "numeric id or URN"
            )
        kind, value = form
        if kind == "id":
            found = await self.profile(value)
            if found is not None:
                return found
            if value.startswith(URN_PREFIX):
                raise AccountNotFound(f"soundcloud: no account {account!r}")
            # An all-digit permalink is possible: fall through to resolve it as one.
        user_id = await self._resolve_account(value if kind == "share" else _profile_url(value))
        found = None if user_id is None else await self.profile(user_id)
        if found is None:
            what = "share link" if kind == "share" else "account"
            raise AccountNotFound(f"soundcloud: no {what} {account!r}")
        return found

    async def _resolve_account(self, url: str) -> str | None:
        """The URN behind a profile URL or an on.soundcloud.com share link, which /resolve
        takes alike (API-NOTES: 302 or 404); should it point at a profile page instead of
        the API, that page's permalink is resolved in turn, once."""
        found = await self._resolve(url)
        if isinstance(found, _Permalink):
            found = await self._resolve(_profile_url(found.name))
        return found if isinstance(found, str) else None

    async def _resolve(self, url: str) -> str | _Permalink | None:
        """What /resolve says `url` is: a user's URN, a profile page's permalink, or None
        (unknown, or not a user)."""
        try:
            answer = await self._get(
                f"{self._base}/resolve",
                {"url": url},
                ok_statuses=frozenset({200, 301, 302, 303, 307, 308}),
            )
        except HttpStatusError as exc:
            if exc.status in (400, 404):
                return None
            raise
        if answer.status == 200:  # a server that resolved in place: the body is the resource
            return _profile(_user_of(answer.body)).id if _is_user(answer.body) else None
        location = answer.headers.get("location")
        if not location and isinstance(answer.body, dict):
            body_location = answer.body.get("location")
            location = body_location if isinstance(body_location, str) else None
        if not location:
            raise PlatformError("soundcloud: /resolve redirected without a location")
        user_id = _user_id_in(location)
        if user_id is None and (form := account_form(location)) and form[0] == "permalink":
            return _Permalink(form[1])
        return user_id

    async def profile(self, account_id: str) -> Profile | None:
        try:
            answer = await self._get(f"{self._base}/users/{_path_id(account_id)}")
        except HttpStatusError as exc:
            if exc.status in (400, 404, 410):
                return None
            raise
        return _profile(_user_of(answer.body))

    async def profiles(self, account_ids: Sequence[str]) -> dict[str, Profile | None]:
        return {account_id: await self.profile(account_id) for account_id in account_ids}

    async def listing(
        self,
        account: Profile,
        relation: Relation,
        members: Members,
        *,
        verify: bool = False,
        at_least: int = 0,
    ) -> Listing:
        # A cursor chain ends only where next_href does: a verifying pass is the same read.
        # The counts are unreliable here (seen at 0): next_href alone says where the list ends.
        first = f"{self._base}/users/{_path_id(account.id)}/{_PATHS[relation]}"

        async def fetch(url: str, params: Mapping[str, str | int] | None) -> CursorPage:
            return _page((await self._get(url, params, decode=_PAGE.decode)).body)

        params: dict[str, str | int] = {"limit": self._page_size, "linked_partitioning": "true"}
        return await collect_by_cursor(fetch, first, params, self._page_size, members)

    async def aclose(self) -> None:
        return None


@dataclass(frozen=True, slots=True)
class _Permalink:
    """A /resolve answer that points at a profile page rather than at the API's user."""

    name: str


def _profile_url(permalink: str) -> str:
    return f"https://soundcloud.com/{permalink}"


def _path_id(account_id: str) -> str:
    return quote(account_id, safe=":")


def _user_id_in(location: str) -> str | None:
    """The URN of the user a /resolve Location points at; None for anything but a user."""
    match = _LOCATION_USER.search(urlsplit(location).path)
    if match is None:
        return None
    found = match.group(1).replace("%3A", ":")
    return found if found.startswith(URN_PREFIX) else URN_PREFIX + found


class _User(msgspec.Struct):
    """The fields of a user object we read; the rest are skipped unparsed. Values stay `Any`
    and are checked below, so an odd value degrades one field, not the page."""

    urn: Any = None
    id: Any = None
    permalink: Any = None
    username: Any = None
    permalink_url: Any = None
    followers_count: Any = None
    followings_count: Any = None
    verified: Any = None


class _Page(msgspec.Struct):
    collection: list[_User]
    next_href: Any = None


_PAGE = msgspec.json.Decoder(_Page)


def _page(page: _Page) -> CursorPage:
    next_href = page.next_href
    if next_href is not None and not isinstance(next_href, str):
        raise PlatformError("soundcloud: next_href is not a string")
    return CursorPage([_profile(user) for user in page.collection], next_href or None)


def _is_user(item: Any) -> bool:
    return isinstance(item, dict) and item.get("kind", "user") == "user"


def _user_of(body: Any) -> _User:
    """A user object from an already decoded body (single-user answers are rare: plain JSON)."""
    try:
        return msgspec.convert(body, _User)
    except msgspec.ValidationError:
        raise PlatformError("soundcloud: a user object is not an object") from None


def _profile(user: _User) -> Profile:
    """The fields we need from a user object: URN id, permalink, username, permalink_url."""
    user_id = _urn_of(user)
    permalink = user.permalink
    if user_id is None or not isinstance(permalink, str) or not permalink:
        raise PlatformError("soundcloud: a user object lacks its id or permalink")
    username, url = user.username, user.permalink_url
    return Profile(
        id=user_id,
        handle=permalink,
        name=username if isinstance(username, str) and username else permalink,
        url=url if isinstance(url, str) and url else f"https://soundcloud.com/{permalink}",
        follower_count=int_or_none(user.followers_count),
        following_count=int_or_none(user.followings_count),
        is_verified=user.verified is True,
    )


def _urn_of(user: _User) -> str | None:
    urn = user.urn
    if isinstance(urn, str) and URN.match(urn):
        return urn
    raw = user.id
    if isinstance(raw, int) and not isinstance(raw, bool) and 0 <= raw < 10**20:
        return f"{URN_PREFIX}{raw}"
    if isinstance(raw, str) and (URN.match(raw) or NUMERIC.match(raw)):
        return raw if raw.startswith(URN_PREFIX) else URN_PREFIX + raw
    return None


@register("soundcloud")
def _create(context: PlatformContext) -> SoundCloudClient:
    return SoundCloudClient(context)
