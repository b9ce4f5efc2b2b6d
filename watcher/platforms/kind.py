"""What every platform declares, apart from its client: its config section and its facts.

A platform's kind module (`audius_kind.py`, ...) is light: config validation, message text and
the reading commands consult it without importing the client, whose HTTP stack is the
heaviest import watcher has. `platforms/registry.py` finds kinds by name.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

from watcher.config_fields import Concurrency, Quota, Rate, Reserve, Strict


class PlatformSettings(Strict):
    """What every platform section has: the request budget shared by its watches."""

    # Keys a user may leave out of the file and keep in the environment instead, under these
    # well-known names (secrets, mostly).
    ENVIRONMENT: ClassVar[dict[str, str]] = {}

    requests_per_second: Rate = 10.0
    max_concurrent: Concurrency = 4
    # Calendar periods in UTC, counted over every process using the database (0: none).
    requests_per_month: Quota = 0
    requests_per_day: Quota = 0
    quota_reserve: Reserve = 0.05

    def problem_for_watches(self) -> str | None:
        """Why watches of this platform cannot run with these settings (None: they can)."""
        return None


@dataclass(frozen=True)
class PlatformKind:
    """A platform as its kind module declares it."""

    name: str
    display_name: str  # how messages and pages name it: `Audius`, `SoundCloud`
    settings: type[PlatformSettings]  # its `[name]` section of the config
    profile_hosts: frozenset[str]  # the only hosts a profile link in a message may point to
    client: str  # the module whose import registers the client (`registry.register`)
    # What an account written by a user (in the config, or on the command line) may name,
    # as comparable keys: `handle:<lowercased>`, `id:<id>`, `link:<share link>`; empty for
    # text that names no account. Offline: read from the text alone, never asked of the API.
    account_keys: Callable[[str], frozenset[str]]


def handle_key(handle: str) -> str:
    """The key of a handle: handles match whatever their case and leading `@`."""
    return "handle:" + handle.strip().lstrip("@").casefold()


def id_key(account_id: str) -> str:
    """The key of an account id (ids are compared exactly)."""
    return "id:" + account_id
