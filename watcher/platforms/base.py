"""What every platform client provides, and the shapes it returns."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import msgspec

from watcher.errors import PlatformError

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


# No real follower count comes near this; past it a count is a broken or hostile answer.
MAX_COUNT = 2**53


def int_or_none(value: Any) -> int | None:
    """A count from a platform's JSON: an int, or None for anything else (bools included).
    A count no account can have (negative, or past `MAX_COUNT`) makes the answer malformed."""
    if not isinstance(value, int) or isinstance(value, bool):
        return None
    if not 0 <= value <= MAX_COUNT:
        raise PlatformError(f"a count out of range ({_abridged(value)}): malformed answer")
    return value


def check_counts(profiles: Sequence[Profile]) -> None:
    """The counts of profiles decoded on a fast path, held to `int_or_none`'s rule."""
    for profile in profiles:
        int_or_none(profile.follower_count)
        int_or_none(profile.following_count)


def _abridged(value: int) -> str:
    digits = len(str(abs(value))) if abs(value) < 10**4000 else 4000
    return str(value) if digits <= 20 else f"a number of {digits} digits"


# Pass numbers of one round stay below this; an account only noted (re-read) has pass 0.
ROUND = 1000
NOTED = 0


class Members(Protocol):
    """Where a listing collects the accounts it saw, page by page.

    Polls write into a scratch table of the database (a million followers never sit in
    Python objects); tests and small tools use `MemoryMembers`. The first profile seen of an
    account is the one kept. `pass_number` lets offset paging tell a repeat within one pass
    (evidence of a skip) from an account met again in a later pass.
    """

    def begin_round(self) -> None:
        """Start a new round of passes: pass numbers of earlier rounds never match again."""
        ...

    def add_page(self, page: Sequence[Profile], pass_number: int) -> list[Profile]:
        """Record a page; returns its entries already seen earlier in the same pass."""
        ...

    def note(self, entries: Sequence[Profile]) -> None:
        """Record accounts seen again at positions already read: presence only, never a
        repeat, and no change to which pass last saw an account already held."""
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
        self._round = 0

    def begin_round(self) -> None:
        self._round += ROUND

    def add_page(self, page: Sequence[Profile], pass_number: int) -> list[Profile]:
        repeats = []
        number = self._round + pass_number
        for entry in page:
            if self._pass_of.get(entry.id) == number:
                repeats.append(entry)
                continue
            self._pass_of[entry.id] = number
            self.profiles.setdefault(entry.id, entry)
        return repeats

    def note(self, entries: Sequence[Profile]) -> None:
        for entry in entries:
            if entry.id not in self.profiles:
                self.profiles[entry.id] = entry
                self._pass_of[entry.id] = NOTED

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
    """One pass (or round of passes) over a relation list, with what its pages showed.

    `complete` means the pages themselves showed no gap: every position read was accounted
    for and the pass reached an end. That is necessary for an absence to count, never
    sufficient on its own (a list changing while it is read, or a replica answering short,
    leaves gaps no page shows; see snapshot.py). An incomplete listing still proves presence
    (a listed account is followed).
    """

    members: Members = field(default_factory=MemoryMembers)
    complete: bool = True
    passes: int = 0
    pages: int = 0
    requests: int = 0
    positions: int = 0
    # Pages re-read to fill the gaps of tie groups a pass showed (a repeat pairs with a skip):
    # what a repair cost, told apart from the passes so that a reader can be told of it.
    repairs: int = 0


class Platform(Protocol):
    """One platform's client. Implementations live in their own module and register a kind."""

    name: str

    async def resolve(self, account: str) -> Profile:
        """Find the account a user wrote (handle, id, URL); raises AccountNotFound."""
        ...

    async def profile(self, account_id: str) -> Profile | None:
        """The current profile, or None when the account does not exist (any more)."""
        ...

    async def profiles(self, account_ids: Sequence[str]) -> dict[str, Profile | None]:
        """Current profiles of many accounts (None: it does not exist), in as few requests
        as the platform allows."""
        ...

    async def listing(
        self,
        account: Profile,
        relation: Relation,
        members: Members,
        *,
        verify: bool = False,
        at_least: int = 0,
    ) -> Listing:
        """Page through the whole relation list of `account` into `members`; raises
        PlatformError if any page fails. The profile's counts may save a request, unless
        `verify`: a verifying pass reads to the end and makes sure the end is real, and an
        end before `at_least` entries (what another read just saw) is doubted."""
        ...

    async def aclose(self) -> None: ...
