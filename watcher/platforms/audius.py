"""Audius: public reads, offset paging over an unstable order, hashid ids.

Facts this client relies on (see API-NOTES): never send `user_id` (403); `limit` is 1..100;
an unknown id lists as an empty 200, so existence is checked with `GET /users/{id}`;
deactivated accounts are left out of lists.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote, urlparse

from watcher.errors import AccountNotFound, PlatformError
from watcher.http import HttpStatusError, get_json
from watcher.offset_paging import collect_by_offset
from watcher.platforms.base import Listing, Members, Profile, Relation
from watcher.platforms.registry import PlatformContext, register

PROFILE_HOSTS = ("audius.co", "www.audius.co")
_HANDLE = re.compile(r"^@?[A-Za-z0-9_.\-]{1,64}$")


class AudiusClient:
    name = "audius"

    def __init__(self, context: PlatformContext) -> None:
        settings = context.config.audius
        self._http = context.http
        self._retry = context.retry
        self._budget = context.budget
        self._base = settings.base_url
        self._page_size = settings.page_size
        self._max_passes = context.config.defaults.max_passes
        self._headers = {"Accept": "application/json"}
        if settings.api_key:
            self._headers["Authorization"] = f"Bearer {settings.api_key}"
        self._params: dict[str, str | int] = {}
        if settings.app_name:
            self._params["app_name"] = settings.app_name

    async def _get(self, path: str, **params: str | int) -> Any:
        _, body = await get_json(
            self._http,
            f"{self._base}{path}",
            params={**self._params, **params},
            headers=self._headers,
            retry=self._retry,
            budget=self._budget,
        )
        return body

    async def resolve(self, account: str) -> Profile:
        handle = _handle_from(account)
        if handle is None:
            raise AccountNotFound(f"audius: {account!r} is not a handle, id or audius.co URL")
        # Handles first: they are what people write, and a handle can happen to decode as an id.
        try:
            body = await self._get(f"/users/handle/{quote(handle.lstrip('@'), safe='')}")
        except HttpStatusError as exc:
            if exc.status not in (400, 404):
                raise
        else:
            return _profile(_data(body, dict))
        found = None if handle.startswith("@") else await self.profile(handle)
        if found is None:
            raise AccountNotFound(f"audius: no account {account!r}")
        return found

    async def profile(self, account_id: str) -> Profile | None:
        try:
            body = await self._get(f"/users/{quote(account_id, safe='')}")
        except HttpStatusError as exc:
            if exc.status in (400, 404):
                return None
            raise
        return _profile(_data(body, dict))

    async def listing(self, account_id: str, relation: Relation, members: Members) -> Listing:
        path = f"/users/{quote(account_id, safe='')}/{relation}"

        async def fetch(offset: int, limit: int) -> list[Profile]:
            body = await self._get(path, offset=offset, limit=limit)
            return [_profile(item) for item in _data(body, list)]

        return await collect_by_offset(fetch, self._page_size, self._max_passes, members)

    async def aclose(self) -> None:
        return None


def _handle_from(account: str) -> str | None:
    """The handle or id in what a user wrote: `name`, `@name`, or an audius.co profile URL."""
    text = account.strip()
    if "://" in text or text.startswith(PROFILE_HOSTS):
        parsed = urlparse(text if "://" in text else f"https://{text}")
        if parsed.hostname not in PROFILE_HOSTS:
            return None
        parts = [part for part in parsed.path.split("/") if part]
        if len(parts) != 1:
            return None
        text = "@" + parts[0]
    return text if _HANDLE.match(text) else None


def _data(body: Any, kind: type) -> Any:
    if not isinstance(body, dict) or not isinstance(body.get("data"), kind):
        raise PlatformError(f"audius: unexpected body (no {kind.__name__} 'data')")
    return body["data"]


def _profile(item: Any) -> Profile:
    """The fields we need from a user object; anything else is ignored."""
    if not isinstance(item, dict):
        raise PlatformError("audius: a list entry is not an object")
    user_id, handle = item.get("id"), item.get("handle")
    if not isinstance(user_id, str | int) or not isinstance(handle, str):
        raise PlatformError("audius: a user object lacks its id or handle")
    name = item.get("name")
    return Profile(
        id=str(user_id),
        handle=handle,
        name=name if isinstance(name, str) else handle,
        url=f"https://audius.co/{handle}",
        follower_count=_int_or_none(item.get("follower_count")),
        following_count=_int_or_none(item.get("followee_count")),
        is_verified=item.get("is_verified") is True,
        deactivated=item.get("is_deactivated") is True or item.get("is_available") is False,
    )


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


@register("audius")
def _create(context: PlatformContext) -> AudiusClient:
    return AudiusClient(context)
