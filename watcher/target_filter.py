"""Filters on whom an event is about: its target's follower count, verification and identity.

A notifier and a signal may each carry one (`min_target_followers`, `max_target_followers`,
`verified_only`, `include_targets`, `exclude_targets`). Events a notifier's filter refuses are
still recorded; they are only not written to that notifier's outbox. Accounts in the lists are
written as the config writes watched accounts (a handle, an id, a profile URL), and matched
against the target without asking the platform (each platform kind reads the forms it knows):
a poll deciding its outbox rows must not wait on the network.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from watcher.platforms import registry
from watcher.platforms.base import Profile
from watcher.platforms.kind import handle_key, id_key
from watcher.printable import printable

# Longer than any handle, id or profile URL a platform issues.
MAX_REF = 300
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
# (platform, key): what an account written by a user may name on a platform, as the platform
# kind reads it (`handle:<lowercased>`, `id:<id>`; see platforms/kind.py).
Key = tuple[str, str]


def account_keys(platform: str, text: str) -> frozenset[Key]:
    """What `text` may name on `platform`, read offline by the platform's kind; a platform
    without a kind module takes any text as a handle or an id."""
    if platform in registry.BUILTIN:
        keys = registry.kind(platform).account_keys(text)
    else:
        stripped = text.strip()
        keys = frozenset({handle_key(stripped), id_key(stripped)}) if stripped else frozenset()
    return frozenset((platform, key) for key in keys)


def profile_keys(platform: str, profile: Profile) -> frozenset[Key]:
    """The keys an account shown by a platform answers to: its handle and its id."""
    return frozenset({(platform, handle_key(profile.handle)), (platform, id_key(profile.id))})


@dataclass(frozen=True, slots=True)
class TargetRef:
    """One account as a filter list (or a signal's `watches`) names it: the keys it may name
    on each platform. `deadmau5` may be a handle on any platform (or an Audius id);
    `https://audius.co/deadmau5` only the Audius handle; `123` a SoundCloud id or permalink.
    Handles match whatever their case and `@`; ids exactly."""

    text: str
    keys: frozenset[Key]

    def matches(self, platform: str, profile: Profile) -> bool:
        return not self.keys.isdisjoint(profile_keys(platform, profile))

    def names(self, platform: str, account: str) -> bool:
        """Whether this names the account a config writes as `account` on `platform`."""
        return self.text.strip() == account.strip() or not self.keys.isdisjoint(
            account_keys(platform, account)
        )

    def same_account(self, other: TargetRef) -> bool:
        """Whether the two may name one account (`deadmau5`, `https://audius.co/DeadMau5`)."""
        return not self.keys.isdisjoint(other.keys)


def parse_ref(text: str) -> TargetRef:
    """`text` as a `TargetRef`; ValueError naming what is wrong with it."""
    if not isinstance(text, str):
        raise ValueError("must be a string: a handle, an id or a profile URL")
    value = text.strip()
    if not value:
        raise ValueError("must not be empty")
    keys: frozenset[Key] = frozenset()
    if len(value) <= MAX_REF and not _CONTROL.search(value):
        keys = frozenset().union(*(account_keys(name, value) for name in registry.names()))
    usable = frozenset(key for key in keys if not key[1].startswith("link:"))
    if keys and not usable:
        raise ValueError(
            f"{_short(value)} is a share link, which only its platform can read; write the"
            " profile URL it opens"
        )
    if not usable:
        hosts = (min(registry.profile_hosts(name), key=len) for name in registry.BUILTIN)
        forms = ", ".join(f"https://{host}/NAME" for host in hosts)
        raise ValueError(f"{_short(value)} is not a handle, an id or a profile URL ({forms})")
    return TargetRef(text, usable)


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
