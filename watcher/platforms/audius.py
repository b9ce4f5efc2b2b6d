"""Audius: public reads, offset paging over an unstable order, hashid ids.

Facts this client relies on (see API-NOTES): the app's key travels as the query parameter
`api_key` (with `app_name`), an optional bearer token as `Authorization: Bearer`; never send
`user_id` (403); `limit` is 1..100;
an unknown id lists as an empty 200, so existence is checked with `GET /users/{id}`;
deactivated accounts are left out of lists.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

import msgspec

from watcher.errors import AccountNotFound, PlatformError
from watcher.http.json_client import Decode, HttpStatusError
from watcher.offset_paging import collect_by_offset
from watcher.platforms.audius_kind import ID, AudiusSettings, handle_from
from watcher.platforms.base import Listing, Members, Profile, Relation, check_counts, int_or_none
from watcher.platforms.registry import PlatformContext, register

# Ids per bulk profile request (`GET /users?id=A&id=B`); the simulator refuses more, the
# real server's limit is not documented.
BULK_IDS = 100
# A verifying pass believes the list ends where this many more answers agree it does.
VERIFY_CONFIRMATIONS = 2


class AudiusClient:
    name = "audius"

    def __init__(self, context: PlatformContext) -> None:
        settings = context.config.section(self.name, AudiusSettings)
        self._http = context.http
        self._base = settings.base_url
        self._page_size = settings.page_size
        self._max_passes = context.config.defaults.max_passes
        self._headers = _headers(settings)
        self._params = _credentials(settings)

    async def _get(self, path: str, decode: Decode, **params: str | int | list[str]) -> Any:
        _, body = await self._http.get_json(
            f"{self._base}{path}",
            params={**self._params, **params},
            headers=self._headers,
            decode=decode,
        )
        return body

    async def resolve(self, account: str) -> Profile:
        handle = handle_from(account)
        if handle is None:
            raise AccountNotFound(f"audius: {account!r} is not a handle, id or audius.co URL")
        # Handles first: they are what people write, and a handle can happen to decode as an id.
        try:
            body = await self._get(
                f"/users/handle/{quote(handle.lstrip('@'), safe='')}", _ONE.decode
            )
        except HttpStatusError as exc:
            if exc.status not in (400, 404):
                raise
        else:
            return _profile(body.data)
        found = None if handle.startswith("@") else await self.profile(handle)
        if found is None:
            raise AccountNotFound(f"audius: no account {account!r}")
        return found

    async def profile(self, account_id: str) -> Profile | None:
        try:
            body = await self._get(f"/users/{quote(account_id, safe='')}", _ONE.decode)
        except HttpStatusError as exc:
            if exc.status in (400, 404):
                return None
            raise
        return _profile(body.data)

    async def profiles(self, account_ids: Sequence[str]) -> dict[str, Profile | None]:
        """Many profiles, up to BULK_IDS a request (`GET /users?id=A&id=B`); an account the
        answer leaves out is unknown (None), as a 404 is for one."""
        found: dict[str, Profile | None] = dict.fromkeys(account_ids)
        wanted = list(found)
        for start in range(0, len(wanted), BULK_IDS):
            chunk = wanted[start : start + BULK_IDS]
            page: list[Profile] = await self._get("/users", _page, id=chunk)
            for profile in page:
                if profile.id in found:
                    found[profile.id] = profile
        return found

    async def listing(
        self,
        account: Profile,
        relation: Relation,
        members: Members,
        *,
        verify: bool = False,
        at_least: int = 0,
    ) -> Listing:
        path = f"/users/{quote(account.id, safe='')}/{relation}"

        async def fetch(offset: int, limit: int) -> list[Profile]:
            page: list[Profile] = await self._get(path, _page, offset=offset, limit=limit)
            return page

        return await collect_by_offset(
            fetch,
            self._page_size,
            self._max_passes,
            members,
            account.count_of(relation),
            confirm_end=VERIFY_CONFIRMATIONS if verify else 0,
            at_least=at_least,
        )

    async def aclose(self) -> None:
        return None


def _credentials(settings: AudiusSettings) -> dict[str, str | int | list[str]]:
    """The query parameters that identify the app on every request: the API key goes in the
    query (`api_key`), as the official SDK sends it, or the API never credits it to the app's
    plan. Errors show URLs without their query string, and the redactor masks `api_key=`."""
    params: dict[str, str | int | list[str]] = {}
    if settings.api_key:
        params["api_key"] = settings.api_key
    if settings.app_name:
        params["app_name"] = settings.app_name
    return params


def _headers(settings: AudiusSettings) -> dict[str, str]:
    """The bearer token is a different credential from the key (it lets an app act for its
    users) and is sent only when configured."""
    headers = {"Accept": "application/json"}
    if settings.bearer_token:
        headers["Authorization"] = f"Bearer {settings.bearer_token}"
    return headers


class _User(msgspec.Struct):
    """The fields of a user object we read; the other thirty-odd are skipped unparsed.

    Values stay `Any` and are checked below, so an odd value degrades one field, not the page.
    """

    id: Any = None
    handle: Any = None
    name: Any = None
    follower_count: Any = None
    followee_count: Any = None
    is_verified: Any = None
    is_deactivated: Any = None
    is_available: Any = None


class _Many(msgspec.Struct):
    data: list[_User]


class _One(msgspec.Struct):
    data: _User


_MANY = msgspec.json.Decoder(_Many)
_ONE = msgspec.json.Decoder(_One)


class _TypedUser(msgspec.Struct):
    """The same fields with their documented types, checked by msgspec itself (fast path)."""

    id: str | int
    handle: str
    name: str | None = None
    follower_count: int | None = None
    followee_count: int | None = None
    is_verified: bool = False
    is_deactivated: bool = False
    is_available: bool = True


class _TypedMany(msgspec.Struct):
    data: list[_TypedUser]


_TYPED_MANY = msgspec.json.Decoder(_TypedMany)


def _page(raw: bytes) -> list[Profile]:
    """A list page's profiles. Pages as documented decode with their types checked in C;
    a page with an odd value anywhere takes the lenient path, which checks each field."""
    try:
        users = _TYPED_MANY.decode(raw).data
    except msgspec.ValidationError:
        return [_profile(user) for user in _MANY.decode(raw).data]
    if not all(user.handle and _id_text(user.id) for user in users):
        raise PlatformError("audius: a user object lacks a usable id or handle")
    profiles = [
        Profile(
            str(user.id),
            user.handle,
            user.name if user.name is not None else user.handle,
            "https://audius.co/" + user.handle,
            user.follower_count,
            user.followee_count,
            user.is_verified,
            user.is_deactivated or not user.is_available,
        )
        for user in users
    ]
    check_counts(profiles)
    return profiles


def _id_text(value: Any) -> str | None:
    """An account id as text: a hashid (letters and digits) or a plain non-negative integer;
    None for anything else (empty, blank, odd characters, a bool), which makes a page
    malformed rather than listing an account nobody can name."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value) if 0 <= value < 2**63 else None
    if isinstance(value, str) and ID.match(value):
        return value
    return None


def _profile(user: _User) -> Profile:
    """The fields we need from a user object."""
    user_id, handle = _id_text(user.id), user.handle
    if user_id is None or not isinstance(handle, str) or not handle:
        raise PlatformError("audius: a user object lacks a usable id or handle")
    name = user.name
    return Profile(
        id=user_id,
        handle=handle,
        name=name if isinstance(name, str) else handle,
        url=f"https://audius.co/{handle}",
        follower_count=int_or_none(user.follower_count),
        following_count=int_or_none(user.followee_count),
        is_verified=user.is_verified is True,
        deactivated=user.is_deactivated is True or user.is_available is False,
    )


@register("audius")
def _create(context: PlatformContext) -> AudiusClient:
    return AudiusClient(context)
