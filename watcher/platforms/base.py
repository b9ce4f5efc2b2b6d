"""What every platform client provides, and the shapes it returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol

Relation = Literal["following", "followers"]


@dataclass(frozen=True, slots=True)
class Profile:
    """The parts of an account that events and checks need; ids are the identity, never handles."""

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


@dataclass(slots=True)
class Listing:
    """One poll's view of a relation list, with how much the client trusts it.

    `complete` means every position of the list was accounted for (no page skipped an entry),
    so an account that is absent from `members` is really absent. An incomplete listing still
    proves presence (a listed account is followed) but not absence.
    """

    members: dict[str, Profile] = field(default_factory=dict)
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

    async def listing(self, account_id: str, relation: Relation) -> Listing:
        """Page through the whole relation list; raises PlatformError if any page fails."""
        ...

    async def aclose(self) -> None: ...
