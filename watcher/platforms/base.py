"""What every platform client provides, and the shapes it returns."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import msgspec

Relation = Literal["following", "followers"]


class Profile(msgspec.Struct, frozen=True):
    """The parts of an account that events and checks need; ids are the identity, never handles.

    A msgspec struct rather than a dataclass: list pages build one per entry, and a frozen
    dataclass costs ten times as much to create (1.8 us against 0.17 us).
    """

    id: str
    handle: str
    name: str
    url: str
    follower_count: int | None = None
    following_count: int | None = None
    is_verified: bool = False
    deactivated: bool = False

    def count_of(self, relation: Relation) -> int | None:
        """The profile's own count of the list `relation` (None when the platform gives none)."""
        return self.following_count if relation == "following" else self.follower_count


def int_or_none(value: Any) -> int | None:
    """A count from a platform's JSON: an int, or None for anything else (bools included)."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


class Members(Protocol):
    """Where a listing collects the accounts it saw, page by page.

    Polls write into a scratch table of the database (a million followers never sit in
    Python objects); tests and small tools use `MemoryMembers`. The first profile seen of an
    account is the one kept. `pass_number` lets offset paging tell a repeat within one pass
    (evidence of a skip) from an account met again in a later pass.
    """

    def add_page(self, page: Sequence[Profile], pass_number: int) -> list[Profile]:
        """Record a page; returns its entries already seen earlier in the same pass."""
        ...

    def __len__(self) -> int: ...

    def __contains__(self, account_id: object) -> bool: ...

    def ids_with_follower_count(self, count: int | None) -> set[str]:
        """The accounts seen whose (first seen) follower count is `count`: one tie group."""
        ...


class MemoryMembers:
    """Members held in a dict: for tests and small lists."""

    def __init__(self) -> None:
        self.profiles: dict[str, Profile] = {}
        self._pass_of: dict[str, int] = {}

    def add_page(self, page: Sequence[Profile], pass_number: int) -> list[Profile]:
        repeats = []
        for entry in page:
            if self._pass_of.get(entry.id) == pass_number:
                repeats.append(entry)
                continue
            self._pass_of[entry.id] = pass_number
            self.profiles.setdefault(entry.id, entry)
        return repeats

    def pass_of(self, account_id: str) -> int:
        return self._pass_of[account_id]

    def __len__(self) -> int:
        return len(self.profiles)

    def __contains__(self, account_id: object) -> bool:
        return account_id in self.profiles

    def ids_with_follower_count(self, count: int | None) -> set[str]:
        return {p.id for p in self.profiles.values() if p.follower_count == count}


@dataclass(slots=True)
class Listing:
    """One poll's view of a relation list, with how much the client trusts it.

    `complete` means every position of the list was accounted for (no page skipped an entry),
    so an account that is absent from `members` is really absent. An incomplete listing still
    proves presence (a listed account is followed) but not absence.
    """

    members: Members = field(default_factory=MemoryMembers)
    complete: bool = True
    # True when a single pass showed every position once: nothing moved while it was read.
    clean: bool = True
    passes: int = 0
    pages: int = 0
    requests: int = 0
    positions: int = 0


class Platform(Protocol):
    """One platform's client. Implementations live in their own module and register a kind."""

    name: str

    async def resolve(self, account: str) -> Profile:
        """Find the account a user wrote (handle, id, URL); raises AccountNotFound."""
        ...

    async def profile(self, account_id: str) -> Profile | None:
        """The current profile, or None when the account does not exist (any more)."""
        ...

    async def listing(self, account: Profile, relation: Relation, members: Members) -> Listing:
        """Page through the whole relation list of `account` into `members`; raises
        PlatformError if any page fails. The profile's counts may save a request."""
        ...

    async def aclose(self) -> None: ...
