"""Audius as the config and messages see it: the `[audius]` section and its profile hosts.
The client is `audius.py`."""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import field_validator

from watcher.config_fields import Quota, integer, require_http
from watcher.platforms.kind import PlatformKind, PlatformSettings

PROFILE_HOSTS = ("audius.co", "www.audius.co")
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


KIND = PlatformKind("audius", AudiusSettings, frozenset(PROFILE_HOSTS), "watcher.platforms.audius")
