"""SoundCloud as the config and messages see it: the `[soundcloud]` section (its OAuth client
is required by its watches) and its profile hosts. The client is `soundcloud.py`."""

from __future__ import annotations

import re
from typing import Annotated, ClassVar
from urllib.parse import urlsplit

from pydantic import field_validator

from watcher.config_fields import Concurrency, Rate, integer, require_http
from watcher.platforms.kind import PlatformKind, PlatformSettings, handle_key, id_key

PROFILE_HOSTS = ("soundcloud.com", "www.soundcloud.com", "m.soundcloud.com")
# Share links (`https://on.soundcloud.com/AbCd123`) name an account too; /resolve reads them.
SHARE_HOSTS = ("on.soundcloud.com",)
# The API pages at most 200 entries.
MAX_PAGE_SIZE = 200
URN_PREFIX = "soundcloud:users:"
URN = re.compile(r"^soundcloud:users:([0-9]{1,20})$")
NUMERIC = re.compile(r"^[0-9]{1,20}$")
PERMALINK = re.compile(r"^[A-Za-z0-9_-]{1,100}$")
SHARE_CODE = re.compile(r"^[A-Za-z0-9]{1,64}$")


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


def account_form(account: str) -> tuple[str, str] | None:
    """("id", URN), ("permalink", name) or ("share", link) for what a user wrote; None if it
    is none of them."""
    text = account.strip()
    match = URN.match(text)
    if match:
        return "id", text
    if NUMERIC.match(text):
        return "id", URN_PREFIX + text
    if text.lower().startswith(SHARE_HOSTS):
        text = f"https://{text}"
    if "://" in text or text.lower().startswith(PROFILE_HOSTS):
        parsed = urlsplit(text if "://" in text else f"https://{text}")
        if parsed.scheme not in ("http", "https"):
            return None
        parts = [part for part in parsed.path.split("/") if part]
        if len(parts) != 1:
            return None  # a track, a set, a sub-page: not a profile
        if parsed.hostname in SHARE_HOSTS and SHARE_CODE.match(parts[0]):
            return "share", f"https://{parsed.hostname}/{parts[0]}"
        if parsed.hostname not in PROFILE_HOSTS:
            return None
        text = parts[0]
    return ("permalink", text) if PERMALINK.match(text) else None


def account_keys(account: str) -> frozenset[str]:
    """A URN or a number names an id (a number may also be an all-digit permalink); a profile
    URL or a permalink a handle; a share link only itself, until a poll has resolved it."""
    form = account_form(account)
    if form is None:
        return frozenset()
    kind, value = form
    if kind == "share":
        return frozenset({"link:" + value})
    if kind == "permalink":
        return frozenset({handle_key(value)})
    keys = {id_key(value)}
    if NUMERIC.match(account.strip()):
        keys.add(handle_key(account))
    return frozenset(keys)


KIND = PlatformKind(
    "soundcloud",
    "SoundCloud",
    SoundCloudSettings,
    frozenset(PROFILE_HOSTS),
    "watcher.platforms.soundcloud",
    account_keys,
)
