"""The simulated social graph: users kept in columns, follow edges kept in both directions.

Benchmarks put a million followers behind one account, so a user costs a few flat array
slots plus its handle rather than an object with a dict, and a one-element adjacency (the
common case: a fan following the one account under test) is a bare int, not a set.
"""

from __future__ import annotations

from array import array
from collections.abc import Collection, Iterable
from typing import Literal

Relation = Literal["following", "followers"]

DEACTIVATED = 1
DELETED = 2
VERIFIED = 4
ABSENT = 8  # an integer no user may take (its computed id would clash with a fixed one)
HIDDEN = DEACTIVATED | DELETED | ABSENT  # left out of every list


class EdgeMap:
    """owner -> set of members, with a lone member stored as a bare int (a set costs ~200 B)."""

    __slots__ = ("_map",)

    def __init__(self) -> None:
        self._map: dict[int, int | set[int]] = {}

    def add(self, owner: int, member: int) -> bool:
        """Add the edge; False when it was already there."""
        current = self._map.get(owner)
        if current is None:
            self._map[owner] = member
            return True
        if isinstance(current, int):
            if current == member:
                return False
            self._map[owner] = {current, member}
            return True
        if member in current:
            return False
        current.add(member)
        return True

    def discard(self, owner: int, member: int) -> bool:
        """Remove the edge; False when it was not there."""
        current = self._map.get(owner)
        if current is None:
            return False
        if isinstance(current, int):
            if current != member:
                return False
            del self._map[owner]
            return True
        if member not in current:
            return False
        current.remove(member)
        if not current:
            del self._map[owner]
        return True

    def contains(self, owner: int, member: int) -> bool:
        current = self._map.get(owner)
        if current is None:
            return False
        if isinstance(current, int):
            return current == member
        return member in current

    def members(self, owner: int) -> Collection[int]:
        """The members, live (a set is the stored one: do not mutate, copy to keep)."""
        current = self._map.get(owner)
        if current is None:
            return ()
        if isinstance(current, int):
            return (current,)
        return current

    def count(self, owner: int) -> int:
        current = self._map.get(owner)
        if current is None:
            return 0
        return 1 if isinstance(current, int) else len(current)

    def add_new(self, owner: int, members: Iterable[int]) -> None:
        """Bulk add of members known to be new: one set update instead of many calls."""
        fresh = set(members)
        if not fresh:
            return
        current = self._map.get(owner)
        if current is None:
            self._map[owner] = fresh if len(fresh) > 1 else fresh.pop()
        elif isinstance(current, int):
            fresh.add(current)
            self._map[owner] = fresh
        else:
            current |= fresh


class Graph:
    """Users indexed by their integer id; `shown[u]` is the follower_count the API reports.

    Like the real counters, `shown` counts every follower edge, deactivated followers included:
    base + in-edges. Visibility in lists is decided separately, by the flags.
    """

    __slots__ = (
        "base",
        "by_handle",
        "flags",
        "followers",
        "following",
        "handles",
        "names",
        "shown",
        "version",
    )

    def __init__(self) -> None:
        self.handles: list[str] = []
        self.names: list[str | None] = []  # None: derived from the handle (bulk users)
        self.base: array[int] = array("q")
        self.shown: array[int] = array("q")
        self.flags = bytearray()
        self.by_handle: dict[str, int] = {}
        self.following = EdgeMap()
        self.followers = EdgeMap()
        # Bumped by every change below: what a user object shows may have changed.
        self.version = 0

    @property
    def size(self) -> int:
        """One past the largest integer in use: the length of every column."""
        return len(self.flags)

    def edges(self, relation: Relation) -> EdgeMap:
        return self.following if relation == "following" else self.followers

    def exists(self, user: int) -> bool:
        """True for every integer a user took, deleted ones included."""
        return 0 <= user < len(self.flags) and not self.flags[user] & ABSENT

    def visible(self, user: int) -> bool:
        """Whether lists show the user: it exists and is neither deactivated nor deleted."""
        return 0 <= user < len(self.flags) and not self.flags[user] & HIDDEN

    def has_flag(self, user: int, flag: int) -> bool:
        return bool(self.flags[user] & flag)

    def set_flag(self, user: int, flag: int, on: bool = True) -> None:
        self.version += 1
        self.flags[user] = self.flags[user] | flag if on else self.flags[user] & ~flag

    def handle_taken(self, handle: str) -> bool:
        return handle.lower() in self.by_handle

    def find_handle(self, handle: str) -> int | None:
        """Case-insensitive handle lookup, like the real `/users/handle/{handle}`."""
        return self.by_handle.get(handle.lower())

    def append(self, handle: str | None, name: str | None, base: int, flags: int) -> int:
        """Add one user (or, with handle None, one hole) and return its integer."""
        self.extend([handle], [base])
        user = self.size - 1
        self.names[user] = name
        self.flags[user] |= flags
        return user

    def extend(self, handles: list[str | None], bases: list[int]) -> None:
        """Bulk append: each None handle is a hole. Handles must be new (checked by callers)."""
        self.version += 1
        for offset, handle in enumerate(handles):
            if handle is not None:
                key = handle.lower()
                self.by_handle[handle if key == handle else key] = self.size + offset
        self.handles.extend(handle or "" for handle in handles)
        self.names.extend([None] * len(handles))
        self.base.extend(bases)
        self.shown.extend(bases)
        self.flags.extend(0 if handle is not None else ABSENT for handle in handles)

    def follow(self, follower: int, followee: int) -> bool:
        """Add the edge both ways and bump the followee's count; False if already there."""
        self.version += 1
        if not self.following.add(follower, followee):
            return False
        self.followers.add(followee, follower)
        self.shown[followee] += 1
        return True

    def follow_new(self, follower: int, followees: list[int]) -> None:
        """Bulk: `follower` follows every one of `followees` (distinct, not yet followed)."""
        self.version += 1
        self.following.add_new(follower, followees)
        followers, shown = self.followers, self.shown
        for followee in followees:
            followers.add(followee, follower)
            shown[followee] += 1

    def gain_new(self, followee: int, followers: list[int]) -> None:
        """Bulk: every one of `followers` (distinct, not yet following) follows `followee`."""
        self.version += 1
        self.followers.add_new(followee, followers)
        following = self.following
        for follower in followers:
            following.add(follower, followee)
        self.shown[followee] += len(followers)

    def unfollow(self, follower: int, followee: int) -> bool:
        self.version += 1
        if not self.following.discard(follower, followee):
            return False
        self.followers.discard(followee, follower)
        self.shown[followee] -= 1
        return True

    def set_base(self, user: int, base: int) -> None:
        self.version += 1
        self.shown[user] += base - self.base[user]
        self.base[user] = base
