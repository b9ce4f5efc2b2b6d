"""Audius as the config and messages see it: the `[audius]` section and its profile hosts.
The client is `audius.py`."""

from __future__ import annotations

import re
from typing import Annotated, ClassVar
from urllib.parse import urlparse

from pydantic import field_validator

from watcher.config_fields import Quota, integer, require_http
from watcher.platforms.kind import PlatformKind, PlatformSettings, handle_key, id_key

PROFILE_HOSTS = ("audius.co", "www.audius.co")
HANDLE = re.compile(r"^@?[A-Za-z0-9_.\-]{1,64}$")
ID = re.compile(r"^[A-Za-z0-9]{1,64}\Z")
# The API's `limit` is 1..100.
MAX_PAGE_SIZE = 100


class AudiusSettings(PlatformSettings):
    ENVIRONMENT: ClassVar[dict[str, str]] = {
        "api_key": "AUDIUS_API_KEY",
        "bearer_token": "AUDIUS_BEARER_TOKEN",
    }

    base_url: str = "https://api.audius.co/v1"
    # Sent as the query parameter `api_key` (the app's identity, credited to its plan).
    api_key: str = ""
    # Sent as `Authorization: Bearer <token>` only when set: a different credential.
    bearer_token: str = ""
    app_name: str = ""
    page_size: Annotated[int, integer(1, MAX_PAGE_SIZE)] = MAX_PAGE_SIZE
    # The free plan's monthly quota.
    requests_per_month: Quota = 500_000

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        return require_http(value)


def handle_from(account: str) -> str | None:
    """The handle or id in what a user wrote: `name`, `@name`, or an audius.co profile URL
    (given back as `@name`, since a URL names a handle, never an id); None for anything else."""
    text = account.strip()
    if "://" in text or text.startswith(PROFILE_HOSTS):
        parsed = urlparse(text if "://" in text else f"https://{text}")
        if parsed.hostname not in PROFILE_HOSTS:
            return None
        parts = [part for part in parsed.path.split("/") if part]
        if len(parts) != 1:
            return None
        text = "@" + parts[0]
    return text if HANDLE.match(text) else None


def account_keys(account: str) -> frozenset[str]:
    """`@name` and profile URLs name a handle; a bare `name` may be a handle or an id (the
    client tries the handle first, as people write handles)."""
    found = handle_from(account)
    if found is None:
        return frozenset()
    keys = {handle_key(found)}
    if not found.startswith("@") and ID.match(found):
        keys.add(id_key(found))
    return frozenset(keys)


KIND = PlatformKind(
    "audius",
    "Audius",
    AudiusSettings,
    frozenset(PROFILE_HOSTS),
    "watcher.platforms.audius",
    account_keys,
)
