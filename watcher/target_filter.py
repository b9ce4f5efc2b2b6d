"""Filters on whom an event is about: its target's follower count, verification and identity.

A notifier and a signal may each carry one (`min_target_followers`, `max_target_followers`,
`verified_only`, `include_targets`, `exclude_targets`). Events a notifier's filter refuses are
still recorded; they are only not written to that notifier's outbox. Accounts in the lists are
written as the config writes watched accounts (a handle, an id, a profile URL), and matched
against the target without asking the platform: a poll deciding its outbox rows must not wait
on the network.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from watcher.platforms import registry
from watcher.platforms.base import Profile
from watcher.printable import printable

RefKind = Literal["handle", "id", "either"]
# Longer than any handle, id or profile URL a platform issues.
MAX_REF = 300
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
# A URN such as `soundcloud:users:123`: an id as the platform's API writes it.
_URN = re.compile(r"^[a-z][a-z0-9-]*(?::[A-Za-z0-9_-]+){2,}$")


@dataclass(frozen=True, slots=True)
class TargetRef:
    """One account as a filter list names it.

    `platform` is set when the text says which (a profile URL's host); otherwise the ref
    matches on any platform. `kind` "either" (a bare word) matches an id or a handle.
    Handles compare without case and without a leading `@`; ids exactly, where a bare number
    also matches an id that ends in `:<number>` (SoundCloud's `soundcloud:users:123`).
    """

    text: str
    value: str
    kind: RefKind
    platform: str | None = None

    def matches(self, platform: str, profile: Profile) -> bool:
        if self.platform is not None and self.platform != platform:
            return False
        if self.kind in ("id", "either") and _same_id(self.value, profile.id):
            return True
        return self.kind in ("handle", "either") and (
            profile.handle.lstrip("@").casefold() == self.value.casefold()
        )

    def same_account(self, other: TargetRef) -> bool:
        """Whether two refs surely name one account (written alike, possibly in other forms:
        `deadmau5` and `https://audius.co/deadmau5`)."""
        if None not in (self.platform, other.platform) and self.platform != other.platform:
            return False
        kinds = {self.kind, other.kind}
        if kinds == {"handle", "id"}:
            return False
        if "id" in kinds:
            return self.value == other.value
        return self.value.casefold() == other.value.casefold()


def _same_id(written: str, actual: str) -> bool:
    return actual == written or (written.isdigit() and actual.endswith(f":{written}"))


def parse_ref(text: str) -> TargetRef:
    """`text` as a `TargetRef`; ValueError naming what is wrong with it."""
    if not isinstance(text, str):
        raise ValueError("must be a string: a handle, an id or a profile URL")
    value = text.strip()
    if not value:
        raise ValueError("must not be empty")
    if len(value) > MAX_REF or _CONTROL.search(value):
        raise ValueError(f"{_short(value)} is not a handle, an id or a profile URL")
    if "://" in value or _known_host(value.split("/", 1)[0].lower()) is not None:
        return _from_url(value, text)
    if _URN.match(value):
        return TargetRef(text, value, "id")
    if value.startswith("@"):
        handle = value[1:]
        if not handle or "/" in handle:
            raise ValueError(f"{_short(value)} is not a handle")
        return TargetRef(text, handle, "handle")
    if "/" in value or " " in value:
        raise ValueError(f"{_short(value)} is not a handle, an id or a profile URL")
    return TargetRef(text, value, "either")


def _from_url(value: str, text: str) -> TargetRef:
    parts = urlsplit(value if "://" in value else f"https://{value}")
    host = (parts.hostname or "").lower()
    platform = _known_host(host)
    if parts.scheme not in ("http", "https") or platform is None:
        hosts = (min(registry.profile_hosts(name), key=len) for name in registry.BUILTIN)
        known = ", ".join(f"https://{host}/NAME" for host in hosts)
        raise ValueError(f"{_short(value)} is not a profile URL ({known})")
    segments = [segment for segment in parts.path.split("/") if segment]
    if len(segments) != 1:
        raise ValueError(f"{_short(value)} is not a profile URL (one name after the host)")
    return TargetRef(text, segments[0], "handle", platform)


def _known_host(host: str) -> str | None:
    """The built-in platform whose profile pages live on `host`."""
    for name in registry.BUILTIN:
        if host in registry.profile_hosts(name):
            return name
    return None


def _short(value: str) -> str:
    shown = value if len(value) <= 60 else value[:57] + "..."
    return f"'{printable(shown)}'"


@dataclass(frozen=True, slots=True)
class TargetFilter:
    """Which targets pass. Counts unknown to the platform fail a count bound: a filter meant
    to keep the famous (or the unknown) out must not let through what it cannot check."""

    min_followers: int | None = None
    max_followers: int | None = None
    verified_only: bool = False
    include: tuple[TargetRef, ...] = ()
    exclude: tuple[TargetRef, ...] = ()

    def passes(self, platform: str, target: Profile) -> bool:
        count = target.follower_count
        if self.min_followers is not None and (count is None or count < self.min_followers):
            return False
        if self.max_followers is not None and (count is None or count > self.max_followers):
            return False
        if self.verified_only and not target.is_verified:
            return False
        if self.include and not any(ref.matches(platform, target) for ref in self.include):
            return False
        return not any(ref.matches(platform, target) for ref in self.exclude)
