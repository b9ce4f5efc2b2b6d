"""SoundCloud as the config and messages see it: the `[soundcloud]` section (its OAuth client
is required by its watches) and its profile hosts. The client is `soundcloud.py`."""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import field_validator

from watcher.config_fields import Concurrency, Rate, integer, require_http
from watcher.platforms.kind import PlatformKind, PlatformSettings

PROFILE_HOSTS = ("soundcloud.com", "www.soundcloud.com", "m.soundcloud.com")
# Share links (`https://on.soundcloud.com/AbCd123`) name an account too; /resolve reads them.
SHARE_HOSTS = ("on.soundcloud.com",)
# The API pages at most 200 entries.
MAX_PAGE_SIZE = 200


class SoundCloudSettings(PlatformSettings):
    ENVIRONMENT: ClassVar[dict[str, str]] = {
        "client_id": "SOUNDCLOUD_CLIENT_ID",
        "client_secret": "SOUNDCLOUD_CLIENT_SECRET",
    }

    base_url: str = "https://api.soundcloud.com"
    token_url: str = "https://secure.soundcloud.com/oauth/token"
    client_id: str = ""
    client_secret: str = ""
    page_size: Annotated[int, integer(1, MAX_PAGE_SIZE)] = MAX_PAGE_SIZE
    requests_per_second: Rate = 5.0
    max_concurrent: Concurrency = 2

    @field_validator("base_url", "token_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        return require_http(value)

    def problem_for_watches(self) -> str | None:
        missing = [key for key in ("client_id", "client_secret") if not getattr(self, key)]
        if not missing:
            return None
        names = " and ".join(f"soundcloud.{key}" for key in missing)
        env = " / ".join(self.ENVIRONMENT[key] for key in missing)
        return f"{names}: required by soundcloud watches (or set {env} in the environment)"


KIND = PlatformKind(
    "soundcloud", SoundCloudSettings, frozenset(PROFILE_HOSTS), "watcher.platforms.soundcloud"
)
